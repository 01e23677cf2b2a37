/**
 * Activation maximisation (Erhan et al. 2009; Olah et al., "Feature Visualization", 2017):
 * the input a model's unit responds to most, found by gradient ascent on the input with
 * jitter and blur keeping it from turning into high-frequency noise.
 * @module
 */
import { grad } from '../autograd/grad.js';
import { ArgumentError, IndexError, ShapeError } from '../errors.js';
import { conv2d } from '../ops/conv.js';
import { pad, roll } from '../ops/shape.js';
import { checkInRange, checkInt } from '../ops/validate.js';
import { Module } from '../nn/module.js';
import { randn, tensor } from '../tensor/creation.js';
import { scope } from '../tensor/memory.js';
import { describe } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkImage, checkTarget, targetScores, type Target } from './inputs.js';
import { captureOutput, resolveLayer, type LayerRef } from './layer.js';
import { withModelFrozen } from './model_state.js';

/** Options of {@link activationMaximization}. */
export interface ActivationMaximizationOptions {
  /** The input's shape `[C, H, W]` (the model sees `[1, C, H, W]`); required unless `init` is given. */
  shape?: readonly [number, number, number];
  /** The starting input, float32 `[C, H, W]` (default: Gaussian noise of standard deviation 0.01). Not changed. */
  init?: Tensor;
  /** For a layer: the channel whose mean activation is maximised (default 0). */
  channel?: number;
  /** Gradient ascent steps (default 128). */
  steps?: number;
  /** Step size: each step moves the input by `lr` times the gradient divided by its mean absolute value (default 0.05). */
  lr?: number;
  /** Each step shifts the input by up to this many pixels (wrapping around), so no feature can hang on one pixel position (default 2; 0 turns it off). */
  jitter?: number;
  /** Standard deviation in pixels of a Gaussian blur after each step, which suppresses high frequencies (default 0.5; 0 turns it off). */
  blur?: number;
  /** Seeds the jitter's shifts (default 0). The initial noise comes from the global generator (see manualSeed). */
  seed?: number;
}

/**
 * The input that maximises `objective`, float32 `[C, H, W]`, found by gradient ascent on
 * the input: each step jitters the input by a random shift of up to `jitter` pixels,
 * takes the gradient of the objective there, shifts it back, moves the input by `lr` times
 * the gradient over its mean absolute value, and blurs it with a Gaussian of `blur`
 * pixels. `objective` is a layer (a module path as `namedModules()` names it, or the
 * module), whose channel `channel` has its mean activation maximised, or a target (a class
 * index or a function of the output returning a scalar tensor). The model's weights are
 * never changed: it runs in eval mode with frozen parameters and is left as it was. The
 * result is in the model's input units; show it with `viz.makeGrid` after scaling.
 *
 * @throws KeyError for an unknown layer path; IndexError for a channel beyond the layer's
 * @example
 * const pattern = viz.activationMaximization(model, '4', { shape: [1, 28, 28], channel: 7, steps: 64 });
 * const dreamt = viz.activationMaximization(model, 3, { shape: [1, 28, 28] }); // what class 3 looks like to it
 */
export function activationMaximization<Out>(model: Module<[Tensor], Out>, objective: LayerRef | Target<Out>, opts: ActivationMaximizationOptions): Tensor<'float32'> {
  const op = 'activationMaximization';
  const start = opts.init === undefined ? undefined : checkImage(op, opts.init, 'init');
  const shape = start?.shape ?? opts.shape;
  if (!Array.isArray(shape) || shape.length !== 3 || !shape.every((s) => Number.isInteger(s) && s > 0)) {
    throw new ShapeError(`${op}: expected shape to be [C, H, W] of positive integers (or an init image), got ${describe(shape)}`);
  }
  const isLayer = typeof objective === 'string' || objective instanceof Module;
  const layer = isLayer ? resolveLayer(op, model, objective) : undefined;
  if (!isLayer) checkTarget(op, objective);
  const channel = checkInt(op, 'channel', opts.channel ?? 0, 0);
  const steps = checkInt(op, 'steps', opts.steps ?? 128, 1);
  const jitter = checkInt(op, 'jitter', opts.jitter ?? 2, 0);
  const blur = checkInRange(op, 'blur', opts.blur ?? 0.5, 0, 100);
  const lr = opts.lr ?? 0.05;
  if (typeof lr !== 'number' || !(lr > 0 && lr < Infinity)) throw new ArgumentError(`${op}: expected lr to be a number > 0, got ${describe(lr)}`);
  const random = mulberry32(opts.seed ?? 0);
  const shift = () => Math.floor(random() * (2 * jitter + 1)) - jitter;

  const score = (input: Tensor): Tensor => {
    if (layer === undefined) return grad(targetScores(op, model.call(input), objective as Target<Out>, 1), [input])[0]!;
    const channelMean = (out: Tensor) => {
      if (out.ndim < 2 || channel >= out.shape[1]!) throw new IndexError(`${op}: channel ${channel} is out of range for the layer's output [${out.shape.join(', ')}]`);
      return out.slice(1, channel, channel + 1).mean();
    };
    return captureOutput(op, layer, () => model.call(input), ({ values }) => grad(values, [input])[0]!, channelMean);
  };

  return withModelFrozen(model, () => {
    // Noise on the model's device (the first parameter's), unless an init image says where.
    let x: Tensor = start ? start.clone() : randn([...shape], { device: model.parameters().next().value?.device }).mul(0.01);
    const kernel = blur > 0 ? gaussianKernel(blur, shape[0], x) : undefined;
    try {
      for (let step = 0; step < steps; ++step) {
        const next = scope(() => {
          const [dy, dx] = [shift(), shift()];
          const input = roll(x, [dy, dx], [1, 2]).reshape([1, ...shape]).detach().requiresGrad_();
          const g = roll(score(input).reshape([...shape]), [-dy, -dx], [1, 2]);
          const moved = x.add(g.div(g.abs().mean().add(1e-12)).mul(lr));
          return kernel ? blurred(moved, kernel) : moved;
        });
        x.dispose();
        x = next;
      }
    } catch (error) {
      x.dispose();
      throw error;
    } finally {
      kernel?.dispose();
    }
    return x as Tensor<'float32'>;
  });
}

/** A depthwise Gaussian kernel `[C, 1, k, k]` of standard deviation `sigma`, k = 2 ceil(2 sigma) + 1, summing to 1. */
function gaussianKernel(sigma: number, channels: number, like: Tensor): Tensor {
  const radius = Math.ceil(2 * sigma);
  const taps = Array.from({ length: 2 * radius + 1 }, (_, i) => Math.exp(-((i - radius) ** 2) / (2 * sigma * sigma)));
  const total = taps.reduce((a, b) => a + b, 0) ** 2;
  const size = taps.length;
  const values = Float32Array.from({ length: channels * size * size }, (_, i) => (taps[Math.floor(i / size) % size]! * taps[i % size]!) / total);
  return tensor(values, { shape: [channels, 1, size, size], device: like.device });
}

/** `x` `[C, H, W]` blurred channel by channel, edges reflected. */
function blurred(x: Tensor, kernel: Tensor): Tensor {
  const radius = (kernel.shape[2]! - 1) / 2;
  const padded = pad(x.reshape([1, ...x.shape]), [radius, radius, radius, radius], 'reflect');
  return conv2d(padded, kernel, null, { groups: x.shape[0]! }).reshape(x.shape);
}

/** A small seeded generator (mulberry32): the jitter is reproducible without reading the device. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
