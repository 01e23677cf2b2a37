// Each primitive is declared once (native/include/neocog/primitives.def): the compiler makes
// every backend implement it and the binding parse it; these tests hold the rest of the
// promise — the TypeScript surface is generated from the same lines, the binding names the
// op and argument in its errors, and adding a primitive stays cheap.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { zeros } from '../../lib/index.js';
import { native } from '../../lib/native.js';
import { generate, parameter } from '../../scripts/generate-native-types.mjs';

const root = new URL('../../', import.meta.url).pathname;
const declarations = native.primitiveDeclarations;

describe('primitive declarations', () => {
  it('the addon exports every declared primitive', () => {
    const names = Object.keys(declarations);
    expect(names.length).toBeGreaterThanOrEqual(33);
    expect(names).toEqual(expect.arrayContaining(['convForward', 'convBackwardInput', 'batchNormBackward', 'roiAlignForward']));
    for (const name of names) expect(typeof (native as unknown as Record<string, unknown>)[name], name).toBe('function');
  });

  it('lib/native_primitives.ts is generated from them (npm run generate:native after a change)', () => {
    expect(readFileSync(join(root, 'lib/native_primitives.ts'), 'utf8')).toBe(generate(declarations, native.structDeclarations));
  });

  it('the generator maps each C++ parameter type and refuses one it does not know', () => {
    expect(parameter('const ConvParams& params', { ConvParams: 'groups: number' })).toEqual({ name: 'params', type: 'NativeConvParams' });
    expect(parameter('OptIn bias')).toEqual({ name: 'bias', type: 'NativeTensor | null' });
    expect(() => parameter('std::string label')).toThrow(/no TypeScript type for the C\+\+ type 'std::string'/);
  });

  it('struct parameters are typed from their field lists (op_params.h)', () => {
    expect(native.structDeclarations['RoiAlignParams']).toBe(
      'pooledH: number, pooledW: number, spatialScale: number, samplingRatio: number, aligned: boolean',
    );
    expect(native.structDeclarations['ConvParams']).toMatch(/^spatial: number, stride: readonly number\[\], /);
  });

  it('a bad native argument is an error naming the op and the argument', () => {
    const call = native.fill as unknown as (...args: unknown[]) => void;
    expect(() => call('zeros', 'not a tensor', 0)).toThrow(/zeros: native argument out must be a tensor descriptor/);
    expect(() => (native.nms as unknown as (...args: unknown[]) => void)('nms', null, null, 0.5)).toThrow(/nms: native argument keep/);
    const x = zeros([1, 1, 4, 4]);
    const params = { pooledH: 2, pooledW: 2, spatialScale: 1, samplingRatio: 'two', aligned: false };
    const roiAlign = native.roiAlignForward as unknown as (...args: unknown[]) => void;
    expect(() => roiAlign('roiAlign', params, x._native('t'), x._native('t'), x._native('t'))).toThrow(
      /roiAlign: native argument params must be an object whose samplingRatio is a number/,
    );
  });
});

/** Files under `dir` (recursively) whose text names `word`. */
function filesNaming(dir: string, word: RegExp): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) found.push(...filesNaming(path, word));
    else if (word.test(readFileSync(path, 'utf8'))) found.push(path.slice(root.length));
  }
  return found;
}

it('a primitive lives in few files (issue 12: it was 19-20)', () => {
  // nms: its TS op and the ops table, its declaration, backstop, CPU and CUDA files, and the
  // generated TypeScript surface (its IoU math in kernels/boxes.h does not name it).
  const files = [...filesNaming(join(root, 'lib'), /\bnms\b/), ...filesNaming(join(root, 'native'), /\bnms\b/)];
  expect(files.length, files.sort().join('\n')).toBeLessThanOrEqual(7);
});
