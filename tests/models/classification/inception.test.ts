// Inception v3's layout against torchvision 0.14 (counts and names printed there); its
// outputs against torchvision's are in zoo_b_interop.test.ts.
import { afterAll, beforeAll, expect, it } from 'vitest';

import { manualSeed, models, nn, noGrad, randn, Tensor } from '../../../lib/index.js';
import { trainStep } from '../../helpers/train_step.js';

// Built once: construction draws 27M weights, which takes seconds on a loaded machine.
let net: models.Inception3;
beforeAll(() => {
  manualSeed(1);
  net = models.inceptionV3();
});
afterAll(() => net.dispose());

it('inceptionV3 matches torchvision: parameter count, state-dict names, initialisation of the auxiliary head', () => {
  // torchvision 0.14: inception_v3(weights=None) (aux_logits=True): parameters, len(state_dict()).
  expect(net.parameterCount()).toBe(27161264);
  expect(net.stateDict().size).toBe(580);
  const shapes = new Map([...net.stateDict()].map(([name, t]) => [name, t.shape]));
  expect(shapes.get('Conv2d_1a_3x3.conv.weight')).toEqual([32, 3, 3, 3]);
  expect(shapes.get('Mixed_5b.branch_pool.conv.weight')).toEqual([32, 192, 1, 1]);
  expect(shapes.get('Mixed_6b.branch7x7_2.conv.weight')).toEqual([128, 128, 1, 7]);
  expect(shapes.get('Mixed_6b.branch7x7dbl_2.conv.weight')).toEqual([128, 128, 7, 1]);
  expect(shapes.get('Mixed_7c.branch3x3dbl_3b.bn.running_mean')).toEqual([384]);
  expect(shapes.get('AuxLogits.conv1.conv.weight')).toEqual([768, 128, 5, 5]);
  expect(shapes.get('fc.weight')).toEqual([1000, 2048]);
  expect([...net.namedChildren()].map(([name]) => name).slice(0, 8)).toEqual(['Conv2d_1a_3x3', 'Conv2d_2a_3x3', 'Conv2d_2b_3x3', 'maxpool1', 'Conv2d_3b_1x1', 'Conv2d_4a_3x3', 'maxpool2', 'Mixed_5b']);
  // The auxiliary head's 5x5 conv is drawn at std 0.01, its Linear at 0.001, as torchvision's stddev attributes.
  expect(net.AuxLogits!.conv1.stddev).toBe(0.01);
  const fcStd = Math.sqrt(Array.from(net.AuxLogits!.fc.weight.dataSync()).reduce((s, v) => s + v * v, 0) / (1000 * 768));
  expect(Math.abs(fcStd - 0.001)).toBeLessThan(0.0001);
});

it('inceptionV3 trains a step with its auxiliary head on 299x299, its smallest input in training (Mixed_6e at 17x17)', () => {
  manualSeed(2);
  const x = randn([2, 3, 299, 299]);
  trainStep(net, x, 1000, 0.4);
  const out = noGrad(() => net.call(x));
  expect(out).not.toBeInstanceOf(Tensor);
  expect((out as models.InceptionOutputs).aux.shape).toEqual([2, 1000]);
  net.eval();
  // Eval takes inputs from 75x75 (torchvision's min_size) and returns the logits alone.
  const logits = noGrad(() => net.call(randn([1, 3, 75, 91])));
  expect(logits).toBeInstanceOf(Tensor);
  expect((logits as Tensor).shape).toEqual([1, 1000]);
});

it('inceptionV3 without the auxiliary head trains on 75x75 and rejects bad options', () => {
  manualSeed(3);
  const plain = models.inceptionV3({ numClasses: 3, auxLogits: false });
  // torchvision 0.14: inception_v3(aux_logits=False) has 23,834,568 (23,834,568 - 997 * 2049 with 3 classes).
  expect(plain.parameterCount()).toBe(23834568 - 997 * 2049);
  expect([...plain.modules()].some((m) => m instanceof models.InceptionAux)).toBe(false);
  trainStep(plain, randn([2, 3, 75, 75]), 3);
  plain.dispose();
  expect(() => models.inceptionV3({ numClasses: 0 })).toThrow(/Inception3: expected numClasses/);
  expect(() => models.inceptionV3({ transformInput: true, inChannels: 4 })).toThrow(/Inception3: transformInput needs 3 input channels/);
  expect(new models.BasicConv2d(8, 16, [1, 7], { padding: [0, 3] }).call(randn([1, 8, 5, 9])).shape).toEqual([1, 16, 5, 9]);
  expect([...new models.BasicConv2d(8, 16, 1).modules()].find((m) => m instanceof nn.BatchNorm2d)).toBeDefined();
});
