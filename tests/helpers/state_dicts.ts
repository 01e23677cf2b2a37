// State dicts to save and compare in the io tests: one tensor of every dtype, and an
// equality check on names, dtypes, shapes and values.
import { expect } from 'vitest';

import { tensor, zeros, type Tensor } from '../../lib/index.js';

/** One tensor of every dtype, an empty one, and a non-ASCII name. */
export function everyDtype(): Map<string, Tensor> {
  return new Map<string, Tensor>([
    ['w', tensor([[1.5, -2], [3, 4]], { dtype: 'float32' })],
    ['i', tensor([1, -7, 3])],
    ['u', tensor([0, 255], { dtype: 'uint8' })],
    ['b', tensor([true, false])],
    ['h', tensor([1, 2.5, -0.125], { dtype: 'float16' })],
    ['bf', tensor([1, -3], { dtype: 'bfloat16' })],
    ['empty', zeros([0, 3])],
    ['ünïcode.名前', tensor([7], { dtype: 'float32' })], // header padding counts bytes, not characters
  ]);
}

/** Fails unless `loaded` has exactly `saved`'s names, each with the same dtype, shape and values. */
export function expectSame(loaded: Map<string, Tensor>, saved: Map<string, Tensor>): void {
  expect([...loaded.keys()].sort()).toEqual([...saved.keys()].sort());
  for (const [name, t] of saved) {
    expect(loaded.get(name)!.dtype).toBe(t.dtype);
    expect(loaded.get(name)!.shape).toEqual(t.shape);
    expect(loaded.get(name)!.tolist()).toEqual(t.tolist());
  }
}
