/**
 * The last stage of an inference pipeline: a model's output to what a caller wants — the top
 * classes with their probabilities and labels, or a segmentation's label map at the input
 * image's size. Detection models decode their boxes and run NMS themselves
 * (`models.detection`), returning boxes in the input image's coordinates.
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
