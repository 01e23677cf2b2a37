// ConvNeXt-Tiny's layout against torchvision 0.14 (counts, names and the stochastic depth
// schedule printed there); its outputs against torchvision's are in zoo_b_interop.test.ts.
import { afterAll, beforeAll, expect, it } from 'vitest';

import { ArgumentError, manualSeed, models, nn, noGrad, randn } from '../../../lib/index.js';
import { trainStep } from '../../helpers/train_step.js';

// Built once: construction draws 28M weights, which takes seconds on a loaded machine.
let net: models.ConvNeXt;
beforeAll(() => {
  manualSeed(1);
  net = models.convnextTiny({ numClasses: 10 });
});
afterAll(() => net.dispose());

it('convnextTiny matches torchvision: parameter count, state-dict names, layer scale, stochastic depth schedule', () => {
  // torchvision 0.14: convnext_tiny(num_classes=10) has 27,827,818 parameters (convnext_tiny()
  // 28,589,128: 990 more rows of 768 + 1) and 182 state-dict entries.
  expect(net.parameterCount()).toBe(27827818);
  expect(net.stateDict().size).toBe(182);
  const shapes = new Map([...net.stateDict()].map(([name, t]) => [name, t.shape]));
  expect(shapes.get('features.0.0.weight')).toEqual([96, 3, 4, 4]); // patchify stem, with bias
  expect(shapes.get('features.0.0.bias')).toEqual([96]);
  expect(shapes.get('features.0.1.weight')).toEqual([96]); // LayerNorm2d
  expect(shapes.get('features.1.0.block.0.weight')).toEqual([96, 1, 7, 7]); // depthwise 7x7
  expect(shapes.get('features.1.0.block.2.weight')).toEqual([96]); // LayerNorm over channels
  expect(shapes.get('features.1.0.block.3.weight')).toEqual([384, 96]);
  expect(shapes.get('features.1.0.layer_scale')).toEqual([96, 1, 1]);
  expect(shapes.get('features.6.1.weight')).toEqual([768, 384, 2, 2]); // downsampling
  expect(shapes.get('classifier.2.weight')).toEqual([10, 768]);
  const blocks = [...net.modules()].filter((m): m is models.CNBlock => m instanceof models.CNBlock);
  expect(blocks.map((b) => b.dim)).toEqual([...Array(3).fill(96), ...Array(3).fill(192), ...Array(9).fill(384), ...Array(3).fill(768)]);
  // sd_prob = 0.1 * block_id / 17, as torchvision prints for each block's stochastic_depth.p.
  expect(blocks.map((b) => b.stochasticDepth.p)).toEqual(Array.from({ length: 18 }, (_, i) => (0.1 * i) / 17));
  expect(Array.from(blocks[0]!.layerScale.dataSync()).every((v) => Math.abs(v - 1e-6) < 1e-12)).toBe(true);
  const norms = [...net.modules()].filter((m) => m instanceof nn.LayerNorm);
  expect(norms.every((m) => (m as nn.LayerNorm).options.eps === 1e-6)).toBe(true);
  expect(norms.filter((m) => m instanceof nn.LayerNorm2d)).toHaveLength(5); // stem, three downsamplings, head
});

it('convnextTiny trains a step on 32x32 inputs (its smallest: the features reach 1x1)', () => {
  manualSeed(2);
  trainStep(net, randn([2, 3, 32, 32]), 10);
  net.eval();
  expect(noGrad(() => net.call(randn([1, 3, 64, 96]))).shape).toEqual([1, 10]);
});

it('convnextTiny rejects bad options naming the model and the option', () => {
  expect(() => models.convnextTiny({ numClasses: 1.5 })).toThrow(/convnextTiny: expected numClasses/);
  expect(() => models.convnextTiny({ stochasticDepthProb: 2 })).toThrow(/convnextTiny: expected stochasticDepthProb in \[0, 1\], got 2/);
  expect(() => models.convnextTiny({ layerScale: NaN })).toThrow(/convnextTiny: expected layerScale to be a finite number/);
  expect(() => new models.ConvNeXt([])).toThrow(ArgumentError);
});
