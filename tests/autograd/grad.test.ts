import { expect, it } from 'vitest';

import { ArgumentError, grad, memory, nn, ones, scope, ShapeError, tensor } from '../../lib/index.js';

const leaf = (values: number[]) => tensor(values, { dtype: 'float32', requiresGrad: true });

it('returns d(sum x^2)/dx and d/dh of an intermediate, leaving .grad alone', () => {
  const x = leaf([1, 2, 3]);
  const h = x.mul(x);
  const [dx, dh] = grad(h.mul(3).sum(), [x, h]);
  expect(dx!.tolist()).toEqual([6, 12, 18]);
  expect(dh!.tolist()).toEqual([3, 3, 3]);
  expect(x.grad).toBeNull();
});

it('reaches an intermediate that was disposed (as Sequential disposes its activations)', () => {
  const x = leaf([1, -2]);
  const h = x.mul(2);
  const y = h.relu().sum();
  h.dispose();
  const [dh] = grad(y, [h]);
  expect(dh!.tolist()).toEqual([1, 0]);
});

it('accumulates over several paths, answers a repeated input twice and an unused one with zeros', () => {
  const x = leaf([2]);
  const unused = leaf([5, 5]);
  const [a, b, c] = grad(x.mul(x).add(x.mul(4)), [x, x, unused]);
  expect(a!.tolist()).toEqual([8]);
  expect(b!.tolist()).toEqual([8]);
  expect(b).not.toBe(a);
  expect(c!.tolist()).toEqual([0, 0]);
});

it('never touches parameters: a Linear layer keeps .grad null', () => {
  const fc = new nn.Linear(3, 2);
  const x = leaf([1, 2, 3]).reshape([1, 3]);
  const [dx] = grad(fc.call(x).sum(), [x]);
  expect(dx!.shape).toEqual([1, 3]);
  for (const p of fc.parameters()) expect(p.grad).toBeNull();
});

it('frees the graph unless retainGraph, and leaks no tensors', () => {
  const x = leaf([1, 2]);
  const before = memory('cpu').tensors;
  scope(() => {
    const y = x.exp().sum();
    grad(y, [x], { retainGraph: true });
    grad(y, [x]);
    expect(() => grad(y, [x])).toThrow(/already freed/);
  });
  expect(memory('cpu').tensors).toBe(before);
});

it('refuses what it cannot differentiate, naming the argument', () => {
  const x = leaf([1, 2]);
  expect(() => grad(x.mul(2), [x])).toThrow(ShapeError);
  expect(() => grad(x.mul(2), [x])).toThrow(/grad: expected output with one element, got shape \[2\]/);
  expect(() => grad(ones([1]), [x])).toThrow(/grad: output does not require grad/);
  expect(() => grad(x.sum(), [ones([2])])).toThrow(ArgumentError);
  expect(() => grad(x.sum(), [ones([2])])).toThrow(/inputs\[0\] does not require grad/);
});
