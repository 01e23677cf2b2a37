/**
 * Segmentation drawn over an image, as `torchvision.utils.draw_segmentation_masks`: a class
 * map or a stack of bool masks blended onto the image in Pascal VOC's colours.
 * @module
 */
import { vocPalette, type RgbColor } from '../data/decode_mask.js';
import { ArgumentError, DTypeError, IndexError, ShapeError } from '../errors.js';
import { tensor } from '../tensor/creation.js';
import { describe } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';

/** Options of {@link overlaySegmentation}. */
export interface OverlaySegmentationOptions {
  /** Opacity of the drawn colours, in [0, 1]: 0 leaves the image, 1 paints it over (default 0.8, as torchvision). */
  alpha?: number;
  /** Colour of each class id, `[r, g, b]` bytes (default: Pascal VOC's 256 colours, {@link vocPalette}). */
  palette?: readonly RgbColor[];
  /** A class-map id that is never drawn (default 255, VOC's void border); ignored for a bool stack. */
  ignoreIndex?: number;
  /**
   * The class ids drawn. For a class map: which ids to draw (default: every id present but
   * 0, the background, and `ignoreIndex`). For a bool stack: the class id of each mask,
   * which picks its palette colour (default 1..K, so mask 0 gets VOC's dark red).
   */
  classes?: readonly number[];
}

/** torchvision's `convert_image_dtype(float -> uint8)` scale: `x * (256 - 1e-3)`, truncated, maps [0, 1] onto 0..255 evenly. */
const FLOAT_TO_UINT8 = Math.fround(255 + 1 - 1e-3);

/**
 * Blends a segmentation onto `image` and returns a new uint8 `[3, H, W]` image, with the
 * arithmetic of torchvision 0.14's `draw_segmentation_masks`: each pixel a mask covers is
 * `image * (1 - alpha) + colour * alpha` in float32, truncated to uint8, where a pixel two
 * masks cover takes the later mask's colour.
 *
 * `image` is uint8 `[3, H, W]` or `[1, H, W]` (drawn in colour), or float32 in [0, 1], first
 * converted as torchvision's `convert_image_dtype` does. `mask` is either a bool stack
 * `[K, H, W]` (or one bool mask `[H, W]`), mask k drawn in the colour of class `classes[k]`
 * (default k + 1), or an int32/uint8 class map `[H, W]`, each id in `classes` (default: all
 * present but 0 and `ignoreIndex`) drawn in its palette colour. Unlike torchvision, whose
 * default colours are random, the default palette is Pascal VOC's, so class ids keep their
 * colours from image to image. Write the result with {@link writePng}.
 *
 * A mask whose size differs from the image's is a ShapeError; a class id outside the
 * palette (but `ignoreIndex`) an IndexError; an alpha outside [0, 1] an ArgumentError.
 *
 * @example
 * const overlay = await viz.overlaySegmentation(image, prediction.argmax(0), { alpha: 0.5 });
 * await viz.writePng(overlay, 'overlay.png');
 */
export async function overlaySegmentation(image: Tensor, mask: Tensor, opts: OverlaySegmentationOptions = {}): Promise<Tensor<'uint8'>> {
  const op = 'overlaySegmentation';
  if (!(image instanceof Tensor)) throw new ArgumentError(`${op}: expected image to be a Tensor, got ${describe(image)}`);
  if (image.dtype !== 'uint8' && image.dtype !== 'float32') throw new DTypeError(`${op}: expected image of dtype uint8 or float32, got ${image.dtype}`);
  if (image.ndim !== 3 || (image.shape[0] !== 3 && image.shape[0] !== 1)) throw new ShapeError(`${op}: expected image of shape [3, H, W] or [1, H, W], got [${image.shape.join(', ')}]`);
  if (!(mask instanceof Tensor)) throw new ArgumentError(`${op}: expected mask to be a Tensor, got ${describe(mask)}`);
  const isStack = mask.dtype === 'bool';
  if (!isStack && mask.dtype !== 'int32' && mask.dtype !== 'uint8') throw new DTypeError(`${op}: expected mask of dtype bool (a mask stack) or int32/uint8 (a class map), got ${mask.dtype}`);
  const [channels, height, width] = image.shape as [number, number, number];
  const validShape = isStack ? mask.ndim === 2 || mask.ndim === 3 : mask.ndim === 2;
  if (!validShape || mask.shape[mask.ndim - 2] !== height || mask.shape[mask.ndim - 1] !== width) {
    const expected = isStack ? `[K, ${height}, ${width}] or [${height}, ${width}] (bool masks)` : `[${height}, ${width}] (a class map)`;
    throw new ShapeError(`${op}: expected mask of shape ${expected} to match image [${image.shape.join(', ')}], got [${mask.shape.join(', ')}]`);
  }
  const alpha = opts.alpha ?? 0.8;
  if (typeof alpha !== 'number' || !(alpha >= 0 && alpha <= 1)) throw new ArgumentError(`${op}: expected alpha to be a number in [0, 1], got ${describe(alpha)}`);
  const palette = opts.palette ?? vocPalette();
  if (!Array.isArray(palette) || !palette.every((c) => Array.isArray(c) && c.length === 3 && c.every((v) => Number.isInteger(v) && v >= 0 && v <= 255))) {
    throw new ArgumentError(`${op}: expected palette to be a list of [r, g, b] colours of integers 0..255, got ${describe(palette)}`);
  }
  const ignoreIndex = opts.ignoreIndex ?? 255;
  if (!Number.isInteger(ignoreIndex)) throw new ArgumentError(`${op}: expected ignoreIndex to be an integer, got ${describe(ignoreIndex)}`);
  const { classes } = opts;
  if (classes !== undefined && (!Array.isArray(classes) || !classes.every((c) => Number.isInteger(c)))) {
    throw new ArgumentError(`${op}: expected classes to be a list of integer class ids, got ${describe(classes)}`);
  }

  const plane = height * width;
  const [pixels, maskValues] = await Promise.all([image.data(), mask.data()]);
  // Which colour (palette index) each pixel gets, -1 for none: the later mask wins, as in torchvision.
  const colourOf = new Int32Array(plane).fill(-1);
  if (isStack) {
    const count = mask.ndim === 3 ? mask.shape[0]! : 1;
    if (classes !== undefined && classes.length !== count) throw new ArgumentError(`${op}: expected classes to give one class id per mask (${count}), got ${classes.length}`);
    for (let k = 0; k < count; ++k) {
      const id = classes?.[k] ?? k + 1;
      if (id < 0 || id >= palette.length) throw new IndexError(`${op}: mask ${k} is class ${id}, outside the palette of ${palette.length} colours`);
      for (let p = 0; p < plane; ++p) if (maskValues[k * plane + p]) colourOf[p] = id;
    }
  } else {
    const drawn = classes === undefined ? null : new Set(classes);
    for (let p = 0; p < plane; ++p) {
      const id = maskValues[p]!;
      if (id === ignoreIndex) continue;
      if (id < 0 || id >= palette.length) throw new IndexError(`${op}: mask has class id ${id} at pixel (${Math.floor(p / width)}, ${p % width}), outside the palette of ${palette.length} colours (ignoreIndex ${ignoreIndex})`);
      if (drawn ? drawn.has(id) : id !== 0) colourOf[p] = id;
    }
  }

  // float32 arithmetic, as torch: uint8 * python float promotes to float32 (scalars rounded to float32 first).
  const keep = Math.fround(1 - alpha);
  const paint = Math.fround(alpha);
  const out = new Uint8Array(3 * plane);
  for (let c = 0; c < 3; ++c) {
    const source = channels === 1 ? 0 : c;
    for (let p = 0; p < plane; ++p) {
      const raw = pixels[source * plane + p]!;
      if (image.dtype === 'float32' && !(raw >= 0 && raw <= 1)) throw new ArgumentError(`${op}: expected a float32 image's values in [0, 1], got ${raw} at [${source}, ${Math.floor(p / width)}, ${p % width}]`);
      const value = image.dtype === 'uint8' ? raw : Math.trunc(Math.fround(raw * FLOAT_TO_UINT8));
      const id = colourOf[p]!;
      const drawnValue = id < 0 ? value : palette[id]![c]!;
      out[c * plane + p] = Math.trunc(Math.fround(Math.fround(value * keep) + Math.fround(drawnValue * paint)));
    }
  }
  return tensor(out, { shape: [3, height, width] }) as Tensor<'uint8'>;
}
