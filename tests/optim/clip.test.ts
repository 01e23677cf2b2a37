import { expect, it } from 'vitest';

import { ArgumentError, optim, tensor } from '../../lib/index.js';
import { parameter } from '../../lib/nn/index.js';
import { expectClose } from '../helpers/devices.js';

it('gradient clipping by global norm and by value', () => {
  const a = parameter(tensor([3, 0], { dtype: 'float32' }));
  const b = parameter(tensor([0], { dtype: 'float32' }));
  a.grad = tensor([3, 0], { dtype: 'float32' }) as typeof a.grad;
  b.grad = tensor([4], { dtype: 'float32' }) as typeof b.grad;
  expect(optim.clipGradNorm([a, b], 1)).toBeCloseTo(5);
  expectClose(a.grad!.dataSync(), [0.6, 0], 1e-5);
  expectClose(b.grad!.dataSync(), [0.8], 1e-5);
  a.grad = tensor([3, -7], { dtype: 'float32' }) as typeof a.grad;
  optim.clipGradValue([a], 2);
  expect(a.grad!.tolist()).toEqual([2, -2]);
  expect(() => optim.clipGradNorm([a], 0)).toThrow(ArgumentError);
});
