/**
 * COCO's box mAP, computed as pycocotools' COCOeval ('bbox') computes it, on the inputs
 * torchvision's detection models return and take, and collected over batches the way
 * torchmetrics' `MeanAveragePrecision` is (`update` per batch, `compute` at the end).
 *
 * The tensors are read to the host once, in `update` (through `data()`, never a blocking
 * read); matching and accumulation run there in float64, which is what makes the figures
 * pycocotools' to the last digit: its IoU is float64 from xywh boxes, and an IoU computed
 * in float32 (`boxIou`) can fall on the other side of a threshold. The work is
 * O(detections x objects) per image and class, and the ranking is one sort per class and
 * detection cap.
 * @module
 */
import { ArgumentError, ShapeError } from '../errors.js';
import { checkDTypeIn, checkTensor, FLOAT_DTYPES } from '../ops/validate.js';
import type { DType } from '../tensor/dtype.js';
import { describe } from '../tensor/shape.js';
import type { Detection, DetectionTarget } from '../tensor/detection_records.js';
import type { Tensor } from '../tensor/tensor.js';
import { coco101PrecisionSum, COCO_RECALL_THRESHOLDS } from './average_precision.js';

/**
 * One image's detections.
 * @deprecated Use {@link Detection} (the one detection record of models and metrics).
 */
export type DetectionPrediction = Detection;

/** One class's figures in {@link MeanAveragePrecisionResult.perClass}; -1 where the class has no ground truth. */
export interface ClassAveragePrecision {
  /** The class label. */
  label: number;
  /** AP averaged over IoU 0.50:0.05:0.95 (all areas, 100 detections). */
  map: number;
  /** AP at IoU 0.50. */
  map50: number;
  /** AP at IoU 0.75. */
  map75: number;
  /** Recall with 100 detections per image, averaged over IoU 0.50:0.05:0.95. */
  mar100: number;
}

/**
 * COCOeval's twelve summary figures (its `stats`, in order), plus per-class ones. Each is
 * the mean over the classes that have ground truth in its area range (non-crowd objects);
 * a figure no class contributes to is -1, as pycocotools' summarize() gives it.
 */
export interface MeanAveragePrecisionResult {
  /** AP averaged over IoU 0.50:0.05:0.95, all areas, 100 detections per image (stats[0]). */
  map: number;
  /** AP at IoU 0.50 (stats[1]). */
  map50: number;
  /** AP at IoU 0.75 (stats[2]). */
  map75: number;
  /** AP of small objects: area <= 32² (stats[3]). */
  mapSmall: number;
  /** AP of medium objects: 32² <= area <= 96² (stats[4]). */
  mapMedium: number;
  /** AP of large objects: area >= 96² (stats[5]). */
  mapLarge: number;
  /** Recall with 1 detection per image and class, averaged over IoU 0.50:0.05:0.95 (stats[6]). */
  mar1: number;
  /** Recall with 10 detections per image and class (stats[7]). */
  mar10: number;
  /** Recall with 100 detections per image and class (stats[8]). */
  mar100: number;
  /** Recall of small objects, 100 detections (stats[9]). */
  marSmall: number;
  /** Recall of medium objects (stats[10]). */
  marMedium: number;
  /** Recall of large objects (stats[11]). */
  marLarge: number;
  /** Every label in the predictions or the targets, ascending. */
  perClass: ClassAveragePrecision[];
  /** COCOeval.eval's precision, recall and score arrays, which the figures above average. */
  eval: CocoEvalArrays;
}

/** The area ranges of {@link CocoEvalArrays}, in pycocotools' order. */
export type CocoAreaRange = 'all' | 'small' | 'medium' | 'large';

/**
 * COCOeval.eval after accumulate(), as pycocotools lays it out: row-major float64 arrays
 * indexed by T IoU thresholds (0.50:0.05:0.95), R = 101 recall thresholds (0:0.01:1), K
 * classes (`labels`, ascending), A area ranges (`areaRanges`) and M detection caps
 * (`maxDets`). Entries are -1 where a class has no ground truth in an area range (nothing
 * to recall); a recall threshold the detections never reach has precision and score 0.
 *
 * @example
 * const { eval: e } = await metric.compute();
 * const [T, R, K, A, M] = e.shape;
 * // Precision of class e.labels[k] at IoU 0.5 and recall 0.8, all areas, 100 detections:
 * e.precision[(((0 * R + 80) * K + k) * A + 0) * M + 2];
 */
export interface CocoEvalArrays {
  /** `[T, R, K, A, M]`: the shape of `precision` and `scores` (`recall` is `[T, K, A, M]`). */
  shape: readonly [number, number, number, number, number];
  /** `[T, R, K, A, M]`: interpolated precision at each recall threshold (pycocotools' eval['precision']). */
  precision: Float64Array;
  /** `[T, K, A, M]`: recall reached by all the detections (eval['recall']). */
  recall: Float64Array;
  /** `[T, R, K, A, M]`: the score of the detection at which each recall threshold is reached (eval['scores']). */
  scores: Float64Array;
  /** The T IoU thresholds (pycocotools' params.iouThrs). */
  iouThresholds: Float64Array;
  /** The R recall thresholds (params.recThrs). */
  recallThresholds: Float64Array;
  /** The K class labels (params.catIds): every label of the predictions and targets, ascending. */
  labels: number[];
  /** The A area ranges (params.areaRngLbl). */
  areaRanges: readonly CocoAreaRange[];
  /** The M detection caps per image and class (params.maxDets). */
  maxDets: readonly number[];
}

/** Options of {@link precisionRecallCurves}. */
export interface PrecisionRecallCurveOptions {
  /** The IoU threshold, one of 0.5, 0.55, ..., 0.95 (default 0.5). */
  iouThreshold?: number;
  /** The area range (default 'all'). */
  area?: CocoAreaRange;
  /** The detection cap, 1, 10 or 100 (default 100). */
  maxDets?: number;
  /** The curve's name for a label (default the label as a string), e.g. a class name. */
  name?: (label: number) => string;
}

/** One class's interpolated precision-recall curve, as viz.prCurve charts it. */
export interface ClassPrecisionRecallCurve {
  /** The curve's name (see {@link PrecisionRecallCurveOptions.name}). */
  name: string;
  /** The class label. */
  label: number;
  /** The 101 recall thresholds 0, 0.01, ..., 1. */
  recall: Float64Array;
  /** Interpolated precision at each recall threshold (0 past the recall the detections reach). */
  precision: Float64Array;
}

/**
 * Per class, the precision-recall curve COCO's AP averages: `precision[t, :, k, a, m]` of
 * {@link CocoEvalArrays} against the 101 recall thresholds, at one IoU threshold, area
 * range and detection cap. Classes without ground truth in that area range have no curve
 * and are left out. The curves go to viz.prCurve as they are.
 *
 * @example
 * const result = await metric.compute();
 * const { png } = await viz.prCurve(metrics.precisionRecallCurves(result.eval, { iouThreshold: 0.75, name: (l) => classes[l] }));
 */
export function precisionRecallCurves(evaluation: CocoEvalArrays, opts: PrecisionRecallCurveOptions = {}): ClassPrecisionRecallCurve[] {
  const op = 'precisionRecallCurves';
  if (evaluation === null || typeof evaluation !== 'object' || !(evaluation.precision instanceof Float64Array) || !Array.isArray(evaluation.shape)) {
    throw new ArgumentError(`${op}: expected evaluation to be a result's eval arrays (MeanAveragePrecisionResult.eval), got ${describe(evaluation)}`);
  }
  const iou = opts.iouThreshold ?? 0.5;
  const t = Array.from(evaluation.iouThresholds).findIndex((v) => Math.abs(v - iou) < 1e-9);
  if (t < 0) throw new ArgumentError(`${op}: expected iouThreshold to be one of 0.5, 0.55, ..., 0.95, got ${describe(iou)}`);
  const area = opts.area ?? 'all';
  const a = evaluation.areaRanges.indexOf(area);
  if (a < 0) throw new ArgumentError(`${op}: expected area to be one of ${evaluation.areaRanges.map((r) => `'${r}'`).join(', ')}, got ${describe(area)}`);
  const cap = opts.maxDets ?? 100;
  const m = evaluation.maxDets.indexOf(cap);
  if (m < 0) throw new ArgumentError(`${op}: expected maxDets to be one of ${evaluation.maxDets.join(', ')}, got ${describe(cap)}`);
  const name = opts.name ?? String;
  if (typeof name !== 'function') throw new ArgumentError(`${op}: expected name to be a function of the label, got ${describe(name)}`);
  const [, nR, nK, nA, nM] = evaluation.shape;
  const curves: ClassPrecisionRecallCurve[] = [];
  evaluation.labels.forEach((label, k) => {
    const precision = Float64Array.from({ length: nR }, (_, r) => evaluation.precision[(((t * nR + r) * nK + k) * nA + a) * nM + m]!);
    if (precision[0]! < 0) return; // -1: no ground truth of this class in the range
    curves.push({ name: name(label), label, recall: Float64Array.from(evaluation.recallThresholds), precision });
  });
  return curves;
}

/** pycocotools' IoU thresholds, `np.linspace(.5, .95, 10)`: the same doubles (0.8999999999999999 among them). */
const IOU_THRESHOLDS: Float64Array = Float64Array.from({ length: 10 }, (_, i) => (i === 9 ? 0.95 : i * ((0.95 - 0.5) / 9) + 0.5));
/** pycocotools' detection caps per image and class (maxDets); the last bounds everything. */
const MAX_DETECTIONS = [1, 10, 100] as const;
/** pycocotools' area ranges all, small, medium, large: both ends inclusive. */
const AREA_RANGES: readonly (readonly [number, number])[] = [[0, 1e10], [0, 32 ** 2], [32 ** 2, 96 ** 2], [96 ** 2, 1e10]];
const T = IOU_THRESHOLDS.length;
const R = COCO_RECALL_THRESHOLDS.length;
const A = AREA_RANGES.length;
/** Index of IoU 0.75 in IOU_THRESHOLDS. */
const IOU_75 = 5;

/**
 * One image read to the host. Boxes are COCO's xywh as torchvision's `convert_to_xywh`
 * makes them (the subtraction in float32) and then widened to float64, as pycocotools
 * sees the JSON numbers.
 */
interface HostImage {
  detBoxes: Float64Array;
  detScores: Float64Array;
  detLabels: Int32Array;
  gtBoxes: Float64Array;
  gtLabels: Int32Array;
  gtCrowd: Uint8Array;
  gtArea: Float64Array;
}

/**
 * COCO box mAP over many batches, as torchmetrics' `MeanAveragePrecision` with the
 * pycocotools backend (and torchvision's `CocoEvaluator`): `update` with each batch's
 * predictions and targets, `compute` once at the end, `reset` to start over. Equal to
 * pycocotools' COCOeval on the same boxes (fixtures to 1e-4 in the tests): boxes become
 * xywh, IoU >= each of 0.50:0.05:0.95 matches greedily by score, crowd boxes are ignore
 * regions, at most 1/10/100 detections per image and class count, precision is
 * interpolated at 101 recall points, and classes without ground truth are left out of the
 * means (-1 in `perClass`). Images are numbered in update order, which decides between
 * detections of equal score, as image ids do in pycocotools.
 *
 * @example
 * const metric = new metrics.MeanAveragePrecision();
 * for await (const [images, targets] of loader) {
 *   const preds = detector.forward(images); // eval mode: [{ boxes, scores, labels }] per image
 *   await metric.update(preds, targets);
 * }
 * const { map, map50, perClass } = await metric.compute();
 */
export class MeanAveragePrecision {
  /** One slot per update call, filled when its reads finish (null when they failed). */
  #batches: (HostImage[] | null)[] = [];
  /** Updates whose reads are still running; compute() waits for them. */
  #pending = new Set<Promise<void>>();

  /**
   * Adds a batch: `preds[i]` and `targets[i]` are image i's detections and ground truth.
   * Shapes and dtypes are checked here and throw at once; the values are read
   * asynchronously and the promise rejects (adding nothing) on a NaN score, a
   * non-finite box or one with x2 < x1 or y2 < y1. The tensors are not kept: dispose them
   * once the promise resolves.
   */
  update(preds: readonly Detection[], targets: readonly DetectionTarget[]): Promise<void> {
    const read = readBatch('MeanAveragePrecision.update', preds, targets);
    const slot = this.#batches.length;
    const batches = this.#batches;
    batches.push(null);
    const done = read.then((images) => {
      batches[slot] = images;
    });
    const settled = done.then(
      () => undefined,
      () => undefined,
    );
    this.#pending.add(settled);
    void settled.then(() => this.#pending.delete(settled));
    return done;
  }

  /**
   * COCOeval's summary over every image added so far (after any update still reading);
   * all -1 before the first object.
   */
  async compute(): Promise<MeanAveragePrecisionResult> {
    await Promise.all(this.#pending);
    return evaluate(this.#batches.flatMap((b) => b ?? []));
  }

  /** Forgets every image added so far (an update still reading is dropped too). */
  reset(): void {
    this.#batches = [];
    this.#pending.clear();
  }
}

/**
 * COCO box mAP of one set of images, as pycocotools' COCOeval ('bbox') computes it; see
 * {@link MeanAveragePrecision} (this is its update + compute in one call).
 *
 * @example
 * const result = await metrics.meanAveragePrecision(
 *   [{ boxes: tensor([[10, 10, 50, 50]], { dtype: 'float32' }), scores: tensor([0.9], { dtype: 'float32' }), labels: tensor(Int32Array.of(1)) }],
 *   [{ boxes: tensor([[12, 10, 50, 52]], { dtype: 'float32' }), labels: tensor(Int32Array.of(1)) }],
 * );
 * result.map50; // ≈ 1 (pycocotools' 1 - 1e-16): the one object, found at IoU 0.91
 */
export function meanAveragePrecision(preds: readonly Detection[], targets: readonly DetectionTarget[]): Promise<MeanAveragePrecisionResult> {
  // Not async: bad shapes and dtypes throw here, at the call site; bad values reject.
  return readBatch('meanAveragePrecision', preds, targets).then(evaluate);
}

// ---- reading and checking ----------------------------------------------------------------

const CROWD_DTYPES: readonly DType[] = ['int32', 'uint8', 'bool'];

/** Checks shapes and dtypes now (throwing at the call site), then reads every tensor. */
function readBatch(op: string, preds: readonly Detection[], targets: readonly DetectionTarget[]): Promise<HostImage[]> {
  if (!Array.isArray(preds)) throw new ArgumentError(`${op}: expected preds to be an array with one { boxes, scores, labels } per image, got ${describe(preds)}`);
  if (!Array.isArray(targets)) throw new ArgumentError(`${op}: expected targets to be an array with one { boxes, labels } per image, got ${describe(targets)}`);
  if (preds.length !== targets.length) {
    throw new ArgumentError(`${op}: expected as many targets as preds (one of each per image), got ${preds.length} preds and ${targets.length} targets`);
  }
  const checked = preds.map((pred, i) => [checkPrediction(op, `preds[${i}]`, pred), checkTarget(op, `targets[${i}]`, targets[i])] as const);
  return Promise.all(checked.map(([pred, target], i) => readImage(op, i, pred, target)));
}

function checkRecord(op: string, name: string, value: unknown, keys: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object') throw new ArgumentError(`${op}: expected ${name} to be an object { ${keys} }, got ${describe(value)}`);
  return value as Record<string, unknown>;
}

/** Boxes `[K, 4]` of a float dtype. */
function checkBoxTensor(op: string, name: string, value: unknown): Tensor {
  const boxes = checkTensor(op, name, value);
  checkDTypeIn(op, name, boxes, FLOAT_DTYPES);
  if (boxes.ndim !== 2 || boxes.shape[1] !== 4) throw new ShapeError(`${op}: expected ${name} of shape [K, 4] (xyxy), got [${boxes.shape.join(', ')}]`);
  return boxes;
}

/** A `[count]` vector whose dtype is one of `dtypes`. */
function checkVector(op: string, name: string, value: unknown, count: number, dtypes: readonly DType[], boxesName: string): Tensor {
  const t = checkTensor(op, name, value);
  checkDTypeIn(op, name, t, dtypes);
  if (t.ndim !== 1 || t.shape[0] !== count) {
    throw new ShapeError(`${op}: expected ${name} of shape [${count}] (one per box of ${boxesName}), got [${t.shape.join(', ')}]`);
  }
  return t;
}

/** A checked {@link Detection} (its dtypes may be any float, as read here). */
interface CheckedDetection {
  boxes: Tensor;
  scores: Tensor;
  labels: Tensor;
}

function checkPrediction(op: string, name: string, value: unknown): CheckedDetection {
  const pred = checkRecord(op, name, value, 'boxes, scores, labels');
  const boxes = checkBoxTensor(op, `${name}.boxes`, pred.boxes);
  const k = boxes.shape[0]!;
  const scores = checkVector(op, `${name}.scores`, pred.scores, k, FLOAT_DTYPES, `${name}.boxes`);
  const labels = checkVector(op, `${name}.labels`, pred.labels, k, ['int32'], `${name}.boxes`);
  return { boxes, scores, labels };
}

function checkTarget(op: string, name: string, value: unknown): DetectionTarget {
  const target = checkRecord(op, name, value, 'boxes, labels, iscrowd?, area?');
  const boxes = checkBoxTensor(op, `${name}.boxes`, target.boxes);
  const g = boxes.shape[0]!;
  const labels = checkVector(op, `${name}.labels`, target.labels, g, ['int32'], `${name}.boxes`);
  const iscrowd = target.iscrowd === undefined ? undefined : checkVector(op, `${name}.iscrowd`, target.iscrowd, g, CROWD_DTYPES, `${name}.boxes`);
  const area = target.area === undefined ? undefined : checkVector(op, `${name}.area`, target.area, g, FLOAT_DTYPES, `${name}.boxes`);
  return { boxes, labels, ...(iscrowd ? { iscrowd } : {}), ...(area ? { area } : {}) };
}

/** The values of `t` as float64 (an empty tensor needs no read). */
async function read(t: Tensor): Promise<ArrayLike<number | boolean>> {
  return t.numel === 0 ? [] : await t.data();
}

async function readImage(op: string, image: number, pred: CheckedDetection, target: DetectionTarget): Promise<HostImage> {
  // Every read is queued before the first await, so they overlap.
  const reads = [pred.boxes, pred.scores, pred.labels, target.boxes, target.labels].map(read);
  const crowdRead = target.iscrowd ? read(target.iscrowd) : null;
  const areaRead = target.area ? read(target.area) : null;
  const [detXyxy, scores, detLabels, gtXyxy, gtLabels] = (await Promise.all(reads)) as [ArrayLike<number>, ArrayLike<number>, ArrayLike<number>, ArrayLike<number>, ArrayLike<number>];
  const crowd = crowdRead ? await crowdRead : null;
  const area = areaRead ? ((await areaRead) as ArrayLike<number>) : null;

  const detScores = Float64Array.from(scores);
  const nanAt = detScores.findIndex(Number.isNaN);
  if (nanAt >= 0) throw new ArgumentError(`${op}: expected preds[${image}].scores to hold no NaN, got NaN at index ${nanAt}`);
  const detBoxes = toXywh(op, `preds[${image}].boxes`, detXyxy);
  const gtBoxes = toXywh(op, `targets[${image}].boxes`, gtXyxy);
  const g = gtLabels.length;
  const gtArea = new Float64Array(g);
  for (let j = 0; j < g; ++j) {
    const value = area ? area[j]! : gtBoxes[4 * j + 2]! * gtBoxes[4 * j + 3]!;
    if (!(value >= 0) || value === Infinity) throw new ArgumentError(`${op}: expected targets[${image}].area to be finite and >= 0, got ${value} at index ${j}`);
    gtArea[j] = value;
  }
  const gtCrowd = new Uint8Array(g);
  if (crowd) for (let j = 0; j < g; ++j) gtCrowd[j] = crowd[j] ? 1 : 0;
  return { detBoxes, detScores, detLabels: Int32Array.from(detLabels), gtBoxes, gtLabels: Int32Array.from(gtLabels), gtCrowd, gtArea };
}

/** xyxy -> COCO xywh, width and height rounded to float32 as torchvision's convert_to_xywh leaves them. */
function toXywh(op: string, name: string, xyxy: ArrayLike<number>): Float64Array {
  const out = new Float64Array(xyxy.length);
  for (let i = 0; i < xyxy.length; i += 4) {
    const [x1, y1, x2, y2] = [xyxy[i]!, xyxy[i + 1]!, xyxy[i + 2]!, xyxy[i + 3]!];
    if (![x1, y1, x2, y2].every(Number.isFinite)) throw new ArgumentError(`${op}: expected ${name} to be finite, got [${x1}, ${y1}, ${x2}, ${y2}] at row ${i / 4}`);
    if (x2 < x1 || y2 < y1) throw new ArgumentError(`${op}: expected ${name} in xyxy with x1 <= x2 and y1 <= y2, got [${x1}, ${y1}, ${x2}, ${y2}] at row ${i / 4}`);
    out[i] = x1;
    out[i + 1] = y1;
    out[i + 2] = Math.fround(x2 - x1);
    out[i + 3] = Math.fround(y2 - y1);
  }
  return out;
}

// ---- COCOeval ----------------------------------------------------------------------------

/** Stable descending order by score (np.argsort(-scores, kind='mergesort')). */
function rankByScore(indices: number[], scores: ArrayLike<number>): number[] {
  return indices.sort((a, b) => scores[b]! - scores[a]!);
}

/**
 * pycocotools' bbIou for dt x gt (`[D, G]`, row-major): float64 from xywh; against a crowd
 * box the union is the detection's area alone.
 */
function boxIous(image: HostImage, dets: readonly number[], gts: readonly number[]): Float64Array {
  const { detBoxes: det, gtBoxes: gt, gtCrowd: crowd } = image;
  const G = gts.length;
  const out = new Float64Array(dets.length * G);
  for (let d = 0; d < dets.length; ++d) {
    const o = 4 * dets[d]!;
    const dx = det[o]!, dy = det[o + 1]!, dw = det[o + 2]!, dh = det[o + 3]!;
    const da = dw * dh;
    for (let g = 0; g < G; ++g) {
      const p = 4 * gts[g]!;
      const gx = gt[p]!, gy = gt[p + 1]!, gw = gt[p + 2]!, gh = gt[p + 3]!;
      const w = Math.min(dw + dx, gw + gx) - Math.max(dx, gx);
      if (w <= 0) continue;
      const h = Math.min(dh + dy, gh + gy) - Math.max(dy, gy);
      if (h <= 0) continue;
      const inter = w * h;
      out[d * G + g] = inter / (crowd[gts[g]!] ? da : da + gw * gh - inter);
    }
  }
  return out;
}

/**
 * One class's detections over all images after COCOeval.evaluateImg: per image the
 * detections ranked by score and capped at 100, laid end to end in image order, with per
 * area range the `[T, total]` matched / ignored flags and the count of objects that count
 * (non-crowd, in range).
 */
interface ClassMatches {
  total: number;
  scores: Float64Array;
  /** Each detection's rank within its image (the maxDets caps cut on it). */
  rank: Int32Array;
  matched: Uint8Array[];
  ignored: Uint8Array[];
  counted: number[];
}

/** COCOeval.evaluateImg for one class on every image and area range. */
function matchClass(images: readonly HostImage[], label: number): ClassMatches {
  const cap = MAX_DETECTIONS[MAX_DETECTIONS.length - 1];
  const perImage = images.map((image) => {
    const dets: number[] = [];
    for (let i = 0; i < image.detLabels.length; ++i) if (image.detLabels[i] === label) dets.push(i);
    const gts: number[] = [];
    for (let j = 0; j < image.gtLabels.length; ++j) if (image.gtLabels[j] === label) gts.push(j);
    return { image, ranked: rankByScore(dets, image.detScores).slice(0, cap), gts };
  });
  const total = perImage.reduce((n, e) => n + e.ranked.length, 0);
  const out: ClassMatches = {
    total,
    scores: new Float64Array(total),
    rank: new Int32Array(total),
    matched: AREA_RANGES.map(() => new Uint8Array(T * total)),
    ignored: AREA_RANGES.map(() => new Uint8Array(T * total)),
    counted: AREA_RANGES.map(() => 0),
  };
  let offset = 0;
  for (const { image, ranked, gts } of perImage) {
    for (let d = 0; d < ranked.length; ++d) {
      out.scores[offset + d] = image.detScores[ranked[d]!]!;
      out.rank[offset + d] = d;
    }
    matchImage(image, ranked, gts, offset, out);
    offset += ranked.length;
  }
  return out;
}

/** evaluateImg's greedy matching of one image's ranked detections, written at `offset`. */
function matchImage(image: HostImage, ranked: readonly number[], gts: readonly number[], offset: number, out: ClassMatches): void {
  const D = ranked.length;
  const G = gts.length;
  if (D === 0 && G === 0) return;
  const ious = boxIous(image, ranked, gts);
  const order = new Int32Array(G);
  const gtIgnore = new Uint8Array(G);
  const gtMatched = new Uint8Array(G);
  for (let a = 0; a < A; ++a) {
    const low = AREA_RANGES[a]![0], high = AREA_RANGES[a]![1];
    const matched = out.matched[a]!, ignored = out.ignored[a]!;
    // Objects that count first, ignored ones (crowds, out of range) after, each group in order.
    let counted = 0;
    for (let g = 0; g < G; ++g) {
      const j = gts[g]!;
      gtIgnore[g] = image.gtCrowd[j] || image.gtArea[j]! < low || image.gtArea[j]! > high ? 1 : 0;
      if (!gtIgnore[g]) order[counted++] = g;
    }
    for (let g = 0, k = counted; g < G; ++g) if (gtIgnore[g]) order[k++] = g;
    out.counted[a]! += counted;
    for (let t = 0; t < T; ++t) {
      gtMatched.fill(0);
      const row = t * out.total + offset;
      for (let d = 0; d < D; ++d) {
        // The best object not yet taken (a crowd can be taken again), stopping at the
        // ignored ones once one that counts has matched; a later equal IoU wins.
        let best = Math.min(IOU_THRESHOLDS[t]!, 1 - 1e-10);
        let m = -1;
        for (let k = 0; k < G; ++k) {
          const g = order[k]!;
          if (gtMatched[g] && !image.gtCrowd[gts[g]!]) continue;
          if (m > -1 && !gtIgnore[m] && gtIgnore[g]) break;
          const iou = ious[d * G + g]!;
          if (iou < best) continue;
          best = iou;
          m = g;
        }
        if (m === -1) continue;
        matched[row + d] = 1;
        ignored[row + d] = gtIgnore[m]!;
        gtMatched[m] = 1;
      }
    }
    // Unmatched detections outside the area range are ignored, not false positives.
    for (let d = 0; d < D; ++d) {
      const o = 4 * ranked[d]!;
      const area = image.detBoxes[o + 2]! * image.detBoxes[o + 3]!;
      if (area >= low && area <= high) continue;
      for (let t = 0; t < T; ++t) if (!matched[t * out.total + offset + d]) ignored[t * out.total + offset + d] = 1;
    }
  }
}

const M = MAX_DETECTIONS.length;

/** COCOeval.eval's arrays for K classes, all -1 until accumulated. */
function emptyEval(labels: number[]): CocoEvalArrays {
  const K = labels.length;
  return {
    shape: [T, R, K, A, M],
    precision: new Float64Array(T * R * K * A * M).fill(-1),
    recall: new Float64Array(T * K * A * M).fill(-1),
    scores: new Float64Array(T * R * K * A * M).fill(-1),
    iouThresholds: Float64Array.from(IOU_THRESHOLDS),
    recallThresholds: Float64Array.from(COCO_RECALL_THRESHOLDS),
    labels,
    areaRanges: ['all', 'small', 'medium', 'large'],
    maxDets: [...MAX_DETECTIONS],
  };
}

/**
 * COCOeval.accumulate for class k: fills its entries of `out` for every area range in
 * which it has objects that count (pycocotools leaves -1 in the others) and returns, per
 * area range, whether it has them.
 */
function accumulateClass(c: ClassMatches, k: number, out: CocoEvalArrays): boolean[] {
  const K = out.shape[2];
  const valid = c.counted.map((n) => n > 0);
  const tp = new Float64Array(c.total);
  const fp = new Float64Array(c.total);
  const interpolated = new Float64Array(c.total);
  const ranks = new Int32Array(R);
  for (let m = 0; m < M; ++m) {
    // The first maxDets of each image, in image order, then stably by score across images:
    // np.argsort(-scores, kind='mergesort') on the concatenation.
    const kept: number[] = [];
    for (let d = 0; d < c.total; ++d) if (c.rank[d]! < MAX_DETECTIONS[m]!) kept.push(d);
    const ranked = rankByScore(kept, c.scores);
    const n = ranked.length;
    for (let a = 0; a < A; ++a) {
      if (!valid[a]) continue;
      const matched = c.matched[a]!, ignored = c.ignored[a]!, counted = c.counted[a]!;
      for (let t = 0; t < T; ++t) {
        // Ignored detections neither hit nor miss but keep their place in the ranking.
        let hits = 0;
        let misses = 0;
        for (let r = 0; r < n; ++r) {
          const at = t * c.total + ranked[r]!;
          if (!ignored[at]) {
            if (matched[at]) ++hits;
            else ++misses;
          }
          tp[r] = hits;
          fp[r] = misses;
        }
        out.recall[((t * K + k) * A + a) * M + m] = n > 0 ? hits / counted : 0;
        coco101PrecisionSum(tp, fp, n, counted, interpolated, ranks);
        for (let r = 0; r < R; ++r) {
          const i = (((t * R + r) * K + k) * A + a) * M + m;
          const rank = ranks[r]!;
          out.precision[i] = rank < 0 ? 0 : interpolated[rank]!;
          out.scores[i] = rank < 0 ? 0 : c.scores[ranked[rank]!]!;
        }
      }
    }
  }
  return valid;
}

/** COCOeval evaluate + accumulate + summarize on host images. */
function evaluate(images: readonly HostImage[]): MeanAveragePrecisionResult {
  const labelSet = new Set<number>();
  for (const image of images) {
    for (const l of image.detLabels) labelSet.add(l);
    for (const l of image.gtLabels) labelSet.add(l);
  }
  const labels = [...labelSet].sort((a, b) => a - b);
  const K = labels.length;
  const arrays = emptyEval(labels);
  labels.forEach((label, k) => accumulateClass(matchClass(images, label), k, arrays));

  /** summarize(): the mean of the entries that are not -1, over the given classes and IoU thresholds. */
  const mean = (classes: readonly number[], a: number, m: number, ts: readonly number[], kind: 'precision' | 'recall'): number => {
    let sum = 0;
    let count = 0;
    // In pycocotools' [T, R, K] (or [T, K]) order.
    for (const t of ts) {
      for (let r = 0; r < (kind === 'recall' ? 1 : R); ++r) {
        for (const k of classes) {
          const v = kind === 'recall' ? arrays.recall[((t * K + k) * A + a) * M + m]! : arrays.precision[(((t * R + r) * K + k) * A + a) * M + m]!;
          if (v > -1) [sum, count] = [sum + v, count + 1];
        }
      }
    }
    return count === 0 ? -1 : sum / count;
  };
  const everyClass = labels.map((_, k) => k);
  const all = Array.from({ length: T }, (_, t) => t);
  const last = M - 1;
  return {
    map: mean(everyClass, 0, last, all, 'precision'),
    map50: mean(everyClass, 0, last, [0], 'precision'),
    map75: mean(everyClass, 0, last, [IOU_75], 'precision'),
    mapSmall: mean(everyClass, 1, last, all, 'precision'),
    mapMedium: mean(everyClass, 2, last, all, 'precision'),
    mapLarge: mean(everyClass, 3, last, all, 'precision'),
    mar1: mean(everyClass, 0, 0, all, 'recall'),
    mar10: mean(everyClass, 0, 1, all, 'recall'),
    mar100: mean(everyClass, 0, last, all, 'recall'),
    marSmall: mean(everyClass, 1, last, all, 'recall'),
    marMedium: mean(everyClass, 2, last, all, 'recall'),
    marLarge: mean(everyClass, 3, last, all, 'recall'),
    perClass: labels.map((label, k) => ({
      label,
      map: mean([k], 0, last, all, 'precision'),
      map50: mean([k], 0, last, [0], 'precision'),
      map75: mean([k], 0, last, [IOU_75], 'precision'),
      mar100: mean([k], 0, last, all, 'recall'),
    })),
    eval: arrays,
  };
}
