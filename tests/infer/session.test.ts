import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { BusyError, data, DisposedError, DTypeError, io, KeyError, manualSeed, memory, models, noGrad, optim, randn, ShapeError, stack, synchronize, train, zeros, type Tensor } from '../../lib/index.js';
import { InferenceSession } from '../../lib/infer/index.js';
import { resnet18 } from '../../lib/models/index.js';
import { maxRelDiff, Net, trainedNet } from '../helpers/folding_net.js';

const fashionMnist = fileURLToPath(new URL('../../examples/data/fashion-mnist/', import.meta.url));

describe('InferenceSession', () => {
  it('run() gives the model output with BatchNorm folded, one batch at a time, and frees its intermediates', async () => {
    const net = trainedNet();
    const x = randn([4, 3, 12, 12]);
    const reference = noGrad(() => net.call(x));
    const session = await InferenceSession.create(net, { example: x });
    expect(session.fused).toEqual({
      folded: [
        ['conv1', 'bn1'],
        ['conv2', 'bn2'],
      ],
      activations: [
        ['conv1', 'relu'],
        ['conv2', 'relu'],
      ],
      depthwiseBlocks: [],
      residuals: [],
    });
    expect(maxRelDiff(await session.run(x), reference)).toBeLessThan(1e-5);
    expect(maxRelDiff(session.runSync(x), reference)).toBeLessThan(1e-5);
    // Many runs queued at once: memory stays flat once the outputs are freed.
    const outs = await Promise.all(Array.from({ length: 8 }, () => session.run(x)));
    for (const out of outs) out.dispose();
    await synchronize();
    const before = memory('cpu');
    for (let round = 0; round < 3; ++round) {
      const more = await Promise.all(Array.from({ length: 8 }, () => session.run(x)));
      for (const out of more) out.dispose();
    }
    await synchronize();
    const after = memory('cpu');
    expect(after.tensors).toBeLessThanOrEqual(before.tensors); // none kept; the collector may free earlier garbage meanwhile
    // After warm-up every activation reuses a cached block: nothing new from the device.
    expect(after.bytes + after.cachedBytes).toBe(before.bytes + before.cachedBytes);
    expect(session.stats.batches).toBe(34);
    await session.close();
    expect(Object.hasOwn(net.conv1, 'forward')).toBe(false);
    await expect(session.run(x)).rejects.toThrow(DisposedError);
  });

  it('the event loop keeps turning while batches run', async () => {
    manualSeed(0);
    const x = randn([8, 3, 112, 112]);
    const session = await InferenceSession.create(resnet18({ numClasses: 10 }), { example: x });
    let last = performance.now();
    let longestGap = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      longestGap = Math.max(longestGap, now - last);
      last = now;
    }, 10);
    const started = performance.now();
    for (const out of await Promise.all(Array.from({ length: 16 }, () => session.run(x)))) out.dispose();
    const elapsed = performance.now() - started;
    clearInterval(timer);
    await session.close();
    expect(elapsed).toBeGreaterThan(200); // the device was busy for a while ...
    expect(longestGap).toBeLessThan(100); // ... and 10 ms timers kept firing (generous on a shared machine)
  });

  it('submit() groups requests into batches of at most maxBatch and gives each its own row', async () => {
    const net = trainedNet();
    const samples = Array.from({ length: 10 }, () => randn([3, 12, 12]));
    const sizes: number[] = [];
    const session = await InferenceSession.create(net, { example: zeros([1, 3, 12, 12]), maxBatch: 4, maxDelayMs: 1, onBatch: (size) => sizes.push(size) });
    const rows = await Promise.all(samples.map((s) => session.submit(s)));
    expect(sizes).toEqual([4, 4, 2]);
    expect(session.stats.batches).toBe(3); // batches of 4, 4 and 2 (the example's trace is not one)
    const reference = noGrad(() => net.call(stack(samples)));
    rows.forEach((row, i) => {
      expect(row.shape).toEqual([5]);
      expect(maxRelDiff(row, reference.slice(0, i, i + 1).reshape([5]))).toBeLessThan(1e-5);
    });
    await session.close();
  });

  it('requests that arrive while a batch runs wait for the device and go together, not in small batches of their own', async () => {
    const net = trainedNet();
    const sizes: number[] = [];
    const session = await InferenceSession.create(net, { example: zeros([1, 3, 12, 12]), maxBatch: 16, maxDelayMs: 0, onBatch: (size) => sizes.push(size) });
    const busy = session.run(randn([2048, 3, 48, 48])); // occupies the device for a while
    const arrivals: Array<Promise<Tensor>> = [];
    for (let k = 0; k < 20; ++k) {
      arrivals.push(session.submit(randn([3, 12, 12])));
      await new Promise((resolve) => setTimeout(resolve, 1)); // one by one, each timer tick apart
    }
    (await busy).dispose();
    for (const row of await Promise.all(arrivals)) row.dispose();
    // The run, then what waited meanwhile in batches of up to 16 (a few may come after the run ends).
    expect(sizes[0]).toBe(2048);
    expect(sizes.slice(1).reduce((a, b) => a + b, 0)).toBe(20);
    expect(Math.max(...sizes.slice(1))).toBeGreaterThan(4);
    expect(sizes.length).toBeLessThan(8);
    await session.close();
  });

  it('a malformed request rejects only its own promise, with a typed error', async () => {
    const session = await InferenceSession.create(trainedNet(), { maxBatch: 8, maxDelayMs: 1 });
    const good = [session.submit(randn([3, 12, 12])), session.submit(randn([3, 12, 12]))];
    const wrongShape = session.submit(randn([3, 10, 12]));
    const wrongDType = session.submit(zeros([3, 12, 12], { dtype: 'int32' }));
    const disposed = randn([3, 12, 12]);
    disposed.dispose();
    await expect(wrongShape).rejects.toThrow(ShapeError);
    await expect(wrongDType).rejects.toThrow(DTypeError);
    await expect(session.submit(disposed)).rejects.toThrow(DisposedError);
    for (const row of await Promise.all(good)) expect(row.shape).toEqual([5]);
    await session.close();
  });

  it('refuses with BusyError past maxQueue and maxQueueBytes instead of queuing', async () => {
    const session = await InferenceSession.create(trainedNet(), { maxBatch: 64, maxDelayMs: 50, maxQueue: 3 });
    const accepted = [0, 1, 2].map(() => session.submit(randn([3, 12, 12])));
    await expect(session.submit(randn([3, 12, 12]))).rejects.toThrow(BusyError);
    expect(session.stats).toMatchObject({ submitted: 3, rejected: 1, queued: 3 });
    await Promise.all(accepted);
    expect(session.stats.queued).toBe(0);
    await session.close();

    const small = await InferenceSession.create(trainedNet(), { maxDelayMs: 50, maxQueueBytes: 3 * 12 * 12 * 4 });
    const first = small.submit(randn([3, 12, 12]));
    await expect(small.submit(randn([3, 12, 12]))).rejects.toThrow(/queue is full/);
    await first;
    await small.close();
  });

  it('an aborted signal cancels a waiting request; the others still run', async () => {
    const session = await InferenceSession.create(trainedNet(), { maxBatch: 8, maxDelayMs: 20 });
    const controller = new AbortController();
    const kept = session.submit(randn([3, 12, 12]));
    const cancelled = session.submit(randn([3, 12, 12]), { signal: controller.signal });
    controller.abort();
    await expect(cancelled).rejects.toMatchObject({ name: 'AbortError' });
    expect((await kept).shape).toEqual([5]);
    expect(session.stats.batches).toBe(1);
    const before = AbortSignal.abort();
    await expect(session.run(randn([1, 3, 12, 12]), { signal: before })).rejects.toMatchObject({ name: 'AbortError' });
    await session.close();
  });

  it('close() drains queued requests, or rejects them with drain: false', async () => {
    const drained = await InferenceSession.create(trainedNet(), { maxDelayMs: 1000 });
    const pending = drained.submit(randn([3, 12, 12]));
    await drained.close();
    expect((await pending).shape).toEqual([5]);
    await expect(drained.submit(randn([3, 12, 12]))).rejects.toThrow(DisposedError);

    const dropped = await InferenceSession.create(trainedNet(), { maxDelayMs: 1000 });
    const lost = dropped.submit(randn([3, 12, 12]));
    await dropped.close({ drain: false });
    await expect(lost).rejects.toThrow(/closed before the request ran/);
  });

  it('fromFile() loads a safetensors state dict strictly into the factory\'s model', async () => {
    const net = trainedNet();
    const dir = mkdtempSync(join(tmpdir(), 'neocog-session-'));
    try {
      const path = join(dir, 'net.safetensors');
      await io.saveSafetensors(path, net.stateDict());
      const x = randn([2, 3, 12, 12]);
      const session = await InferenceSession.fromFile(path, () => new Net(), { example: x });
      expect(maxRelDiff(await session.run(x), noGrad(() => net.call(x)))).toBeLessThan(1e-5);
      await session.close();
      const partial = new Map(net.stateDict());
      partial.delete('bn1.running_var');
      await io.saveSafetensors(path, partial);
      await expect(InferenceSession.fromFile(path, () => new Net())).rejects.toThrow(KeyError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects bad options with typed errors', async () => {
    await expect(InferenceSession.create(trainedNet(), { maxBatch: 0 })).rejects.toThrow(/maxBatch must be a positive integer/);
    await expect(InferenceSession.create(trainedNet(), { maxDelayMs: -1 })).rejects.toThrow(/maxDelayMs/);
    await expect(InferenceSession.create(trainedNet(), { maxQueueBytes: 1.5 })).rejects.toThrow(/maxQueueBytes/);
    await expect(InferenceSession.create(trainedNet(), { dtype: 'float16' })).rejects.toThrow(/dtype 'float16' is for CUDA devices/);
    await expect(InferenceSession.create(trainedNet(), { dtype: 'int32' as 'float32' })).rejects.toThrow(/dtype must be 'float32', 'bfloat16' or 'float16'/);
  });

  it("dtype 'bfloat16': folded and fused as in float32, 16-bit weights made once, float32 outputs close to the model's, memory flat", async () => {
    const net = trainedNet();
    const x = randn([4, 3, 12, 12]);
    const reference = noGrad(() => net.call(x));
    const float32 = await InferenceSession.create(net, { example: x });
    const fused = float32.fused;
    await float32.close();
    const session = await InferenceSession.create(net, { example: x, dtype: 'bfloat16' });
    expect(session.dtype).toBe('bfloat16');
    expect(session.fused).toEqual(fused);
    const out = await session.run(x);
    expect(out.dtype).toBe('float32');
    expect(maxRelDiff(out, reference)).toBeLessThan(3e-2);
    expect(maxRelDiff(out, reference)).toBeGreaterThan(0); // it did run in bfloat16
    const rows = await Promise.all([0, 1, 2, 3].map((i) => session.submit(x.slice(0, i, i + 1).reshape([3, 12, 12]))));
    expect(rows.every((r) => r.dtype === 'float32')).toBe(true);
    for (const r of rows) r.dispose();
    out.dispose();
    await synchronize();
    const before = memory('cpu');
    for (let k = 0; k < 3; ++k) (await session.run(x)).dispose();
    await synchronize();
    expect(memory('cpu').tensors).toBeLessThanOrEqual(before.tensors); // the collector may free earlier garbage meanwhile
    await session.close();
    expect(maxRelDiff(noGrad(() => net.call(x)), reference)).toBe(0); // the float32 model is back
  });

  it("dtype 'bfloat16': a trained classifier's top-1 agrees with float32 on >= 99.5% of the official Fashion-MNIST test set", async () => {
    const load = (images: string, labels: string) =>
      new data.ImageArrayDataset(data.readIdx(join(fashionMnist, images)), data.readIdx(join(fashionMnist, labels)).data);
    manualSeed(0);
    const trainSet = load('train-subset-images-idx3-ubyte.gz', 'train-subset-labels-idx1-ubyte.gz');
    const test = load('t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz');
    const model = models.simpleCnn({ inChannels: 1 });
    const trainLoader = new data.DataLoader(trainSet, { batchSize: 64, shuffle: true, seed: 0, collate: trainSet.collate(0.286, 0.353) });
    await train.fit(model, { epochs: 1, optimizer: new optim.Adam(model.parameters(), { lr: 0.001 }), train: trainLoader, progress: false });
    model.eval();
    const testLoader = new data.DataLoader(test, { batchSize: 1000, collate: test.collate(0.286, 0.353) });
    const classes = async (forward: (x: Tensor) => Tensor | Promise<Tensor>): Promise<number[]> => {
      const out: number[] = [];
      for await (const [x, y] of testLoader) {
        out.push(...(await (await forward(x)).argmax(1).data()));
        x.dispose();
        y.dispose();
      }
      return out;
    };
    const float32 = await classes((x) => noGrad(() => model.call(x)));
    const session = await InferenceSession.create(model, { example: zeros([1000, 1, 28, 28]), dtype: 'bfloat16' });
    const bfloat16 = await classes((x) => session.run(x));
    await session.close();
    const agreement = bfloat16.filter((k, i) => k === float32[i]).length / float32.length;
    expect(float32).toHaveLength(10_000);
    expect(agreement).toBeGreaterThanOrEqual(0.995); // measured: 99.84%
  }, 120_000);
});
