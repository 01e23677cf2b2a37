/**
 * The tensor descriptors the addon reads (`[storage, dtype, ndim, offset, ...shape,
 * ...strides]`, see `NativeTensor` in native.ts), carved out of shared slabs.
 *
 * A small `new Float64Array(n)` lives inside the V8 heap, and the addon reading its data
 * pointer forces V8 to move it out: a backing-store allocation, a registry entry and a
 * background free for every layout, several per op (issue 11: most of a 16-element add's
 * allocations). Views of one off-heap ArrayBuffer cost none of that. A slab stays alive
 * while any of its views does, so a long-lived tensor holds at most {@link SLAB_BYTES}.
 * @internal
 * @module
 */

/** Bytes per slab: room for about 20 four-dim descriptors. */
export const SLAB_BYTES = 2048;

let slab = new ArrayBuffer(SLAB_BYTES);
let used = 0;

/**
 * The descriptor of a strided view of `storage` (a storage id, or a device code asking the
 * binding to allocate: {@link allocationCode}), packed as `NativeTensor` describes, in a slab view.
 */
export function packLayout(
  storage: number,
  dtype: number,
  shape: readonly number[],
  strides: readonly number[],
  offset: number,
): Float64Array {
  const length = 4 + 2 * shape.length;
  const bytes = length * Float64Array.BYTES_PER_ELEMENT;
  if (bytes > SLAB_BYTES) return fill(new Float64Array(length), storage, dtype, shape, strides, offset);
  if (used + bytes > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    used = 0;
  }
  const layout = new Float64Array(slab, used, length);
  used += bytes;
  return fill(layout, storage, dtype, shape, strides, offset);
}

function fill(
  layout: Float64Array,
  storage: number,
  dtype: number,
  shape: readonly number[],
  strides: readonly number[],
  offset: number,
): Float64Array {
  const ndim = shape.length;
  layout[0] = storage;
  layout[1] = dtype;
  layout[2] = ndim;
  layout[3] = offset;
  for (let d = 0; d < ndim; ++d) {
    layout[4 + d] = shape[d]!;
    layout[4 + ndim + d] = strides[d]!;
  }
  return layout;
}

/**
 * What a descriptor carries in place of a storage id to have the binding allocate the
 * tensor's memory in the op call that first receives it (-1: cpu, -2 - n: cuda:n), so an
 * op's output costs no native call of its own (issue 11).
 */
export function allocationCode(device: string): number {
  return device === 'cpu' ? -1 : -2 - Number(device.slice(5));
}

/** True when two dims lists (shapes or strides) are equal. */
export function sameDims(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; ++i) if (a[i] !== b[i]) return false;
  return true;
}
