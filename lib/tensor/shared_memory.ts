/**
 * Tensors over a SharedArrayBuffer's memory, without a copy: several worker threads (each
 * with its own addon instance) read one copy of a model's weights (issue 15). Nothing
 * stops another thread from writing that memory while a kernel reads it, so such tensors
 * are read-only by contract: the pool's workers only run inference on them.
 * @internal
 * @module
 */
import { ArgumentError, ShapeError } from '../errors.js';
import { native } from '../native.js';
import { dtypeSize, type DType } from './dtype.js';
import { SharedStorage } from './memory.js';
import { checkShape, contiguousStrides, numelOf } from './shape.js';
import { Tensor } from './tensor.js';

/**
 * @internal A contiguous CPU tensor of `shape` and `dtype` whose storage is `view`'s bytes
 * (a view on a SharedArrayBuffer, or any Uint8Array). The tensor keeps the buffer alive;
 * disposing it frees nothing but the reference. `view` must start at a multiple of the
 * dtype's size within its buffer (buffers themselves are at least 16-byte aligned).
 * @throws ShapeError when `view` does not hold exactly `shape`'s elements
 * @throws ArgumentError for a misaligned view, or one that is not a Uint8Array
 */
export function fromSharedMemory<D extends DType>(view: Uint8Array, shape: readonly number[], dtype: D): Tensor<D> {
  if (!(view instanceof Uint8Array)) throw new ArgumentError('fromSharedMemory: expected view to be a Uint8Array');
  const size = checkShape('fromSharedMemory', 'shape', shape);
  const bytes = numelOf(size) * dtypeSize(dtype);
  if (view.byteLength !== bytes) {
    throw new ShapeError(`fromSharedMemory: shape [${size.join(', ')}] of ${dtype} needs ${bytes} bytes, the view has ${view.byteLength}`);
  }
  // Kernels read whole elements; the binding checks the address itself (4 bytes at least).
  if (view.byteOffset % Math.max(dtypeSize(dtype), 4) !== 0) {
    throw new ArgumentError(`fromSharedMemory: view starts at byte ${view.byteOffset} of its buffer, not a multiple of ${Math.max(dtypeSize(dtype), 4)}`);
  }
  const storage = SharedStorage.unreported(native.wrapShared(view), bytes);
  return new Tensor<D>(storage, size, contiguousStrides(size), 0, dtype, 'cpu', 'fromSharedMemory');
}
