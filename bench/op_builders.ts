// neocog's side of each op case of bench/cases.ts: the inputs, built once, and the call that
// is timed. bench/torch_ops.py builds PyTorch's side of the same case (same shapes, same
// distributions, same options); keep the two in step. Calls with no gradient run under
// noGrad, as PyTorch's under torch.no_grad().
import {
  adaptiveAvgPool1d, adaptiveAvgPool2d, adaptiveAvgPool3d, adaptiveMaxPool2d, affineGrid, amax, amin, arange, argmax, argmin, argsort,
  avgPool1d, avgPool2d, avgPool3d, batchedNms, batchedNmsAsync, batchNorm, booleanMask, booleanMaskAsync, boxArea, boxConvert, boxIou,
  cat, clamp, clipBoxesToImage, completeBoxIou, completeBoxIouLoss, conv1d, conv2d, conv3d, convTranspose1d, convTranspose2d,
  convTranspose3d, crossEntropy, cumprod, cumsum, distanceBoxIou, distanceBoxIouLoss, dropout, dropout2d, stochasticDepth, eq, flip, gather, ge,
  generalizedBoxIou, generalizedBoxIouLoss, globalAvgPool2d, gridSample, groupNorm, gt, histc, indexSelect, instanceNorm, interpolate,
  layerNorm, le, linear, logSoftmax, lt, manualSeed, maskedFill, maskedSelect, maskedSelectAsync, maxAlong, maxPool1d, maxPool2d,
  maxPool3d, maxUnpool2d, mean, meshgrid, minAlong, ne, nms, nmsAsync, noGrad, nonzero, nonzeroAsync, oneHot, ones, pad, pixelShuffle,
  pixelUnshuffle, psRoiAlign, quantile, rand, randint, randn, removeSmallBoxes, removeSmallBoxesAsync, roiAlign, roiPool, roll, rot90, scatterAdd,
  sigmoidFocalLoss, softmax, softNms, softNmsAsync, sort, stack, std, sum, tensor, topk, variance, where, zeros, type SoftNmsResult,
  type Tensor,
} from '../lib/index.js';
import { copyInto, copyTo, zerosOn } from '../lib/ops/copy.js';
import * as elementwise from '../lib/ops/elementwise.js';
import { sumTo } from '../lib/ops/reduce.js';
import * as unary from '../lib/ops/unary.js';
import type { OpCase } from './cases.js';

/** What one timed call gives back: every tensor it made is disposed after the call. */
export type StepResult = Tensor | readonly Tensor[] | void;

/** A neocog case ready to time: the op call, and the inputs it holds. */
export interface Built {
  step: () => StepResult | Promise<StepResult>;
  inputs: Tensor[];
}

// Activations inside a network are channels-last in neocog (the previous conv wrote them so).
const channelsLast = (shape: number[]) =>
  randn([shape[0]!, ...shape.slice(2), shape[1]!]).permute(0, shape.length - 1, ...shape.slice(2).map((_, i) => i + 1));

/** Both tensors soft-NMS returns (the step's results are disposed after each call). */
const softNmsKept = ({ indices, scores }: SoftNmsResult) => [indices, scores];

/** Random xyxy boxes: corner in [0, 100), size in [1, 41), as torch_ops.py makes them. */
const randomBoxes = (n: number) => {
  const corner = rand([n, 2]).mul(100);
  return cat([corner, corner.add(rand([n, 2]).mul(40).add(1))], 1);
};

/** A case on one activation `x` of the case's shape (channels-last where the case says so). */
const onActivation = (fn: (x: Tensor) => StepResult) => (c: OpCase): Built => {
  const x = c.memoryFormats ? channelsLast(c.shape) : randn(c.shape);
  return { step: () => noGrad(() => fn(x)), inputs: [x] };
};

/** A case on two random tensors of the case's shape. */
const onPair = (fn: (a: Tensor, b: Tensor) => StepResult) => (c: OpCase): Built => {
  const [a, b] = [randn(c.shape), randn(c.shape)];
  return { step: () => noGrad(() => fn(a, b)), inputs: [a, b] };
};

/** Unary ops run on rand + 0.5 (in both peers): positive, as log, sqrt and reciprocal need. */
const unaryOps = ['abs', 'ceil', 'elu', 'exp', 'floor', 'gelu', 'hardswish', 'leakyRelu', 'log', 'neg', 'reciprocal', 'relu', 'relu6', 'round', 'sigmoid', 'silu', 'sqrt', 'square', 'tanh'] as const;
const binaryOps = ['add', 'div', 'maximum', 'minimum', 'mul', 'pow', 'sub'] as const;

const builders: Record<string, (c: OpCase) => Built> = {
  matmul: (c) => {
    const [m, k, n] = c.shape as [number, number, number];
    const [a, b] = [randn([m, k]), randn([k, n])];
    return { step: () => a.matmul(b), inputs: [a, b] };
  },
  randn: (c) => ({ step: () => randn(c.shape), inputs: [] }),
  contiguous: (c) => {
    const a = randn(c.shape).permute(0, 2, 3, 1);
    return { step: () => a.contiguous(), inputs: [a] };
  },
  depthwise: (c) => {
    const x = channelsLast(c.shape);
    const weight = randn([c.shape[1]!, 1, 3, 3]);
    return { step: () => noGrad(() => conv2d(x, weight, null, { padding: 1, groups: c.shape[1]! })), inputs: [x, weight] };
  },
  conv_transpose: (c) => {
    const x = channelsLast(c.shape.slice(0, 4));
    const weight = randn([c.shape[1]!, c.shape[4]!, 2, 2]);
    return { step: () => noGrad(() => convTranspose2d(x, weight, null, { stride: 2 })), inputs: [x, weight] };
  },
  maxpool: onActivation((x) => maxPool2d(x, 3, { stride: 2, padding: 1 })),
  nms: (c) => {
    const boxes = randomBoxes(c.shape[0]!);
    const scores = rand([c.shape[0]!]);
    return { step: () => nms(boxes, scores, 0.5), inputs: [boxes, scores] };
  },
  batchnorm_train: (c) => {
    const x = channelsLast(c.shape);
    const ch = c.shape[1]!;
    const [mean, variance, weight, bias] = [zeros([ch]), ones([ch]), ones([ch]), zeros([ch])];
    return { step: () => noGrad(() => batchNorm(x, mean, variance, weight, bias, { training: true })), inputs: [x, mean, variance, weight, bias] };
  },
  conv2d: (c) => convCase(c, false),
  conv2d_bf16: (c) => convCase(c, true),
  conv2d_train: (c) => {
    const { x, weight } = convInputs(c);
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
  },

  // Unary and binary elementwise ops on an activation-sized tensor.
  ...Object.fromEntries(unaryOps.map((name) => [name, (c: OpCase): Built => {
    const x = rand(c.shape).add(0.5);
    const fn = unary[name] as (t: Tensor) => Tensor;
    return { step: () => noGrad(() => fn(x)), inputs: [x] };
  }])),
  ...Object.fromEntries(binaryOps.filter((name) => name !== 'add' && name !== 'pow').map((name) => [name, onPair(elementwise[name] as (a: Tensor, b: Tensor) => Tensor)])),
  add: onPair((a, b) => a.add(b)),
  pow: (c) => {
    const [a, b] = [rand(c.shape).add(0.5), randn(c.shape)];
    return { step: () => noGrad(() => elementwise.pow(a, b)), inputs: [a, b] };
  },
  eq: onPair(eq), ne: onPair(ne), lt: onPair(lt), le: onPair(le), gt: onPair(gt), ge: onPair(ge),
  where: (c) => {
    const [a, b] = [randn(c.shape), randn(c.shape)];
    const condition = a.gt(0);
    return { step: () => noGrad(() => where(condition, a, b)), inputs: [a, b, condition] };
  },

  // Reductions and statistics: over the spatial dims of an activation, or along rows.
  sum: onActivation((x) => sum(x, [2, 3])),
  mean: onActivation((x) => mean(x, [2, 3])),
  amax: onActivation((x) => amax(x, [2, 3])),
  amin: onActivation((x) => amin(x, [2, 3])),
  sumTo: onActivation((x) => sumTo(x, [1, x.shape[1]!, 1, 1])),
  variance: onActivation((x) => variance(x, [0, 2, 3])),
  std: onActivation((x) => std(x, [0, 2, 3])),
  clamp: onActivation((x) => clamp(x, -0.5, 0.5)),
  argmax: onActivation((x) => argmax(x, 1)),
  argmin: onActivation((x) => argmin(x, 1)),
  cumsum: onActivation((x) => cumsum(x, 1)),
  cumprod: onActivation((x) => cumprod(x, 1)),
  sort: onActivation((x) => { const r = sort(x, 1); return [r.values, r.indices]; }),
  argsort: onActivation((x) => argsort(x, 1)),
  topk: onActivation((x) => { const r = topk(x, 5, 1); return [r.values, r.indices]; }),
  maxAlong: onActivation((x) => { const r = maxAlong(x, 1); return [r.values, r.indices]; }),
  minAlong: onActivation((x) => { const r = minAlong(x, 1); return [r.values, r.indices]; }),
  quantile: onActivation((x) => quantile(x, [0.25, 0.5, 0.75], 1)),
  histc: onActivation((x) => histc(x, 100, -3, 3)),

  // Indexing: rows of an embedding-like table, and picks along dim 1.
  indexSelect: (c) => {
    const x = randn(c.shape);
    const index = randint(0, c.shape[0]!, [4096]);
    return { step: () => noGrad(() => indexSelect(x, 0, index)), inputs: [x, index] };
  },
  gather: (c) => {
    const x = randn(c.shape);
    const index = randint(0, c.shape[1]!, c.shape);
    return { step: () => noGrad(() => gather(x, 1, index)), inputs: [x, index] };
  },
  // Compaction where x > 0 (about half the elements; the mask is made once, in both peers).
  ...Object.fromEntries(
    ([
      ['nonzero', (x: Tensor, mask: Tensor) => nonzero(mask)],
      ['nonzeroAsync', (x: Tensor, mask: Tensor) => nonzeroAsync(mask)],
      ['maskedSelect', (x: Tensor, mask: Tensor) => maskedSelect(x, mask)],
      ['maskedSelectAsync', (x: Tensor, mask: Tensor) => maskedSelectAsync(x, mask)],
      ['booleanMask', (x: Tensor, _: Tensor, rows: Tensor) => booleanMask(x, rows)],
      ['booleanMaskAsync', (x: Tensor, _: Tensor, rows: Tensor) => booleanMaskAsync(x, rows)],
    ] as const).map(([name, fn]) => [name, (c: OpCase): Built => {
      const x = randn(c.shape);
      const mask = x.gt(0);
      const rows = mask.slice(1, 0, 1).squeeze(1).contiguous();
      return { step: () => fn(x, mask, rows), inputs: [x, mask, rows] };
    }]),
  ),
  scatterAdd: (c) => {
    const [x, src] = [zeros(c.shape), randn(c.shape)];
    const index = randint(0, c.shape[1]!, c.shape);
    return { step: () => noGrad(() => scatterAdd(x, 1, index, src)), inputs: [x, src, index] };
  },

  // Layers: [N, in] x [out, in] fc; 1-d / 3-d convolutions and transposed convolutions.
  linear: (c) => {
    const [n, k, m] = c.shape as [number, number, number];
    const [x, weight, bias] = [randn([n, k]), randn([m, k]).mul(0.02), randn([m])];
    return { step: () => noGrad(() => linear(x, weight, bias)), inputs: [x, weight, bias] };
  },
  conv1d: (c) => {
    const x = randn(c.shape);
    const weight = randn([c.shape[1]!, c.shape[1]!, 3]).mul(0.05);
    return { step: () => noGrad(() => conv1d(x, weight, null, { padding: 1 })), inputs: [x, weight] };
  },
  conv3d: (c) => {
    const x = randn(c.shape);
    const weight = randn([c.shape[1]!, c.shape[1]!, 3, 3, 3]).mul(0.05);
    return { step: () => noGrad(() => conv3d(x, weight, null, { padding: 1 })), inputs: [x, weight] };
  },
  convTranspose1d: (c) => {
    const x = randn(c.shape);
    const weight = randn([c.shape[1]!, c.shape[1]! / 2, 2]);
    return { step: () => noGrad(() => convTranspose1d(x, weight, null, { stride: 2 })), inputs: [x, weight] };
  },
  convTranspose3d: (c) => {
    const x = randn(c.shape);
    const weight = randn([c.shape[1]!, c.shape[1]! / 2, 2, 2, 2]);
    return { step: () => noGrad(() => convTranspose3d(x, weight, null, { stride: 2 })), inputs: [x, weight] };
  },

  // Pools (2x2 stride 2, or the adaptive forms) and normalizations.
  maxPool1d: onActivation((x) => maxPool1d(x, 2)),
  maxPool3d: onActivation((x) => maxPool3d(x, 2)),
  avgPool1d: onActivation((x) => avgPool1d(x, 2)),
  avgPool2d: onActivation((x) => avgPool2d(x, 2)),
  avgPool3d: onActivation((x) => avgPool3d(x, 2)),
  adaptiveAvgPool1d: onActivation((x) => adaptiveAvgPool1d(x, 7)),
  adaptiveAvgPool2d: onActivation((x) => adaptiveAvgPool2d(x, 7)),
  adaptiveAvgPool3d: onActivation((x) => adaptiveAvgPool3d(x, 7)),
  adaptiveMaxPool2d: onActivation((x) => adaptiveMaxPool2d(x, 7)),
  globalAvgPool2d: onActivation((x) => globalAvgPool2d(x)),
  groupNorm: onActivation((x) => groupNorm(x, 32)),
  instanceNorm: onActivation((x) => instanceNorm(x)),
  layerNorm: onActivation((x) => layerNorm(x, [x.shape[x.ndim - 1]!])),
  dropout: onActivation((x) => dropout(x, { p: 0.5 })),
  dropout2d: onActivation((x) => dropout2d(x, { p: 0.5 })),
  stochasticDepth: onActivation((x) => stochasticDepth(x, { p: 0.2 })),
  softmax: onActivation((x) => softmax(x, 1)),
  logSoftmax: onActivation((x) => logSoftmax(x, 1)),
  crossEntropy: (c) => {
    const logits = randn(c.shape);
    const labels = randint(0, c.shape[1]!, [c.shape[0]!]);
    return { step: () => noGrad(() => crossEntropy(logits, labels)), inputs: [logits, labels] };
  },

  // Resampling: bilinear x2 (a decoder's upsampling), sampling at a rotated grid, unpooling.
  interpolate: onActivation((x) => interpolate(x, { scaleFactor: 2, mode: 'bilinear' })),
  gridSample: (c) => {
    const x = channelsLast(c.shape);
    const theta = tensor([[[0.9, -0.2, 0.05], [0.2, 0.9, -0.05]]], { dtype: 'float32' }).expand(c.shape[0]!, 2, 3).contiguous();
    const grid = affineGrid(theta, c.shape);
    return { step: () => noGrad(() => gridSample(x, grid)), inputs: [x, theta, grid] };
  },
  affineGrid: (c) => {
    const theta = tensor([[[0.9, -0.2, 0.05], [0.2, 0.9, -0.05]]], { dtype: 'float32' }).expand(c.shape[0]!, 2, 3).contiguous();
    return { step: () => noGrad(() => affineGrid(theta, c.shape)), inputs: [theta] };
  },
  maxUnpool2d: (c) => {
    const { values, indices } = maxPool2d(channelsLast(c.shape), 2, { returnIndices: true });
    return { step: () => noGrad(() => maxUnpool2d(values, indices, 2)), inputs: [values, indices] };
  },

  // Shape ops that copy (views are excluded: tests/bench/coverage.test.ts).
  cat: onPair((a, b) => cat([a, b], 1)),
  stack: onPair((a, b) => stack([a, b], 1)),
  flip: onActivation((x) => flip(x, [3])),
  roll: onActivation((x) => roll(x, [1, 1], [2, 3])),
  rot90: onActivation((x) => rot90(x, 1, [2, 3])),
  pad: onActivation((x) => pad(x, [1, 1, 1, 1], 'reflect')),
  pixelShuffle: onActivation((x) => pixelShuffle(x, 2)),
  pixelUnshuffle: onActivation((x) => pixelUnshuffle(x, 2)),
  maskedFill: (c) => {
    const x = randn(c.shape);
    const mask = x.gt(1);
    return { step: () => noGrad(() => maskedFill(x, mask, 0)), inputs: [x, mask] };
  },
  oneHot: (c) => {
    const labels = randint(0, 21, c.shape);
    return { step: () => oneHot(labels, 21), inputs: [labels] };
  },

  // Copies: to(dtype), a write into a channel slice, fresh zeros.
  copyTo: onActivation((x) => copyTo(x, 'cpu', 'bfloat16', 'bench')),
  copyInto: (c) => {
    const src = randn(c.shape);
    const dst = zeros([c.shape[0]!, 2 * c.shape[1]!, ...c.shape.slice(2)]);
    const view = dst.slice(1, 0, c.shape[1]!);
    return { step: () => copyInto(view, src), inputs: [src, dst, view] };
  },
  zerosOn: (c) => ({ step: () => zerosOn(c.shape, 'cpu'), inputs: [] }),

  // Boxes: torchvision.ops on random boxes; roiAlign on one FPN level.
  nmsAsync: (c) => {
    const boxes = randomBoxes(c.shape[0]!);
    const scores = rand([c.shape[0]!]);
    return { step: () => nmsAsync(boxes, scores, 0.5), inputs: [boxes, scores] };
  },
  batchedNms: (c) => {
    const boxes = randomBoxes(c.shape[0]!);
    const [scores, idxs] = [rand([c.shape[0]!]), randint(0, 80, [c.shape[0]!])];
    return { step: () => batchedNms(boxes, scores, idxs, 0.5), inputs: [boxes, scores, idxs] };
  },
  batchedNmsAsync: (c) => {
    const boxes = randomBoxes(c.shape[0]!);
    const [scores, idxs] = [rand([c.shape[0]!]), randint(0, 80, [c.shape[0]!])];
    return { step: () => batchedNmsAsync(boxes, scores, idxs, 0.5), inputs: [boxes, scores, idxs] };
  },
  boxIou: onBoxPairs(boxIou),
  generalizedBoxIou: onBoxPairs(generalizedBoxIou),
  distanceBoxIou: onBoxPairs((a, b) => distanceBoxIou(a, b)),
  completeBoxIou: onBoxPairs((a, b) => noGrad(() => completeBoxIou(a, b))),
  clipBoxesToImage: (c) => {
    // Boxes reaching past every side of a 100 x 100 image.
    const boxes = randomBoxes(c.shape[0]!).mul(1.2).sub(20);
    return { step: () => noGrad(() => clipBoxesToImage(boxes, [100, 100])), inputs: [boxes] };
  },
  removeSmallBoxes: (c) => {
    const boxes = randomBoxes(c.shape[0]!);
    return { step: () => removeSmallBoxes(boxes, 10), inputs: [boxes] };
  },
  removeSmallBoxesAsync: (c) => {
    const boxes = randomBoxes(c.shape[0]!);
    return { step: () => removeSmallBoxesAsync(boxes, 10), inputs: [boxes] };
  },
  // [N]: a detector's matched pairs (prediction, truth), the loss summed.
  ...Object.fromEntries(
    ([['generalizedBoxIouLoss', generalizedBoxIouLoss], ['distanceBoxIouLoss', distanceBoxIouLoss], ['completeBoxIouLoss', completeBoxIouLoss]] as const).map(
      ([name, loss]) => [name, (c: OpCase): Built => {
        const [a, b] = [randomBoxes(c.shape[0]!), randomBoxes(c.shape[0]!)];
        return { step: () => noGrad(() => loss(a, b, { reduction: 'sum' })), inputs: [a, b] };
      }],
    ),
  ),
  sigmoidFocalLoss: (c) => {
    // [anchors, classes] logits against sparse one-hot targets, as RetinaNet's head.
    const logits = randn(c.shape);
    const targets = rand(c.shape).lt(0.01).to('float32');
    return { step: () => noGrad(() => sigmoidFocalLoss(logits, targets, { reduction: 'sum' })), inputs: [logits, targets] };
  },
  meshgrid: (c) => {
    // [H, W]: the anchor grid of a feature map (views, as torch.meshgrid's).
    const [ys, xs] = [arange(c.shape[0]!, { dtype: 'float32' }), arange(c.shape[1]!, { dtype: 'float32' })];
    return { step: () => meshgrid([ys, xs], { indexing: 'ij' }), inputs: [ys, xs] };
  },
  boxArea: (c) => {
    const boxes = randomBoxes(c.shape[0]!);
    return { step: () => boxArea(boxes), inputs: [boxes] };
  },
  boxConvert: (c) => {
    const boxes = randomBoxes(c.shape[0]!);
    return { step: () => boxConvert(boxes, 'xyxy', 'cxcywh'), inputs: [boxes] };
  },
  roiAlign: (c) => {
    // [N, C, H, W, rois]: rois spread over the images, in input coordinates (spatialScale 1/16).
    const [n, ch, h, w, k] = c.shape as [number, number, number, number, number];
    const x = channelsLast([n, ch, h, w]);
    const batch = randint(0, n, [k, 1]).to('float32');
    const rois = cat([batch, randomBoxes(k).mul((16 * Math.min(h, w)) / 141)], 1);
    return { step: () => noGrad(() => roiAlign(x, rois, 7, { spatialScale: 1 / 16, samplingRatio: 2, aligned: true })), inputs: [x, batch, rois] };
  },
  psRoiAlign: (c) => {
    const [n, ch, h, w, k] = c.shape as [number, number, number, number, number];
    const x = channelsLast([n, ch, h, w]);
    const batch = randint(0, n, [k, 1]).to('float32');
    const rois = cat([batch, randomBoxes(k).mul((16 * Math.min(h, w)) / 141)], 1);
    return { step: () => noGrad(() => psRoiAlign(x, rois, 7, { spatialScale: 1 / 16, samplingRatio: 2 })), inputs: [x, batch, rois] };
  },
  roiPool: (c) => {
    const [n, ch, h, w, k] = c.shape as [number, number, number, number, number];
    const x = channelsLast([n, ch, h, w]);
    const batch = randint(0, n, [k, 1]).to('float32');
    const rois = cat([batch, randomBoxes(k).mul((16 * Math.min(h, w)) / 141)], 1);
    return { step: () => noGrad(() => roiPool(x, rois, 7, { spatialScale: 1 / 16 })), inputs: [x, batch, rois] };
  },
  softNms: (c) => {
    const boxes = randomBoxes(c.shape[0]!);
    const scores = rand([c.shape[0]!]);
    return { step: () => softNmsKept(softNms(boxes, scores, { method: 'gaussian', sigma: 0.5 })), inputs: [boxes, scores] };
  },
  softNmsAsync: (c) => {
    const boxes = randomBoxes(c.shape[0]!);
    const scores = rand([c.shape[0]!]);
    return { step: () => softNmsAsync(boxes, scores, { method: 'gaussian', sigma: 0.5 }).then(softNmsKept), inputs: [boxes, scores] };
  },
};

function onBoxPairs(fn: (a: Tensor, b: Tensor) => Tensor) {
  return (c: OpCase): Built => {
    const [a, b] = [randomBoxes(c.shape[0]!), randomBoxes(c.shape[1]!)];
    return { step: () => fn(a, b), inputs: [a, b] };
  };
}

/** [N, C, H, W, outC, k] inputs of the conv2d cases: NHWC activations, a small-valued weight. */
function convInputs(c: OpCase): { x: Tensor; weight: Tensor } {
  const [n, ch, h, w, o, k] = c.shape as [number, number, number, number, number, number];
  return { x: randn([n, h, w, ch]).permute(0, 3, 1, 2), weight: randn([o, ch, k, k]).mul(0.05) };
}

function convCase(c: OpCase, bf16: boolean): Built {
  const { x, weight } = convInputs(c);
  if (!bf16) return { step: () => noGrad(() => conv2d(x, weight, null, { padding: 1 })), inputs: [x, weight] };
  const [xh, wh] = [x.to('bfloat16'), weight.to('bfloat16')];
  return { step: () => noGrad(() => conv2d(xh, wh, null, { padding: 1 })), inputs: [xh, wh] };
}

/** Whether bench/ops.ts can build the case named `op`. */
export function hasBuilder(op: string): boolean {
  return op in builders;
}

/** Builds case `c` (seeded, so every run times the same inputs). */
export function build(c: OpCase): Built {
  manualSeed(0);
  const make = builders[c.op];
  if (!make) throw new Error(`bench: no neocog builder for op case ${c.op}`);
  return make(c);
}
