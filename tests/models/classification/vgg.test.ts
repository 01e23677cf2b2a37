import { expect, it } from 'vitest';

import { models } from '../../../lib/index.js';
import { checkTrainingStep } from '../../helpers/training_step.js';

// Parameter counts printed by torchvision 0.14 for the same architectures.
// The two nets hold 267 M parameters: initialising them takes over a minute on a loaded 2-core machine.
it('VGG parameter counts equal torchvision', { timeout: 240_000 }, () => {
  const v16 = models.vgg16();
  expect(v16.parameterCount()).toBe(138357544);
  v16.dispose();
  const v11 = models.vgg11({ numClasses: 10 });
  expect(v11.parameterCount()).toBe(128807306);
  expect([...v11.stateDict().keys()].slice(0, 2)).toEqual(['features.0.weight', 'features.0.bias']);
  v11.dispose();
});

// torchvision 0.14's make_layers(cfgs[...], batch_norm): parameter count and state_dict length
// of each body. A VGG adds the same classifier to each: 123,642,856 parameters with 1000
// classes (vgg11's 132,863,336 less its body's 9,220,480), so these and vgg11Bn's full count
// below give torchvision's totals: vgg13 133,047,848, vgg19 143,667,240, vgg13_bn 133,053,736,
// vgg16_bn 138,365,992, vgg19_bn 143,678,248. Building those whole nets would cost ~8 s each
// here (the classifier's 120 M random numbers); zoo_interop.test.ts builds each whole and
// matches torchvision's logits (vgg13Bn in CI, the others where make_zoo_interop.py --all ran).
const bodies = [
  ['vgg11', false, 9_220_480, 16],
  ['vgg11', true, 9_225_984, 56],
  ['vgg13', false, 9_404_992, 20],
  ['vgg13', true, 9_410_880, 70],
  ['vgg16', false, 14_714_688, 26],
  ['vgg16', true, 14_723_136, 91],
  ['vgg19', false, 20_024_384, 32],
  ['vgg19', true, 20_035_392, 112],
] as const;

it.each(bodies)('%s body (batchNorm %s): torchvision\'s parameter count and state dict', (config, batchNorm, parameters, entries) => {
  const body = models.vggFeatures(models.VGG_CONFIGS[config], { batchNorm });
  expect(body.parameterCount()).toBe(parameters);
  const names = [...body.stateDict().keys()];
  expect(names).toHaveLength(entries);
  // With batch norm torchvision's layers go conv, BatchNorm2d, ReLU: features.1 is the norm.
  expect(names.includes('1.running_mean')).toBe(batchNorm);
  body.dispose();
});

it('vgg11Bn: torchvision\'s parameter count; a training step on 2×3×32×32', { timeout: 120_000 }, async () => {
  const net = models.vgg11Bn();
  expect(net.parameterCount()).toBe(132_868_840);
  expect(net.stateDict().get('features.1.running_var')!.shape).toEqual([64]);
  // Children in torchvision's order, forward's (flatten is a function there).
  expect([...net.namedChildren()].map(([name]) => name)).toEqual(['features', 'avgpool', 'flatten', 'classifier']);
  await checkTrainingStep(net, [2, 3, 32, 32], 1000);
  net.dispose();
});
