/**
 * Image files (PNG, JPEG, WebP, ...) to float pixels `[C, H, W]` in [0, 1], decoded (and
 * resized) by sharp (libvips). sharp is imported on first use, so `import 'neocog'` does
 * not pay for libvips unless images are decoded.
 * @module
 */
import { FormatError, NeocogError } from '../errors.js';

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
}

/** A decoded image: float32 values in [0, 1], channels first. */
export interface DecodedImage {
  data: Float32Array;
  shape: [number, number, number];
}

/** Decodes an image file; an undecodable file is a `FormatError` naming it. */
export async function decodeImage(path: string, options: DecodeImageOptions = {}, caller = 'decodeImage'): Promise<DecodedImage> {
  const sharp = await loadSharp();
  const channels = options.channels ?? 3;
  let raw: { data: Buffer; info: { width: number; height: number; channels: number } };
  try {
    let pipeline = sharp(path).removeAlpha();
    if (options.size) pipeline = pipeline.resize(options.size[1], options.size[0], { fit: 'fill' });
    raw = await pipeline
      .toColourspace(channels === 1 ? 'b-w' : 'srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch (cause) {
    throw new FormatError(`${caller}: cannot decode ${path}: ${(cause as Error).message}`);
  }
  const { width, height } = raw.info;
  const count = width * height * channels;
  if (raw.info.channels !== channels) throw new FormatError(`${caller}: ${path} decoded to ${raw.info.channels} channels, expected ${channels}`);
  // 16-bit sources (e.g. 48-bit PNG) stay 16-bit in sharp's raw output.
  const wide = raw.data.length === 2 * count;
  const bytes = wide && raw.data.byteOffset % 2 !== 0 ? Buffer.from(raw.data) : raw.data; // Uint16Array views need alignment
  const source = wide ? new Uint16Array(bytes.buffer, bytes.byteOffset, count) : raw.data;
  const scale = wide ? 65535 : 255;
  // Interleaved HWC to planar CHW.
  const data = new Float32Array(count);
  const plane = width * height;
  for (let p = 0; p < plane; ++p) {
    for (let c = 0; c < channels; ++c) data[c * plane + p] = source[p * channels + c]! / scale;
  }
  return { data, shape: [channels, height, width] };
}
