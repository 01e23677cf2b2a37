import { expect, it } from 'vitest';

import {
  ArgumentError,
  DeviceError,
  DTypeError,
  NeocogError,
  ShapeError,
  tensor,
  zeros,
} from '../../lib/index.js';
import { checkSameDevice } from '../../lib/ops/validate.js';

it('mismatched dtypes throw DTypeError naming the op and argument', () => {
  const f = tensor([1.5, 2.5]);
  const i = tensor([1, 2]);
  expect(() => f.add(i)).toThrow(DTypeError);
  expect(() => f.add(i)).toThrow("add: expected other to have dtype float32 like input, got int32 (convert with .to('float32'))");
  expect(() => i.div(i)).toThrow(/div: expected input to have dtype float32, got int32/);
  expect(() => i.matmul(i)).toThrow(/matmul: expected input to have dtype float32/);
  expect(() => f.indexSelect(0, f)).toThrow(/indexSelect: expected index to have dtype int32/);
});

it('mismatched devices throw DeviceError naming both devices', () => {
  // No second device exists here, so the shared check is exercised directly.
  expect(() => checkSameDevice('add', { input: { device: 'cpu' }, other: { device: 'cuda:0' } })).toThrow(DeviceError);
  expect(() => checkSameDevice('add', { input: { device: 'cpu' }, other: { device: 'cuda:0' } })).toThrow(
    'add: expected all tensors on one device, but input is on cpu and other is on cuda:0',
  );
  expect(() => checkSameDevice('add', { input: { device: 'cpu' }, other: { device: 'cpu' } })).not.toThrow();
});

it('shapes that do not broadcast throw ShapeError', () => {
  expect(() => zeros([2, 3]).add(zeros([4]))).toThrow(ShapeError);
  expect(() => zeros([2, 3]).add(zeros([4]))).toThrow(/add: shapes \[2, 3\] and \[4\] do not broadcast/);
  expect(() => zeros([2, 3]).matmul(zeros([2, 3]))).toThrow(/cannot be multiplied \(3 vs 2\)/);
});

it('non-tensor arguments throw ArgumentError', () => {
  expect(() => zeros([2]).add('x' as never)).toThrow(ArgumentError);
  expect(() => zeros([2]).matmul([1, 2] as never)).toThrow(/matmul: expected other to be a Tensor/);
});

it('every typed error is a NeocogError and an Error', () => {
  try {
    zeros([2]).add(zeros([3]));
  } catch (error) {
    expect(error).toBeInstanceOf(ShapeError);
    expect(error).toBeInstanceOf(NeocogError);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).name).toBe('ShapeError');
    expect((error as Error).stack).toContain('errors.test.ts');
    return;
  }
  throw new Error('expected a throw');
});
