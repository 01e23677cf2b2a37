// Every op has a bench entry (issue 12): each function lib/ops/index.ts exports is timed by a
// case of bench/cases.ts, which bench/op_builders.ts (neocog) and bench/torch_ops.py (the
// PyTorch peer) both build, or, for an op whose peer is not PyTorch, by a row of another bench.
import { readFileSync } from 'node:fs';

import { expect, it } from 'vitest';

import { opCases, timedOp } from '../../bench/cases.js';
import { segmentationCases } from '../../bench/segmentation_cases.js';
import { hasBuilder } from '../../bench/op_builders.js';
import * as ops from '../../lib/ops/index.js';

/** Exports with no bench case: views, which copy nothing and so have nothing to time. */
const notBenched = new Set([
  'chunk', // views of the input along a dim
  'split', // views of the input along a dim
]);

/** Ops timed by a bench/segmentation.ts row against their peer (SciPy), by that row's kind. */
const benchedElsewhere = new Map([
  ['connectedComponents', 'connectedComponents'],
  ['connectedComponentsAsync', 'connectedComponents'], // the same kernel, awaited
]);

it('every op exported from lib/ops/index.ts has a bench case (views excepted)', () => {
  const exported = Object.entries(ops).filter(([, v]) => typeof v === 'function').map(([name]) => name);
  expect(exported.length).toBeGreaterThan(90);
  const kinds = new Set<string>(segmentationCases.map((c) => c.kind));
  const timed = new Set([...opCases.map(timedOp), ...[...benchedElsewhere].filter(([, kind]) => kinds.has(kind)).map(([name]) => name)]);
  expect(exported.filter((name) => !timed.has(name) && !notBenched.has(name))).toEqual([]);
  // The exclusions are still exports (a renamed op must not hide behind a stale entry).
  expect([...notBenched].filter((name) => !exported.includes(name))).toEqual([]);
});

it('every op case has a neocog builder and a PyTorch workload', () => {
  expect(opCases.filter((c) => !hasBuilder(c.op)).map((c) => c.op)).toEqual([]);
  // torch_ops.py dispatches on the case's name as a string literal.
  const peer = readFileSync(new URL('../../bench/torch_ops.py', import.meta.url), 'utf8');
  expect(opCases.filter((c) => !peer.includes(`"${c.op}"`)).map((c) => c.op)).toEqual([]);
});
