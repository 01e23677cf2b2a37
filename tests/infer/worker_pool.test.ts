import { describe, expect, it } from 'vitest';

import { ArgumentError, BusyError, DisposedError, infer, models, nn, rand, WorkerError, type Tensor } from '../../lib/index.js';

const modelsModule = new URL('../../lib/models/index.ts', import.meta.url).href;
const fixture = new URL('./pool_models.fixture.ts', import.meta.url).href;
const MiB = 2 ** 20;

/** A simpleCnn whose BatchNorm statistics are not the initial 0/1, so the eval path matters. */
function trainedCnn(): nn.Sequential {
  const model = models.simpleCnn({ numClasses: 10 });
  const stats = new Map<string, Tensor>();
  for (const [name, t] of model.stateDict()) {
    if (name.endsWith('running_mean')) stats.set(name, rand(t.shape).mul(0.2));
    if (name.endsWith('running_var')) stats.set(name, rand(t.shape).add(0.5));
  }
  model.loadStateDict(stats, { strict: false });
  for (const t of stats.values()) t.dispose();
  return model.eval();
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; ++i) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

const cnnRef = { module: modelsModule, exportName: 'simpleCnn', args: { numClasses: 10 } };

describe('infer.WorkerPool', () => {
  it('answers as a single-threaded InferenceSession does, for run and submit', { timeout: 60_000 }, async () => {
    const model = trainedCnn();
    const session = await infer.InferenceSession.create(model, { fuse: false });
    const pool = new infer.WorkerPool({ model: cnnRef, stateDict: model, workers: 2, threadsPerWorker: 1 });
    const x = rand([6, 3, 28, 28]);
    const expected = await (await session.run(x)).data();
    const out = await pool.run(x);
    expect(out.shape).toEqual([6, 10]);
    expect(maxAbsDiff(await out.data(), expected)).toBeLessThan(1e-5);
    const rows = await Promise.all(Array.from({ length: 6 }, (_, i) => pool.submit(x.slice(0, i, i + 1).reshape([3, 28, 28]))));
    for (const [i, row] of rows.entries()) {
      expect(row.shape).toEqual([10]);
      expect(maxAbsDiff(await row.data(), expected.subarray(i * 10, i * 10 + 10))).toBeLessThan(1e-5);
    }
    expect(pool.stats()).toMatchObject({ workers: 2, threadsPerWorker: 1, completed: 7, failed: 0, rejected: 0, queued: 0 });
    expect(pool.stats().sharedWeightBytes).toBeGreaterThanOrEqual(model.parameterCount() * 4);
    await pool.close();
    await session.close();
    model.dispose();
  });

  it('answers many calls in flight, each with its own output', { timeout: 60_000 }, async () => {
    const model = trainedCnn();
    const pool = new infer.WorkerPool({ model: cnnRef, stateDict: model, workers: 3, threadsPerWorker: 1 });
    const inputs = Array.from({ length: 40 }, () => rand([2, 3, 20, 20]));
    const outputs = await Promise.all(inputs.map((x) => pool.run(x)));
    for (const [i, x] of inputs.entries()) {
      const expected = await model.call(x).data();
      expect(maxAbsDiff(await outputs[i]!.data(), expected)).toBeLessThan(1e-5);
    }
    expect(pool.stats().completed).toBe(40);
    await pool.close();
    model.dispose();
  });

  it('keeps the event loop turning while the workers compute', { timeout: 60_000 }, async () => {
    const pool = new infer.WorkerPool({ model: { module: fixture, exportName: 'slowCnn' }, workers: 2, threadsPerWorker: 1 });
    await pool.run(rand([1, 3, 8, 8])); // the workers' start-up (importing the library) is not what is measured
    let last = performance.now();
    let worstGap = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      worstGap = Math.max(worstGap, now - last);
      last = now;
    }, 10);
    const started = performance.now();
    await Promise.all(Array.from({ length: 6 }, () => pool.run(rand([4, 3, 96, 96]))));
    const elapsed = performance.now() - started;
    clearInterval(timer);
    expect(elapsed).toBeGreaterThan(200); // long enough for the gap to mean something
    expect(worstGap).toBeLessThan(100);
    await pool.close();
  });

  it('refuses calls past maxQueue with BusyError', { timeout: 60_000 }, async () => {
    const pool = new infer.WorkerPool({ model: { module: fixture, exportName: 'slowCnn' }, workers: 1, threadsPerWorker: 1, maxQueue: 2 });
    const accepted = [pool.run(rand([1, 3, 32, 32])), pool.run(rand([1, 3, 32, 32]))];
    await expect(pool.run(rand([1, 3, 32, 32]))).rejects.toThrow(BusyError);
    await expect(pool.submit(rand([3, 32, 32]))).rejects.toThrow(/infer\.WorkerPool\.submit: the queue is full \(2 calls; maxQueue 2\)/);
    expect(pool.stats().rejected).toBe(2);
    await Promise.all(accepted);
    expect(await pool.run(rand([1, 3, 32, 32]))).toBeDefined(); // room again
    await pool.close();
  });

  it('close() drains the calls in flight, then refuses new ones', { timeout: 60_000 }, async () => {
    const pool = new infer.WorkerPool({ model: { module: fixture, exportName: 'slowCnn' }, workers: 2, threadsPerWorker: 1 });
    const calls = Array.from({ length: 5 }, () => pool.run(rand([2, 3, 48, 48])));
    await pool.close();
    const outputs = await Promise.all(calls);
    expect(outputs.map((o) => o.shape)).toEqual(Array.from({ length: 5 }, () => [2, 64]));
    await expect(pool.run(rand([1, 3, 8, 8]))).rejects.toThrow(DisposedError);
    await pool.close(); // idempotent
  });

  it('close({ force: true }) rejects the calls in flight with DisposedError', { timeout: 60_000 }, async () => {
    const pool = new infer.WorkerPool({ model: { module: fixture, exportName: 'slowCnn' }, workers: 1, threadsPerWorker: 1 });
    const calls = Array.from({ length: 4 }, () => pool.run(rand([4, 3, 96, 96])));
    const results = Promise.allSettled(calls);
    await pool.close({ force: true });
    const settled = await results;
    expect(settled.every((r) => r.status === 'rejected' && r.reason instanceof DisposedError)).toBe(true);
    expect(pool.stats().failed).toBe(4);
  });

  it('a factory that throws rejects calls with a WorkerError naming the cause, not a hang', { timeout: 60_000 }, async () => {
    const pool = new infer.WorkerPool({ model: { module: fixture, exportName: 'broken' }, workers: 2 });
    const calls = Array.from({ length: 3 }, () => pool.run(rand([1, 4096])));
    for (const call of calls) {
      await expect(call).rejects.toThrow(WorkerError);
      await expect(call).rejects.toThrow('infer.WorkerPool: a worker could not build its model: ArgumentError: broken: no weights for this architecture');
    }
    const error = await calls[0]!.catch((e: unknown) => e);
    expect((error as Error).cause).toBeInstanceOf(ArgumentError);
    await pool.close();

    const wrongExport = new infer.WorkerPool({ model: { module: fixture, exportName: 'missing' }, workers: 1 });
    await expect(wrongExport.run(rand([1]))).rejects.toThrow(/has no exported function missing/);
    await wrongExport.close();
  });

  it('checks its options', () => {
    expect(() => new infer.WorkerPool({ model: { module: 'relative/path.js', exportName: 'x' } })).toThrow(ArgumentError);
    expect(() => new infer.WorkerPool({ model: { module: fixture, exportName: 'x' }, workers: 0 })).toThrow('infer.WorkerPool: workers must be a positive integer, got 0');
    expect(() => new infer.WorkerPool({ model: { module: fixture, exportName: 'x' }, maxQueue: 1.5 })).toThrow(ArgumentError);
    expect(() => new infer.WorkerPool({ model: { module: fixture, exportName: 'x' }, session: { maxDelayMs: -1 } })).toThrow(ArgumentError);
  });

  it('N workers hold one copy of the weights, not N', { timeout: 120_000 }, async () => {
    // 64 MiB of weights, 3 workers: the same pool with and without shared weights (the
    // workers' own overhead, a V8 isolate and the library each, is the same in both).
    const weightBytes = 4096 * 4097 * 4;
    const growth = async (shared: boolean): Promise<number> => {
      const model = shared ? new nn.Linear(4096, 4096) : undefined;
      const pool = new infer.WorkerPool({ model: { module: fixture, exportName: 'wideLinear' }, stateDict: model, workers: 3, threadsPerWorker: 1 });
      const before = process.memoryUsage().rss; // after packing: what the workers add
      const outputs: Tensor[] = await Promise.all(Array.from({ length: 12 }, () => pool.run(rand([2, 4096]))));
      const grown = process.memoryUsage().rss - before;
      for (const o of outputs) o.dispose();
      await pool.close();
      model?.dispose();
      return grown;
    };
    const own = await growth(false);
    const shared = await growth(true);
    console.log(`3 workers, ${weightBytes / MiB} MiB of weights: RSS grew ${(own / MiB).toFixed(0)} MiB with a copy each, ${(shared / MiB).toFixed(0)} MiB sharing one`);
    expect(own - shared).toBeGreaterThan(1.5 * weightBytes); // ideally 3 copies saved; 2 at least
  });
});
