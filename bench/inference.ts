// Batch inference against onnxruntime-node and PyTorch (issue 15, "Speed"), in one run:
// torchvision's resnet18 at 16 x 3 x 224 x 224 and mobilenet_v2 at 32 x 3 x 224 x 224 in eval.
// neocog runs an InferenceSession (BatchNorm folded, ReLUs fused, one batch at a time);
// PyTorch 1.13 runs the torchvision model under no_grad (tuned and default configurations,
// NCHW and channels_last: bench/inference_torch.py), and exports it to ONNX for
// onnxruntime-node (bench/ort_peer.ts, all graph optimisations, as many intra-op threads as
// cores). All run the same weights on the same input (neocog writes them first), and the
// "outputs" column says whether every peer's logits matched neocog's. Contenders take turns
// row by row (bench/alternate.ts). The table gives median ms per batch, images/s, and
// onnxruntime / neocog against the issue's target (>= 1.2); bench/results/inference.json keeps
// every round. "event-loop gap" is the longest time between ticks of a 10 ms interval timer
// while neocog's timed batches ran (10 when the loop never waited on them).
// `npm run bench -- inference` runs these rows; `npx tsx bench/inference.ts resnet18` one.
//
// Where the CPU has bfloat16 instructions (AVX512-BF16 or AMX), "neocog bf16" times the same
// session with dtype 'bfloat16' (reported apart: target onnxruntime float32 / neocog bf16
// >= 2), and its top-1 is compared with neocog float32's on a fixed set of 256 inputs. The
// weights are torchvision's random initialisation with BatchNorm affines drawn and statistics
// measured on a random batch (buildModel), so logits are of order 1 rather than ~1e-9
// (mobilenet_v2's random init); random weights still separate classes less than trained ones.
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';

import { infer, io, manualSeed, models, nn, noGrad, randn, synchronize, type Tensor } from '../lib/index.js';
import { alternate, medianMs, warmUp, type Contender } from './alternate.js';
import { casesFromArgv, roundsFromEnv } from './cases.js';
import { inferenceLabel, type InferenceCase } from './inference_cases.js';
import { describeMachine, machineLines } from './machine.js';
import { fingerprint } from './output_check.js';
import { ortDir } from './ort.js';
import { Peer } from './peer.js';
import { bestPeer, cell, measurementJson, outputsCell, printTable, saveResults } from './report.js';
import { channelsLast } from './segmentation_workloads.js';
import { startTorchPeers } from './torch_configs.js';

const zoo = { resnet18: () => models.resnet18(), mobilenet_v2: () => models.mobilenetV2() };

/**
 * The row's model with seeded weights, BatchNorm affines drawn away from the identity, and
 * BatchNorm statistics measured on a random batch (each layer's from its own input, in one
 * eval-mode pass), so activations stay of order 1 as a trained network's do.
 */
function buildModel(c: InferenceCase): nn.Module<[Tensor], Tensor> {
  manualSeed(0);
  const model = zoo[c.model]();
  const batchNorms = [...model.modules()].filter((m): m is nn.BatchNorm2d => m instanceof nn.BatchNorm2d);
  noGrad(() => {
    const removers = batchNorms.map((bn) => {
      nn.init.uniform_(bn.weight!, 0.5, 1.5);
      nn.init.normal_(bn.bias!, 0, 0.1);
      return bn.registerForwardPreHook((_bn, [x]) => {
        const mean = x.mean([0, 2, 3]);
        const variance = x.sub(mean.reshape([1, -1, 1, 1])).square().mean([0, 2, 3]);
        bn.runningMean?.dispose();
        bn.runningVar?.dispose();
        bn.runningMean = mean;
        bn.runningVar = variance;
      });
    });
    model.eval();
    model.call(randn([8, 3, c.size, c.size])).dispose();
    for (const remove of removers) remove();
  });
  return model;
}

/** Whether this CPU runs bfloat16 dot products natively (oneDNN's avx512_core_bf16 / AMX kernels). */
function hasBf16(): boolean {
  try {
    return /\b(avx512_bf16|amx_bf16)\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return false;
  }
}

/**
 * Starts a 10 ms interval timer; the returned function stops it and gives the longest time
 * between two of its ticks (10 ms when the event loop never waits on the session).
 */
function loopGapMonitor(): () => number {
  let last = performance.now();
  let longest = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 10);
  return () => {
    clearInterval(timer);
    return Math.max(longest, performance.now() - last);
  };
}
/** Per row: the longest event-loop gap while neocog float32's timed batches ran. */
const loopGaps = new Map<number, number>();

const AGREEMENT_INPUTS = 256;
/** Per row: the share of the fixed inputs whose top-1 class bfloat16 and float32 agree on. */
const agreement = new Map<number, number>();

/**
 * neocog as a contender (float32, or bfloat16 for "neocog bf16"); the float32 one prepares
 * each row first, writing the weights and input the peers read.
 */
function neocog(cases: readonly InferenceCase[], dtype: 'float32' | 'bfloat16' = 'float32'): Contender {
  const prepared = new Map<number, { step: () => Promise<void>; close: () => Promise<void> }>();
  return {
    name: dtype === 'float32' ? 'neocog' : 'neocog bf16',
    async prepare(i) {
      const c = cases[i]!;
      const model = buildModel(c);
      const input = randn([c.batch, 3, c.size, c.size]);
      if (dtype === 'float32') {
        rmSync(c.onnxFile, { force: true });
        mkdirSync(dirname(c.sharedFile), { recursive: true });
        io.saveSafetensorsSync(c.sharedFile, new Map([...model.stateDict(), ['__input__', input]]));
      }
      const x = channelsLast(input);
      input.dispose();
      // The float32 classes of the agreement set come first: the session rewrites the model's layers.
      const reference = dtype === 'bfloat16' ? await topOneClasses(c, (batch) => Promise.resolve(noGrad(() => model.call(batch)))) : null;
      const session = await infer.InferenceSession.create(model, { example: x, dtype });
      if (reference) {
        const classes = await topOneClasses(c, (batch) => session.run(batch));
        agreement.set(i, classes.filter((k, n) => k === reference[n]).length / AGREEMENT_INPUTS);
      }
      const step = async () => (await session.run(x)).dispose();
      await warmUp(step, c.warmup);
      const out = await session.run(x);
      const check = dtype === 'float32' ? await fingerprint(out) : undefined;
      out.dispose();
      prepared.set(i, {
        step,
        close: async () => {
          await session.close();
          model.dispose();
          x.dispose();
          await synchronize();
        },
      });
      return { formats: ['channels_last'], params: model.parameterCount(), ...(check ? { check } : {}) };
    },
    async run(i) {
      const stop = loopGapMonitor();
      const ms = await medianMs(prepared.get(i)!.step, cases[i]!.repeats);
      if (dtype === 'float32') loopGaps.set(i, Math.max(loopGaps.get(i) ?? 0, stop()));
      else stop();
      return { channels_last: ms };
    },
    async release(i) {
      await prepared.get(i)?.close();
      prepared.delete(i);
    },
  };
}

/** The top-1 classes `forward` gives on AGREEMENT_INPUTS seeded inputs (the same ones each call). */
async function topOneClasses(c: InferenceCase, forward: (batch: Tensor) => Promise<Tensor>): Promise<number[]> {
  manualSeed(1);
  const classes: number[] = [];
  for (let start = 0; start < AGREEMENT_INPUTS; start += c.batch) {
    const batch = channelsLast(randn([Math.min(c.batch, AGREEMENT_INPUTS - start), 3, c.size, c.size]));
    const logits = await forward(batch);
    const top = logits.argmax(1);
    classes.push(...(await top.data()));
    for (const t of [batch, logits, top]) t.dispose();
  }
  return classes;
}

const { inference: cases } = casesFromArgv();
if (cases.length === 0) process.exit(0);
const rounds = roundsFromEnv();
const machine = describeMachine();
for (const line of machineLines(machine)) console.log(line);
// torchvision builds the PyTorch side and the ONNX export, and does not load beside the 2.x wheel here.
const torch = await startTorchPeers('inference', cases, machine.cores, { withTorch2: false });
for (const line of torch.notes) console.log(line);
const bf16 = hasBf16();
if (!bf16) console.log('neocog bf16: skipped, this CPU has no AVX512-BF16 or AMX');
// neocog float32 first (it writes what the peers read), then neocog bf16, then the peers.
const contenders = [neocog(cases), ...(bf16 ? [neocog(cases, 'bfloat16')] : []), ...torch.contenders];
const peerIndex = bf16 ? 2 : 1;
let ortPeer: Peer | null = null;
try {
  const started = await Peer.spawn(process.execPath, ['--import', 'tsx', 'bench/ort_peer.ts', String(machine.cores)], process.env, ['nchw'], cases);
  ortPeer = started.peer;
  const peer = started.peer;
  contenders.push({ name: 'onnxruntime', prepare: (i) => peer.prepare(i), run: (i) => peer.run(i), release: (i) => peer.release(i) });
  console.log(`onnxruntime: ${started.info.torch}, ${started.info.threads} intra-op threads, all graph optimisations, from ${ortDir}`);
} catch (e) {
  console.log(`onnxruntime: skipped, ${(e as Error).message.split('\n')[0]}`);
}
console.log(`inference: ${cases.length} rows, ${rounds} rounds of turns (${contenders.map((c) => c.name).join(', ')})`);

const rows: Record<string, string | number>[] = [];
const saved: unknown[] = [];
await alternate(cases.length, contenders, rounds, (i, results) => {
  const c = cases[i]!;
  const ours = results[0]!.best;
  const ort = results[contenders.findIndex((k) => k.name === 'onnxruntime')]?.best ?? null;
  // Peers are compared with neocog float32; neocog bf16 is reported apart.
  const [peerContenders, peerResults] = [[contenders[0]!, ...contenders.slice(peerIndex)], [results[0]!, ...results.slice(peerIndex)]];
  const peer = bestPeer(peerContenders, peerResults);
  const row: Record<string, string | number> = { row: inferenceLabel(c) };
  for (const [k, contender] of contenders.entries()) row[`${contender.name} ms`] = cell(results[k]!);
  row['neocog img/s'] = ours ? +((1000 * c.batch) / ours.ms).toFixed(1) : 'n/a';
  const ratio = ours && ort ? ort.ms / ours.ms : null;
  row['onnxruntime / neocog'] = ratio === null ? 'n/a' : +ratio.toFixed(2);
  row.target = `>= ${c.target}`;
  row.met = ratio === null ? 'n/a' : ratio >= c.target ? 'yes' : 'no';
  row['best peer / neocog'] = ours && peer ? +(peer.ms / ours.ms).toFixed(2) : 'n/a';
  row.outputs = outputsCell(peerContenders, peerResults);
  row['event-loop gap ms'] = loopGaps.has(i) ? +loopGaps.get(i)!.toFixed(1) : 'n/a';
  if (bf16) {
    const half = results[1]!.best;
    const halfRatio = half && ort ? ort.ms / half.ms : null;
    row['bf16 img/s'] = half ? +((1000 * c.batch) / half.ms).toFixed(1) : 'n/a';
    row['onnxruntime / neocog bf16'] = halfRatio === null ? 'n/a' : +halfRatio.toFixed(2);
    row['bf16 met (>= 2)'] = halfRatio === null ? 'n/a' : halfRatio >= 2 ? 'yes' : 'no';
    row['bf16 top-1 agreement'] = agreement.has(i) ? `${(100 * agreement.get(i)!).toFixed(1)}% of ${AGREEMENT_INPUTS}` : 'n/a';
  }
  rows.push(row);
  console.log(
    `  ${inferenceLabel(c)}: ${contenders.map((k, j) => `${k.name} ${cell(results[j]!)}${results[j]!.error ? ` (${results[j]!.error})` : ''}`).join(', ')}; outputs ${row.outputs}`,
  );
  saved.push({ row: c, bestPeer: peer, outputs: row.outputs, bf16Agreement: agreement.get(i) ?? null, loopGapMs: loopGaps.get(i) ?? null, results: contenders.map((k, j) => ({ ...measurementJson(k, results[j]!), check: results[j]!.check ?? null })) });
});
torch.close();
ortPeer?.close();

console.log(`\nms per batch, median over ${rounds} rounds of per-round medians; "cl" = channels_last won over NCHW; ratios > 1: neocog is faster`);
for (const line of machineLines(machine)) console.log(line);
printTable(rows);
console.log(`wrote ${saveResults('inference', { machine, rounds, configs: [{ name: 'neocog' }, ...torch.configs, { name: 'onnxruntime' }], cases: saved })}`);
process.exit(0);
