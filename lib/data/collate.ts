/**
 * The default collate: items of tensors (and numbers, such as labels) become a batch.
 * @module
 */
import { ArgumentError } from '../errors.js';
import { stack } from '../ops/shape.js';
import { fromTypedArray } from '../tensor/creation.js';
import { Tensor } from '../tensor/tensor.js';

/** Items of stacked tensors, e.g. [image, label]. */
export type TensorItem = Tensor[];

/** An item {@link stackCollate} accepts: tensors and numbers, e.g. `[image, label]`. */
export type CollatableItem = ReadonlyArray<Tensor | number>;

/**
 * The batch {@link stackCollate} makes of items of type `T`, part by part: a tensor part
 * becomes a tensor of the same dtype, a number part an int32 (all integers) or float32
 * tensor. Tuples stay tuples, so `[Tensor, number]` items batch to `[Tensor, Tensor]` and
 * `for await (const [x, y] of loader)` needs no casts under `noUncheckedIndexedAccess`.
 * Items that are not arrays have no default batch type (`unknown`): give a collate.
 */
export type Collated<T> = T extends ReadonlyArray<unknown>
  ? { -readonly [K in keyof T]: T[K] extends Tensor<infer D> ? Tensor<D> : T[K] extends number ? Tensor<'int32' | 'float32'> : never }
  : unknown;

/**
 * Stacks the i-th part of every item into the i-th batch tensor, as torch's
 * `default_collate`: tensors are stacked along a new first dim; numbers become an int32
 * tensor when all are integers, float32 otherwise.
 */
export function stackCollate<T extends CollatableItem>(items: readonly T[]): Collated<T> {
  if (items.length === 0) throw new ArgumentError('stackCollate: expected at least one item');
  // The parts are checked at run time; the tuple type of the result follows from T.
  return items[0]!.map((first, i) => {
    const parts = items.map((item) => item[i]);
    if (first instanceof Tensor) {
      if (!parts.every((p) => p instanceof Tensor)) throw new ArgumentError(`stackCollate: part ${i} is a tensor in the first item but not in all`);
      return stack(parts as Tensor[]);
    }
    if (!parts.every((p) => typeof p === 'number')) throw new ArgumentError(`stackCollate: part ${i} should be a tensor or a number in every item`);
    const numbers = parts as number[];
    return fromTypedArray(numbers.every(Number.isInteger) ? Int32Array.from(numbers) : Float32Array.from(numbers));
  }) as Collated<T>;
}
