// Times neocog ops and the same ops in PyTorch (bench/torch_ops.py) in one run, prints
// ratios and writes bench/results/ops.json. Compare ratios, not absolute times: they vary
// ±30% between runs on these machines.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';

import { batchNorm, cat, conv2d, convTranspose2d, manualSeed, maxPool2d, nms, noGrad, ones, rand, randn, synchronize, zeros, type Tensor } from '../lib/index.js';

interface Case {
  op: 'matmul' | 'add' | 'randn' | 'contiguous' | 'conv2d' | 'conv2d_bf16' | 'conv2d_train' | 'depthwise' | 'conv_transpose' | 'maxpool' | 'batchnorm_train' | 'nms';
  shape: number[];
  repeats: number;
}

const allCases: Case[] = [
  { op: 'matmul', shape: [256, 256, 256], repeats: 50 },
  { op: 'matmul', shape: [1024, 1024, 1024], repeats: 10 },
  { op: 'matmul', shape: [2048, 2048, 2048], repeats: 5 },
  { op: 'add', shape: [1 << 20], repeats: 50 },
  { op: 'add', shape: [16, 64, 112, 112], repeats: 10 },
  { op: 'randn', shape: [1 << 22], repeats: 10 },
  { op: 'contiguous', shape: [16, 64, 56, 56], repeats: 10 },
  // [N, C, H, W, outC, k]: 3x3 pad 1, as in ResNet stages
  { op: 'conv2d', shape: [32, 64, 56, 56, 64, 3], repeats: 10 },
  // the same on bfloat16 operands (what CPU autocast runs)
  { op: 'conv2d_bf16', shape: [32, 64, 56, 56, 64, 3], repeats: 10 },
  { op: 'conv2d_train', shape: [32, 64, 56, 56, 64, 3], repeats: 5 },
  { op: 'depthwise', shape: [32, 128, 56, 56], repeats: 10 },
  { op: 'conv_transpose', shape: [8, 64, 64, 64, 32], repeats: 10 },
  { op: 'maxpool', shape: [32, 64, 112, 112], repeats: 10 },
  { op: 'batchnorm_train', shape: [32, 64, 56, 56], repeats: 10 },
  { op: 'nms', shape: [1000], repeats: 20 },
  { op: 'nms', shape: [10000], repeats: 5 },
];

/** FP32 peak of this machine: 2 cores x 2 AVX-512 FMA units x 16 lanes x 2 flops x clock. */
const PEAK_GFLOPS = 358;

function flopsOf(c: Case): number {
  if (c.op === 'matmul') return 2 * c.shape.reduce((x, y) => x * y, 1);
  if (c.op === 'conv2d' || c.op === 'conv2d_bf16' || c.op === 'conv2d_train') {
    const [n, ch, h, w, o, k] = c.shape as [number, number, number, number, number, number];
    const forward = 2 * n * o * h * w * ch * k * k;
    return c.op === 'conv2d_train' ? 3 * forward : forward; // backward data + backward weights
  }
  return 0;
}

async function medianMs(fn: () => Tensor, repeats: number): Promise<number> {
  fn().dispose();
  await synchronize();
  const times: number[] = [];
  for (let i = 0; i < repeats; ++i) {
    const start = performance.now();
    const out = fn();
    await synchronize();
    times.push(performance.now() - start);
    out.dispose();
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

async function ours(c: Case): Promise<number> {
  manualSeed(0);
  if (c.op === 'matmul') {
    const [m, k, n] = c.shape as [number, number, number];
    const a = randn([m, k]);
    const b = randn([k, n]);
    return medianMs(() => a.matmul(b), c.repeats);
  }
  if (c.op === 'add') {
    const a = randn(c.shape);
    const b = randn(c.shape);
    return medianMs(() => a.add(b), c.repeats);
  }
  if (c.op === 'randn') return medianMs(() => randn(c.shape), c.repeats);
  const channelsLast = (shape: number[]) => randn([shape[0]!, ...shape.slice(2), shape[1]!]).permute(0, 3, 1, 2);
  if (c.op === 'depthwise') {
    const x = channelsLast(c.shape);
    const weight = randn([c.shape[1]!, 1, 3, 3]);
    return medianMs(() => noGrad(() => conv2d(x, weight, null, { padding: 1, groups: c.shape[1]! })), c.repeats);
  }
  if (c.op === 'conv_transpose') {
    const x = channelsLast(c.shape.slice(0, 4));
    const weight = randn([c.shape[1]!, c.shape[4]!, 2, 2]);
    return medianMs(() => noGrad(() => convTranspose2d(x, weight, null, { stride: 2 })), c.repeats);
  }
  if (c.op === 'maxpool') {
    const x = channelsLast(c.shape);
    return medianMs(() => noGrad(() => maxPool2d(x, 3, { stride: 2, padding: 1 })), c.repeats);
  }
  if (c.op === 'nms') {
    // Random boxes (corner in [0, 100), size in [1, 41)) and scores, as torch_ops.py makes them.
    const n = c.shape[0]!;
    const corner = rand([n, 2]).mul(100);
    const boxes = cat([corner, corner.add(rand([n, 2]).mul(40).add(1))], 1);
    const scores = rand([n]);
    return medianMs(() => nms(boxes, scores, 0.5), c.repeats);
  }
  if (c.op === 'batchnorm_train') {
    const x = channelsLast(c.shape);
    const mean = zeros([c.shape[1]!]);
    const variance = ones([c.shape[1]!]);
    const weight = ones([c.shape[1]!]);
    const bias = zeros([c.shape[1]!]);
    return medianMs(() => noGrad(() => batchNorm(x, mean, variance, weight, bias, { training: true })), c.repeats);
  }
  if (c.op === 'conv2d' || c.op === 'conv2d_bf16' || c.op === 'conv2d_train') {
    const [n, ch, h, w, o, k] = c.shape as [number, number, number, number, number, number];
    // Activations inside a network are channels-last (the previous conv wrote them so).
    const x = randn([n, h, w, ch]).permute(0, 3, 1, 2);
    const weight = randn([o, ch, k, k]).mul(0.05);
    if (c.op === 'conv2d') return medianMs(() => noGrad(() => conv2d(x, weight, null, { padding: 1 })), c.repeats);
    if (c.op === 'conv2d_bf16') {
      const [xh, wh] = [x.to('bfloat16'), weight.to('bfloat16')];
      return medianMs(() => noGrad(() => conv2d(xh, wh, null, { padding: 1 })), c.repeats);
    }
    x.requiresGrad_();
    weight.requiresGrad_();
    return medianMs(() => {
      const y = conv2d(x, weight, null, { padding: 1 });
      y.backward(y.detach());
      x.grad?.dispose();
      x.grad = null;
      const g = weight.grad!;
      weight.grad = null;
      return g;
    }, c.repeats);
  }
  const a = randn(c.shape).permute(0, 2, 3, 1);
  return medianMs(() => a.contiguous(), c.repeats);
}

// `npm run bench -- nms conv2d` runs only the named ops.
const only = process.argv.slice(2);
const cases = only.length > 0 ? allCases.filter((c) => only.includes(c.op)) : allCases;

const torch = JSON.parse(
  execFileSync('/usr/bin/python3', ['bench/torch_ops.py'], { input: JSON.stringify(cases), encoding: 'utf8' }),
) as { torch: string; threads: number; ms: number[] };

const rows = [];
for (const [i, c] of cases.entries()) {
  const neocog = await ours(c);
  const reference = torch.ms[i]!;
  const flops = flopsOf(c);
  rows.push({
    op: c.op,
    shape: c.shape.join('x'),
    neocogMs: +neocog.toFixed(3),
    torchMs: +reference.toFixed(3),
    speedup: +(reference / neocog).toFixed(2),
    ...(flops
      ? {
          neocogGflops: +(flops / neocog / 1e6).toFixed(1),
          torchGflops: +(flops / reference / 1e6).toFixed(1),
          neocogPeak: `${((100 * flops) / neocog / 1e6 / PEAK_GFLOPS).toFixed(0)}%`,
        }
      : {}),
  });
}

console.log(`neocog vs PyTorch ${torch.torch} (${torch.threads} threads), ${cpus()[0]?.model ?? 'cpu'}; speedup = torch ms / neocog ms`);
console.log(`assumed FP32 peak: ${PEAK_GFLOPS} GFLOP/s (2 cores x 2 AVX-512 FMA units x 16 lanes x 2 flops x ~2.8 GHz)`);
console.table(rows);
mkdirSync('bench/results', { recursive: true });
writeFileSync(
  'bench/results/ops.json',
  `${JSON.stringify({ date: new Date().toISOString(), torch: torch.torch, cpu: cpus()[0]?.model, rows }, null, 2)}\n`,
);
