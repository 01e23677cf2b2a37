/**
 * The packed layouts the addon reads (`[dtype, ndim, offset, ...shape, ...strides]`, see
 * `NativeTensor` in native.ts), carved out of shared slabs.
 *
 * A small `new Float64Array(n)` lives inside the V8 heap, and the addon reading its data
 * pointer forces V8 to move it out: a backing-store allocation, a registry entry and a
 * background free for every layout, several per op (issue 11: most of a 16-element add's
 * allocations). Views of one off-heap ArrayBuffer cost none of that. A slab stays alive
 * while any of its views does, so a long-lived tensor holds at most {@link SLAB_BYTES}.
 * @internal
 * @module
 */

/** Bytes per slab: room for about 50 four-dim layouts. */
export const SLAB_BYTES = 2048;

let slab = new ArrayBuffer(SLAB_BYTES);
let used = 0;

/** The layout of a strided view, packed as `NativeTensor` describes, in a slab view. */
export function packLayout(dtype: number, shape: readonly number[], strides: readonly number[], offset: number): Float64Array {
  const ndim = shape.length;
  const bytes = (3 + 2 * ndim) * Float64Array.BYTES_PER_ELEMENT;
  if (bytes > SLAB_BYTES) return fill(new Float64Array(3 + 2 * ndim), dtype, shape, strides, offset);
  if (used + bytes > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    used = 0;
  }
  const layout = new Float64Array(slab, used, 3 + 2 * ndim);
  used += bytes;
  return fill(layout, dtype, shape, strides, offset);
}

function fill(layout: Float64Array, dtype: number, shape: readonly number[], strides: readonly number[], offset: number): Float64Array {
  const ndim = shape.length;
  layout[0] = dtype;
  layout[1] = ndim;
  layout[2] = offset;
  for (let d = 0; d < ndim; ++d) {
    layout[3 + d] = shape[d]!;
    layout[3 + ndim + d] = strides[d]!;
  }
  return layout;
}

/** True when two dims lists (shapes or strides) are equal. */
export function sameDims(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; ++i) if (a[i] !== b[i]) return false;
  return true;
}
