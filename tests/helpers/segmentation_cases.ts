// The segmentation fixture (tests/fixtures/segmentation_losses.json, made by
// make_segmentation_loss_fixtures.py): its loss cases, each with a neocog call built from the
// case's options, for tests/losses/{dice,focal,tversky,lovasz,classification}.test.ts, and its
// metric cases for tests/metrics/{segmentation,surface_distance}.test.ts.
import { expect, it } from 'vitest';

import { tensor, type Device, type Tensor } from '../../lib/index.js';
import { expectClose } from './devices.js';
import { readFixture } from './fixture_cases.js';

/** A tensor as the fixture stores it; 'NaN' and 'Infinity' stand for themselves. */
export interface FixtureTensor {
  shape: number[];
  dtype: 'float32' | 'int32';
  values: Array<number | string>;
}

/** One loss case: `fn` with `opts` on input and target must give `output`, and `gradInput` for `gradOutput`. */
export interface SegmentationLossCase {
  name: string;
  fn: string;
  opts: Record<string, unknown>;
  input: FixtureTensor;
  target: FixtureTensor;
  output: { shape: number[]; values: Array<number | string> };
  gradOutput: Array<number | string>;
  gradInput: Array<number | string>;
}

/** Overlap metrics of one pair of label maps, per (sample, class). */
export interface OverlapCase {
  name: string;
  numClasses: number;
  pred: FixtureTensor;
  target: FixtureTensor;
  dice: Array<number | string>;
  diceNoIgnoreEmpty: Array<number | string>;
  iou: Array<number | string>;
  iouNoIgnoreEmpty: Array<number | string>;
}

/** The confusion-matrix metrics of two batches of label maps (255 is void). */
export interface ConfusionCase {
  numClasses: number;
  batches: Array<{ pred: FixtureTensor; target: FixtureTensor }>;
  confusionMatrix: number[][];
  iou: Array<number | string>;
  meanIou: number;
  pixelAccuracy: number;
  precision: Array<number | string>;
  recall: Array<number | string>;
}

/** SciPy's surface distances of one pair of binary masks. */
export interface SurfaceCase {
  name: string;
  shape: number[];
  pred: number[];
  target: number[];
  spacing: number[] | null;
  percentile: number;
  hausdorff: number;
  hausdorffMax: number;
  averageSurface: number;
  averageSurfaceSymmetric: number;
}

export const segmentationFixture = readFixture<{ losses: SegmentationLossCase[]; overlap: OverlapCase[]; confusion: ConfusionCase; surface: SurfaceCase[] }>(
  'segmentation_losses.json',
);

/** Fixture values as numbers. */
export const numbers = (values: ReadonlyArray<number | string>): number[] => values.map(Number);

/** A fixture tensor on `device`. */
export function fixtureTensor(t: FixtureTensor, device: Device = 'cpu'): Tensor {
  const data = t.dtype === 'int32' ? Int32Array.from(numbers(t.values)) : Float32Array.from(numbers(t.values));
  return tensor(data, { device }).reshape(t.shape);
}

/** A neocog loss call on a case's input and target, with the case's options. */
export type SegmentationLossCall = (input: Tensor, target: Tensor, opts: Record<string, unknown>, device: Device) => Tensor;

/** Declares one test per loss case whose `fn` `calls` names, on `device`: output and input gradient. */
export function segmentationLossTests(device: Device, calls: Record<string, SegmentationLossCall>, tolerance = 1e-4): void {
  const cases = segmentationFixture.losses.filter((c) => c.fn in calls);
  it('the fixture has cases for each call', () => {
    for (const fn of Object.keys(calls)) expect(cases.some((c) => c.fn === fn), fn).toBe(true);
  });
  for (const c of cases) {
    it(`${c.name} [${c.input.shape}]`, () => {
      const x = fixtureTensor(c.input, device).requiresGrad_();
      const out = calls[c.fn]!(x, fixtureTensor(c.target, device), c.opts, device);
      expect(out.shape).toEqual(c.output.shape);
      expectClose(out.cpu().dataSync(), numbers(c.output.values), tolerance);
      out.backward(tensor(Float32Array.from(numbers(c.gradOutput)), { device }).reshape(c.output.shape));
      expectClose(x.grad!.cpu().dataSync(), numbers(c.gradInput), tolerance);
    });
  }
}
