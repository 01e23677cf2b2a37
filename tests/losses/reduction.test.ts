// lib/losses/reduction.ts: the `reduction` option and the input/target check every paired
// loss shares; the losses' own files test them through each loss.
import { expect, it } from 'vitest';

import { ArgumentError, DTypeError, ShapeError, tensor, type Reduction } from '../../lib/index.js';
import { checkPairedTarget, reduce } from '../../lib/losses/reduction.js';

const losses = () => tensor([[1, 2], [3, 6]], { dtype: 'float32' });

it("reduce averages by default, sums, or keeps the per-element losses with 'none'", () => {
  expect(reduce('l1Loss', losses(), undefined).item()).toBe(3);
  expect(reduce('l1Loss', losses(), 'mean').item()).toBe(3);
  expect(reduce('l1Loss', losses(), 'sum').item()).toBe(12);
  const kept = losses();
  expect(reduce('l1Loss', kept, 'none')).toBe(kept);
});

it('reduce refuses another reduction, naming the loss', () => {
  expect(() => reduce('mseLoss', losses(), 'max' as Reduction)).toThrow(ArgumentError);
  expect(() => reduce('mseLoss', losses(), 'max' as Reduction)).toThrow("mseLoss: expected reduction 'mean', 'sum' or 'none', got 'max'");
});

it('checkPairedTarget takes float32 input and target of one shape on one device', () => {
  const input = tensor([[0.5, 1]], { dtype: 'float32' });
  expect(() => checkPairedTarget('mseLoss', input, tensor([[1, 0]], { dtype: 'float32' }))).not.toThrow();
  expect(() => checkPairedTarget('mseLoss', input, tensor([1, 0], { dtype: 'float32' }))).toThrow(ShapeError);
  expect(() => checkPairedTarget('mseLoss', input, tensor([1, 0], { dtype: 'float32' }))).toThrow(
    "mseLoss: expected target of the input's shape [1, 2], got [2]",
  );
  expect(() => checkPairedTarget('mseLoss', input, tensor([[1, 0]]))).toThrow(DTypeError);
  expect(() => checkPairedTarget('mseLoss', input, tensor([[1, 0]]))).toThrow(/mseLoss: .*target.*float32.*int32/);
  expect(() => checkPairedTarget('mseLoss', [0.5, 1] as never, input)).toThrow(/mseLoss: expected input to be a Tensor/);
  expect(() => checkPairedTarget('mseLoss', input, { device: 'cuda:0' } as never)).toThrow(/mseLoss: expected target to be a Tensor/);
});
