import { expect, it } from 'vitest';

import { ArgumentError, cat, conv2d, flip, infer, manualSeed, memory, randn, ShapeError, softmax, tensor, zeros, type Tensor } from '../../lib/index.js';
import { describeDevices, expectClose } from '../helpers/devices.js';

const { flipTta } = infer;

describeDevices('flipTta', (device) => {
  const dev = device as 'cpu' | 'cuda:0';

  it('x=[2,3,9,8]: a flip-equivariant predictor (symmetric 3×3 kernel) gives its own softmax', async () => {
    manualSeed(1);
    const x = randn([2, 3, 9, 8], { device: dev });
    // A kernel symmetric under both flips commutes with flipping the image.
    const raw = randn([4, 3, 3, 3], { device: dev });
    const w = raw.add(flip(raw, [2])).add(flip(raw, [3])).add(flip(raw, [2, 3]));
    const net = (t: Tensor) => conv2d(t, w, undefined, { padding: 1 });
    const passes: number[][] = [];
    const out = await flipTta((t) => (passes.push([...t.shape]), net(t)), x);
    expect(passes).toHaveLength(4);
    expect(out.shape).toEqual([2, 4, 9, 8]);
    expectClose(await out.cpu().data(), await softmax(net(x), 1).cpu().data(), 1e-5);
  });

  it('x=[1,1,1,3] dims=[3]: a non-equivariant predictor gives the hand-computed average', async () => {
    // The predictor adds the column index: [a, b, c] -> [a, b + 1, c + 2]. Flipped input
    // [c, b, a] -> [c, b + 1, a + 2], flipped back [a + 2, b + 1, c]. Sigmoid of each, averaged.
    const x = tensor([[[[0.5, -1, 2]]]], { device: dev });
    const ramp = tensor([[[[0, 1, 2]]]], { device: dev, dtype: 'float32' });
    const out = await flipTta((t) => t.add(ramp), x, { dims: [3], activation: 'sigmoid' });
    const s = (v: number) => 1 / (1 + Math.exp(-v));
    expectClose(await out.cpu().data(), [(s(0.5) + s(2.5)) / 2, s(0), (s(4) + s(2)) / 2], 1e-6);
    // activation 'none' averages the outputs as they are.
    const plain = await flipTta((t) => t.add(ramp), x, { dims: [3], activation: 'none' });
    expectClose(await plain.cpu().data(), [1.5, 0, 3], 1e-6);
  });

  it('x=[1,2,2,2] both dims, async predictor: four passes, each flipped back before averaging', async () => {
    // Predictor: channel 0 of the input times a fixed position-dependent map, so each flip
    // gives a different output. Expected: mean over the 4 flips f of f(net(f(x))).
    const x = tensor([[[[1, 2], [3, 4]], [[0, 0], [0, 0]]]], { device: dev, dtype: 'float32' });
    const map = tensor([[[[1, 10], [100, 1000]]]], { device: dev, dtype: 'float32' });
    const net = async (t: Tensor) => t.mul(map);
    const out = await flipTta(net, x, { activation: 'none' });
    // Pixel (i, j) of flip f sees x at f(i, j) times map at f(i, j) flipped back: x[i][j] · map[f(i, j)].
    const m = [[1, 10], [100, 1000]];
    const mean = (i: number, j: number) => (m[i]![j]! + m[1 - i]![j]! + m[i]![1 - j]! + m[1 - i]![1 - j]!) / 4;
    const xs = [[1, 2], [3, 4]];
    expectClose(await out.cpu().data(), [0, 1, 2, 3].map((k) => xs[k >> 1]![k & 1]! * mean(k >> 1, k & 1)).concat([0, 0, 0, 0]), 1e-5);
  });
});

it('softmax is taken over the channels of each pass before averaging: the mean of probabilities, not of logits', async () => {
  // Channel 0 = input · [3, -1] (position-dependent), channel 1 = 0. x = [0, 1]: unflipped,
  // pixel 1 has logits [-1, 0]; flipped, input [1, 0] gives [3, 0] -> back [0, 3]: logits [3, 0].
  const x = tensor([[[[0, 1]]]], { dtype: 'float32' });
  const weights = tensor([[[[3, -1]]]], { dtype: 'float32' });
  const out = await flipTta((t) => cat([t.mul(weights), zeros([1, 1, 1, 2])], 1), x, { dims: [3] });
  const s = (v: number) => 1 / (1 + Math.exp(-v));
  // Pixel 0 has logits [0, 0] in both passes.
  expectClose(await out.data(), [0.5, (s(-1) + s(3)) / 2, 0.5, (s(1) + s(-3)) / 2], 1e-6);
  expect((s(-1) + s(3)) / 2).not.toBeCloseTo(s(1), 2); // softmax of averaged logits would differ
});

it('refuses bad arguments with typed errors and leaves no tensor behind on failure', async () => {
  const x = randn([1, 1, 4, 4]);
  const id = (t: Tensor) => t;
  await expect(flipTta(id, randn([4, 4]))).rejects.toThrow(ShapeError);
  await expect(flipTta(id, x, { dims: [1] })).rejects.toThrow(/flipTta: expected opts.dims to be spatial dims \(2 to 3\), got /);
  await expect(flipTta(id, x, { dims: [2, 2] })).rejects.toThrow(ArgumentError);
  await expect(flipTta(id, x, { activation: 'relu' as 'none' })).rejects.toThrow(/opts.activation/);
  await expect(flipTta((t) => t.slice(3, 0, 2), x)).rejects.toThrow(/expected predictor output \[1, C, 4, 4\], got \[1, 1, 4, 2\]/);
  const before = memory('cpu').tensors;
  let calls = 0;
  await expect(flipTta((t) => {
    if (++calls === 3) throw new Error('model failed');
    return t.mul(2);
  }, x)).rejects.toThrow('model failed');
  expect(memory('cpu').tensors).toBe(before);
});
