// The measuring loop shared by bench/ops.ts and bench/train.ts: for each case, every
// contender (neocog, then each PyTorch configuration) builds it, then they take turns for
// k rounds (neocog, torch tuned, torch default, torch 2 tuned, neocog, ...), each turn the
// median of the case's repeats; a contender's figure is the median over rounds. Taking
// turns spreads the machine's slow moments over everyone, and only one contender ever runs.
import type { OutputFingerprint } from './output_check.js';
import type { MemoryFormat } from './peer.js';

/** One side of the comparison: neocog in this process, or a PyTorch peer process. */
export interface Contender {
  /** Label in tables and JSON ("neocog", "torch 1.13.0 tuned", ...). */
  name: string;
  /**
   * Builds case `i` and warms it up; the layouts it will time, the model's parameter count
   * for model cases, and (where the bench compares outputs) the fingerprint of its output.
   */
  prepare(i: number): Promise<{ formats: MemoryFormat[]; params: number | null; check?: OutputFingerprint }>;
  /** One round: the median ms of the case's repeats, per layout. */
  run(i: number): Promise<Partial<Record<MemoryFormat, number>>>;
  /** Frees what prepare built. */
  release(i: number): Promise<void>;
}

/** What one contender measured on one case. */
export interface Measurement {
  /** Per layout: the round medians and their median. */
  formats: Partial<Record<MemoryFormat, { rounds: number[]; medianMs: number }>>;
  /** The faster layout and its median; null when the case could not run here. */
  best: { format: MemoryFormat; ms: number } | null;
  params: number | null;
  /** The output's fingerprint, where the contender computed one at prepare. */
  check?: OutputFingerprint;
  /** Why the case could not run in this contender (e.g. torchvision missing). */
  error?: string;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

/** Measures every case in every contender, taking turns; results[case][contender]. */
export async function alternate(
  caseCount: number,
  contenders: readonly Contender[],
  rounds: number,
  onCase: (i: number, results: Measurement[]) => void,
): Promise<Measurement[][]> {
  const all: Measurement[][] = [];
  for (let i = 0; i < caseCount; ++i) {
    const results: Measurement[] = contenders.map(() => ({ formats: {}, best: null, params: null }));
    const rows: Partial<Record<MemoryFormat, number[]>>[] = contenders.map(() => ({}));
    for (const [c, contender] of contenders.entries()) {
      try {
        const prepared = await contender.prepare(i);
        results[c]!.params = prepared.params;
        if (prepared.check !== undefined) results[c]!.check = prepared.check;
      } catch (e) {
        results[c]!.error = (e as Error).message.split('\n')[0];
      }
    }
    for (let r = 0; r < rounds; ++r) {
      for (const [c, contender] of contenders.entries()) {
        if (results[c]!.error !== undefined) continue;
        try {
          for (const [format, ms] of Object.entries(await contender.run(i)) as [MemoryFormat, number][]) {
            (rows[c]![format] ??= []).push(ms);
          }
        } catch (e) {
          results[c]!.error = (e as Error).message.split('\n')[0];
        }
      }
    }
    for (const [c, contender] of contenders.entries()) {
      await contender.release(i).catch(() => undefined);
      const result = results[c]!;
      if (result.error !== undefined) continue;
      for (const [format, list] of Object.entries(rows[c]!) as [MemoryFormat, number[]][]) {
        const ms = median(list);
        result.formats[format] = { rounds: list.map((x) => +x.toFixed(3)), medianMs: +ms.toFixed(3) };
        if (!result.best || ms < result.best.ms) result.best = { format, ms: +ms.toFixed(3) };
      }
    }
    onCase(i, results);
    all.push(results);
  }
  return all;
}

/** Median of `repeats` timed calls of `step` (ms), for neocog contenders. */
export async function medianMs(step: () => Promise<void>, repeats: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < repeats; ++i) {
    const start = performance.now();
    await step();
    times.push(performance.now() - start);
  }
  return median(times);
}
