/**
 * Training curves: one panel per quantity of a training history (loss, accuracy, top-k,
 * learning rate, any other number the epoch records carry), train and validation on the
 * same axes, the best epoch marked, drawn with {@link renderVegaLite}.
 * @module
 */
import { ArgumentError } from '../errors.js';
import { describe } from '../tensor/shape.js';
import { renderVegaLite, type RenderedChart } from './vega.js';

/** Options of {@link trainingCurves}. */
export interface TrainingCurvesOptions {
  /** The chart's title (default 'Training curves'). */
  title?: string;
  /**
   * The key whose best epoch is marked (default 'valLoss' when the history has it, else
   * 'loss'), as `train.earlyStopping`'s monitor.
   */
  monitor?: string;
  /** Whether the best `monitor` value is the lowest or the highest (default 'min' for keys containing 'loss', else 'max'). */
  mode?: 'min' | 'max';
  /** Panel width in SVG units (default 480). */
  width?: number;
  /** Height of each panel in SVG units (default 150). */
  height?: number;
}

// Keys that are not per-epoch quantities: the x axis, and fit's wall-clock time since the start.
const NOT_PLOTTED = new Set(['epoch', 'seconds']);
const LABELS: Record<string, string> = { loss: 'Loss', accuracy: 'Accuracy', topk: 'Top-k accuracy', lr: 'Learning rate' };
const FORMATS: Record<string, string> = { accuracy: '.0%', topk: '.0%', lr: '~g' };
const COLORS: Record<string, string> = { train: '#1f77b4', validation: '#ff7f0e', 'learning rate': '#2ca02c' };

interface Point {
  epoch: number;
  value: number;
  series: string;
}

/** The panel a key belongs to and its series: `valLoss` is the validation series of `loss`. */
function panelOf(key: string): { panel: string; series: string } {
  if (/^val[A-Z]/.test(key)) return { panel: key[3]!.toLowerCase() + key.slice(4), series: 'validation' };
  return { panel: key, series: key === 'lr' ? 'learning rate' : 'train' };
}

/** 'validation loss', 'train accuracy', 'learning rate': a key in words, for the title and legend. */
function inWords(key: string): string {
  const { panel, series } = panelOf(key);
  const label = (LABELS[panel] ?? panel).toLowerCase();
  return series === 'learning rate' ? label : `${series} ${label}`;
}

/** The epoch with the best `monitor` value (the first one on ties), or null when no epoch has it. */
function bestEpoch(history: readonly Readonly<Record<string, unknown>>[], monitor: string, mode: 'min' | 'max'): { epoch: number; value: number } | null {
  let best: { epoch: number; value: number } | null = null;
  for (const log of history) {
    const value = log[monitor];
    if (typeof value !== 'number' || !Number.isFinite(value)) continue;
    if (best === null || (mode === 'min' ? value < best.value : value > best.value)) best = { epoch: log.epoch as number, value };
  }
  return best;
}

/**
 * Charts a training history, as `train.fit` returns it (or as read back from its
 * `history.json`), as SVG and PNG (async: see {@link renderVegaLite}). Each quantity gets
 * its own panel with its own y axis, stacked over a shared "Epoch" axis: Loss, Accuracy,
 * Top-k accuracy, any other numeric key, then Learning rate. A key `valX` is drawn as the
 * validation line in the panel of `X`. `epoch` is the x axis; `seconds` (wall-clock time)
 * is not drawn. A dashed rule and rings mark the best epoch of `monitor` (by default the
 * lowest validation loss, or the lowest training loss without validation); the legend and
 * the subtitle say which.
 *
 * @example
 * const history = await train.fit(model, { epochs: 10, optimizer, train: trainLoader, validation: testLoader });
 * const { svg, png } = await viz.trainingCurves(history);
 * writeFileSync('curves.png', png);
 * // Mark the most accurate epoch instead of the lowest validation loss:
 * await viz.trainingCurves(history, { monitor: 'valAccuracy' });
 */
export async function trainingCurves<T extends { epoch: number }>(history: readonly T[], opts: TrainingCurvesOptions = {}): Promise<RenderedChart> {
  const op = 'trainingCurves';
  if (!Array.isArray(history) || history.length === 0) throw new ArgumentError(`${op}: expected history to be a non-empty array of epoch records, got ${describe(history)}`);
  const logs = history as readonly Readonly<Record<string, unknown>>[];
  logs.forEach((log, i) => {
    if (typeof log !== 'object' || log === null || typeof log.epoch !== 'number' || !Number.isFinite(log.epoch)) {
      throw new ArgumentError(`${op}: expected history[${i}] to be an object with a numeric epoch, got ${describe(log)}`);
    }
  });
  const hasKey = (key: string) => logs.some((log) => typeof log[key] === 'number');
  const monitor = opts.monitor ?? (hasKey('valLoss') ? 'valLoss' : 'loss');
  if (typeof monitor !== 'string') throw new ArgumentError(`${op}: expected monitor to be a key of the history, got ${describe(monitor)}`);
  if (opts.monitor !== undefined && !hasKey(monitor)) throw new ArgumentError(`${op}: expected monitor to be a numeric key of the history, got '${monitor}'`);
  const mode = opts.mode ?? (monitor.toLowerCase().includes('loss') ? 'min' : 'max');
  if (mode !== 'min' && mode !== 'max') throw new ArgumentError(`${op}: expected mode 'min' or 'max', got ${describe(opts.mode)}`);
  const width = opts.width ?? 480;
  const height = opts.height ?? 150;
  for (const [name, value] of [['width', width], ['height', height]] as const) {
    if (!(typeof value === 'number' && value > 0)) throw new ArgumentError(`${op}: expected ${name} > 0, got ${describe(value)}`);
  }

  // Panels in order of their first key in the records, the learning rate last.
  const panels = new Map<string, Point[]>();
  for (const log of logs) {
    for (const [key, value] of Object.entries(log)) {
      if (NOT_PLOTTED.has(key) || typeof value !== 'number' || !Number.isFinite(value)) continue;
      const { panel, series } = panelOf(key);
      const points = panels.get(panel) ?? [];
      panels.set(panel, points);
      points.push({ epoch: log.epoch as number, value, series });
    }
  }
  if (panels.size === 0) throw new ArgumentError(`${op}: the history has no numeric quantity to chart besides epoch and seconds`);
  const order = [...panels.keys()].sort((a, b) => Number(a === 'lr') - Number(b === 'lr'));

  const best = bestEpoch(logs, monitor, mode);
  const criterion = `${mode === 'min' ? 'lowest' : 'highest'} ${inWords(monitor)}`;
  const bestLabel = best && `best epoch (${criterion})`;
  const seriesNames = [...new Set([...panels.values()].flat().map((p) => p.series))];
  const domain = bestLabel ? [...seriesNames, bestLabel] : seriesNames;
  const color = {
    field: 'series',
    type: 'nominal',
    title: null,
    // Room for the best epoch's label: the default limit cuts it short.
    legend: { labelLimit: 400 },
    scale: { domain, range: domain.map((s) => COLORS[s] ?? '#555555') },
  } as const;
  const x = { field: 'epoch', type: 'quantitative', title: 'Epoch', axis: { tickMinStep: 1, format: 'd' } } as const;

  return renderVegaLite({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: {
      text: opts.title ?? 'Training curves',
      ...(best && { subtitle: `Best epoch ${best.epoch}: ${criterion}, ${Number(best.value.toPrecision(4))}` }),
    },
    background: 'white',
    vconcat: order.map((panel) => {
      const points = panels.get(panel)!;
      const label = LABELS[panel] ?? panel;
      const format = FORMATS[panel];
      return {
        width,
        height,
        layer: [
          {
            data: { values: points },
            mark: { type: 'line' as const, point: true },
            encoding: { x, y: { field: 'value', type: 'quantitative' as const, title: label, scale: { zero: false }, ...(format && { axis: { format } }) }, color },
          },
          ...(best === null
            ? []
            : [
                { data: { values: [{ epoch: best.epoch, series: bestLabel }] }, mark: { type: 'rule' as const, strokeDash: [4, 3] }, encoding: { x, color } },
                {
                  data: { values: points.filter((p) => p.epoch === best.epoch) },
                  mark: { type: 'point' as const, size: 160, strokeWidth: 2 },
                  encoding: { x, y: { field: 'value', type: 'quantitative' as const }, color },
                },
              ]),
        ],
      };
    }),
  });
}
