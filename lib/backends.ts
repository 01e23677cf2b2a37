/**
 * Math settings of the GPU libraries, as `torch.backends`: whether cuDNN must pick
 * deterministic convolution algorithms and whether float32 convolutions and matmuls may use
 * TF32 tensor cores (10-bit mantissa products, Ampere and newer). Each op reads them when it
 * is queued. Unlike PyTorch, whose `cudnn.allow_tf32` defaults to true, every default here
 * keeps exact float32 so that CUDA results match the CPU's. The CPU ignores them: oneDNN's
 * convolutions give the same bits run to run, and CPUs have no TF32.
 * @module
 */
import { ArgumentError } from './errors.js';
import type { NativeMathOptions } from './native_primitives.js';

function flag(name: string): { get(): boolean; set(value: boolean): void } {
  let current = false;
  return {
    get: () => current,
    set: (value: boolean) => {
      if (typeof value !== 'boolean') throw new ArgumentError(`backends.${name}: expected true or false, got ${String(value)}`);
      current = value;
    },
  };
}

function settings<K extends string>(prefix: string, names: readonly K[]): Record<K, boolean> {
  const object = {} as Record<K, boolean>;
  for (const name of names) Object.defineProperty(object, name, { ...flag(`${prefix}.${name}`), enumerable: true });
  return Object.seal(object);
}

/** GPU math settings (see the module notes). */
export const backends = Object.freeze({
  /** cuDNN convolutions. */
  cudnn: settings('cudnn', ['deterministic', 'allowTf32'] as const),
  /** cuBLAS matmul / linear. */
  cuda: Object.freeze({ matmul: settings('cuda.matmul', ['allowTf32'] as const) }),
});

/** @internal The settings a convolution carries to the native backend. */
export function convMathOptions(): NativeMathOptions {
  return { allowTf32: backends.cudnn.allowTf32, deterministic: backends.cudnn.deterministic };
}

/** @internal The settings a matmul carries to the native backend (cuBLAS is deterministic). */
export function matmulMathOptions(): NativeMathOptions {
  return { allowTf32: backends.cuda.matmul.allowTf32, deterministic: false };
}
