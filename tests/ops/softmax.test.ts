import { it } from 'vitest';

import * as nc from '../../lib/index.js';
import { manualSeed, randn } from '../../lib/index.js';
import { describeDevices } from '../helpers/devices.js';
import { fixtureTests } from '../helpers/fixture_cases.js';
import { softmaxSuite } from '../helpers/fixture_suites.js';
import { gradcheck } from '../helpers/gradcheck.js';

// PyTorch's values: the softmax cases of losses.json (make_fixtures.py, loss_fixtures).
describeDevices('softmax and logSoftmax vs PyTorch', (device) => fixtureTests(device, softmaxSuite.cases, softmaxSuite.calls, { tolerance: softmaxSuite.tolerance }));

it('softmax gradients match finite differences', () => {
  manualSeed(51);
  gradcheck((x) => nc.softmax(x, 0), [randn([4, 2])]);
});
