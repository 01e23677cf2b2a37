// lib/data/worker_protocol.ts: batches encoded for another thread (tensors as transferable
// typed arrays) and decoded back, errors revived as their classes, and per-batch seeds.
import { describe, expect, it } from 'vitest';

import {
  batchSeed,
  decodeBatch,
  encodeBatch,
  reviveError,
  serializeError,
  type EncodedTensor,
} from '../../lib/data/worker_protocol.js';
import { ArgumentError, FormatError, IndexError, NeocogError, tensor, type Tensor } from '../../lib/index.js';

describe('batches', () => {
  it('tensors of every dtype, numbers, strings and nested records round-trip; buffers are listed for transfer', async () => {
    const batch = {
      x: tensor([[1.5, -2]], { dtype: 'float32' }),
      parts: [tensor([1, 2]), tensor([0, 255], { dtype: 'uint8' }), tensor([true, false])],
      half: tensor([0.5, 2], { dtype: 'float16' }),
      meta: { count: 2, name: 'train', flag: true, none: null },
    };
    const transfer: ArrayBuffer[] = [];
    const encoded = await encodeBatch(batch, transfer);
    expect(transfer).toHaveLength(5);
    const x = (encoded as { x: EncodedTensor }).x;
    expect([x.__neocogTensor, x.dtype, x.shape]).toEqual([true, 'float32', [1, 2]]);
    // What postMessage does: clone, moving the listed buffers.
    const decoded = decodeBatch(structuredClone(encoded, { transfer })) as typeof batch;
    expect(transfer.every((buffer) => buffer.byteLength === 0)).toBe(true); // moved, not copied
    expect([decoded.x.dtype, decoded.x.tolist()]).toEqual(['float32', [[1.5, -2]]]);
    expect(decoded.parts.map((t: Tensor) => [t.dtype, t.tolist()])).toEqual([['int32', [1, 2]], ['uint8', [0, 255]], ['bool', [true, false]]]);
    expect([decoded.half.dtype, decoded.half.tolist()]).toEqual(['float16', [0.5, 2]]);
    expect(decoded.meta).toEqual({ count: 2, name: 'train', flag: true, none: null });
  });

  it('encoding copies the values: later changes to the tensor do not show', async () => {
    const t = tensor([1, 2, 3]);
    const encoded = (await encodeBatch(t, [])) as EncodedTensor;
    t.dispose();
    expect(Array.from(encoded.data)).toEqual([1, 2, 3]);
  });

  it('anything else in a batch is an ArgumentError naming what came', async () => {
    await expect(encodeBatch(new Map(), [])).rejects.toThrow(ArgumentError);
    await expect(encodeBatch([1, { when: new Date(0) }], [])).rejects.toThrow(
      'DataLoader worker: a batch may hold tensors, numbers, strings, booleans, and arrays or plain objects of them; got [object Date]',
    );
  });
});

describe('errors', () => {
  it('neocog and built-in errors come back as their class, with the message and where they ran', () => {
    for (const original of [new FormatError('item 3 is corrupt'), new IndexError('index 9'), new TypeError('not a function'), new NeocogError('x')]) {
      const revived = reviveError(structuredClone(serializeError(original)), 'DataLoader worker 1 while building batch 4');
      expect(revived).toBeInstanceOf(original.constructor);
      expect([revived.name, revived.message]).toEqual([original.name, original.message]);
      expect(revived.stack).toMatch(new RegExp(`^${original.name}: ${original.message}\\n    \\(thrown in DataLoader worker 1 while building batch 4\\)\\n`));
      expect(revived.stack).toContain('worker_protocol.test.ts'); // the worker's own frames follow
    }
  });

  it('other classes become an Error keeping their name; non-errors their text', () => {
    class CustomError extends Error {
      override name = 'CustomError';
    }
    const revived = reviveError(serializeError(new CustomError('odd')), 'DataLoader worker 0');
    expect(revived.constructor).toBe(Error);
    expect([revived.name, revived.message]).toEqual(['CustomError', 'odd']);
    expect(serializeError('a string')).toEqual({ name: 'Error', message: 'a string', stack: undefined });
    expect(reviveError(serializeError(42), 'DataLoader worker 0').stack).toBe('Error: 42\n    (thrown in DataLoader worker 0)\n');
  });
});

describe('batchSeed', () => {
  it('is a 32-bit seed that depends on the seed, the epoch and the batch only', () => {
    expect(batchSeed(7, 1, 3)).toBe(batchSeed(7, 1, 3));
    const seeds = new Set<number>();
    for (const seed of [0, 7, 2 ** 40 + 7]) for (let epoch = 0; epoch < 4; ++epoch) for (let b = 0; b < 25; ++b) seeds.add(batchSeed(seed, epoch, b));
    expect(seeds.size).toBe(300);
    for (const s of seeds) expect(Number.isInteger(s) && s >= 0 && s < 2 ** 32).toBe(true);
  });
});
