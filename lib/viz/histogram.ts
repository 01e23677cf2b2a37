/**
 * Per-parameter histograms of a model's weights or gradients, one small panel each, so a
 * layer of dead ReLUs (a spike at 0), a saturated layer or exploding gradients (a range far
 * from the others, non-finite values) stand out. Counting is `histc`'s, on the tensors'
 * device; drawing is {@link renderVegaLite}'s.
 * @module
 */
import { noGrad } from '../autograd/grad_mode.js';
import { ArgumentError } from '../errors.js';
import { Module, type AnyModule } from '../nn/module.js';
import { where } from '../ops/compare.js';
import { stack } from '../ops/shape.js';
import { histc } from '../ops/sort.js';
import { checkTensor } from '../ops/validate.js';
import { scope } from '../tensor/memory.js';
import { describe } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { renderVegaLite, type RenderedChart } from './vega.js';

/** Tensors by name: a Map, or a record such as a state dict's. */
export type NamedTensors = ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>;

/** Options of {@link histogram}. */
export interface HistogramOptions {
  /** Chart the values ('weights', the default) or their `.grad` ('grads', after a backward). */
  of?: 'weights' | 'grads';
  /** Equal-width bins per panel, over that tensor's finite range (default 30). */
  bins?: number;
  /** The chart's title (default 'Weight histograms' or 'Gradient histograms'). */
  title?: string;
  /** Panels per row (default 4). */
  columns?: number;
  /** Panel width in SVG units (default 180). */
  width?: number;
  /** Panel height in SVG units (default 100). */
  height?: number;
}

/** One panel of {@link histogram}: a tensor's bins. */
export interface TensorHistogram {
  /** The parameter's (or tensor's) name. */
  name: string;
  /** Its shape. */
  shape: number[];
  /** `bins + 1` bin edges, increasing: bin i holds values in [edges[i], edges[i + 1]) (the last one closed). */
  edges: number[];
  /** The values in each bin; with `nonFinite`, they sum to the tensor's numel. */
  counts: number[];
  /** NaN and ±Infinity values, counted apart (no bin holds them). */
  nonFinite: number;
}

/** The chart of {@link histogram}, the numbers it shows, and what it left out. */
export interface HistogramChart extends RenderedChart {
  /** One entry per panel, in the model's parameter order. */
  histograms: TensorHistogram[];
  /** Tensors with no panel: no gradient yet (with `of: 'grads'`), or no elements. */
  skipped: { name: string; reason: 'no gradient' | 'empty' }[];
}

const op = 'histogram';

/** The named tensors of `source`, checked. */
function entriesOf(source: AnyModule | NamedTensors): [string, Tensor][] {
  if (source instanceof Module) return [...source.namedParameters()];
  if (typeof source !== 'object' || source === null) throw new ArgumentError(`${op}: expected a Module, a Map of tensors or a record of tensors, got ${describe(source)}`);
  const entries: [string, unknown][] = source instanceof Map ? [...source.entries()] : Object.entries(source);
  return entries.map(([name, t]) => [name, checkTensor(op, `tensors['${name}']`, t)]);
}

/**
 * Charts a histogram of each parameter of `model` (or each named tensor), one panel per
 * tensor with its own axes, as SVG and PNG, and returns the counts. With `of: 'grads'` it
 * charts each parameter's `.grad`: parameters without one (frozen, unused, or before
 * the first backward) are skipped and listed in the subtitle and in `skipped`; when none
 * has a gradient it throws ArgumentError. Bins span each tensor's finite range; NaN and
 * ±Infinity are counted apart and shown in the panel's header. Async: the tensors are
 * counted on their device and read back once.
 *
 * @example
 * loss.backward();
 * const { png } = await viz.histogram(model, { of: 'grads', bins: 40 });
 * writeFileSync('grads.png', png);
 * // Weights of a checkpoint, by state-dict name:
 * await viz.histogram(await io.loadStateDict('model.safetensors'));
 */
export async function histogram(model: AnyModule | NamedTensors, opts: HistogramOptions = {}): Promise<HistogramChart> {
  const of = opts.of ?? 'weights';
  if (of !== 'weights' && of !== 'grads') throw new ArgumentError(`${op}: expected of 'weights' or 'grads', got ${describe(opts.of)}`);
  const bins = opts.bins ?? 30;
  if (!Number.isInteger(bins) || bins < 1 || bins > 1000) throw new ArgumentError(`${op}: expected bins to be an integer in [1, 1000], got ${describe(bins)}`);
  const columns = opts.columns ?? 4;
  if (!Number.isInteger(columns) || columns < 1) throw new ArgumentError(`${op}: expected columns to be an integer >= 1, got ${describe(columns)}`);
  const width = opts.width ?? 180;
  const height = opts.height ?? 100;
  for (const [name, value] of [['width', width], ['height', height]] as const) {
    if (!(typeof value === 'number' && value > 0)) throw new ArgumentError(`${op}: expected ${name} > 0, got ${describe(value)}`);
  }

  const skipped: HistogramChart['skipped'] = [];
  const charted: { name: string; values: Tensor }[] = [];
  for (const [name, t] of entriesOf(model)) {
    const values = of === 'grads' ? t.grad : t;
    if (values === null) skipped.push({ name, reason: 'no gradient' });
    else if (values.numel === 0) skipped.push({ name, reason: 'empty' });
    else charted.push({ name, values });
  }
  if (charted.length === 0) {
    const why = of === 'grads' && skipped.some((s) => s.reason === 'no gradient') ? ' has a gradient (call backward() first)' : ' has elements';
    throw new ArgumentError(`${op}: no tensor${why}, so there is nothing to chart`);
  }

  const histograms = await scope(async () => {
    // The finite range of each tensor, then its bins over that range: two reads in all.
    const ranges = noGrad(() =>
      charted.map(({ values }) => {
        const x = values.float();
        const finite = x.abs().lt(Infinity);
        return stack([where(finite, x, Infinity).amin(), where(finite, x, -Infinity).amax()]).data();
      }),
    );
    const bounds = (await Promise.all(ranges)).map(([lo, hi]) => {
      // No finite value: an empty unit range. One value: a unit range around it, as numpy.
      if (!Number.isFinite(lo!)) return [-0.5, 0.5] as const;
      return lo === hi ? ([lo! - 0.5, hi! + 0.5] as const) : ([lo!, hi!] as const);
    });
    const counts = await Promise.all(noGrad(() => charted.map(({ values }, i) => histc(values.float(), bins, bounds[i]![0], bounds[i]![1]).data())));
    return charted.map(({ name, values }, i): TensorHistogram => {
      const [lo, hi] = bounds[i]!;
      const binCounts = Array.from(counts[i]!);
      return {
        name,
        shape: [...values.shape],
        edges: Array.from({ length: bins + 1 }, (_, k) => (k === bins ? hi : lo + ((hi - lo) * k) / bins)),
        counts: binCounts,
        nonFinite: values.numel - binCounts.reduce((a, b) => a + b, 0),
      };
    });
  });

  const panelOf = (h: TensorHistogram) => `${h.name} [${h.shape.join(', ')}]${h.nonFinite > 0 ? `, ${h.nonFinite} non-finite` : ''}`;
  const values = histograms.flatMap((h) => h.counts.map((count, k) => ({ panel: panelOf(h), start: h.edges[k]!, end: h.edges[k + 1]!, count })));
  const notes = [`${bins} bins per panel`, ...(skipped.length > 0 ? [`skipped: ${skipped.map((s) => `${s.name} (${s.reason})`).join(', ')}`] : [])];
  const chart = await renderVegaLite({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: opts.title ?? (of === 'grads' ? 'Gradient histograms' : 'Weight histograms'), subtitle: notes },
    background: 'white',
    data: { values },
    facet: { field: 'panel', type: 'nominal', title: null, sort: histograms.map(panelOf) },
    columns,
    // Each tensor on its own scales: a layer's spread is read against itself.
    resolve: { scale: { x: 'independent', y: 'independent' } },
    spec: {
      width,
      height,
      mark: { type: 'rect', color: '#4c78a8' },
      encoding: {
        x: { field: 'start', type: 'quantitative', title: of === 'grads' ? 'Gradient' : 'Value', axis: { tickCount: 4 } },
        x2: { field: 'end' },
        y: { field: 'count', type: 'quantitative', title: 'Count', axis: { tickCount: 3, tickMinStep: 1 } },
      },
    },
  });
  return { ...chart, histograms, skipped };
}
