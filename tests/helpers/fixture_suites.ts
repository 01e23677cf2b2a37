// The PyTorch fixture cases of the functional ops, each with the neocog call that must
// reproduce it, declared once: the op's own test file (tests/ops/<op>.test.ts) checks them
// against PyTorch, and tests/gpu/agreement.test.ts runs the same list on 'cpu' and 'cuda'.
// A fixture file that holds cases of several op files (resample.json, ops.json) is split
// here by op file; casesWithoutCalls checks that the split leaves no case out.
import * as nc from '../../lib/index.js';
import type { Tensor } from '../../lib/index.js';
import { readFixture, type FnCase } from './fixture_cases.js';
import { convSuite, normSuite, poolSuite } from './fixture_formats.js';

/** A neocog call given the fixture case's inputs, in the case's order. */
export type FixtureCall = (...xs: Tensor[]) => Tensor;

/** The cases of one op file with their calls, and how closely they must match PyTorch. */
export interface FixtureSuite {
  /** The lib/ops file (base name) whose ops the cases exercise. */
  file: string;
  /** The fixture under tests/fixtures/ the cases come from. */
  fixture: string;
  cases: readonly FnCase[];
  calls: Record<string, FixtureCall>;
  /** Relative tolerance against PyTorch (fixtureTests' default when absent). */
  tolerance?: number;
  /** Cases whose PyTorch gradient is not the forward's (documented where declared). */
  skipGradient?: (c: FnCase) => boolean;
  /** Relative tolerance between 'cpu' and 'cuda' (tests/gpu/agreement.test.ts). */
  deviceTolerance: number;
  /** Cases whose CUDA result differs from the CPU's by design (said where declared). */
  notOnCuda?: readonly string[];
}

/** The cases of `all` that `calls` names. */
const casesOf = (all: readonly FnCase[], calls: Record<string, FixtureCall>): FnCase[] => all.filter((c) => c.name in calls);

// make_fixtures.py, resample_fixtures: cases of conv, conv_transpose, resample, shape,
// statistics and cumulative ops in one file.
const resampleCases = readFixture<FnCase[]>('resample.json');

// make_fixtures.py, op_fixtures. These were written with a weight per output element
// (gradient of sum(out * weights)): that is the gradient of the output.
interface WeightedCase extends Omit<FnCase, 'gradOutput'> {
  weights: number[];
}
const opCases: FnCase[] = readFixture<WeightedCase[]>('ops.json').map(({ weights, ...c }) => ({ ...c, gradOutput: weights }));

// make_fixtures.py, loss_fixtures: the softmax cases of losses.json (their target is unused).
interface LossCase {
  name: string;
  input: { shape: number[]; values: number[] };
  output: { shape: number[]; values: number[] };
  gradOutput: number[];
  gradInput: number[];
}
const softmaxCaseNames = ['softmax', 'logSoftmax dim 0'];
const softmaxCases: FnCase[] = readFixture<LossCase[]>('losses.json')
  .filter((c) => softmaxCaseNames.includes(c.name))
  .map((c) => ({ name: c.name, inputs: [c.input], output: c.output, gradOutput: c.gradOutput, grads: [c.gradInput] }));

const convTransposeCalls: Record<string, FixtureCall> = {
  'convTranspose2d k3 s2 p1': (x, w, b) => nc.convTranspose2d(x!, w!, b, { stride: 2, padding: 1 }),
  'convTranspose2d outputPadding groups': (x, w) => nc.convTranspose2d(x!, w!, null, { stride: 2, padding: 1, outputPadding: 1, groups: 2 }),
  'convTranspose2d k2 s2': (x, w) => nc.convTranspose2d(x!, w!, null, { stride: 2 }),
  'convTranspose2d dilation': (x, w) => nc.convTranspose2d(x!, w!, null, { dilation: 2, padding: 1 }),
  convTranspose1d: (x, w) => nc.convTranspose1d(x!, w!, null, { stride: 3, padding: 1 }),
  convTranspose3d: (x, w) => nc.convTranspose3d(x!, w!, null, { stride: 2 }),
};

const convTransposeOutputPaddingCalls: Record<string, FixtureCall> = {
  'convTranspose2d ones s1 d2 op1': (x, w) => nc.convTranspose2d(x!, w!, null, { stride: 1, dilation: 2, outputPadding: 1 }),
  'convTranspose1d s1 d3 op2 p1': (x, w) => nc.convTranspose1d(x!, w!, null, { stride: 1, dilation: 3, padding: 1, outputPadding: 2 }),
  'convTranspose1d s1 d3 op2 p3': (x, w) => nc.convTranspose1d(x!, w!, null, { stride: 1, dilation: 3, padding: 3, outputPadding: 2 }),
  'convTranspose1d no input reaches the output': (x, w, b) => nc.convTranspose1d(x!, w!, b, { stride: 1, dilation: 5, padding: 1, outputPadding: 3 }),
  'convTranspose2d s2 d3 op2 bias': (x, w, b) => nc.convTranspose2d(x!, w!, b, { stride: 2, dilation: 3, outputPadding: 2 }),
  'convTranspose2d s(1,2) d(2,4) op(1,3) p1 groups2': (x, w) =>
    nc.convTranspose2d(x!, w!, null, { stride: [1, 2], dilation: [2, 4], padding: 1, outputPadding: [1, 3], groups: 2 }),
  'convTranspose3d s(1,2,1) d(2,3,2) op(1,2,0)': (x, w) => nc.convTranspose3d(x!, w!, null, { stride: [1, 2, 1], dilation: [2, 3, 2], outputPadding: [1, 2, 0] }),
};

const convPaddingModeCalls: Record<string, FixtureCall> = {
  'conv2d reflect': (x, w) => nc.conv2d(x!, w!, null, { padding: 1, paddingMode: 'reflect' }),
  'conv2d circular': (x, w) => nc.conv2d(x!, w!, null, { padding: 2, paddingMode: 'circular' }),
};

const interpolateCalls: Record<string, FixtureCall> = {
  'nearest x2': (x) => nc.interpolate(x!, { scaleFactor: 2 }),
  'nearest size': (x) => nc.interpolate(x!, { size: [5, 7] }),
  'bilinear x2': (x) => nc.interpolate(x!, { scaleFactor: 2, mode: 'bilinear', alignCorners: false }),
  'bilinear size aligned': (x) => nc.interpolate(x!, { size: [5, 7], mode: 'bilinear', alignCorners: true }),
  'bilinear downsample': (x) => nc.interpolate(x!, { size: [3, 2], mode: 'bilinear' }),
  'bicubic x2': (x) => nc.interpolate(x!, { scaleFactor: 2, mode: 'bicubic' }),
  'bicubic size aligned': (x) => nc.interpolate(x!, { size: [6, 5], mode: 'bicubic', alignCorners: true }),
  linear: (x) => nc.interpolate(x!, { size: 9, mode: 'linear' }),
  trilinear: (x) => nc.interpolate(x!, { scaleFactor: 2, mode: 'trilinear' }),
};

const interpolateScaleCalls: Record<string, FixtureCall> = {
  'linear x1.2 keeps 3': (x) => nc.interpolate(x!, { scaleFactor: 1.2, mode: 'linear' }),
  'bilinear x(1.2, 2) keeps H': (x) => nc.interpolate(x!, { scaleFactor: [1.2, 2], mode: 'bilinear' }),
  'bilinear x1.1 keeps both': (x) => nc.interpolate(x!, { scaleFactor: 1.1, mode: 'bilinear' }),
  'trilinear x(1.25, 1.5, 2) keeps D': (x) => nc.interpolate(x!, { scaleFactor: [1.25, 1.5, 2], mode: 'trilinear' }),
  'bicubic x1.2 keeps the size but not the pixels': (x) => nc.interpolate(x!, { scaleFactor: 1.2, mode: 'bicubic' }),
  'nearest 2-d x1.2 copies a kept size': (x) => nc.interpolate(x!, { scaleFactor: 1.2 }),
  'nearest 1-d x1.2 applies the scale to a kept size': (x) => nc.interpolate(x!, { scaleFactor: 1.2 }),
  'nearest 2-d x2.1 halves the index of a doubled size': (x) => nc.interpolate(x!, { scaleFactor: 2.1 }),
};

const shapeCalls: Record<string, FixtureCall> = {
  'pad constant': (x) => nc.pad(x!, [1, 2, 0, 3], 'constant', 1.5),
  'pad crop': (x) => nc.pad(x!, [-1, 1, 2, -2]),
  'pad reflect': (x) => nc.pad(x!, [2, 1, 1, 3], 'reflect'),
  'pad replicate': (x) => nc.pad(x!, [3, 1, 2, 2], 'replicate'),
  'pad circular': (x) => nc.pad(x!, [2, 3, 1, 1], 'circular'),
  cat: (a, b) => nc.cat([a!, b!.mul(2)], 1),
  stack: (a, b) => nc.stack([a!, b!], 2),
  flip: (x) => nc.flip(x!, [0, 2]),
  roll: (x) => nc.roll(x!, [1, -2], [0, 1]),
  rot90: (x) => nc.rot90(x!, 1, [1, 2]),
  'rot90 k3': (x) => nc.rot90(x!, 3, [0, 1]),
  pixelShuffle: (x) => nc.pixelShuffle(x!, 2),
  pixelUnshuffle: (x) => nc.pixelUnshuffle(x!, 2),
};

const statisticsCalls: Record<string, FixtureCall> = {
  clamp: (x) => nc.clamp(x!, -0.5, 0.7),
  var: (x) => nc.variance(x!, 1),
  'std keepdim': (x) => nc.std(x!, [0, 2], { keepdim: true }),
};

const cumulativeCalls: Record<string, FixtureCall> = {
  cumsum: (x) => nc.cumsum(x!, 1),
};

const cumsumScanCalls: Record<string, FixtureCall> = {
  'cumsum dim1': (x) => nc.cumsum(x!, 1),
  'cumsum dim-1': (x) => nc.cumsum(x!, -1),
  'cumsum dim0 of a transposed view': (x) => nc.cumsum(x!.transpose(0, 1), 0),
  'cumsum 0-d': (x) => nc.cumsum(x!, 0),
  'cumsum accumulates in float64': (x) => nc.cumsum(x!, 0),
  'cumprod dim1': (x) => nc.cumprod(x!, 1),
  'cumprod dim0': (x) => nc.cumprod(x!, 0),
  'cumprod length 1': (x) => nc.cumprod(x!, 1),
  'cumprod with zeros': (x) => nc.cumprod(x!, 1),
  'cumprod with zeros dim0': (x) => nc.cumprod(x!, 0),
};

const unaryCalls: Record<string, FixtureCall> = {
  neg: nc.neg, abs: nc.abs, exp: nc.exp, sqrt: nc.sqrt, log: nc.log, relu: nc.relu, sigmoid: nc.sigmoid,
  tanh: nc.tanh, gelu: nc.gelu, silu: nc.silu, hardswish: nc.hardswish, square: nc.square,
  reciprocal: nc.reciprocal,
  leakyRelu: (x) => nc.leakyRelu(x!, 0.1),
  elu: (x) => nc.elu(x!, 0.5),
};

const elementwiseCalls: Record<string, FixtureCall> = {
  add: nc.add, sub: nc.sub, mul: nc.mul, div: nc.div, maximum: nc.maximum, minimum: nc.minimum, pow: nc.pow,
};

const reduceCalls: Record<string, FixtureCall> = {
  sum: (x) => nc.sum(x!, [0, 2], { keepdim: true }),
  mean: (x) => nc.mean(x!, 1),
  amax: (x) => nc.amax(x!, 2),
  amin: (x) => nc.amin(x!, 0),
};

const matmulCalls: Record<string, FixtureCall> = { matmul: nc.matmul };

const softmaxCalls: Record<string, FixtureCall> = {
  softmax: (x) => nc.softmax(x!.mul(3), 1),
  'logSoftmax dim 0': (x) => nc.logSoftmax(x!.mul(3), 0),
};

const interpolateFixture = readFixture<{ cases: FnCase[] }>('interpolate.json');

/** conv.ts: the padding modes of conv2d (resample.json). */
export const convPaddingModeSuite: FixtureSuite = {
  file: 'conv', fixture: 'resample.json', cases: casesOf(resampleCases, convPaddingModeCalls), calls: convPaddingModeCalls, deviceTolerance: 1e-4,
};

/** conv_transpose.ts: strides, padding, groups, 1-d/3-d (resample.json). */
export const convTransposeSuite: FixtureSuite = {
  file: 'conv_transpose', fixture: 'resample.json', cases: casesOf(resampleCases, convTransposeCalls), calls: convTransposeCalls, deviceTolerance: 1e-4,
};

/** conv_transpose.ts: outputPadding >= stride where dilation > stride (conv_transpose.json). */
export const convTransposeOutputPaddingSuite: FixtureSuite = {
  file: 'conv_transpose',
  fixture: 'conv_transpose.json',
  cases: readFixture<FnCase[]>('conv_transpose.json'),
  calls: convTransposeOutputPaddingCalls,
  deviceTolerance: 1e-4,
};

/** resample.ts: interpolate by size and by scale (resample.json). */
export const interpolateSuite: FixtureSuite = {
  file: 'resample', fixture: 'resample.json', cases: casesOf(resampleCases, interpolateCalls), calls: interpolateCalls, deviceTolerance: 1e-5,
};

/**
 * resample.ts: interpolate with a scaleFactor that keeps a size (interpolate.json). torch
 * 1.13's bicubic and 1-d nearest backward kernels copy the gradient where sizes are kept,
 * though their forwards resampled: that gradient is not the forward's; ours is (gradcheck
 * in tests/ops/resample.test.ts).
 */
export const interpolateScaleSuite: FixtureSuite = {
  file: 'resample',
  fixture: 'interpolate.json',
  cases: interpolateFixture.cases,
  calls: interpolateScaleCalls,
  tolerance: 1e-5,
  skipGradient: (c) => c.name.startsWith('bicubic') || c.name.startsWith('nearest 1-d'),
  deviceTolerance: 1e-5,
};

/** shape.ts: pad, cat, stack, flip, roll, rot90, pixel (un)shuffle (resample.json). */
export const shapeSuite: FixtureSuite = {
  file: 'shape', fixture: 'resample.json', cases: casesOf(resampleCases, shapeCalls), calls: shapeCalls, deviceTolerance: 1e-6,
};

/** statistics.ts: clamp, var, std (resample.json). */
export const statisticsSuite: FixtureSuite = {
  file: 'statistics', fixture: 'resample.json', cases: casesOf(resampleCases, statisticsCalls), calls: statisticsCalls, deviceTolerance: 1e-5,
};

/** cumulative.ts: cumsum (resample.json). */
export const cumulativeSuite: FixtureSuite = {
  file: 'cumulative', fixture: 'resample.json', cases: casesOf(resampleCases, cumulativeCalls), calls: cumulativeCalls, deviceTolerance: 1e-5,
};

/**
 * cumulative.ts: cumsum and cumprod along dims, of views, at zeros (cumsum.json). CUDA
 * accumulates float32 in float32 (as PyTorch's CUDA scan), so the float64-accumulation case
 * differs there by design.
 */
export const cumsumScanSuite: FixtureSuite = {
  file: 'cumulative',
  fixture: 'cumsum.json',
  cases: readFixture<{ float: FnCase[] }>('cumsum.json').float,
  calls: cumsumScanCalls,
  deviceTolerance: 1e-4,
  notOnCuda: ['cumsum accumulates in float64'],
};

/** unary.ts (ops.json). */
export const unarySuite: FixtureSuite = {
  file: 'unary', fixture: 'ops.json', cases: casesOf(opCases, unaryCalls), calls: unaryCalls, tolerance: 1e-5, deviceTolerance: 1e-5,
};

/** elementwise.ts (ops.json). */
export const elementwiseSuite: FixtureSuite = {
  file: 'elementwise', fixture: 'ops.json', cases: casesOf(opCases, elementwiseCalls), calls: elementwiseCalls, tolerance: 1e-5, deviceTolerance: 1e-5,
};

/** reduce.ts (ops.json). */
export const reduceSuite: FixtureSuite = {
  file: 'reduce', fixture: 'ops.json', cases: casesOf(opCases, reduceCalls), calls: reduceCalls, tolerance: 1e-5, deviceTolerance: 1e-5,
};

/** matmul.ts (ops.json). */
export const matmulSuite: FixtureSuite = {
  file: 'matmul', fixture: 'ops.json', cases: casesOf(opCases, matmulCalls), calls: matmulCalls, tolerance: 1e-5, deviceTolerance: 1e-4,
};

/** softmax.ts (losses.json). */
export const softmaxSuite: FixtureSuite = {
  file: 'softmax', fixture: 'losses.json', cases: softmaxCases, calls: softmaxCalls, tolerance: 1e-5, deviceTolerance: 1e-5,
};

/** Every suite, for the CPU-vs-CUDA agreement harness. */
export const fixtureSuites: readonly FixtureSuite[] = [
  convSuite,
  convPaddingModeSuite,
  convTransposeSuite,
  convTransposeOutputPaddingSuite,
  interpolateSuite,
  interpolateScaleSuite,
  shapeSuite,
  statisticsSuite,
  cumulativeSuite,
  cumsumScanSuite,
  unarySuite,
  elementwiseSuite,
  reduceSuite,
  matmulSuite,
  softmaxSuite,
  poolSuite,
  normSuite,
];

/** The names of `cases` (from `fixture`) that no suite has a call for. */
export function casesWithoutCalls(fixture: string, cases: readonly FnCase[]): string[] {
  const called = new Set(fixtureSuites.filter((s) => s.fixture === fixture).flatMap((s) => Object.keys(s.calls)));
  return cases.map((c) => c.name).filter((n) => !called.has(n));
}

/** The shared fixtures' full case lists, to check that the split above leaves none out. */
export const sharedFixtureCases: Readonly<Record<string, readonly FnCase[]>> = {
  'resample.json': resampleCases,
  'ops.json': opCases,
  'conv_transpose.json': readFixture<FnCase[]>('conv_transpose.json'),
  'interpolate.json': interpolateFixture.cases,
};
