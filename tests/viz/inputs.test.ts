import { expect, it } from 'vitest';

import { ArgumentError, DTypeError, IndexError, ShapeError, tensor, zeros, type Tensor } from '../../lib/index.js';
import { baselineFor, checkImage, checkTarget, targetScores } from '../../lib/viz/inputs.js';

const logits = tensor([[1, 2, 3], [4, 5, 6]], { dtype: 'float32' });

it('targetScores: a class index picks a column of [N, K] logits; a function scores each image of a batch', () => {
  expect(targetScores('op', logits, 2, 2).tolist()).toEqual([3, 6]);
  expect(targetScores('op', logits.slice(0, 1, 2), (out: Tensor) => out.sum(), 1).tolist()).toEqual([15]);
  expect(targetScores('op', logits, (out: Tensor) => out.amax(), 2).tolist()).toEqual([3, 6]);
});

it('targetScores: the errors name the target', () => {
  expect(() => targetScores('op', logits, 3, 2)).toThrow(IndexError);
  expect(() => targetScores('op', zeros([1, 3, 4, 4]), 0, 1)).toThrow(/op: a class index as target needs a model returning \[N, K\] logits, got shape \[1, 3, 4, 4\]/);
  expect(() => targetScores('op', logits, (out: Tensor) => out, 1)).toThrow(ShapeError);
  expect(() => targetScores('op', logits, () => 3 as unknown as Tensor, 1)).toThrow(/op: expected target to return a Tensor/);
  expect(() => targetScores('op', logits, (out: Tensor) => out.int().sum(), 1)).toThrow(DTypeError);
  expect(() => targetScores('op', [logits], (out: Tensor[]) => out[0]!.sum(), 2)).toThrow(/use batchSize 1/);
});

it('checkImage, checkTarget and baselineFor name the argument', () => {
  expect(checkImage('op', zeros([3, 2, 2])).shape).toEqual([3, 2, 2]);
  expect(() => checkImage('op', zeros([1, 3, 2, 2]))).toThrow(/op: expected image of shape \[C, H, W\]/);
  expect(() => checkImage('op', zeros([3, 2, 2], { dtype: 'uint8' }))).toThrow(DTypeError);
  expect(() => checkTarget('op', 1.5)).toThrow(ArgumentError);
  expect(() => checkTarget('op', (out: Tensor) => out)).not.toThrow();
  const image = zeros([1, 2, 2]);
  expect(baselineFor('op', image, 0.5).tolist()).toEqual([[[0.5, 0.5], [0.5, 0.5]]]);
  expect(() => baselineFor('op', image, zeros([2, 2]))).toThrow(/op: expected baseline of shape \[C, H, W\]/);
  expect(() => baselineFor('op', image, Number.NaN)).toThrow(/op: expected baseline to be a finite number/);
});
