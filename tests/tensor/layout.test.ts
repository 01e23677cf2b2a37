// The small-op hot path (issue 11): layouts are slab views made once per tensor, and ops
// hand the binding each operand's cached descriptor. These tests count what an op makes
// instead of timing it, so they hold on a loaded machine; bench/dispatch.ts has the times.
import { AsyncLocalStorage } from 'node:async_hooks';

import { afterEach, describe, expect, it, vi } from 'vitest';

import { add, conv2d, matmul, memory, mul, noGrad, randn, relu, scope, synchronizeSync, zeros, type Tensor } from '../../lib/index.js';
import { native, type NativeTensor } from '../../lib/native.js';
import { allocationCode, packLayout, sameDims, SLAB_BYTES } from '../../lib/tensor/layout.js';

afterEach(() => {
  vi.restoreAllMocks();
});

/** Calls into the addon from now on, by function name (spies that still call through). */
function countNativeCalls(): Map<string, number> {
  const calls = new Map<string, number>();
  const binding = native as unknown as Record<string, unknown>;
  for (const name of Object.keys(binding)) {
    const fn = binding[name];
    if (typeof fn !== 'function') continue;
    binding[name] = (...args: unknown[]) => {
      calls.set(name, (calls.get(name) ?? 0) + 1);
      return (fn as (...a: unknown[]) => unknown)(...args);
    };
    restores.push(() => (binding[name] = fn));
  }
  return calls;
}
const restores: Array<() => void> = [];
afterEach(() => {
  for (const restore of restores.splice(0)) restore();
});

describe('packLayout', () => {
  it('packs [storage, dtype, ndim, offset, ...shape, ...strides]: storage 7, shape [2, 3, 4] strides [12, 1, 3] offset 5', () => {
    const packed = packLayout(7, 0, [2, 3, 4], [12, 1, 3], 5);
    expect([...packed]).toEqual([7, 0, 3, 5, 2, 3, 4, 12, 1, 3]);
  });

  it('allocationCode: -1 for cpu, -2 - n for cuda:n', () => {
    expect([allocationCode('cpu'), allocationCode('cuda:0'), allocationCode('cuda:3')]).toEqual([-1, -2, -5]);
  });

  it('carves consecutive layouts out of one off-heap slab', () => {
    const layouts = Array.from({ length: 20 }, (_, i) => packLayout(0, 0, [i + 1], [1], 0));
    const slabs = new Set(layouts.map((l) => l.buffer));
    // 20 one-dim layouts (48 bytes each) span at most two 2 KiB slabs.
    expect(slabs.size).toBeLessThanOrEqual(2);
    for (const l of layouts) expect(l.buffer.byteLength).toBe(SLAB_BYTES);
    // Views never overlap: each keeps its own values.
    layouts.forEach((l, i) => expect(l[4]).toBe(i + 1));
  });

  it('gives a layout larger than a slab its own array', () => {
    const ndim = SLAB_BYTES / 8;
    const shape = new Array<number>(ndim).fill(1);
    const packed = packLayout(0, 0, shape, shape, 0);
    expect(packed.length).toBe(4 + 2 * ndim);
    expect([...packed]).toEqual([0, 0, ndim, 0, ...shape, ...shape]);
  });

  it('sameDims compares lengths and entries', () => {
    expect(sameDims([2, 3], [2, 3])).toBe(true);
    expect(sameDims([2, 3], [2])).toBe(false);
    expect(sameDims([2, 3], [3, 2])).toBe(false);
    expect(sameDims([], [])).toBe(true);
  });
});

describe('tensor descriptors', () => {
  it('are made once per tensor', () => {
    const t = randn([4, 4]);
    expect(t._native('test')).toBe(t._native('test', 'other'));
    expect(t._native('test').buffer.byteLength).toBe(SLAB_BYTES);
    t.dispose();
  });

  it('_nativeAs with the tensor own shape and strides reuses its descriptor; another view gets a new layout', () => {
    const t = randn([4, 1]);
    expect(t._nativeAs('test', 'input', [4, 1], [1, 1])).toBe(t._native('test'));
    const broadcast = t._nativeAs('test', 'input', [4, 3], [1, 0]);
    expect([...broadcast]).toEqual([t._storage('test').id, 0, 2, 0, 4, 3, 1, 0]);
    t.dispose();
  });

  it('a disposed tensor still throws DisposedError naming the op', () => {
    const t = randn([3]);
    t._native('test');
    t.dispose();
    expect(() => t._native('relu', 'input')).toThrow(/relu: input has been disposed/);
  });
});

describe('a small elementwise op', () => {
  it('hands the binding the operands own descriptors when no broadcast is needed', () => {
    const [a, b] = [randn([16]), randn([16])];
    const calls: NativeTensor[][] = [];
    const binary = native.binary;
    vi.spyOn(native, 'binary').mockImplementation((...args) => {
      calls.push([args[2], args[3], args[4]]);
      binary(...args);
    });
    noGrad(() => add(a, b)).dispose();
    expect(calls).toHaveLength(1);
    expect(calls[0]![1]).toBe(a._native('test'));
    expect(calls[0]![2]).toBe(b._native('test'));
    a.dispose();
    b.dispose();
  });

  it('crosses into the addon once per call, its output allocated in that call, and once at dispose; layouts come from shared slabs', () => {
    const [a, b] = [randn([16]), randn([16])];
    const calls = countNativeCalls();
    const buffers = new Set<ArrayBufferLike>();
    noGrad(() => {
      for (let i = 0; i < 1000; ++i) {
        const out: Tensor = add(a, b);
        buffers.add(out._native('test').buffer);
        out.dispose();
      }
    });
    // Before issue 11's second pass: empty + binary + release, and a wrapped object per storage.
    expect(Object.fromEntries(calls)).toEqual({ binary: 1000, releaseStorage: 1000 });
    // 1000 one-dim layouts of 48 bytes fill about 24 slabs, not 1000 buffers.
    expect(buffers.size).toBeLessThanOrEqual(Math.ceil((1000 * 48) / SLAB_BYTES) + 1);
    a.dispose();
    b.dispose();
  });

  it('reads the grad mode (an AsyncLocalStorage lookup) only when an input requires grad', () => {
    const [a, b] = [randn([16]), randn([16])];
    const getStore = vi.spyOn(AsyncLocalStorage.prototype, 'getStore');
    for (let i = 0; i < 100; ++i) {
      add(a, b).dispose();
      relu(a).dispose();
    }
    // Before: one lookup per op, though neither input could take part in a graph.
    expect(getStore).not.toHaveBeenCalled();
    const w = randn([16]).requiresGrad_();
    const out = add(a, w);
    expect(getStore).toHaveBeenCalled();
    expect(out.requiresGrad).toBe(true);
    const inert = noGrad(() => add(a, w));
    expect(inert.requiresGrad).toBe(false);
    for (const t of [a, b, w, out, inert]) t.dispose();
  });

  it('freezes nothing for an output disposed unread; shape and strides read later are frozen copies', () => {
    const [a, b] = [randn([16]), randn([16])];
    a.shape; // the inputs' arrays are frozen on their first read
    b.shape;
    const freeze = vi.spyOn(Object, 'freeze');
    noGrad(() => {
      for (let i = 0; i < 1000; ++i) add(a, b).dispose();
    });
    // Before: two Object.freeze calls per output (shape and strides).
    expect(freeze).not.toHaveBeenCalled();
    freeze.mockRestore();
    const out = noGrad(() => add(a, b));
    expect(Object.isFrozen(out.shape)).toBe(true);
    expect(Object.isFrozen(out.strides)).toBe(true);
    const shape = [2, 8];
    const strides = [8, 1];
    const view = a._view('test', shape, strides);
    shape[0] = 99;
    strides[0] = 99;
    expect(view.shape).toEqual([2, 8]);
    expect(view.strides).toEqual([8, 1]);
    expect(Object.isFrozen(view.shape) && Object.isFrozen(view.strides)).toBe(true);
    for (const t of [a, b, out, view]) t.dispose();
  });

  it('relu, matmul and conv2d allocate their outputs inside their kernel call too (no native empty)', () => {
    const x = randn([1, 8, 8, 8]).permute(0, 3, 1, 2);
    const w = randn([8, 8, 3, 3]);
    const [m, n] = [randn([4, 4]), randn([4, 4])];
    const calls = countNativeCalls();
    noGrad(() => {
      relu(m).dispose();
      matmul(m, n).dispose();
      conv2d(x, w, null, { padding: 1 }).dispose();
    });
    expect(calls.get('empty')).toBeUndefined();
    expect(calls.get('unary')).toBe(1);
    expect(calls.get('convForward')).toBe(1);
    for (const t of [x, w, m, n]) t.dispose();
  });

  it('the output descriptor carries the id the binding allocated, and dispose frees it', () => {
    const a = randn([16]);
    const out = noGrad(() => relu(a));
    const descriptor = out._native('test');
    const id = out._storage('test').id;
    expect(descriptor[0]).toBeGreaterThanOrEqual(0);
    expect(descriptor[0]).toBe(id);
    // Per storage, not memory().bytes: the collector may free other tests' tensors meanwhile.
    expect(native.storageBytes(id)).toBeGreaterThanOrEqual(64);
    out.dispose();
    synchronizeSync();
    expect(() => native.storageBytes(id)).toThrow(/disposed/);
    a.dispose();
  });

  it('still broadcasts [4, 1] + [3] to [4, 3]', async () => {
    const x = zeros([4, 1]).add(1);
    const y = randn([3]);
    const z = mul(add(x, y), 1);
    expect(z.shape).toEqual([4, 3]);
    const [yv, zv] = [await y.data(), await z.data()];
    for (let i = 0; i < 4; ++i) for (let j = 0; j < 3; ++j) expect(zv[i * 3 + j]).toBeCloseTo(1 + yv[j]!, 6);
    for (const t of [x, y, z]) t.dispose();
  });

  it('outputs made while no scope is open are not disposed by a later scope, and ones inside are', () => {
    const outside = relu(randn([8]));
    const inside = scope(() => {
      const t = relu(outside);
      return { t, values: t.dataSync() };
    });
    expect(outside.isDisposed).toBe(false);
    expect(inside.t.isDisposed).toBe(false);
    let temporary: Tensor | undefined;
    scope(() => {
      temporary = relu(outside);
    });
    expect(temporary!.isDisposed).toBe(true);
    outside.dispose();
    inside.t.dispose();
  });
});

describe('views', () => {
  it('share their base storage without a native call, and the last one disposed frees the memory', () => {
    const before = memory('cpu');
    const base = randn([64, 64]);
    const storage = base._storage('test');
    const calls = countNativeCalls();
    const [reshaped, permuted, detached] = [base.reshape([4096]), base.permute(1, 0), base.detach()];
    expect(calls.size).toBe(0);
    for (const v of [reshaped, permuted, detached]) expect(v._storage('test')).toBe(storage);
    base.dispose();
    reshaped.dispose();
    expect(storage.released).toBe(false);
    expect(permuted.dataSync()).toHaveLength(4096);
    permuted.dispose();
    detached.dispose();
    expect(storage.released).toBe(true);
    // At most the starting level: the garbage collector may free earlier tests' tensors meanwhile.
    const after = memory('cpu');
    expect(after.bytes).toBeLessThanOrEqual(before.bytes);
    expect(after.tensors).toBeLessThanOrEqual(before.tensors);
  });
});
