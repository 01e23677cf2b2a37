/**
 * Multi-page TIFF stacks (microscopy and medical volumes, e.g. ISBI's EM stacks) to tensors
 * `[D, H, W]` and back, through sharp (libvips), values kept exactly: no colourspace
 * conversion, no scaling, no 8-bit cast.
 * @module
 */
import { readFile } from 'node:fs/promises';

import { ArgumentError, DTypeError, FormatError, ShapeError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic_write.js';
import { fromTypedArray } from '../tensor/creation.js';
import { describe } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { loadSharp } from './decode_image.js';

/** Options of {@link readTiffVolume}. */
export interface ReadTiffVolumeOptions {
  /** First page (slice) to read, 0-based (default 0). */
  page?: number;
  /** Pages to read from `page` on (default: all the rest). */
  pages?: number;
  /**
   * Most voxels (pixels × pages) to decode, a guard against a header that declares a huge
   * image: a larger volume is a FormatError before anything is decoded (default 268402689,
   * sharp's limit, 0x3FFF²).
   */
  limitInputPixels?: number;
}

/** libvips band formats neocog holds exactly, and the dtype each becomes. */
const DTYPE_OF_DEPTH = { uchar: 'uint8', char: 'int32', ushort: 'int32', short: 'int32', int: 'int32', float: 'float32' } as const;
type ExactDepth = keyof typeof DTYPE_OF_DEPTH;

/** How each band format's raw bytes are viewed. */
const ARRAY_OF_DEPTH = { uchar: Uint8Array, char: Int8Array, ushort: Uint16Array, short: Int16Array, int: Int32Array, float: Float32Array } as const;

/**
 * Reads a multi-page TIFF (a file path or its bytes) as a volume: `[D, H, W]` for one
 * channel per pixel, `[D, C, H, W]` for several (RGB, grey + alpha). Values are kept exactly:
 * 8-bit pages give uint8, 16-bit (unsigned or signed), 8-bit signed and 32-bit integer pages
 * give int32 (neocog has no uint16), 32-bit float pages give float32 (NaN and infinities
 * included); 1-bit pages give uint8 0/1. Every page must have the first page's size, format
 * and channels (libvips reads stacks of equal pages only). Uncompressed, LZW, deflate and
 * PackBits files all read; a single-page TIFF is a volume of depth 1.
 *
 * A file that cannot be read, is not a TIFF sharp can decode (truncated, corrupt, pages that
 * differ), declares more than `limitInputPixels` voxels, or holds values neocog cannot hold
 * exactly (uint32, float64, complex) is a FormatError naming the file.
 *
 * @example
 * const volume = await data.readTiffVolume('isbi/train-volume.tif'); // uint8 [30, 512, 512]
 * const labels = await data.readTiffVolume('isbi/train-labels.tif');
 */
export async function readTiffVolume(source: string | Uint8Array, opts: ReadTiffVolumeOptions = {}): Promise<Tensor> {
  const op = 'readTiffVolume';
  const name = typeof source === 'string' ? source : source instanceof Uint8Array ? `a buffer of ${source.length} bytes` : null;
  if (name === null) throw new ArgumentError(`${op}: expected a file path or a Uint8Array of TIFF bytes, got ${describe(source)}`);
  const first = opts.page ?? 0;
  if (!Number.isInteger(first) || first < 0) throw new ArgumentError(`${op}: expected page to be a non-negative integer, got ${describe(first)}`);
  if (opts.pages !== undefined && !(Number.isInteger(opts.pages) && opts.pages > 0)) throw new ArgumentError(`${op}: expected pages to be a positive integer, got ${describe(opts.pages)}`);
  const limit = opts.limitInputPixels ?? 0x3fff * 0x3fff;
  if (!Number.isInteger(limit) || limit <= 0) throw new ArgumentError(`${op}: expected limitInputPixels to be a positive integer, got ${describe(limit)}`);
  const sharp = await loadSharp();
  let bytes: Uint8Array;
  try {
    bytes = typeof source === 'string' ? await readFile(source) : source;
  } catch (cause) {
    throw new FormatError(`${op}: cannot read ${name}: ${(cause as Error).message}`);
  }

  let metadata: Awaited<ReturnType<ReturnType<typeof sharp>['metadata']>>;
  try {
    metadata = await sharp(bytes, { limitInputPixels: limit }).metadata();
  } catch (cause) {
    throw new FormatError(`${op}: cannot decode ${name}: ${(cause as Error).message}`);
  }
  const { format, width, height, channels, depth, space } = metadata;
  if (format !== 'tiff') throw new FormatError(`${op}: ${name} is ${format === undefined ? 'not an image sharp knows' : `a ${format} image`}, expected a TIFF`);
  if (!width || !height || !channels || !depth || !space) throw new FormatError(`${op}: ${name} has an incomplete TIFF header (width ${width}, height ${height}, channels ${channels}, format ${depth})`);
  if (!(depth in DTYPE_OF_DEPTH)) throw new FormatError(`${op}: ${name} holds ${depth} values, which neocog cannot hold exactly (it reads uchar, char, ushort, short, int and float)`);
  const total = metadata.pages ?? 1;
  if (first >= total) throw new ArgumentError(`${op}: page ${first} is out of range: ${name} has ${total} page${total === 1 ? '' : 's'}`);
  const count = opts.pages ?? total - first;
  if (first + count > total) throw new ArgumentError(`${op}: pages ${first}..${first + count - 1} are out of range: ${name} has ${total} pages`);
  if (width * height * count > limit) throw new FormatError(`${op}: ${name} declares ${count} pages of ${width}×${height} pixels, more than limitInputPixels (${limit})`);

  let raw: { data: Buffer; info: { width: number; height: number; channels: number } };
  try {
    // The pipeline works in the file's own colourspace and writes it out as it is: any
    // conversion (grey to sRGB, 16 bits to 8) would change values.
    raw = await sharp(bytes, { page: first, pages: count, limitInputPixels: limit })
      .pipelineColourspace(space)
      .toColourspace(space)
      .raw({ depth: depth as ExactDepth })
      .toBuffer({ resolveWithObject: true });
  } catch (cause) {
    throw new FormatError(`${op}: cannot decode ${name}: ${(cause as Error).message}`);
  }
  const exactDepth = depth as ExactDepth;
  const ArrayType = ARRAY_OF_DEPTH[exactDepth];
  const voxels = count * height * width * channels;
  if (raw.info.width !== width || raw.info.height !== height * count || raw.info.channels !== channels || raw.data.length !== voxels * ArrayType.BYTES_PER_ELEMENT) {
    throw new FormatError(`${op}: ${name} decoded to ${raw.info.width}×${raw.info.height}×${raw.info.channels} (${raw.data.length} bytes), expected ${count} pages of ${width}×${height}×${channels} ${depth}`);
  }
  // Typed-array views need alignment; sharp's buffer may start anywhere.
  const aligned = raw.data.byteOffset % ArrayType.BYTES_PER_ELEMENT === 0 ? raw.data : Buffer.from(raw.data);
  const values = new ArrayType(aligned.buffer as ArrayBuffer, aligned.byteOffset, voxels);
  const dtype = DTYPE_OF_DEPTH[exactDepth];
  const out = dtype === 'uint8' ? new Uint8Array(voxels) : dtype === 'int32' ? new Int32Array(voxels) : new Float32Array(voxels);
  // libvips widens 1-bit pages to 0/255; a 1-bit page is a mask, so give it back as 0/1.
  const divisor = metadata.bitsPerSample === 1 ? 255 : 1;
  // Interleaved [D, H, W, C] to planar [D, C, H, W].
  const plane = height * width;
  for (let d = 0; d < count; ++d) {
    const base = d * plane * channels;
    for (let p = 0; p < plane; ++p) for (let c = 0; c < channels; ++c) out[base + c * plane + p] = values[base + p * channels + c]! / divisor;
  }
  return fromTypedArray(out, channels === 1 ? [count, height, width] : [count, channels, height, width]);
}

/** Options of {@link encodeTiffVolume} and {@link writeTiffVolume}. */
export interface WriteTiffVolumeOptions {
  /** 'deflate' (the default), 'lzw' or 'none': all lossless. */
  compression?: 'deflate' | 'lzw' | 'none';
}

/**
 * Encodes a volume as a multi-page TIFF, one page per slice: uint8 `[D, H, W]` as 8-bit
 * grey pages, int32 `[D, H, W]` with values in 0..65535 as 16-bit grey pages, and
 * `[D, 3, H, W]` (uint8 or int32) as RGB pages; {@link readTiffVolume} reads it back
 * exactly, as do PIL and tifffile. float32 volumes are refused with a DTypeError: sharp
 * writes raw float pages as 8-bit. Async: sharp encodes off the main thread.
 *
 * @example
 * const tiff = await data.encodeTiffVolume(labels.int(), { compression: 'lzw' });
 */
export async function encodeTiffVolume(volume: Tensor, opts: WriteTiffVolumeOptions = {}, op = 'encodeTiffVolume'): Promise<Buffer> {
  if (!(volume instanceof Tensor)) throw new ArgumentError(`${op}: expected volume to be a Tensor, got ${describe(volume)}`);
  if (volume.dtype !== 'uint8' && volume.dtype !== 'int32') {
    throw new DTypeError(`${op}: expected volume of dtype uint8 or int32 (16-bit pages), got ${volume.dtype}${volume.dtype === 'float32' ? ' (sharp writes raw float pages as 8-bit, so they would not read back exactly)' : ''}`);
  }
  const channels = volume.ndim === 4 ? volume.shape[1]! : 1;
  if ((volume.ndim !== 3 && volume.ndim !== 4) || (channels !== 1 && channels !== 3) || volume.shape.some((s) => s === 0)) {
    throw new ShapeError(`${op}: expected volume of shape [D, H, W] or [D, C, H, W] with C 1 or 3 and no empty dimension, got [${volume.shape.join(', ')}]`);
  }
  const compression = opts.compression ?? 'deflate';
  if (compression !== 'deflate' && compression !== 'lzw' && compression !== 'none') throw new ArgumentError(`${op}: expected compression 'deflate', 'lzw' or 'none', got ${describe(compression)}`);
  const [depth] = volume.shape as [number];
  const [height, width] = volume.shape.slice(-2) as [number, number];
  const planar = await volume.data();
  const wide = volume.dtype === 'int32';
  const voxels = planar.length;
  const interleaved = wide ? new Uint16Array(voxels) : new Uint8Array(voxels);
  const plane = height * width;
  for (let d = 0; d < depth; ++d) {
    const base = d * plane * channels;
    for (let c = 0; c < channels; ++c) {
      for (let p = 0; p < plane; ++p) {
        const v = planar[base + c * plane + p]!;
        if (wide && !(v >= 0 && v <= 65535)) {
          const at = channels === 1 ? `[${d}, ${Math.floor(p / width)}, ${p % width}]` : `[${d}, ${c}, ${Math.floor(p / width)}, ${p % width}]`;
          throw new ArgumentError(`${op}: an int32 volume is written as 16-bit pages, so its values must be in 0..65535, got ${v} at ${at}`);
        }
        interleaved[base + p * channels + c] = v;
      }
    }
  }
  // The pages stacked as one tall image ("toilet roll") with pageHeight, which libvips
  // writes as one TIFF directory per page; the colourspace set on both ends keeps sharp from
  // converting grey to sRGB or 16 bits to 8.
  const space = channels === 1 ? (wide ? 'grey16' : 'b-w') : wide ? 'rgb16' : 'srgb';
  const sharp = await loadSharp();
  return sharp(interleaved, { raw: { width, height: height * depth, channels: channels as 1 | 3, pageHeight: height } })
    .pipelineColourspace(space)
    .toColourspace(space)
    .tiff({ compression })
    .toBuffer();
}

/**
 * Writes a volume to `path` as a multi-page TIFF (see {@link encodeTiffVolume} for the
 * dtypes and shapes); the write is atomic (a temporary file renamed over `path`).
 *
 * @example
 * await data.writeTiffVolume(prediction.argmax(1).int(), 'pred.tif');
 */
export async function writeTiffVolume(volume: Tensor, path: string, opts: WriteTiffVolumeOptions = {}): Promise<void> {
  if (typeof path !== 'string' || path === '') throw new ArgumentError(`writeTiffVolume: expected path to be a file path, got ${describe(path)}`);
  await writeFileAtomic(path, [await encodeTiffVolume(volume, opts, 'writeTiffVolume')]);
}
