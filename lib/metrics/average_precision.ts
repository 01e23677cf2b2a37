/**
 * Average precision of one ranked list of detections: the area under its
 * precision-recall curve, by the three rules detection benchmarks use. PASCAL VOC 2007's
 * 11-point rule, VOC 2010+'s all-point rule (py-faster-rcnn's `voc_ap`) and COCO's
 * 101-point rule (pycocotools' COCOeval.accumulate, which mean_average_precision.ts uses
 * too). Everything runs on the host in float64: this is evaluation, not a kernel.
 * @module
 */
import { ArgumentError } from '../errors.js';
import { describe } from '../tensor/shape.js';

/**
 * How {@link averagePrecision} integrates the precision-recall curve. Every rule first
 * makes precision non-increasing in recall (each point takes the best precision at its
 * recall or beyond).
 * - `'allPoints'`: the exact area under that curve (PASCAL VOC 2010 and later).
 * - `'voc11'`: the mean precision at recall 0, 0.1, ..., 1 (PASCAL VOC 2007).
 * - `'coco101'`: the mean precision at recall 0, 0.01, ..., 1 (COCO; pycocotools).
 */
export type AveragePrecisionMethod = 'allPoints' | 'voc11' | 'coco101';

/** Options of {@link averagePrecision}. */
export interface AveragePrecisionOptions {
  /** The integration rule (default `'allPoints'`). */
  method?: AveragePrecisionMethod;
}

const METHODS: readonly AveragePrecisionMethod[] = ['allPoints', 'voc11', 'coco101'];

/**
 * pycocotools' recall thresholds, `np.linspace(0, 1, 101)`: i * 0.01 (the same doubles),
 * the last one exactly 1.
 * @internal
 */
export const COCO_RECALL_THRESHOLDS: Float64Array = Float64Array.from({ length: 101 }, (_, i) => (i === 100 ? 1 : i * 0.01));

/**
 * The sum over pycocotools' 101 recall thresholds of the interpolated precision, for
 * detections ranked by score whose running true- and false-positive counts are `tp` and
 * `fp` (ignored detections repeat the previous counts, as in COCOeval.accumulate).
 * Precision is tp / (tp + fp + eps) and made non-increasing from the right; each
 * threshold takes it at the first detection whose recall reaches the threshold
 * (`np.searchsorted(..., side='left')`), and thresholds no detection reaches count 0.
 * `precision` is scratch space of at least `tp.length` entries; it is left holding the
 * interpolated precision at each rank. With `ranks` (101 entries), each threshold's rank
 * is written there, -1 for a threshold no detection reaches: COCOeval.eval's per-threshold
 * precision and score arrays read at those ranks.
 * @internal
 */
export function coco101PrecisionSum(tp: Float64Array, fp: Float64Array, length: number, numGt: number, precision: Float64Array, ranks?: Int32Array): number {
  for (let i = 0; i < length; ++i) precision[i] = tp[i]! / (fp[i]! + tp[i]! + Number.EPSILON);
  for (let i = length - 1; i > 0; --i) if (precision[i]! > precision[i - 1]!) precision[i - 1] = precision[i]!;
  ranks?.fill(-1);
  // Recall rises with the rank and so do the thresholds: one walk finds each threshold's rank.
  let sum = 0;
  let rank = 0;
  for (let r = 0; r < COCO_RECALL_THRESHOLDS.length; ++r) {
    while (rank < length && tp[rank]! / numGt < COCO_RECALL_THRESHOLDS[r]!) ++rank;
    if (rank === length) break;
    sum += precision[rank]!;
    if (ranks) ranks[r] = rank;
  }
  return sum;
}

/**
 * The average precision of detections ranked by decreasing score, each a true positive
 * (1 or true) or a false positive (0 or false), when the images hold `numGt` objects to
 * find; -1 when `numGt` is 0 (no object, so no recall: pycocotools' mark for a class
 * without ground truth). With `method: 'voc11'` and `'allPoints'` it is PASCAL VOC's AP as
 * py-faster-rcnn's `voc_eval` computes it; with `'coco101'` it is COCOeval's AP of one class
 * at one IoU threshold. Matching detections to objects (deciding the flags) is the
 * caller's, e.g. greedily by score at IoU >= 0.5 as VOC does; detections VOC ignores
 * ("difficult" objects) are left out of the list.
 *
 * @example
 * // Five detections, three of them right, for four objects:
 * metrics.averagePrecision([1, 0, 1, 1, 0], 4); // 0.625
 * metrics.averagePrecision([1, 0, 1, 1, 0], 4, { method: 'voc11' }); // 0.6136...
 * metrics.averagePrecision([1, 0, 1, 1, 0], 4, { method: 'coco101' }); // 0.6287...
 */
export function averagePrecision(tpFlags: ArrayLike<number | boolean>, numGt: number, opts: AveragePrecisionOptions = {}): number {
  const op = 'averagePrecision';
  const method = opts.method ?? 'allPoints';
  if (!METHODS.includes(method)) throw new ArgumentError(`${op}: expected method to be ${METHODS.map((m) => `'${m}'`).join(', ')}, got ${describe(method)}`);
  if (tpFlags === null || typeof tpFlags !== 'object' || typeof tpFlags.length !== 'number') {
    throw new ArgumentError(`${op}: expected tpFlags to be an array of 0/1 or booleans, got ${describe(tpFlags)}`);
  }
  if (!Number.isInteger(numGt) || numGt < 0) throw new ArgumentError(`${op}: expected numGt to be an integer >= 0, got ${describe(numGt)}`);
  const n = tpFlags.length;
  const tp = new Float64Array(n);
  const fp = new Float64Array(n);
  let hits = 0;
  for (let i = 0; i < n; ++i) {
    const flag = tpFlags[i];
    if (flag !== 0 && flag !== 1 && flag !== true && flag !== false) {
      throw new ArgumentError(`${op}: expected tpFlags to hold 0/1 or booleans, got ${describe(flag)} at index ${i}`);
    }
    if (flag === 1 || flag === true) ++hits;
    tp[i] = hits;
    fp[i] = i + 1 - hits;
  }
  if (hits > numGt) throw new ArgumentError(`${op}: expected at most numGt = ${numGt} true positives (one per object), got ${hits}`);
  if (numGt === 0) return -1;
  if (method === 'coco101') return coco101PrecisionSum(tp, fp, n, numGt, new Float64Array(n)) / COCO_RECALL_THRESHOLDS.length;
  // voc_eval: precision tp / max(tp + fp, eps), which is tp / (tp + fp) for n >= 1.
  const recall = tp.map((t) => t / numGt);
  const precision = tp.map((t, i) => t / (i + 1));
  return method === 'voc11' ? voc11(recall, precision) : allPoints(recall, precision);
}

/** VOC 2007: the mean over t = 0, 0.1, ..., 1 of the best precision at recall >= t (0 when none). */
function voc11(recall: Float64Array, precision: Float64Array): number {
  let sum = 0;
  for (let k = 0; k <= 10; ++k) {
    // np.arange(0., 1.1, 0.1) is k * 0.1: 0.30000000000000004 and not 0.3, so a recall of
    // exactly 3/10 misses the 0.3 point there too; the same doubles keep the same answer.
    const t = k * 0.1;
    let best = 0;
    for (let i = 0; i < recall.length; ++i) if (recall[i]! >= t && precision[i]! > best) best = precision[i]!;
    sum += best;
  }
  return sum / 11;
}

/** VOC 2010+: the area under the precision envelope, summed where recall changes. */
function allPoints(recall: Float64Array, precision: Float64Array): number {
  const n = recall.length;
  const mrec = new Float64Array(n + 2);
  const mpre = new Float64Array(n + 2);
  mrec.set(recall, 1);
  mrec[n + 1] = 1;
  mpre.set(precision, 1);
  for (let i = n; i > 0; --i) mpre[i] = Math.max(mpre[i]!, mpre[i + 1]!);
  let ap = 0;
  for (let i = 0; i <= n; ++i) if (mrec[i + 1] !== mrec[i]) ap += (mrec[i + 1]! - mrec[i]!) * mpre[i + 1]!;
  return ap;
}
