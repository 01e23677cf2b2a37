// Training and eval throughput (images/s) of neocog and of PyTorch at its best and by default,
// on the same models, batches and steps, taking turns case by case (bench/alternate.ts):
// a 'train' row times one SGD step (momentum, cross entropy), an 'eval' row one forward pass
// in eval mode without the autograd graph (PyTorch under inference_mode). Prints parameter
// counts side by side (the models must match) and writes bench/results/train.json. Inputs
// are channels-last in neocog, as its convolutions leave activations anyway.
// `npm run bench -- unet` runs only the named models (both modes where a model has both).
import { crossEntropy, manualSeed, noGrad, optim, randint, randn, scope, synchronize } from '../lib/index.js';
import { alternate, medianMs, warmUp, type Contender } from './alternate.js';
import { casesFromArgv, roundsFromEnv, type TrainCase } from './cases.js';
import { describeMachine, machineLines } from './machine.js';
import { bestPeer, cell, measurementJson, printTable, saveResults } from './report.js';
import { startTorchPeers } from './torch_configs.js';
import { benchModel } from './models.js';

/** neocog as a contender: one SGD step (or eval forward pass) per repeat, waiting for the CPU stream each time. */
function neocog(cases: readonly TrainCase[]): Contender {
  const built = new Map<number, { step: () => Promise<void>; dispose: () => void }>();
  return {
    name: 'neocog',
    async prepare(i) {
      const c = cases[i]!;
      manualSeed(0);
      const model = benchModel(c.model);
      const [ch, h, w] = c.shape;
      const x = randn([c.batch, h, w, ch]).permute(0, 3, 1, 2);
      let step: () => Promise<void>;
      let dispose: () => void;
      if (c.mode === 'eval') {
        model.eval();
        step = async () => {
          scope(() => noGrad(() => void model.call(x)));
          await synchronize();
        };
        dispose = () => [model, x].forEach((m) => m.dispose());
      } else {
        const sgd = new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
        // Classification: one label per image; segmentation (the U-Net): one label per pixel.
        const y = c.model === 'unet' ? randint(0, 2, [c.batch, h, w]) : randint(0, 10, [c.batch]);
        step = async () => {
          scope(() => {
            sgd.zeroGrad();
            crossEntropy(model.call(x), y).backward();
            sgd.step();
          });
          await synchronize();
        };
        dispose = () => [model, x, y].forEach((m) => m.dispose());
      }
      built.set(i, { step, dispose });
      await warmUp(step, c.warmup);
      return { formats: ['channels_last'], params: model.parameterCount() };
    },
    async run(i) {
      return { channels_last: await medianMs(built.get(i)!.step, cases[i]!.repeats) };
    },
    async release(i) {
      built.get(i)?.dispose();
      built.delete(i);
    },
  };
}

const { train: cases } = casesFromArgv();
if (cases.length === 0) process.exit(0);
const rounds = roundsFromEnv();
const machine = describeMachine();
for (const line of machineLines(machine)) console.log(line);
const torch = await startTorchPeers('train', cases, machine.cores);
for (const line of torch.notes) console.log(line);
const contenders = [neocog(cases), ...torch.contenders];
console.log(`training and eval: ${cases.length} cases, ${rounds} rounds of turns (${contenders.map((c) => c.name).join(', ')})`);

const rows: Record<string, string | number>[] = [];
const saved: unknown[] = [];
await alternate(cases.length, contenders, rounds, (i, results) => {
  const c = cases[i]!;
  const imagesPerSecond = (ms: number) => (c.batch * 1000) / ms;
  const ours = results[0]!.best;
  const peer = bestPeer(contenders, results);
  const torchParams = results.slice(1).find((r) => r.params !== null)?.params ?? null;
  const row: Record<string, string | number> = {
    model: c.model,
    mode: c.mode,
    batch: c.batch,
    input: c.shape.join('x'),
    'neocog params': results[0]!.params ?? 'n/a',
    'torch params': torchParams ?? 'n/a',
  };
  for (const [k, contender] of contenders.entries()) row[`${contender.name} img/s`] = cell(results[k]!, imagesPerSecond);
  row['neocog / best peer'] = ours && peer ? +(peer.ms / ours.ms).toFixed(2) : 'n/a';
  rows.push(row);
  const mismatch = results[0]!.params !== null && torchParams !== null && results[0]!.params !== torchParams;
  console.log(
    `  ${c.model} ${c.mode} batch ${c.batch}: ${contenders.map((k, j) => `${k.name} ${cell(results[j]!, imagesPerSecond)}${results[j]!.error ? ` (${results[j]!.error})` : ''}`).join(', ')} img/s` +
      (mismatch ? `; warning: parameter counts differ (neocog ${results[0]!.params}, torch ${torchParams})` : ''),
  );
  saved.push({ model: c.model, mode: c.mode, batch: c.batch, shape: c.shape, bestPeer: peer, results: contenders.map((k, j) => measurementJson(k, results[j]!)) });
});
torch.close();

console.log(`\ntraining and eval images/s (batch / median step time over ${rounds} rounds); "cl" = channels_last won over NCHW; neocog / best peer > 1: neocog is faster`);
for (const line of machineLines(machine)) console.log(line);
printTable(rows);
console.log(`wrote ${saveResults('train', { machine, rounds, configs: [{ name: 'neocog' }, ...torch.configs], cases: saved })}`);
process.exit(0);
