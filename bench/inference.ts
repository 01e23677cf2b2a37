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
// every round. `npm run bench -- inference` runs these rows; `npx tsx bench/inference.ts resnet18` one.
import { mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';

import { infer, io, manualSeed, models, randn, synchronize } from '../lib/index.js';
import { alternate, medianMs, type Contender } from './alternate.js';
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

/** neocog as a contender; it prepares each row first, writing the weights and input the peers read. */
function neocog(cases: readonly InferenceCase[]): Contender {
  const prepared = new Map<number, { step: () => Promise<void>; close: () => Promise<void> }>();
  return {
    name: 'neocog',
    async prepare(i) {
      const c = cases[i]!;
      manualSeed(0);
      const model = zoo[c.model]();
      const input = randn([c.batch, 3, c.size, c.size]);
      rmSync(c.onnxFile, { force: true });
      mkdirSync(dirname(c.sharedFile), { recursive: true });
      io.saveSafetensorsSync(c.sharedFile, new Map([...model.stateDict(), ['__input__', input]]));
      const x = channelsLast(input);
      input.dispose();
      const session = await infer.InferenceSession.create(model, { example: x });
      const step = async () => (await session.run(x)).dispose();
      for (let k = 0; k < c.warmup; ++k) await step();
      const out = await session.run(x);
      const check = await fingerprint(out);
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
      return { formats: ['channels_last'], params: model.parameterCount(), check };
    },
    async run(i) {
      return { channels_last: await medianMs(prepared.get(i)!.step, cases[i]!.repeats) };
    },
    async release(i) {
      await prepared.get(i)?.close();
      prepared.delete(i);
    },
  };
}

const { inference: cases } = casesFromArgv();
if (cases.length === 0) process.exit(0);
const rounds = roundsFromEnv();
const machine = describeMachine();
for (const line of machineLines(machine)) console.log(line);
// torchvision builds the PyTorch side and the ONNX export, and does not load beside the 2.x wheel here.
const torch = await startTorchPeers('inference', cases, machine.cores, { withTorch2: false });
for (const line of torch.notes) console.log(line);
const contenders = [neocog(cases), ...torch.contenders];
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
  const peer = bestPeer(contenders, results);
  const row: Record<string, string | number> = { row: inferenceLabel(c) };
  for (const [k, contender] of contenders.entries()) row[`${contender.name} ms`] = cell(results[k]!);
  row['neocog img/s'] = ours ? +((1000 * c.batch) / ours.ms).toFixed(1) : 'n/a';
  const ratio = ours && ort ? ort.ms / ours.ms : null;
  row['onnxruntime / neocog'] = ratio === null ? 'n/a' : +ratio.toFixed(2);
  row.target = `>= ${c.target}`;
  row.met = ratio === null ? 'n/a' : ratio >= c.target ? 'yes' : 'no';
  row['best peer / neocog'] = ours && peer ? +(peer.ms / ours.ms).toFixed(2) : 'n/a';
  row.outputs = outputsCell(contenders, results);
  rows.push(row);
  console.log(
    `  ${inferenceLabel(c)}: ${contenders.map((k, j) => `${k.name} ${cell(results[j]!)}${results[j]!.error ? ` (${results[j]!.error})` : ''}`).join(', ')}; outputs ${row.outputs}`,
  );
  saved.push({ row: c, bestPeer: peer, outputs: row.outputs, results: contenders.map((k, j) => ({ ...measurementJson(k, results[j]!), check: results[j]!.check ?? null })) });
});
torch.close();
ortPeer?.close();

console.log(`\nms per batch, median over ${rounds} rounds of per-round medians; "cl" = channels_last won over NCHW; ratios > 1: neocog is faster`);
for (const line of machineLines(machine)) console.log(line);
printTable(rows);
console.log(`wrote ${saveResults('inference', { machine, rounds, configs: [{ name: 'neocog' }, ...torch.configs, { name: 'onnxruntime' }], cases: saved })}`);
process.exit(0);
