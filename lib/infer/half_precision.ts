/**
 * 16-bit inference of a float32 model, as `model.to(torch.bfloat16)` serves it, without
 * changing the model's own weights: each convolution and linear layer keeps a 16-bit copy of
 * its weights, made once, and runs on 16-bit inputs (float32 ones are cast on the way in),
 * so activations stay 16-bit from one such layer to the next and the elementwise ops between
 * them (ReLU, residual adds, pooling) run on 16-bit tensors. Other layers with weights
 * (an unfolded BatchNorm, a LayerNorm) compute in float32 on float32 copies of 16-bit inputs
 * and give 16-bit outputs, so the tensors around them keep one dtype. The rewrites act only
 * in eval mode without autograd; {@link HalfPrecisionModel.restore} removes them.
 * @module
 */
import { needsGrad } from '../autograd/graph.js';
import { ArgumentError } from '../errors.js';
import { noGrad } from '../autograd/grad_mode.js';
import { Linear } from '../nn/layers/basic.js';
import { Conv1d, Conv2d, Conv3d } from '../nn/layers/conv.js';
import type { AnyModule, Module } from '../nn/module.js';
import { conv1d, conv2d, conv3d } from '../ops/conv.js';
import { linear } from '../ops/linear.js';
import { isHalf, type HalfDType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';

/** What {@link halfPrecision} changed. */
export interface HalfPrecisionModel {
  /** The 16-bit dtype the convolutions and linear layers run in. */
  readonly dtype: HalfDType;
  /** Gives the layers back their class's forward and frees the 16-bit weights. */
  restore(): void;
}


/**
 * Runs `model`'s convolutions and linear layers in `dtype` for inference (see the module
 * notes). Layers that already have an instance-level forward (fuseForInference's, with its
 * own 16-bit weights) are left as they are. Outputs are 16-bit where the last layer is a
 * convolution or linear one.
 *
 * @example
 * const half = halfPrecision(model, 'bfloat16');
 * const logits = noGrad(() => model.call(x)).to('float32');
 * half.restore();
 */
export function halfPrecision(model: Module<[Tensor], unknown>, dtype: HalfDType): HalfPrecisionModel {
  if (!isHalf(dtype)) throw new ArgumentError(`halfPrecision: expected dtype 'bfloat16' or 'float16', got ${String(dtype)}`);
  const undo: Array<() => void> = [];
  for (const m of model.modules()) {
    if (Object.hasOwn(m, 'forward')) continue;
    if (m instanceof Conv1d || m instanceof Conv2d || m instanceof Conv3d || m instanceof Linear) {
      undo.push(rewrite(m, dtype));
    } else if (m.children().next().done && !m.parameters().next().done) {
      undo.push(inFloat32Layer(m)); // a leaf with float32 weights of its own: a BatchNorm not folded, a LayerNorm
    }
  }
  return {
    dtype,
    restore() {
      for (const f of undo.splice(0)) f();
    },
  };
}

/** Gives `layer` a forward that runs its own on float32 copies of 16-bit inputs and narrows the output back; returns what undoes it. */
function inFloat32Layer(layer: AnyModule): () => void {
  const ownForward = Object.getPrototypeOf(layer).forward as (...inputs: unknown[]) => unknown;
  Object.defineProperty(layer, 'forward', {
    configurable: true,
    writable: true,
    value: (...inputs: unknown[]): unknown => {
      const half = inputs.find((t): t is Tensor => t instanceof Tensor && isHalf(t.dtype))?.dtype;
      if (half === undefined || layer.training) return ownForward.apply(layer, inputs);
      const wide = inputs.map((t) => (t instanceof Tensor && t.dtype === half ? t.to('float32') : t));
      try {
        const out = ownForward.apply(layer, wide);
        if (!(out instanceof Tensor) || out.dtype !== 'float32') return out;
        try {
          return out.to(half);
        } finally {
          out.dispose();
        }
      } finally {
        wide.forEach((t, i) => t !== inputs[i] && (t as Tensor).dispose());
      }
    },
  });
  return () => void delete (layer as unknown as { forward?: unknown }).forward;
}

/** Gives `layer` a forward on 16-bit copies of its weights; returns what undoes it. */
function rewrite(layer: Conv1d | Conv2d | Conv3d | Linear, dtype: HalfDType): () => void {
  const [weight, bias] = noGrad(() => [layer.weight.to(dtype), layer.bias ? layer.bias.to(dtype) : null]);
  const apply =
    layer instanceof Linear
      ? (x: Tensor) => linear(x, weight, bias)
      : (x: Tensor) => (layer instanceof Conv1d ? conv1d : layer instanceof Conv2d ? conv2d : conv3d)(x, weight, bias, layer.options);
  const ownForward = Object.getPrototypeOf(layer).forward as (x: Tensor) => Tensor;
  Object.defineProperty(layer, 'forward', {
    configurable: true,
    writable: true,
    value: (x: Tensor): Tensor => {
      if (layer.training || needsGrad(x, layer.weight, layer.bias)) return ownForward.call(layer, x);
      if (x.dtype !== 'float32') return apply(x);
      const narrow = x.to(dtype);
      try {
        return apply(narrow);
      } finally {
        narrow.dispose();
      }
    },
  });
  return () => {
    delete (layer as unknown as { forward?: unknown }).forward;
    weight.dispose();
    bias?.dispose();
  };
}
