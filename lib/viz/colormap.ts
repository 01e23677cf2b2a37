/**
 * Heatmaps as colour images: perceptual colormaps (viridis, magma, turbo) applied to an
 * `[H, W]` map, and a map blended over the image it explains.
 * @module
 */
import { ArgumentError, DTypeError, ShapeError } from '../errors.js';
import { interpolate } from '../ops/resample.js';
import { indexSelect } from '../ops/indexing.js';
import { checkInRange } from '../ops/validate.js';
import { full, tensor } from '../tensor/creation.js';
import { keep, scope } from '../tensor/memory.js';
import { describe } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { MAGMA, TURBO, VIRIDIS } from './colormap_data.js';

/** The colormaps {@link colormap} offers: matplotlib's viridis and magma, Google's turbo. */
export type ColormapName = 'viridis' | 'magma' | 'turbo';

/** Options of {@link colormap}. */
export interface ColormapOptions {
  /** The colormap (default 'viridis'). */
  name?: ColormapName;
  /** The value drawn in the colormap's first colour; lower values are clipped (default: the map's minimum). */
  min?: number;
  /** The value drawn in the colormap's last colour; higher values are clipped (default: the map's maximum). */
  max?: number;
}

/** Options of {@link overlayHeatmap}. */
export interface OverlayHeatmapOptions {
  /** The colormap (default 'viridis'). */
  colormap?: ColormapName;
  /** As {@link ColormapOptions.min}: the value drawn in the first colour (default: the heatmap's minimum). */
  min?: number;
  /** As {@link ColormapOptions.max}: the value drawn in the last colour (default: the heatmap's maximum). */
  max?: number;
  /** Opacity of the heatmap's colours in [0, 1]: 0 leaves the image, 1 shows only the heatmap (default 0.5). */
  alpha?: number;
}

const TABLES: Record<ColormapName, readonly number[]> = { viridis: VIRIDIS, magma: MAGMA, turbo: TURBO };

/** Each colormap's bytes as a uint8 `[256, 3]` lookup table, made once and kept out of every scope. */
const lookupTables = new Map<ColormapName, Tensor<'uint8'>>();

function lookupTable(name: ColormapName): Tensor<'uint8'> {
  let table = lookupTables.get(name);
  if (table === undefined) {
    // Truncated, not rounded: the bytes of matplotlib's `cmap(x, bytes=True)`.
    table = keep(tensor(Uint8Array.from(TABLES[name], (v) => Math.trunc(v * 255)), { shape: [256, 3] })) as Tensor<'uint8'>;
    lookupTables.set(name, table);
  }
  return table;
}

/** Checks a heatmap argument: a float32 `[H, W]` tensor. */
export function checkHeatmap(op: string, name: string, heat: unknown): Tensor<'float32'> {
  if (!(heat instanceof Tensor)) throw new ArgumentError(`${op}: expected ${name} to be a Tensor, got ${describe(heat)}`);
  if (heat.dtype !== 'float32') throw new DTypeError(`${op}: expected ${name} of dtype float32, got ${heat.dtype}`);
  if (heat.ndim !== 2 || heat.numel === 0) throw new ShapeError(`${op}: expected ${name} of shape [H, W] with H, W > 0, got [${heat.shape.join(', ')}]`);
  return heat as Tensor<'float32'>;
}

/**
 * Colours a heatmap: `heat` float32 `[H, W]` becomes a uint8 RGB image `[3, H, W]`. Values
 * are scaled so that `min` gets the colormap's first colour and `max` its last (by default
 * the map's own minimum and maximum; a constant map is drawn in the first colour), then
 * looked up in the 256-entry table as matplotlib's `cmap(x, bytes=True)` does: entry
 * `floor(256 x)`, clipped to 0..255. The tables are matplotlib's (viridis and magma by
 * Smith and van der Walt; turbo by Mikhailov, Google). Runs on the heatmap's device.
 *
 * @throws ShapeError when `heat` is not `[H, W]`; ArgumentError when `max <= min`
 * @example
 * const rgb = viz.colormap(cam, { name: 'turbo', min: 0, max: 1 }); // uint8 [3, H, W]
 * await viz.writePng(rgb, 'cam.png');
 */
export function colormap(heat: Tensor, opts: ColormapOptions = {}): Tensor<'uint8'> {
  const op = 'colormap';
  const map = checkHeatmap(op, 'heat', heat);
  const name = opts.name ?? 'viridis';
  if (!(name in TABLES)) throw new ArgumentError(`${op}: expected name 'viridis', 'magma' or 'turbo', got ${describe(name)}`);
  for (const bound of ['min', 'max'] as const) {
    const value = opts[bound];
    if (value !== undefined && !Number.isFinite(value)) throw new ArgumentError(`${op}: expected ${bound} to be a finite number, got ${describe(value)}`);
  }
  if (opts.min !== undefined && opts.max !== undefined && !(opts.max > opts.min)) throw new ArgumentError(`${op}: expected max > min, got min ${opts.min} and max ${opts.max}`);
  return scope(() => {
    const bound = (value: number | undefined, measured: () => Tensor) => (value === undefined ? measured() : full([], value, { device: map.device }));
    const lo = bound(opts.min, () => map.amin());
    // A constant map would divide by zero: the floor on the range draws it in the first colour.
    const range = bound(opts.max, () => map.amax()).sub(lo).clamp(1e-30);
    const index = map.sub(lo).div(range).mul(256).floor().clamp(0, 255).int();
    const table = lookupTable(name);
    const colours = indexSelect(table.device === map.device ? table : table.to(map.device), 0, index.reshape([-1]));
    return colours.reshape([map.shape[0]!, map.shape[1]!, 3]).permute(2, 0, 1).contiguous();
  });
}

/**
 * Blends a heatmap over the image it explains (a saliency map, a Grad-CAM, an occlusion
 * map): `heat` float32 `[h, w]` is resized to the image's size bilinearly (as
 * `F.interpolate(mode='bilinear', align_corners=False)`), coloured with {@link colormap},
 * and mixed as `image * (1 - alpha) + colour * alpha`, rounded. `image` is uint8
 * `[3, H, W]` or `[1, H, W]` (drawn in colour), or float32 in [0, 1]. Returns uint8
 * `[3, H, W]`.
 *
 * @example
 * const cam = viz.gradCam(model, '4', image, label);
 * await viz.writePng(viz.overlayHeatmap(image, cam, { colormap: 'turbo', alpha: 0.5 }), 'cam.png');
 */
export function overlayHeatmap(image: Tensor, heat: Tensor, opts: OverlayHeatmapOptions = {}): Tensor<'uint8'> {
  const op = 'overlayHeatmap';
  if (!(image instanceof Tensor)) throw new ArgumentError(`${op}: expected image to be a Tensor, got ${describe(image)}`);
  if (image.dtype !== 'uint8' && image.dtype !== 'float32') throw new DTypeError(`${op}: expected image of dtype uint8 or float32, got ${image.dtype}`);
  if (image.ndim !== 3 || (image.shape[0] !== 3 && image.shape[0] !== 1)) throw new ShapeError(`${op}: expected image of shape [3, H, W] or [1, H, W], got [${image.shape.join(', ')}]`);
  const map = checkHeatmap(op, 'heat', heat);
  const alpha = checkInRange(op, 'alpha', opts.alpha ?? 0.5, 0, 1);
  const [, height, width] = image.shape as [number, number, number];
  return scope(() => {
    const sameSize = map.shape[0] === height && map.shape[1] === width;
    const resized = sameSize ? map : interpolate(map.reshape([1, 1, ...map.shape]), { size: [height, width], mode: 'bilinear' }).reshape([height, width]);
    const colours = colormap(resized, { name: opts.colormap ?? 'viridis', min: opts.min, max: opts.max }).float();
    const pixels = image.dtype === 'uint8' ? image.float() : image.mul(255);
    const blended = pixels.expand([3, height, width]).mul(1 - alpha).add(colours.mul(alpha));
    return blended.round().clamp(0, 255).to('uint8');
  });
}
