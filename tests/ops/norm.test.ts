import { expect, it } from 'vitest';

import { ArgumentError, batchNorm, groupNorm, instanceNorm, layerNorm, manualSeed, memory, ones, profile, randn, relu, ShapeError, synchronize, tensor, type Tensor, zeros } from '../../lib/index.js';
import { describeDevices, expectClose } from '../helpers/devices.js';
import { emptyBatchCases, emptyBatchTest } from '../helpers/empty_batch.js';
import { normCalls as calls, normCases as cases, type NormParams as Params } from '../helpers/fixture_formats.js';
import { gradcheck } from '../helpers/gradcheck.js';
import { batchNormRelu } from '../../lib/ops/norm.js';

describeDevices('normalization vs PyTorch', (device) => {
  for (const c of cases) {
    it(`${c.name} [${c.input.shape}]`, () => {
      const load = (v: number[] | null, shape?: number[]) => (v === null ? null : tensor(Float32Array.from(v), { device }).reshape(shape ?? [v.length]));
      const x = load(c.input.values, c.input.shape)!.requiresGrad_();
      const paramShape = c.name === 'layerNorm' ? [4, 6] : undefined;
      const p: Params = {
        w: load(c.weight, paramShape)?.requiresGrad_() ?? null,
        b: load(c.bias, paramShape)?.requiresGrad_() ?? null,
        rm: load(c.runningMean),
        rv: load(c.runningVar),
      };
      const out = calls[c.name]!(x, p);
      expect(out.shape).toEqual(c.output.shape);
      expectClose(out.cpu().dataSync(), c.output.values, 1e-4);
      if (c.runningMeanAfter) expectClose(p.rm!.cpu().dataSync(), c.runningMeanAfter, 1e-5);
      if (c.runningVarAfter) expectClose(p.rv!.cpu().dataSync(), c.runningVarAfter, 1e-5);
      out.backward(tensor(Float32Array.from(c.gradOutput), { device }).reshape(c.output.shape));
      expectClose(x.grad!.cpu().dataSync(), c.gradInput, 1e-4);
      if (c.gradWeight) expectClose(p.w!.grad!.cpu().dataSync(), c.gradWeight, 1e-4);
      if (c.gradBias) expectClose(p.b!.grad!.cpu().dataSync(), c.gradBias, 1e-4);
    });
  }

  it('batchNorm keeps a channels-last input channels-last', () => {
    const x = randn([2, 4, 3, 3], { device }).permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);
    const out = batchNorm(x, zeros([4], { device }), ones([4], { device }), null, null, { training: true });
    expect(out.strides).toEqual(x.strides);
  });
});

it('normalization gradients match finite differences', () => {
  manualSeed(41);
  gradcheck((x, w, b) => batchNorm(x, null, null, w, b, { training: true }), [randn([3, 2, 2, 2]), randn([2]).add(2), randn([2])], { eps: 1e-2, atol: 5e-3 });
  gradcheck((x, w, b) => layerNorm(x, [5], w, b), [randn([3, 5]), randn([5]), randn([5])], { atol: 5e-3 });
  gradcheck((x) => groupNorm(x, 2), [randn([2, 4, 3])], { atol: 5e-3 });
});

// The fused batch norm + ReLU nn.Sequential runs in training (lib/nn/layers/fused_norm_relu.ts):
// the values, running statistics and gradients of relu(batchNorm(...)), in both layouts the
// kernels take apart (channels-last rows, plain runs), with channel counts that leave a
// remainder past the 16-wide vectors.
describeDevices('batchNormRelu', (device) => {
  const layouts = [
    ['channels-last', [4, 37, 5, 7], true],
    ['channels-last, 64 channels', [8, 64, 9, 9], true],
    ['channels-last, batch 1', [1, 19, 6, 6], true],
    ['NCHW', [4, 37, 5, 7], false],
    ['[N, C, L]', [6, 5, 33], false],
    ['[N, C]', [50, 21], false],
  ] as const;
  for (const [name, shape, channelsLast] of layouts) {
    for (const affine of [true, false]) {
      it(`is relu(batchNorm(x)) in values, running statistics and gradients: ${name}${affine ? '' : ', no affine'}`, () => {
        manualSeed(17);
        const base = randn([...shape], { device }).mul(2).add(0.3);
        const x = (channelsLast ? base.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2) : base).detach().requiresGrad_();
        const c = shape[1];
        const w = affine ? randn([c], { device }).requiresGrad_() : null;
        const b = affine ? randn([c], { device }).requiresGrad_() : null;
        const g = randn([...shape], { device });
        const stats = () => [randn([c], { device }).mul(0.1), randn([c], { device }).abs().add(0.5)] as const;
        manualSeed(3);
        const [rm1, rv1] = stats();
        manualSeed(3);
        const [rm2, rv2] = stats();
        const grads = (out: Tensor) => {
          out.backward(g);
          const got = [x, w, b].map((t) => (t ? Array.from(t.grad!.cpu().dataSync()) : []));
          for (const t of [x, w, b]) if (t) t.grad = null;
          return got;
        };
        const want = relu(batchNorm(x, rm1, rv1, w, b, { training: true, momentum: 0.3 }));
        const wantGrads = grads(want);
        const got = batchNormRelu(x, rm2, rv2, w, b, { training: true, momentum: 0.3 });
        expect(got.strides).toEqual(x.strides);
        expectClose(got.cpu().dataSync(), want.cpu().dataSync(), 1e-6);
        expectClose(rm2.cpu().dataSync(), rm1.cpu().dataSync(), 1e-6);
        expectClose(rv2.cpu().dataSync(), rv1.cpu().dataSync(), 1e-6);
        const gotGrads = grads(got);
        for (let i = 0; i < 3; i++) expectClose(gotGrads[i]!, wantGrads[i]!, 1e-4);
      });
    }
  }

  it('takes an input and gradient whose batch of one is strided differently (both ops)', () => {
    // [1, C, H, W] channels-last views whose size-1 dim has different strides (19 and 570):
    // the backward must accept them as one layout, as the kernels do.
    manualSeed(5);
    const x = randn([6, 5, 19], { device }).permute(2, 0, 1).unsqueeze(0).requiresGrad_();
    const g = randn([1, 6, 5, 19], { device }).permute(0, 3, 1, 2);
    expect(x.strides[0]).not.toBe(g.strides[0]);
    const grads = (out: Tensor) => {
      out.backward(g);
      const got = Array.from(x.grad!.cpu().dataSync());
      x.grad = null;
      return got;
    };
    const plain = grads(batchNorm(x, null, null, null, null, { training: true }));
    const composed = grads(relu(batchNorm(x, null, null, null, null, { training: true })));
    expectClose(grads(batchNormRelu(x, null, null, null, null, { training: true })), composed, 1e-4);
    expect(plain.some((v, i) => v !== composed[i])).toBe(true); // the ReLU's mask took part
  });

  it('is relu(batchNorm(x)) on the composed paths too: eval mode with a gradient, an empty batch', () => {
    manualSeed(6);
    const x = randn([3, 4, 5], { device }).requiresGrad_();
    const [rm, rv] = [randn([4], { device }), randn([4], { device }).abs().add(0.5)];
    const eval_ = { training: false };
    expectClose(batchNormRelu(x, rm, rv, null, null, eval_).cpu().dataSync(), relu(batchNorm(x, rm, rv, null, null, eval_)).cpu().dataSync(), 1e-6);
    const empty = batchNormRelu(zeros([0, 4, 5], { device }), rm, rv, null, null, { training: true });
    expect(empty.shape).toEqual([0, 4, 5]);
  });

  it('keeps NaN as relu does', () => {
    const x = tensor([[1, NaN], [2, 5], [3, -1]], { device });
    const out = batchNormRelu(x, null, null, null, null, { training: true }).cpu().dataSync();
    expect(Array.from(out).map((v, i) => (i % 2 === 1 ? Number.isNaN(v) : v >= 0))).toEqual([true, true, true, true, true, true]);
  });
});

it('batchNormRelu gradients match finite differences', () => {
  // Inputs whose normalized values keep clear of the ReLU's kink at 0 (checked below), so
  // that a finite-difference step does not cross it.
  manualSeed(16);
  const x = randn([4, 2, 3, 3]);
  const w = tensor([1.5, -0.8], { dtype: 'float32' });
  const b = tensor([0.2, 0.1], { dtype: 'float32' });
  const normalized = batchNorm(x, null, null, w, b, { training: true }).dataSync();
  expect(Math.min(...Array.from(normalized, Math.abs))).toBeGreaterThan(0.05);
  expect(Array.from(normalized).filter((v) => v > 0).length).toBeGreaterThan(10); // both sides of the kink
  expect(Array.from(normalized).filter((v) => v < 0).length).toBeGreaterThan(10);
  gradcheck((xi, wi, bi) => batchNormRelu(xi, null, null, wi, bi, { training: true }), [x, w, b], { eps: 1e-3, atol: 5e-3 });
  gradcheck((xi, wi, bi) => batchNormRelu(xi.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2), null, null, wi, bi, { training: true }), [x, w, b], {
    eps: 1e-3,
    atol: 5e-3,
  });
});

it('normalization rejects bad arguments', () => {
  const x = zeros([2, 3, 4, 4]);
  expect(() => batchNorm(zeros([3]), null, null)).toThrow(/rank >= 2/);
  expect(() => batchNorm(x, zeros([4]), zeros([3]))).toThrow(/expected runningMean of shape \[3\], got \[4\]/);
  expect(() => batchNorm(x, null, null)).toThrow(ArgumentError);
  expect(() => batchNorm(zeros([1, 3]), zeros([3]), ones([3]), null, null, { training: true })).toThrow(/more than 1 value per channel/);
  expect(() => batchNorm(x, zeros([3]), ones([3]), ones([3]), null)).toThrow(/weight and bias must be given together/);
  expect(() => layerNorm(x, [5])).toThrow(ShapeError);
  expect(() => groupNorm(x, 2)).toThrow(/numGroups 2 .* dividing the 3 channels/);
});

it('batchNorm in training frees the temporaries of its running-statistics update', () => {
  const x = randn([4, 3, 5, 5]);
  const runningMean = zeros([3]);
  const runningVar = ones([3]);
  const before = memory('cpu').tensors;
  for (let i = 0; i < 3; ++i) batchNorm(x, runningMean, runningVar, null, null, { training: true }).dispose();
  expect(memory('cpu').tensors).toBe(before);
});

it('batchNorm in training updates its running statistics in its own kernel', async () => {
  const x = randn([4, 3, 5, 5]);
  const runningMean = zeros([3]);
  const runningVar = ones([3]);
  await synchronize(); // the kernels queued before stay out of the profile
  const { ops } = await profile(() => batchNorm(x, runningMean, runningVar, null, null, { training: true }).dispose());
  // The normalization updates both statistics; composed it was 12 more ops (scalars, mul, add, copy).
  expect(ops.map((o) => [o.op, o.count])).toEqual([['batchNorm', 1]]);
});

// running = (1 - m) * running + m * batch (variance unbiased), at the momenta's edges and
// on a gapped running statistic, which takes the composed path.
for (const momentum of [0, 0.3, 1]) {
  it(`batchNorm in training, momentum ${momentum}: running statistics as PyTorch's formula, also through a gapped view`, () => {
    manualSeed(11);
    const x = randn([2, 3, 4, 5]).mul(2).add(1);
    const mean0 = [0.5, -1, 2];
    const var0 = [1.5, 0.25, 3];
    const values = x.permute(1, 0, 2, 3).reshape([3, 40]).tolist() as number[][];
    const expectedMean = values.map((v, c) => (1 - momentum) * mean0[c]! + (momentum * v.reduce((a, b) => a + b, 0)) / v.length);
    const expectedVar = values.map((v, c) => {
      const mu = v.reduce((a, b) => a + b, 0) / v.length;
      return (1 - momentum) * var0[c]! + (momentum * v.reduce((a, b) => a + (b - mu) ** 2, 0)) / (v.length - 1);
    });
    const dense = [tensor(mean0, { dtype: 'float32' }), tensor(var0, { dtype: 'float32' })];
    // Every other element of a [6] buffer: a [3] view with stride 2.
    const gapped = [mean0, var0].map((v) => tensor(v.flatMap((e) => [e, 99]), { dtype: 'float32' }).reshape([3, 2]).slice(1, 0, 1).squeeze(1));
    expect(gapped[0]!.strides).toEqual([2]);
    for (const [rm, rv] of [dense, gapped]) {
      batchNorm(x, rm!, rv!, null, null, { training: true, momentum }).dispose();
      expectClose(rm!.dataSync(), expectedMean, 1e-5);
      expectClose(rv!.dataSync(), expectedVar, 1e-5);
    }
  });
}

// An empty batch (N = 0), as PyTorch (tests/fixtures/make_empty_batch_fixtures.py).
// batchNorm in training normalizes it to nothing, leaving the running statistics as they
// were (a mean of no values updates nothing), as torch 1.13 does.
emptyBatchTest('batchNorm train', (x, w, b) => batchNorm(x!, zeros([3], { device: x!.device }), ones([3], { device: x!.device }), w, b, { training: true }));
emptyBatchTest('batchNorm train without running statistics', (x, w, b) => batchNorm(x!, null, null, w, b, { training: true }));
emptyBatchTest('batchNorm eval', (x, w, b) => batchNorm(x!, zeros([3], { device: x!.device }), ones([3], { device: x!.device }), w, b));
emptyBatchTest('groupNorm', (x, w, b) => groupNorm(x!, 1, w, b));
emptyBatchTest('layerNorm', (x, w, b) => layerNorm(x!, [4, 4], w, b));

it('batchNorm in training on an empty batch leaves the running statistics as PyTorch does', () => {
  const expected = emptyBatchCases['batchNorm train']!;
  const runningMean = tensor([0, 1, 2], { dtype: 'float32' });
  const runningVar = tensor([1, 2, 3], { dtype: 'float32' });
  batchNorm(randn([0, 3, 4, 4]), runningMean, runningVar, null, null, { training: true, momentum: 0.1 });
  expect(Array.from(runningMean.dataSync())).toEqual(expected.runningMeanAfter);
  expect(Array.from(runningVar.dataSync())).toEqual(expected.runningVarAfter);
});

// torch 1.13's instance_norm fails on an empty batch with an IndexError from an internal
// select() (the fixture records it): a defect, not a refusal, since group_norm, which
// instance norm is (one group per channel), gives an empty output. neocog gives that.
it('instanceNorm on an empty batch gives what groupNorm with one group per channel gives (torch 1.13 fails there)', () => {
  expect(emptyBatchCases.instanceNorm!.error).toMatch(/^IndexError: select\(\)/);
  const x = randn([0, 3, 4, 4]).requiresGrad_();
  const [w, b] = [randn([3]).requiresGrad_(), randn([3]).requiresGrad_()];
  const out = instanceNorm(x, w, b);
  expect(out.shape).toEqual([0, 3, 4, 4]);
  out.sum().backward();
  expect([x.grad!.shape, w.grad!.shape, b.grad!.shape]).toEqual([[0, 3, 4, 4], [3], [3]]);
  expect(Array.from(w.grad!.dataSync())).toEqual([0, 0, 0]);
});

/** batchNorm in training, forward and backward, in float64 from the same float32 values: [N, C, *] flattened. */
function batchNormReference(shape: number[], x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number>, g: ArrayLike<number>, eps: number) {
  const channels = shape[1]!, inner = shape.slice(2).reduce((p, q) => p * q, 1), outer = shape[0]!;
  const count = outer * inner;
  const at = (o: number, c: number, i: number) => (o * channels + c) * inner + i;
  const out = new Float64Array(x.length), gradInput = new Float64Array(x.length);
  const gradWeight: number[] = [], gradBias: number[] = [], mean: number[] = [], variance: number[] = [];
  for (let c = 0; c < channels; ++c) {
    let sum = 0;
    for (let o = 0; o < outer; ++o) for (let i = 0; i < inner; ++i) sum += x[at(o, c, i)]!;
    const m = sum / count;
    let sq = 0;
    for (let o = 0; o < outer; ++o) for (let i = 0; i < inner; ++i) sq += (x[at(o, c, i)]! - m) ** 2;
    const v = sq / count, invStd = 1 / Math.sqrt(v + eps);
    let sumG = 0, sumGX = 0;
    for (let o = 0; o < outer; ++o) {
      for (let i = 0; i < inner; ++i) {
        const j = at(o, c, i);
        out[j] = (x[j]! - m) * invStd * w[c]! + b[c]!;
        sumG += g[j]!;
        sumGX += g[j]! * (x[j]! - m);
      }
    }
    for (let o = 0; o < outer; ++o) {
      for (let i = 0; i < inner; ++i) {
        const j = at(o, c, i);
        gradInput[j] = w[c]! * invStd * (g[j]! - sumG / count - (x[j]! - m) * invStd * invStd * (sumGX / count));
      }
    }
    mean.push(m);
    variance.push(v);
    gradWeight.push(sumGX * invStd);
    gradBias.push(sumG);
  }
  return { out, gradInput, gradWeight, gradBias, mean, variance };
}

describeDevices('batchNorm training kernels vs a float64 reference', (device) => {
  // Channel counts that leave remainders after 64- and 16-channel vector groups; sizes above
  // and below the parallel grain; 2-d and 3-d inputs; a large mean over a small spread
  // (catches a variance computed as E[x^2] - E[x]^2 in float).
  const cases: { shape: number[]; offset: number; layouts: ('nchw' | 'channelsLast')[] }[] = [
    { shape: [4, 70, 12, 11], offset: 0, layouts: ['nchw', 'channelsLast'] },
    { shape: [3, 37, 5, 7], offset: 0, layouts: ['nchw', 'channelsLast'] },
    { shape: [2, 19, 6, 5], offset: 1000, layouts: ['nchw', 'channelsLast'] },
    { shape: [50, 21], offset: 0, layouts: ['nchw'] },
    { shape: [6, 5, 33], offset: 0, layouts: ['nchw'] },
  ];
  for (const { shape, offset, layouts } of cases) {
    for (const layout of layouts) {
      it(`[${shape}] ${layout}${offset ? ` mean ${offset}` : ''}`, () => {
        manualSeed(7);
        const channels = shape[1]!;
        const base = randn(shape, { device }).mul(offset ? 0.01 : 1.5).add(offset + 0.3);
        const x = (layout === 'nchw' ? base.clone() : base.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)).requiresGrad_();
        const w = randn([channels], { device }).requiresGrad_();
        const b = randn([channels], { device }).requiresGrad_();
        const g = randn(shape, { device });
        const runningMean = zeros([channels], { device }), runningVar = ones([channels], { device });
        const out = batchNorm(x, runningMean, runningVar, w, b, { training: true, momentum: 1 });
        expect(out.strides).toEqual(x.strides);
        out.backward(g);
        const ref = batchNormReference(shape, base.dataSync(), w.dataSync(), b.dataSync(), g.dataSync(), 1e-5);
        const count = x.numel / channels;
        // Around a mean of 1000 the float32 mean itself is off by up to 3e-5, i.e. 3e-3 of
        // a 0.01 spread; a variance that cancelled in float would be off by orders of magnitude.
        const tolerance = offset ? 1e-2 : 2e-4;
        expectClose(out.dataSync(), ref.out, tolerance);
        expectClose(runningMean.dataSync(), ref.mean, 1e-5);
        expectClose(runningVar.dataSync(), ref.variance.map((v) => (v * count) / (count - 1)), offset ? 1e-2 : 1e-3);
        // The input gradient there multiplies that error by invStd^2 (1e4): oneDNN and our
        // kernel agree with each other but not with float64, so it is checked on the others.
        if (offset) return;
        expectClose(x.grad!.dataSync(), ref.gradInput, tolerance);
        expectClose(w.grad!.dataSync(), ref.gradWeight, 2e-4);
        expectClose(b.grad!.dataSync(), ref.gradBias, 2e-4);
      });
    }
  }
});
