/**
 * Image tensors to PNG files through sharp, as `torchvision.io.write_png`.
 * @module
 */
import sharp from 'sharp';

import { ArgumentError, DTypeError, ShapeError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic_write.js';
import { describe } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';

/** Options of {@link writePng}. */
export interface WritePngOptions {
  /** zlib compression level 0..9 (default 6, as torchvision). */
  compressionLevel?: number;
}

/**
 * Encodes a uint8 image `[C, H, W]` (C = 1 grey, 3 RGB, 4 RGBA) as an 8-bit PNG, as
 * `torchvision.io.encode_png`. Async: sharp encodes off the main thread.
 *
 * @example
 * const png = await viz.encodeImagePng(overlay); // Buffer
 */
export async function encodeImagePng(image: Tensor, opts: WritePngOptions = {}, op = 'encodeImagePng'): Promise<Buffer> {
  if (!(image instanceof Tensor)) throw new ArgumentError(`${op}: expected image to be a Tensor, got ${describe(image)}`);
  if (image.dtype !== 'uint8') throw new DTypeError(`${op}: expected image of dtype uint8, got ${image.dtype}`);
  const channels = image.shape[0];
  if (image.ndim !== 3 || (channels !== 1 && channels !== 3 && channels !== 4) || image.shape[1] === 0 || image.shape[2] === 0) {
    throw new ShapeError(`${op}: expected image of shape [C, H, W] with C 1, 3 or 4 and H, W > 0, got [${image.shape.join(', ')}]`);
  }
  const compressionLevel = opts.compressionLevel ?? 6;
  if (!Number.isInteger(compressionLevel) || compressionLevel < 0 || compressionLevel > 9) {
    throw new ArgumentError(`${op}: expected compressionLevel to be an integer in 0..9, got ${describe(compressionLevel)}`);
  }
  const [, height, width] = image.shape as [number, number, number];
  const planar = await image.data();
  // CHW to the HWC sharp reads.
  const plane = height * width;
  const interleaved = Buffer.alloc(plane * channels);
  for (let c = 0; c < channels; ++c) for (let p = 0; p < plane; ++p) interleaved[p * channels + c] = planar[c * plane + p]!;
  let pipeline = sharp(interleaved, { raw: { width, height, channels } });
  // Grey stays one channel: sharp would otherwise write it as RGB.
  if (channels === 1) pipeline = pipeline.toColourspace('b-w');
  return pipeline.png({ compressionLevel }).toBuffer();
}

/**
 * Writes a uint8 image `[C, H, W]` (C = 1, 3 or 4) to `path` as PNG, as
 * `torchvision.io.write_png`; the write is atomic (a temporary file renamed over `path`).
 *
 * @example
 * await viz.writePng(await viz.overlaySegmentation(image, classMap), 'overlay.png');
 */
export async function writePng(image: Tensor, path: string, opts: WritePngOptions = {}): Promise<void> {
  if (typeof path !== 'string' || path === '') throw new ArgumentError(`writePng: expected path to be a file path, got ${describe(path)}`);
  await writeFileAtomic(path, [await encodeImagePng(image, opts, 'writePng')]);
}
