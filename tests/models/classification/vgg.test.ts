import { expect, it } from 'vitest';

import { models } from '../../../lib/index.js';

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
