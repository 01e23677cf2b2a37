/**
 * Image files (PNG, JPEG, WebP, ...) to pixels `[C, H, W]`, float in [0, 1] or uint8,
 * decoded (and resized) by sharp (libvips). sharp is imported on first use, so `import 'neocog'` does
 * not pay for libvips unless images are decoded.
 * @module
 */
import { ArgumentError, FormatError, NeocogError } from '../errors.js';

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
  /** `[H, W]` to resize to (stretching, as torchvision's `Resize([h, w])`); default: the file's size. */
  size?: readonly [number, number];
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
}

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
  if (dtype !== 'float32' && dtype !== 'uint8') throw new ArgumentError(`${caller}: expected dtype 'float32' or 'uint8', got ${JSON.stringify(dtype)}`);
  let raw: { data: Buffer; info: { width: number; height: number; channels: number; depth?: string } };
  try {
    // 16-bit sources are read as 16 bits: sharp's 'srgb' / 'b-w' output would truncate them to 8 (v >> 8).
    const wide = (await sharp(input).metadata()).depth === 'ushort';
    let pipeline = sharp(input).removeAlpha();
    if (options.size) pipeline = pipeline.resize(options.size[1], options.size[0], { fit: 'fill' });
    const space = channels === 1 ? (wide ? 'grey16' : 'b-w') : wide ? 'rgb16' : 'srgb';
    raw = await pipeline
      .toColourspace(space)
      .raw(wide ? { depth: 'ushort' } : {})
      .toBuffer({ resolveWithObject: true });
  } catch (cause) {
    throw new FormatError(`${caller}: cannot decode ${path}: ${(cause as Error).message}`);
  }
  const { width, height } = raw.info;
  const count = width * height * channels;
  if (raw.info.channels !== channels) throw new FormatError(`${caller}: ${path} decoded to ${raw.info.channels} channels, expected ${channels}`);
  const wide = raw.info.depth === 'ushort';
  const bytes = wide && raw.data.byteOffset % 2 !== 0 ? Buffer.from(raw.data) : raw.data; // Uint16Array views need alignment
  const source = wide ? new Uint16Array(bytes.buffer, bytes.byteOffset, count) : raw.data;
  // Interleaved HWC to planar CHW, scaled to the output's range.
  const data = dtype === 'uint8' ? new Uint8Array(count) : new Float32Array(count);
  const divisor = dtype === 'uint8' ? (wide ? 257 : 1) : wide ? 65535 : 255;
  const round = dtype === 'uint8' && wide;
  const plane = width * height;
  for (let p = 0; p < plane; ++p) {
    for (let c = 0; c < channels; ++c) {
      const v = source[p * channels + c]! / divisor;
      data[c * plane + p] = round ? Math.round(v) : v;
    }
  }
  return { data, shape: [channels, height, width] } as DecodedImage<'float32'> | DecodedImage<'uint8'>;
}
