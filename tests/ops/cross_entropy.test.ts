// The fused cross-entropy primitive (lib/ops/cross_entropy.ts) against a naive float64
// reference, its finite-difference gradient, and its argument errors. The loss on top
// (crossEntropy with reductions) is checked against PyTorch in tests/losses.
import { expect, it } from 'vitest';

import { ArgumentError, DTypeError, manualSeed, randn, ShapeError, tensor, type Tensor } from '../../lib/index.js';
import { crossEntropyPerPosition } from '../../lib/ops/cross_entropy.js';
import { describeDevices, expectClose } from '../helpers/devices.js';
import { gradcheck } from '../helpers/gradcheck.js';

/**
 * Per-position loss and weight of logits [N, C, S] (S positions flattened) as PyTorch
 * defines them: (1 - e) w_y (-log p_y) + e / C sum_c w_c (-log p_c); 0 and 0 where ignored.
 */
function reference(logits: Float32Array, shape: number[], target: Int32Array, w: number[] | null, ignore: number, e: number) {
  const [n, c] = [shape[0]!, shape[1]!];
  const s = shape.slice(2).reduce((a, b) => a * b, 1);
  const losses: number[] = [], weights: number[] = [];
  for (let i = 0; i < n; ++i) {
    for (let k = 0; k < s; ++k) {
      const z = Array.from({ length: c }, (_, j) => logits[(i * c + j) * s + k]!);
      const max = Math.max(...z);
      const lse = max + Math.log(z.reduce((a, v) => a + Math.exp(v - max), 0));
      const y = target[i * s + k]!;
      if (y === ignore) {
        losses.push(0);
        weights.push(0);
        continue;
      }
      const wc = (j: number) => (w ? w[j]! : 1);
      const smooth = z.reduce((a, v, j) => a + wc(j) * (lse - v), 0) / c;
      losses.push((1 - e) * wc(y) * (lse - z[y]!) + e * smooth);
      weights.push(wc(y));
    }
  }
  return { losses, weights };
}

describeDevices('crossEntropyPerPosition', (device) => {
  it('logits [2, 3, 2, 2] with class weights, an ignored pixel and smoothing 0.2 match the reference', () => {
    manualSeed(5);
    const logits = randn([2, 3, 2, 2], { device });
    const labels = Int32Array.from([0, 2, 1, 255, 2, 2, 0, 1]);
    const target = tensor(labels, { device }).reshape([2, 2, 2]);
    const weight = [0.5, 2, 1.5];
    const { losses, weights } = crossEntropyPerPosition(logits, target, { weight: tensor(weight, { dtype: 'float32', device }), ignoreIndex: 255, labelSmoothing: 0.2 });
    const expected = reference(logits.cpu().dataSync(), [2, 3, 4], labels, weight, 255, 0.2);
    expect(losses.shape).toEqual([2, 2, 2]);
    expectClose(losses.cpu().dataSync(), expected.losses, 1e-5);
    expectClose(weights.cpu().dataSync(), expected.weights, 0);
  });

  it('logits [4, 5] without weights record a gradient only when the logits need one', () => {
    manualSeed(6);
    const logits = randn([4, 5], { device });
    const target = tensor(Int32Array.from([4, 0, 3, 1]), { device });
    const plain = crossEntropyPerPosition(logits, target, { weight: null, ignoreIndex: -100, labelSmoothing: 0 });
    expect(plain.losses.gradFn).toBeNull();
    expectClose(plain.losses.cpu().dataSync(), reference(logits.cpu().dataSync(), [4, 5], Int32Array.from([4, 0, 3, 1]), null, -100, 0).losses, 1e-5);
    const tracked = crossEntropyPerPosition(logits.detach().requiresGrad_(), target, { weight: null, ignoreIndex: -100, labelSmoothing: 0 });
    expect(tracked.losses.gradFn).not.toBeNull();
    expect(tracked.weights.gradFn).toBeNull();
  });

  it('the gradient with respect to logits [2, 4, 3] (weights, smoothing, an ignored position) matches finite differences', () => {
    manualSeed(7);
    const target = tensor(Int32Array.from([0, 3, -1, 2, 1, 1]), { device }).reshape([2, 3]);
    const weight = tensor([1, 0.5, 2, 1.5], { dtype: 'float32', device });
    gradcheck((z: Tensor) => crossEntropyPerPosition(z, target, { weight, ignoreIndex: -1, labelSmoothing: 0.1 }).losses, [randn([2, 4, 3], { device })]);
  });
});

// The CPU kernel steps each operand's offset position by position, in chunks of 2048 run in
// parallel above 32768 positions: channels-last logits, a transposed target and chunks that
// start mid-row must land on the same elements as the contiguous layout.
for (const [n, c, h, w] of [[3, 3, 37, 41], [2, 2, 130, 131]] as const) {
  describeDevices(`crossEntropyPerPosition on channels-last logits [${n}, ${c}, ${h}, ${w}]`, (device) => {
    it('with a transposed target matches the reference, and its gradient the contiguous one', async () => {
      manualSeed(8);
      const logits = randn([n, h, w, c], { device }).permute(0, 3, 1, 2);
      const labels = Int32Array.from({ length: n * h * w }, (_, i) => (i % 13 === 0 ? -100 : (i * 7) % c));
      // Stored [N, W, H] and viewed [N, H, W]: the target's positions are strided too.
      const target = tensor(labels, { device }).reshape([n, h, w]).permute(0, 2, 1).contiguous().permute(0, 2, 1);
      expect(target.isContiguous()).toBe(false);
      const opts = { weight: tensor(Array.from({ length: c }, (_, j) => 1 + j / 2), { dtype: 'float32', device }), ignoreIndex: -100, labelSmoothing: 0.1 };
      const expected = reference(logits.contiguous().cpu().dataSync(), [n, c, h * w], labels, Array.from({ length: c }, (_, j) => 1 + j / 2), -100, 0.1);
      const z = logits.detach().requiresGrad_();
      const { losses, weights } = crossEntropyPerPosition(z, target, opts);
      expectClose(losses.cpu().dataSync(), expected.losses, 1e-5);
      expectClose(weights.cpu().dataSync(), expected.weights, 0);
      const g = randn([n, h, w], { device });
      losses.mul(g).sum().backward();
      const flat = logits.contiguous().requiresGrad_();
      crossEntropyPerPosition(flat, target.contiguous(), opts).losses.mul(g).sum().backward();
      expectClose(z.grad!.cpu().dataSync(), flat.grad!.cpu().dataSync(), 1e-6);
    });

    it('rejects data() with an IndexError for a target out of range past the first chunk', async () => {
      const labels = new Int32Array(n * h * w);
      labels[labels.length - 5] = c;
      const { losses } = crossEntropyPerPosition(randn([n, h, w, c], { device }).permute(0, 3, 1, 2), tensor(labels, { device }).reshape([n, h, w]), { weight: null, ignoreIndex: -100, labelSmoothing: 0 });
      await expect(losses.data()).rejects.toThrow(new RegExp(`crossEntropy: target ${c} is out of range for ${c} classes`));
    });

    it('names the first target out of range when positions in several chunks are', async () => {
      const labels = new Int32Array(n * h * w);
      labels[labels.length - 5] = -2; // later, and in another chunk of the parallel pass
      labels[2100] = c + 4;
      const { losses } = crossEntropyPerPosition(randn([n, c, h, w], { device }), tensor(labels, { device }).reshape([n, h, w]), { weight: null, ignoreIndex: -100, labelSmoothing: 0 });
      await expect(losses.data()).rejects.toThrow(new RegExp(`crossEntropy: target ${c + 4} is out of range for ${c} classes`));
    });
  });
}

it('crossEntropyPerPosition names the argument it refuses', () => {
  const logits = randn([2, 3]);
  const target = tensor(Int32Array.from([0, 2]));
  const ok = { weight: null, ignoreIndex: -100, labelSmoothing: 0 };
  expect(() => crossEntropyPerPosition(logits, tensor([0, 2], { dtype: 'float32' }), ok)).toThrow(DTypeError);
  expect(() => crossEntropyPerPosition(logits, tensor([0, 2], { dtype: 'float32' }), ok)).toThrow(/crossEntropy: .*target/);
  expect(() => crossEntropyPerPosition(logits, tensor(Int32Array.from([0, 2, 1])), ok)).toThrow(ShapeError);
  expect(() => crossEntropyPerPosition(logits, tensor(Int32Array.from([0, 2, 1])), ok)).toThrow(/expected target of shape \[2\] for input \[2, 3\], got \[3\]/);
  expect(() => crossEntropyPerPosition(randn([3]), tensor(Int32Array.from([0])).reshape([]), ok)).toThrow(/expected input of shape \[N, C, \.\.\.\], got \[3\]/);
  expect(() => crossEntropyPerPosition(logits, target, { ...ok, weight: tensor([1, 2], { dtype: 'float32' }) })).toThrow(/expected weight of shape \[3\], got \[2\]/);
  expect(() => crossEntropyPerPosition(logits, target, { ...ok, ignoreIndex: 0.5 })).toThrow(ArgumentError);
  expect(() => crossEntropyPerPosition(logits, target, { ...ok, ignoreIndex: 0.5 })).toThrow(/ignoreIndex to be an integer, got 0.5/);
  expect(() => crossEntropyPerPosition(logits, target, { ...ok, labelSmoothing: 1.5 })).toThrow(/labelSmoothing in \[0, 1\], got 1.5/);
});
