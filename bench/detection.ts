// Detection against torchvision (issue 13, "Speed"), in one run: nms on 10k boxes,
// batchedNms with 80 classes, roiAlign forward + backward, the detectors' eval on an
// 800 x 800 image and one SGD training step on two 512 x 512 images. Rows and their
// settings are bench/detection_cases.ts; torchvision's side is bench/detection_torch.py.
// Contenders take turns row by row (bench/alternate.ts); the table gives median ms and
// best peer / neocog against the issue's target (>= 3 on nms, >= 1 elsewhere), and
// bench/results/detection.json keeps every round. `npm run bench -- detection` runs these
// rows only; `npx tsx bench/detection.ts fasterrcnnResnet50Fpn` one detector.
import { cat, manualSeed, noGrad, optim, rand, randint, randn, roiAlign, scope, tensor, Tensor } from '../lib/index.js';
import { alternate, medianMs, warmUp, type Contender } from './alternate.js';
import { casesFromArgv, roundsFromEnv } from './cases.js';
import { detectionLabel, type DetectionCase, type DetectionModelCase } from './detection_cases.js';
import { neocogDetectors } from './detection_models.js';
import { describeMachine, machineLines } from './machine.js';
import { build, type StepResult } from './op_builders.js';
import { bestPeer, cell, measurementJson, printTable, saveResults } from './report.js';
import { timedCall } from './timed_call.js';
import { startTorchPeers } from './torch_configs.js';

/** A neocog row ready to time: one step (waits for the CPU stream) and what to free afterwards. */
interface Prepared {
  step: () => Promise<void>;
  dispose: () => void;
  params: number | null;
}

/** Random xyxy boxes: corner in [0, 100), size in [1, 41), as bench/detection_torch.py makes them. */
function randomBoxes(n: number): Tensor {
  return scope(() => {
    const corner = rand([n, 2]).mul(100);
    return cat([corner, corner.add(rand([n, 2]).mul(40).add(1))], 1);
  });
}

/** roiAlign forward and backward (the input's gradient for a fixed upstream gradient), input channels-last as a conv leaves it. */
function roiAlignTrain(shape: number[]): Prepared {
  const [n, ch, h, w, k, size] = shape as [number, number, number, number, number, number];
  const x = randn([n, h, w, ch]).permute(0, 3, 1, 2).requiresGrad_();
  const rois = scope(() => cat([randint(0, n, [k, 1]).to('float32'), randomBoxes(k).mul((16 * Math.min(h, w)) / 141)], 1));
  const grad = randn([k, ch, size, size]);
  const step = () =>
    timedCall(() => {
      roiAlign(x, rois, size, { spatialScale: 1 / 16, samplingRatio: 2, aligned: true }).backward(grad);
      const g = x.grad;
      x.grad = null;
      return g;
    });
  return { step, dispose: () => [x, rois, grad].forEach((t) => t.dispose()), params: null };
}

/** A detector row: eval detections, or one SGD step on the row's targets. */
function detector(c: DetectionModelCase): Prepared {
  const factory = neocogDetectors[c.name];
  if (factory === null) throw new Error(`not available: ${c.name} is not in this checkout (bench/detection_models.ts)`);
  manualSeed(0);
  const model = factory(c.settings);
  const params = [...model.parameters()];
  const paramCount = model.parameterCount();
  const images = Array.from({ length: c.batch }, () => rand([3, c.size, c.size]));
  const release = () => [model, ...images].forEach((m) => m.dispose());
  if (c.mode === 'eval') {
    model.eval();
    return { step: () => timedCall(() => noGrad(() => model.detect(images))), dispose: release, params: paramCount };
  }
  model.train();
  const targets = c.targets.map((t) => ({ boxes: tensor(t.boxes, { dtype: 'float32' }), labels: tensor(t.labels, { dtype: 'int32' }) }));
  // The learning rate of bench/detection_torch.py: small, so every round does the same work.
  const sgd = new optim.SGD(params.filter((p) => p.requiresGrad), { lr: 1e-4, momentum: 0.9 });
  const step = () =>
    timedCall(() => {
      sgd.zeroGrad();
      Object.values(model.losses(images, targets)).reduce((a, b) => a.add(b)).backward();
      sgd.step();
    });
  return { step, dispose: () => [release(), ...targets.flatMap((t) => [t.boxes.dispose(), t.labels.dispose()])], params: paramCount };
}

function prepareNeocog(c: DetectionCase): Prepared {
  if (c.kind === 'model') return detector(c);
  if (c.name === 'roiAlignTrain') return roiAlignTrain(c.shape);
  // nms and batchedNms: bench/ops.ts's builders of the same names.
  const built = scope(() => build({ op: c.name, shape: c.shape, repeats: c.repeats, memoryFormats: false }));
  return {
    step: () => timedCall(() => built.step() as StepResult),
    dispose: () => built.inputs.forEach((t) => t.dispose()),
    params: null,
  };
}

/** neocog as a contender: activations channels-last, as its convolutions leave them. */
function neocog(cases: readonly DetectionCase[]): Contender {
  const prepared = new Map<number, Prepared>();
  const layout = (c: DetectionCase) => (c.memoryFormats ? 'channels_last' : 'nchw');
  return {
    name: 'neocog',
    async prepare(i) {
      const c = cases[i]!;
      const p = prepareNeocog(c);
      prepared.set(i, p);
      await warmUp(p.step, c.warmup);
      return { formats: [layout(c)], params: p.params };
    },
    async run(i) {
      return { [layout(cases[i]!)]: await medianMs(prepared.get(i)!.step, cases[i]!.repeats) };
    },
    async release(i) {
      prepared.get(i)?.dispose();
      prepared.delete(i);
    },
  };
}

/** The issue's target ratio (best peer / neocog) for a row. */
const targetOf = (c: DetectionCase) => (c.kind === 'op' && c.name === 'nms' ? 3 : 1);

const { detection: cases } = casesFromArgv();
if (cases.length === 0) process.exit(0);
const rounds = roundsFromEnv();
const machine = describeMachine();
for (const line of machineLines(machine)) console.log(line);
const torch = await startTorchPeers('detection', cases, machine.cores, { withTorch2: false });
for (const line of torch.notes) console.log(line);
const contenders = [neocog(cases), ...torch.contenders];
console.log(`detection: ${cases.length} rows, ${rounds} rounds of turns (${contenders.map((c) => c.name).join(', ')})`);

const rows: Record<string, string | number>[] = [];
const saved: unknown[] = [];
await alternate(cases.length, contenders, rounds, (i, results) => {
  const c = cases[i]!;
  const ours = results[0]!.best;
  const peer = bestPeer(contenders, results);
  const missing = results[0]!.error?.startsWith('not available') === true;
  const row: Record<string, string | number> = { row: detectionLabel(c) };
  for (const [k, contender] of contenders.entries()) row[`${contender.name} ms`] = k === 0 && missing ? 'not available' : cell(results[k]!);
  const ratio = ours && peer ? peer.ms / ours.ms : null;
  row['best peer / neocog'] = ratio === null ? 'n/a' : +ratio.toFixed(2);
  row.target = `>= ${targetOf(c)}`;
  row.met = ratio === null ? 'n/a' : ratio >= targetOf(c) ? 'yes' : 'no';
  if (c.kind === 'model') {
    row['neocog params'] = results[0]!.params ?? 'n/a';
    row['torch params'] = results.slice(1).find((r) => r.params !== null)?.params ?? 'n/a';
  }
  rows.push(row);
  console.log(`  ${detectionLabel(c)}: ${contenders.map((k, j) => `${k.name} ${cell(results[j]!)}${results[j]!.error ? ` (${results[j]!.error})` : ''}`).join(', ')}`);
  saved.push({ row: c, bestPeer: peer, results: contenders.map((k, j) => measurementJson(k, results[j]!)) });
});
torch.close();

console.log(`\nms per call (a detector row: per batch), median over ${rounds} rounds of per-round medians; "cl" = channels_last won over NCHW; best peer / neocog > 1: neocog is faster`);
for (const line of machineLines(machine)) console.log(line);
printTable(rows);
console.log(`wrote ${saveResults('detection', { machine, rounds, configs: [{ name: 'neocog' }, ...torch.configs], cases: saved })}`);
process.exit(0);
