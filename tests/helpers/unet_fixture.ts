// tests/fixtures/unet.safetensors (tests/fixtures/make_unet_fixtures.py): the U-Net family
// built in PyTorch with the same module names, seeded weights, and eval outputs.
import { expect } from 'vitest';

import { io, type nn, noGrad, type Tensor } from '../../lib/index.js';

const file = io.loadSafetensorsSync(new URL('../fixtures/unet.safetensors', import.meta.url).pathname);
const options = JSON.parse(file.metadata.options ?? '{}') as Record<string, Record<string, unknown>>;

/** The options the fixture's case `name` was built with (our option names). */
export function unetCaseOptions(name: string): Record<string, unknown> {
  const o = options[name];
  if (!o) throw new Error(`unet.safetensors has no case ${name}`);
  return o;
}

/**
 * Loads case `name`'s PyTorch weights into `model` strictly, runs it in eval mode on the
 * case's input, and checks every output against PyTorch's within 1e-4 (relative to the
 * output's scale).
 */
export function expectMatchesPyTorch(name: string, model: nn.Module<[Tensor], Tensor | Tensor[]>): void {
  const prefix = `${name}.`;
  const state = new Map([...file.tensors].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
  expect(model.loadStateDict(state)).toEqual({ missing: [], unexpected: [] });
  model.eval();
  const got = noGrad(() => model.call(file.tensors.get(`__input__.${name}`)!));
  const outputs = Array.isArray(got) ? got : [got];
  const expected = [...file.tensors.keys()].filter((k) => k.startsWith(`__output__.${name}.`)).sort();
  expect(outputs).toHaveLength(expected.length);
  outputs.forEach((out, k) => {
    const want = file.tensors.get(`__output__.${name}.${k}`)!;
    expect(out.shape).toEqual(want.shape);
    const [a, b] = [out.dataSync(), want.dataSync()];
    const scale = Math.max(1, ...Array.from(b, Math.abs));
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
    expect(worst / scale, `${name} output ${k}`).toBeLessThan(1e-4);
  });
}
