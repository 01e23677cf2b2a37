import { describe, expect, it } from 'vitest';

import { alternate, type Contender } from '../../bench/alternate.js';
import type { MemoryFormat } from '../../bench/peer.js';

/** A contender that logs every call and answers scripted timings (one entry per run call, the untimed ones included). */
function fake(name: string, log: string[], timings: Partial<Record<MemoryFormat, number[]>>, fail?: 'prepare' | 'run'): Contender {
  let round = 0;
  return {
    name,
    async prepare(i) {
      log.push(`${name} prepare ${i}`);
      if (fail === 'prepare') throw new Error(`No module named 'torchvision'\ntraceback`);
      return { formats: Object.keys(timings) as MemoryFormat[], params: 7 };
    },
    async run(i) {
      log.push(`${name} run ${i}`);
      if (fail === 'run') throw new Error('peer died');
      const r = round++;
      return Object.fromEntries(Object.entries(timings).map(([f, list]) => [f, list[r]]));
    },
    async release(i) {
      log.push(`${name} release ${i}`);
      round = 0;
    },
  };
}

/** No wait between turns (the bench waits for an idle machine). */
const noSettle = async () => undefined;

describe('alternate', () => {
  it('takes turns: every contender prepares, then per round each settles and runs an untimed and a timed turn, then all release', async () => {
    const log: string[] = [];
    const contenders = [fake('neocog', log, { channels_last: [1, 1, 1, 1] }), fake('torch', log, { nchw: [2, 2, 2, 2] })];
    await alternate(1, contenders, 2, () => undefined, async () => void log.push('settle'));
    const turn = (name: string) => ['settle', `${name} run 0`, `${name} run 0`];
    expect(log).toEqual([
      'neocog prepare 0',
      'torch prepare 0',
      ...turn('neocog'),
      ...turn('torch'),
      ...turn('neocog'),
      ...turn('torch'),
      'neocog release 0',
      'torch release 0',
    ]);
  });

  it('reports the median over rounds per layout and the faster layout as best', async () => {
    // Every other call is the untimed one (its figures are ignored).
    const torch = fake('torch', [], { nchw: [99, 30, 99, 10, 99, 20], channels_last: [1, 9, 1, 50, 1, 12] });
    const result = (await alternate(1, [torch], 3, () => undefined, noSettle))[0]![0];
    expect(result!.formats.nchw).toEqual({ rounds: [30, 10, 20], medianMs: 20 });
    expect(result!.formats.channels_last).toEqual({ rounds: [9, 50, 12], medianMs: 12 });
    expect(result!.best).toEqual({ format: 'channels_last', ms: 12 });
    expect(result!.params).toBe(7);
  });

  it('marks a case n/a for a contender that cannot run it, with the first line of its error, and goes on', async () => {
    const log: string[] = [];
    const contenders = [
      fake('neocog', log, { nchw: [1, 1] }),
      fake('torch2', log, { nchw: [1, 1] }, 'prepare'),
      fake('torch1', log, { nchw: [3, 3] }, 'run'),
    ];
    const seen: number[] = [];
    const [results] = await alternate(1, contenders, 1, (i) => seen.push(i), noSettle);
    expect(results![0]!.best).toEqual({ format: 'nchw', ms: 1 });
    expect(results![1]).toMatchObject({ best: null, error: "No module named 'torchvision'" });
    expect(results![2]).toMatchObject({ best: null, error: 'peer died' });
    expect(log).not.toContain('torch2 run 0');
    expect(seen).toEqual([0]);
  });

  it('keeps the output fingerprint a contender returns from prepare, and none for one that returns none', async () => {
    const check = { shape: [1], mean: 2, meanAbs: 2, samples: [2] };
    const checked: Contender = { ...fake('neocog', [], { nchw: [1, 1] }), prepare: async () => ({ formats: ['nchw'], params: null, check }) };
    const [results] = await alternate(1, [checked, fake('torch', [], { nchw: [1, 1] })], 1, () => undefined, noSettle);
    expect(results![0]!.check).toEqual(check);
    expect(results![1]!.check).toBeUndefined();
  });
});
