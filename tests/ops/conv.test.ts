import { expect, it } from 'vitest';

import {
  ArgumentError, conv1d, conv2d, conv3d, DTypeError, manualSeed, noGrad, profile, randn, relu, relu6, ShapeError, synchronize, tensor, zeros,
  type ConvOptions, type Tensor,
} from '../../lib/index.js';
import { convActivated, convDepthwiseBlock, type BlockConv } from '../../lib/ops/conv.js';
import { cpuHasBFloat16Kernels, describeDevices, expectClose } from '../helpers/devices.js';
import { emptyBatchTest } from '../helpers/empty_batch.js';
import { fixtureTests } from '../helpers/fixture_cases.js';
import { convCases as cases, convs } from '../helpers/fixture_formats.js';
import { convPaddingModeSuite } from '../helpers/fixture_suites.js';
import { gradcheck } from '../helpers/gradcheck.js';

/** Naive float64 conv2d (cross-correlation), the slow reference STYLE asks for. */
function referenceConv2d(x: Tensor, w: Tensor, stride: number, padding: number): number[] {
  const [n, c, h, wd] = x.shape as number[];
  const [o, , kh, kw] = w.shape as number[];
  const xv = x.dataSync(), wv = w.dataSync();
  const oh = Math.floor((h! + 2 * padding - kh!) / stride) + 1, ow = Math.floor((wd! + 2 * padding - kw!) / stride) + 1;
  const out: number[] = [];
  for (let b = 0; b < n!; ++b)
    for (let f = 0; f < o!; ++f)
      for (let i = 0; i < oh; ++i)
        for (let j = 0; j < ow; ++j) {
          let s = 0;
          for (let ch = 0; ch < c!; ++ch)
            for (let p = 0; p < kh!; ++p)
              for (let q = 0; q < kw!; ++q) {
                const y = i * stride - padding + p, xx = j * stride - padding + q;
                if (y < 0 || y >= h! || xx < 0 || xx >= wd!) continue;
                s += xv[((b * c! + ch) * h! + y) * wd! + xx]! * wv[((f * c! + ch) * kh! + p) * kw! + q]!;
              }
          out.push(s);
        }
  return out;
}

/**
 * Naive float64 gradients of conv2d (stride 1) for `gradOutput` g: of the input
 * (a full correlation with the flipped kernel) and of the weight.
 */
function referenceConv2dBackward(x: Tensor, w: Tensor, g: Tensor, padding: number): { gradInput: number[]; gradWeight: number[] } {
  const [n, c, h, wd] = x.shape as [number, number, number, number];
  const [o, , kh, kw] = w.shape as [number, number, number, number];
  const [, , oh, ow] = g.shape as [number, number, number, number];
  const xv = x.dataSync(), wv = w.dataSync(), gv = g.dataSync();
  const gradInput = new Array<number>(n * c * h * wd).fill(0);
  const gradWeight = new Array<number>(o * c * kh * kw).fill(0);
  for (let b = 0; b < n; ++b)
    for (let f = 0; f < o; ++f)
      for (let i = 0; i < oh; ++i)
        for (let j = 0; j < ow; ++j) {
          const gij = gv[((b * o + f) * oh + i) * ow + j]!;
          for (let ch = 0; ch < c; ++ch)
            for (let p = 0; p < kh; ++p)
              for (let q = 0; q < kw; ++q) {
                const y = i - padding + p, xx = j - padding + q;
                if (y < 0 || y >= h || xx < 0 || xx >= wd) continue;
                const xi = ((b * c + ch) * h + y) * wd + xx, wi = ((f * c + ch) * kh + p) * kw + q;
                gradInput[xi]! += gij * wv[wi]!;
                gradWeight[wi]! += gij * xv[xi]!;
              }
        }
  return { gradInput, gradWeight };
}

/** `actual` within `tolerance` of `expected` relative to the largest |expected|. */
function expectCloseToScale(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number): void {
  let scale = 0;
  for (let i = 0; i < expected.length; ++i) scale = Math.max(scale, Math.abs(expected[i]!));
  let worst = 0;
  for (let i = 0; i < expected.length; ++i) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  expect(actual.length).toBe(expected.length);
  expect(worst / scale).toBeLessThan(tolerance);
}

describeDevices('conv vs PyTorch', (device) => {
  for (const c of cases) {
    it(`${c.name}: input [${c.input.shape}] weight [${c.weight.shape}] ${JSON.stringify(c.options)}`, () => {
      const load = (v: number[], shape: number[]) => tensor(Float32Array.from(v), { device }).reshape(shape).requiresGrad_();
      const x = load(c.input.values, c.input.shape);
      const w = load(c.weight.values, c.weight.shape);
      const b = c.bias ? load(c.bias, [c.bias.length]) : null;
      const out = convs[c.spatial](x, w, b, c.options as ConvOptions);
      expect(out.shape).toEqual(c.output.shape);
      expectClose(out.cpu().dataSync(), c.output.values, 1e-4);
      out.backward(tensor(Float32Array.from(c.gradOutput), { device }).reshape(c.output.shape));
      expectClose(x.grad!.cpu().dataSync(), c.gradInput, 1e-4);
      expectClose(w.grad!.cpu().dataSync(), c.gradWeight, 1e-4);
      if (c.gradBias) expectClose(b!.grad!.cpu().dataSync(), c.gradBias, 1e-4);
    });
  }

  it('the course example: a vertical-edge kernel on 5x5, valid', () => {
    const x = tensor([[1, 2, 0, 1, 3], [4, 5, 2, 1, 0], [3, 1, 1, 0, 2], [2, 0, 1, 3, 1], [1, 1, 0, 2, 4]], { dtype: 'float32', device });
    const k = tensor([[1, 0, -1], [1, 0, -1], [1, 0, -1]], { dtype: 'float32', device });
    const out = conv2d(x.reshape(1, 1, 5, 5), k.reshape(1, 1, 3, 3), null, { padding: 'valid' });
    expect(out.reshape(3, 3).tolist()).toEqual([[5, 6, -2], [5, 2, 1], [4, -3, -5]]);
  });

  it('matches a naive float64 reference on random inputs', () => {
    manualSeed(21);
    // Outputs of at most 64 pixels run in oneDNN's blocked layouts, larger ones channels-last.
    for (const [stride, padding, size] of [[1, 0, 9], [2, 1, 9], [3, 2, 9], [1, 1, 12]] as const) {
      const x = randn([2, 3, size, size - 1], { device });
      const w = randn([4, 3, 3, 3], { device });
      expectClose(conv2d(x, w, null, { stride, padding }).cpu().dataSync(), referenceConv2d(x.cpu(), w.cpu(), stride, padding), 1e-4);
    }
  });

  it('depthwise on small and larger maps (channels-last on both, native/src/cpu/conv.cc) matches a naive float64 reference', () => {
    manualSeed(22);
    // [N, C, H, W], k, stride, padding: 7x7 -> 7x7 and 9x9 -> 5x5 are small maps (<= 64 pixels), 12x12 is not.
    for (const [shape, k, stride, padding] of [[[2, 24, 7, 7], 5, 1, 2], [[1, 16, 9, 9], 3, 2, 1], [[2, 8, 12, 12], 3, 1, 1]] as const) {
      const [n, c, h, wd] = shape;
      const x = randn([n, h, wd, c], { device }).permute(0, 3, 1, 2);
      const w = randn([c, 1, k, k], { device });
      const b = randn([c], { device });
      const got = conv2d(x, w, b, { stride, padding, groups: c }).cpu().contiguous().dataSync();
      // Channel by channel through the dense reference, interleaved back into [N, C, OH, OW].
      const perChannel = Array.from({ length: c }, (_, ch) => referenceConv2d(x.slice(1, ch, ch + 1).cpu().contiguous(), w.slice(0, ch, ch + 1).cpu(), stride, padding));
      const pixels = perChannel[0]!.length / n;
      const bv = b.cpu().dataSync();
      const expected = Array.from(got, (_, i) => {
        const [img, ch, p] = [Math.floor(i / (c * pixels)), Math.floor(i / pixels) % c, i % pixels];
        return perChannel[ch]![img * pixels + p]! + bv[ch]!;
      });
      expectClose(got, expected, 1e-4);
    }
  });

  // A 3x3 stride-1 padded conv2d on [n, c, h, w] -> o channels, forward and both gradients
  // against the float64 reference, within `tolerance` of the largest value.
  const checkAgainstFloat64 = ([n, c, o, h, w, channelsLast, bias]: readonly [number, number, number, number, number, boolean, boolean], tolerance: number) => {
    manualSeed(24);
    const plain = randn([n, c, h, w], { device });
    const x = (channelsLast ? plain.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2) : plain).requiresGrad_();
    const weight = randn([o, c, 3, 3], { device }).requiresGrad_();
    const b = bias ? randn([o], { device }).requiresGrad_() : null;
    const out = conv2d(x, weight, b, { padding: 1 });
    const expected = referenceConv2d(plain.cpu(), weight.detach().cpu(), 1, 1);
    if (b) {
      const bv = b.detach().cpu().dataSync();
      for (let i = 0; i < expected.length; ++i) expected[i]! += bv[Math.floor(i / (h * w)) % o]!;
    }
    expectCloseToScale(out.cpu().dataSync(), expected, tolerance);
    const g = randn([n, o, h, w], { device });
    out.backward(g);
    const grads = referenceConv2dBackward(plain.cpu(), weight.detach().cpu(), g.cpu(), 1);
    expectCloseToScale(x.grad!.cpu().dataSync(), grads.gradInput, tolerance);
    expectCloseToScale(weight.grad!.cpu().dataSync(), grads.gradWeight, tolerance);
    if (b) expectCloseToScale(b.grad!.cpu().dataSync(), g.cpu().sum([0, 2, 3]).dataSync(), tolerance);
  };
  const describeCase = ([n, c, o, h, w, channelsLast, bias]: readonly [number, number, number, number, number, boolean, boolean]) =>
    `3x3 stride 1 on [${n}, ${c}, ${h}, ${w}] -> ${o}${channelsLast ? ' channels-last' : ''}${bias ? ' with bias' : ''}`;

  // 3x3 stride-1 float32 convolutions with >= 64 channels in, >= 32 out and >= 64 output tiles
  // of 4x4 run oneDNN's Winograd kernels on AVX-512 CPUs (native/src/cpu/conv.cc), whose
  // transforms round differently from direct convolution: a few 1e-6 of the largest value.
  // Odd sizes leave partial tiles; 40 and 80 channels are not multiples of 32. Their
  // activations go to and from oneDNN's 16-channel blocks (cpu/blocked_layout.cc; oneDNN's
  // reorder from NCHW): 40 and 72 channels leave a partial last block.
  for (const shape of [
    [1, 64, 40, 31, 30, false, true],
    [2, 80, 32, 27, 18, true, false],
    [1, 64, 32, 32, 32, true, true],
    [1, 72, 40, 32, 32, true, false],
  ] as const) {
    it(`${describeCase(shape)} (Winograd on AVX-512) matches float64`, () => checkAgainstFloat64(shape, 2e-5));
  }

  // Forward convolutions over at most 64 output pixels run in oneDNN's blocked layouts on the
  // CPU: 20 and 24 channels leave partial blocks; with 16, the blocks are the channels-last
  // bytes themselves (no copy).
  for (const shape of [
    [2, 20, 24, 8, 8, true, true],
    [3, 16, 16, 6, 6, true, false],
  ] as const) {
    it(`${describeCase(shape)} (small maps, blocked on the CPU) matches float64`, () => checkAgainstFloat64(shape, 1e-5));
  }

  // Dilated 3x3 convolutions padded by their dilation run on the CPU as undilated Winograd
  // ones over the input's interleaved sub-grids (native/src/cpu/conv.cc, where the sub-grids
  // divide the map), forward and backward; the reference is the same convolution with the
  // dilation written into a larger kernel of zeros, which runs direct. 33 rows do not divide:
  // direct as well.
  for (const [n, c, o, h, w, dilation, bias] of [
    [2, 64, 48, 32, 32, [2, 2], true],
    [1, 64, 64, 32, 32, [4, 4], false],
    [2, 64, 32, 32, 32, [2, 1], true],
    [1, 64, 32, 33, 32, [3, 3], false],
  ] as const) {
    it(`3x3 dilation ${dilation.join('x')} padded by it on [${n}, ${c}, ${h}, ${w}] -> ${o} equals the spread-out kernel`, () => {
      manualSeed(26);
      const x = randn([n, h, w, c], { device }).permute(0, 3, 1, 2);
      const weight = randn([o, c, 3, 3], { device }).mul(0.05);
      const b = bias ? randn([o], { device }) : null;
      const got = noGrad(() => conv2d(x, weight, b, { padding: [...dilation], dilation: [...dilation] }));
      const [dh, dw] = dilation;
      const spread = zeros([o, c, 2 * dh + 1, 2 * dw + 1], { device });
      const sv = spread.dataSync().slice();
      const wv = weight.cpu().dataSync();
      for (let f = 0; f < o * c; ++f)
        for (let i = 0; i < 3; ++i) for (let j = 0; j < 3; ++j) sv[(f * (2 * dh + 1) + i * dh) * (2 * dw + 1) + j * dw] = wv[(f * 3 + i) * 3 + j]!;
      const spreadKernel = tensor(sv, { device }).reshape([o, c, 2 * dh + 1, 2 * dw + 1]);
      const expected = noGrad(() => conv2d(x, spreadKernel, b, { padding: [dh, dw] }));
      expect(got.shape).toEqual([n, o, h, w]);
      expectCloseToScale(got.cpu().contiguous().dataSync(), expected.cpu().contiguous().dataSync(), 2e-5);
      // With a fused ReLU (inference), as a BatchNorm-folded ResNet block runs it.
      const fused = noGrad(() => convActivated(2, x, weight, b, { padding: [...dilation], dilation: [...dilation] }, 'relu'));
      expectCloseToScale(fused.cpu().contiguous().dataSync(), relu(expected).cpu().contiguous().dataSync(), 2e-5);
      const fused6 = noGrad(() => convActivated(2, x, weight, b, { padding: [...dilation], dilation: [...dilation] }, 'relu6'));
      expectCloseToScale(fused6.cpu().contiguous().dataSync(), relu6(expected).cpu().contiguous().dataSync(), 2e-5);
      // Gradients: the weight's at the spread-out kernel's taps.
      const g = randn([n, h, w, o], { device }).permute(0, 3, 1, 2);
      const [xa, wa, ba] = [x.detach().requiresGrad_(), weight.detach().requiresGrad_(), b?.detach().requiresGrad_() ?? null];
      conv2d(xa, wa, ba, { padding: [...dilation], dilation: [...dilation] }).backward(g);
      const [xr, wr, br] = [x.detach().requiresGrad_(), spreadKernel.detach().requiresGrad_(), b?.detach().requiresGrad_() ?? null];
      conv2d(xr, wr, br, { padding: [dh, dw] }).backward(g);
      expectCloseToScale(xa.grad!.cpu().contiguous().dataSync(), xr.grad!.cpu().contiguous().dataSync(), 2e-5);
      const spreadGrad = wr.grad!.cpu().dataSync();
      const tapGrad = Array.from({ length: o * c * 9 }, (_, k) => {
        const [f, i, j] = [Math.floor(k / 9), Math.floor(k / 3) % 3, k % 3];
        return spreadGrad[(f * (2 * dh + 1) + i * dh) * (2 * dw + 1) + j * dw]!;
      });
      expectCloseToScale(wa.grad!.cpu().dataSync(), tapGrad, 2e-5);
      if (ba) expectCloseToScale(ba.grad!.cpu().dataSync(), br!.grad!.cpu().dataSync(), 2e-5);
    });
  }

  it('a batch of 16 MiB activations (copied to and from blocks with streaming stores on the CPU) equals its images one by one', () => {
    manualSeed(25);
    const x = randn([4, 128, 128, 64], { device }).permute(0, 3, 1, 2).requiresGrad_();
    const weight = randn([64, 64, 3, 3], { device }).mul(0.05).requiresGrad_();
    const g = randn([4, 128, 128, 64], { device }).permute(0, 3, 1, 2);
    const out = conv2d(x, weight, null, { padding: 1 });
    out.backward(g);
    let gradWeight = zeros([64, 64, 3, 3], { device });
    for (let i = 0; i < 4; ++i) {
      const xi = x.detach().slice(0, i, i + 1).permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2).requiresGrad_();
      const wi = weight.detach().requiresGrad_();
      const outI = conv2d(xi, wi, null, { padding: 1 });
      outI.backward(g.slice(0, i, i + 1));
      expectCloseToScale(out.detach().slice(0, i, i + 1).cpu().dataSync(), outI.cpu().dataSync(), 1e-5);
      expectCloseToScale(x.grad!.slice(0, i, i + 1).cpu().dataSync(), xi.grad!.cpu().dataSync(), 1e-5);
      gradWeight = gradWeight.add(wi.grad!);
    }
    expectCloseToScale(weight.grad!.cpu().dataSync(), gradWeight.cpu().dataSync(), 1e-5);
  });

  it('outputs are channels-last and inputs of any layout give the same result', () => {
    manualSeed(22);
    const x = randn([2, 3, 6, 6], { device });
    const w = randn([4, 3, 3, 3], { device });
    const y = conv2d(x, w, null, { padding: 1 });
    expect(y.strides).toEqual([144, 1, 24, 4]);
    const fromChannelsLast = conv2d(x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2), w, null, { padding: 1 });
    expectClose(fromChannelsLast.cpu().dataSync(), y.cpu().dataSync(), 1e-5);
    expect(y.relu().strides).toEqual(y.strides); // elementwise ops keep the format
  });

  it('accepts unbatched input', () => {
    const x = randn([3, 5, 5], { device });
    expect(conv2d(x, randn([2, 3, 3, 3], { device })).shape).toEqual([2, 3, 3]);
  });

  it("'same' with stride 2 follows TensorFlow's rule: out = ceil(in / stride)", () => {
    expect(conv2d(randn([1, 1, 7, 8], { device }), randn([1, 1, 3, 3], { device }), null, { padding: 'same', stride: 2 }).shape).toEqual([1, 1, 4, 4]);
  });
});

it('gradients match finite differences', () => {
  manualSeed(23);
  gradcheck((x, w, b) => conv2d(x, w, b, { stride: 2, padding: 1 }), [randn([1, 2, 5, 5]), randn([3, 2, 3, 3]), randn([3])]);
  gradcheck((x, w) => conv2d(x, w, null, { groups: 2, dilation: 2, padding: 'same' }), [randn([1, 4, 6, 6]), randn([4, 2, 2, 2])]);
  gradcheck((x, w) => conv1d(x, w, null, { padding: 1 }), [randn([2, 2, 6]), randn([3, 2, 3])]);
});

it('bad arguments are ShapeError / ArgumentError / DTypeError naming conv2d and the argument', () => {
  const x = zeros([1, 3, 8, 8]);
  const w = zeros([4, 3, 3, 3]);
  expect(() => conv2d(zeros([3, 8]), w)).toThrow(/conv2d: expected input rank 4 .* or 3 \(unbatched\), got 2/);
  expect(() => conv2d(x, zeros([4, 3, 3]))).toThrow(/conv2d: expected weight rank 4/);
  expect(() => conv2d(zeros([1, 5, 8, 8]), w)).toThrow(/expected input with 3 channels .* got 5/);
  expect(() => conv2d(x, zeros([4, 1, 3, 3]), null, { groups: 3 })).toThrow(/groups 3 must divide the weight's 4 output channels/);
  expect(() => conv2d(zeros([1, 3, 2, 2]), w)).toThrow(/kernel size 3 is larger than the padded input size 2/);
  expect(() => conv2d(zeros([1, 3, 4, 4]), w, null, { dilation: 2 })).toThrow(/spanning 5 with dilation 2/);
  expect(() => conv2d(x, w, null, { stride: 0 })).toThrow(ShapeError);
  expect(() => conv2d(x, w, null, { stride: 1.5 })).toThrow(/expected stride to be an integer >= 1/);
  expect(() => conv2d(x, w, null, { padding: -1 })).toThrow(/expected padding/);
  expect(() => conv2d(x, w, null, { groups: 0 })).toThrow(/groups to be a positive integer/);
  expect(() => conv2d(x, w, zeros([3]))).toThrow(/expected bias of shape \[4\], got \[3\]/);
  expect(() => conv2d(x, w, null, { padding: 'full' as never })).toThrow(ArgumentError);
  expect(() => conv2d(zeros([1, 3, 8, 8], { dtype: 'int32' }), w)).toThrow(DTypeError);
  expect(() => conv2d(zeros([1, 5, 8, 8]), w)).toThrow(ShapeError);
});

// The padding modes, from resample.json (make_fixtures.py, resample_fixtures).
describeDevices('conv2d padding modes vs PyTorch', (device) => fixtureTests(device, convPaddingModeSuite.cases, convPaddingModeSuite.calls));

it('conv2d rejects an unknown paddingMode', () => {
  expect(() => conv2d(zeros([1, 2, 4, 4]), zeros([3, 2, 3, 3]), null, { paddingMode: 'mirror' as never })).toThrow(/paddingMode/);
});

// An empty batch (N = 0), as PyTorch (tests/fixtures/make_empty_batch_fixtures.py).
emptyBatchTest('conv1d', (x, w, b) => conv1d(x!, w!, b, { padding: 1 }));
emptyBatchTest('conv2d', (x, w, b) => conv2d(x!, w!, b, { padding: 1 }));
emptyBatchTest('conv3d', (x, w, b) => conv3d(x!, w!, b, { padding: 1 }));

describeDevices('conv fused with ReLU (inference)', (device) => {
  const shapes: Array<[string, number[], number[], { padding?: number; stride?: number; groups?: number }]> = [
    ['3x3 padded', [2, 5, 9, 7], [6, 5, 3, 3], { padding: 1 }],
    ['1x1 strided', [1, 8, 10, 10], [4, 8, 1, 1], { stride: 2 }],
    ['grouped', [1, 6, 8, 8], [6, 2, 3, 3], { groups: 3 }],
    ['3x3 Winograd-sized', [1, 64, 16, 16], [32, 64, 3, 3], { padding: 1 }],
  ];
  for (const [name, inputShape, weightShape, opts] of shapes) {
    for (const [activation, apply] of [['relu', relu], ['relu6', relu6]] as const) {
      it(`${name}: equals ${activation}(conv2d), and ${activation} of it is free`, async () => {
        const x = randn(inputShape, { device });
        const w = randn(weightShape, { device }).mul(activation === 'relu6' ? 1 : 0.2); // relu6: outputs past 6 too
        const b = randn([weightShape[0]!], { device });
        const expected = apply(conv2d(x, w, b, opts));
        const fused = noGrad(() => convActivated(2, x, w, b, opts, activation));
        expectClose(fused.dataSync(), expected.dataSync(), 1e-5);
        await synchronize(device);
        const { result, ops } = await profile(() => [apply(fused), relu(fused)], { device });
        expect(ops.find((o) => o.op === 'relu' || o.op === 'relu6')).toBeUndefined();
        for (const r of result) expectClose(r.dataSync(), expected.dataSync(), 1e-5);
      });
    }
  }

  it('refuses operands that need a gradient, and relu of it with autograd is a real relu', () => {
    const x = randn([1, 2, 5, 5], { device });
    const w = randn([3, 2, 3, 3], { device }).requiresGrad_();
    expect(() => convActivated(2, x, w, null, {}, 'relu')).toThrow(/for inference; run it under noGrad/);
    const fused = noGrad(() => convActivated(2, x, w.detach(), null, {}, 'relu')).requiresGrad_();
    relu(fused).sum().backward(); // recorded: ReLU's gradient is 0 where the value is 0
    const values = fused.dataSync();
    expect(Array.from(fused.grad!.dataSync())).toEqual(Array.from(values, (v) => (v > 0 ? 1 : 0)));
  });
});

describeDevices('a convolution, a depthwise one and a projection as one op (inference)', (device) => {
  /** [N, C, H, W] stored channels-last, as convolutions write their outputs. */
  const channelsLast = (shape: [number, number, number, number]) => randn([shape[0], shape[2], shape[3], shape[1]], { device }).permute(0, 3, 1, 2);
  type Act = 'relu' | 'relu6' | null;
  const activate = (t: Tensor, a: Act) => (a === 'relu' ? relu(t) : a === 'relu6' ? relu6(t) : t);
  // [batch, in, channels, size, depthwise stride, first kernel, activations, projected
  // channels]: the fused kernel from 20x20 first-convolution outputs
  // (cpu/conv_depthwise_block.cc), on channel counts off its 16-lane blocks and in groups of
  // 1 to 4 blocks (160 channels as 4 + 4 + 2), projections onto whole blocks and not, odd and even maps, batches smaller than
  // the thread team (rows split into bands) and larger, a stem-like 3x3 stride-2 first
  // convolution (patches) and one with too many taps for them (oneDNN); the convolutions
  // apart below 20x20.
  const shapes: Array<[number, number, number, number, number, number, [Act, Act, Act], number]> = [
    [2, 16, 96, 28, 2, 1, ['relu6', 'relu6', null], 24],
    [1, 24, 144, 21, 1, 1, ['relu6', 'relu6', null], 32],
    [3, 5, 20, 23, 2, 1, [null, 'relu', 'relu'], 0],
    [1, 7, 33, 20, 1, 1, ['relu', 'relu', null], 17],
    [1, 8, 64, 25, 2, 1, ['relu6', 'relu6', 'relu6'], 0],
    [2, 3, 32, 42, 1, 3, ['relu6', 'relu6', null], 16],
    [1, 5, 24, 41, 2, 3, [null, 'relu6', null], 0],
    [1, 8, 16, 40, 1, 3, ['relu', 'relu', null], 8],
    [4, 3, 17, 6, 1, 1, [null, null, null], 5],
    [1, 8, 64, 13, 2, 1, ['relu6', 'relu6', null], 16],
    [1, 8, 160, 20, 1, 1, ['relu6', 'relu6', null], 40],
  ];
  for (const [n, cin, c, size, stride, k, [act, dwAct, projAct], cout] of shapes) {
    const first = k === 1 ? '' : ` ${k}x${k} stride 2`;
    it(`[${n}, ${cin}, ${size}, ${size}] ->${first} ${c}, depthwise stride ${stride}${cout ? `, -> ${cout}` : ''}, ${act} / ${dwAct} / ${projAct}: equals the convolutions`, () => {
      manualSeed(n * 100 + c + k);
      const w = randn([c, cin, k, k], { device }).mul(0.5 / k);
      const b = randn([c], { device });
      const firstOpts = k === 1 ? {} : { stride: 2, padding: 1 };
      const dw = randn([c, 1, 3, 3], { device });
      const db = c % 2 ? null : randn([c], { device });
      const opts = { stride, padding: 1, groups: c };
      const pw = randn([Math.max(cout, 1), c, 1, 1], { device }).mul(0.2);
      const pb = cout % 2 ? null : randn([Math.max(cout, 1)], { device });
      for (const x of [channelsLast([n, cin, size, size]).mul(3), randn([n, cin, size, size], { device })]) { // fused kernel, then the convolutions apart
        let expected = activate(conv2d(activate(conv2d(x, w, b, firstOpts), act), dw, db, opts), dwAct);
        if (cout) expected = activate(conv2d(expected, pw, pb), projAct);
        const block = (residual?: Tensor) =>
          noGrad(() =>
            convDepthwiseBlock(x, { weight: w, bias: b, opts: firstOpts, activation: act }, { weight: dw, bias: db, opts, activation: dwAct },
              cout ? { weight: pw, bias: pb, activation: projAct } : undefined, residual),
          );
        const fused = block();
        expect(fused.shape).toEqual(expected.shape);
        expectClose(fused.dataSync(), expected.dataSync(), 1e-5);
        if (!cout) continue;
        // A residual channels-last (added as the kernel writes) and not (added after).
        for (const residual of [channelsLast(expected.shape as [number, number, number, number]), randn(expected.shape, { device })]) {
          expectClose(block(residual).dataSync(), expected.add(residual).dataSync(), 1e-5);
        }
      }
    });
  }

  it('NaN stays NaN through every stage of the fused kernel', () => {
    const x = channelsLast([1, 4, 20, 20]);
    const w = randn([16, 4, 1, 1], { device });
    const dw = { weight: randn([16, 1, 3, 3], { device }), bias: null, opts: { padding: 1, groups: 16 } };
    const pw = randn([8, 16, 1, 1], { device });
    const nan = noGrad(() =>
      convDepthwiseBlock(x.mul(tensor(NaN, { device })), { weight: w, bias: null, activation: 'relu6' }, { ...dw, activation: 'relu6' }, { weight: pw, bias: null, activation: 'relu' }),
    );
    expect(Array.from(nan.dataSync()).every(Number.isNaN)).toBe(true);
  });

  // bfloat16 operands: from 20x20 the fused kernel sums in float32, rounds the depthwise
  // output to bfloat16 for the projection (as the convolutions apart do) and rounds each
  // output once, so it equals the float32 block on the same bfloat16 values with that one
  // intermediate rounding, to about half a bfloat16 unit; below, the bfloat16 convolutions run
  // apart, rounding between them.
  const halfShapes: Array<[number, number, number, number, number, number, Act, number, boolean]> = [
    [2, 16, 96, 28, 2, 1, 'relu6', 24, false],
    [1, 24, 144, 21, 1, 1, 'relu6', 24, true],
    [2, 3, 32, 42, 1, 3, 'relu6', 16, false],
    [1, 8, 40, 20, 1, 1, 'relu', 0, false],
    [1, 4, 16, 13, 1, 1, 'relu', 8, true],
  ];
  for (const [n, cin, c, size, stride, k, act, cout, withResidual] of halfShapes) {
    const middle = k === 1 ? size : Math.floor((size - 1) / 2) + 1; // the first convolution's output
    const fusedHere = middle * middle >= 400;
    it.runIf(device !== 'cpu' || cpuHasBFloat16Kernels)(`bfloat16 [${n}, ${cin}, ${size}, ${size}] ->${k === 1 ? '' : ` ${k}x${k} stride 2`} ${c}, depthwise stride ${stride}${cout ? `, -> ${cout}` : ''}${withResidual ? ' + residual' : ''}: ${fusedHere ? 'float32 math, one rounding' : 'the bfloat16 convolutions apart'}`, () => {
      manualSeed(n * 10 + c + k);
      const firstOpts = k === 1 ? {} : { stride: 2, padding: 1 };
      const opts = { stride, padding: 1, groups: c };
      const [x, w, b, dw, db, pw, pb] = [channelsLast([n, cin, size, size]), randn([c, cin, k, k], { device }).mul(0.5 / k), randn([c], { device }), randn([c, 1, 3, 3], { device }), randn([c], { device }), randn([Math.max(cout, 1), c, 1, 1], { device }).mul(0.2), randn([Math.max(cout, 1)], { device })].map((t) => t.to('bfloat16'));
      const project = cout ? { weight: pw!, bias: pb!, activation: null } : undefined;
      const shape = conv2d(conv2d(x!.to('float32'), w!.to('float32'), null, firstOpts), dw!.to('float32'), null, opts).shape;
      const residual = withResidual && cout ? channelsLast([shape[0]!, cout, shape[2]!, shape[3]!]).to('bfloat16') : undefined;
      const half = noGrad(() => convDepthwiseBlock(x!, { weight: w!, bias: b!, opts: firstOpts, activation: act }, { weight: dw!, bias: db!, opts, activation: act }, project, residual));
      expect(half.dtype).toBe('bfloat16');
      // The same block on the same (bfloat16) values: in float32, or in bfloat16 apart.
      const wide = fusedHere ? (t: Tensor) => t.to('float32') : (t: Tensor) => t;
      let expected = activate(conv2d(activate(conv2d(wide(x!), wide(w!), wide(b!), firstOpts), act), wide(dw!), wide(db!), opts), act);
      if (cout) expected = conv2d(fusedHere ? expected.to('bfloat16').to('float32') : expected, wide(pw!), wide(pb!));
      if (residual) expected = expected.add(wide(residual));
      expectClose(half.dataSync(), expected.dataSync(), fusedHere ? 2 ** -8 : 2e-2);
    });
  }

  it('refuses operands that need a gradient, and shapes that are not a convolution, a depthwise one and a 1x1 projection', () => {
    const x = randn([1, 4, 6, 6], { device });
    const first = { weight: randn([8, 4, 1, 1], { device }), bias: null, activation: null };
    const dw = { weight: randn([8, 1, 3, 3], { device }), bias: null, opts: { padding: 1, groups: 8 }, activation: null };
    const project = { weight: randn([6, 8, 1, 1], { device }), bias: null, activation: null };
    const block = (f: BlockConv, d: BlockConv, p?: BlockConv) => noGrad(() => convDepthwiseBlock(x, f, d, p));
    expect(() => convDepthwiseBlock(x, { ...first, weight: first.weight.clone().requiresGrad_() }, dw)).toThrow(/for inference; run them under noGrad/);
    expect(() => convDepthwiseBlock(x, first, dw, { ...project, bias: randn([6], { device, requiresGrad: true }) })).toThrow(/for inference/);
    expect(() => block({ ...first, weight: randn([8, 2, 1, 1], { device }), opts: { groups: 2 } }, dw)).toThrow(/takes no groups/);
    expect(() => block({ ...first, weight: randn([8, 5, 1, 1], { device }) }, dw)).toThrow(ShapeError);
    expect(() => block(first, { ...dw, opts: { padding: 1, groups: 4 } })).toThrow(/groups 8/);
    expect(() => block(first, { ...dw, weight: randn([8, 2, 3, 3], { device }) })).toThrow(ShapeError);
    expect(() => block(first, { ...dw, bias: randn([4], { device }) })).toThrow(/depthwise bias of shape \[8\]/);
    expect(() => block(first, { ...dw, opts: { ...dw.opts, paddingMode: 'reflect' } })).toThrow(ArgumentError);
    expect(() => block(first, dw, { ...project, weight: randn([6, 8, 3, 3], { device }) })).toThrow(/1x1 projection weight/);
    expect(() => block(first, dw, { ...project, weight: randn([6, 4, 1, 1], { device }) })).toThrow(/\[outC, 8, 1, 1\]/);
    expect(() => block(first, dw, { ...project, bias: randn([8], { device }) })).toThrow(/projection bias of shape \[6\]/);
    expect(() => block(first, dw, { ...project, opts: { stride: 2 } })).toThrow(/1x1 of stride 1/);
    const residual = randn([1, 6, 6, 6], { device });
    expect(() => noGrad(() => convDepthwiseBlock(x, first, dw, undefined, randn([1, 8, 6, 6], { device })))).toThrow(/a residual needs a projection/);
    expect(() => noGrad(() => convDepthwiseBlock(x, first, dw, project, randn([1, 6, 6, 5], { device })))).toThrow(/shape \[1, 6, 6, 6\] and dtype float32, got \[1, 6, 6, 5\]/);
    expect(() => noGrad(() => convDepthwiseBlock(x, first, dw, project, residual.to('bfloat16')))).toThrow(/got \[1, 6, 6, 6\] bfloat16/);
    expect(() => convDepthwiseBlock(x, first, dw, project, residual.clone().requiresGrad_())).toThrow(/for inference/);
    expect(() => noGrad(() => convDepthwiseBlock(x, first, dw, project, 'x' as unknown as Tensor))).toThrow(/expected residual to be a Tensor/);
  });
});
