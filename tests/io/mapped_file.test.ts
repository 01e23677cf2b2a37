// MappedFile: a file mapped copy-on-write as one CPU storage, whose tensors view the file's
// bytes without a copy (what io.loadTorch's tensors are made of).
import { closeSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { memory, nn } from '../../lib/index.js';
import { MappedFile } from '../../lib/io/mapped_file.js';

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
  it.each([
    ['map', (fd: number) => Promise.resolve(MappedFile.map(fd))],
    ['mapAsync', (fd: number) => MappedFile.mapAsync(fd)],
  ])('%s: tensors view the bytes where they lie, allocate nothing, and outlive the handle', async (_, map) => {
    const path = floatsFile('floats.bin', 1024);
    const allocated = memory('cpu').bytes;
    const fd = openSync(path, 'r');
    const file = (await map(fd))!;
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
      expect(await MappedFile.mapAsync(fd)).toBeNull();
    } finally {
      closeSync(fd);
    }
  });
});
