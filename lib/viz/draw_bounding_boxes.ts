/**
 * Boxes drawn on an image, as `torchvision.utils.draw_bounding_boxes`: outlines and
 * optional labels drawn as an SVG overlay that sharp composites onto the image.
 * @module
 */
import sharp from 'sharp';

import { ArgumentError, DTypeError, ShapeError } from '../errors.js';
import { tensor } from '../tensor/creation.js';
import { describe } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';

/** A colour: a CSS colour string (`'red'`, `'#1f77b4'`) or RGB bytes. */
export type BoxColor = string | readonly [r: number, g: number, b: number];

/** Options of {@link drawBoundingBoxes}. */
export interface DrawBoundingBoxesOptions {
  /** One text per box, drawn inside its top-left corner (default none). */
  labels?: readonly string[];
  /** One colour for all boxes, or one per box (default: a 10-colour palette, box by box). */
  colors?: BoxColor | readonly BoxColor[];
  /** Outline width in pixels (default 1). */
  width?: number;
  /** Label font size in pixels (default 10). */
  fontSize?: number;
}

/** matplotlib's tab10: distinct on dark and light images. */
const PALETTE: readonly string[] = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

/** Characters that SVG text must escape. */
const escapeXml = (text: string): string => text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

function colorOf(op: string, color: BoxColor, where: string): string {
  if (typeof color === 'string') {
    // A colour string goes into an SVG attribute: only the characters colours use.
    if (!/^[#a-zA-Z0-9(),.\s%]+$/.test(color)) throw new ArgumentError(`${op}: expected ${where} to be a CSS colour, got ${describe(color)}`);
    return color;
  }
  if (!Array.isArray(color) || color.length !== 3 || !color.every((c) => Number.isInteger(c) && c >= 0 && c <= 255)) {
    throw new ArgumentError(`${op}: expected ${where} to be a colour string or [r, g, b] of integers 0..255, got ${describe(color)}`);
  }
  return `rgb(${color.join(',')})`;
}

/**
 * Draws `boxes` on `image` and returns a new image, as `torchvision.utils.draw_bounding_boxes`:
 * `image` is uint8 `[3, H, W]` (or `[1, H, W]`, drawn in colour as `[3, H, W]`), `boxes`
 * `[K, 4]` xyxy in pixels with `x1 <= x2` and `y1 <= y2` (parts outside the image are cut
 * off). Each box is outlined `width` pixels wide, centred on its edges, and its label, if
 * any, written inside its top-left corner. Async: the drawing is an SVG overlay that sharp
 * rasterises and composites off the main thread.
 *
 * @example
 * const drawn = await viz.drawBoundingBoxes(image, detections.boxes, { labels: ['shirt 0.93'], width: 2 });
 * drawn.shape; // [3, H, W], uint8
 */
export async function drawBoundingBoxes(image: Tensor, boxes: Tensor, opts: DrawBoundingBoxesOptions = {}): Promise<Tensor<'uint8'>> {
  const op = 'drawBoundingBoxes';
  if (!(image instanceof Tensor)) throw new ArgumentError(`${op}: expected image to be a Tensor, got ${describe(image)}`);
  if (image.dtype !== 'uint8') throw new DTypeError(`${op}: expected image of dtype uint8, got ${image.dtype}`);
  if (image.ndim !== 3 || (image.shape[0] !== 3 && image.shape[0] !== 1)) throw new ShapeError(`${op}: expected image of shape [3, H, W] or [1, H, W], got [${image.shape.join(', ')}]`);
  if (!(boxes instanceof Tensor)) throw new ArgumentError(`${op}: expected boxes to be a Tensor, got ${describe(boxes)}`);
  if (boxes.ndim !== 2 || boxes.shape[1] !== 4) throw new ShapeError(`${op}: expected boxes of shape [K, 4], got [${boxes.shape.join(', ')}]`);
  if (boxes.dtype !== 'float32' && boxes.dtype !== 'int32') throw new DTypeError(`${op}: expected boxes of dtype float32 or int32, got ${boxes.dtype}`);
  const count = boxes.shape[0]!;
  const { labels } = opts;
  if (labels !== undefined && (!Array.isArray(labels) || labels.length !== count || !labels.every((l) => typeof l === 'string'))) {
    throw new ArgumentError(`${op}: expected labels to be ${count} strings (one per box), got ${describe(labels)}`);
  }
  const width = opts.width ?? 1;
  if (typeof width !== 'number' || !(width > 0 && width <= 100)) throw new ArgumentError(`${op}: expected width to be a number in (0, 100], got ${describe(width)}`);
  const fontSize = opts.fontSize ?? 10;
  if (typeof fontSize !== 'number' || !(fontSize > 0 && fontSize <= 200)) throw new ArgumentError(`${op}: expected fontSize to be a number in (0, 200], got ${describe(fontSize)}`);
  const colors = boxColors(op, opts.colors, count);

  const [channels, height, imageWidth] = image.shape as [number, number, number];
  const [pixels, corners] = await Promise.all([image.data(), boxes.data()]);
  const shapes: string[] = [];
  for (let k = 0; k < count; ++k) {
    const [x1, y1, x2, y2] = [corners[4 * k], corners[4 * k + 1], corners[4 * k + 2], corners[4 * k + 3]].map(Number) as [number, number, number, number];
    if (![x1, y1, x2, y2].every(Number.isFinite) || x2 < x1 || y2 < y1) {
      throw new ArgumentError(`${op}: expected boxes[${k}] to be finite xyxy with x1 <= x2 and y1 <= y2, got [${x1}, ${y1}, ${x2}, ${y2}]`);
    }
    shapes.push(`<rect x="${x1}" y="${y1}" width="${x2 - x1}" height="${y2 - y1}" fill="none" stroke="${colors[k]}" stroke-width="${width}"/>`);
    const label = labels?.[k];
    if (label) {
      const inset = width / 2 + 1;
      shapes.push(`<text x="${x1 + inset}" y="${y1 + inset}" dominant-baseline="hanging" font-family="DejaVu Sans, sans-serif" font-size="${fontSize}" fill="${colors[k]}">${escapeXml(label)}</text>`);
    }
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${imageWidth}" height="${height}">${shapes.join('')}</svg>`;

  // CHW to HWC (grey to RGB), composite, and back.
  const plane = height * imageWidth;
  const interleaved = Buffer.alloc(plane * 3);
  for (let c = 0; c < 3; ++c) {
    const source = channels === 1 ? 0 : c;
    for (let p = 0; p < plane; ++p) interleaved[3 * p + c] = pixels[source * plane + p]!;
  }
  const drawn = await sharp(interleaved, { raw: { width: imageWidth, height, channels: 3 } })
    .composite([{ input: Buffer.from(svg), top: 0, left: 0 }])
    .removeAlpha()
    .raw()
    .toBuffer();
  const out = new Uint8Array(plane * 3);
  for (let c = 0; c < 3; ++c) for (let p = 0; p < plane; ++p) out[c * plane + p] = drawn[3 * p + c]!;
  return tensor(out, { shape: [3, height, imageWidth] }) as Tensor<'uint8'>;
}

/** The colour of each box: the one given for all, the list given, or the palette. */
function boxColors(op: string, colors: BoxColor | readonly BoxColor[] | undefined, count: number): string[] {
  if (colors === undefined) return Array.from({ length: count }, (_, k) => PALETTE[k % PALETTE.length]!);
  const isList = Array.isArray(colors) && (colors.length === 0 || typeof colors[0] !== 'number');
  if (!isList) {
    const one = colorOf(op, colors as BoxColor, 'colors');
    return Array.from({ length: count }, () => one);
  }
  const list = colors as readonly BoxColor[];
  if (list.length !== count) throw new ArgumentError(`${op}: expected colors to be one colour or ${count} (one per box), got ${list.length}`);
  return list.map((c, k) => colorOf(op, c, `colors[${k}]`));
}
