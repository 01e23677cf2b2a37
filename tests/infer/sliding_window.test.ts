import { expect, it } from 'vitest';

import { ArgumentError, conv2d, conv3d, infer, manualSeed, memory, randn, relu, ShapeError, synchronize, type Tensor } from '../../lib/index.js';
import { describeDevices, expectClose } from '../helpers/devices.js';

const { importanceMap, slidingWindowInference } = infer;

/** A fully convolutional net of two 3×3 convs (padding 1): receptive field radius 2. */
function threeByThreeNet(inChannels: number, outChannels: number, device: 'cpu' | 'cuda:0') {
  manualSeed(3);
  const w1 = randn([4, inChannels, 3, 3], { device });
  const w2 = randn([outChannels, 4, 3, 3], { device });
  return (x: Tensor) => conv2d(relu(conv2d(x, w1, undefined, { padding: 1 })), w2, undefined, { padding: 1 });
}

/** A pointwise net (1×1 convs): each output pixel sees only its own input pixel. */
function pointwiseNet(inChannels: number, outChannels: number, device: 'cpu' | 'cuda:0') {
  manualSeed(4);
  const w1 = randn([5, inChannels, 1, 1], { device });
  const w2 = randn([outChannels, 5, 1, 1], { device });
  return (x: Tensor) => conv2d(relu(conv2d(x, w1)), w2);
}

describeDevices('slidingWindowInference', (device) => {
  const dev = device as 'cpu' | 'cuda:0';

  for (const [mode, overlap, swBatchSize] of [['constant', 0.25, 1], ['constant', 0.5, 3], ['gaussian', 0.25, 4], ['gaussian', 0, 2]] as const) {
    it(`x=[2,3,37,50] roi=[16,16] ${mode} overlap=${overlap} sw=${swBatchSize}: a pointwise net gives the whole-image pass`, async () => {
      manualSeed(1);
      const x = randn([2, 3, 37, 50], { device: dev });
      const net = pointwiseNet(3, 2, dev);
      const out = await slidingWindowInference(x, [16, 16], net, { mode, overlap, swBatchSize });
      expect(out.shape).toEqual([2, 2, 37, 50]);
      expect(out.device).toBe(dev);
      expectClose(await out.cpu().data(), await net(x).cpu().data(), 1e-4);
    });
  }

  it('x=[1,2,40,40] roi=[20,20] constant overlap=0.5: a 3×3 net equals the whole-image pass wherever every window covering a pixel holds its receptive field', async () => {
    manualSeed(2);
    const [size, roi, radius] = [40, 20, 2];
    const x = randn([1, 2, size, size], { device: dev });
    const net = threeByThreeNet(2, 1, dev);
    const out = await (await slidingWindowInference(x, [roi, roi], net, { overlap: 0.5 })).cpu().data();
    const whole = await net(x).cpu().data();
    // Windows start at 0, 10, 20 along each dim. A pixel is exact when, in every window that
    // covers it, it is at least `radius` from each window edge that is not an image border.
    const starts = [0, 10, 20];
    const exactAlong = (p: number) => starts.filter((s) => p >= s && p < s + roi).every((s) => (s === 0 || p - s >= radius) && (s + roi === size || s + roi - 1 - p >= radius));
    let checked = 0;
    let differs = 0;
    for (let i = 0; i < size; i++) {
      for (let j = 0; j < size; j++) {
        const k = i * size + j;
        if (exactAlong(i) && exactAlong(j)) {
          checked++;
          expect(Math.abs(out[k]! - whole[k]!), `pixel (${i}, ${j})`).toBeLessThan(1e-4 * Math.max(1, Math.abs(whole[k]!)));
        } else if (Math.abs(out[k]! - whole[k]!) > 1e-4) differs++;
      }
    }
    // Most pixels are checked, and the others do differ: the margins matter, so the test can fail.
    expect(checked).toBeGreaterThan(0.5 * size * size);
    expect(differs).toBeGreaterThan(0);
  });

  it('x=[1,1,12,9] roi=[16,16]: an input smaller than the window is padded and the output cropped back', async () => {
    manualSeed(5);
    const x = randn([1, 1, 12, 9], { device: dev });
    const net = pointwiseNet(1, 3, dev);
    const seen: number[][] = [];
    const out = await slidingWindowInference(x, 16, (tiles) => (seen.push([...tiles.shape]), net(tiles)), { padMode: 'constant', padValue: 0 });
    expect(seen).toEqual([[1, 1, 16, 16]]);
    expect(out.shape).toEqual([1, 3, 12, 9]);
    expectClose(await out.cpu().data(), await net(x).cpu().data(), 1e-4);
    // One dim padded, one tiled.
    const wide = randn([1, 1, 8, 40], { device: dev });
    const outWide = await slidingWindowInference(wide, [16, 16], net, { overlap: 0.25, mode: 'gaussian' });
    expect(outWide.shape).toEqual([1, 3, 8, 40]);
    expectClose(await outWide.cpu().data(), await net(wide).cpu().data(), 1e-4);
  });

  it('x=[1,2,10,21,17] roi=[8,8,8] 3-D: a pointwise net gives the whole-volume pass, async predictor, windows batched', async () => {
    manualSeed(6);
    const x = randn([1, 2, 10, 21, 17], { device: dev });
    const w = randn([3, 2, 1, 1, 1], { device: dev });
    const net = (t: Tensor) => conv3d(t, w);
    const batches: number[] = [];
    const out = await slidingWindowInference(x, [8, 8, 8], async (tiles) => (batches.push(tiles.shape[0]!), net(tiles)), { overlap: 0.25, mode: 'gaussian', swBatchSize: 5 });
    expect(out.shape).toEqual([1, 3, 10, 21, 17]);
    // Starts: D [0, 2], H [0, 6, 12, 13], W [0, 6, 9]: 24 windows in batches of 5.
    expect(batches).toEqual([5, 5, 5, 5, 4]);
    expectClose(await out.cpu().data(), await net(x).cpu().data(), 1e-4);
  });

  it('the output goes to opts.device', async () => {
    const x = randn([1, 1, 20, 20], { device: dev });
    const out = await slidingWindowInference(x, [8, 8], (t) => t.mul(2), { device: 'cpu' });
    expect(out.device).toBe('cpu');
    expectClose(await out.data(), await x.mul(2).cpu().data(), 1e-5);
  });
});

it('importanceMap: gaussian is separable, peaks at 1 at the centre, clamps at 1e-3; constant is ones', async () => {
  const map = importanceMap([7, 10], 'gaussian', 0.125);
  expect(map.shape).toEqual([7, 10]);
  const values = await map.data();
  const profile = (n: number, i: number) => {
    const sigma = 0.125 * n;
    const raw = (k: number) => Math.exp(-((k - (n - 1) / 2) ** 2) / (2 * sigma * sigma));
    return raw(i) / raw(Math.floor(n / 2));
  };
  const expected = Array.from({ length: 70 }, (_, k) => Math.max(profile(7, Math.floor(k / 10)) * profile(10, k % 10), 1e-3));
  expectClose(values, expected, 1e-6);
  expect(Math.max(...values)).toBeCloseTo(1, 6);
  expect(values[3 * 10 + 4]).toBeCloseTo(1, 6); // the two middle columns of an even size share the peak
  expect(Math.min(...values)).toBeCloseTo(1e-3, 7); // the corners are clamped
  // Symmetric: flipping either axis gives the same map.
  for (let i = 0; i < 7; i++) for (let j = 0; j < 10; j++) expect(values[i * 10 + j]).toBeCloseTo(values[(6 - i) * 10 + (9 - j)]!, 6);
  const sum = values.reduce((a, b) => a + b, 0);
  expect(sum).toBeGreaterThan(5);
  expect(sum).toBeLessThan(15);
  expect(await importanceMap([3, 4, 5], 'constant').data()).toEqual(new Float32Array(60).fill(1));
  // A wider sigma flattens the map.
  expect(Math.min(...(await importanceMap([7, 10], 'gaussian', 1).data()))).toBeGreaterThan(0.5);
});

it('gaussian blending weights each window by the map: the output is the weighted mean of the windows that cover a pixel', async () => {
  // Each window's output is a constant: its index. Overlapping windows blend by their weights.
  const x = randn([1, 1, 1, 12]);
  let index = 0;
  const out = await (
    await slidingWindowInference(x, [1, 8], (tiles) => randn([1, 1, 1, 8]).mul(0).add(index++), { overlap: 0.5, mode: 'gaussian' })
  ).data();
  // Windows start at 0 and 4 (the second moved back to 12 - 8 = 4).
  const w = await importanceMap([1, 8], 'gaussian').data();
  for (let p = 0; p < 12; p++) {
    const inFirst = p < 8 ? w[p]! : 0;
    const inSecond = p >= 4 ? w[p - 4]! : 0;
    expect(out[p]).toBeCloseTo((0 * inFirst + 1 * inSecond) / (inFirst + inSecond), 5);
  }
});

it('x=[1,1,2048,2048] roi=[256,256]: completes with memory bounded by the image, the output and a few windows', async () => {
  manualSeed(7);
  const x = randn([1, 1, 2048, 2048]);
  const w = randn([2, 1, 1, 1]);
  const before = memory('cpu').bytes;
  let highest = 0;
  const out = await slidingWindowInference(
    x,
    [256, 256],
    (tiles) => {
      highest = Math.max(highest, memory('cpu').bytes - before);
      return conv2d(tiles, w);
    },
    { overlap: 0.25, mode: 'gaussian', swBatchSize: 4 },
  );
  expect(out.shape).toEqual([1, 2, 2048, 2048]);
  const image = 2048 * 2048 * 4;
  // The output (2 channels) and the weight sum (1) are 3 images; each batch of windows is
  // a small fraction of one. A leak of one batch per step (121 windows) would be ~8 images.
  expect(highest).toBeLessThan(4 * image);
  out.dispose();
  await synchronize('cpu');
  expect(memory('cpu').bytes).toBeLessThanOrEqual(before);
}, 120_000);

it('refuses bad arguments with typed errors naming the argument', async () => {
  const x = randn([1, 1, 16, 16]);
  const id = (t: Tensor) => t;
  await expect(slidingWindowInference(x, [8, 8, 8], id)).rejects.toThrow(ShapeError);
  await expect(slidingWindowInference(x, [8, 8, 8], id)).rejects.toThrow(/slidingWindowInference: expected roiSize to list 2 sizes/);
  await expect(slidingWindowInference(randn([16, 16]), [8, 8], id)).rejects.toThrow(/expected input of rank 4 .* or 5 .*, got rank 2/);
  await expect(slidingWindowInference(x, [8, 0], id)).rejects.toThrow(/roiSize\[1\]/);
  await expect(slidingWindowInference(x, [8, 8], id, { overlap: 1 })).rejects.toThrow(ArgumentError);
  await expect(slidingWindowInference(x, [8, 8], id, { overlap: -0.1 })).rejects.toThrow(/opts.overlap in \[0, 1\], got -0.1/);
  await expect(slidingWindowInference(x, [8, 8], id, { swBatchSize: 0 })).rejects.toThrow(/opts.swBatchSize to be an integer >= 1, got 0/);
  await expect(slidingWindowInference(x, [8, 8], id, { mode: 'linear' as 'constant' })).rejects.toThrow(/opts.mode/);
  await expect(slidingWindowInference(x, [8, 8], (t) => t.slice(2, 0, 4))).rejects.toThrow(/expected predictor output \[1, C, 8, 8\] for 1 windows, got \[1, 1, 4, 8\]/);
  // A failing predictor leaves no tensor behind (the padded input, accumulators, windows).
  const before = memory('cpu').tensors;
  await expect(slidingWindowInference(randn([1, 1, 6, 20]), [8, 8], () => {
    throw new Error('model failed');
  })).rejects.toThrow('model failed');
  expect(memory('cpu').tensors).toBe(before + 1);
  expect(() => importanceMap([4, 4], 'gaussian', 0)).toThrow(/importanceMap: expected sigmaScale/);
});
