// connectedComponents against scipy.ndimage.label (issue 14: target >= 1x scipy) on a 2048 x 2048
// mask of smoothed blobs covering half the image, connectivity 4 and 8. scipy's side is
// bench/connected_components_scipy.py (Debian's /usr/bin/python3), which also makes the mask so
// both label the same pixels. The contenders take turns round by round, never measuring at
// once; the table gives median ms and scipy / neocog. Standalone for now (to be wired into
// bench/segmentation.ts):
//   npx tsx bench/connected_components.ts            (NEOCOG_BENCH_ROUNDS rounds, default 5)
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { connectedComponents, tensor } from '../lib/index.js';

const SIZE = 2048;
const REPEATS = 5;
const CONNECTIVITIES = [4, 8] as const;
const rounds = Number(process.env['NEOCOG_BENCH_ROUNDS'] ?? 5);

interface ScipyRun {
  scipy: string;
  [connectivity: string]: { ms: number[]; count: number } | string;
}

function scipyRound(path: string, make: boolean): ScipyRun {
  const args = ['bench/connected_components_scipy.py', path, String(SIZE), String(REPEATS), ...(make ? ['--make'] : [])];
  const run = spawnSync('/usr/bin/python3', args, { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`connected_components_scipy.py failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as ScipyRun;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function main(): Promise<void> {
  const path = join(tmpdir(), `neocog-cc-bench-${process.pid}.u8`);
  try {
    const times: Record<string, { neocog: number[]; scipy: number[] }> = {};
    for (const c of CONNECTIVITIES) times[c] = { neocog: [], scipy: [] };
    let scipyVersion = '';
    let mask: ReturnType<typeof tensor> | null = null;
    for (let round = 0; round < rounds; ++round) {
      const peer = scipyRound(path, round === 0);
      scipyVersion = peer.scipy;
      mask ??= tensor(new Uint8Array(readFileSync(path)), { shape: [SIZE, SIZE] });
      for (const c of CONNECTIVITIES) {
        const result = peer[String(c)] as { ms: number[]; count: number };
        times[c]!.scipy.push(...result.ms);
        // Warm-up, and the same components as scipy.
        const first = connectedComponents(mask, { connectivity: c });
        first.labels.dispose();
        if (first.count !== result.count) throw new Error(`connectivity ${c}: neocog found ${first.count} components, scipy ${result.count}`);
        for (let k = 0; k < REPEATS; ++k) {
          const start = performance.now();
          const { labels } = connectedComponents(mask, { connectivity: c });
          times[c]!.neocog.push(performance.now() - start);
          labels.dispose();
        }
      }
      // Let the event loop turn between rounds (finalizers, the stream's callbacks).
      await new Promise((resolve) => setImmediate(resolve));
    }
    console.log(`connectedComponents ${SIZE}x${SIZE}, blobs at density 0.5; ${rounds} rounds x ${REPEATS} runs; scipy ${scipyVersion}`);
    console.log('connectivity | neocog ms | scipy ms | scipy / neocog');
    for (const c of CONNECTIVITIES) {
      const n = median(times[c]!.neocog), s = median(times[c]!.scipy);
      console.log(`${String(c).padStart(12)} | ${n.toFixed(1).padStart(9)} | ${s.toFixed(1).padStart(8)} | ${(s / n).toFixed(2).padStart(14)}`);
    }
    mask?.dispose();
  } finally {
    rmSync(path, { force: true });
  }
}

await main();
