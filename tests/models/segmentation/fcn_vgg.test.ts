// FCN-32s/16s/8s on VGG-16: the same nets in PyTorch (tests/fixtures/make_fcn_vgg_fixtures.py,
// narrowed widths, seeded weights), the bilinear upsampling init against interpolate, the
// zero-initialised score layers, odd input sizes, VGG-16's names, and a training step.
import { describe, expect, it } from 'vitest';

import {
  ArgumentError,
  convTranspose2d,
  crossEntropy,
  interpolate,
  io,
  manualSeed,
  models,
  nn,
  noGrad,
  ones,
  optim,
  randint,
  randn,
  ShapeError,
  tensor,
} from '../../../lib/index.js';

const { bilinearKernel, fcn8sVgg16, fcn16sVgg16, fcn32sVgg16, FCNVGG16 } = models.segmentation;
const small = { numClasses: 3, fcChannels: 8, widthDivisor: 16 } as const;

describe('FCNVGG16 against the same net in PyTorch', () => {
  const file = io.loadSafetensorsSync(new URL('../../fixtures/fcn_vgg.safetensors', import.meta.url).pathname);
  const options = JSON.parse(file.metadata.options ?? '{}') as Record<string, { variant: '8s' | '16s' | '32s' } & models.segmentation.FCNVGG16Options>;
  it('has the three cases', () => expect(Object.keys(options).sort()).toEqual(['fcn16s_45x67', 'fcn32s_45x67', 'fcn8s_71x93']));
  for (const [name, { variant, ...opts }] of Object.entries(options)) {
    it(`${name}: strict load, eval output within 1e-4 of PyTorch's`, () => {
      const prefix = `${name}.`;
      const state = new Map([...file.tensors].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
      const model = new FCNVGG16(variant, opts);
      expect(model.loadStateDict(state)).toEqual({ missing: [], unexpected: [] });
      model.eval();
      const { out } = noGrad(() => model.call(file.tensors.get(`__input__.${name}`)!));
      const want = file.tensors.get(`__output__.${name}`)!;
      expect(out.shape).toEqual(want.shape);
      const [a, b] = [out.dataSync(), want.dataSync()];
      const scale = Math.max(1, ...Array.from(b, Math.abs));
      let worst = 0;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
      expect(worst / scale).toBeLessThan(1e-4);
      model.dispose();
    });
  }
});

describe('bilinearKernel', () => {
  it("is FCN's upsample_filt on the channel diagonal and 0 elsewhere", () => {
    // k = 4: f = 2, center 1.5; k = 3: f = 2, center 1.
    const taps = { 4: [0.25, 0.75, 0.75, 0.25], 3: [0.5, 1, 0.5] } as const;
    for (const k of [4, 3] as const) {
      const w = bilinearKernel(2, k);
      expect(w.shape).toEqual([2, 2, k, k]);
      const v = w.dataSync();
      for (let o = 0; o < 2; ++o) {
        for (let c = 0; c < 2; ++c) {
          for (let i = 0; i < k; ++i) {
            for (let j = 0; j < k; ++j) expect(v[((o * 2 + c) * k + i) * k + j]).toBe(o === c ? taps[k][i]! * taps[k][j]! : 0);
          }
        }
      }
    }
  });

  it('names the bad argument', () => {
    expect(() => bilinearKernel(0, 4)).toThrow(ArgumentError);
    expect(() => bilinearKernel(2, 2.5)).toThrow(/bilinearKernel: expected k to be an integer >= 1/);
  });

  // The transposed convolution (kernel 2s, stride s, padding s/2) against interpolate's
  // bilinear upsampling (alignCorners false), away from the s-pixel border where the
  // transposed convolution sees zeros beyond the edge and interpolate repeats the edge.
  for (const s of [2, 8]) {
    it(`x${s}: reproduces interpolate on a constant, a linear ramp and noise in the interior`, () => {
      manualSeed(s);
      const [h, w] = [5, 6];
      const ramp = Float32Array.from({ length: h * w }, (_, i) => 0.5 * Math.floor(i / w) - 0.25 * (i % w));
      const inputs = [ones([1, 1, h, w]), tensor(ramp, { shape: [1, 1, h, w] }), randn([1, 1, h, w])];
      for (const x of inputs) {
        const up = convTranspose2d(x, bilinearKernel(1, 2 * s), null, { stride: s, padding: s / 2 });
        const ref = interpolate(x, { scaleFactor: s, mode: 'bilinear', alignCorners: false });
        expect(up.shape).toEqual([1, 1, h * s, w * s]);
        const [a, b] = [up.dataSync(), ref.dataSync()];
        for (let i = s; i < h * s - s; ++i) for (let j = s; j < w * s - s; ++j) expect(a[i * w * s + j]).toBeCloseTo(b[i * w * s + j]!, 5);
      }
    });
  }

  it("is what each of FCN-8s' upsampling layers starts with", () => {
    const model = fcn8sVgg16(small);
    const expected = { upscore2: 4, upscore_pool4: 4, upscore8: 16 };
    for (const [name, k] of Object.entries(expected)) {
      const weight = model.stateDict().get(`${name}.weight`)!;
      expect(Array.from(weight.dataSync())).toEqual(Array.from(bilinearKernel(3, k).dataSync()));
    }
    model.dispose();
  });
});

describe('fcn8sVgg16, fcn16sVgg16, fcn32sVgg16', () => {
  it('give logits of the input size for odd sizes (97x131, 33x45) and the smallest (32x32)', () => {
    manualSeed(1);
    for (const make of [fcn8sVgg16, fcn16sVgg16, fcn32sVgg16]) {
      const model = make(small).eval();
      for (const [h, w] of [[97, 131], [33, 45], [32, 32]] as const) {
        expect(noGrad(() => model.call(randn([2, 3, h, w]))).out.shape).toEqual([2, 3, h, w]);
      }
      model.dispose();
    }
  });

  it("have VGG-16's body, so ImageNet vgg16's features.* load, and the paper's layer names", () => {
    const model = fcn8sVgg16({ fcChannels: 8 });
    // torchvision's vgg16 features: convs at 0, 2, 5, ... 28, the 3x3 pools between.
    const convs = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28];
    const vggState = new Map(convs.flatMap((i) => ['weight', 'bias'].map((p) => [`features.${i}.${p}`, model.stateDict().get(`features.${i}.${p}`)!] as const)));
    const { missing, unexpected } = model.loadStateDict(vggState, { strict: false });
    expect(unexpected).toEqual([]);
    expect(missing.sort()).toEqual([
      'fc6.bias', 'fc6.weight', 'fc7.bias', 'fc7.weight', 'score_fr.bias', 'score_fr.weight', 'score_pool3.bias', 'score_pool3.weight',
      'score_pool4.bias', 'score_pool4.weight', 'upscore2.weight', 'upscore8.weight', 'upscore_pool4.weight',
    ]);
    expect(model.stateDict().get('features.28.weight')!.shape).toEqual([512, 512, 3, 3]);
    expect(model.stateDict().get('fc6.weight')!.shape).toEqual([8, 512, 7, 7]);
    model.dispose();
    expect([...fcn32sVgg16(small).stateDict().keys()].filter((k) => k.startsWith('up'))).toEqual(['upscore.weight']);
    expect([...fcn16sVgg16(small).stateDict().keys()].filter((k) => k.startsWith('up'))).toEqual(['upscore2.weight', 'upscore16.weight']);
  });

  it("convolutionalizeVgg16 recasts VGG-16's fully connected layers: fc6's centre pixel on a 7x7 map is classifier.0's output", () => {
    manualSeed(4);
    // A VGG-16 classifier narrowed to 8 hidden units (VGG's own is 4096 wide).
    const linear6 = new nn.Linear(512 * 7 * 7, 8);
    const linear7 = new nn.Linear(8, 8);
    const vgg = new Map([
      ['features.0.weight', randn([64, 3, 3, 3])], ['features.0.bias', randn([64])],
      ['classifier.0.weight', linear6.weight], ['classifier.0.bias', linear6.bias!],
      ['classifier.3.weight', linear7.weight], ['classifier.3.bias', linear7.bias!],
      ['classifier.6.weight', randn([1000, 8])], ['classifier.6.bias', randn([1000])],
    ]);
    const state = models.segmentation.convolutionalizeVgg16(vgg);
    expect([...state.keys()].sort()).toEqual(['fc6.bias', 'fc6.weight', 'fc7.bias', 'fc7.weight', 'features.0.bias', 'features.0.weight']);
    const model = fcn8sVgg16({ fcChannels: 8, numClasses: 2 });
    const { missing, unexpected } = model.loadStateDict(state, { strict: false });
    expect(unexpected).toEqual([]);
    expect(missing).not.toContain('fc6.weight');
    const pool5 = randn([1, 512, 7, 7]);
    const conv = noGrad(() => model.fc6.call(pool5)).dataSync();
    const dense = noGrad(() => linear6.call(pool5.reshape([1, 512 * 7 * 7]))).dataSync();
    for (let c = 0; c < 8; ++c) expect(conv[c * 49 + 24]).toBeCloseTo(dense[c]!, 4);
    expect(() => models.segmentation.convolutionalizeVgg16(new Map())).toThrow(/convolutionalizeVgg16: expected state to hold classifier.0.weight/);
    expect(() => models.segmentation.convolutionalizeVgg16(new Map([['classifier.0.weight', randn([8, 50])], ['classifier.0.bias', randn([8])]]))).toThrow(ShapeError);
    model.dispose();
  });

  it("start at zero: FCN-8s' score layers are zero, so score_fr and both fused skips put out 0", () => {
    manualSeed(2);
    const model = fcn8sVgg16(small).eval();
    const seen: Record<string, number> = {};
    for (const name of ['score_fr', 'score_pool4', 'score_pool3'] as const) {
      model[name]!.registerForwardHook((_m, _args, out) => {
        seen[name] = out.abs().amax().item();
      });
    }
    const { out } = noGrad(() => model.call(randn([1, 3, 67, 75])));
    expect(seen).toEqual({ score_fr: 0, score_pool4: 0, score_pool3: 0 });
    expect(out.abs().amax().item()).toBe(0);
    model.dispose();
  });

  it('train: one SGD step lowers the pixel cross-entropy', () => {
    manualSeed(3);
    const model = fcn8sVgg16({ ...small, dropout: 0 });
    const x = randn([2, 3, 35, 41]);
    const target = randint(0, 3, [2, 35, 41]);
    const sgd = new optim.SGD(model.parameters(), { lr: 0.5 });
    const loss0 = crossEntropy(model.call(x).out, target);
    loss0.backward();
    expect(model.score_pool3!.weight.grad!.abs().sum().item()).toBeGreaterThan(0);
    sgd.step();
    const loss1 = noGrad(() => crossEntropy(model.call(x).out, target));
    expect(loss1.item()).toBeLessThan(loss0.item());
    model.dispose();
  });

  it('refuse bad options and inputs, naming the model and the argument', () => {
    expect(() => fcn8sVgg16({ numClasses: 0 })).toThrow(/fcn8sVgg16: expected numClasses to be an integer >= 1/);
    expect(() => fcn16sVgg16({ widthDivisor: 3 })).toThrow(/fcn16sVgg16: expected widthDivisor to divide 64/);
    expect(() => fcn32sVgg16({ dropout: 1.5 })).toThrow(ArgumentError);
    expect(() => new FCNVGG16('4s' as '8s')).toThrow(/FCNVGG16: expected variant '32s', '16s' or '8s', got 4s/);
    const model = fcn8sVgg16(small);
    expect(() => model.call(randn([1, 3, 31, 64]))).toThrow(ShapeError);
    expect(() => model.call(randn([1, 3, 31, 64]))).toThrow(/fcn8sVgg16: expected input height and width of at least 32/);
    expect(() => model.call(randn([3, 64, 64]))).toThrow(/fcn8sVgg16: expected input \[N, C, H, W\]/);
    model.dispose();
  });
});
