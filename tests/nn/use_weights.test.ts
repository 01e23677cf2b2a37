import { describe, expect, it } from 'vitest';

import { DTypeError, io, KeyError, nn, noGrad, ShapeError, tensor, zeros } from '../../lib/index.js';
import { isParameter } from '../../lib/nn/module.js';
import { useWeights } from '../../lib/nn/use_weights.js';

const net = (): nn.Sequential => new nn.Sequential(new nn.Linear(2, 3), new nn.BatchNorm1d(3));

describe('useWeights', () => {
  it('makes the module use the given tensors, not copies of them', async () => {
    const source = net();
    const shared = io.packSharedStateDictSync(source.stateDict());
    const target = net().eval();
    useWeights(target, io.unpackSharedStateDict(shared));
    const x = tensor([[1, -1]], { dtype: 'float32' });
    const expected = noGrad(() => source.eval().call(x));
    expect([...(await noGrad(() => target.call(x)).data())]).toEqual([...(await expected.data())]);
    // Zeroing the shared buffer zeroes the module's weights: they are the same memory.
    new Uint8Array(shared.buffer).fill(0);
    const weight = target.stateDict().get('0.weight')!;
    expect([...(await weight.data())]).toEqual([0, 0, 0, 0, 0, 0]);
    expect(isParameter(weight)).toBe(true);
    expect(weight.requiresGrad).toBe(false);
    source.dispose();
    target.dispose();
  });

  it('refuses missing, unexpected, misshaped and mistyped weights, changing nothing', () => {
    const target = net();
    const weights = target.stateDict();
    const before = [...target.stateDict().values()];
    const without = new Map(weights);
    without.delete('0.bias');
    expect(() => useWeights(target, without)).toThrow(KeyError);
    expect(() => useWeights(target, new Map([...weights, ['extra', zeros([1])]]))).toThrow('useWeights: the module has no extra');
    expect(() => useWeights(target, new Map([...weights, ['0.bias', zeros([4])]]))).toThrow(ShapeError);
    expect(() => useWeights(target, new Map([...weights, ['0.bias', zeros([3], { dtype: 'int32' })]]))).toThrow(DTypeError);
    expect([...target.stateDict().values()]).toEqual(before);
    target.dispose();
  });

  it('disposes the tensors it replaces', () => {
    const target = net();
    const old = [...target.stateDict().values()];
    const replacement = new Map([...target.stateDict()].map(([k, t]) => [k, t.detach().clone()]));
    useWeights(target, replacement);
    expect(old.every((t) => t.isDisposed)).toBe(true);
    expect([...target.stateDict().values()].every((t, i) => t === [...replacement.values()][i])).toBe(true);
    target.dispose();
  });
});
