import { describe, expect, it } from 'vitest';

import { ArgumentError, io, manualSeed, memory, models, nn, noGrad, randn, ShapeError, type Tensor } from '../../../lib/index.js';
import { interopTest, scaledMaxDiff, splitExport } from '../../helpers/interop.js';

const { FeaturePyramidNetwork, LastLevelMaxPool, LastLevelP6P7, ExtraFPNBlock } = models.detection;
const command = '/usr/bin/python3 tests/fixtures/make_detection_interop.py';

// torchvision 0.14's FeaturePyramidNetwork with LastLevelP6P7, seeded random weights and
// biases (tests/fixtures/make_detection_interop.py): P6 from C5 (64 != 24 channels) and
// from P5 (16 == 16).
const cases = [
  { file: 'fpn_p6p7', make: () => new FeaturePyramidNetwork([16, 32, 64], 24, { extraBlocks: new LastLevelP6P7(64, 24) }) },
  { file: 'fpn_p6p7_p5', make: () => new FeaturePyramidNetwork([8, 16], 16, { extraBlocks: new LastLevelP6P7(16, 16) }) },
];

describe('FeaturePyramidNetwork against torchvision', () => {
  for (const { file, make } of cases) {
    interopTest(`${file}.safetensors`, command, `${file}: torchvision's state dict loads strictly and gives its outputs, names and order`, async (path) => {
      const { tensors, metadata } = await io.loadSafetensors(path);
      const { state, inputs, outputs } = splitExport(tensors, metadata);
      const fpn = make().eval();
      expect(fpn.loadStateDict(state)).toEqual({ missing: [], unexpected: [] });
      const out = noGrad(() => fpn.call(inputs));
      expect([...out.keys()]).toEqual([...outputs.keys()]);
      for (const [name, expected] of outputs) expect(scaledMaxDiff(out.get(name)!, expected), name).toBeLessThan(1e-4);

      // A checkpoint from torchvision < 0.13 (blocks saved as bare Conv2d) loads as torchvision loads it.
      const legacy = new Map([...state].map(([k, t]) => [k.replace(/^(inner_blocks|layer_blocks)\.(\d+)\.0\./, '$1.$2.'), t]));
      expect(legacy.has('inner_blocks.0.weight')).toBe(true);
      const old = make().eval();
      old.loadStateDict(legacy);
      const again = noGrad(() => old.call(inputs));
      for (const [name, expected] of outputs) expect(scaledMaxDiff(again.get(name)!, expected), name).toBeLessThan(1e-4);
      fpn.dispose();
      old.dispose();
    });
  }
});

describe('FeaturePyramidNetwork', () => {
  it('has torchvision names, keeps level names and sizes, and appends LastLevelMaxPool\'s pool level', () => {
    manualSeed(1);
    const fpn = new FeaturePyramidNetwork([10, 20, 30], 5, { extraBlocks: new LastLevelMaxPool() });
    expect([...fpn.stateDict().keys()]).toEqual([
      'inner_blocks.0.0.weight', 'inner_blocks.0.0.bias', 'inner_blocks.1.0.weight', 'inner_blocks.1.0.bias', 'inner_blocks.2.0.weight', 'inner_blocks.2.0.bias',
      'layer_blocks.0.0.weight', 'layer_blocks.0.0.bias', 'layer_blocks.1.0.weight', 'layer_blocks.1.0.bias', 'layer_blocks.2.0.weight', 'layer_blocks.2.0.bias',
    ]);
    expect(fpn.innerBlocks.length).toBe(3);
    expect(fpn.layerBlocks.at(0).outChannels).toBe(5);
    expect(fpn.extraBlocks).toBeInstanceOf(LastLevelMaxPool);
    const features = new Map([['feat0', randn([1, 10, 64, 64])], ['feat2', randn([1, 20, 16, 16])], ['feat3', randn([1, 30, 8, 8])]]);
    const out = fpn.call(features);
    expect([...out].map(([name, t]) => [name, t.shape])).toEqual([
      ['feat0', [1, 5, 64, 64]], ['feat2', [1, 5, 16, 16]], ['feat3', [1, 5, 8, 8]], ['pool', [1, 5, 4, 4]],
    ]);
    // The pool level is a stride-2 subsample of the coarsest output (kernel 1).
    const coarsest = Array.from(out.get('feat3')!.dataSync());
    const pooled = Array.from(out.get('pool')!.dataSync());
    expect(pooled[0]).toBe(coarsest[0]);
    expect(pooled[1]).toBe(coarsest[2]);
    expect(pooled[4]).toBe(coarsest[16]);
    // The input map is left as it was.
    expect([...features.keys()]).toEqual(['feat0', 'feat2', 'feat3']);
    fpn.dispose();
  });

  it('initialises its convolutions as torchvision (kaiming uniform a = 1, zero bias), the extra block\'s too', () => {
    manualSeed(2);
    const extra = new LastLevelP6P7(64, 64);
    const fpn = new FeaturePyramidNetwork([64], 64, { extraBlocks: extra });
    const bound = Math.sqrt(3 / (64 * 9)); // gain sqrt(2 / (1 + a^2)) = 1: bound sqrt(3 / fanIn), fan in 64 * 3 * 3
    for (const [name, p] of fpn.namedParameters()) {
      const values = Array.from(p.dataSync());
      if (name.endsWith('bias')) expect(values.every((v) => v === 0), name).toBe(true);
      else if (name.startsWith('layer_blocks') || name.startsWith('extra_blocks')) expect(values.reduce((m, v) => Math.max(m, Math.abs(v)), 0), name).toBeLessThanOrEqual(bound);
    }
    expect(extra.useP5).toBe(true);
    expect(fpn.extraBlocks).toBe(extra);
    fpn.dispose();
  });

  it('passes gradients back to every input level', () => {
    manualSeed(3);
    const fpn = new FeaturePyramidNetwork([4, 8], 6, { extraBlocks: new LastLevelP6P7(8, 6) });
    const c4 = randn([1, 4, 8, 8]).requiresGrad_();
    const c5 = randn([1, 8, 4, 4]).requiresGrad_();
    const out = fpn.call(new Map([['c4', c4], ['c5', c5]]));
    let total: Tensor | null = null;
    for (const t of out.values()) total = total ? total.add(t.sum()) : t.sum();
    total!.backward();
    expect(c4.grad!.shape).toEqual([1, 4, 8, 8]);
    expect(c5.grad!.shape).toEqual([1, 8, 4, 4]);
    expect(fpn.innerBlocks.at(0).at(0) instanceof nn.Conv2d).toBe(true);
    fpn.dispose();
  });

  it('leaves no intermediate tensors behind in inference', () => {
    manualSeed(4);
    const fpn = new FeaturePyramidNetwork([4, 8, 16], 8, { extraBlocks: new LastLevelP6P7(16, 8) });
    const features = new Map([['a', randn([1, 4, 16, 16])], ['b', randn([1, 8, 8, 8])], ['c', randn([1, 16, 4, 4])]]);
    const run = () => noGrad(() => fpn.call(features)).forEach((t) => t.dispose());
    run();
    const before = memory('cpu').tensors;
    run();
    run();
    expect(memory('cpu').tensors).toBe(before);
    fpn.dispose();
  });

  it('refuses bad arguments with typed errors naming the layer and argument', () => {
    expect(() => new FeaturePyramidNetwork([], 8)).toThrow(/FeaturePyramidNetwork: expected inChannelsList to be a non-empty list/);
    expect(() => new FeaturePyramidNetwork([8, 0], 8)).toThrow(/FeaturePyramidNetwork: expected inChannelsList\[1\] to be an integer >= 1, got 0/);
    expect(() => new FeaturePyramidNetwork([8], 2.5)).toThrow(ArgumentError);
    // @ts-expect-error: not an ExtraFPNBlock
    expect(() => new FeaturePyramidNetwork([8], 8, { extraBlocks: new nn.ReLU() })).toThrow(/expected extraBlocks to be an ExtraFPNBlock/);
    expect(() => new LastLevelP6P7(0, 8)).toThrow(/LastLevelP6P7: expected inChannels/);
    const fpn = new FeaturePyramidNetwork([4, 8], 6);
    expect(() => fpn.call(new Map([['a', randn([1, 4, 8, 8])]]))).toThrow(/FeaturePyramidNetwork: expected 2 feature maps \(one per entry of inChannelsList\), got 1 \(a\)/);
    expect(() => fpn.call(new Map([['a', randn([1, 4, 8, 8])], ['b', randn([1, 4, 4, 4])]]))).toThrow(ShapeError);
    expect(() => fpn.call(new Map([['a', randn([1, 4, 8, 8])], ['b', randn([1, 4, 4, 4])]]))).toThrow(/expected feature 'b' of shape \[N, 8, H, W\], got shape \[1, 4, 4, 4\]/);
    expect(() => fpn.call(new Map([['a', randn([4, 8, 8])], ['b', randn([1, 8, 4, 4])]]))).toThrow(ShapeError);
    // @ts-expect-error: a record, not a Map
    expect(() => fpn.call({ a: randn([1, 4, 8, 8]) })).toThrow(/expected features to be a Map/);
    expect(() => new LastLevelMaxPool().call([], [], [])).toThrow(/LastLevelMaxPool: expected at least one feature map/);
    fpn.dispose();
  });

  it('ExtraFPNBlock subclasses are typed extra levels', () => {
    class Doubled extends ExtraFPNBlock {
      forward(results: Tensor[], _features: Tensor[], names: string[]): [Tensor[], string[]] {
        return [[...results, results.at(-1)!.mul(2)], [...names, 'doubled']];
      }
    }
    const fpn = new FeaturePyramidNetwork([3], 4, { extraBlocks: new Doubled() });
    const out = noGrad(() => fpn.call(new Map([['x', randn([1, 3, 4, 4])]])));
    expect([...out.keys()]).toEqual(['x', 'doubled']);
    expect(out.get('doubled')!.sub(out.get('x')!.mul(2)).abs().max().item()).toBe(0);
    fpn.dispose();
  });
});
