// GoogLeNet's layout against torchvision 0.14 (counts and names printed there); its outputs
// against torchvision's are in zoo_b_interop.test.ts.
import { afterAll, beforeAll, expect, it } from 'vitest';

import { manualSeed, models, nn, noGrad, randn, Tensor, tensor } from '../../../lib/index.js';
import { trainStep } from '../../helpers/train_step.js';

// Built once: construction draws 13M weights, which takes seconds on a loaded machine.
let net: models.GoogLeNet;
beforeAll(() => {
  manualSeed(1);
  net = models.googlenet();
});
afterAll(() => net.dispose());

it('googlenet matches torchvision: parameter count, state-dict names, BatchNorm eps', () => {
  // torchvision 0.14: googlenet(weights=None) (aux_logits=True): parameters, len(state_dict()).
  expect(net.parameterCount()).toBe(13004888);
  expect(net.stateDict().size).toBe(364);
  const shapes = new Map([...net.stateDict()].map(([name, t]) => [name, t.shape]));
  expect(shapes.get('conv1.conv.weight')).toEqual([64, 3, 7, 7]);
  expect(shapes.get('inception3a.branch3.1.conv.weight')).toEqual([32, 16, 3, 3]); // torchvision's 3x3, not 5x5
  expect(shapes.get('inception3a.branch4.1.bn.running_var')).toEqual([32]);
  expect(shapes.get('aux1.fc1.weight')).toEqual([1024, 2048]);
  expect(shapes.get('aux2.conv.conv.weight')).toEqual([128, 528, 1, 1]);
  expect(shapes.get('fc.weight')).toEqual([1000, 1024]);
  const bn = [...net.modules()].find((m) => m instanceof nn.BatchNorm2d) as nn.BatchNorm2d;
  expect(bn.options.eps).toBe(0.001);
});

it('googlenet returns {logits, aux2, aux1} in training and the logits in eval; trains a step on 15x15, its smallest input', () => {
  manualSeed(2);
  const out = noGrad(() => net.train().call(randn([2, 3, 15, 15])));
  expect(out).not.toBeInstanceOf(Tensor);
  const { logits, aux1, aux2 } = out as models.GoogLeNetOutputs;
  expect([logits.shape, aux1.shape, aux2.shape]).toEqual([[2, 1000], [2, 1000], [2, 1000]]);
  trainStep(net, randn([2, 3, 15, 15]), 1000);
  net.eval();
  const evalOut = noGrad(() => net.call(randn([1, 3, 33, 47])));
  expect(evalOut).toBeInstanceOf(Tensor);
  expect((evalOut as Tensor).shape).toEqual([1, 1000]);
});

it("without auxiliary heads (6,624,904 parameters, as torchvision's) it returns logits in training; transformInput maps ImageNet-normalised inputs to (x - 0.5) / 0.5", () => {
  manualSeed(3);
  const plain = models.googlenet({ auxLogits: false, numClasses: 10 });
  // torchvision 0.14: googlenet(aux_logits=False) has 6,624,904 (its ImageNet weights' num_params), less 990 * 1025 with 10 classes.
  expect(plain.parameterCount()).toBe(6624904 - 990 * 1025);
  expect(plain.call(randn([2, 3, 15, 15]))).toBeInstanceOf(Tensor);
  plain.eval();
  const transformed = models.googlenet({ auxLogits: false, numClasses: 10, transformInput: true }).eval();
  transformed.loadStateDict(plain.stateDict());
  const x = randn([1, 3, 32, 32]);
  // x * std / 0.5 + (mean - 0.5) / 0.5 per channel, written out.
  const std = [0.229, 0.224, 0.225];
  const mean = [0.485, 0.456, 0.406];
  const mapped = Array.from(x.dataSync()).map((v, i) => {
    const c = Math.floor(i / (32 * 32));
    return v * (std[c]! / 0.5) + (mean[c]! - 0.5) / 0.5;
  });
  const expected = noGrad(() => plain.call(tensor(new Float32Array(mapped)).reshape([1, 3, 32, 32]))) as Tensor;
  const actual = noGrad(() => transformed.call(x)) as Tensor;
  Array.from(actual.dataSync()).forEach((v, i) => expect(Math.abs(v - expected.dataSync()[i]!)).toBeLessThan(1e-4));
  plain.dispose();
  transformed.dispose();
  expect(() => models.googlenet({ transformInput: true, inChannels: 1 })).toThrow(/GoogLeNet: transformInput needs 3 input channels/);
  expect(() => models.googlenet({ dropout: 2 })).toThrow(/GoogLeNet: expected dropout in \[0, 1\], got 2/);
});
