/**
 * Normalization, as torch.nn.functional: batchNorm (oneDNN / cuDNN), and layerNorm,
 * groupNorm, instanceNorm composed from differentiable primitives.
 * @module
 */
import { needsGrad, record, saveForBackward } from '../autograd/graph.js';
import { noGrad } from '../autograd/grad_mode.js';
import { ArgumentError, ShapeError } from '../errors.js';
import { native } from '../native.js';
import { empty, emptyLike } from '../tensor/creation.js';
import { scope } from '../tensor/memory.js';
import { describe, stridesLike } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { copyInto } from './copy.js';
import { relu } from './unary.js';
import { checkDTypeIn, checkSameDevice, checkTensor } from './validate.js';

/** Options of {@link batchNorm}. */
export interface BatchNormOptions {
  /** Use batch statistics and update the running ones (default false, as F.batch_norm). */
  training?: boolean;
  /** Weight of the new batch statistic in the running average (default 0.1). */
  momentum?: number;
  /** Added to the variance (default 1e-5). */
  eps?: number;
}

function isDense(t: Tensor): boolean {
  return stridesLike(t, t.shape).every((s, i) => s === t.strides[i] || t.shape[i] === 1);
}

function checkChannelVector(op: string, name: string, t: Tensor | null | undefined, channels: number): void {
  if (t === null || t === undefined) return;
  checkTensor(op, name, t);
  checkDTypeIn(op, name, t, ['float32']);
  if (t.ndim !== 1 || t.shape[0] !== channels) {
    throw new ShapeError(`${op}: expected ${name} of shape [${channels}], got [${t.shape.join(', ')}]`);
  }
}

/** `t` as a [C] view broadcastable against [N, C, ...spatial]. */
function perChannel(t: Tensor, ndim: number): Tensor {
  return t.reshape([1, t.shape[0]!, ...new Array<number>(ndim - 2).fill(1)]);
}

/** Whether the kernel can update `running` in place: a [C] vector it walks flat. */
const walkable = (running: Tensor | null): running is Tensor => running !== null && (running.strides[0] === 1 || running.shape[0] === 1);

/**
 * running = (1 - momentum) * running + momentum * scale * batch in place, composed, for a
 * running statistic the kernel cannot walk flat (a strided view); the temporaries are freed
 * here, not left to the garbage collector.
 */
function updateGappedRunningStat(running: Tensor, batch: Tensor, momentum: number, scale: number): void {
  scope(() => noGrad(() => copyInto(running, running.mul(1 - momentum).add(batch.mul(momentum * scale)))));
}

/**
 * Batch normalization of `input` `[N, C, *]` per channel, as `F.batch_norm`. In training
 * it normalizes with the batch statistics and updates `runningMean` / `runningVar` in
 * place (variance unbiased, as PyTorch); in eval it uses the running statistics. An empty
 * batch (N = 0) gives an empty output and leaves the running statistics as they are, as PyTorch.
 */
export function batchNorm(
  input: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  weight?: Tensor | null,
  bias?: Tensor | null,
  opts: BatchNormOptions = {},
): Tensor<'float32'> {
  return normalizeBatch(input, runningMean, runningVar, weight ?? null, bias ?? null, opts, false);
}

/**
 * @internal `relu(batchNorm(...))` in one pass over the activations and, backward, one
 * native call that passes the gradient through the ReLU's mask (recomputed from the input,
 * as the normalization's own backward reads it anyway): what nn.Sequential runs for a
 * training-mode BatchNorm followed by a ReLU (lib/nn/layers/fused_norm_relu.ts). The same
 * values and gradients as the two ops, to float32 rounding.
 */
export function batchNormRelu(
  input: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  weight: Tensor | null,
  bias: Tensor | null,
  opts: BatchNormOptions = {},
): Tensor<'float32'> {
  return normalizeBatch(input, runningMean, runningVar, weight, bias, opts, true);
}

function normalizeBatch(
  input: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  weight: Tensor | null,
  bias: Tensor | null,
  opts: BatchNormOptions,
  withRelu: boolean,
): Tensor<'float32'> {
  const op = 'batchNorm';
  checkTensor(op, 'input', input);
  checkDTypeIn(op, 'input', input, ['float32']);
  if (input.ndim < 2) throw new ShapeError(`${op}: expected input of rank >= 2 ([N, C, ...]), got ${input.ndim}`);
  const channels = input.shape[1]!;
  checkChannelVector(op, 'runningMean', runningMean, channels);
  checkChannelVector(op, 'runningVar', runningVar, channels);
  checkChannelVector(op, 'weight', weight, channels);
  checkChannelVector(op, 'bias', bias, channels);
  if ((weight === null) !== (bias === null)) {
    throw new ArgumentError(`${op}: weight and bias must be given together (affine) or both omitted`);
  }
  const tensors: Record<string, Tensor> = { input };
  for (const [name, t] of Object.entries({ runningMean, runningVar, weight, bias })) if (t) tensors[name] = t;
  checkSameDevice(op, tensors);
  const training = opts.training ?? false;
  const momentum = opts.momentum ?? 0.1;
  const eps = opts.eps ?? 1e-5;
  if (!(eps > 0)) throw new ArgumentError(`${op}: expected eps > 0, got ${describe(eps)}`);
  if (!(momentum >= 0 && momentum <= 1)) throw new ArgumentError(`${op}: expected momentum in [0, 1], got ${describe(momentum)}`);
  const count = input.numel / Math.max(channels, 1);
  const activated = (out: Tensor): Tensor<'float32'> => (withRelu ? relu(out) : out) as Tensor<'float32'>;

  if (!training) {
    if (runningMean === null || runningVar === null) {
      throw new ArgumentError(`${op}: eval mode needs runningMean and runningVar (or pass { training: true })`);
    }
    if (needsGrad(input, weight, bias)) {
      // Gradients through eval-mode normalization (saliency maps): compose it.
      const scale = perChannel(runningVar.add(eps).sqrt().reciprocal(), input.ndim);
      let out = input.sub(perChannel(runningMean, input.ndim)).mul(scale);
      if (weight) out = out.mul(perChannel(weight, input.ndim)).add(perChannel(bias!, input.ndim));
      return activated(out);
    }
  } else if (count === 0) {
    // An empty batch, as torch 1.13: an empty output, the running statistics left as they
    // are (the mean of no values updates nothing), zero weight and bias gradients. Composed,
    // since the primitive's batch statistics of no values are undefined.
    return activated(weight ? input.mul(perChannel(weight, input.ndim)).add(perChannel(bias!, input.ndim)) : input.mul(1));
  } else if (count === 1) {
    throw new ShapeError(`${op}: expected more than 1 value per channel when training, got input shape [${input.shape.join(', ')}]`);
  }

  const x = isDense(input) ? input : input.contiguous();
  try {
    const out = emptyLike(op, x, x.shape, 'float32');
    const mean = training ? empty(op, [channels], 'float32', x.device) : runningMean!;
    const variance = training ? empty(op, [channels], 'float32', x.device) : runningVar!;
    // In training the kernel also moves the running statistics (a strided view's composed below).
    const nativeRunningMean = training && walkable(runningMean) ? runningMean : null;
    const nativeRunningVar = training && walkable(runningVar) ? runningVar : null;
    native.batchNormForward(
      op,
      out._native(op, 'out'),
      x._native(op, 'input'),
      weight ? weight._native(op, 'weight') : null,
      bias ? bias._native(op, 'bias') : null,
      mean._native(op, 'mean'),
      variance._native(op, 'var'),
      nativeRunningMean ? nativeRunningMean._native(op, 'runningMean') : null,
      nativeRunningVar ? nativeRunningVar._native(op, 'runningVar') : null,
      training,
      eps,
      momentum,
      withRelu,
    );
    if (!training) return out;
    if (runningMean && !nativeRunningMean) updateGappedRunningStat(runningMean, mean, momentum, 1);
    if (runningVar && !nativeRunningVar) updateGappedRunningStat(runningVar, variance, momentum, count / (count - 1));
    if (!needsGrad(input, weight, bias)) {
      mean.dispose();
      variance.dispose();
      return out;
    }
    const saved = [saveForBackward(x), saveForBackward(mean), saveForBackward(variance)];
    const savedWeight = weight ? saveForBackward(weight) : null;
    // The fused ReLU's mask is recomputed from the normalized input: the shift takes part.
    const savedBias = withRelu && bias ? saveForBackward(bias) : null;
    for (const t of [savedWeight, savedBias]) if (t) saved.push(t);
    mean.dispose();
    variance.dispose();
    return record(
      op,
      out,
      [input, weight, bias],
      (g) => {
        const [xs, m, v] = saved as [Tensor, Tensor, Tensor];
        // The library wants the gradient in the input's layout.
        let grad = g;
        if (g.strides.some((s, i) => s !== xs.strides[i] && xs.shape[i] !== 1)) {
          grad = emptyLike(op, xs, xs.shape, 'float32');
          copyInto(grad, g);
        }
        const gradInput = emptyLike(`${op}Backward`, xs, xs.shape, 'float32');
        const gradWeight = savedWeight ? empty(`${op}Backward`, [channels], 'float32', xs.device) : null;
        const gradBias = savedWeight ? empty(`${op}Backward`, [channels], 'float32', xs.device) : null;
        native.batchNormBackward(
          `${op}Backward`,
          gradInput._native(op, 'gradInput'),
          gradWeight ? gradWeight._native(op, 'gradWeight') : null,
          gradBias ? gradBias._native(op, 'gradBias') : null,
          grad._native(op, 'grad'),
          xs._native(op, 'input'),
          savedWeight ? savedWeight._native(op, 'weight') : null,
          savedBias ? savedBias._native(op, 'bias') : null,
          m._native(op, 'mean'),
          v._native(op, 'var'),
          eps,
          withRelu,
        );
        return [gradInput, gradWeight, gradBias];
      },
      saved,
    );
  } finally {
    if (x !== input) x.dispose();
  }
}

/** Normalizes `x` over `dims` (biased variance), without affine parameters. */
function normalize(x: Tensor, dims: number[], eps: number): Tensor {
  const mean = x.mean(dims, { keepdim: true });
  const centered = x.sub(mean);
  const variance = centered.square().mean(dims, { keepdim: true });
  return centered.div(variance.add(eps).sqrt());
}

/**
 * Layer normalization over the trailing `normalizedShape` dims, as `F.layer_norm`;
 * `weight`/`bias` have shape `normalizedShape`.
 */
export function layerNorm(
  input: Tensor,
  normalizedShape: readonly number[],
  weight?: Tensor | null,
  bias?: Tensor | null,
  opts: { eps?: number } = {},
): Tensor<'float32'> {
  const op = 'layerNorm';
  checkTensor(op, 'input', input);
  checkDTypeIn(op, 'input', input, ['float32']);
  const k = normalizedShape.length;
  const tail = input.shape.slice(input.ndim - k);
  if (k === 0 || k > input.ndim || tail.join(',') !== normalizedShape.join(',')) {
    throw new ShapeError(`${op}: normalizedShape [${normalizedShape.join(', ')}] must match the trailing dims of input [${input.shape.join(', ')}]`);
  }
  for (const [name, t] of [['weight', weight], ['bias', bias]] as const) {
    if (t && t.shape.join(',') !== normalizedShape.join(',')) {
      throw new ShapeError(`${op}: expected ${name} of shape [${normalizedShape.join(', ')}], got [${t.shape.join(', ')}]`);
    }
  }
  let out = normalize(input, [...Array(k).keys()].map((i) => input.ndim - k + i), opts.eps ?? 1e-5);
  if (weight) out = out.mul(weight);
  if (bias) out = out.add(bias);
  return out as Tensor<'float32'>;
}

/**
 * Group normalization of `[N, C, *]` with `numGroups` groups of channels, as
 * `F.group_norm`; `weight`/`bias` are per channel.
 */
export function groupNorm(input: Tensor, numGroups: number, weight?: Tensor | null, bias?: Tensor | null, opts: { eps?: number } = {}): Tensor<'float32'> {
  const op = 'groupNorm';
  checkTensor(op, 'input', input);
  checkDTypeIn(op, 'input', input, ['float32']);
  if (input.ndim < 2) throw new ShapeError(`${op}: expected input of rank >= 2 ([N, C, ...]), got ${input.ndim}`);
  const channels = input.shape[1]!;
  if (!Number.isInteger(numGroups) || numGroups < 1 || channels % numGroups !== 0) {
    throw new ShapeError(`${op}: numGroups ${describe(numGroups)} must be a positive integer dividing the ${channels} channels`);
  }
  checkChannelVector(op, 'weight', weight, channels);
  checkChannelVector(op, 'bias', bias, channels);
  // The group size is spelled out: -1 cannot be inferred from an empty batch (N = 0).
  const groupSize = (channels / numGroups) * input.shape.slice(2).reduce((a, b) => a * b, 1);
  const grouped = input.reshape([input.shape[0]!, numGroups, groupSize]);
  let out: Tensor = normalize(grouped, [2], opts.eps ?? 1e-5).reshape(input.shape);
  if (weight) out = out.mul(perChannel(weight, input.ndim));
  if (bias) out = out.add(perChannel(bias, input.ndim));
  return out as Tensor<'float32'>;
}

/**
 * Instance normalization: each (sample, channel) over its spatial dims, as
 * `F.instance_norm` without running statistics; `weight`/`bias` are per channel.
 */
export function instanceNorm(input: Tensor, weight?: Tensor | null, bias?: Tensor | null, opts: { eps?: number } = {}): Tensor<'float32'> {
  const op = 'instanceNorm';
  checkTensor(op, 'input', input);
  if (input.ndim < 3) throw new ShapeError(`${op}: expected input of rank >= 3 ([N, C, *spatial]), got ${input.ndim}`);
  return groupNorm(input, input.shape[1]!, weight, bias, opts);
}
