import { describe, expect, it } from 'vitest';

import {
  ArgumentError,
  DeviceError,
  DTypeError,
  NeocogError,
  ShapeError,
  tensor,
  zeros,
} from '../lib/index.js';
import { fromNativeError, IndexError, OutOfMemoryError } from '../lib/errors.js';
import { checkSameDevice } from '../lib/ops/validate.js';

it('mismatched dtypes throw DTypeError naming the op and argument', () => {
  const f = tensor([1.5, 2.5]);
  const i = tensor([1, 2]);
  expect(() => f.add(i)).toThrow(DTypeError);
  expect(() => f.add(i)).toThrow("add: expected other to have dtype float32 like input, got int32 (convert with .to('float32'))");
  expect(() => i.div(i)).toThrow(/div: expected input to have dtype float32 or bfloat16 or float16, got int32/);
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

describe('fromNativeError', () => {
  /** An Error as the addon throws it: a message and a `kind` naming the typed class. */
  const nativeError = (message: string, kind?: unknown) => Object.assign(new Error(message), kind === undefined ? {} : { kind });

  it('gives each kind its class, keeping the message and the stack below the first line', () => {
    const kinds = { ShapeError, DTypeError, DeviceError, IndexError, OutOfMemoryError };
    for (const [kind, Typed] of Object.entries(kinds)) {
      const raw = nativeError(`gather: index 7 is out of range (${kind})`, kind);
      const typed = fromNativeError(raw) as Error;
      expect(typed).toBeInstanceOf(Typed);
      expect(typed.message).toBe(raw.message);
      expect(typed.stack!.split('\n')[0]).toBe(`${kind}: ${raw.message}`);
      expect(typed.stack!.split('\n').slice(1)).toEqual(raw.stack!.split('\n').slice(1));
    }
  });

  it('an unknown kind becomes a plain NeocogError', () => {
    const typed = fromNativeError(nativeError('conv: cuDNN failed', 'CudnnError'));
    expect(typed).toBeInstanceOf(NeocogError);
    expect((typed as Error).name).toBe('NeocogError');
    expect((typed as Error).message).toBe('conv: cuDNN failed');
  });

  it('leaves errors without a kind, typed errors and non-errors as they are', () => {
    const plain = nativeError('no kind');
    expect(fromNativeError(plain)).toBe(plain);
    const numbered = nativeError('kind is not a name', 3);
    expect(fromNativeError(numbered)).toBe(numbered);
    const typed = new ShapeError('already typed');
    expect(fromNativeError(typed)).toBe(typed);
    expect(fromNativeError('a string')).toBe('a string');
    expect(fromNativeError(undefined)).toBeUndefined();
  });
});
