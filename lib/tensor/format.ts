/**
 * PyTorch-style printing: `tensor([[1., 2.],\n        [3., 4.]])`, 4 decimals or
 * scientific notation for wide ranges, `...` summaries above 1000 elements.
 * @module
 */
import type { Device } from './device.js';
import { isFloatingPoint, isHalf, type DType } from './dtype.js';

const PRECISION = 4;
const LINE_WIDTH = 80;
const THRESHOLD = 1000;
const EDGE_ITEMS = 3;

type Formatter = (v: number) => string;

function sci(v: number): string {
  const [mantissa, exponent] = v.toExponential(PRECISION).split('e') as [string, string];
  const sign = exponent.startsWith('-') ? '-' : '+';
  return `${mantissa}e${sign}${exponent.replace(/^[-+]/, '').padStart(2, '0')}`;
}

function special(v: number): string | null {
  if (Number.isNaN(v)) return 'nan';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  return null;
}

/** Chooses the float notation the way torch._tensor_str._Formatter does. */
function floatFormatter(values: ArrayLike<number>): Formatter {
  const finite: number[] = [];
  for (let i = 0; i < values.length; ++i) if (Number.isFinite(values[i]!)) finite.push(values[i]!);
  const nonzero = finite.filter((v) => v !== 0).map(Math.abs);
  const integral = finite.every((v) => Number.isInteger(v));
  const max = nonzero.length ? Math.max(...nonzero) : 0;
  const min = nonzero.length ? Math.min(...nonzero) : 0;
  if (integral) {
    if (max / min > 1000 || max > 1e8) return (v) => special(v) ?? sci(v);
    return (v) => special(v) ?? `${v.toFixed(0)}.`;
  }
  if (max / min > 1000 || max > 1e8 || min < 1e-4) return (v) => special(v) ?? sci(v);
  return (v) => special(v) ?? v.toFixed(PRECISION);
}

/** Formats `values` (row-major) of `shape` like torch's repr. */
export function formatTensor(values: ArrayLike<number>, shape: readonly number[], dtype: DType, device: Device): string {
  const numel = values.length;
  const summarize = numel > THRESHOLD;
  const suffixes: string[] = [];
  if (numel === 0 && shape.length !== 1) suffixes.push(`size=(${shape.join(', ')}${shape.length === 1 ? ',' : ''})`);
  if (dtype === 'uint8' || isHalf(dtype)) suffixes.push(`dtype=${dtype}`);
  if (device !== 'cpu') suffixes.push(`device='${device}'`);

  // Only the printed elements decide the notation and width.
  const shown: number[] = [];
  const strides = shape.map((_, d) => shape.slice(d + 1).reduce((n, s) => n * s, 1));
  const visit = (dim: number, base: number, sink: (i: number) => void): void => {
    if (dim === shape.length) return sink(base);
    const size = shape[dim]!;
    const indices =
      summarize && size > 2 * EDGE_ITEMS
        ? [...Array(EDGE_ITEMS).keys(), ...Array.from({ length: EDGE_ITEMS }, (_, k) => size - EDGE_ITEMS + k)]
        : [...Array(size).keys()];
    for (const i of indices) visit(dim + 1, base + i * strides[dim]!, sink);
  };
  visit(0, 0, (i) => shown.push(values[i]!));

  const format: Formatter =
    isFloatingPoint(dtype) ? floatFormatter(shown) : dtype === 'bool' ? (v) => (v ? 'True' : 'False') : (v) => String(v);
  const width = shown.reduce((w, v) => Math.max(w, format(v).length), 0);
  const cell = (i: number) => format(values[i]!).padStart(width);

  const prefix = 'tensor(';
  const render = (dim: number, base: number, indent: number): string => {
    if (shape.length === 0) return cell(0);
    const size = shape[dim]!;
    const elided = summarize && size > 2 * EDGE_ITEMS;
    const head = elided ? EDGE_ITEMS : size;
    const items: string[] = [];
    for (let i = 0; i < head; ++i) items.push(dim === shape.length - 1 ? cell(base + i * strides[dim]!) : render(dim + 1, base + i * strides[dim]!, indent + 1));
    if (elided) {
      items.push(dim === shape.length - 1 ? ' ...' : '...'); // torch's spacing
      for (let i = size - EDGE_ITEMS; i < size; ++i) {
        items.push(dim === shape.length - 1 ? cell(base + i * strides[dim]!) : render(dim + 1, base + i * strides[dim]!, indent + 1));
      }
    }
    if (dim === shape.length - 1) {
      // Wrap long rows at the line width, as torch does.
      const perLine = Math.max(1, Math.floor((LINE_WIDTH - indent) / (width + 2)));
      const lines: string[] = [];
      for (let i = 0; i < items.length; i += perLine) lines.push(items.slice(i, i + perLine).join(', '));
      return `[${lines.join(`,\n${' '.repeat(indent + 1)}`)}]`;
    }
    const separator = `,${'\n'.repeat(shape.length - dim - 1)}${' '.repeat(indent + 1)}`;
    return `[${items.join(separator)}]`;
  };
  const body = numel === 0 ? '[]' : render(0, 0, prefix.length);
  return `${prefix}${[body, ...suffixes].join(', ')})`;
}
