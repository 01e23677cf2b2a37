import sharp from 'sharp';
import { expect, it } from 'vitest';

import { ArgumentError, optim, randn, viz } from '../../lib/index.js';

/** The lrs a scheduler gives when stepped by hand: the reference. */
function stepped(scheduler: optim.LRScheduler, steps: number): number[][] {
  const lrs = [scheduler.getLastLr()];
  for (let k = 1; k < steps; ++k) {
    scheduler.step();
    lrs.push(scheduler.getLastLr());
  }
  return lrs;
}

it('charts a factory-built StepLR: halved at steps 10 and 20, as stepping one by hand gives', async () => {
  const { svg, png, lrs } = await viz.lrSchedule((opt) => new optim.StepLR(opt, 10, 0.5), { steps: 30, lr: 0.1 });
  expect(lrs).toHaveLength(30);
  expect(lrs.slice(0, 10).flat()).toEqual(Array(10).fill(0.1));
  expect(lrs.slice(10, 20).flat()).toEqual(Array(10).fill(0.05));
  expect(lrs.slice(20).flat()).toEqual(Array(10).fill(0.025));
  const reference = new optim.StepLR(new optim.SGD([randn([2])], { lr: 0.1 }), 10, 0.5);
  expect(lrs).toEqual(stepped(reference, 30));
  for (const text of ['Learning rate schedule', 'StepLR over 30 steps', 'Step', 'Learning rate']) expect(svg).toContain(text);
  const meta = await sharp(png).metadata();
  expect(meta.format).toBe('png');
  expect((await sharp(png).stats()).channels.some((c) => c.min !== c.max)).toBe(true);
});

it("replays a scheduler instance from step 0 without touching the caller's optimizer or scheduler", async () => {
  const optimizer = new optim.SGD([randn([2])], { lr: 0.3 });
  const scheduler = new optim.OneCycleLR(optimizer, 0.3, 20);
  scheduler.step();
  scheduler.step();
  const lrBefore = optimizer.paramGroups[0]!.options.lr;
  const { lrs } = await viz.lrSchedule(scheduler, { steps: 20 });
  expect(optimizer.paramGroups[0]!.options.lr).toBe(lrBefore);
  expect(scheduler.lastEpoch).toBe(2);
  const fresh = new optim.OneCycleLR(new optim.SGD([randn([2])], { lr: 0.3 }), 0.3, 20);
  expect(lrs).toEqual(stepped(fresh, 20));
  expect(Math.max(...lrs.flat())).toBeCloseTo(0.3, 10);
});

it('charts every parameter group, with a legend', async () => {
  const optimizer = new optim.SGD([{ params: [randn([2])], lr: 0.1 }, { params: [randn([2])], lr: 0.01 }], { lr: 0.1 });
  const { lrs, svg } = await viz.lrSchedule(new optim.MultiStepLR(optimizer, [2], 0.1), { steps: 4 });
  expect(lrs.map((row) => row.map((v) => Number(v.toPrecision(6))))).toEqual([[0.1, 0.01], [0.1, 0.01], [0.01, 0.001], [0.01, 0.001]]);
  expect(svg).toContain('group 1');
});

it('refuses ReduceLROnPlateau, a factory that uses another optimizer, and bad steps', async () => {
  const optimizer = new optim.SGD([randn([2])], { lr: 0.1 });
  await expect(viz.lrSchedule(new optim.ReduceLROnPlateau(optimizer) as unknown as optim.LRScheduler, { steps: 5 })).rejects.toThrow(/ReduceLROnPlateau .* no schedule to chart/);
  await expect(viz.lrSchedule(() => new optim.StepLR(optimizer, 2), { steps: 5 })).rejects.toThrow(/another optimizer/);
  expect(optimizer.paramGroups[0]!.options.lr).toBe(0.1);
  await expect(viz.lrSchedule(() => ({}) as optim.LRScheduler, { steps: 5 })).rejects.toThrow(/return an LRScheduler/);
  await expect(viz.lrSchedule((opt) => new optim.StepLR(opt, 2), { steps: 0 })).rejects.toThrow(ArgumentError);
  await expect(viz.lrSchedule((opt) => new optim.StepLR(opt, 2), { steps: 5, lr: -1 })).rejects.toThrow(/lr >= 0/);
  await expect(viz.lrSchedule(42 as unknown as optim.LRScheduler, { steps: 5 })).rejects.toThrow(/LRScheduler or a function/);
});
