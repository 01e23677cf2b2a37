// lib/native.ts: what a failed addon load tells the user, and the wrapper that turns every
// native error into its typed class (errors.ts) and hands the rest of lib/ the binding.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { DisposedError, NeocogError, OutOfMemoryError } from '../lib/index.js';
import { addonLoadHint, addonPath, native, packageRoot } from '../lib/native.js';

describe('addon load failures say what to do', () => {
  const prebuild = '/app/node_modules/neocog/prebuilds/linux-x64/neocog.glibc.node';
  const local = '/app/node_modules/neocog/build/Release/neocog.node';

  it('an old glibc or libstdc++ points at a source build', () => {
    const hint = addonLoadHint("/lib/x86_64-linux-gnu/libstdc++.so.6: version `GLIBCXX_3.4.30' not found", prebuild);
    expect(hint).toMatch(/older than the prebuilt addon needs \(glibc 2\.34 and libstdc\+\+ of GCC 12/);
    expect(hint).toMatch(/NEOCOG_FORCE_BUILD=1 npm rebuild neocog/);
  });

  it('a local build missing the system oneDNN says to install it or use the prebuild', () => {
    const hint = addonLoadHint('libdnnl.so.2: cannot open shared object file: No such file or directory', local);
    expect(hint).toMatch(/apt-get install libdnnl2/);
    expect(hint).toContain('delete /app/node_modules/neocog/build to use the prebuilt addon');
  });

  it('a prebuild missing a bundled library says to reinstall', () => {
    const hint = addonLoadHint('libdnnl.so.2: cannot open shared object file: No such file or directory', prebuild);
    expect(hint).toMatch(/^a library bundled beside the prebuilt addon is missing: reinstall neocog/);
  });

  it('anything else suggests a reinstall or a source build', () => {
    expect(addonLoadHint('invalid ELF header', prebuild)).toMatch(/^reinstall neocog, or build from source/);
  });
});

describe('the wrapped binding', () => {
  it('native errors arrive as the typed classes, and the addon keeps working', () => {
    const storage = native.empty('cpu', 16);
    native.releaseStorage(storage);
    expect(() => native.readSync(storage, 0, 16)).toThrow(DisposedError);
    expect(() => native.readSync(storage, 0, 16)).toThrow('dataSync: storage has been disposed');
    expect(() => native.empty('cpu', 1e18)).toThrow(OutOfMemoryError);
    expect(() => native.memoryStats('tpu' as never)).toThrow(NeocogError);
    expect(() => native.memoryStats('tpu' as never)).toThrow(/memory: native argument device must be "cpu" or "cuda:N"/);
    const fresh = native.empty('cpu', 8);
    expect(native.storageBytes(fresh)).toBe(8);
    native.releaseStorage(fresh);
    native.releaseStorage(fresh); // twice is harmless
  });

  it('a released storage id stays disposed after its slot is reused', () => {
    const first = native.empty('cpu', 4);
    native.releaseStorage(first);
    const second = native.empty('cpu', 4); // the freed slot, a new generation
    expect(second).not.toBe(first);
    expect(() => native.readSync(first, 0, 4)).toThrow('dataSync: storage has been disposed');
    expect(native.readSync(second, 0, 4).byteLength).toBe(4);
    native.releaseStorage(first); // a stale id releases nothing
    expect(native.storageBytes(second)).toBe(4);
    native.releaseStorage(second);
    expect(() => native.storageBytes(-3.5)).toThrow(/storageBytes: storage is not a storage/);
  });

  it('a native error thrown in a call keeps the caller\'s frame in its stack', () => {
    const storage = native.empty('cpu', 4);
    native.releaseStorage(storage);
    let error: unknown;
    try {
      native.readSync(storage, 0, 4);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DisposedError);
    expect((error as Error).stack).toMatch(/^DisposedError: dataSync: storage has been disposed\n/);
    expect((error as Error).stack).toContain('native.test.ts');
  });

  it('exposes the loaded addon path under the package root', () => {
    expect(JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')).name).toBe('neocog');
    expect(addonPath.startsWith(packageRoot)).toBe(true);
    expect(addonPath).toMatch(/\.node$/);
    expect(existsSync(addonPath)).toBe(true);
  });
});
