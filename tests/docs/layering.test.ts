// DESIGN §1: data flows one way, user code -> nn/models -> ops (+ autograd) -> native.ts.
// The layers above lib/ops reach the native binding only through ops: no import of
// lib/native.ts and no raw tensor descriptors (`_native(`). And the ops table that the
// package re-exports lists public ops only, not the internal helpers.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import { expect, it } from 'vitest';

import * as nc from '../../lib/index.js';
import * as opsTable from '../../lib/ops/index.js';

const lib = fileURLToPath(new URL('../../lib/', import.meta.url));
const aboveOps = ['amp', 'autograd', 'data', 'losses', 'metrics', 'models', 'nn', 'optim', 'train', 'vision', 'viz'];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

it('the layers above ops never touch the native binding', () => {
  const files = aboveOps.flatMap((d) => sources(join(lib, d)));
  expect(files.length).toBeGreaterThan(50);
  const offenders = files.filter((f) => /native\.js'|\._native\(/.test(readFileSync(f, 'utf8'))).map((f) => relative(lib, f));
  expect(offenders).toEqual([]);
});

it('internal helpers stay out of the ops table and the package', () => {
  for (const name of ['copyInto', 'copyTo', 'zerosOn', 'sumTo', 'crossEntropyPerPosition', 'crossEntropyBackward', 'optimizerStep', 'unscaleGradients', 'zeroStateLike', 'atan', 'checkEps']) {
    expect(opsTable, name).not.toHaveProperty(name);
    expect(nc, name).not.toHaveProperty(name);
  }
  // The table still carries the public ops.
  expect(opsTable).toHaveProperty('conv2d');
  expect(opsTable).toHaveProperty('sum');
});
