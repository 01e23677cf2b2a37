/**
 * Segmentation masks from image files to class ids `[H, W]`: indexed (palette) PNGs, as
 * Pascal VOC's SegmentationClass, give their palette indices; grayscale images (8- or
 * 16-bit) give their values.
 * @module
 */
import { readFile } from 'node:fs/promises';

import { FormatError } from '../errors.js';
import { loadSharp } from './decode_image.js';

/** A decoded mask: one int32 class id per pixel, row-major `[H, W]`. */
export interface DecodedMask {
  data: Int32Array;
  shape: [number, number];
}

/** An RGB colour, one byte per channel. */
export type RgbColor = readonly [r: number, g: number, b: number];

/**
 * Pascal VOC's colour map, as the devkit's `labelcolormap`: index i's colour spreads the bits
 * of i over the three channels, most significant first (0 black, 1 #800000, 2 #008000, ...,
 * 255 #e0e0c0, the "void" border colour). The palette of VOC's SegmentationClass PNGs and the
 * default colours of `viz.overlaySegmentation`.
 */
export function vocPalette(count = 256): RgbColor[] {
  return Array.from({ length: count }, (_, index) => {
    let [r, g, b, bits] = [0, 0, 0, index];
    for (let j = 0; j < 8; ++j) {
      r |= (bits & 1) << (7 - j);
      g |= ((bits >> 1) & 1) << (7 - j);
      b |= ((bits >> 2) & 1) << (7 - j);
      bits >>= 3;
    }
    return [r, g, b] as const;
  });
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * The palette (PLTE chunk) of an indexed PNG, as packed 0xRRGGBB per index; null for other
 * files. Only chunk headers are read: sharp decodes the pixels (to RGB, which
 * {@link decodeMask} maps back to indices).
 */
export function pngPalette(bytes: Uint8Array): number[] | null {
  if (bytes.length < 8 || !PNG_SIGNATURE.equals(bytes.subarray(0, 8))) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let colourType = -1;
  for (let at = 8; at + 8 <= bytes.length; ) {
    const length = view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    const body = at + 8;
    if (body + length > bytes.length || type === 'IDAT' || type === 'IEND') return null;
    if (type === 'IHDR' && length >= 13) colourType = bytes[body + 9]!;
    // Colour type 3 is indexed; a PLTE in a truecolour PNG is only a display hint.
    if (type === 'PLTE') return colourType === 3 && length % 3 === 0 ? Array.from({ length: length / 3 }, (_, i) => (bytes[body + 3 * i]! << 16) | (bytes[body + 3 * i + 1]! << 8) | bytes[body + 3 * i + 2]!) : null;
    at = body + length + 4; // + CRC
  }
  return null;
}

/**
 * Decodes the mask image at `path` to class ids. An indexed PNG maps each pixel's colour
 * back to its palette index (a palette that repeats a colour used in the image is a
 * FormatError: the index would be ambiguous); a 16-bit grayscale PNG gives its 16-bit
 * values (Cityscapes-style instance ids); any other image is read as one 8-bit grayscale
 * channel. `size` resizes with nearest neighbour (ids are not blended).
 * An undecodable file is a FormatError naming it.
 */
export async function decodeMask(path: string, options: { size?: readonly [number, number] } = {}, caller = 'decodeMask'): Promise<DecodedMask> {
  const sharp = await loadSharp();
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (cause) {
    throw new FormatError(`${caller}: cannot read ${path}: ${(cause as Error).message}`);
  }
  const palette = pngPalette(bytes);
  let raw: { data: Buffer; info: { width: number; height: number; channels: number } };
  try {
    // 16-bit sources are read as 16 bits (Cityscapes-style instance ids): sharp's default 8-bit output would truncate them.
    const wide = !palette && (await sharp(bytes).metadata()).depth === 'ushort';
    let pipeline = sharp(bytes).removeAlpha();
    if (options.size) pipeline = pipeline.resize(options.size[1], options.size[0], { fit: 'fill', kernel: 'nearest' });
    if (!palette) pipeline = pipeline.toColourspace(wide ? 'grey16' : 'b-w');
    raw = await pipeline.raw(wide ? { depth: 'ushort' } : {}).toBuffer({ resolveWithObject: true });
  } catch (cause) {
    throw new FormatError(`${caller}: cannot decode ${path}: ${(cause as Error).message}`);
  }
  const { width, height, channels } = raw.info;
  const count = width * height;
  const data = new Int32Array(count);
  if (palette) {
    if (channels !== 3) throw new FormatError(`${caller}: ${path} is an indexed PNG that decoded to ${channels} channels, expected 3`);
    const indexOf = new Map<number, number>();
    const repeated = new Set<number>();
    palette.forEach((rgb, i) => (indexOf.has(rgb) ? repeated.add(rgb) : indexOf.set(rgb, i)));
    for (let p = 0; p < count; ++p) {
      const rgb = (raw.data[3 * p]! << 16) | (raw.data[3 * p + 1]! << 8) | raw.data[3 * p + 2]!;
      const id = indexOf.get(rgb);
      if (id === undefined || repeated.has(rgb)) {
        const why = id === undefined ? 'is not in its palette' : 'appears more than once in its palette';
        throw new FormatError(`${caller}: ${path}: the colour #${rgb.toString(16).padStart(6, '0')} at pixel (${Math.floor(p / width)}, ${p % width}) ${why}`);
      }
      data[p] = id;
    }
  } else {
    if (channels !== 1) throw new FormatError(`${caller}: ${path} decoded to ${channels} channels, expected 1`);
    const wide = raw.data.length === 2 * count;
    const bytes16 = wide && raw.data.byteOffset % 2 !== 0 ? Buffer.from(raw.data) : raw.data; // Uint16Array views need alignment
    const source = wide ? new Uint16Array(bytes16.buffer, bytes16.byteOffset, count) : raw.data;
    for (let p = 0; p < count; ++p) data[p] = source[p]!;
  }
  return { data, shape: [height, width] };
}
