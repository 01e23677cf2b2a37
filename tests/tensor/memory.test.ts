import { spawnSync } from 'node:child_process';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import { afterEach, describe, expect, it, vi } from 'vitest';

import { DisposedError, keep, memory, ones, randn, relu, scope, synchronize, tensor, Tensor, zeros } from '../../lib/index.js';
import { native } from '../../lib/native.js';
import { addInPlace } from '../../lib/ops/elementwise.js';
import { empty } from '../../lib/tensor/creation.js';
import { YOUNG_BYTES, YOUNG_COUNT } from '../../lib/tensor/memory.js';

const live = () => memory('cpu').tensors;

it('scope disposes temporaries and keeps what it returns', () => {
  const before = memory('cpu');
  const kept = scope(() => {
    const a = ones([64]);
    const b = a.add(1);
    return { result: b.mul(2), list: [a.sub(1)] };
  });
  expect(live()).toBe(before.tensors + 2);
  expect(kept.result.tolist()).toEqual(new Array(64).fill(4));
  kept.result.dispose();
  kept.list[0]!.dispose();
  expect(memory('cpu')).toMatchObject({ tensors: before.tensors, bytes: before.bytes });
});

it('scope works across await and leaves memory where it started', async () => {
  const before = memory('cpu');
  const result = await scope(async () => {
    const a = ones([1000]);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const b = a.mul(3); // created after an await: still owned by the scope
    const values = await b.data();
    return values[0];
  });
  expect(result).toBe(3);
  expect(memory('cpu')).toMatchObject({ tensors: before.tensors, bytes: before.bytes });
});

it('concurrent async scopes do not steal each other\'s tensors', async () => {
  const before = live();
  const run = (v: number) =>
    scope(async () => {
      const t = ones([4]).mul(v);
      await new Promise((resolve) => setTimeout(resolve, 10 * v));
      return t;
    });
  const [x, y] = await Promise.all([run(1), run(2)]);
  expect(x.tolist()).toEqual([1, 1, 1, 1]);
  expect(y.tolist()).toEqual([2, 2, 2, 2]);
  x.dispose();
  y.dispose();
  expect(live()).toBe(before);
});

it('nested scopes hand returned tensors to the outer scope', () => {
  const before = live();
  scope(() => {
    const inner = scope(() => ones([2]).add(1));
    expect(inner.isDisposed).toBe(false);
  });
  expect(live()).toBe(before);
});

it('a scope that throws disposes everything it created', async () => {
  const before = live();
  expect(() =>
    scope(() => {
      ones([8]);
      throw new Error('boom');
    }),
  ).toThrow('boom');
  await expect(
    scope(async () => {
      ones([8]);
      await Promise.resolve();
      throw new Error('async boom');
    }),
  ).rejects.toThrow('async boom');
  expect(live()).toBe(before);
});

it('keep() exempts a tensor from the scope', () => {
  let saved: Tensor | undefined;
  scope(() => {
    saved = keep(zeros([3]));
  });
  expect(saved!.isDisposed).toBe(false);
  saved!.dispose();
});

it('dispose twice is harmless; using a disposed tensor throws DisposedError', () => {
  const t = tensor([1, 2, 3]);
  t.dispose();
  t.dispose();
  expect(t.isDisposed).toBe(true);
  expect(() => t.add(1)).toThrow(DisposedError);
  expect(() => t.add(1)).toThrow(/add: input has been disposed/);
  expect(() => tensor([1, 1, 1]).add(t)).toThrow(/add: other has been disposed/);
  expect(() => t.dataSync()).toThrow(DisposedError);
  expect(t.toString()).toMatch(/disposed/);
});

it('`using` disposes at the end of the block', () => {
  const before = live();
  {
    using t = ones([5]);
    expect(t.numel).toBe(5);
    expect(live()).toBe(before + 1);
  }
  expect(live()).toBe(before);
});

it('the caching allocator reuses freed blocks', () => {
  const first = ones([4096]);
  first.dataSync(); // the queued fill no longer holds the block
  first.dispose();
  const cached = memory('cpu').cachedBytes;
  expect(cached).toBeGreaterThanOrEqual(4096 * 4);
  const second = ones([4096]);
  expect(memory('cpu').cachedBytes).toBe(cached - 4096 * 4);
  second.dataSync();
  second.dispose();
});

it('memory() reports every device in use', () => {
  expect(memory()).toHaveProperty('cpu');
  expect(memory().cpu).toMatchObject({ bytes: expect.any(Number), tensors: expect.any(Number) });
});

it('a graph recorded in a scope and never used for backward is freed at the scope exit', async () => {
  const w = randn([64, 64], { requiresGrad: true });
  const x = randn([32, 64]);
  await synchronize();
  const before = memory('cpu');
  for (let i = 0; i < 50; ++i) {
    scope(() => {
      relu(x.matmul(w)).tanh().sum(); // forward with grad, no backward: saved tensors escape no more
    });
  }
  await synchronize();
  const after = memory('cpu');
  expect(after.tensors).toBe(before.tensors);
  expect(after.bytes).toBe(before.bytes);
});

it('a scope keeps the graph of what it returns (or keeps) so backward still works after it', () => {
  const w = randn([8, 8], { requiresGrad: true });
  const x = randn([4, 8]);
  const before = live();
  const loss = scope(() => relu(x.matmul(w)).tanh().sum());
  const kept: Tensor[] = [];
  scope(() => {
    kept.push(keep(relu(x.matmul(w)).sum()));
  });
  loss.backward();
  kept[0]!.backward();
  expect(w.grad!.shape).toEqual([8, 8]);
  // Nested scopes hand the reachable graph to the outer one, which frees it if it drops it.
  const outer = scope(() => {
    const inner = scope(() => relu(x.matmul(w)).sum());
    return inner.mul(2);
  });
  outer.backward();
  for (const t of [loss, kept[0]!, outer, w.grad!]) t.dispose();
  w.grad = null;
  expect(live()).toBe(before);
});

describe('SharedStorage of an op output (allocated in the op call)', () => {
  afterEach(() => vi.restoreAllMocks());

  it('an output no op ever received is never allocated, and disposing it calls nothing native', () => {
    const emptyCalls = vi.spyOn(native, 'empty');
    const releases = vi.spyOn(native, 'releaseStorage');
    const t = empty('test', [1024], 'float32', 'cpu');
    expect(t._native('test')[0]).toBe(-1); // the cpu allocation request
    t.dispose();
    expect(emptyCalls).not.toHaveBeenCalled();
    expect(releases).not.toHaveBeenCalled();
  });

  it('only its first descriptor asks the binding to allocate; another, asked for while that is unanswered, allocates once, into it', () => {
    const emptyCalls = vi.spyOn(native, 'empty');
    const t = empty('test', [4], 'float32', 'cpu');
    const view = t.reshape([2, 2]);
    const request = view._native('test');
    expect(request[0]).toBe(-1);
    expect(emptyCalls).not.toHaveBeenCalled();
    const id = t._native('test')[0]!;
    expect(emptyCalls).toHaveBeenCalledTimes(1);
    expect(id).toBeGreaterThanOrEqual(0);
    expect(request[0]).toBe(id);
    expect(t._storage('test').id).toBe(id);
    view.dispose();
    t.dispose();
    expect(t.isDisposed).toBe(true);
  });

  it('a view that does not span the whole allocation needs the id at once', () => {
    const emptyCalls = vi.spyOn(native, 'empty');
    const t = empty('test', [4], 'float32', 'cpu');
    const part = t.slice(0, 1, 3);
    expect(part._native('test')[0]).toBeGreaterThanOrEqual(0);
    expect(emptyCalls).toHaveBeenCalledTimes(1);
    part.dispose();
    t.dispose();
  });

  it('one allocated by the binding is released by dispose', () => {
    const x = randn([256]);
    const releases = vi.spyOn(native, 'releaseStorage');
    const out = relu(x);
    const id = out._native('test')[0]!;
    expect(id).toBeGreaterThanOrEqual(0);
    out.dispose();
    expect(releases).toHaveBeenCalledWith(id);
    x.dispose();
  });
});

describe('the garbage-collection backstop (young tensors registered only if they outlive the job)', () => {
  afterEach(() => vi.restoreAllMocks());

  /** Tensors registered with and unregistered from a FinalizationRegistry (the backstop) from now on. */
  function countRegistrations(): { registered: () => number; unregistered: () => number } {
    const register = vi.spyOn(FinalizationRegistry.prototype, 'register');
    const unregister = vi.spyOn(FinalizationRegistry.prototype, 'unregister');
    // Node's own registries (timers, streams) are not counted.
    const tensors = (calls: unknown[][]) => calls.filter((args) => args[0] instanceof Tensor).length;
    return { registered: () => tensors(register.mock.calls), unregistered: () => tensors(unregister.mock.calls) };
  }

  it('an op output disposed within the job is never registered, so never unregistered', async () => {
    const [a, b] = [randn([16]), randn([16])];
    await Promise.resolve(); // a and b registered: the job that made them has ended
    const counts = countRegistrations();
    for (let i = 0; i < 1000; ++i) a.add(b).dispose();
    await new Promise((resolve) => setImmediate(resolve));
    // Before: 1000 registrations and 1000 unregistrations.
    expect(counts.registered()).toBe(0);
    expect(counts.unregistered()).toBe(0);
    a.dispose();
    b.dispose();
  });

  it('a tensor still undisposed when the job ends is registered then, and unregistered by its dispose()', async () => {
    const counts = countRegistrations();
    const kept = Array.from({ length: 10 }, () => randn([4]));
    expect(counts.registered()).toBe(0);
    await Promise.resolve();
    expect(counts.registered()).toBe(10);
    for (const t of kept) t.dispose();
    expect(counts.unregistered()).toBe(10);
  });

  it(`a synchronous loop that never disposes or yields registers its tensors at least every ${YOUNG_COUNT}`, () => {
    const counts = countRegistrations();
    const made: Tensor[] = [];
    for (let i = 0; i < 1000; ++i) made.push(zeros([4]));
    expect(counts.registered()).toBeGreaterThanOrEqual(1000 - YOUNG_COUNT);
    for (const t of made) t.dispose();
  });

  it(`young tensors are registered before they would hold more than ${YOUNG_BYTES} bytes; one that large at once`, async () => {
    await Promise.resolve();
    const counts = countRegistrations();
    const quarter = () => empty('test', [YOUNG_BYTES / 16], 'float32', 'cpu');
    const made = [quarter(), quarter(), quarter(), quarter()];
    expect(counts.registered()).toBe(0);
    made.push(quarter()); // would pass the bound: the four before it are registered
    expect(counts.registered()).toBe(4);
    made.push(empty('test', [YOUNG_BYTES / 4], 'float32', 'cpu'));
    expect(counts.registered()).toBe(5);
    for (const t of made) t.dispose();
  });

  /**
   * The native memory V8 counts as held by JavaScript objects (napi_adjust_external_memory),
   * less `base`, in MiB: Node's own buffers move it by some KiB meanwhile.
   */
  const v8External = (base = 0) => (native.adjustExternalMemory(0) - base) / 2 ** 20;

  it('V8 is told about the memory of a tensor that outlives the job that made it, and no longer after dispose()', async () => {
    await synchronize(); // storages earlier tests freed are released (and un-reported) by now
    const before = native.adjustExternalMemory(0);
    const t = randn([1 << 20]); // 4 MiB
    expect(v8External(before)).toBeCloseTo(0, 1);
    await Promise.resolve(); // the job ended with t alive: its memory now counts
    expect(v8External(before)).toBeCloseTo(4, 1);
    t.dispose();
    expect(v8External(before)).toBeCloseTo(0, 1);
  });

  it('memory made and freed within one job is never reported to V8, even past the bounds of the young list', async () => {
    await synchronize();
    const before = native.adjustExternalMemory(0);
    // 600 tensors of 64 KiB (38 MiB): the young list hands them to the backstop as it fills.
    // Reported then, a training step's activations put V8 past its external-memory limit
    // and it ran a mark-compact every step.
    const during = scope(() => {
      const made = Array.from({ length: 600 }, () => randn([1 << 14]));
      return made.length > 0 ? v8External(before) : 0;
    });
    // At most: storages reported by earlier tests may be released (un-reported) meanwhile.
    expect(during).toBeLessThan(0.05);
    await Promise.resolve();
    expect(v8External(before)).toBeLessThan(0.05);
  });

  it('memory an open scope holds across jobs is reported to V8 only once it leaves every scope', async () => {
    await synchronize();
    const before = native.adjustExternalMemory(0);
    let inner = 0;
    let whileOuterHeld = 0;
    const escaped = await scope(async () => {
      const kept = await scope(async () => {
        const dropped = randn([1 << 20]); // 4 MiB, freed by the inner scope
        const returned = randn([1 << 20]); // 4 MiB, handed to the outer scope
        await Promise.resolve(); // the job ends with both alive: the scope, not V8, frees them
        inner = v8External(before);
        return dropped.isDisposed ? null : returned;
      });
      await new Promise((resolve) => setTimeout(resolve, 1)); // a new macrotask, still owned
      whileOuterHeld = v8External(before);
      return kept;
    });
    expect(inner).toBeLessThan(0.05);
    expect(whileOuterHeld).toBeLessThan(0.05);
    // Out of every scope, only the collector can free it: V8 counts it now.
    expect(escaped).not.toBeNull();
    expect(v8External(before)).toBeCloseTo(4, 1);
    escaped!.dispose();
    expect(v8External(before)).toBeCloseTo(0, 1);
  });

  it('a tensor a synchronous scope returns is reported to V8 when the job ends', async () => {
    await synchronize();
    const before = native.adjustExternalMemory(0);
    const t = scope(() => randn([1 << 20]).mul(2));
    expect(v8External(before)).toBeCloseTo(0, 1);
    await Promise.resolve();
    expect(v8External(before)).toBeCloseTo(4, 1);
    t.dispose();
    expect(v8External(before)).toBeCloseTo(0, 1);
  });

  it('a tensor kept out of a scope is reported to V8 at the scope exit', async () => {
    await synchronize();
    const before = native.adjustExternalMemory(0);
    let held: Tensor | null = null;
    await scope(async () => {
      held = keep(randn([1 << 20]));
      await Promise.resolve();
    });
    expect(v8External(before)).toBeCloseTo(4, 1);
    held!.dispose();
    expect(v8External(before)).toBeCloseTo(0, 1);
  });

  it('a forgotten tensor is freed by the backstop once collected', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const before = memory('cpu');
    (() => {
      for (let i = 0; i < 8; ++i) randn([1024]).mul(2);
    })();
    expect(memory('cpu').tensors).toBe(before.tensors + 16);
    await Promise.resolve(); // the job ended: the young list lets go of them
    for (let round = 0; round < 10 && memory('cpu').leakedTensors < before.leakedTensors + 16; ++round) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 10)); // the registry's cleanup runs as a task
    }
    const after = memory('cpu');
    expect(after.leakedTensors).toBeGreaterThanOrEqual(before.leakedTensors + 16);
    expect(after.tensors).toBeLessThanOrEqual(before.tensors);
  });
});

describe('tensor memory and child processes', () => {
  // Node's child_process spawns by fork + exec: without MADV_DONTFORK on the tensor blocks,
  // the fork marks their pages copy-on-write and the next write to each page faults.
  it('a child process spawned while a tensor is held costs its pages no copy-on-write faults', async () => {
    const t = zeros([16 << 20]); // 64 MiB, 16,384 pages
    addInPlace(t, 1); // every page written once before the fork
    await synchronize();
    expect(spawnSync(process.execPath, ['-e', '']).status).toBe(0);
    const before = process.resourceUsage().minorPageFault;
    addInPlace(t, 1);
    await synchronize();
    expect(process.resourceUsage().minorPageFault - before).toBeLessThan(2048);
    expect((await t.slice(0, 0, 1).data())[0]).toBe(2);
    t.dispose();
  });
});
