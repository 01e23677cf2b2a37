/**
 * An exponential moving average of a model's weights (Polyak averaging), as the `torch_ema`
 * package's `ExponentialMovingAverage` and timm's `ModelEmaV2`: torchvision's reference
 * scripts evaluate these averaged weights (`--model-ema`).
 * @module
 */
import { noGrad } from '../autograd/grad_mode.js';
import { ArgumentError, DisposedError, KeyError } from '../errors.js';
import type { AnyModule } from '../nn/module.js';
import { copyInto } from '../ops/copy.js';
import { emptyLike } from '../tensor/creation.js';
import { isFloatingPoint } from '../tensor/dtype.js';
import { keep, scope } from '../tensor/memory.js';
import { describe } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';

/** Options of {@link ExponentialMovingAverage}. */
export interface EMAOptions {
  /** Weight of the average at each update, in [0, 1] (default 0.999). */
  decay?: number;
  /**
   * Warm-up (default false): update n (counting from 0) uses min(decay, (1 + n) / (10 + n)),
   * as torch_ema's `use_num_updates`, so early averages are not dominated by the initial weights.
   */
  warmup?: boolean;
}

/** The model's parameters and buffers by state-dict name (what the average covers). */
function entries(model: AnyModule): Map<string, Tensor> {
  return new Map<string, Tensor>([...model.namedParameters(), ...model.namedBuffers()]);
}

/** A detached copy of `t` in its layout, kept past any scope. */
function copyOf(t: Tensor): Tensor {
  const copy = keep(emptyLike('ExponentialMovingAverage', t, t.shape, t.dtype));
  copyInto(copy, t);
  return copy;
}

/**
 * Keeps shadow copies of `model`'s parameters and buffers and moves them toward the model's
 * at each {@link update}: `shadow = decay * shadow + (1 - decay) * weight` for floating-point
 * tensors; integer buffers (BatchNorm's `num_batches_tracked`) are copied as they are, as
 * timm's ModelEmaV2 does. Evaluate with the averaged weights by {@link store} (saves the
 * model's), {@link copyTo} (writes the average into the model), then {@link restore}.
 * Nothing is allocated per update beyond temporaries freed in it; {@link dispose} frees the copies.
 *
 * @example
 * const ema = new optim.ExponentialMovingAverage(model, { decay: 0.999, warmup: true });
 * // after each optimizer.step():
 * ema.update();
 * // evaluate with the averaged weights, then go on training the model's own:
 * ema.store();
 * ema.copyTo();
 * const { accuracy } = await train.evaluate(model, testLoader);
 * ema.restore();
 */
export class ExponentialMovingAverage {
  /** The decay given to the constructor. */
  readonly decay: number;
  /** Whether updates warm up (see {@link EMAOptions.warmup}). */
  readonly warmup: boolean;
  /** Updates done so far. */
  numUpdates = 0;
  readonly #model: AnyModule;
  readonly #shadow: Map<string, Tensor>;
  #stored: Map<string, Tensor> | null = null;

  constructor(model: AnyModule, opts: EMAOptions = {}) {
    const decay = opts.decay ?? 0.999;
    if (!(typeof decay === 'number' && decay >= 0 && decay <= 1)) {
      throw new ArgumentError(`ExponentialMovingAverage: expected decay in [0, 1], got ${describe(opts.decay)}`);
    }
    if (opts.warmup !== undefined && typeof opts.warmup !== 'boolean') {
      throw new ArgumentError(`ExponentialMovingAverage: expected warmup to be a boolean, got ${describe(opts.warmup)}`);
    }
    this.decay = decay;
    this.warmup = opts.warmup ?? false;
    this.#model = model;
    this.#shadow = new Map([...entries(model)].map(([name, t]) => [name, noGrad(() => copyOf(t))]));
  }

  /** The decay the next {@link update} uses (smaller during warm-up). */
  get currentDecay(): number {
    return this.warmup ? Math.min(this.decay, (1 + this.numUpdates) / (10 + this.numUpdates)) : this.decay;
  }

  /** The averaged tensor of a parameter or buffer, by state-dict name (read-only use). */
  averaged(name: string): Tensor {
    const t = this.#shadow.get(name);
    if (!t) throw new KeyError(`ExponentialMovingAverage.averaged: no parameter or buffer named ${describe(name)}`);
    return t;
  }

  /** Moves the average toward the model's current weights; call after each optimizer step. */
  update(): void {
    const current = this.#matching('update', this.#model);
    const d = this.currentDecay;
    noGrad(() => {
      for (const [name, shadow] of this.#shadow) {
        const t = current.get(name)!;
        if (!isFloatingPoint(shadow.dtype)) copyInto(shadow, t);
        // The temporaries go with the scope; the queued copy holds its own references.
        else scope(() => copyInto(shadow, shadow.mul(d).add(t.mul(1 - d))));
      }
    });
    ++this.numUpdates;
  }

  /** Writes the averaged weights into `model` (default: the tracked model), whose names must match. */
  copyTo(model: AnyModule = this.#model): void {
    const target = this.#matching('copyTo', model);
    noGrad(() => {
      for (const [name, shadow] of this.#shadow) copyInto(target.get(name)!, shadow);
    });
  }

  /** Saves a copy of the tracked model's current weights, for {@link restore}. */
  store(): void {
    const current = this.#matching('store', this.#model);
    this.#release(this.#stored);
    this.#stored = new Map([...current].map(([name, t]) => [name, noGrad(() => copyOf(t))]));
  }

  /** Writes the weights saved by {@link store} back into the tracked model, and frees them. */
  restore(): void {
    if (!this.#stored) throw new ArgumentError('ExponentialMovingAverage.restore: nothing stored (call store() first)');
    const current = this.#matching('restore', this.#model);
    const stored = this.#stored;
    noGrad(() => {
      for (const [name, saved] of stored) copyInto(current.get(name)!, saved);
    });
    this.#release(stored);
    this.#stored = null;
  }

  /** Frees the averaged copies (and any stored weights); the object cannot be used afterwards. */
  dispose(): void {
    this.#release(this.#shadow);
    this.#release(this.#stored);
    this.#stored = null;
  }

  #release(tensors: Map<string, Tensor> | null): void {
    for (const t of tensors?.values() ?? []) t.dispose();
  }

  /** `model`'s tensors by name, checked against the average's names and shapes before anything is written. */
  #matching(method: string, model: AnyModule): Map<string, Tensor> {
    const op = `ExponentialMovingAverage.${method}`;
    const current = entries(model);
    for (const [name, shadow] of this.#shadow) {
      if (shadow.isDisposed) throw new DisposedError(`${op}: the average has been disposed`);
      const t = current.get(name);
      if (!t) throw new KeyError(`${op}: the model has no parameter or buffer named ${name}`);
      if (t.shape.join() !== shadow.shape.join()) {
        throw new ArgumentError(`${op}: ${name} has shape [${t.shape.join(', ')}], its average [${shadow.shape.join(', ')}]`);
      }
    }
    return current;
  }
}
