import { expect, it } from 'vitest';

import {
  ArgumentError, DisposedError, DTypeError, memory, ones, randn, scope, ShapeError, tensor,
} from '../../lib/index.js';

const leaf = (values: number[]) => tensor(values, { dtype: 'float32', requiresGrad: true });

it('gradients accumulate over backward calls until reset', () => {
  const x = leaf([1, 2, 3]);
  x.mul(x).sum().backward();
  x.mul(3).sum().backward();
  expect(x.grad!.tolist()).toEqual([5, 7, 9]);
  x.grad!.dispose();
  x.grad = null;
  x.sum().backward();
  expect(x.grad!.tolist()).toEqual([1, 1, 1]);
});

it('backward on a disposed tensor is a DisposedError', () => {
  const x = leaf([1, 2]);
  const loss = x.mul(x).sum();
  loss.dispose();
  // This used to run (and accumulate a gradient).
  expect(() => loss.backward()).toThrow(DisposedError);
  expect(() => loss.backward()).toThrow(/backward: the tensor has been disposed/);
  expect(x.grad).toBeNull();
  const y = x.mul(2);
  const grad = ones([2]);
  grad.dispose();
  expect(() => y.backward(grad)).toThrow(/backward: grad has been disposed/);
});

it('backward twice needs retainGraph', () => {
  const x = leaf([1, 2]);
  const y = x.exp().sum();
  y.backward(undefined, { retainGraph: true });
  y.backward();
  expect(x.grad!.tolist()).toEqual([2 * Math.fround(Math.E), 2 * Math.fround(Math.exp(2))].map(Math.fround));
  expect(() => y.backward()).toThrow(ArgumentError);
  expect(() => y.backward()).toThrow(/retainGraph/);
});

it('a non-scalar output needs an explicit grad of its shape', () => {
  const x = leaf([1, 2]);
  const y = x.mul(2);
  expect(() => y.backward()).toThrow(ShapeError);
  expect(() => y.backward(ones([3]))).toThrow(/expected grad of shape \[2\]/);
  y.backward(tensor([1, 10], { dtype: 'float32' }));
  expect(x.grad!.tolist()).toEqual([2, 20]);
});

it('detach cuts the graph; gradients reach inputs that require grad', () => {
  const x = leaf([3]);
  const y = x.mul(x.detach());
  y.sum().backward();
  expect(x.grad!.tolist()).toEqual([3]);
  expect(x.isLeaf).toBe(true);
  expect(y.isLeaf).toBe(false);
});

it('requiresGrad_ is for float leaves only', () => {
  expect(() => tensor([1, 2]).requiresGrad_()).toThrow(DTypeError);
  const x = leaf([1]);
  expect(() => x.mul(2).requiresGrad_(false)).toThrow(/only leaf tensors/);
  expect(() => tensor([1]).sum().backward()).toThrow(/does not require grad/);
});

it('backward frees what the graph saved; leaf grads survive the scope', () => {
  const w = randn([64, 64], { requiresGrad: true });
  const before = memory('cpu');
  scope(() => {
    const x = randn([8, 64]);
    const loss = x.matmul(w).tanh().square().mean();
    loss.backward();
  });
  expect(w.grad).not.toBeNull();
  expect(w.grad!.isDisposed).toBe(false);
  expect(w.grad!.shape).toEqual([64, 64]);
  // only the gradient itself is left
  expect(memory('cpu').tensors).toBe(before.tensors + 1);
  w.dispose();
  expect(w.grad).toBeNull();
});

it('deep graphs do not overflow the stack', () => {
  const x = leaf([1]);
  let y = x;
  for (let i = 0; i < 20000; ++i) y = y.add(0);
  y.sum().backward();
  expect(x.grad!.tolist()).toEqual([1]);
});

it('post-accumulate-grad hooks run once per backward, after every contribution is in', () => {
  const w = leaf([1, 2]);
  const unused = leaf([5]);
  const seen: number[][] = [];
  const remove = w.registerPostAccumulateGradHook((t) => seen.push(t.grad!.tolist() as number[]));
  unused.registerPostAccumulateGradHook(() => seen.push([-1]));
  // w feeds three nodes (mul twice as both operands, and add): one call with the summed gradient.
  w.mul(w).add(w).sum().backward();
  expect(seen).toEqual([[3, 5]]);
  // A second pass adds to .grad; the hook sees the accumulated value.
  w.sum().backward();
  expect(seen).toEqual([[3, 5], [4, 6]]);
  remove();
  w.sum().backward();
  expect(seen).toHaveLength(2);
  // A leaf that is the root itself.
  const x = leaf([3]);
  let calls = 0;
  x.registerPostAccumulateGradHook(() => (calls += 1));
  x.backward(ones([1]));
  expect(calls).toBe(1);
});

it('post-accumulate-grad hooks go on leaves that require grad only', () => {
  const w = leaf([1, 2]);
  expect(() => w.mul(2).registerPostAccumulateGradHook(() => undefined)).toThrow(ArgumentError);
  expect(() => w.mul(2).registerPostAccumulateGradHook(() => undefined)).toThrow(/only leaf tensors accumulate gradients/);
  expect(() => tensor([1, 2], { dtype: 'float32' }).registerPostAccumulateGradHook(() => undefined)).toThrow(/does not require grad/);
});
