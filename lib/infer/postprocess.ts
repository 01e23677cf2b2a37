/**
 * The last stage of an inference pipeline: a model's output to what a caller wants — the top
 * classes with their probabilities and labels, or a segmentation's label map at the input
 * image's size, or a detector's objects (decoded and NMS'd by the detector itself) in the
 * original image's pixels.
 * @module
 */
import { noGrad } from '../autograd/grad_mode.js';
import { ArgumentError, ShapeError } from '../errors.js';
import { softmax } from '../ops/softmax.js';
import { topk } from '../ops/sort.js';
import { checkTensor } from '../ops/validate.js';
import { scope } from '../tensor/memory.js';
import { Tensor } from '../tensor/tensor.js';
import { labelMap, thresholdMask } from '../vision/segmentation_outputs.js';
import type { Detection } from '../tensor/detection_records.js';
import type { PreparedImage } from './preprocess.js';

/** One of the top classes of a classifier's output. */
export interface ClassPrediction {
  /** The class index. */
  index: number;
  /** Its probability (softmax of the logits), or the raw score with `softmax: false`. */
  score: number;
  /** Its name, when `labels` were given. */
  label?: string;
}

/** Options of {@link topClasses}. */
export interface TopClassesOptions {
  /** How many classes per row (default 5; fewer when there are fewer classes). */
  k?: number;
  /** Class names by index; their count must equal the number of classes. */
  labels?: readonly string[];
  /** Turn logits into probabilities first (default true). */
  softmax?: boolean;
}

/**
 * The `k` highest-scoring classes of each row of `logits` (`[N, C]`, or one row `[C]`),
 * best first, with probabilities (softmax) and labels. Reads back only `N × k` values.
 *
 * @example
 * const [best] = await topClasses(model.call(x), { k: 3, labels }); // [{ index: 207, score: 0.91, label: 'golden retriever' }, ...]
 */
export async function topClasses(logits: Tensor, opts: TopClassesOptions = {}): Promise<ClassPrediction[][]> {
  const op = 'topClasses';
  checkTensor(op, 'logits', logits);
  if (logits.ndim !== 1 && logits.ndim !== 2) throw new ShapeError(`${op}: expected logits [N, C] or [C], got [${logits.shape.join(', ')}]`);
  const classes = logits.shape[logits.ndim - 1]!;
  const k = Math.min(opts.k ?? 5, classes);
  if (!(Number.isInteger(opts.k ?? 5) && k > 0)) throw new ArgumentError(`${op}: k must be a positive integer, got ${String(opts.k)}`);
  if (opts.labels !== undefined && opts.labels.length !== classes) {
    throw new ArgumentError(`${op}: labels holds ${opts.labels.length} names for ${classes} classes`);
  }
  const { values, indices } = noGrad(() =>
    scope(() => {
      const rows = logits.ndim === 1 ? logits.unsqueeze(0) : logits;
      return topk(opts.softmax ?? true ? softmax(rows, 1) : rows.to('float32'), k, 1);
    }),
  );
  try {
    const [scores, classIndices] = await Promise.all([values.data(), indices.data()]);
    return Array.from({ length: values.shape[0]! }, (_, row) =>
      Array.from({ length: k }, (_, j) => {
        const index = Number(classIndices[row * k + j]);
        const score = Number(scores[row * k + j]);
        return opts.labels ? { index, score, label: opts.labels[index]! } : { index, score };
      }),
    );
  } finally {
    values.dispose();
    indices.dispose();
  }
}

/**
 * A pipeline's classification stage: one sample's logits `[C]` to its top classes.
 *
 * @example
 * const classifier = new Pipeline(session, { preprocess: imageClassificationPreset(), postprocess: classificationPostprocess({ k: 5, labels }) });
 */
export function classificationPostprocess(opts: TopClassesOptions = {}): (logits: Tensor) => Promise<ClassPrediction[]> {
  return async (logits) => (await topClasses(logits, opts))[0]!;
}

/** Options of {@link segmentationPostprocess}. */
export interface SegmentationPostprocessOptions {
  /** The output to read when the model returns a record (default 'out', torchvision's segmentation models). */
  output?: string;
  /** One-channel outputs (logits) are foreground where sigmoid reaches it (default 0.5). */
  threshold?: number;
}

/**
 * A pipeline's segmentation stage: one sample's scores `[C, h, w]` (or a record holding them
 * under `output`) resized bilinearly to the input image's size, then the label map (argmax
 * over C >= 2 classes) or, for one channel of logits, the 0/1 mask at `threshold`: int32
 * `[H, W]` at the image's original size.
 *
 * @example
 * const segmenter = new Pipeline(session, { preprocess: semanticSegmentationPreset(), postprocess: segmentationPostprocess() });
 * const labels = await segmenter.predict('street.jpg');    // int32 [H, W], the file's size
 */
export function segmentationPostprocess(
  opts: SegmentationPostprocessOptions = {},
): (output: Tensor | Readonly<Record<string, Tensor>>, prepared: PreparedImage) => Tensor<'int32'> {
  const op = 'segmentationPostprocess';
  const key = opts.output ?? 'out';
  return (output, prepared) => {
    const scores = output instanceof Tensor ? output : output[key];
    if (!(scores instanceof Tensor)) throw new ArgumentError(`${op}: the model's output has no tensor '${key}' (set options.output)`);
    if (scores.ndim !== 3) throw new ShapeError(`${op}: expected one sample's scores [C, H, W], got [${scores.shape.join(', ')}]`);
    const size = prepared.originalSize;
    return noGrad(() =>
      scope(() => {
        const batch = scores.unsqueeze(0);
        const labels = scores.shape[0] === 1 ? thresholdMask(batch, { size, logits: true, threshold: opts.threshold ?? 0.5 }).to('int32').squeeze(1) : labelMap(batch, { size });
        return labels.squeeze(0);
      }),
    );
  };
}

/** One detected object, in the input image's pixels. */
export interface DetectedObject {
  /** `[x1, y1, x2, y2]` in the original image's pixels. */
  box: [number, number, number, number];
  /** The class index (>= 1; 0 is the background). */
  label: number;
  /** Its name, when `labels` were given. */
  name?: string;
  score: number;
}

/** Options of {@link detectionPostprocess}. */
export interface DetectionPostprocessOptions {
  /** Detections scoring below it are dropped (default 0.5). */
  scoreThreshold?: number;
  /** Class names by label (index 0: the background). */
  labels?: readonly string[];
}

/**
 * A pipeline's detection stage: one image's {@link Detection} (decoded and NMS'd by the
 * detector) to the objects scoring at least `scoreThreshold`, best first, their boxes scaled
 * from the model's input (`prepared.tensor`, [C, h, w]) back to the original image.
 *
 * @example
 * const detector = new Pipeline(session, { preprocess: detectionPreset({ size: [320, 320] }), postprocess: detectionPostprocess({ labels }) });
 * const objects = await detector.predict('street.jpg'); // [{ box: [x1, y1, x2, y2], label: 3, name: 'car', score: 0.93 }, ...]
 */
export function detectionPostprocess(opts: DetectionPostprocessOptions = {}): (detection: Detection, prepared: PreparedImage) => Promise<DetectedObject[]> {
  const threshold = opts.scoreThreshold ?? 0.5;
  if (!(threshold >= 0 && threshold <= 1)) throw new ArgumentError(`detectionPostprocess: scoreThreshold must be in [0, 1], got ${String(threshold)}`);
  return async (detection, prepared) => {
    const [boxes, labels, scores] = await Promise.all([detection.boxes.data(), detection.labels.data(), detection.scores.data()]);
    const [height, width] = prepared.tensor.shape.slice(-2) as [number, number];
    const sy = prepared.originalSize[0] / height;
    const sx = prepared.originalSize[1] / width;
    const objects: DetectedObject[] = [];
    for (let i = 0; i < scores.length; ++i) {
      const score = Number(scores[i]);
      if (score < threshold) continue;
      const label = Number(labels[i]);
      const box: DetectedObject['box'] = [Number(boxes[4 * i]) * sx, Number(boxes[4 * i + 1]) * sy, Number(boxes[4 * i + 2]) * sx, Number(boxes[4 * i + 3]) * sy];
      objects.push(opts.labels?.[label] !== undefined ? { box, label, name: opts.labels[label]!, score } : { box, label, score });
    }
    return objects.sort((a, b) => b.score - a.score);
  };
}
