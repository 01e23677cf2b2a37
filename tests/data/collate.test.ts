// lib/data/collate.ts: stackCollate and the batch type it gives, part by part.
import { expect, expectTypeOf, it } from 'vitest';

import { ArgumentError, data, tensor, type Tensor } from '../../lib/index.js';

it('the batch type of the default collate, part by part', () => {
  expectTypeOf<data.Collated<[Tensor<'uint8'>, number, Tensor<'bool'>]>>().toEqualTypeOf<[Tensor<'uint8'>, Tensor<'int32' | 'float32'>, Tensor<'bool'>]>();
  expectTypeOf<data.Collated<readonly [Tensor, number]>>().toEqualTypeOf<[Tensor, Tensor<'int32' | 'float32'>]>();
  expectTypeOf<data.Collated<Tensor[]>>().toEqualTypeOf<Tensor[]>();
  expectTypeOf<data.Collated<{ image: Tensor }>>().toBeUnknown(); // not an array: give a collate
  const batch = data.stackCollate([[tensor([1, 2], { dtype: 'float32' }), 0] as [Tensor<'float32'>, number]]);
  expectTypeOf(batch).toEqualTypeOf<[Tensor<'float32'>, Tensor<'int32' | 'float32'>]>();
  expect(batch.map((t) => t.shape)).toEqual([[1, 2], [1]]);
});

it('stackCollate stacks tensor parts and turns number parts into int32 or float32 tensors', () => {
  const items: Array<[Tensor, number, number]> = [
    [tensor([1, 2], { dtype: 'uint8' }), 3, 0.5],
    [tensor([3, 4], { dtype: 'uint8' }), -1, 2],
  ];
  const [images, labels, weights] = data.stackCollate(items);
  expect([images.dtype, images.shape, images.tolist()]).toEqual(['uint8', [2, 2], [[1, 2], [3, 4]]]);
  expect([labels.dtype, labels.tolist()]).toEqual(['int32', [3, -1]]);
  expect([weights.dtype, weights.tolist()]).toEqual(['float32', [0.5, 2]]);
});

it('stackCollate refuses an empty batch and parts that change kind, naming the part', () => {
  expect(() => data.stackCollate([])).toThrow(ArgumentError);
  expect(() => data.stackCollate([])).toThrow('stackCollate: expected at least one item');
  const mixed = [[tensor([1]), 0], [1, 0]] as unknown as Array<[Tensor, number]>;
  expect(() => data.stackCollate(mixed)).toThrow('stackCollate: part 0 is a tensor in the first item but not in all');
  const strings = [[tensor([1]), 0], [tensor([2]), 'cat']] as unknown as Array<[Tensor, number]>;
  expect(() => data.stackCollate(strings)).toThrow('stackCollate: part 1 should be a tensor or a number in every item');
});
