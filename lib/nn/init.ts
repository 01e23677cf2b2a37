/**
 * Parameter initialisation, as torch.nn.init: each function fills a tensor in place from
 * the seeded generator and returns it. Fans follow PyTorch (`[out, in, *kernel]`: fanIn =
 * in * prod(kernel), fanOut = out * prod(kernel)).
 * @module
 */
import { noGrad } from '../autograd/grad_mode.js';
import { ArgumentError, ShapeError } from '../errors.js';
import { where } from '../ops/compare.js';
import { copyInto } from '../ops/copy.js';
import { clamp } from '../ops/statistics.js';
import { drawInPlace, fillInPlace, full, rand, randn, tensor } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';

/** Nonlinearities with a recommended gain, as torch.nn.init.calculate_gain. */
export type Nonlinearity = 'linear' | 'conv' | 'sigmoid' | 'tanh' | 'relu' | 'leakyRelu' | 'selu';

/** The recommended gain for a nonlinearity (`param` is leakyRelu's negative slope). */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear':
    case 'conv':
    case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leakyRelu': {
      const slope = param ?? 0.01;
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu':
      return 3 / 4;
  }
  throw new ArgumentError(`calculateGain: unknown nonlinearity ${String(nonlinearity)}`);
}

/** fanIn and fanOut of a weight shaped `[out, in, *kernel]`. */
export function fans(t: Tensor): { fanIn: number; fanOut: number } {
  if (t.ndim < 2) throw new ShapeError(`init: fans need a tensor of rank >= 2, got shape [${t.shape.join(', ')}]`);
  const receptive = t.shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: t.shape[1]! * receptive, fanOut: t.shape[0]! * receptive };
}

function fill(t: Tensor, values: Tensor): Tensor {
  noGrad(() => copyInto(t, values));
  values.dispose();
  return t;
}

/**
 * Draws `t`'s values in place from the generator: one pass over the memory, where drawing a
 * standard sample, scaling, shifting and copying took four (and four allocations: building
 * vgg16 took twice torchvision's time). Other dtypes and strided views go the long way.
 */
function sampleInPlace(t: Tensor, kind: 'uniform' | 'normal', a: number, b: number, long: () => Tensor): Tensor {
  if (t.dtype !== 'float32' || !t.isContiguous()) return fill(t, noGrad(long));
  drawInPlace(t, kind, a, b);
  return t;
}

/** Uniform in [low, high). */
export function uniform_(t: Tensor, low = 0, high = 1): Tensor {
  return sampleInPlace(t, 'uniform', low, high, () => rand(t.shape, { device: t.device }).mul(high - low).add(low));
}

/** Normal with `mean` and `std`. */
export function normal_(t: Tensor, mean = 0, std = 1): Tensor {
  return sampleInPlace(t, 'normal', mean, std, () => randn(t.shape, { device: t.device }).mul(std).add(mean));
}

/** Fills with `value`. */
export function constant_(t: Tensor, value: number): Tensor {
  fillInPlace(t, value);
  return t;
}

/** Fills with zeros. */
export function zeros_(t: Tensor): Tensor {
  return constant_(t, 0);
}

/** Fills with ones. */
export function ones_(t: Tensor): Tensor {
  return constant_(t, 1);
}

/** Options of the Kaiming initialisers. */
export interface KaimingOptions {
  /** Negative slope of a leaky ReLU (default 0). */
  a?: number;
  /** Preserve the variance of the forward ('fanIn', default) or backward ('fanOut') pass. */
  mode?: 'fanIn' | 'fanOut';
  /** Default 'leakyRelu' (with `a`), as PyTorch. */
  nonlinearity?: Nonlinearity;
}

function kaimingStd(t: Tensor, opts: KaimingOptions): number {
  const { fanIn, fanOut } = fans(t);
  const fan = (opts.mode ?? 'fanIn') === 'fanIn' ? fanIn : fanOut;
  return calculateGain(opts.nonlinearity ?? 'leakyRelu', opts.a ?? 0) / Math.sqrt(fan);
}

/** He uniform: U(-b, b) with b = gain * sqrt(3 / fan). */
export function kaimingUniform_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  const bound = Math.sqrt(3) * kaimingStd(t, opts);
  return uniform_(t, -bound, bound);
}

/** He normal: N(0, gain^2 / fan). */
export function kaimingNormal_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  return normal_(t, 0, kaimingStd(t, opts));
}

/**
 * Options of {@link truncNormal_}.
 *
 * @example
 * nn.init.truncNormal_(w, { mean: 0, std: 0.1, a: -0.2, b: 0.2 })
 */
export interface TruncNormalOptions {
  /** Mean of the normal (default 0). */
  mean?: number;
  /** Standard deviation of the normal (default 1). */
  std?: number;
  /** Lower cut-off, in the values' units, not in stds (default -2). */
  a?: number;
  /** Upper cut-off, in the values' units (default 2). */
  b?: number;
}

/**
 * Normal with `mean` and `std` truncated to [a, b], as torch.nn.init.trunc_normal_ (ConvNeXt,
 * GoogLeNet and Inception v3 initialise with it). Values outside are drawn again until none
 * is left, which gives the same distribution as torch's inverse-CDF sampling.
 *
 * @example
 * nn.init.truncNormal_(linear.weight, { std: 0.02 })
 */
export function truncNormal_(t: Tensor, opts: TruncNormalOptions = {}): Tensor {
  const { mean = 0, std = 1, a = -2, b = 2 } = opts;
  if (!(std > 0) || !(a < b) || !(mean - 10 * std < b && mean + 10 * std > a)) {
    throw new ArgumentError(`truncNormal_: expected std > 0 and [a, b] to hold some of N(mean, std^2), got mean ${mean}, std ${std}, a ${a}, b ${b}`);
  }
  const draw = () => randn(t.shape, { device: t.device }).mul(std).add(mean);
  const mid = (a + b) / 2;
  const half = (b - a) / 2;
  const values = noGrad(() => {
    let x = draw();
    // Values outside [a, b] are drawn again, each round keeping at least P(a <= x <= b) of
    // the rest, so a few rounds leave none outside (a clamp catches the rare remainder).
    for (let round = 0; round < 100; ++round) {
      const outside = x.sub(mid).abs().gt(half);
      if (outside.sum().item() === 0) break;
      x = where(outside, draw(), x);
    }
    return clamp(x, a, b);
  });
  return fill(t, values);
}

/** Glorot uniform: U(-b, b) with b = gain * sqrt(6 / (fanIn + fanOut)). */
export function xavierUniform_(t: Tensor, gain = 1): Tensor {
  const { fanIn, fanOut } = fans(t);
  const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, -bound, bound);
}

/** Glorot normal: N(0, gain^2 * 2 / (fanIn + fanOut)). */
export function xavierNormal_(t: Tensor, gain = 1): Tensor {
  const { fanIn, fanOut } = fans(t);
  return normal_(t, 0, gain * Math.sqrt(2 / (fanIn + fanOut)));
}

/**
 * Bilinear upsampling kernel for a transposed-convolution weight `[C, C, k, k]` (FCN):
 * channel c maps to itself with the bilinear filter, other pairs are zero.
 */
export function bilinearUpsampling_(t: Tensor): Tensor {
  if (t.ndim !== 4 || t.shape[2] !== t.shape[3] || t.shape[0] !== t.shape[1]) {
    throw new ShapeError(`bilinearUpsampling_: expected a square weight [C, C, k, k], got [${t.shape.join(', ')}]`);
  }
  const [channels, , k] = t.shape as [number, number, number];
  const factor = Math.floor((k + 1) / 2);
  const center = k % 2 === 1 ? factor - 1 : factor - 0.5;
  const values = new Float32Array(channels * channels * k * k);
  for (let c = 0; c < channels; ++c) {
    for (let i = 0; i < k; ++i) {
      for (let j = 0; j < k; ++j) {
        values[((c * channels + c) * k + i) * k + j] = (1 - Math.abs(i - center) / factor) * (1 - Math.abs(j - center) / factor);
      }
    }
  }
  return fill(t, tensor(values, { device: t.device }).reshape(t.shape));
}
