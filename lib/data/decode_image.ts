/**
 * Image files (PNG, JPEG, WebP, ...) to pixels `[C, H, W]`, float in [0, 1] or uint8,
 * decoded (and resized) by sharp (libvips). sharp is imported on first use, so `import 'neocog'` does
 * not pay for libvips unless images are decoded.
 * @module
 */
import { ArgumentError, FormatError, NeocogError } from '../errors.js';
import { centerOffset } from './geometry.js';

type SharpFactory = (typeof import('sharp'))['default'];

let sharpModule: Promise<SharpFactory> | undefined;

/**
 * Loads sharp once per thread. DataLoader workers that decode images need it loaded in the
 * main thread first: on glibc, libvips must stay loaded until every thread using it is gone.
 */
export function loadSharp(): Promise<SharpFactory> {
  sharpModule ??= import('sharp').then(
    (module) => module.default,
    (cause: unknown) => {
      sharpModule = undefined;
      throw new NeocogError(`decoding images needs the package sharp, which failed to load: ${(cause as Error).message}`);
    },
  );
  return sharpModule;
}

/** Options of {@link decodeImage}. */
export interface DecodeImageOptions {
  /**
   * `[H, W]` to resize to (stretching, as torchvision's `Resize([h, w])`), or one number: the
   * shorter side's length, the longer scaled to keep the aspect ratio and truncated, as
   * torchvision's `Resize(n)`. Default: the file's size.
   */
  size?: readonly [number, number] | number;
  /** Resampling of `size`: 'lanczos' (sharp's default, the default here), 'bilinear' (torchvision's presets), 'bicubic' or 'nearest'. */
  interpolation?: 'lanczos' | 'bilinear' | 'bicubic' | 'nearest';
  /**
   * `[H, W]` cut from the center after resizing, as torchvision's `CenterCrop`: offsets
   * rounded as Python's `round`, and an image smaller than the crop padded with zeros.
   */
  centerCrop?: readonly [number, number];
  /** 1 (grayscale) or 3 (RGB, the default); alpha is dropped. */
  channels?: 1 | 3;
  /**
   * 'float32' (the default): values in [0, 1], a 16-bit file's to 16 bits (v / 65535);
   * 'uint8': values 0..255, as torchvision's `read_image`, a 16-bit file's rounded to the
   * nearest 8-bit value (v / 257).
   */
  dtype?: 'float32' | 'uint8';
}

/** A decoded image, channels first: float32 values in [0, 1], or uint8 ones in 0..255. */
export interface DecodedImage<D extends 'float32' | 'uint8' = 'float32'> {
  /** `C * H * W` values, plane by plane. */
  data: D extends 'uint8' ? Uint8Array : Float32Array;
  /** `[C, H, W]`. */
  shape: [number, number, number];
  /** The file's `[H, W]` before any resizing or cropping. */
  originalSize: [number, number];
}

const KERNELS = { lanczos: 'lanczos3', bilinear: 'linear', bicubic: 'cubic', nearest: 'nearest' } as const;

/** `[H, W]` of a `size` option for an image of `height` × `width` (torchvision's `Resize` arithmetic). */
function resizedSize(size: readonly [number, number] | number, height: number, width: number): [number, number] {
  if (typeof size !== 'number') return [size[0], size[1]];
  return width <= height ? [Math.trunc((size * height) / width), size] : [size, Math.trunc((size * width) / height)];
}

const positiveIntegers = (v: unknown, length: number): boolean =>
  Array.isArray(v) && v.length === length && v.every((n) => Number.isInteger(n) && n > 0);


/**
 * Decodes an image file to uint8 pixels `[C, H, W]` (`dtype: 'uint8'`).
 *
 * @example
 * const { data, shape } = await decodeImage('cat.png', { dtype: 'uint8' }); // Uint8Array, [3, H, W]
 */
export function decodeImage(source: string | Uint8Array, options: DecodeImageOptions & { dtype: 'uint8' }, caller?: string): Promise<DecodedImage<'uint8'>>;
/**
 * Decodes an image file (a path, or the file's bytes: an upload) to float32 pixels
 * `[C, H, W]` in [0, 1]; 16-bit files (PNG, TIFF) keep their 16 bits. An undecodable file
 * (truncated, empty, not an image) is a `FormatError` naming it.
 *
 * @example
 * const { data, shape } = await decodeImage('cat.png', { size: [224, 224] }); // Float32Array, [3, 224, 224]
 */
export function decodeImage(source: string | Uint8Array, options?: DecodeImageOptions & { dtype?: 'float32' }, caller?: string): Promise<DecodedImage<'float32'>>;
export async function decodeImage(
  input: string | Uint8Array,
  options: DecodeImageOptions = {},
  caller = 'decodeImage',
): Promise<DecodedImage<'float32'> | DecodedImage<'uint8'>> {
  const sharp = await loadSharp();
  const path = typeof input === 'string' ? input : `the ${input.byteLength}-byte image`;
  const channels = options.channels ?? 3;
  const dtype = options.dtype ?? 'float32';
  const interpolation = options.interpolation ?? 'lanczos';
  if (dtype !== 'float32' && dtype !== 'uint8') throw new ArgumentError(`${caller}: expected dtype 'float32' or 'uint8', got ${JSON.stringify(dtype)}`);
  if (!Object.hasOwn(KERNELS, interpolation)) throw new ArgumentError(`${caller}: expected interpolation 'lanczos', 'bilinear', 'bicubic' or 'nearest', got ${JSON.stringify(interpolation)}`);
  const { size } = options;
  if (size !== undefined && !(typeof size === 'number' ? positiveIntegers([size], 1) : positiveIntegers(size, 2))) {
    throw new ArgumentError(`${caller}: expected size to be [H, W] or one number, positive integers, got ${JSON.stringify(options.size)}`);
  }
  if (options.centerCrop !== undefined && !positiveIntegers(options.centerCrop, 2)) {
    throw new ArgumentError(`${caller}: expected centerCrop to be [H, W], positive integers, got ${JSON.stringify(options.centerCrop)}`);
  }
  let raw: { data: Buffer; info: { width: number; height: number; channels: number; depth?: string } };
  let originalSize: [number, number];
  try {
    // 16-bit sources are read as 16 bits: sharp's 'srgb' / 'b-w' output would truncate them to 8 (v >> 8).
    const metadata = await sharp(input).metadata();
    const wide = metadata.depth === 'ushort';
    originalSize = [metadata.height ?? 0, metadata.width ?? 0];
    let pipeline = sharp(input).removeAlpha();
    if (options.size !== undefined) {
      const [h, w] = resizedSize(options.size, originalSize[0], originalSize[1]);
      pipeline = pipeline.resize(w, h, { fit: 'fill', kernel: KERNELS[interpolation] });
    }
    const space = channels === 1 ? (wide ? 'grey16' : 'b-w') : wide ? 'rgb16' : 'srgb';
    raw = await pipeline
      .toColourspace(space)
      .raw(wide ? { depth: 'ushort' } : {})
      .toBuffer({ resolveWithObject: true });
  } catch (cause) {
    throw new FormatError(`${caller}: cannot decode ${path}: ${(cause as Error).message}`);
  }
  const { width, height } = raw.info;
  if (raw.info.channels !== channels) throw new FormatError(`${caller}: ${path} decoded to ${raw.info.channels} channels, expected ${channels}`);
  const wide = raw.info.depth === 'ushort';
  const bytes = wide && raw.data.byteOffset % 2 !== 0 ? Buffer.from(raw.data) : raw.data; // Uint16Array views need alignment
  const source = wide ? new Uint16Array(bytes.buffer, bytes.byteOffset, width * height * channels) : raw.data;
  // The crop window in the resized image; rows and columns outside it (a crop larger than
  // the image) stay zero, as torchvision's CenterCrop pads.
  const [outH, outW] = options.centerCrop ?? [height, width];
  const [top, left] = centerOffset(height, width, [outH, outW]);
  // Interleaved HWC to planar CHW, scaled to the output's range.
  const count = outH * outW * channels;
  const data = dtype === 'uint8' ? new Uint8Array(count) : new Float32Array(count);
  const divisor = dtype === 'uint8' ? (wide ? 257 : 1) : wide ? 65535 : 255;
  const round = dtype === 'uint8' && wide;
  const plane = outH * outW;
  for (let y = Math.max(0, -top); y < Math.min(outH, height - top); ++y) {
    for (let x = Math.max(0, -left); x < Math.min(outW, width - left); ++x) {
      const p = ((y + top) * width + x + left) * channels;
      for (let c = 0; c < channels; ++c) {
        const v = source[p + c]! / divisor;
        data[c * plane + y * outW + x] = round ? Math.round(v) : v;
      }
    }
  }
  return { data, shape: [channels, outH, outW], originalSize } as DecodedImage<'float32'> | DecodedImage<'uint8'>;
}
