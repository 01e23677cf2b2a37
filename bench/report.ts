// Table cells and the results file shared by bench/ops.ts and bench/train.ts.
import { mkdirSync, writeFileSync } from 'node:fs';

import type { Contender, Measurement } from './alternate.js';
import type { Machine } from './machine.js';
import { compareFingerprints } from './output_check.js';

/**
 * A table cell: the contender's best figure (ms, or images/s via `value`), and which
 * layout won when more than one was timed ("cl" = channels_last); "n/a" when it could not run.
 */
export function cell(m: Measurement, value: (ms: number) => number = (ms) => ms): string {
  if (!m.best) return 'n/a';
  const layouts = Object.keys(m.formats).length;
  const figure = value(m.best.ms);
  const text = figure >= 100 ? figure.toFixed(0) : figure >= 10 ? figure.toFixed(1) : figure.toFixed(2);
  return layouts > 1 ? `${text} ${m.best.format === 'channels_last' ? 'cl' : 'nchw'}` : text;
}

/** The fastest PyTorch configuration on a case (contenders after neocog), or null if none ran. */
export function bestPeer(contenders: readonly Contender[], results: readonly Measurement[]): { name: string; ms: number } | null {
  let best: { name: string; ms: number } | null = null;
  for (let c = 1; c < contenders.length; ++c) {
    const b = results[c]!.best;
    if (b && (!best || b.ms < best.ms)) best = { name: contenders[c]!.name, ms: b.ms };
  }
  return best;
}

/** Writes bench/results/<name>.json: date, machine (with the measured peak), configurations, cases. */
export function saveResults(name: string, payload: { machine: Machine; rounds: number; configs: unknown[]; cases: unknown[] }): string {
  mkdirSync('bench/results', { recursive: true });
  const path = `bench/results/${name}.json`;
  writeFileSync(path, `${JSON.stringify({ date: new Date().toISOString(), ...payload }, null, 2)}\n`);
  return path;
}

/** One result of one contender on one case, as stored in the JSON (figures in ms). */
export function measurementJson(contender: Contender, m: Measurement) {
  return { config: contender.name, bestMs: m.best?.ms ?? null, bestFormat: m.best?.format ?? null, formats: m.formats, params: m.params, ...(m.error ? { error: m.error } : {}) };
}

/** Prints rows as an aligned plain-text table (text left, figures right), pasteable into an issue. */
export function printTable(rows: readonly Record<string, string | number>[]): void {
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const text = (r: Record<string, string | number>, c: string) => String(r[c] ?? '');
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => text(r, c).length)));
  const numeric = columns.map((c) => rows.every((r) => r[c] === undefined || /^[\d.]+( \w+)?%?$|^n\/a$/.test(text(r, c))));
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  console.log(line(columns.map((c, i) => c.padEnd(widths[i]!))));
  console.log(line(widths.map((w, i) => (numeric[i] ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w)))));
  for (const r of rows) console.log(line(columns.map((c, i) => (numeric[i] ? text(r, c).padStart(widths[i]!) : text(r, c).padEnd(widths[i]!)))));
}

/** The "outputs" cell: each peer's fingerprint against neocog's; the worst one decides. */
export function outputsCell(contenders: readonly Contender[], results: readonly Measurement[]): string {
  const ours = results[0]!.check;
  if (!ours) return 'n/a';
  const compared = results.slice(1).flatMap((r, k) => (r.check ? [{ name: contenders[k + 1]!.name, ...compareFingerprints(ours, r.check) }] : []));
  if (compared.length === 0) return 'n/a';
  const differing = compared.filter((c) => !c.agree);
  if (differing.length > 0) return differing.map((c) => `${c.name}: ${c.text}`).join('; ');
  return `agree (${Math.max(...compared.map((c) => c.maxRelDiff!)).toExponential(1)})`;
}
