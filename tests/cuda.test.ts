// lib/cuda.ts: whether CUDA can be used and why not, the NEOCOG_BACKEND choice, the
// child-process check before the plugin is loaded in-process, and the plugin's version.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { cuda, DeviceError, tensor, zeros } from '../lib/index.js';
import { verifyPluginInChild } from '../lib/cuda.js';
import { addonPath } from '../lib/native.js';

const repo = fileURLToPath(new URL('..', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'neocog-loader-'));
const hasCompiler = spawnSync('g++', ['--version'], { stdio: 'ignore' }).status === 0;

/** Imports neocog in a fresh process with `env` added and prints the CUDA reason. */
function importWith(env: Record<string, string>) {
  const script = "import('./lib/index.ts').then(({ cuda }) => console.log('REASON ' + cuda.unavailableReason()))";
  return spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: repo, env: { ...process.env, ...env }, encoding: 'utf8' });
}

const pluginBuilt = existsSync(join(dirname(addonPath), 'libneocog_cuda.so'));

it.runIf(!cuda.isAvailable())('without a usable GPU, isAvailable() is false and says why', () => {
  expect(cuda.deviceCount()).toBe(0);
  const reason = cuda.unavailableReason();
  expect(reason).toBeTypeOf('string');
  if (!pluginBuilt) expect(reason).toMatch(/plugin is not installed \(npm install @neocog\/linux-x64-cuda13\) and was not built/);
  else expect(reason).toMatch(/driver|libcudnn|cuDNN|cuBLAS|NCCL|no CUDA device/);
});

it.runIf(!cuda.isAvailable())("to('cuda') throws a DeviceError carrying the reason", () => {
  const x = tensor([1, 2, 3]);
  expect(() => x.to('cuda')).toThrow(DeviceError);
  expect(() => x.to('cuda')).toThrow(`to: CUDA is not available: ${cuda.unavailableReason()}`);
  expect(() => zeros([2], { device: 'cuda:1' })).toThrow(DeviceError);
  expect(() => cuda.getDeviceProperties(0)).toThrow(DeviceError);
  expect(x.tolist()).toEqual([1, 2, 3]); // nothing lost
});

it('device names are validated', () => {
  expect(() => zeros([2], { device: 'gpu' as never })).toThrow(/expected device 'cpu', 'cuda' or 'cuda:N', got gpu/);
});

it.runIf(cuda.isAvailable())('a CUDA device reports its properties and round-trips data', async () => {
  const props = cuda.getDeviceProperties(0);
  expect(props.major).toBeGreaterThanOrEqual(7);
  expect(props.cudnnVersion).toBeGreaterThanOrEqual(90000);
  const x = tensor([[1, 2], [3, 4]], { dtype: 'float32' });
  const g = x.to('cuda');
  expect(g.device).toBe('cuda:0');
  expect(Array.from(await g.add(g).cpu().data())).toEqual([2, 4, 6, 8]);
  expect(() => g.add(x)).toThrow(/input is on cuda:0 and other is on cpu/);
});

it('a CUDA package of another version than neocog is refused with the version to install', async () => {
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { packageVersionMismatch } = await import('../lib/cuda.js');
  const dir = mkdtempSync(join(tmpdir(), 'neocog-cuda-package-'));
  const manifest = (name: string, version: string) => {
    const path = join(dir, `${name}.json`);
    writeFileSync(path, JSON.stringify({ name, version }));
    return path;
  };
  const neocog = manifest('neocog', '0.2.0');
  expect(packageVersionMismatch(manifest('same', '0.2.0'), neocog)).toBeNull();
  expect(packageVersionMismatch(manifest('older', '0.1.0'), neocog)).toBe(
    '@neocog/linux-x64-cuda13 0.1.0 is installed, but neocog 0.2.0 needs the same version: npm install @neocog/linux-x64-cuda13@0.2.0',
  );
});

describe('NEOCOG_BACKEND', () => {
  it('cpu never touches the plugin and says so', () => {
    const result = importWith({ NEOCOG_BACKEND: 'cpu' });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('REASON the CUDA backend is turned off (NEOCOG_BACKEND=cpu)');
  });

  it('an unknown value fails the import with an ArgumentError naming the choices', () => {
    const result = importWith({ NEOCOG_BACKEND: 'gpu' });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/ArgumentError: NEOCOG_BACKEND must be 'auto', 'cpu' or 'cuda', got 'gpu'/);
  });

  it('cuda without a usable GPU fails the import with the reason', () => {
    const auto = importWith({});
    const reason = /REASON (.*)/.exec(auto.stdout)?.[1];
    if (reason === 'null') return; // a GPU is here: nothing to refuse
    const result = importWith({ NEOCOG_BACKEND: 'cuda' });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain(`DeviceError: NEOCOG_BACKEND=cuda, but CUDA cannot be used: ${reason}`);
  });

  it('a plugin path that does not exist is reported, not loaded', () => {
    const result = importWith({ NEOCOG_CUDA_PLUGIN: join(scratch, 'missing.so') });
    expect(result.stdout).toMatch(/REASON the CUDA plugin is not installed \(npm install @neocog\/linux-x64-cuda13\)/);
  });
});

describe('the CUDA plugin is checked in a child process first', () => {
  it.runIf(hasCompiler)('a plugin that crashes while loading is reported and this process lives on', () => {
    // What a broken driver does on dlopen: a library whose constructor faults.
    const source = join(scratch, 'crash.cc');
    const library = join(scratch, 'libcrash.so');
    writeFileSync(source, '#include <csignal>\n__attribute__((constructor)) static void crash() { std::raise(SIGSEGV); }\n');
    expect(spawnSync('g++', ['-shared', '-fPIC', '-o', library, source]).status).toBe(0);
    const reason = verifyPluginInChild(library, []);
    expect(reason).toMatch(/^loading the CUDA plugin crashed a check process \(SIGSEGV/);
    expect(reason).toMatch(/set NEOCOG_BACKEND=cpu/);
  });

  it('a clean load error is left for the in-process load to report', () => {
    const notALibrary = join(scratch, 'text.so');
    writeFileSync(notALibrary, 'not an ELF file');
    expect(verifyPluginInChild(notALibrary, [])).toBeNull();
  });
});
