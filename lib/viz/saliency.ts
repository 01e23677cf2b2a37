/**
 * Saliency maps: how much each input pixel moves a target score, by the plain gradient
 * (Simonyan et al. 2014), SmoothGrad (Smilkov et al. 2017) or Integrated Gradients
 * (Sundararajan et al. 2017).
 * @module
 */
import { grad } from '../autograd/grad.js';
import { ArgumentError } from '../errors.js';
import type { Module } from '../nn/module.js';
import { checkInRange, checkInt } from '../ops/validate.js';
import { randn } from '../tensor/creation.js';
import { scope } from '../tensor/memory.js';
import { describe } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { baselineFor, checkImage, checkTarget, targetScores, type Target } from './inputs.js';
import { withModelFrozen } from './model_state.js';

/** The attribution methods of {@link saliency}. */
export type SaliencyMethod = 'gradient' | 'smoothGrad' | 'integratedGradients';

/** Options of {@link saliency}. */
export interface SaliencyOptions {
  /** How attributions are computed (default 'gradient'). */
  method?: SaliencyMethod;
  /** smoothGrad: the number of noisy copies averaged (default 25). */
  samples?: number;
  /** smoothGrad: the noise's standard deviation as a fraction of the image's value range, max - min (default 0.15; the paper's 10-20%). */
  noise?: number;
  /** integratedGradients: the image of "no signal" the path starts from, a number filling the image or a `[C, H, W]` tensor (default 0). */
  baseline?: number | Tensor;
  /** integratedGradients: the intervals of the path from baseline to image, integrated by the trapezoid rule (default 32). */
  steps?: number;
}

/** What {@link saliency} returns; both tensors are the caller's to dispose. */
export interface Saliency {
  /** The attribution of each input element, float32 `[C, H, W]`: the gradient, the mean noisy gradient, or the integrated gradient times (image - baseline). */
  attribution: Tensor<'float32'>;
  /** The map to look at, float32 `[H, W]`: the largest |attribution| over channels. */
  map: Tensor<'float32'>;
}

/**
 * Attributes the target's score to the input pixels of `image` (float32 `[C, H, W]`,
 * normalised as `model` expects; the model sees `[1, C, H, W]`):
 * - `'gradient'`: the gradient of the score with respect to the image.
 * - `'smoothGrad'`: the gradient averaged over `samples` copies of the image with Gaussian
 *   noise added (standard deviation `noise * (max - min)` of the image), which removes
 *   much of the plain gradient's speckle.
 * - `'integratedGradients'`: `(image - baseline) * ∫ grad(baseline + a (image - baseline)) da`
 *   over a in [0, 1], by the trapezoid rule on `steps` intervals. The attributions add up
 *   to `score(image) - score(baseline)` (completeness), within the rule's error.
 *
 * `target` is a class index into the model's `[1, K]` output or a function of the output
 * returning a one-element tensor (see {@link Target}). The model runs in eval mode with its
 * parameters frozen and is left exactly as it was: modes, requiresGrad and `.grad`.
 *
 * @throws ShapeError when `image` is not `[C, H, W]` or `target` returns more than one element;
 *   IndexError for a class index beyond the output's classes
 * @example
 * const { map } = viz.saliency(model, image, 3, { method: 'smoothGrad', samples: 16 });
 * await viz.writePng(viz.colormap(map), 'saliency.png');
 */
export function saliency<Out>(model: Module<[Tensor], Out>, image: Tensor, target: Target<Out>, opts: SaliencyOptions = {}): Saliency {
  const op = 'saliency';
  const x = checkImage(op, image);
  checkTarget(op, target);
  const method = opts.method ?? 'gradient';
  if (method !== 'gradient' && method !== 'smoothGrad' && method !== 'integratedGradients') {
    throw new ArgumentError(`${op}: expected method 'gradient', 'smoothGrad' or 'integratedGradients', got ${describe(method)}`);
  }
  const samples = checkInt(op, 'samples', opts.samples ?? 25, 1);
  const steps = checkInt(op, 'steps', opts.steps ?? 32, 1);
  const noise = checkInRange(op, 'noise', opts.noise ?? 0.15, 0, Infinity);

  const gradientAt = (point: Tensor): Tensor =>
    scope(() => {
      const input = point.reshape([1, ...point.shape]).detach().requiresGrad_();
      const [g] = grad(targetScores(op, model.call(input), target, 1), [input]);
      return g!.reshape(point.shape);
    });

  return withModelFrozen(model, () =>
    scope(() => {
      let attribution: Tensor;
      if (method === 'gradient') {
        attribution = gradientAt(x);
      } else if (method === 'smoothGrad') {
        const sigma = x.amax().sub(x.amin()).mul(noise);
        attribution = sumOf(samples, () => gradientAt(x.add(randn(x.shape, { device: x.device }).mul(sigma)))).div(samples);
      } else {
        const start = baselineFor(op, x, opts.baseline ?? 0);
        const path = x.sub(start);
        // Trapezoid rule on steps intervals: the end points weigh half.
        attribution = sumOf(steps + 1, (k) => gradientAt(start.add(path.mul(k / steps))).mul(k === 0 || k === steps ? 0.5 : 1)).div(steps).mul(path);
      }
      return { attribution: attribution as Tensor<'float32'>, map: attribution.abs().amax(0) as Tensor<'float32'> };
    }),
  );
}

/** The sum of `count` terms, freeing each term's temporaries as it goes (a long path stays flat in memory). */
function sumOf(count: number, term: (i: number) => Tensor): Tensor {
  let total = scope(() => term(0));
  for (let i = 1; i < count; ++i) {
    const next = scope(() => total.add(term(i)));
    total.dispose();
    total = next;
  }
  return total;
}
