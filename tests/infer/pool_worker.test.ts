// The worker side of infer.WorkerPool, called in this thread (worker_pool.test.ts runs it in workers).
import { valueSymbol } from 'piscina';
import { describe, expect, it } from 'vitest';

import { io, models, noGrad, rand, type Tensor } from '../../lib/index.js';
import { decodeBatch, encodeBatch } from '../../lib/data/worker_protocol.js';
import { runPoolTask, type PoolReply, type PoolTask, type PoolWorkerData } from '../../lib/infer/pool_worker.js';

const modelsModule = new URL('../../lib/models/index.ts', import.meta.url).href;
const fixture = new URL('./pool_models.fixture.ts', import.meta.url).href;

/** The reply inside piscina's transfer wrapper (or as is, for errors). */
function unwrap(result: unknown): PoolReply {
  const record = result as Record<symbol, unknown>;
  return (valueSymbol in record ? record[valueSymbol] : result) as PoolReply;
}

async function task(kind: PoolTask['kind'], input: Tensor): Promise<PoolTask> {
  return { kind, input: await encodeBatch(input, []) };
}

describe('runPoolTask', () => {
  it('builds the model once with the shared weights and answers each task', async () => {
    const model = models.simpleCnn({ numClasses: 4 }).eval();
    const data: PoolWorkerData = {
      model: { module: modelsModule, exportName: 'simpleCnn', args: { numClasses: 4 } },
      weights: await io.packSharedStateDict(model.stateDict()),
      threads: 1,
      maxBatch: 8,
      maxDelayMs: 1,
    };
    const x = rand([2, 3, 16, 16]);
    const expected = await noGrad(() => model.call(x)).data();
    for (const kind of ['run', 'run'] as const) {
      const reply = unwrap(await runPoolTask(await task(kind, x), data));
      if (!reply.ok) throw new Error(reply.error.message);
      const out = decodeBatch(reply.output) as Tensor;
      expect(out.shape).toEqual([2, 4]);
      const got = await out.data();
      got.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
      out.dispose();
    }
    const sample = unwrap(await runPoolTask(await task('submit', x.slice(0, 0, 1).reshape([3, 16, 16])), data));
    expect(sample.ok && (decodeBatch(sample.output) as Tensor).shape).toEqual([4]);
    model.dispose();
  });

  it('reports a factory that throws as a startup error, every time, without hanging', async () => {
    const data: PoolWorkerData = { model: { module: fixture, exportName: 'broken' }, weights: null, threads: 1, maxBatch: 1, maxDelayMs: 0 };
    for (let i = 0; i < 2; ++i) {
      const reply = unwrap(await runPoolTask(await task('run', rand([1, 2])), data));
      expect(reply).toMatchObject({ ok: false, startup: true, error: { name: 'ArgumentError', message: 'broken: no weights for this architecture' } });
    }
    const notModule: PoolWorkerData = { ...data, model: { module: fixture, exportName: 'notAModule' } };
    expect(unwrap(await runPoolTask(await task('run', rand([1, 2])), notModule))).toMatchObject({
      ok: false,
      startup: true,
      error: { message: expect.stringContaining('returned a number, not a Module') },
    });
  });

  it('reports a failing forward as an error of that task only', async () => {
    const data: PoolWorkerData = { model: { module: fixture, exportName: 'wideLinear' }, weights: null, threads: 1, maxBatch: 1, maxDelayMs: 0 };
    const bad = unwrap(await runPoolTask(await task('run', rand([1, 3])), data));
    expect(bad).toMatchObject({ ok: false, startup: false, error: { name: 'ShapeError' } });
    const good = unwrap(await runPoolTask(await task('run', rand([1, 4096])), data));
    expect(good.ok).toBe(true);
  });
});
