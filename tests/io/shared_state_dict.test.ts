import { describe, expect, it } from 'vitest';

import { DTypeError, io, nn, tensor } from '../../lib/index.js';
import type { Tensor } from '../../lib/index.js';

async function values(dict: ReadonlyMap<string, Tensor>): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const [name, t] of dict) out[name] = [...(await t.data())];
  return out;
}

describe('packSharedStateDict / unpackSharedStateDict', () => {
  it('round-trips a module state dict, every tensor at a 64-byte offset', async () => {
    const model = new nn.Sequential(new nn.Linear(3, 5), new nn.BatchNorm1d(5));
    const shared = await io.packSharedStateDict(model.stateDict());
    expect(shared.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(shared.entries.map((e) => e.name)).toEqual([...model.stateDict().keys()]);
    for (const entry of shared.entries) expect(entry.byteOffset % io.SHARED_ALIGNMENT).toBe(0);
    // The index is plain data: it survives JSON.
    expect(JSON.parse(JSON.stringify(shared.entries))).toEqual(shared.entries);
    const unpacked = io.unpackSharedStateDict(shared);
    expect(await values(unpacked)).toEqual(await values(model.stateDict()));
    expect(unpacked.get('1.num_batches_tracked')?.dtype).toBe(model.stateDict().get('1.num_batches_tracked')?.dtype);
    for (const t of unpacked.values()) t.dispose();
    model.dispose();
  });

  it('the unpacked tensors borrow the buffer: a write to it shows through', async () => {
    const shared = io.packSharedStateDictSync(new Map([['w', tensor([1, 2, 3], { dtype: 'float32' })]]));
    const w = io.unpackSharedStateDict(shared).get('w')!;
    new Float32Array(shared.buffer, shared.entries[0]!.byteOffset, 3)[1] = 20;
    expect([...(await w.data())]).toEqual([1, 20, 3]);
    w.dispose();
  });

  it('packs views in logical order, and bool/uint8/int32 tensors', async () => {
    const dict = new Map<string, Tensor>([
      ['t', tensor([[1, 2], [3, 4]], { dtype: 'float32' }).transpose(0, 1)],
      ['b', tensor([1, 0, 1], { dtype: 'bool' })],
      ['u', tensor([255, 7], { dtype: 'uint8' })],
      ['i', tensor([-3], { dtype: 'int32' })],
    ]);
    const unpacked = io.unpackSharedStateDict(await io.packSharedStateDict(dict));
    expect(await values(unpacked)).toEqual({ t: [1, 3, 2, 4], b: [1, 0, 1], u: [255, 7], i: [-3] });
    expect([...unpacked.values()].map((t) => t.dtype)).toEqual(['float32', 'bool', 'uint8', 'int32']);
    for (const t of [...unpacked.values(), ...dict.values()]) t.dispose();
  });

  it('refuses 16-bit tensors with a DTypeError', async () => {
    const half = tensor([1, 2], { dtype: 'float32' }).to('bfloat16');
    await expect(io.packSharedStateDict(new Map([['h', half]]))).rejects.toThrow(DTypeError);
    expect(() => io.packSharedStateDictSync(new Map([['h', half]]))).toThrow('packSharedStateDictSync: h is bfloat16; only float32, int32, uint8 and bool tensors are packed');
    half.dispose();
  });

  it('an empty state dict packs into an empty buffer', () => {
    const shared = io.packSharedStateDictSync(new Map());
    expect(shared.buffer.byteLength).toBe(0);
    expect(io.unpackSharedStateDict(shared).size).toBe(0);
  });
});
