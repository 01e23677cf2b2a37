/**
 * The one convolution behind conv1d/2d/3d and convTranspose1d/2d/3d, as `aten::convolution`:
 * a geometry (that of the forward convolution), a flag `transposed`, and one backward. The
 * three library primitives of a convolution y = conv(a, w) — forward (a -> y), backward-input
 * (dy -> da) and backward-weight (dy, a -> dw) — serve both: a transposed convolution is the
 * backward-input pass of the convolution it inverts, so its input plays dy, its output plays
 * da, its input gradient is a forward pass and its weight gradient a backward-weight pass
 * with the roles of input and output swapped.
 * @internal
 * @module
 */
import { inFloat32 } from '../amp/autocast.js';
import { needsGrad, record, saveForBackward } from '../autograd/graph.js';
import { convMathOptions } from '../backends.js';
import { native } from '../native.js';
import type { NativeConvParams } from '../native_primitives.js';
import { empty } from '../tensor/creation.js';
import { isHalf } from '../tensor/dtype.js';
import { channelsLastStrides } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * `input` convolved (or, `transposed`, transpose-convolved) with `weight` into a new
 * channels-last tensor of `outShape`; `bias` is fused into the forward convolution (not
 * taken when transposed: the caller adds it). Operands were validated by the caller.
 * @internal
 */
export function convolution(
  op: string,
  input: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  geometry: NativeConvParams,
  outShape: readonly number[],
  transposed: boolean,
): Tensor<'float32'> {
  // cuDNN reads filters packed; oneDNN would reorder anyway.
  const w = weight.isContiguous() ? weight : weight.contiguous();
  try {
    const math = convMathOptions();
    // float32, or the operands' 16-bit dtype (accumulating in float32 inside oneDNN/cuDNN).
    const out = empty(op, outShape, input.dtype, input.device, channelsLastStrides(outShape)) as Tensor<'float32'>;
    const [o, x, k] = [out._native(op, 'out'), input._native(op, 'input'), w._native(op, 'weight')];
    if (transposed) native.convBackwardInput(op, geometry, o, x, k, math);
    else native.convForward(op, geometry, o, x, k, bias ? bias._native(op, 'bias') : null, math);
    if (!needsGrad(input, weight, bias)) return out;
    const savedInput = saveForBackward(input);
    const savedWeight = saveForBackward(w);
    return record(
      op,
      out,
      [input, weight, bias],
      (g) => {
        const back = `${op}Backward`;
        let gradInput: Tensor | null = null;
        if (input.requiresGrad) {
          gradInput = empty(back, savedInput.shape, input.dtype, g.device, channelsLastStrides(savedInput.shape));
          const [gi, gy, k2] = [gradInput._native(back, 'gradInput'), g._native(back, 'grad'), savedWeight._native(back, 'weight')];
          if (transposed) native.convForward(back, geometry, gi, gy, k2, null, math);
          else native.convBackwardInput(back, geometry, gi, gy, k2, math);
        }
        let gradWeight: Tensor | null = null;
        let gradBias: Tensor | null = null;
        if (weight.requiresGrad || bias?.requiresGrad) {
          gradWeight = empty(back, savedWeight.shape, input.dtype, g.device);
          // A 16-bit bias gradient is summed here in float32 (cuDNN's backward bias does not
          // take every 16-bit type); a float32 one comes with the weight gradient.
          gradBias = bias && !isHalf(input.dtype) ? empty(back, [bias.shape[0]!], input.dtype, g.device) : null;
          const [gw, gb] = [gradWeight._native(back, 'gradWeight'), gradBias ? gradBias._native(back, 'gradBias') : null];
          // The convolution's output gradient and input: (g, input), or swapped when transposed.
          const [dy, a] = transposed ? [savedInput, g] : [g, savedInput];
          native.convBackwardWeight(back, geometry, gw, gb, dy._native(back, 'grad'), a._native(back, 'input'), math);
          if (bias && isHalf(input.dtype)) {
            gradBias = inFloat32([g], ([wide]) => wide!.sum([0, ...outShape.slice(2).map((_, i) => i + 2)]));
          }
        }
        return [gradInput, weight.requiresGrad ? gradWeight : null, bias?.requiresGrad ? gradBias : null];
      },
      [savedInput, savedWeight],
    );
  } finally {
    if (w !== weight) w.dispose();
  }
}
