// neocog's side of bench/segmentation.ts's rows, one builder per row kind (PyTorch's side is
// bench/segmentation_torch.py's KINDS). Each builder makes the row's model and inputs from
// seed 0, writes them to the row's sharedFile for the peers (which build the row after
// neocog), fingerprints its output once and returns the step to time. Inputs are
// channels-last, as neocog's convolutions leave activations anyway.
import { mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';

import { avgPool2d, connectedComponents, crossEntropy, infer, io, manualSeed, models, noGrad, optim, rand, randint, randn, scope, Tensor } from '../lib/index.js';
import { fingerprint, type OutputFingerprint } from './output_check.js';
import type { SegmentationCase, SegmentationKind } from './segmentation_cases.js';
import { timedCall } from './timed_call.js';

/** A row ready to time. */
export interface SegmentationWorkload {
  /** One timed call; resolves when the CPU stream has finished it and its outputs are freed. */
  step: () => Promise<void>;
  dispose: () => void;
  params: number;
  /** The row's output on the shared inputs, computed once before timing. */
  check: OutputFingerprint;
}

type Builder<K extends SegmentationKind> = (c: Extract<SegmentationCase, { kind: K }>) => Promise<SegmentationWorkload>;

/** `[N, C, H, W]` stored channels-last (the same logical tensor); inference.ts's inputs too. */
export function channelsLast(x: Tensor): Tensor {
  return scope(() => x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2));
}

/** Writes the model's state dict and the inputs (`__input__`, ...) where the peers read them. */
function share(c: SegmentationCase, model: { stateDict(): Map<string, Tensor> }, inputs: Record<string, Tensor>): void {
  mkdirSync(dirname(c.sharedFile), { recursive: true });
  io.saveSafetensorsSync(c.sharedFile, new Map([...model.stateDict(), ...Object.entries(inputs)]));
}

const unetTrain: Builder<'unetTrain'> = async (c) => {
  manualSeed(0);
  const model = models.segmentation.unet(c.unet);
  const input = randn([c.batch, c.unet.inChannels, c.size, c.size]);
  const target = randint(0, c.unet.numClasses, [c.batch, c.size, c.size]);
  share(c, model, { __input__: input, __target__: target });
  const x = channelsLast(input);
  input.dispose();
  model.train();
  // Train-mode logits (batch statistics) before any step, as segmentation_torch.py's check.
  const check = await scope(() => fingerprint(noGrad(() => model.call(x))));
  const sgd = new optim.SGD(model.parameters(), { lr: c.lr, momentum: c.momentum });
  const step = () =>
    timedCall(() => {
      sgd.zeroGrad();
      crossEntropy(model.call(x), target).backward();
      sgd.step();
    });
  return { step, check, params: model.parameterCount(), dispose: () => [model, x, target].forEach((m) => m.dispose()) };
};

const deeplabEval: Builder<'deeplabEval'> = async (c) => {
  manualSeed(0);
  const model = models.segmentation.deeplabv3Resnet50({ numClasses: c.numClasses, auxLoss: false });
  const input = rand([c.batch, 3, c.size, c.size]);
  share(c, model, { __input__: input });
  const x = channelsLast(input);
  input.dispose();
  model.eval();
  const forward = () => noGrad(() => model.call(x).out);
  const check = await scope(() => fingerprint(forward()));
  return { step: () => timedCall(forward), check, params: model.parameterCount(), dispose: () => [model, x].forEach((m) => m.dispose()) };
};

const slidingWindow: Builder<'slidingWindow'> = async (c) => {
  manualSeed(0);
  const model = models.segmentation.unet(c.unet);
  const image = randn([1, c.unet.inChannels, c.image, c.image]);
  share(c, model, { __input__: image });
  model.eval();
  const slide = () =>
    infer.slidingWindowInference(image, c.roi, (tiles) => model.call(tiles), { overlap: c.overlap, mode: c.mode, sigmaScale: c.sigmaScale, swBatchSize: c.swBatchSize });
  const output = await slide();
  const check = await fingerprint(output);
  output.dispose();
  return { step: () => timedCall(slide), check, params: model.parameterCount(), dispose: () => [model, image].forEach((m) => m.dispose()) };
};

const connectedComponentsRow: Builder<'connectedComponents'> = async (c) => {
  manualSeed(0);
  // Blobs: noise smoothed by two 9 x 9 box filters (close to a Gaussian of sigma 3.7), cut at 0.
  const mask = scope(() => {
    const noise = randn([1, 1, c.size, c.size]);
    const smooth = avgPool2d(avgPool2d(noise, 9, { stride: 1, padding: 4 }), 9, { stride: 1, padding: 4 });
    return smooth.gt(0).reshape([c.size, c.size]).to('uint8');
  });
  share(c, { stateDict: () => new Map() }, { __input__: mask });
  const label = () => connectedComponents(mask, { connectivity: c.connectivity }).labels;
  const labels = label();
  const check = await fingerprint(labels);
  labels.dispose();
  return { step: () => timedCall(label), check, params: 0, dispose: () => mask.dispose() };
};

/** neocog's builder of each row kind; a new kind in bench/segmentation_cases.ts needs one here. */
const builders: { [K in SegmentationKind]: Builder<K> } = { unetTrain, deeplabEval, slidingWindow, connectedComponents: connectedComponentsRow };

/** Builds row `c` on neocog's side (and writes its sharedFile for the peers). */
export function neocogWorkload(c: SegmentationCase): Promise<SegmentationWorkload> {
  // A build that fails must not leave the peers a stale file from an earlier run.
  rmSync(c.sharedFile, { force: true });
  const build = builders[c.kind] as (row: SegmentationCase) => Promise<SegmentationWorkload>;
  return build(c);
}
