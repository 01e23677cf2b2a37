/**
 * Many small images as one: a grid of tiles, as `torchvision.utils.make_grid`, and the
 * min-max scaling that turns filters, activations and heatmaps into [0, 1] images.
 * @module
 */
import { ArgumentError, DTypeError, ShapeError } from '../errors.js';
import { interpolate } from '../ops/resample.js';
import { cat, pad } from '../ops/shape.js';
import { checkInRange, checkInt } from '../ops/validate.js';
import { full } from '../tensor/creation.js';
import { scope } from '../tensor/memory.js';
import { describe } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';

/** Options of {@link makeGrid}. */
export interface MakeGridOptions {
  /** Tiles per row (default: ceil(sqrt(N)), a square-ish grid). */
  nrow?: number;
  /** Pixels between tiles and around the grid (default 2, as torchvision). */
  padding?: number;
  /** The value of the padding, in [0, 1] (default 0, black). */
  padValue?: number;
  /** Each tile enlarged by this integer factor, nearest neighbour, so 3x3 filters can be seen (default 1). */
  scale?: number;
}

/**
 * `t` scaled to [0, 1] so that its minimum over `dims` becomes 0 and its maximum 1 (over
 * all elements when `dims` is omitted); a constant part becomes 0.
 */
export function rescale(t: Tensor, dims?: readonly number[]): Tensor<'float32'> {
  return scope(() => {
    const lo = dims === undefined ? t.amin() : t.amin(dims, { keepdim: true });
    const hi = dims === undefined ? t.amax() : t.amax(dims, { keepdim: true });
    return t.sub(lo).div(hi.sub(lo).clamp(1e-30)) as Tensor<'float32'>;
  });
}

/**
 * Lays `tiles` out in a grid and returns one uint8 image `[C, H, W]`, as
 * `torchvision.utils.make_grid` then conversion to bytes: `tiles` is `[N, C, h, w]` with C
 * 1 (grey) or 3 (RGB), float32 in [0, 1] (clipped) or uint8. Tiles fill rows of `nrow`,
 * separated and surrounded by `padding` pixels of `padValue`; so
 * `H = rows * (h * scale + padding) + padding`, likewise W.
 *
 * @example
 * const grid = viz.makeGrid(images, { nrow: 8, padding: 2 }); // uint8 [C, H, W]
 * await viz.writePng(grid, 'batch.png');
 */
export function makeGrid(tiles: Tensor, opts: MakeGridOptions = {}): Tensor<'uint8'> {
  const op = 'makeGrid';
  if (!(tiles instanceof Tensor)) throw new ArgumentError(`${op}: expected tiles to be a Tensor, got ${describe(tiles)}`);
  if (tiles.dtype !== 'float32' && tiles.dtype !== 'uint8') throw new DTypeError(`${op}: expected tiles of dtype float32 or uint8, got ${tiles.dtype}`);
  if (tiles.ndim !== 4 || (tiles.shape[1] !== 1 && tiles.shape[1] !== 3) || tiles.numel === 0) {
    throw new ShapeError(`${op}: expected tiles of shape [N, C, h, w] with C 1 or 3 and N, h, w > 0, got [${tiles.shape.join(', ')}]`);
  }
  const [count, channels] = tiles.shape as [number, number, number, number];
  const nrow = checkInt(op, 'nrow', opts.nrow ?? Math.ceil(Math.sqrt(count)), 1);
  const padding = checkInt(op, 'padding', opts.padding ?? 2, 0);
  const scale = checkInt(op, 'scale', opts.scale ?? 1, 1);
  const padValue = checkInRange(op, 'padValue', opts.padValue ?? 0, 0, 1);
  return scope(() => {
    let images: Tensor = tiles.dtype === 'uint8' ? tiles.float().div(255) : tiles.clamp(0, 1);
    if (scale > 1) images = interpolate(images, { scaleFactor: scale, mode: 'nearest' });
    const [, , h, w] = images.shape as [number, number, number, number];
    const cols = Math.min(nrow, count);
    const rows = Math.ceil(count / cols);
    if (rows * cols > count) images = cat([images, full([rows * cols - count, channels, h, w], padValue, { device: images.device })]);
    // Each tile padded right and bottom, the tiles interleaved into rows, then the grid's top and left edge.
    const cells = pad(images, [0, padding, 0, padding], 'constant', padValue);
    const grid = cells.reshape([rows, cols, channels, h + padding, w + padding]).permute(2, 0, 3, 1, 4).reshape([channels, rows * (h + padding), cols * (w + padding)]);
    return pad(grid, [padding, 0, padding, 0], 'constant', padValue).mul(255).round().clamp(0, 255).to('uint8');
  });
}
