// EfficientNet-B0's layout against torchvision 0.14 (counts, names and the stochastic depth
// schedule printed there); its outputs against torchvision's are in zoo_b_interop.test.ts.
import { expect, it } from 'vitest';

import { ArgumentError, manualSeed, models, nn, noGrad, randn } from '../../../lib/index.js';
import { trainStep } from '../../helpers/train_step.js';

it('efficientnetB0 matches torchvision: parameter count, state-dict names, stage widths, stochastic depth schedule', () => {
  manualSeed(1);
  const net = models.efficientnetB0();
  // torchvision 0.14: sum(p.numel() for p in efficientnet_b0().parameters()), len(state_dict()).
  expect(net.parameterCount()).toBe(5288548);
  expect(net.stateDict().size).toBe(360);
  const names = [...net.stateDict().keys()];
  expect(names).toContain('features.0.0.weight');
  expect(names).toContain('features.1.0.block.0.0.weight'); // expansion 1: depthwise first
  expect(names).toContain('features.2.0.block.2.fc1.weight'); // squeeze-and-excitation
  expect(names).toContain('features.8.1.running_var');
  expect(names).toContain('classifier.1.bias');
  const blocks = [...net.modules()].filter((m): m is models.MBConv => m instanceof models.MBConv);
  expect(blocks.map((b) => b.outChannels)).toEqual([16, 24, 24, 40, 40, 80, 80, 80, 112, 112, 112, 192, 192, 192, 192, 320]);
  // sd_prob = 0.2 * block_id / 16, as torchvision prints for each block's stochastic_depth.p.
  expect(blocks.map((b) => b.stochasticDepth.p)).toEqual(Array.from({ length: 16 }, (_, i) => (0.2 * i) / 16));
  // SE squeezes to input_channels // 4 (24 -> 6 in features.3.0, whose input is 24) with SiLU inside.
  const se = [...(blocks[3]!.block.at(2) as nn.SqueezeExcitation).namedParameters()].map(([name, p]) => [name, p.shape]);
  expect(se[0]).toEqual(['fc1.weight', [6, 144, 1, 1]]);
  expect((blocks[3]!.block.at(2) as nn.SqueezeExcitation).activation).toBeInstanceOf(nn.SiLU);
  net.dispose();
  // torchvision 0.14: efficientnet_b0(num_classes=10) has 4,020,358 parameters.
  expect(models.efficientnetB0({ numClasses: 10 }).parameterCount()).toBe(4020358);
});

it('efficientnetB0 trains a step on 32x32 inputs (its features reach 1x1) and is deterministic in eval', () => {
  manualSeed(2);
  const net = models.efficientnetB0({ numClasses: 5 });
  trainStep(net, randn([2, 3, 32, 32]), 5);
  net.eval();
  const x = randn([1, 3, 40, 56]);
  const a = noGrad(() => net.call(x));
  expect(a.shape).toEqual([1, 5]);
  // Dropout and stochastic depth are off in eval: the same input gives the same logits.
  expect(noGrad(() => net.call(x)).tolist()).toEqual(a.tolist());
  net.dispose();
});

it('efficientnetB0 rejects bad options naming the model and the option', () => {
  expect(() => models.efficientnetB0({ numClasses: 0 })).toThrow(/efficientnetB0: expected numClasses/);
  expect(() => models.efficientnetB0({ dropout: 1.5 })).toThrow(/efficientnetB0: expected dropout in \[0, 1\], got 1.5/);
  expect(() => models.efficientnetB0({ stochasticDepthProb: -1 })).toThrow(ArgumentError);
  const cnf = { expandRatio: 6, kernel: 3, stride: 3, inputChannels: 8, outChannels: 8, numLayers: 1 };
  expect(() => new models.MBConv(cnf, 0)).toThrow(/MBConv: expected stride 1 or 2, got 3/);
  expect(() => new models.EfficientNet([])).toThrow(/EfficientNet: expected settings to list at least one stage/);
});
