// CPU-vs-CUDA agreement (issue 12, STYLE §1 "test across devices"): every op's PyTorch
// fixture cases (tests/helpers/fixture_suites.ts, the same lists the CPU tests check against
// PyTorch) run on 'cpu' and on 'cuda:0', whose outputs and input gradients must agree within
// a tolerance per op; nms may keep a different box of tied scores (as torchvision's
// test_nms_gpu allows). Without a usable GPU the suite is visibly skipped with the reason.
import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { cat, cuda, manualSeed, nms, rand, roiAlign, tensor, type Device, type Tensor } from '../../lib/index.js';
import { expectClose } from '../helpers/devices.js';
import type { FnCase } from '../helpers/fixture_cases.js';
import { fixtureSuites, type FixtureSuite } from '../helpers/fixture_suites.js';

const gpu = cuda.isAvailable();
const suite = gpu ? describe : describe.skip;
const title = gpu ? 'CPU-vs-CUDA agreement' : `CPU-vs-CUDA agreement [skipped: ${cuda.unavailableReason()}]`;

// Written by make_box_fixtures.py (seeded random boxes, no tied scores).
const boxes = JSON.parse(readFileSync(new URL('../fixtures/boxes.json', import.meta.url), 'utf8')) as {
  boxes: number[]; scores: number[]; nms: Record<string, number[]>;
  roiInput: number[]; rois: number[];
  roiAlign: Array<{ size: [number, number]; scale: number; ratio: number; aligned: boolean; w: number[] }>;
};

interface Evaluated {
  shape: number[];
  output: Float32Array;
  grads: Float32Array[];
}

/** A case's output and its inputs' gradients (of its gradOutput, or of the sum) on `device`. */
function evaluate(s: FixtureSuite, c: FnCase, device: Device): Evaluated {
  const xs = c.inputs.map((x) => tensor(Float32Array.from(x.values), { device }).reshape(x.shape).requiresGrad_());
  const out = s.calls[c.name]!(...xs);
  if (c.gradOutput) out.backward(tensor(Float32Array.from(c.gradOutput), { device }).reshape(out.shape));
  else out.sum().backward();
  return {
    shape: [...out.shape],
    output: Float32Array.from(out.cpu().dataSync()),
    grads: xs.map((x) => Float32Array.from(x.grad!.cpu().dataSync())),
  };
}

/**
 * nms on both devices must keep the same boxes, or, where scores tie, boxes of the same
 * scores in the same order (torchvision's test_nms_gpu).
 */
function expectSameKept(cpuKept: number[], gpuKept: number[], scores: ArrayLike<number>): void {
  if (cpuKept.join() === gpuKept.join()) return;
  expect(gpuKept.map((i) => scores[i])).toEqual(cpuKept.map((i) => scores[i]));
}

it('the agreement harness has a neocog call for every case of every suite (what runs on cuda when one is present)', () => {
  expect(fixtureSuites.length).toBeGreaterThan(10);
  for (const s of fixtureSuites) {
    expect([s.file, s.cases.length > 0]).toEqual([s.file, true]);
    expect([s.file, s.cases.map((c) => c.name).filter((n) => !(n in s.calls))]).toEqual([s.file, []]);
  }
  if (!gpu) expect(cuda.unavailableReason()).toMatch(/\S/);
});

suite(title, () => {
  for (const s of fixtureSuites) {
    describe(`${s.file} (${s.fixture}), tolerance ${s.deviceTolerance}`, () => {
      for (const c of s.cases.filter((k) => !s.notOnCuda?.includes(k.name))) {
        it(`${c.name} ${c.inputs.map((x) => `[${x.shape}]`).join(' ')}`, () => {
          const onCpu = evaluate(s, c, 'cpu');
          const onCuda = evaluate(s, c, 'cuda:0');
          expect(onCuda.shape).toEqual(onCpu.shape);
          expectClose(onCuda.output, onCpu.output, s.deviceTolerance);
          onCpu.grads.forEach((g, i) => expectClose(onCuda.grads[i]!, g, s.deviceTolerance));
        });
      }
    });
  }

  it('nms keeps the same boxes on the fixture boxes (no ties) at every threshold', () => {
    const keep = (device: Device, threshold: number) =>
      nms(tensor(Float32Array.from(boxes.boxes), { device }).reshape(-1, 4), tensor(Float32Array.from(boxes.scores), { device }), threshold).cpu().tolist() as number[];
    for (const threshold of Object.keys(boxes.nms).map(Number)) expect(keep('cuda:0', threshold)).toEqual(keep('cpu', threshold));
  });

  it('nms with tied scores keeps boxes of the same scores (1000 boxes, 11 score levels)', () => {
    manualSeed(12);
    const corner = rand([1000, 2]).mul(100);
    const flat = cat([corner, corner.add(rand([1000, 2]).mul(40).add(1))], 1).dataSync();
    const scores = Float32Array.from(rand([1000]).dataSync(), (v) => Math.round(v * 10) / 10);
    const keep = (device: Device) => nms(tensor(flat, { device }).reshape(-1, 4), tensor(scores, { device }), 0.5).cpu().tolist() as number[];
    expectSameKept(keep('cpu'), keep('cuda:0'), scores);
  });

  it('roiAlign values and input gradients agree on the fixture RoIs', () => {
    const run = (device: Device, c: (typeof boxes.roiAlign)[number]): [Float32Array, Float32Array] => {
      const x: Tensor = tensor(Float32Array.from(boxes.roiInput), { device }).reshape(2, 3, 10, 12).requiresGrad_();
      const rois = tensor(Float32Array.from(boxes.rois), { device }).reshape(-1, 5);
      const y = roiAlign(x, rois, c.size, { spatialScale: c.scale, samplingRatio: c.ratio, aligned: c.aligned });
      y.mul(tensor(Float32Array.from(c.w), { device }).reshape(y.shape)).sum().backward();
      return [Float32Array.from(y.cpu().dataSync()), Float32Array.from(x.grad!.cpu().dataSync())];
    };
    for (const c of boxes.roiAlign) {
      const [outCpu, gradCpu] = run('cpu', c);
      const [outCuda, gradCuda] = run('cuda:0', c);
      expectClose(outCuda, outCpu, 1e-4);
      expectClose(gradCuda, gradCpu, 1e-4);
    }
  });
});
