import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect, it } from 'vitest';

import { crossEntropy, FormatError, io, manualSeed, models, optim, randint, randn, ShapeError } from '../../lib/index.js';

const dir = mkdtempSync(join(tmpdir(), 'neocog-ckpt-'));

/** One training step of simpleCnn with dropout (so the generator's position matters). */
function step(model: ReturnType<typeof models.simpleCnn>, optimizer: optim.Adam): number {
  const x = randn([8, 1, 28, 28]);
  const y = randint(0, 10, [8]);
  optimizer.zeroGrad();
  const loss = crossEntropy(model.call(x), y);
  loss.backward();
  optimizer.step();
  return loss.item();
}

it('resuming from a checkpoint gives the same next-step loss as uninterrupted training', () => {
  manualSeed(11);
  const model = models.simpleCnn({ inChannels: 1 });
  const optimizer = new optim.Adam(model.parameters(), { lr: 1e-3 });
  for (let i = 0; i < 3; ++i) step(model, optimizer);
  const path = join(dir, 'resume.safetensors');
  io.saveCheckpoint(path, { model, optimizer, extra: { epoch: 3 } });
  const continued = step(model, optimizer);

  manualSeed(999); // a different generator position, restored by the checkpoint
  const fresh = models.simpleCnn({ inChannels: 1 });
  const freshOptimizer = new optim.Adam(fresh.parameters(), { lr: 1e-3 });
  expect(io.loadCheckpoint(path, { model: fresh, optimizer: freshOptimizer })).toEqual({ epoch: 3 });
  expect(step(fresh, freshOptimizer)).toBe(continued);
});

it('a corrupted or mismatched checkpoint is rejected and nothing is loaded', () => {
  manualSeed(12);
  const model = models.lenet5();
  const path = join(dir, 'lenet.safetensors');
  io.saveCheckpoint(path, { model });
  const other = models.lenet5();
  const before = Array.from(other.stateDict().get('0.weight')!.dataSync());
  const corrupt = join(dir, 'corrupt.safetensors');
  writeFileSync(corrupt, Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9]));
  expect(() => io.loadCheckpoint(corrupt, { model: other })).toThrow(FormatError);
  expect(() => io.loadCheckpoint(path, { model: models.simpleCnn() })).toThrow(ShapeError);
  expect(() => io.loadCheckpoint(path, { model: other, optimizer: new optim.SGD(other.parameters(), { lr: 0.1 }) })).toThrow(/no optimizer state/);
  expect(Array.from(other.stateDict().get('0.weight')!.dataSync())).toEqual(before);
});
