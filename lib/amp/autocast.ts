/**
 * Automatic mixed precision, as `torch.autocast`. Inside {@link autocast}, the ops whose
 * time goes into matrix products — conv1d/2d/3d, convTranspose1d/2d/3d, linear and matmul —
 * cast their float32 operands to a 16-bit dtype (float16 on CUDA, bfloat16 on the CPU by
 * default, as PyTorch) and run in it with float32 accumulation (cuDNN/cuBLAS tensor cores,
 * oneDNN's bf16 kernels). Their results come back as float32 — unlike PyTorch, which keeps
 * them in 16 bits — because neocog's other ops compute in float32; the 16-bit copies saved
 * for backward still halve those ops' saved memory. Gradients flow through the casts, so
 * parameters and their gradients stay float32.
 *
 * Without a `deviceType`, autocast serves the device that is there: 'cuda' when
 * `cuda.isAvailable()`, else 'cpu' (PyTorch requires device_type; neocog picks it so the
 * same script runs mixed precision on either machine). A 'cuda' asked for on a machine
 * without CUDA warns once and runs `fn` without autocast, as PyTorch does.
 * @module
 */
import { AsyncLocalStorage } from 'node:async_hooks';

import { ArgumentError } from '../errors.js';
import type { Device } from '../tensor/device.js';
import { isHalf, type DType, type HalfDType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { availableDeviceType, usableDeviceType, type AmpDeviceType } from './device_type.js';

/** Options of {@link autocast}. */
export interface AutocastOptions {
  /**
   * Which device's ops are cast (default: 'cuda' when `cuda.isAvailable()`, else 'cpu').
   * 'cuda' on a machine without CUDA warns once and disables autocast, as PyTorch.
   */
  deviceType?: AmpDeviceType;
  /** The 16-bit dtype (default float16 on 'cuda', bfloat16 on 'cpu'). */
  dtype?: HalfDType;
  /** false runs `fn` with autocast off for `deviceType`, e.g. inside an enclosing autocast (default true). */
  enabled?: boolean;
}

type AutocastState = Readonly<Partial<Record<'cuda' | 'cpu', HalfDType>>>;

const state = new AsyncLocalStorage<AutocastState>();

/**
 * Runs `fn` with mixed precision for `deviceType` (default the available device; see the
 * module notes), as `torch.autocast`; the setting follows `await`s inside `fn`. Returns
 * what `fn` returns.
 *
 * @example
 * // conv/linear in float16 on a CUDA machine, in bfloat16 on a CPU-only one
 * const loss = autocast(() => crossEntropy(model.call(x), y));
 * scaler.scale(loss).backward();
 */
export function autocast<T>(fn: () => T, options: AutocastOptions = {}): T {
  const deviceType = options.deviceType ?? availableDeviceType();
  if (deviceType !== 'cuda' && deviceType !== 'cpu') {
    throw new ArgumentError(`autocast: expected deviceType 'cuda' or 'cpu', got ${String(deviceType)}`);
  }
  const dtype = options.dtype ?? (deviceType === 'cuda' ? 'float16' : 'bfloat16');
  if (dtype !== 'float16' && dtype !== 'bfloat16') {
    throw new ArgumentError(`autocast: expected dtype 'float16' or 'bfloat16', got ${String(dtype)}`);
  }
  if (deviceType === 'cpu' && dtype === 'float16') {
    // As PyTorch's CPU autocast: Debian's oneDNN 2.6 has no float16 convolution on x86 CPUs.
    throw new ArgumentError("autocast: the CPU runs mixed precision in 'bfloat16'; 'float16' is for deviceType 'cuda'");
  }
  const enabled = options.enabled ?? true;
  const next: Partial<Record<'cuda' | 'cpu', HalfDType>> = { ...state.getStore() };
  if (!enabled || !usableDeviceType('autocast', deviceType)) delete next[deviceType];
  else next[deviceType] = dtype;
  return state.run(next, fn);
}

/**
 * Whether ops on `deviceType` (default the available device, as {@link autocast}'s) are
 * autocast here, as `torch.is_autocast_enabled`.
 */
export function isAutocastEnabled(deviceType: AmpDeviceType = availableDeviceType()): boolean {
  return state.getStore()?.[deviceType] !== undefined;
}

/** @internal The 16-bit dtype an autocast op on `device` with `dtype` operands runs in, or null. */
export function autocastTarget(device: Device, dtype: DType): HalfDType | null {
  if (dtype !== 'float32') return null;
  return state.getStore()?.[device === 'cpu' ? 'cpu' : 'cuda'] ?? null;
}

/**
 * @internal Runs `compute` on the operands with float32 ones cast to `half`, and returns its
 * result as float32. The casts are recorded, so gradients reach the float32 operands.
 */
export function inHalf(
  half: HalfDType,
  operands: ReadonlyArray<Tensor | null | undefined>,
  compute: (cast: Array<Tensor | null | undefined>) => Tensor,
): Tensor<'float32'> {
  const cast = operands.map((t) => (t && t.dtype === 'float32' ? t.to(half) : t));
  try {
    const out = compute(cast);
    try {
      return out.to('float32');
    } finally {
      out.dispose();
    }
  } finally {
    cast.forEach((t, i) => {
      if (t && t !== operands[i]) t.dispose();
    });
  }
}

/**
 * @internal Runs `compute` on float32 copies of 16-bit `operands` (all of one dtype) and
 * returns its result in their dtype, for ops without 16-bit kernels; float32 operands go
 * straight through.
 */
export function inFloat32(operands: readonly Tensor[], compute: (wide: Tensor[]) => Tensor): Tensor {
  const dtype = operands[0]!.dtype;
  if (!isHalf(dtype)) return compute([...operands]);
  const wide = operands.map((t) => t.to('float32'));
  const result = compute(wide);
  try {
    return result.to(dtype);
  } finally {
    for (const t of [...wide, result]) t.dispose();
  }
}

/** @internal `a + b` for float32 or 16-bit operands of one dtype: 16-bit ones add in float32. */
export function addInFloat32(a: Tensor, b: Tensor): Tensor {
  return inFloat32([a, b], ([x, y]) => x!.add(y!));
}
