/**
 * Test-time augmentation by flips: the model run on every mirror image of the input, its
 * probabilities flipped back and averaged (nnU-Net's "mirroring", MONAI's flip TTA).
 * @module
 */
import { noGrad } from '../autograd/grad_mode.js';
import { ArgumentError, ShapeError } from '../errors.js';
import { flip } from '../ops/shape.js';
import { softmax } from '../ops/softmax.js';
import { sigmoid } from '../ops/unary.js';
import { checkTensor, uniqueDims } from '../ops/validate.js';
import { scope } from '../tensor/memory.js';
import { describe } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import type { TilePredictor } from './sliding_window.js';

/** What turns the predictor's output into probabilities before averaging. */
export type TtaActivation = 'softmax' | 'sigmoid' | 'none';

/** Options of {@link flipTta}. */
export interface FlipTtaOptions {
  /** The dims that are flipped, every subset of them once (default: every spatial dim, 2 to ndim - 1). */
  dims?: readonly number[];
  /** Applied to each output before averaging: 'softmax' over dim 1 (default), 'sigmoid', or 'none' (already probabilities). */
  activation?: TtaActivation;
}

const OP = 'flipTta';

/**
 * Runs `predictor` on `input` and on its flips along every non-empty subset of `dims`
 * (2^k passes for k dims), flips each output back, applies `activation` and returns the
 * mean: averaged probabilities, `[N, C', ...spatial]` float32. The predictor's output must
 * have the input's spatial size. Gradients are not recorded. A Promise, since the predictor
 * may be asynchronous (and can be {@link slidingWindowInference} itself).
 *
 * @param predictor the model, `[N, C, ...spatial]` → `[N, C', ...spatial]`
 * @param input `[N, C, ...spatial]`, at least one spatial dim
 *
 * @example
 * const probs = await flipTta((x) => net.call(x), image, { activation: 'softmax' }); // 4 passes for [N, C, H, W]
 */
export async function flipTta(predictor: TilePredictor, input: Tensor, opts: FlipTtaOptions = {}): Promise<Tensor<'float32'>> {
  if (typeof predictor !== 'function') throw new ArgumentError(`${OP}: expected predictor to be a function, got ${describe(predictor)}`);
  checkTensor(OP, 'input', input);
  if (input.ndim < 3) throw new ShapeError(`${OP}: expected input [N, C, ...spatial] of rank >= 3, got [${input.shape.join(', ')}]`);
  const dims = uniqueDims(OP, opts.dims ?? Array.from({ length: input.ndim - 2 }, (_, i) => i + 2), input.ndim, 'opts.dims');
  const batchOrChannel = dims.find((d) => d < 2);
  if (batchOrChannel !== undefined) throw new ArgumentError(`${OP}: expected opts.dims to be spatial dims (2 to ${input.ndim - 1}), got ${describe(opts.dims)}`);
  const activation = opts.activation ?? 'softmax';
  if (activation !== 'softmax' && activation !== 'sigmoid' && activation !== 'none') {
    throw new ArgumentError(`${OP}: expected opts.activation 'softmax', 'sigmoid' or 'none', got ${describe(activation)}`);
  }
  // Every subset of dims, the empty one (the input as it is) first.
  const subsets = Array.from({ length: 2 ** dims.length }, (_, mask) => dims.filter((_, i) => (mask >> i) & 1));
  let total: Tensor<'float32'> | null = null;
  try {
    for (const flipped of subsets) {
      const previous = total as Tensor<'float32'> | null;
      total = await scope(() =>
        noGrad(async () => {
          const predicted = await predictor(flipped.length === 0 ? input : flip(input, flipped));
          checkTensor(OP, 'predictor output', predicted);
          if (predicted.ndim !== input.ndim || predicted.shape[0] !== input.shape[0] || predicted.shape.slice(2).some((s, i) => s !== input.shape[i + 2])) {
            throw new ShapeError(`${OP}: expected predictor output [${input.shape[0]}, C, ${input.shape.slice(2).join(', ')}], got [${predicted.shape.join(', ')}]`);
          }
          const back = flipped.length === 0 ? predicted.float() : flip(predicted, flipped).float();
          const probs = activation === 'softmax' ? softmax(back, 1) : activation === 'sigmoid' ? sigmoid(back) : back;
          return previous === null ? probs.clone() : previous.add(probs);
        }),
      );
      previous?.dispose();
    }
    const summed = total as Tensor<'float32'> | null;
    const mean = summed!.div(subsets.length);
    summed!.dispose();
    return mean;
  } catch (error) {
    (total as Tensor | null)?.dispose();
    throw error;
  }
}
