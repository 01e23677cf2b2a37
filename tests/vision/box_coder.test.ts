import { expect, it } from 'vitest';

import { ArgumentError, DTypeError, randn, ShapeError, tensor, vision, zeros, type Device, type Tensor } from '../../lib/index.js';
import { describeDevices, expectClose } from '../helpers/devices.js';
import { readFixture } from '../helpers/fixture_cases.js';
import { gradcheck } from '../helpers/gradcheck.js';

// Written by make_vision_fixtures.py from torchvision 0.14's BoxCoder (seeded random boxes;
// a few deltas far above the dw/dh clip).
interface CoderCase {
  weights: [number, number, number, number];
  clip?: number;
  reference?: number[];
  proposals: number[];
  relCodes: number[];
  encodeSingle?: number[];
  encode?: number[][];
  decodeSingle: number[];
  decode?: { shape: number[]; values: number[] };
}
const fixture = readFixture<{ defaultClip: number; boxCoder: CoderCase[] }>('vision.json');

const boxes = (flat: number[], device: Device) => tensor(Float32Array.from(flat), { device }).reshape(-1, 4);

/** Largest relative difference: torchvision's float32 values are met to an ulp or so (exp/log differ). */
function maxRelativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < expected.length; ++i) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!) / Math.max(1, Math.abs(expected[i]!)));
  return worst;
}

describeDevices('BoxCoder', (device) => {
  const [withWeights, faster, clipped] = fixture.boxCoder as [CoderCase, CoderCase, CoderCase];

  it('defaults to torchvision clip log(1000 / 16) and keeps the weights', () => {
    const coder = new vision.BoxCoder([10, 10, 5, 5]);
    expect(coder.bboxXformClip).toBe(fixture.defaultClip);
    expect(coder.weights).toEqual([10, 10, 5, 5]);
    expect(new vision.BoxCoder([1, 1, 1, 1], { bboxXformClip: 2 }).bboxXformClip).toBe(2);
  });

  for (const c of [withWeights, faster]) {
    it(`encodeSingle and encode [12, 4] with weights [${c.weights}] match torchvision`, () => {
      const coder = new vision.BoxCoder(c.weights);
      const reference = boxes(c.reference!, device), proposals = boxes(c.proposals, device);
      const single = coder.encodeSingle(reference, proposals);
      expect(single.shape).toEqual([12, 4]);
      expect(maxRelativeError(single.cpu().dataSync(), c.encodeSingle!)).toBeLessThan(1e-6);
      const perImage = coder.encode([reference.slice(0, 0, 5), reference.slice(0, 5)], [proposals.slice(0, 0, 5), proposals.slice(0, 5)]);
      expect(perImage.map((t) => t.shape)).toEqual([[5, 4], [7, 4]]);
      perImage.forEach((t, i) => expectClose(t.cpu().dataSync(), c.encode![i]!, 1e-6));
    });

    it(`decodeSingle [12, 3 * 4] and decode per image with weights [${c.weights}] match torchvision, clamp included`, () => {
      const coder = new vision.BoxCoder(c.weights);
      const proposals = boxes(c.proposals, device);
      const rel = tensor(Float32Array.from(c.relCodes), { device }).reshape(12, 12);
      const single = coder.decodeSingle(rel, proposals);
      expect(single.shape).toEqual([12, 12]);
      expect(maxRelativeError(single.cpu().dataSync(), c.decodeSingle)).toBeLessThan(1e-6);
      const decoded = coder.decode(rel, [proposals.slice(0, 0, 5), proposals.slice(0, 5)]);
      expect(decoded.shape).toEqual(c.decode!.shape);
      expectClose(decoded.cpu().dataSync(), c.decode!.values, 1e-6);
    });
  }

  it('bboxXformClip bounds dw and dh before exp (clip 1)', () => {
    const coder = new vision.BoxCoder(clipped.weights, { bboxXformClip: clipped.clip! });
    const decoded = coder.decodeSingle(tensor(Float32Array.from(clipped.relCodes), { device }).reshape(4, 4), boxes(clipped.proposals, device));
    expectClose(decoded.cpu().dataSync(), clipped.decodeSingle, 1e-6);
    // Row 1 has dw = 2 > 1: its width is e^1 times the proposal's, not e^2.
    const [x1, , x2] = clipped.proposals.slice(4, 8) as [number, number, number];
    const row = Array.from(decoded.cpu().dataSync()).slice(4, 8);
    expect(row[2]! - row[0]!).toBeCloseTo(Math.E * (x2 - x1), 3);
  });

  it('decode takes relCodes of any shape holding sum(K_i) * C * 4 values, and no boxes at all', () => {
    const coder = new vision.BoxCoder([1, 1, 1, 1]);
    const anchors = boxes(withWeights.proposals, device);
    const flat = tensor(Float32Array.from(withWeights.relCodes), { device }).reshape(-1, 4); // [36, 4], as the RPN's
    const decoded = coder.decode(flat, [anchors]);
    expect(decoded.shape).toEqual([12, 3, 4]);
    expectClose(decoded.cpu().dataSync(), withWeights.decodeSingle, 1e-6);
    const none = coder.decode(zeros([0, 8], { device }), [zeros([0, 4], { device })]);
    expect(none.shape).toEqual([0, 2, 4]);
  });

  it('decodeSingle carries gradients to the deltas', () => {
    const coder = new vision.BoxCoder([10, 10, 5, 5]);
    const anchors = boxes(withWeights.proposals.slice(0, 16), device);
    gradcheck((rel: Tensor) => coder.decodeSingle(rel, anchors), [randn([4, 8], { device })]);
  });

  it('rejects bad weights, shapes, dtypes and lists with typed errors naming the method', () => {
    expect(() => new vision.BoxCoder([1, 1, 1] as unknown as [number, number, number, number])).toThrow(ArgumentError);
    expect(() => new vision.BoxCoder([1, 1, 0, 1])).toThrow(/BoxCoder: expected weights to be four positive finite numbers/);
    expect(() => new vision.BoxCoder([1, 1, 1, 1], { bboxXformClip: NaN })).toThrow(ArgumentError);
    const coder = new vision.BoxCoder([1, 1, 1, 1]);
    const four = boxes(withWeights.proposals.slice(0, 16), device);
    expect(() => coder.encodeSingle(four, four.slice(0, 0, 3))).toThrow(/BoxCoder.encodeSingle: expected proposals of shape \[4, 4\]/);
    expect(() => coder.encodeSingle(four, zeros([4, 5], { device }))).toThrow(ShapeError);
    expect(() => coder.encodeSingle(four.to('int32'), four)).toThrow(DTypeError);
    expect(() => coder.encode([], [])).toThrow(/BoxCoder.encode: expected referenceBoxes to be a non-empty array/);
    expect(() => coder.encode([four], [four, four])).toThrow(ArgumentError);
    expect(() => coder.decodeSingle(zeros([4, 6], { device }), four)).toThrow(/BoxCoder.decodeSingle: expected relCodes of shape \[4, C \* 4\]/);
    expect(() => coder.decodeSingle(zeros([3, 4], { device }), four)).toThrow(ShapeError);
    expect(() => coder.decode(zeros([4, 6], { device }), [four])).toThrow(/BoxCoder.decode: expected relCodes to hold 4 x C x 4 values/);
    expect(() => coder.decode(zeros([0, 4], { device }), [four])).toThrow(ShapeError);
    expect(() => coder.decode(zeros([16], { device }), four as unknown as Tensor[])).toThrow(ArgumentError);
  });
});

// Written by make_box_linear_coder_fixtures.py from torchvision 0.14's BoxLinearCoder (seeded
// random boxes [2, 6, 4] and [6, 4], codes in [0, 3)).
interface LinearCoderCase {
  normalizeBySize: boolean;
  shape: number[];
  reference: number[];
  proposals: number[];
  relCodes: number[];
  encode: number[];
  decode: number[];
}
const linearFixture = readFixture<{ cases: LinearCoderCase[] }>('box_linear_coder.json');

describeDevices('BoxLinearCoder', (device) => {
  const shaped = (flat: number[], shape: number[]) => tensor(Float32Array.from(flat), { device }).reshape(...shape);

  it('defaults to normalizeBySize true, as FCOS', () => {
    expect(new vision.BoxLinearCoder().normalizeBySize).toBe(true);
    expect(new vision.BoxLinearCoder({ normalizeBySize: false }).normalizeBySize).toBe(false);
  });

  for (const c of linearFixture.cases) {
    it(`encode and decode [${c.shape}] with normalizeBySize ${c.normalizeBySize} match torchvision`, () => {
      const coder = new vision.BoxLinearCoder({ normalizeBySize: c.normalizeBySize });
      const reference = shaped(c.reference, c.shape);
      const proposals = shaped(c.proposals, c.shape);
      const encoded = coder.encode(reference, proposals);
      expect(encoded.shape).toEqual(c.shape);
      expect(maxRelativeError(encoded.cpu().dataSync(), c.encode)).toBeLessThan(1e-6);
      const decoded = coder.decode(shaped(c.relCodes, c.shape), proposals);
      expect(decoded.shape).toEqual(c.shape);
      expect(maxRelativeError(decoded.cpu().dataSync(), c.decode)).toBeLessThan(1e-6);
      // decode inverts encode.
      expectClose(coder.decode(encoded, reference).cpu().dataSync(), c.proposals, 1e-4);
    });
  }

  it('decode carries gradients to the codes', () => {
    const coder = new vision.BoxLinearCoder();
    const anchors = shaped(linearFixture.cases[1]!.proposals, [6, 4]);
    gradcheck((rel: Tensor) => coder.decode(rel, anchors), [randn([6, 4], { device })]);
  });

  it('rejects bad options, shapes and dtypes with typed errors naming the method', () => {
    expect(() => new vision.BoxLinearCoder({ normalizeBySize: 1 as unknown as boolean })).toThrow(/BoxLinearCoder: expected normalizeBySize to be a boolean, got/);
    const coder = new vision.BoxLinearCoder();
    const six = shaped(linearFixture.cases[1]!.proposals, [6, 4]);
    expect(() => coder.encode(six, six.slice(0, 0, 3))).toThrow(/BoxLinearCoder.encode: expected proposals of the shape of referenceBoxes \[6, 4\], got \[3, 4\]/);
    expect(() => coder.encode(six, zeros([6, 5], { device }))).toThrow(ShapeError);
    expect(() => coder.decode(zeros([6, 3], { device }), six)).toThrow(/BoxLinearCoder.decode: expected relCodes of shape \[\.\.\., 4\], got \[6, 3\]/);
    expect(() => coder.decode(six.to('int32'), six)).toThrow(DTypeError);
    expect(() => coder.decode(six, 'boxes' as unknown as Tensor)).toThrow(ArgumentError);
  });
});
