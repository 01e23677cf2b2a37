// Times neocog ops against PyTorch at its best (bench/torch_configs.ts) and default-config
// PyTorch, taking turns case by case (bench/alternate.ts); prints the table with GFLOP/s and
// % of the measured peak, and writes bench/results/ops.json. `npm run bench -- conv2d add`
// runs only the named ops. Figures from a busy machine are noise: see the load warning.
import { availableParallelism } from 'node:os';

import { scope, synchronize, Tensor } from '../lib/index.js';
import { alternate, medianMs, type Contender } from './alternate.js';
import { casesFromArgv, flopsOf, roundsFromEnv, type OpCase } from './cases.js';
import { describeMachine, machineLines } from './machine.js';
import { build, type Built, type StepResult } from './op_builders.js';
import { bestPeer, cell, measurementJson, printTable, saveResults } from './report.js';
import { startTorchPeers } from './torch_configs.js';

/** neocog as a contender: one call per repeat, waiting for the CPU stream each time. */
function neocog(cases: readonly OpCase[]): Contender {
  const built = new Map<number, Built>();
  const call = async (b: Built) => {
    const out: StepResult = await b.step();
    await synchronize();
    for (const t of out instanceof Tensor ? [out] : out ?? []) t.dispose();
  };
  // neocog keeps 4-d activations channels-last; other inputs are plain contiguous.
  const layout = (c: OpCase) => (c.memoryFormats ? 'channels_last' : 'nchw');
  return {
    name: 'neocog',
    async prepare(i) {
      const b = scope(() => build(cases[i]!));
      built.set(i, b);
      await call(b); // warm-up: primitive creation, first-touch of the output's pages
      return { formats: [layout(cases[i]!)], params: null };
    },
    async run(i) {
      return { [layout(cases[i]!)]: await medianMs(() => call(built.get(i)!), cases[i]!.repeats) };
    },
    async release(i) {
      for (const t of built.get(i)?.inputs ?? []) t.dispose();
      built.delete(i);
    },
  };
}

const { ops: cases } = casesFromArgv();
if (cases.length === 0) process.exit(0);
const rounds = roundsFromEnv();
const machine = describeMachine();
for (const line of machineLines(machine)) console.log(line);
const torch = await startTorchPeers('ops', cases, machine.cores);
for (const line of torch.notes) console.log(line);
const contenders = [neocog(cases), ...torch.contenders];
console.log(`ops: ${cases.length} cases, ${rounds} rounds of turns (${contenders.map((c) => c.name).join(', ')}), ${availableParallelism()} threads each`);

const gflops = (flops: number, ms: number) => flops / ms / 1e6;
const percent = (flops: number, ms: number) => `${((100 * gflops(flops, ms)) / machine.peakGflops).toFixed(0)}%`;
const rows: Record<string, string | number>[] = [];
const saved: unknown[] = [];
await alternate(cases.length, contenders, rounds, (i, results) => {
  const c = cases[i]!;
  const ours = results[0]!.best;
  const peer = bestPeer(contenders, results);
  const flops = flopsOf(c);
  const row: Record<string, string | number> = { op: c.op, shape: c.shape.join('x') };
  for (const [k, contender] of contenders.entries()) row[`${contender.name} ms`] = cell(results[k]!);
  row['best peer / neocog'] = ours && peer ? +(peer.ms / ours.ms).toFixed(2) : 'n/a';
  if (flops !== null) {
    row['neocog GFLOP/s'] = ours ? +gflops(flops, ours.ms).toFixed(0) : 'n/a';
    row['neocog % peak'] = ours ? percent(flops, ours.ms) : 'n/a';
    row['best peer GFLOP/s'] = peer ? +gflops(flops, peer.ms).toFixed(0) : 'n/a';
    row['best peer % peak'] = peer ? percent(flops, peer.ms) : 'n/a';
  }
  rows.push(row);
  console.log(`  ${c.op} ${c.shape.join('x')}: ${contenders.map((k, j) => `${k.name} ${cell(results[j]!)}${results[j]!.error ? ` (${results[j]!.error})` : ''}`).join(', ')}`);
  saved.push({ op: c.op, shape: c.shape, flops, bestPeer: peer, results: contenders.map((k, j) => measurementJson(k, results[j]!)) });
});
torch.close();

console.log(`\nms per call, median over ${rounds} rounds of per-round medians; "cl" = channels_last won over NCHW; best peer / neocog > 1: neocog is faster`);
for (const line of machineLines(machine)) console.log(line);
printTable(rows);
console.log(`wrote ${saveResults('ops', { machine, rounds, configs: [{ name: 'neocog' }, ...torch.configs], cases: saved })}`);
process.exit(0);
