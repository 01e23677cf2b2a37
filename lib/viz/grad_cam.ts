/**
 * Grad-CAM (Selvaraju et al. 2017) and Grad-CAM++ (Chattopadhay et al. 2018): where in the
 * image a convolutional layer's features drive the target score.
 * @module
 */
import { grad } from '../autograd/grad.js';
import { ShapeError } from '../errors.js';
import { where } from '../ops/compare.js';
import { interpolate } from '../ops/resample.js';
import type { Module } from '../nn/module.js';
import { scope } from '../tensor/memory.js';
import type { Tensor } from '../tensor/tensor.js';
import { rescale } from './grid.js';
import { checkImage, checkTarget, targetScores, type Target } from './inputs.js';
import { captureOutput, resolveLayer, type LayerRef } from './layer.js';
import { withModelFrozen } from './model_state.js';

/** Options of {@link gradCam}. */
export interface GradCamOptions {
  /** Weigh the channels as Grad-CAM++ does rather than by the mean gradient (default false). */
  plusPlus?: boolean;
}

/**
 * The Grad-CAM heatmap of `target` at `layer`, float32 `[H, W]` in [0, 1] for `image`
 * (float32 `[C, H, W]`; the model sees `[1, C, H, W]`). With the layer's activations A
 * `[K, h, w]` and the gradients G of the target's score with respect to them, the map is
 * `ReLU(sum_k w_k A_k)`, upsampled bilinearly to `[H, W]` and scaled so its maximum is 1
 * (its minimum 0; an all-zero map stays 0). Grad-CAM's weights are `w_k = mean(G_k)`;
 * Grad-CAM++'s are `w_k = sum_ij a_kij ReLU(G_kij)` with
 * `a_kij = G_kij^2 / (2 G_kij^2 + sum_ab A_kab G_kij^3)` (0 where the denominator is).
 *
 * `layer` is a module path as `model.namedModules()` names it (`'layer4.1'`) or the module
 * itself, whose output must be `[1, K, h, w]`; `target` a class index or a function of the
 * output returning a scalar tensor (a detector's box score, a segmentation class's mean).
 * The model runs in eval mode with frozen parameters and is left as it was; the hook that
 * reads the layer is removed again.
 *
 * @throws KeyError naming an unknown layer path; ShapeError when the layer's output is not 4-d
 * @example
 * const cam = viz.gradCam(resnet, 'layer4.1', image, 281);
 * const camPp = viz.gradCam(unet, 'down3', image, (logits) => logits.slice(1, 1, 2).mean(), { plusPlus: true });
 * await viz.writePng(viz.overlayHeatmap(picture, cam, { colormap: 'turbo' }), 'cam.png');
 */
export function gradCam<Out>(model: Module<[Tensor], Out>, layer: LayerRef, image: Tensor, target: Target<Out>, opts: GradCamOptions = {}): Tensor<'float32'> {
  const op = 'gradCam';
  const x = checkImage(op, image);
  checkTarget(op, target);
  const module = resolveLayer(op, model, layer);
  const [, height, width] = x.shape as [number, number, number];
  return withModelFrozen(model, () =>
    scope(() => {
      // The input requires grad so that the layer's output is in a graph even with the parameters frozen.
      const input = x.reshape([1, ...x.shape]).detach().requiresGrad_();
      const cam = captureOutput(op, module, () => model.call(input), ({ result, output, values }) => {
        if (values.ndim !== 4 || values.shape[0] !== 1) throw new ShapeError(`${op}: expected layer '${layerName(layer)}' to output [1, K, h, w], got [${values.shape.join(', ')}]`);
        const [g] = grad(targetScores(op, result, target, 1), [output]);
        const weights = opts.plusPlus ? plusPlusWeights(values, g!) : g!.mean([2, 3], { keepdim: true });
        return values.mul(weights).sum(1, { keepdim: true }).relu();
      });
      const resized = interpolate(cam, { size: [height, width], mode: 'bilinear' }).reshape([height, width]);
      return rescale(resized);
    }),
  );
}

/** Grad-CAM++'s channel weights `[1, K, 1, 1]` (the paper's eq. 19, as its reference code). */
function plusPlusWeights(activations: Tensor, g: Tensor): Tensor {
  const g2 = g.square();
  const denominator = g2.mul(2).add(activations.sum([2, 3], { keepdim: true }).mul(g2.mul(g)));
  const alpha = g2.div(where(denominator.ne(0), denominator, 1));
  return alpha.mul(g.relu()).sum([2, 3], { keepdim: true });
}

function layerName(layer: LayerRef): string {
  return typeof layer === 'string' ? layer : layer.constructor.name;
}
