/**
 * A convolution's filters as one image, the usual look at what a first layer learned.
 * @module
 */
import { ArgumentError, ShapeError } from '../errors.js';
import { Conv2d } from '../nn/layers/conv.js';
import { scope } from '../tensor/memory.js';
import { describe } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { makeGrid, rescale, type MakeGridOptions } from './grid.js';

/** Options of {@link filters}: the grid's layout, and how weights become grey levels. */
export interface FiltersOptions extends MakeGridOptions {
  /** Scale each filter to [0, 1] on its own ('per-filter', default) or all filters together ('global', which keeps their relative strength). */
  normalize?: 'per-filter' | 'global';
}

/**
 * The filters of a convolution as a uint8 image grid `[C, H, W]`, as first-layer filters
 * are shown in the papers: `conv` is a Conv2d (or its weight `[outChannels, inChannels, kH,
 * kW]`) with 1 input channel (grey tiles, C = 1) or 3 (RGB tiles, C = 3), one tile per
 * output channel, in rows of `nrow` (see {@link makeGrid}). Weights are scaled min-max to
 * [0, 1], per filter or globally. Small kernels want `scale` (a 5x5 filter at scale 8 is a
 * 40-pixel tile).
 *
 * @throws ShapeError when the weight is not 4-d or has an input channel count other than 1 or 3
 * @example
 * const grid = viz.filters(model.at(0) as nn.Conv2d, { padding: 1, scale: 8 });
 * await viz.writePng(grid, 'filters.png');
 */
export function filters(conv: Conv2d | Tensor, opts: FiltersOptions = {}): Tensor<'uint8'> {
  const op = 'filters';
  const weight = conv instanceof Conv2d ? conv.weight : conv;
  if (!(weight instanceof Tensor)) throw new ArgumentError(`${op}: expected conv to be a Conv2d or its weight tensor, got ${describe(conv)}`);
  if (weight.ndim !== 4 || (weight.shape[1] !== 1 && weight.shape[1] !== 3)) {
    throw new ShapeError(`${op}: expected conv's weight of shape [outChannels, 1 or 3, kH, kW] (a first layer, drawn grey or RGB), got [${weight.shape.join(', ')}]`);
  }
  const normalize = opts.normalize ?? 'per-filter';
  if (normalize !== 'per-filter' && normalize !== 'global') throw new ArgumentError(`${op}: expected normalize 'per-filter' or 'global', got ${describe(normalize)}`);
  return scope(() => makeGrid(rescale(weight.detach(), normalize === 'global' ? undefined : [1, 2, 3]), opts));
}
