// Segmentation against PyTorch (issue 14, "Speed"), in one run: a U-Net (4 levels, base 16)
// training step (forward, cross entropy, backward, SGD with momentum) at 1 and 4 x 1 x 128 x
// 128, torchvision's deeplabv3_resnet50 eval at 1 x 3 x 512 x 512, and sliding-window
// inference of a U-Net over 1024 x 1024 in 256 x 256 windows at 25% overlap (Gaussian
// blending) against MONAI's algorithm written in torch, and connected-component labelling of a
// 2048 x 2048 mask against scipy.ndimage.label (4 and 8 connectivity; target >= 1). Rows and their settings are
// bench/segmentation_cases.ts; neocog's side is bench/segmentation_workloads.ts, PyTorch's
// bench/segmentation_torch.py. Both sides run the same weights on the same inputs (neocog
// writes them for the peers), and the "outputs" column says whether every peer's output
// matched neocog's (bench/output_check.ts). Contenders take turns row by row
// (bench/alternate.ts); the table gives median ms and best peer / neocog against the issue's
// target (>= 1.2, or 1 against SciPy), and bench/results/segmentation.json keeps every round.
// `npm run bench -- segmentation` runs these rows only; `npx tsx bench/segmentation.ts unetTrain` one row name.
import { alternate, medianMs, warmUp, type Contender } from './alternate.js';
import { casesFromArgv, roundsFromEnv } from './cases.js';
import { describeMachine, machineLines } from './machine.js';
import { bestPeer, cell, measurementJson, outputsCell, printTable, saveResults } from './report.js';
import { segmentationLabel, type SegmentationCase } from './segmentation_cases.js';
import { neocogWorkload, type SegmentationWorkload } from './segmentation_workloads.js';
import { startTorchPeers } from './torch_configs.js';

/** neocog as a contender. It must prepare each row first: that writes the row's sharedFile, which the peers read. */
function neocog(cases: readonly SegmentationCase[]): Contender {
  const prepared = new Map<number, SegmentationWorkload>();
  return {
    name: 'neocog',
    async prepare(i) {
      const c = cases[i]!;
      const w = await neocogWorkload(c);
      prepared.set(i, w);
      await warmUp(w.step, c.warmup);
      return { formats: ['channels_last'], params: w.params, check: w.check };
    },
    async run(i) {
      return { channels_last: await medianMs(prepared.get(i)!.step, cases[i]!.repeats) };
    },
    async release(i) {
      prepared.get(i)?.dispose();
      prepared.delete(i);
    },
  };
}

const { segmentation: cases } = casesFromArgv();
if (cases.length === 0) process.exit(0);
const rounds = roundsFromEnv();
const machine = describeMachine();
for (const line of machineLines(machine)) console.log(line);
// The 2.x peer runs the U-Net rows; torchvision does not load next to it, so its DeepLabV3 row says n/a.
const torch = await startTorchPeers('segmentation', cases, machine.cores);
for (const line of torch.notes) console.log(line);
const contenders = [neocog(cases), ...torch.contenders];
console.log(`segmentation: ${cases.length} rows, ${rounds} rounds of turns (${contenders.map((c) => c.name).join(', ')})`);

const rows: Record<string, string | number>[] = [];
const saved: unknown[] = [];
await alternate(cases.length, contenders, rounds, (i, results) => {
  const c = cases[i]!;
  const ours = results[0]!.best;
  const peer = bestPeer(contenders, results);
  const row: Record<string, string | number> = { row: segmentationLabel(c) };
  for (const [k, contender] of contenders.entries()) row[`${contender.name} ms`] = cell(results[k]!);
  const ratio = ours && peer ? peer.ms / ours.ms : null;
  row['best peer / neocog'] = ratio === null ? 'n/a' : +ratio.toFixed(2);
  row.target = `>= ${c.target}`;
  row.met = ratio === null ? 'n/a' : ratio >= c.target ? 'yes' : 'no';
  row.outputs = outputsCell(contenders, results);
  row['neocog params'] = results[0]!.params ?? 'n/a';
  row['torch params'] = results.slice(1).find((r) => r.params !== null)?.params ?? 'n/a';
  rows.push(row);
  console.log(
    `  ${segmentationLabel(c)}: ${contenders.map((k, j) => `${k.name} ${cell(results[j]!)}${results[j]!.error ? ` (${results[j]!.error})` : ''}`).join(', ')}; outputs ${row.outputs}`,
  );
  saved.push({ row: c, bestPeer: peer, outputs: row.outputs, results: contenders.map((k, j) => ({ ...measurementJson(k, results[j]!), check: results[j]!.check ?? null })) });
});
torch.close();

console.log(`\nms per call, median over ${rounds} rounds of per-round medians; "cl" = channels_last won over NCHW; best peer / neocog > 1: neocog is faster`);
for (const line of machineLines(machine)) console.log(line);
printTable(rows);
console.log(`wrote ${saveResults('segmentation', { machine, rounds, configs: [{ name: 'neocog' }, ...torch.configs], cases: saved })}`);
process.exit(0);
