// lib/io/state_dict.ts: a safetensors file's tensors by name, async and sync.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect, it } from 'vitest';

import { FormatError, io } from '../../lib/index.js';
import { everyDtype, expectSame } from '../helpers/state_dicts.js';

const dir = mkdtempSync(join(tmpdir(), 'neocog-state-dict-'));

it('io.loadStateDict returns the tensors (async and sync)', async () => {
  const path = join(dir, 'dict.safetensors');
  const tensors = everyDtype();
  io.saveSafetensorsSync(path, tensors, { ignored: 'yes' });
  const loaded = await io.loadStateDict(path);
  expect(loaded).toBeInstanceOf(Map);
  expectSame(loaded, tensors);
  expectSame(io.loadStateDictSync(path), tensors);
  writeFileSync(join(dir, 'bad.safetensors'), Buffer.from('not a safetensors file at all'));
  await expect(io.loadStateDict(join(dir, 'bad.safetensors'))).rejects.toThrow(FormatError);
  expect(() => io.loadStateDictSync(join(dir, 'bad.safetensors'))).toThrow(FormatError);
});

it('a missing file is an error naming it, and nothing is returned', async () => {
  const missing = join(dir, 'missing.safetensors');
  await expect(io.loadStateDict(missing)).rejects.toThrow(/missing\.safetensors/);
  expect(() => io.loadStateDictSync(missing)).toThrow(/missing\.safetensors/);
});
