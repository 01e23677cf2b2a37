/**
 * The first stage of an inference pipeline: an image file (a path or an upload's bytes) to
 * the model's input, decoded, resized and cropped by sharp and normalised, as torchvision's
 * weight presets (`ImageClassification`, `SemanticSegmentation`) prepare images.
 * @module
 */
import { decodeImage, type DecodeImageOptions } from '../data/decode_image.js';
import { ArgumentError } from '../errors.js';
import { tensor } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';

/** ImageNet's per-channel mean, which torchvision's pretrained weights expect. */
export const IMAGENET_MEAN: readonly number[] = [0.485, 0.456, 0.406];
/** ImageNet's per-channel standard deviation. */
export const IMAGENET_STD: readonly number[] = [0.229, 0.224, 0.225];

/** An image prepared for the model, and what the postprocessing stage needs to map results back. */
export interface PreparedImage {
  /** The model's input `[C, H, W]` (no batch dimension). */
  tensor: Tensor<'float32'>;
  /** The file's `[H, W]`, to resize outputs back to. */
  originalSize: [number, number];
}

/** What turns an image file into a {@link PreparedImage}. */
export type ImagePreprocess = (image: string | Uint8Array) => Promise<PreparedImage>;

/** Normalisation and decoding shared by the presets. */
export interface ImagePresetOptions {
  /** Per-channel mean subtracted after scaling to [0, 1] (default ImageNet's). */
  mean?: readonly number[];
  /** Per-channel standard deviation divided by (default ImageNet's). */
  std?: readonly number[];
  /** Resampling (default 'bilinear', as torchvision's presets). */
  interpolation?: DecodeImageOptions['interpolation'];
  /** 3 (RGB, default) or 1 (grayscale). */
  channels?: 1 | 3;
}

/** Options of {@link imageClassificationPreset}. */
export interface ImageClassificationPresetOptions extends ImagePresetOptions {
  /** The shorter side is resized to it first (default 256). */
  resizeSize?: number;
  /** The square cut from the center (default 224). */
  cropSize?: number;
}

/** Options of {@link semanticSegmentationPreset}. */
export interface SemanticSegmentationPresetOptions extends ImagePresetOptions {
  /** The shorter side is resized to it (default 520, torchvision's segmentation weights). */
  resizeSize?: number;
}

function sideLength(op: string, name: string, value: number): number {
  if (!(Number.isInteger(value) && value > 0)) throw new ArgumentError(`${op}: ${name} must be a positive integer, got ${String(value)}`);
  return value;
}

function preset(op: string, opts: ImagePresetOptions, geometry: Pick<DecodeImageOptions, 'size' | 'centerCrop'>): ImagePreprocess {
  const channels = opts.channels ?? 3;
  const mean = opts.mean ?? IMAGENET_MEAN;
  const std = opts.std ?? IMAGENET_STD;
  if (channels !== 1 && channels !== 3) throw new ArgumentError(`${op}: channels must be 1 or 3, got ${String(channels)}`);
  if (mean.length !== channels || !mean.every(Number.isFinite)) throw new ArgumentError(`${op}: mean must hold ${channels} finite numbers, got ${JSON.stringify(mean)}`);
  if (std.length !== channels || !std.every((s) => s > 0 && Number.isFinite(s))) throw new ArgumentError(`${op}: std must hold ${channels} positive numbers, got ${JSON.stringify(std)}`);
  const decodeOptions = { ...geometry, channels, interpolation: opts.interpolation ?? 'bilinear', dtype: 'float32' } as const;
  return async (image) => {
    const { data, shape, originalSize } = await decodeImage(image, decodeOptions, op);
    const plane = shape[1] * shape[2];
    for (let c = 0; c < channels; ++c) {
      const m = mean[c]!;
      const s = std[c]!;
      for (let i = c * plane; i < (c + 1) * plane; ++i) data[i] = (data[i]! - m) / s;
    }
    return { tensor: tensor(data, { shape }), originalSize };
  };
}

/** Options of {@link detectionPreset}. */
export interface DetectionPresetOptions {
  /** `[H, W]` every image is resized to (stretched), so that requests batch together. */
  size: readonly [number, number];
  /** Resampling (default 'bilinear'). */
  interpolation?: DecodeImageOptions['interpolation'];
}

/**
 * The input of torchvision-style detectors: RGB in [0, 1], not normalised (the detectors
 * normalise and resize inside, as GeneralizedRCNNTransform does), stretched to one `size` so
 * that requests batch together; `originalSize` maps the boxes back ({@link detectionPostprocess}).
 *
 * @example
 * const prepare = detectionPreset({ size: [320, 320] });
 * const { tensor, originalSize } = await prepare('street.jpg'); // [3, 320, 320], [H, W] of the file
 */
export function detectionPreset(opts: DetectionPresetOptions): ImagePreprocess {
  const op = 'detectionPreset';
  if (!Array.isArray(opts?.size) || opts.size.length !== 2) throw new ArgumentError(`${op}: size must be [H, W], got ${JSON.stringify(opts?.size)}`);
  const size: [number, number] = [sideLength(op, 'size[0]', opts.size[0]), sideLength(op, 'size[1]', opts.size[1])];
  const decodeOptions = { size, channels: 3, interpolation: opts.interpolation ?? 'bilinear', dtype: 'float32' } as const;
  return async (image) => {
    const { data, shape, originalSize } = await decodeImage(image, decodeOptions, op);
    return { tensor: tensor(data, { shape }), originalSize };
  };
}

/**
 * torchvision's `ImageClassification` preset: the shorter side resized to `resizeSize`
 * (bilinear), a `cropSize` square cut from the center, scaled to [0, 1] and normalised.
 *
 * @example
 * const prepare = imageClassificationPreset();            // resnet18's weights: 256, 224, ImageNet stats
 * const { tensor } = await prepare('cat.jpg');            // [3, 224, 224]
 */
export function imageClassificationPreset(opts: ImageClassificationPresetOptions = {}): ImagePreprocess {
  const op = 'imageClassificationPreset';
  const cropSize = sideLength(op, 'cropSize', opts.cropSize ?? 224);
  return preset(op, opts, { size: sideLength(op, 'resizeSize', opts.resizeSize ?? 256), centerCrop: [cropSize, cropSize] });
}

/**
 * torchvision's `SemanticSegmentation` preset: the shorter side resized to `resizeSize`
 * (bilinear), scaled to [0, 1] and normalised; no crop, so outputs map back to the whole image.
 *
 * @example
 * const prepare = semanticSegmentationPreset({ resizeSize: 520 });
 * const { tensor, originalSize } = await prepare(uploadBytes);
 */
export function semanticSegmentationPreset(opts: SemanticSegmentationPresetOptions = {}): ImagePreprocess {
  const op = 'semanticSegmentationPreset';
  return preset(op, opts, { size: sideLength(op, 'resizeSize', opts.resizeSize ?? 520) });
}
