// The benchmark cases of bench/ops.ts and bench/train.ts, and the command-line selection
// (`npm run bench -- conv2d add resnet18Cifar` runs only those; bench/detection.ts's rows,
// from bench/detection_cases.ts, and bench/segmentation.ts's, from
// bench/segmentation_cases.ts, are selected the same way). The same objects are sent to
// the PyTorch peers, which build their side of each case from them.
import { detectionCases, detectionGroup, type DetectionCase } from './detection_cases.js';
import { inferenceCases, inferenceGroup, type InferenceCase } from './inference_cases.js';
import { segmentationCases, segmentationGroup, type SegmentationCase } from './segmentation_cases.js';

/**
 * An op benchmark: one call of `op` on inputs of `shape`, timed `repeats` times per round.
 * `op` names a builder of bench/op_builders.ts and a workload of bench/torch_ops.py; for the
 * cases added per op it is the name lib/ops exports (see {@link timedOp}).
 */
export interface OpCase {
  op: string;
  shape: number[];
  repeats: number;
  /** PyTorch runs this case in NCHW and in channels_last and reports the faster. */
  memoryFormats: boolean;
}

/**
 * A model benchmark of bench/train.ts: `repeats` steps per round of `model` on a batch of
 * `shape` images. A 'train' step is one SGD step (forward, cross entropy, backward, update);
 * an 'eval' step one forward pass in eval mode without the autograd graph (PyTorch under
 * inference_mode).
 */
export interface TrainCase {
  model: 'lenet5' | 'simpleCnn' | 'resnet18Cifar' | 'unet' | 'resnet50' | 'efficientnetB0';
  mode: 'train' | 'eval';
  batch: number;
  shape: [number, number, number];
  repeats: number;
  /** Steps before timing (first-call primitive creation, allocator warm-up). */
  warmup: number;
  memoryFormats: true;
}

export const opCases: OpCase[] = [
  { op: 'matmul', shape: [256, 256, 256], repeats: 30, memoryFormats: false },
  { op: 'matmul', shape: [1024, 1024, 1024], repeats: 8, memoryFormats: false },
  { op: 'matmul', shape: [2048, 2048, 2048], repeats: 4, memoryFormats: false },
  { op: 'add', shape: [1 << 20], repeats: 30, memoryFormats: false },
  { op: 'add', shape: [16, 64, 112, 112], repeats: 8, memoryFormats: false },
  { op: 'randn', shape: [1 << 22], repeats: 8, memoryFormats: false },
  { op: 'contiguous', shape: [16, 64, 56, 56], repeats: 8, memoryFormats: false },
  // [N, C, H, W, outC, k]: 3x3 pad 1, as in ResNet stages
  { op: 'conv2d', shape: [32, 64, 56, 56, 64, 3], repeats: 6, memoryFormats: true },
  // the same on bfloat16 operands (what CPU autocast runs)
  { op: 'conv2d_bf16', shape: [32, 64, 56, 56, 64, 3], repeats: 6, memoryFormats: true },
  { op: 'conv2d_train', shape: [32, 64, 56, 56, 64, 3], repeats: 3, memoryFormats: true },
  { op: 'depthwise', shape: [32, 128, 56, 56], repeats: 6, memoryFormats: true },
  // [N, C, H, W, outC]: 2x2 stride 2
  { op: 'conv_transpose', shape: [8, 64, 64, 64, 32], repeats: 6, memoryFormats: true },
  { op: 'maxpool', shape: [32, 64, 112, 112], repeats: 6, memoryFormats: true },
  { op: 'batchnorm_train', shape: [32, 64, 56, 56], repeats: 6, memoryFormats: true },
  { op: 'nms', shape: [1000], repeats: 20, memoryFormats: false },
  { op: 'nms', shape: [10000], repeats: 4, memoryFormats: false },

  // One case per op of lib/ops/index.ts (tests/bench/coverage.test.ts), small fixed
  // realistic shapes: a ResNet stage activation [16, 64, 56, 56], classifier logits
  // [256, 1000], a detector's boxes. The call of each is in bench/op_builders.ts.
  ...['abs', 'ceil', 'elu', 'exp', 'floor', 'gelu', 'hardswish', 'leakyRelu', 'log', 'neg', 'reciprocal', 'relu', 'relu6', 'round', 'sigmoid', 'silu', 'sqrt', 'square', 'tanh']
    .map((op) => ({ op, shape: [16, 64, 56, 56], repeats: 8, memoryFormats: false })),
  ...['sub', 'mul', 'div', 'maximum', 'minimum', 'pow', 'eq', 'ne', 'lt', 'le', 'gt', 'ge', 'where', 'cat', 'stack']
    .map((op) => ({ op, shape: [16, 64, 56, 56], repeats: 8, memoryFormats: false })),
  // Over an activation (channels-last in neocog, both layouts for PyTorch).
  ...['sum', 'mean', 'amax', 'amin', 'sumTo', 'variance', 'std', 'clamp', 'avgPool2d', 'adaptiveAvgPool2d', 'adaptiveMaxPool2d', 'groupNorm', 'instanceNorm',
    'dropout', 'dropout2d', 'stochasticDepth', 'interpolate', 'maxUnpool2d', 'flip', 'roll', 'rot90', 'pad', 'pixelShuffle', 'pixelUnshuffle', 'copyTo']
    .map((op) => ({ op, shape: [16, 64, 56, 56], repeats: 8, memoryFormats: true })),
  { op: 'globalAvgPool2d', shape: [32, 512, 7, 7], repeats: 30, memoryFormats: true },
  { op: 'gridSample', shape: [8, 32, 64, 64], repeats: 8, memoryFormats: true },
  { op: 'affineGrid', shape: [8, 32, 64, 64], repeats: 30, memoryFormats: false },
  { op: 'copyInto', shape: [16, 64, 56, 56], repeats: 8, memoryFormats: false },
  { op: 'zerosOn', shape: [16, 64, 56, 56], repeats: 8, memoryFormats: false },
  { op: 'maskedFill', shape: [16, 64, 56, 56], repeats: 8, memoryFormats: false },
  { op: 'oneHot', shape: [8, 128, 128], repeats: 8, memoryFormats: false },
  // Along the classes of logits.
  ...['softmax', 'logSoftmax', 'argmax', 'argmin', 'cumsum', 'cumprod', 'sort', 'argsort', 'topk', 'maxAlong', 'minAlong', 'quantile', 'histc', 'gather', 'scatterAdd',
    // Compaction where x > 0 (about half the elements).
    'nonzero', 'nonzeroAsync', 'maskedSelect', 'maskedSelectAsync', 'booleanMask', 'booleanMaskAsync']
    .map((op) => ({ op, shape: [256, 1000], repeats: 20, memoryFormats: false })),
  { op: 'crossEntropy', shape: [256, 1000], repeats: 20, memoryFormats: false },
  // An embedding-like table [rows, features], 4096 rows picked.
  { op: 'indexSelect', shape: [10000, 256], repeats: 20, memoryFormats: false },
  // [N, in, out]: a ResNet classifier head.
  { op: 'linear', shape: [256, 2048, 1000], repeats: 20, memoryFormats: false },
  // 1-d (audio-like) and 3-d (video / volume) layers.
  { op: 'conv1d', shape: [32, 64, 1024], repeats: 8, memoryFormats: false },
  { op: 'conv3d', shape: [2, 16, 16, 32, 32], repeats: 6, memoryFormats: false },
  { op: 'convTranspose1d', shape: [32, 64, 512], repeats: 8, memoryFormats: false },
  { op: 'convTranspose3d', shape: [2, 32, 8, 16, 16], repeats: 6, memoryFormats: false },
  ...['maxPool1d', 'avgPool1d', 'adaptiveAvgPool1d'].map((op) => ({ op, shape: [32, 64, 1024], repeats: 8, memoryFormats: false })),
  ...['maxPool3d', 'avgPool3d', 'adaptiveAvgPool3d'].map((op) => ({ op, shape: [2, 32, 16, 32, 32], repeats: 8, memoryFormats: false })),
  // [N, tokens, features]: a ViT block's input.
  { op: 'layerNorm', shape: [32, 196, 768], repeats: 8, memoryFormats: false },
  // Boxes: [n] boxes, or [n, m] box pairs; roiAlign [N, C, H, W, rois] on a stride-16 map.
  { op: 'nmsAsync', shape: [1000], repeats: 20, memoryFormats: false },
  { op: 'batchedNms', shape: [10000], repeats: 4, memoryFormats: false },
  { op: 'batchedNmsAsync', shape: [10000], repeats: 4, memoryFormats: false },
  ...['boxIou', 'generalizedBoxIou', 'distanceBoxIou', 'completeBoxIou'].map((op) => ({ op, shape: [1000, 1000], repeats: 20, memoryFormats: false })),
  ...['boxArea', 'boxConvert', 'clipBoxesToImage', 'removeSmallBoxes', 'removeSmallBoxesAsync'].map((op) => ({ op, shape: [100000], repeats: 20, memoryFormats: false })),
  // Detection losses: [N] matched box pairs; focal [anchors, classes] as RetinaNet's.
  ...['generalizedBoxIouLoss', 'distanceBoxIouLoss', 'completeBoxIouLoss'].map((op) => ({ op, shape: [10000], repeats: 20, memoryFormats: false })),
  { op: 'sigmoidFocalLoss', shape: [16384, 80], repeats: 8, memoryFormats: false },
  // [H, W]: an anchor grid.
  { op: 'meshgrid', shape: [200, 300], repeats: 30, memoryFormats: false },
  { op: 'roiAlign', shape: [2, 256, 50, 68, 512], repeats: 8, memoryFormats: true },
  { op: 'roiPool', shape: [2, 256, 50, 68, 512], repeats: 8, memoryFormats: true },
  // R-FCN's position-sensitive maps: 10 classes x 7 x 7 bins = 490 channels.
  { op: 'psRoiAlign', shape: [2, 490, 50, 68, 512], repeats: 8, memoryFormats: true },
  // Soft-NMS has no library peer: PyTorch's side is the paper's loop in torch ops (torch_ops.py).
  ...['softNms', 'softNmsAsync'].map((op) => ({ op, shape: [1000], repeats: 10, memoryFormats: false })),
];

// Steps of tens of milliseconds take 15 repeats a turn: in 5, one slow step (a preemption on
// the 2 shared cores, a collector pause) moved a turn's median by up to a fifth, either side's.
export const trainCases: TrainCase[] = [
  { model: 'lenet5', mode: 'train', batch: 256, shape: [1, 28, 28], repeats: 15, warmup: 2, memoryFormats: true },
  { model: 'simpleCnn', mode: 'train', batch: 64, shape: [3, 32, 32], repeats: 15, warmup: 2, memoryFormats: true },
  // The CIFAR stem keeps 32x32 maps into layer1: ~16x the work of the ImageNet stem on
  // 32x32 inputs, seconds per step on 2 cores, so fewer steps keep `npm run bench` short.
  { model: 'resnet18Cifar', mode: 'train', batch: 64, shape: [3, 32, 32], repeats: 3, warmup: 1, memoryFormats: true },
  { model: 'unet', mode: 'train', batch: 1, shape: [1, 128, 128], repeats: 15, warmup: 2, memoryFormats: true },
  { model: 'unet', mode: 'train', batch: 4, shape: [1, 128, 128], repeats: 9, warmup: 2, memoryFormats: true },
  // The zoo at ImageNet size (issue 17): torchvision's resnet50 and efficientnet_b0 with 1000
  // classes, a training step and an eval forward pass each; seconds per step on 2 cores.
  ...(['resnet50', 'efficientnetB0'] as const).flatMap((model) =>
    (['train', 'eval'] as const).map((mode): TrainCase => ({ model, mode, batch: 16, shape: [3, 224, 224], repeats: 3, warmup: 1, memoryFormats: true })),
  ),
];

/** The lib/ops export each older case (named before cases were named by op) times. */
const timedByOlderCase: Readonly<Record<string, string>> = {
  depthwise: 'conv2d',
  conv2d_bf16: 'conv2d',
  conv2d_train: 'conv2d',
  conv_transpose: 'convTranspose2d',
  maxpool: 'maxPool2d',
  batchnorm_train: 'batchNorm',
  randn: 'randn', // creation, not an op of lib/ops
  contiguous: 'contiguous', // a Tensor method
};

/** The function (of lib/ops, mostly) that case `c` times: its op name, or what an older case name stands for. */
export function timedOp(c: OpCase): string {
  return timedByOlderCase[c.op] ?? c.op;
}

/** FLOPs of one call (multiply-add = 2), where defined: matmul and the convolutions. */
export function flopsOf(c: OpCase): number | null {
  if (c.op === 'matmul') return 2 * c.shape.reduce((x, y) => x * y, 1);
  if (c.op === 'conv2d' || c.op === 'conv2d_bf16' || c.op === 'conv2d_train') {
    const [n, ch, h, w, o, k] = c.shape as [number, number, number, number, number, number];
    const forward = 2 * n * o * h * w * ch * k * k;
    return c.op === 'conv2d_train' ? 3 * forward : forward; // + backward data + backward weights
  }
  if (c.op === 'depthwise') {
    const [n, ch, h, w] = c.shape as [number, number, number, number];
    return 2 * n * ch * h * w * 9;
  }
  if (c.op === 'conv_transpose') {
    const [n, ch, h, w, o] = c.shape as [number, number, number, number, number];
    return 2 * n * ch * h * w * o * 4;
  }
  return null;
}

/** The cases of every bench script, as {@link selectCases} picks them. */
export interface SelectedCases {
  ops: OpCase[];
  train: TrainCase[];
  detection: DetectionCase[];
  segmentation: SegmentationCase[];
  inference: InferenceCase[];
  /** Whether bench/serve.ts runs (named `serve`, or no case named). */
  serve: boolean;
}

/** The command-line name of bench/serve.ts (the serving example under load). */
export const serveGroup = 'serve';

/**
 * The cases named on the command line (op names, model names, detection, segmentation and
 * inference row names, or `detection` / `segmentation` / `inference` for every row of that
 * bench; none = all). Throws on a
 * name that is none of these, listing the known ones, so a typo does not silently bench nothing.
 */
export function selectCases(argv: readonly string[]): SelectedCases {
  const known = new Set<string>([
    ...opCases.map((c) => c.op),
    ...trainCases.map((c) => c.model),
    ...detectionCases.map((c) => c.name),
    detectionGroup,
    ...segmentationCases.map((c) => c.name),
    segmentationGroup,
    ...inferenceCases.map((c) => c.name),
    inferenceGroup,
    serveGroup,
  ]);
  const unknown = argv.filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new Error(`bench: unknown case ${unknown.join(', ')}; known: ${[...known].join(', ')}`);
  }
  if (argv.length === 0) return { ops: opCases, train: trainCases, detection: detectionCases, segmentation: segmentationCases, inference: inferenceCases, serve: true };
  return {
    ops: opCases.filter((c) => argv.includes(c.op)),
    train: trainCases.filter((c) => argv.includes(c.model)),
    detection: detectionCases.filter((c) => argv.includes(detectionGroup) || argv.includes(c.name)),
    segmentation: segmentationCases.filter((c) => argv.includes(segmentationGroup) || argv.includes(c.name)),
    inference: inferenceCases.filter((c) => argv.includes(inferenceGroup) || argv.includes(c.name)),
    serve: argv.includes(serveGroup),
  };
}

/** {@link selectCases} on this process's arguments; a bad name prints the message and exits 2. */
export function casesFromArgv(): SelectedCases {
  try {
    return selectCases(process.argv.slice(2));
  } catch (e) {
    console.error((e as Error).message);
    process.exit(2);
  }
}

/** Rounds of alternation (NEOCOG_BENCH_ROUNDS, default 3). */
export function roundsFromEnv(): number {
  const rounds = Number(process.env.NEOCOG_BENCH_ROUNDS ?? 3);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`bench: NEOCOG_BENCH_ROUNDS must be a positive integer, got ${process.env.NEOCOG_BENCH_ROUNDS}`);
  return rounds;
}
