// MappedFile: a file mapped copy-on-write as one CPU storage, whose tensors view the file's
// bytes without a copy (what io.loadTorch's tensors are made of).
import { closeSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { memory, nn } from '../../lib/index.js';
import { MappedFile } from '../../lib/io/mapped_file.js';
import { native } from '../../lib/native.js';

const folder = mkdtempSync(join(tmpdir(), 'neocog-mapped-'));

/** A file of 64 bytes of header and then the float32 values 0..n-1. */
function floatsFile(name: string, n: number): string {
  const path = join(folder, name);
  const values = Float32Array.from({ length: n }, (_, i) => i);
  writeFileSync(path, Buffer.concat([Buffer.alloc(64, 7), Buffer.from(values.buffer)]));
  return path;
}

function withFd<T>(path: string, use: (fd: number) => T): T {
  const fd = openSync(path, 'r');
  try {
    return use(fd);
  } finally {
    closeSync(fd);
  }
}

describe('MappedFile', () => {
  it('tensors view the bytes where they lie, allocate nothing, and outlive the handle', () => {
    const path = floatsFile('floats.bin', 1024);
    const allocated = memory('cpu').bytes;
    const fd = openSync(path, 'r');
    const file = MappedFile.map(fd)!;
    closeSync(fd); // the mapping does not need the descriptor
    expect(file.byteLength).toBe(64 + 4096);
    const t = file.tensorAt('test', 64 + 4 * 8, [2, 4], 'float32');
    file.release();
    expect(memory('cpu').bytes).toBe(allocated);
    expect(Array.from(t.dataSync())).toEqual([8, 9, 10, 11, 12, 13, 14, 15]);
    t.dispose();
  });

  it('a write to a tensor changes its private copy of the page, never the file', () => {
    const path = floatsFile('written.bin', 16);
    const before = readFileSync(path);
    const file = withFd(path, (fd) => MappedFile.map(fd))!;
    const t = file.tensorAt('test', 64, [16], 'float32');
    const again = file.tensorAt('test', 64, [16], 'float32');
    file.release();
    nn.init.constant_(t, 5);
    expect(Array.from(t.dataSync())).toEqual(new Array(16).fill(5));
    expect(Array.from(again.dataSync())).toEqual(new Array(16).fill(5)); // the same mapping
    t.dispose();
    again.dispose();
    expect(readFileSync(path).equals(before)).toBe(true);
  });

  it('is null for what cannot be mapped: an empty file, a folder', async () => {
    const empty = join(folder, 'empty.bin');
    writeFileSync(empty, '');
    expect(withFd(empty, (fd) => MappedFile.map(fd))).toBeNull();
    const fd = openSync(folder, 'r');
    try {
      expect(MappedFile.map(fd)).toBeNull();
    } finally {
      closeSync(fd);
    }
  });
});

describe('mappings and the collector', () => {
  /** What V8 counts as external memory now (the binding returns the total after a change of 0). */
  const external = () => native.adjustExternalMemory(0);
  const nextJob = () => new Promise((resolve) => setImmediate(resolve));

  it('the first few live mappings are not reported to V8; past them, one whose tensors outlive their job is', async () => {
    const path = floatsFile('many.bin', 256 * 1024); // 1 MiB of floats
    const held = [];
    for (let i = 0; i < 4; ++i) {
      const file = withFd(path, (fd) => MappedFile.map(fd))!;
      held.push(file.tensorAt('test', 64, [256 * 1024], 'float32'));
      file.release();
    }
    await nextJob();
    const before = external();
    const fifth = withFd(path, (fd) => MappedFile.map(fd))!;
    const t = fifth.tensorAt('test', 64, [256 * 1024], 'float32');
    fifth.release();
    await nextJob(); // t outlived the job that made it
    expect(external() - before).toBeGreaterThanOrEqual(fifth.byteLength);
    t.dispose();
    expect(external() - before).toBeLessThan(fifth.byteLength);
    // Releasing the first ones frees their places: the next mapping is unreported again.
    for (const h of held) h.dispose();
    const again = withFd(path, (fd) => MappedFile.map(fd))!;
    const u = again.tensorAt('test', 64, [256 * 1024], 'float32');
    again.release();
    const now = external();
    await nextJob();
    expect(external()).toBe(now);
    u.dispose();
  });
});
