/**
 * The confusion matrix of a classifier as a heatmap, the count (or normalised value)
 * written in each cell, as sklearn's `ConfusionMatrixDisplay.from_predictions`. The
 * counting is `metrics.confusionMatrix`'s; this file checks the labels, normalises and draws
 * with {@link renderVegaLite}.
 * @module
 */
import { ArgumentError, DTypeError, IndexError, ShapeError } from '../errors.js';
import { confusionMatrix as countConfusions } from '../metrics/classification.js';
import { stack } from '../ops/shape.js';
import { tensor } from '../tensor/creation.js';
import { scope } from '../tensor/memory.js';
import { describe } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { renderVegaLite, type RenderedChart } from './vega.js';

/** Class labels: an int32 or uint8 tensor, or an array of integers. */
export type ClassLabels = Tensor | ArrayLike<number>;

/** Options of {@link confusionMatrix}. */
export interface ConfusionMatrixOptions {
  /** The name of each class, by label, shown on both axes (default the labels '0', '1', ...). */
  classNames?: readonly string[];
  /** The number of classes when no classNames are given (default the largest label + 1). */
  numClasses?: number;
  /**
   * As sklearn's `normalize`: 'true' divides each row by its true class's count (each row
   * sums to 1: recall on the diagonal), 'pred' each column by its predicted class's count
   * (precision on the diagonal), 'all' everything by the total. Default: raw counts.
   * Rows or columns with no samples stay 0.
   */
  normalize?: 'true' | 'pred' | 'all';
  /** The chart's title (default 'Confusion matrix'). */
  title?: string;
  /** Width and height of one cell in SVG units (default 40). */
  cellSize?: number;
}

/** The chart of {@link confusionMatrix} and the numbers it shows. */
export interface ConfusionMatrixChart extends RenderedChart {
  /** `matrix[t][p]`: the samples of true class t predicted as p, as counts or normalised as asked. */
  matrix: number[][];
}

const op = 'confusionMatrix';

/** `labels` as an int32 tensor, checked; `like` gives the device for an array. */
function toTensor(name: string, labels: ClassLabels, like: Tensor | undefined): Tensor<'int32'> {
  if (labels instanceof Tensor) {
    if (labels.dtype !== 'int32' && labels.dtype !== 'uint8') throw new DTypeError(`${op}: expected ${name} of dtype int32 or uint8 (class labels), got ${labels.dtype}`);
    return labels.dtype === 'int32' ? (labels as Tensor<'int32'>) : labels.int();
  }
  if (typeof labels !== 'object' || labels === null || typeof labels.length !== 'number') {
    throw new ArgumentError(`${op}: expected ${name} to be a Tensor or an array of integer labels, got ${describe(labels)}`);
  }
  for (let i = 0; i < labels.length; ++i) {
    if (!Number.isInteger(labels[i])) throw new ArgumentError(`${op}: expected ${name} to hold integer labels, got ${describe(labels[i])} at ${i}`);
  }
  return tensor(Int32Array.from(labels), { device: like?.device ?? 'cpu' });
}

/** `counts` divided as `normalize` says; a row or column of zeros stays zeros. */
function normalized(counts: number[][], normalize: ConfusionMatrixOptions['normalize']): number[][] {
  const n = counts.length;
  const div = (value: number, total: number) => (total === 0 ? 0 : value / total);
  if (normalize === 'true') return counts.map((row) => row.map((v) => div(v, row.reduce((a, b) => a + b, 0))));
  if (normalize === 'pred') {
    const columns = Array.from({ length: n }, (_, p) => counts.reduce((a, row) => a + row[p]!, 0));
    return counts.map((row) => row.map((v, p) => div(v, columns[p]!)));
  }
  if (normalize === 'all') {
    const total = counts.flat().reduce((a, b) => a + b, 0);
    return counts.map((row) => row.map((v) => div(v, total)));
  }
  return counts;
}

/**
 * Charts the confusion matrix of `predictions` against `targets` (class labels of equal
 * length) as a heatmap, rows the true label and columns the predicted label, each cell
 * showing its count, or its fraction with `normalize`. Async: the labels are read back once
 * to check their range, and the chart renders asynchronously ({@link renderVegaLite}).
 *
 * Throws ArgumentError for non-integer labels or bad options, DTypeError for tensors that
 * are not int32/uint8, ShapeError for lengths that differ or no samples, IndexError for a
 * label outside [0, number of classes); each names the argument.
 *
 * @example
 * const predictions = argmax(model.call(images), 1);
 * const { png, matrix } = await viz.confusionMatrix(predictions, labels, { classNames: ['T-shirt', 'Trouser', ...], normalize: 'true' });
 * writeFileSync('confusion.png', png);
 * console.log(`recall of class 0: ${matrix[0]![0]}`);
 */
export async function confusionMatrix(predictions: ClassLabels, targets: ClassLabels, opts: ConfusionMatrixOptions = {}): Promise<ConfusionMatrixChart> {
  const { classNames, normalize } = opts;
  if (classNames !== undefined && !(Array.isArray(classNames) && classNames.length > 0 && classNames.every((c) => typeof c === 'string'))) {
    throw new ArgumentError(`${op}: expected classNames to be a non-empty array of strings, got ${describe(classNames)}`);
  }
  if (classNames !== undefined && new Set(classNames).size !== classNames.length) throw new ArgumentError(`${op}: expected classNames to be distinct, got ${describe(classNames)}`);
  if (opts.numClasses !== undefined && !(Number.isInteger(opts.numClasses) && opts.numClasses >= 1)) {
    throw new ArgumentError(`${op}: expected numClasses to be an integer >= 1, got ${describe(opts.numClasses)}`);
  }
  if (classNames !== undefined && opts.numClasses !== undefined && opts.numClasses !== classNames.length) {
    throw new ArgumentError(`${op}: expected numClasses to equal the ${classNames.length} classNames, got ${opts.numClasses}`);
  }
  if (normalize !== undefined && normalize !== 'true' && normalize !== 'pred' && normalize !== 'all') {
    throw new ArgumentError(`${op}: expected normalize 'true', 'pred', 'all' or undefined, got ${describe(normalize)}`);
  }
  const cellSize = opts.cellSize ?? 40;
  if (!(typeof cellSize === 'number' && cellSize > 0)) throw new ArgumentError(`${op}: expected cellSize > 0, got ${describe(cellSize)}`);

  const counts = await scope(async () => {
    const like = predictions instanceof Tensor ? predictions : targets instanceof Tensor ? targets : undefined;
    const pred = toTensor('predictions', predictions, like).flatten();
    const truth = toTensor('targets', targets, like).flatten();
    if (pred.numel !== truth.numel) throw new ShapeError(`${op}: expected predictions and targets of equal length, got ${pred.numel} and ${truth.numel}`);
    if (pred.numel === 0) throw new ShapeError(`${op}: expected at least one sample, got empty predictions and targets`);
    const [predMin, predMax, trueMin, trueMax] = await stack([pred.amin(), pred.amax(), truth.amin(), truth.amax()]).data();
    const n = classNames?.length ?? opts.numClasses ?? Math.max(predMax!, trueMax!) + 1;
    const range = classNames ? `the ${n} classNames` : opts.numClasses ? `numClasses ${n}` : 'labels >= 0';
    for (const [name, lo, hi] of [['predictions', predMin!, predMax!], ['targets', trueMin!, trueMax!]] as const) {
      if (lo < 0 || hi >= n) throw new IndexError(`${op}: expected ${name} in [0, ${n}) (${range}), got ${lo < 0 ? lo : hi}`);
    }
    const flat = await countConfusions(pred, truth, n).data();
    return Array.from({ length: n }, (_, t) => Array.from(flat.subarray(t * n, (t + 1) * n)));
  });
  const matrix = normalized(counts, normalize);
  const names = classNames ?? counts.map((_, i) => String(i));
  const format = normalize ? '.2f' : 'd';
  const max = Math.max(...matrix.flat());
  const cells = matrix.flatMap((row, t) => row.map((value, p) => ({ true: names[t]!, predicted: names[p]!, value, dark: value > max / 2 })));
  const legendTitle = { true: 'fraction of true label', pred: 'fraction of predicted label', all: 'fraction of all' } as const;

  const chart = await renderVegaLite({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: opts.title ?? 'Confusion matrix',
    width: cellSize * names.length,
    height: cellSize * names.length,
    background: 'white',
    data: { values: cells },
    encoding: {
      x: { field: 'predicted', type: 'ordinal', sort: names, title: 'Predicted label', axis: { labelAngle: -45 } },
      y: { field: 'true', type: 'ordinal', sort: names, title: 'True label' },
    },
    layer: [
      { mark: 'rect', encoding: { color: { field: 'value', type: 'quantitative', title: normalize ? legendTitle[normalize] : 'count', scale: { scheme: 'blues' }, legend: { titleLimit: 240 } } } },
      {
        mark: { type: 'text', fontSize: Math.min(12, cellSize / 3.2) },
        encoding: {
          text: { field: 'value', type: 'quantitative', format },
          // Light text on the dark half of the scale, so every number stays readable.
          color: { condition: { test: 'datum.dark', value: 'white' }, value: 'black' },
        },
      },
    ],
  });
  return { ...chart, matrix };
}
