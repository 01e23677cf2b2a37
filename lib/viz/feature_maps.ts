/**
 * What a layer computes for one image: its activation maps, read by a forward hook, raw or
 * as an image grid.
 * @module
 */
import { noGrad } from '../autograd/grad_mode.js';
import { ArgumentError, ShapeError } from '../errors.js';
import type { Module } from '../nn/module.js';
import { scope } from '../tensor/memory.js';
import { describe } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { makeGrid, rescale, type MakeGridOptions } from './grid.js';
import { checkImage } from './inputs.js';
import { captureOutput, resolveLayer, type LayerRef } from './layer.js';
import { withModelFrozen } from './model_state.js';

/** Options of {@link featureMaps}: what it returns, and the grid's layout. */
export interface FeatureMapsOptions extends MakeGridOptions {
  /** 'grid' (default): a uint8 image of every channel; 'activation': the layer's output for the image, float32, batch dim dropped. */
  as?: 'grid' | 'activation';
}

/**
 * The activation maps of `layer` for `image` (float32 `[C, H, W]`; the model sees
 * `[1, C, H, W]`) as a uint8 image grid `[1, H', W']`: one grey tile per channel, each
 * scaled min-max to [0, 1] on its own, laid out by {@link makeGrid}.
 *
 * `layer` is a module path as `model.namedModules()` names it (`'layer1.0'`) or the module;
 * its output is read by a forward hook, removed again even when the forward throws. The
 * model runs once, in eval mode without recording gradients, and is left as it was.
 *
 * @throws KeyError naming an unknown layer path; ShapeError for a grid of an output that is not `[1, K, h, w]`
 * @example
 * await viz.writePng(viz.featureMaps(model, '2', image, { scale: 4 }), 'features.png');
 */
export function featureMaps<Out>(model: Module<[Tensor], Out>, layer: LayerRef, image: Tensor, opts?: FeatureMapsOptions & { as?: 'grid' }): Tensor<'uint8'>;
/**
 * The output of `layer` for `image`, float32, without its batch dim: `[K, h, w]` for a
 * convolutional layer, `[F]` for a linear one. The caller owns it.
 *
 * @example
 * const maps = viz.featureMaps(model, 'layer1.0', image, { as: 'activation' }); // [64, 56, 56]
 */
export function featureMaps<Out>(model: Module<[Tensor], Out>, layer: LayerRef, image: Tensor, opts: FeatureMapsOptions & { as: 'activation' }): Tensor<'float32'>;
export function featureMaps<Out>(model: Module<[Tensor], Out>, layer: LayerRef, image: Tensor, opts: FeatureMapsOptions = {}): Tensor {
  const op = 'featureMaps';
  const x = checkImage(op, image);
  const module = resolveLayer(op, model, layer);
  const as = opts.as ?? 'grid';
  if (as !== 'grid' && as !== 'activation') throw new ArgumentError(`${op}: expected as 'grid' or 'activation', got ${describe(as)}`);
  return withModelFrozen(model, () =>
    noGrad(() =>
      scope(() =>
        captureOutput(op, module, () => model.call(x.reshape([1, ...x.shape])), ({ values }) => {
          const activation = values.reshape(values.shape.slice(1));
          if (as === 'activation') return activation;
          if (values.ndim !== 4) throw new ShapeError(`${op}: a grid needs the layer's output to be [1, K, h, w], got [${values.shape.join(', ')}]; use { as: 'activation' }`);
          return makeGrid(rescale(activation, [1, 2]).unsqueeze(1), opts);
        }),
      ),
    ),
  );
}
