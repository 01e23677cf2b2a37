// The loader's choices and messages: NEOCOG_BACKEND, the child-process check before the CUDA
// plugin is loaded in-process, and what a failed addon load tells the user.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { verifyPluginInChild } from '../../lib/cuda.js';
import { addonLoadHint } from '../../lib/native.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'neocog-loader-'));
const hasCompiler = spawnSync('g++', ['--version'], { stdio: 'ignore' }).status === 0;

/** Imports neocog in a fresh process with `env` added and prints the CUDA reason. */
function importWith(env: Record<string, string>) {
  const script = "import('./lib/index.ts').then(({ cuda }) => console.log('REASON ' + cuda.unavailableReason()))";
  return spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: repo, env: { ...process.env, ...env }, encoding: 'utf8' });
}

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
