import { expect, it } from 'vitest';

import { models, noGrad, randn } from '../../../lib/index.js';
import { checkTrainingStep } from '../../helpers/training_step.js';

// torchvision 0.14: squeezenet1_0() has 1,248,424 parameters, squeezenet1_1() 1,235,496
// (727,626 with num_classes=10); each state_dict has 52 entries.
it('squeezenet1x0 and squeezenet1x1: torchvision\'s parameter counts and state-dict names', () => {
  const v10 = models.squeezenet1x0();
  expect(v10.parameterCount()).toBe(1_248_424);
  expect(v10.stateDict().size).toBe(52);
  v10.dispose();
  const v11 = models.squeezenet1x1();
  expect(v11.parameterCount()).toBe(1_235_496);
  const names = [...v11.stateDict().keys()];
  expect(names).toHaveLength(52);
  expect(names).toEqual(expect.arrayContaining(['features.0.weight', 'features.3.squeeze.weight', 'features.12.expand3x3.bias', 'classifier.1.weight']));
  expect([...v11.namedChildren()].map(([name]) => name)).toEqual(['features', 'classifier', 'flatten']);
  expect([...(v11.features.at(3) as models.Fire).namedChildren()].map(([name]) => name)).toEqual([
    'squeeze', 'squeeze_activation', 'expand1x1', 'expand1x1_activation', 'expand3x3', 'expand3x3_activation',
  ]);
  v11.dispose();
});

it('a Fire module concatenates its 1×1 and 3×3 expansions on channels', () => {
  const fire = new models.Fire(8, 4, 6, 10);
  expect(fire.call(randn([2, 8, 5, 7])).shape).toEqual([2, 16, 5, 7]);
  fire.dispose();
});

it('squeezenet1x1: a training step on 2×3×64×64 with 10 classes; odd sizes round up in the max pools', async () => {
  const net = models.squeezenet1x1({ numClasses: 10 });
  expect(net.parameterCount()).toBe(727_626);
  await checkTrainingStep(net, [2, 3, 64, 64], 10);
  net.eval();
  // torchvision gives 4×4 at 66×66: the stride-2 conv makes 32, the ceil-mode pools 16, 8, 4 (floor mode: 15, 7, 3).
  expect(noGrad(() => net.features.call(randn([1, 3, 66, 66]))).shape).toEqual([1, 512, 4, 4]);
  net.dispose();
});

it('squeezenet refuses an unknown version and a dropout outside [0, 1]', () => {
  expect(() => new models.SqueezeNet('1_2' as never)).toThrow(/SqueezeNet: expected version '1_0' or '1_1', got/);
  expect(() => models.squeezenet1x1({ dropout: -0.1 })).toThrow(/SqueezeNet: expected dropout in \[0, 1\], got -0.1/);
});
