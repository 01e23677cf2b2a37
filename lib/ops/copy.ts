/**
 * Materialising copies: contiguous(), clone(), to(dtype) and to(device).
 * @module
 */
import { native } from '../native.js';
import { empty, zeros } from '../tensor/creation.js';
import type { Device } from '../tensor/device.js';
import type { DType } from '../tensor/dtype.js';
import { stridesLike } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * A copy of `x` on `device` as `dtype`: contiguous, or with `preserveFormat` on the same
 * device in `x`'s memory format (as PyTorch's `to(dtype)` keeps a channels-last tensor
 * channels-last, where pooling and convolutions run their fast paths). The dtype conversion
 * runs on the source device, then one transfer moves the bytes when the device changes.
 * @internal
 */
export function copyTo<E extends DType>(x: Tensor, device: Device, dtype: E, op: string, preserveFormat = false): Tensor<E> {
  const source = x._native(op);
  const converted = empty(op, x.shape, dtype, x.device, preserveFormat && device === x.device ? stridesLike(x, x.shape) : undefined);
  native.copy(op, converted._native(op, 'out'), source);
  if (device === x.device) return converted;
  try {
    const moved = empty(op, x.shape, dtype, device);
    native.transfer(moved._native(op, 'out'), converted._native(op));
    return moved;
  } finally {
    converted.dispose();
  }
}

/** Writes `src` into the (possibly strided) view `dst`, elementwise. @internal */
export function copyInto(dst: Tensor, src: Tensor): void {
  native.copy('copy', dst._native('copy', 'out'), src._native('copy'));
}

/** Float32 zeros on a device. @internal */
export function zerosOn(shape: readonly number[], device: Device): Tensor<'float32'> {
  return zeros(shape, { device });
}
