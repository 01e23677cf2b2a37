import { expect, it } from 'vitest';

import { nn } from '../../lib/index.js';

it('summary tabulates output shapes, parameters and FLOPs, leaving the mode unchanged', async () => {
  const { models } = await import('../../lib/index.js');
  const net = models.lenet5();
  const text = net.summary([1, 1, 28, 28]);
  expect(text).toContain('0      Conv2d     [1, 6, 28, 28]      156  235,200');
  expect(text).toContain('total parameters: 61,706');
  expect(text).toContain('total FLOPs per forward: 833,040');
  expect(net.training).toBe(true);
  const rows = nn.summarize(models.simpleCnn({ inChannels: 1 }), [2, 1, 28, 28]);
  expect(rows.find((r) => r.type === 'Linear')!.outputShape).toEqual([2, 128]);
});
