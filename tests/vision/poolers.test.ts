import { expect, it } from 'vitest';

import { ArgumentError, KeyError, tensor, vision, zeros, type Device, type Tensor } from '../../lib/index.js';
import { describeDevices, expectClose } from '../helpers/devices.js';
import { readFixture } from '../helpers/fixture_cases.js';

// Written by make_poolers_fixtures.py from torchvision 0.14's MultiScaleRoIAlign: a
// four-level pyramid (plus a map the pooler must ignore), two images of different sizes and
// boxes from 3 to ~600 px, so that every level and both clamps are used.
const fixture = readFixture<{
  imageShapes: Array<[number, number]>;
  features: Record<string, { shape: number[]; data: number[] }>;
  boxes: number[][];
  cases: Array<{ names: string[]; size: [number, number]; ratio: number; out: number[]; w: number[]; grads: Record<string, number[]> }>;
}>('poolers.json');

function inputs(device: Device) {
  const features = new Map<string, Tensor>(
    Object.entries(fixture.features).map(([name, f]) => [name, tensor(Float32Array.from(f.data), { device }).reshape(f.shape).requiresGrad_()]),
  );
  const boxes = fixture.boxes.map((b) => tensor(Float32Array.from(b), { device }).reshape(-1, 4));
  return { features, boxes };
}

describeDevices('MultiScaleRoIAlign', (device) => {
  for (const c of fixture.cases) {
    it(`pools from [${c.names.join(', ')}] at ${c.size.join('x')} (samplingRatio ${c.ratio}) as torchvision, with the maps' gradients`, () => {
      const { features, boxes } = inputs(device);
      const pooler = new vision.MultiScaleRoIAlign(c.names, c.size, c.ratio);
      const y = pooler.call(features, boxes, fixture.imageShapes);
      expect(y.shape).toEqual([20, 2, ...c.size]);
      expectClose(y.cpu().dataSync(), c.out, 1e-5);
      y.mul(tensor(Float32Array.from(c.w), { device }).reshape(y.shape)).sum().backward();
      for (const name of c.names) expectClose(features.get(name)!.grad!.cpu().dataSync(), c.grads[name]!, 1e-5);
      expect(features.get('pool')!.grad).toBeNull();
    });
  }

  it('pools nothing for images without boxes', () => {
    const { features } = inputs(device);
    const none = [zeros([0, 4], { device }), zeros([0, 4], { device })];
    expect(new vision.MultiScaleRoIAlign(['p2', 'p3'], 7, 2).call(features, none, fixture.imageShapes).shape).toEqual([0, 2, 7, 7]);
  });

  it('names what is wrong', () => {
    const { features, boxes } = inputs(device);
    expect(() => new vision.MultiScaleRoIAlign(['p2', 'p9'], 7, 2).call(features, boxes, fixture.imageShapes)).toThrow(KeyError);
    expect(() => new vision.MultiScaleRoIAlign(['p2', 'p9'], 7, 2).call(features, boxes, fixture.imageShapes)).toThrow(/no feature map 'p9' among \[p2, p3, p4, p5, pool\]/);
    expect(() => new vision.MultiScaleRoIAlign(['p2'], 7, 2).call(features, boxes, [])).toThrow(/at least one image shape/);
    expect(() => new vision.MultiScaleRoIAlign(['p2'], 7, 2).call(features, boxes.slice(0, 1), fixture.imageShapes)).toThrow(/1 box tensors for a batch of 2/);
    expect(() => new vision.MultiScaleRoIAlign([], 7, 2)).toThrow(ArgumentError);
    expect(() => new vision.MultiScaleRoIAlign(['p2'], 0, 2)).toThrow(/outputSize/);
    expect(() => new vision.MultiScaleRoIAlign(['p2'], 7, 0.5)).toThrow(/samplingRatio/);
  });
});
