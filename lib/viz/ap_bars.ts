/**
 * Per-class average precision of a detector as a bar chart: which classes it finds and which
 * it misses, at a glance, from `metrics.meanAveragePrecision`'s `perClass`.
 * @module
 */
import { ArgumentError } from '../errors.js';
import type { ClassAveragePrecision } from '../metrics/mean_average_precision.js';
import { describe } from '../tensor/shape.js';
import { renderVegaLite, type RenderedChart } from './vega.js';

/** The figure of {@link ClassAveragePrecision} a bar shows. */
export type ApMetric = 'map' | 'map50' | 'map75' | 'mar100';

const AXIS_TITLES: Record<ApMetric, string> = {
  map: 'AP @ IoU 0.50:0.95',
  map50: 'AP @ IoU 0.50',
  map75: 'AP @ IoU 0.75',
  mar100: 'Recall (100 detections) @ IoU 0.50:0.95',
};

/** Options of {@link apBars}. */
export interface ApBarsOptions {
  /** Which figure (default 'map', COCO's AP averaged over IoU 0.50:0.95). */
  metric?: ApMetric;
  /** Class names by label (an array indexed by label, or a function); default "class <label>". */
  classNames?: readonly string[] | ((label: number) => string);
  /** The chart's title (default 'Average precision per class'). */
  title?: string;
  /** Plot width in SVG units (default 360). */
  width?: number;
}

/**
 * One horizontal bar per class with ground truth, longest first, its value written at its
 * end; classes without ground truth (AP -1) are left out and named in the subtitle. SVG and
 * PNG, as {@link renderVegaLite}.
 *
 * @example
 * const result = await metrics.meanAveragePrecision(predictions, targets);
 * const { png } = await viz.apBars(result.perClass, { classNames: ['background', 'cat', 'dog'], metric: 'map50' });
 */
export async function apBars(perClass: readonly ClassAveragePrecision[], opts: ApBarsOptions = {}): Promise<RenderedChart> {
  const op = 'apBars';
  const metric = opts.metric ?? 'map';
  if (!Object.hasOwn(AXIS_TITLES, metric)) throw new ArgumentError(`${op}: expected metric 'map', 'map50', 'map75' or 'mar100', got ${describe(metric)}`);
  if (!Array.isArray(perClass) || perClass.length === 0) throw new ArgumentError(`${op}: expected perClass to be a non-empty array (MeanAveragePrecisionResult.perClass), got ${describe(perClass)}`);
  const { classNames } = opts;
  const nameOf = (label: number): string => {
    const name = typeof classNames === 'function' ? classNames(label) : classNames?.[label];
    return name ?? `class ${label}`;
  };
  const width = opts.width ?? 360;
  if (!(Number.isInteger(width) && width > 0)) throw new ArgumentError(`${op}: expected width to be a positive integer, got ${describe(width)}`);
  const values: { name: string; value: number }[] = [];
  const absent: string[] = [];
  perClass.forEach((c, i) => {
    const value = c?.[metric];
    if (!Number.isInteger(c?.label) || typeof value !== 'number' || !(value === -1 || (value >= 0 && value <= 1))) {
      throw new ArgumentError(`${op}: expected perClass[${i}] to have an integer label and ${metric} in [0, 1] (or -1), got ${describe(c)}`);
    }
    if (value === -1) absent.push(nameOf(c.label));
    else values.push({ name: nameOf(c.label), value });
  });
  if (values.length === 0) throw new ArgumentError(`${op}: no class has ground truth (every ${metric} is -1)`);
  return renderVegaLite({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: opts.title ?? 'Average precision per class', ...(absent.length > 0 ? { subtitle: `No ground truth: ${absent.join(', ')}` } : {}) },
    width,
    height: { step: 22 },
    background: 'white',
    data: { values },
    encoding: {
      y: { field: 'name', type: 'nominal', title: null, sort: '-x' },
      x: { field: 'value', type: 'quantitative', title: AXIS_TITLES[metric], scale: { domain: [0, 1] } },
    },
    layer: [
      { mark: { type: 'bar', color: '#4c78a8' } },
      { mark: { type: 'text', align: 'left', dx: 3 }, encoding: { text: { field: 'value', type: 'quantitative', format: '.3f' } } },
    ],
  });
}
