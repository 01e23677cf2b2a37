import { expect, it } from 'vitest';

import { nn, zeros } from '../../lib/index.js';
import { withModelFrozen } from '../../lib/viz/model_state.js';

it('runs in eval mode with frozen parameters, then restores each module mode, requiresGrad and .grad, also on error', () => {
  const model = new nn.Sequential(new nn.Linear(2, 2), new nn.Dropout(0.5), new nn.Linear(2, 1));
  model.at(1).eval(); // a mixed state is restored module by module
  model.requiresGrad_(false, ['2']);
  const first = model.at(0) as nn.Linear;
  first.weight.grad = zeros([2, 2]);
  const grad = first.weight.grad;
  const seen = withModelFrozen(model, () => ({ modes: [...model.modules()].map((m) => m.training), frozen: [...model.parameters()].every((p) => !p.requiresGrad) }));
  expect(seen).toEqual({ modes: [false, false, false, false], frozen: true });
  expect([...model.modules()].map((m) => m.training)).toEqual([true, true, false, true]);
  expect([...model.parameters()].map((p) => p.requiresGrad)).toEqual([true, true, false, false]);
  expect(first.weight.grad).toBe(grad);
  expect(() =>
    withModelFrozen(model, () => {
      first.weight.grad = zeros([2, 2]);
      throw new Error('boom');
    }),
  ).toThrow('boom');
  expect(first.weight.grad).toBe(grad);
  expect(model.training).toBe(true);
});
