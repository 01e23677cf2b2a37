// Times neocog ops against PyTorch at its best (bench/torch_configs.ts) and default-config
// PyTorch, taking turns case by case (bench/alternate.ts); prints the table with GFLOP/s and
// % of the measured peak, and writes bench/results/ops.json. `npm run bench -- conv2d add`
// runs only the named ops. Figures from a busy machine are noise: see the load warning.
import { availableParallelism } from 'node:os';

import { batchNorm, cat, conv2d, convTranspose2d, manualSeed, maxPool2d, nms, noGrad, ones, rand, randn, scope, synchronize, zeros, type Tensor } from '../lib/index.js';
import { alternate, medianMs, type Contender } from './alternate.js';
import { casesFromArgv, flopsOf, roundsFromEnv, type OpCase } from './cases.js';
import { describeMachine, machineLines } from './machine.js';
import { bestPeer, cell, measurementJson, printTable, saveResults } from './report.js';
import { startTorchPeers } from './torch_configs.js';

/** A neocog case ready to time: the op call, and the inputs it holds. */
interface Built {
  step: () => Tensor;
  inputs: Tensor[];
}

// Activations inside a network are channels-last in neocog (the previous conv wrote them so).
const channelsLast = (shape: number[]) => randn([shape[0]!, ...shape.slice(2), shape[1]!]).permute(0, 3, 1, 2);

function build(c: OpCase): Built {
  manualSeed(0);
  if (c.op === 'matmul') {
    const [m, k, n] = c.shape as [number, number, number];
    const [a, b] = [randn([m, k]), randn([k, n])];
    return { step: () => a.matmul(b), inputs: [a, b] };
  }
  if (c.op === 'add') {
    const [a, b] = [randn(c.shape), randn(c.shape)];
    return { step: () => a.add(b), inputs: [a, b] };
  }
  if (c.op === 'randn') return { step: () => randn(c.shape), inputs: [] };
  if (c.op === 'contiguous') {
    const a = randn(c.shape).permute(0, 2, 3, 1);
    return { step: () => a.contiguous(), inputs: [a] };
  }
  if (c.op === 'depthwise') {
    const x = channelsLast(c.shape);
    const weight = randn([c.shape[1]!, 1, 3, 3]);
    return { step: () => noGrad(() => conv2d(x, weight, null, { padding: 1, groups: c.shape[1]! })), inputs: [x, weight] };
  }
  if (c.op === 'conv_transpose') {
    const x = channelsLast(c.shape.slice(0, 4));
    const weight = randn([c.shape[1]!, c.shape[4]!, 2, 2]);
    return { step: () => noGrad(() => convTranspose2d(x, weight, null, { stride: 2 })), inputs: [x, weight] };
  }
  if (c.op === 'maxpool') {
    const x = channelsLast(c.shape);
    return { step: () => noGrad(() => maxPool2d(x, 3, { stride: 2, padding: 1 })), inputs: [x] };
  }
  if (c.op === 'nms') {
    // Random boxes (corner in [0, 100), size in [1, 41)) and scores, as torch_ops.py makes them.
    const n = c.shape[0]!;
    const corner = rand([n, 2]).mul(100);
    const boxes = cat([corner, corner.add(rand([n, 2]).mul(40).add(1))], 1);
    const scores = rand([n]);
    return { step: () => nms(boxes, scores, 0.5), inputs: [boxes, scores] };
  }
  if (c.op === 'batchnorm_train') {
    const x = channelsLast(c.shape);
    const ch = c.shape[1]!;
    const [mean, variance, weight, bias] = [zeros([ch]), ones([ch]), ones([ch]), zeros([ch])];
    return { step: () => noGrad(() => batchNorm(x, mean, variance, weight, bias, { training: true })), inputs: [x, mean, variance, weight, bias] };
  }
  const [n, ch, h, w, o, k] = c.shape as [number, number, number, number, number, number];
  const x = randn([n, h, w, ch]).permute(0, 3, 1, 2);
  const weight = randn([o, ch, k, k]).mul(0.05);
  if (c.op === 'conv2d') return { step: () => noGrad(() => conv2d(x, weight, null, { padding: 1 })), inputs: [x, weight] };
  if (c.op === 'conv2d_bf16') {
    const [xh, wh] = [x.to('bfloat16'), weight.to('bfloat16')];
    return { step: () => noGrad(() => conv2d(xh, wh, null, { padding: 1 })), inputs: [xh, wh] };
  }
  x.requiresGrad_();
  weight.requiresGrad_();
  const step = () => {
    const y = conv2d(x, weight, null, { padding: 1 });
    y.backward(y.detach());
    x.grad?.dispose();
    x.grad = null;
    const g = weight.grad!;
    weight.grad = null;
    return g;
  };
  return { step, inputs: [x, weight] };
}

/** neocog as a contender: one call per repeat, waiting for the CPU stream each time. */
function neocog(cases: readonly OpCase[]): Contender {
  const built = new Map<number, Built>();
  const call = async (b: Built) => {
    const out = b.step();
    await synchronize();
    out.dispose();
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
