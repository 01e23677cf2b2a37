// Run inside a project that installed the neocog tarball (scripts/clean-install-test.sh):
// two lenet5 training steps, a checkpoint saved and loaded into a fresh model and optimizer,
// the `neocog/infer` subpath, and the CUDA probe's answer. Plain JavaScript against the published entry point.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { crossEntropy, cuda, infer, io, manualSeed, models, noGrad, optim, randint, randn } from 'neocog';
// The subpath TypeScript users import infer's types from (`infer` is a keyword in type positions).
import { Pipeline } from 'neocog/infer';

if (Pipeline !== infer.Pipeline) throw new Error("neocog/infer does not export what neocog's infer does");

manualSeed(0);
const x = randn([16, 1, 28, 28]);
const y = randint(0, 10, [16]);
const model = models.lenet5();
const optimizer = new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
const losses = [];
for (let step = 0; step < 2; step++) {
  optimizer.zeroGrad();
  const loss = crossEntropy(model.call(x), y);
  loss.backward();
  optimizer.step();
  losses.push(loss.item());
}
if (!losses.every(Number.isFinite)) throw new Error(`non-finite loss: ${losses}`);

const file = join(mkdtempSync(join(tmpdir(), 'neocog-smoke-')), 'lenet5.ckpt');
await io.saveCheckpoint(file, { model, optimizer });
const restored = models.lenet5();
const restoredOptimizer = new optim.SGD(restored.parameters(), { lr: 0.05, momentum: 0.9 });
await io.loadCheckpoint(file, { model: restored, optimizer: restoredOptimizer });
// One more identical step on both: equal weights and equal momentum give equal outputs.
for (const [m, o] of [[model, optimizer], [restored, restoredOptimizer]]) {
  o.zeroGrad();
  crossEntropy(m.call(x), y).backward();
  o.step();
}
const [a, b] = noGrad(() => [model.eval().call(x), restored.eval().call(x)]);
const difference = a.sub(b).abs().amax().item();
if (difference !== 0) throw new Error(`the restored model differs by ${difference} after a step`);

const reason = cuda.unavailableReason();
console.log(`smoke: losses ${losses.map((l) => l.toFixed(4)).join(', ')}; checkpoint round trip exact; cuda: ${reason ?? 'available'}`);
if (process.env.EXPECT_CUDA_PLUGIN === '1' && reason !== null && /plugin is not installed|cannot load|incomplete/.test(reason)) {
  throw new Error(`the CUDA plugin from @neocog/linux-x64-cuda13 did not load: ${reason}`);
}
