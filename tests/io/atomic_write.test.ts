import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';

import { expect, it } from 'vitest';

import { io, tensor } from '../../lib/index.js';

const repo = new URL('../..', import.meta.url).pathname;
const weights = () => new Map([['w', tensor([1, 2, 3], { dtype: 'float32' })]]);
const temporaries = (dir: string) => readdirSync(dir).filter((f) => f.includes('.tmp-')).sort();

/** Starts a process that opens `target`'s temporary, writes 1 MiB and hangs; resolves once it has written. */
function hangingWriter(target: string): Promise<ReturnType<typeof spawn>> {
  const script = `import(${JSON.stringify(join(repo, 'lib/io/atomic_write.ts'))}).then(({ writeFileAtomic }) => {
    setInterval(() => {}, 1000);
    writeFileAtomic(process.env.TARGET, (async function* () {
      yield new Uint8Array(1 << 20);
      console.log('written');
      await new Promise(() => {});
    })());
  });`;
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { cwd: repo, env: { ...process.env, TARGET: target }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('written') && resolve(child));
    child.on('exit', (code) => reject(new Error(`the writer exited early (${code})`)));
  });
}

it('saves killed mid-write leave temporaries that the next save removes, so repeated kills do not pile up', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'neocog-kill-'));
  const target = join(dir, 'model.safetensors');
  for (let kill = 0; kill < 3; ++kill) {
    const child = await hangingWriter(target);
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    // The kill left its temporary; each new writer removed the one before.
    expect(temporaries(dir)).toEqual([`model.safetensors.tmp-${child.pid}-0-0`]);
  }
  expect(existsSync(target)).toBe(false);
  await io.saveSafetensors(target, weights());
  expect(temporaries(dir)).toEqual([]);
  expect((await io.loadSafetensors(target)).tensors.get('w')!.tolist()).toEqual([1, 2, 3]);
});

it("removes only temporaries nobody is writing: dead processes' and this thread's own, not live processes' or other files'", () => {
  const dir = mkdtempSync(join(tmpdir(), 'neocog-stale-'));
  const target = join(dir, 'model.safetensors');
  const dead = spawnSync(process.execPath, ['-e', '']).pid!; // exited and reaped: no such process now
  const live = process.ppid;
  const stale = [`model.safetensors.tmp-${dead}-0-0`, `model.safetensors.tmp-${dead}-1700000000000`, `model.safetensors.tmp-${process.pid}-${threadId}-999`];
  const kept = [`model.safetensors.tmp-${live}-0-0`, `model.safetensors.tmp-${process.pid}-${threadId + 1}-0`, `model.safetensors.tmp-notes`, `other.safetensors.tmp-${dead}-0-0`];
  for (const name of [...stale, ...kept]) writeFileSync(join(dir, name), 'partial');
  io.saveSafetensorsSync(target, weights());
  expect(temporaries(dir)).toEqual([...kept].sort());
  expect(readdirSync(dir)).toContain('model.safetensors');
});

it('a failed write removes its own temporary and leaves the previous file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'neocog-fail-'));
  const target = join(dir, 'model.safetensors');
  io.saveSafetensorsSync(target, weights());
  const { writeFileAtomic } = await import('../../lib/io/atomic_write.js');
  await expect(
    writeFileAtomic(
      target,
      (async function* () {
        yield new Uint8Array(8);
        throw new Error('disk full');
      })(),
    ),
  ).rejects.toThrow('disk full');
  expect(temporaries(dir)).toEqual([]);
  expect(io.loadSafetensorsSync(target).tensors.get('w')!.tolist()).toEqual([1, 2, 3]);
});
