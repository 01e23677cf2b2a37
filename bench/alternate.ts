// The measuring loop shared by bench/ops.ts and bench/train.ts: for each case, every
// contender (neocog, then each PyTorch configuration) builds it, then they take turns for
// k rounds (neocog, torch tuned, torch default, torch 2 tuned, neocog, ...), each turn the
// median of the case's repeats; a contender's figure is the median over rounds. Taking
// turns spreads the machine's slow moments over everyone, and only one contender ever runs:
// each turn starts once the machine is idle (waitForIdle), because OpenMP threads spin for
// a while after their work ends (Debian's PyTorch 1.13 burned ~120 ms of CPU after each
// U-Net step, neocog's own libgomp threads do too), which took cores from the next turn,
// and each turn repeats its round once untimed first: a contender's first steps after the
// others' turns ran up to 1.5x slower (sleeping threads, cold caches) on small models.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

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

/** Measures every case in every contender, taking turns; results[case][contender]. `settle` runs before each turn. */
export async function alternate(
  caseCount: number,
  contenders: readonly Contender[],
  rounds: number,
  onCase: (i: number, results: Measurement[]) => void,
  settle: () => Promise<void> = waitForIdle,
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
    const turnMs: number[] = [];
    for (let r = 0; r < rounds; ++r) {
      for (const [c, contender] of contenders.entries()) {
        if (results[c]!.error !== undefined) continue;
        await settle();
        try {
          // Untimed: wakes the contender's threads and caches after the others' turns (not
          // needed where a turn takes seconds).
          if ((turnMs[c] ?? 0) < 1000) await contender.run(i);
          const started = performance.now();
          const timed = await contender.run(i);
          turnMs[c] = performance.now() - started;
          for (const [format, ms] of Object.entries(timed) as [MemoryFormat, number][]) {
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

/** Busy and total CPU time of the machine so far (jiffies, all cores), from /proc/stat. */
function cpuTimes(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  // idle and iowait
  return { busy: total - fields[3]! - (fields[4] ?? 0), total };
}

/**
 * Waits until the machine's cores were at most 5% busy over 100 ms (at most 3 s, then
 * goes on): the previous contender's threads have stopped spinning.
 */
export async function waitForIdle(): Promise<void> {
  for (let waited = 0; waited < 3000; waited += 100) {
    const before = cpuTimes();
    await sleep(100);
    const after = cpuTimes();
    if (after.busy - before.busy <= 0.05 * Math.max(1, after.total - before.total)) return;
  }
}

/**
 * The least time (ms) every contender spends warming a model case up before its turns:
 * after the case's `warmup` steps, more steps until this much time has passed (cases with
 * warmup 0, whose steps take seconds, skip it). bench/torch_peer.py and bench/ort_peer.ts
 * follow the same rule. A U-Net b1 step in neocog ran ~10% slower over its first ~100 steps
 * than after (V8 still compiling the ops' JavaScript, seen with --trace-opt), and a case's
 * turns took only ~150 steps: the figures caught a warm-up that a training run of thousands
 * of steps does not see.
 */
export function warmupMsFromEnv(): number {
  const ms = Number(process.env.NEOCOG_BENCH_WARMUP_MS ?? 2000);
  if (!Number.isFinite(ms) || ms < 0) throw new Error(`bench: NEOCOG_BENCH_WARMUP_MS must be a number >= 0, got ${process.env.NEOCOG_BENCH_WARMUP_MS}`);
  return ms;
}

/** Runs `step` `steps` times, then (when steps > 0) until warmupMsFromEnv() ms have passed. */
export async function warmUp(step: () => Promise<unknown>, steps: number): Promise<void> {
  const started = performance.now();
  const floorMs = steps > 0 ? warmupMsFromEnv() : 0;
  for (let k = 0; k < steps || performance.now() - started < floorMs; ++k) await step();
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
