/**
 * Precision-recall curves: the points of a ranked list of detections, and the chart of
 * several curves (one per class), drawn with {@link renderVegaLite}.
 * @module
 */
import { ArgumentError } from '../errors.js';
import { describe } from '../tensor/shape.js';
import { renderVegaLite, type RenderedChart } from './vega.js';

/** One curve of {@link prCurve}: recall and precision of equal length, in ranking order. */
export interface PrCurveSeries {
  /** The legend's name of the curve (a class name, say). */
  name: string;
  /** Recall after each detection, in [0, 1], non-decreasing. */
  recall: ArrayLike<number>;
  /** Precision after each detection, in [0, 1]. */
  precision: ArrayLike<number>;
}

/** Options of {@link prCurve}. */
export interface PrCurveOptions {
  /** The chart's title (default 'Precision-recall'). */
  title?: string;
  /** Plot width in SVG units (default 420). */
  width?: number;
  /** Plot height in SVG units (default 320). */
  height?: number;
  /** Points kept per curve, evenly spaced in rank (default 200): SVGs stay small. */
  maxPoints?: number;
}

/**
 * Precision and recall after each detection of a ranked list: `tpFlags[i]` says whether
 * the `i`-th detection (by decreasing score) matched an object, `numGt` counts the objects.
 * The raw, uninterpolated curve (COCO's and VOC's AP interpolate it).
 *
 * @example
 * const { recall, precision } = viz.precisionRecall([true, true, false, true], 5);
 * // recall 0.2, 0.4, 0.4, 0.6; precision 1, 1, 0.667, 0.75
 */
export function precisionRecall(tpFlags: ArrayLike<boolean | number>, numGt: number): { recall: Float64Array; precision: Float64Array } {
  const op = 'precisionRecall';
  if (typeof tpFlags !== 'object' || tpFlags === null || typeof tpFlags.length !== 'number') throw new ArgumentError(`${op}: expected tpFlags to be an array of booleans, got ${describe(tpFlags)}`);
  if (!Number.isInteger(numGt) || numGt < 0) throw new ArgumentError(`${op}: expected numGt to be an integer >= 0, got ${describe(numGt)}`);
  const recall = new Float64Array(tpFlags.length);
  const precision = new Float64Array(tpFlags.length);
  let tp = 0;
  for (let i = 0; i < tpFlags.length; ++i) {
    if (tpFlags[i]) tp += 1;
    recall[i] = numGt === 0 ? 0 : tp / numGt;
    precision[i] = tp / (i + 1);
  }
  if (tp > numGt) throw new ArgumentError(`${op}: expected at most numGt (${numGt}) true flags, got ${tp}`);
  return { recall, precision };
}

/**
 * Charts precision against recall, one coloured line per series, as SVG and PNG
 * (async: see {@link renderVegaLite}). Axes are 0..1, titled "Recall" and "Precision".
 *
 * A series is either the raw curve of a ranked list ({@link precisionRecall}) or COCO's
 * interpolated per-class curves as `metrics.precisionRecallCurves` reads them from
 * MeanAveragePrecision's result, which go here as they are.
 *
 * @example
 * const { svg, png } = await viz.prCurve([{ name: 'shirt', ...viz.precisionRecall(flags, numGt) }]);
 * writeFileSync('pr_curve.png', png);
 * // COCO's curves at IoU 0.5, one per class:
 * await viz.prCurve(metrics.precisionRecallCurves((await metric.compute()).eval, { name: (label) => classes[label] }));
 */
export async function prCurve(series: readonly PrCurveSeries[], opts: PrCurveOptions = {}): Promise<RenderedChart> {
  const op = 'prCurve';
  if (!Array.isArray(series) || series.length === 0) throw new ArgumentError(`${op}: expected series to be a non-empty array of { name, recall, precision }, got ${describe(series)}`);
  const maxPoints = opts.maxPoints ?? 200;
  if (!Number.isInteger(maxPoints) || maxPoints < 2) throw new ArgumentError(`${op}: expected maxPoints to be an integer >= 2, got ${describe(maxPoints)}`);
  const values: { series: string; recall: number; precision: number; rank: number }[] = [];
  series.forEach((s, k) => {
    if (typeof s?.name !== 'string') throw new ArgumentError(`${op}: expected series[${k}].name to be a string, got ${describe(s?.name)}`);
    const { recall, precision } = s;
    if (recall?.length === undefined || precision?.length !== recall.length) {
      throw new ArgumentError(`${op}: expected series[${k}] ('${s.name}') to have recall and precision of equal length, got ${describe(recall)} and ${describe(precision)}`);
    }
    const n = recall.length;
    const step = Math.max(1, Math.ceil(n / maxPoints));
    for (let i = 0; i < n; i += step) push(i);
    if (n > 0 && (n - 1) % step !== 0) push(n - 1);
    function push(i: number): void {
      const [r, p] = [Number(recall[i]), Number(precision[i])];
      if (!(r >= 0 && r <= 1 && p >= 0 && p <= 1)) throw new ArgumentError(`${op}: expected series[${k}] ('${s.name}') values in [0, 1], got recall ${r} and precision ${p} at ${i}`);
      values.push({ series: s.name, recall: r, precision: p, rank: i });
    }
  });
  return renderVegaLite({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: opts.title ?? 'Precision-recall',
    width: opts.width ?? 420,
    height: opts.height ?? 320,
    background: 'white',
    data: { values },
    mark: { type: 'line', interpolate: 'step-after' },
    encoding: {
      x: { field: 'recall', title: 'Recall', type: 'quantitative', scale: { domain: [0, 1] } },
      y: { field: 'precision', title: 'Precision', type: 'quantitative', scale: { domain: [0, 1] } },
      color: { field: 'series', type: 'nominal', title: null, sort: series.map((s) => s.name) },
      order: { field: 'rank', type: 'quantitative' },
    },
  });
}
