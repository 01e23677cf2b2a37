// The PyTorch fixtures of conv, pool and norm, which have formats of their own (a conv's
// spatial rank and options, a pool's torch function name, a norm's running statistics):
// their cases and neocog calls, declared once for tests/ops/{conv,pool,norm}.test.ts, and
// each also as a FixtureSuite of plain FnCases for tests/gpu/agreement.test.ts.
import * as nc from '../../lib/index.js';
import { batchNorm, conv1d, conv2d, conv3d, groupNorm, instanceNorm, layerNorm, maxPool2d, tensor, type Device, type Tensor } from '../../lib/index.js';
import { readFixture, type FnCase } from './fixture_cases.js';
import type { FixtureCall, FixtureSuite } from './fixture_suites.js';

/** A conv.json case (make_fixtures.py, conv_fixtures). */
export interface ConvCase {
  name: string;
  spatial: 1 | 2 | 3;
  options: { stride?: number | number[]; padding?: number | number[] | 'same' | 'valid'; dilation?: number; groups?: number };
  input: { shape: number[]; values: number[] };
  weight: { shape: number[]; values: number[] };
  bias: number[] | null;
  output: { shape: number[]; values: number[] };
  gradOutput: number[];
  gradInput: number[];
  gradWeight: number[];
  gradBias: number[] | null;
}

export const convCases = readFixture<ConvCase[]>('conv.json');
export const convs = { 1: conv1d, 2: conv2d, 3: conv3d };

/** A pool.json case (make_fixtures.py, pool_fixtures). */
export interface PoolCase {
  name: string;
  fn: string;
  args: Array<number | number[]>;
  options: Record<string, number | number[] | boolean>;
  input: { shape: number[]; values: number[] };
  output: { shape: number[]; values: number[] };
  indices: number[] | null;
  gradOutput: number[];
  gradInput: number[];
}

export const poolCases = readFixture<PoolCase[]>('pool.json');

/** torch.nn.functional name -> the neocog call, options renamed to camelCase. */
export function runPool(c: PoolCase, x: Tensor): Tensor | { values: Tensor; indices: Tensor } {
  const o = c.options;
  const common = {
    stride: o.stride as number | undefined,
    padding: o.padding as number | undefined,
    ceilMode: o.ceil_mode as boolean | undefined,
  };
  const size = c.args[0] as number;
  switch (c.fn) {
    case 'max_pool2d':
      return o.return_indices
        ? maxPool2d(x, size, { ...common, dilation: o.dilation as number | undefined, returnIndices: true })
        : maxPool2d(x, size, common);
    case 'max_pool1d': return nc.maxPool1d(x, size, common);
    case 'max_pool3d': return nc.maxPool3d(x, size, common);
    case 'avg_pool2d':
      return nc.avgPool2d(x, size, { ...common, countIncludePad: o.count_include_pad as boolean | undefined, divisorOverride: o.divisor_override as number | undefined });
    case 'avg_pool1d': return nc.avgPool1d(x, size, common);
    case 'avg_pool3d': return nc.avgPool3d(x, size, common);
    case 'adaptive_avg_pool2d': return nc.adaptiveAvgPool2d(x, c.args[0]!);
    case 'adaptive_avg_pool1d': return nc.adaptiveAvgPool1d(x, size);
    case 'adaptive_avg_pool3d': return nc.adaptiveAvgPool3d(x, c.args[0]!);
    case 'adaptive_max_pool2d': return nc.adaptiveMaxPool2d(x, c.args[0]!, { returnIndices: true });
  }
  throw new Error(`no neocog call for ${c.fn}`);
}

/** A norm.json case (make_fixtures.py, norm_fixtures). */
export interface NormCase {
  name: string;
  input: { shape: number[]; values: number[] };
  weight: number[] | null;
  bias: number[] | null;
  runningMean: number[] | null;
  runningVar: number[] | null;
  output: { shape: number[]; values: number[] };
  gradOutput: number[];
  gradInput: number[];
  gradWeight: number[] | null;
  gradBias: number[] | null;
  runningMeanAfter: number[] | null;
  runningVarAfter: number[] | null;
}

export const normCases = readFixture<NormCase[]>('norm.json');

export type NormParams = { w: Tensor | null; b: Tensor | null; rm: Tensor | null; rv: Tensor | null };
export const normCalls: Record<string, (x: Tensor, p: NormParams) => Tensor> = {
  'batchNorm train 4d': (x, p) => batchNorm(x, p.rm, p.rv, p.w, p.b, { training: true, momentum: 0.1 }),
  'batchNorm train 2d no affine': (x, p) => batchNorm(x, p.rm, p.rv, null, null, { training: true, momentum: 0.3 }),
  'batchNorm eval': (x, p) => batchNorm(x, p.rm, p.rv, p.w, p.b),
  'batchNorm train 3d volume': (x, p) => batchNorm(x, p.rm, p.rv, p.w, p.b, { training: true }),
  layerNorm: (x, p) => layerNorm(x, [4, 6], p.w, p.b),
  groupNorm: (x, p) => groupNorm(x, 3, p.w, p.b),
  instanceNorm: (x, p) => instanceNorm(x, p.w, p.b),
};

const values = (v: number[], shape: number[]) => ({ shape, values: v });

/** conv.ts (conv.json): input, weight and bias (where the case has one) as inputs. */
export const convSuite: FixtureSuite = {
  file: 'conv',
  fixture: 'conv.json',
  cases: convCases.map((c): FnCase => ({
    name: c.name,
    inputs: [c.input, c.weight, ...(c.bias ? [values(c.bias, [c.bias.length])] : [])],
    output: c.output,
    gradOutput: c.gradOutput,
    grads: [c.gradInput, c.gradWeight, ...(c.gradBias ? [c.gradBias] : [])],
  })),
  calls: Object.fromEntries(convCases.map((c): [string, FixtureCall] => [c.name, (x, w, b) => convs[c.spatial](x!, w!, b ?? null, c.options as nc.ConvOptions)])),
  tolerance: 1e-4,
  deviceTolerance: 1e-4,
};

/** pool.ts (pool.json): the pooled values (indices are compared in tests/ops/pool.test.ts). */
export const poolSuite: FixtureSuite = {
  file: 'pool',
  fixture: 'pool.json',
  cases: poolCases.map((c): FnCase => ({ name: c.name, inputs: [c.input], output: c.output, gradOutput: c.gradOutput, grads: [c.gradInput] })),
  calls: Object.fromEntries(
    poolCases.map((c): [string, FixtureCall] => [
      c.name,
      (x) => {
        const result = runPool(c, x!);
        return 'values' in result ? result.values : result;
      },
    ]),
  ),
  tolerance: 1e-5,
  deviceTolerance: 1e-5,
};

/** The running statistics of a norm case, fresh on `device` for each call (training updates them). */
const runningStats = (c: NormCase, device: Device) => ({
  rm: c.runningMean && tensor(Float32Array.from(c.runningMean), { device }),
  rv: c.runningVar && tensor(Float32Array.from(c.runningVar), { device }),
});

/** norm.ts (norm.json): input, weight and bias (where the case has them) as inputs. */
export const normSuite: FixtureSuite = {
  file: 'norm',
  fixture: 'norm.json',
  cases: normCases.map((c): FnCase => {
    const paramShape = c.name === 'layerNorm' ? [4, 6] : [c.weight?.length ?? 0];
    const affine = c.weight && c.bias ? [values(c.weight, paramShape), values(c.bias, paramShape)] : [];
    const grads = c.gradWeight && c.gradBias ? [c.gradWeight, c.gradBias] : [];
    return { name: c.name, inputs: [c.input, ...affine], output: c.output, gradOutput: c.gradOutput, grads: [c.gradInput, ...grads] };
  }),
  calls: Object.fromEntries(
    normCases.map((c): [string, FixtureCall] => [c.name, (x, w, b) => normCalls[c.name]!(x!, { w: w ?? null, b: b ?? null, ...runningStats(c, x!.device) })]),
  ),
  tolerance: 1e-4,
  deviceTolerance: 1e-4,
};
