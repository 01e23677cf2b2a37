/**
 * Dynamic loss scaling for mixed precision, as `torch.cuda.amp.GradScaler`: the loss is
 * multiplied by a large scale so that small float16 gradients do not flush to zero; before
 * the optimizer steps, the gradients are divided by it again and checked, and a step whose
 * gradients hold an inf or NaN is skipped while the scale shrinks. After `growthInterval`
 * clean steps in a row the scale grows. Like `torch.amp.GradScaler(device)`, it serves one
 * device type — by default the available one — and one asked to serve 'cuda' on a machine
 * without CUDA warns once and disables itself, as PyTorch's does.
 * @module
 */
import { ArgumentError } from '../errors.js';
import { unscaleGradients } from '../ops/optimizer_step.js';
import { isDense, type Optimizer } from '../optim/optimizer.js';
import { zeros } from '../tensor/creation.js';
import type { Device } from '../tensor/device.js';
import { keep } from '../tensor/memory.js';
import type { Tensor } from '../tensor/tensor.js';
import { availableDeviceType, usableDeviceType, type AmpDeviceType } from './device_type.js';

type AnyOptimizer = Optimizer<{ lr: number }>;

/** Options of {@link GradScaler} (PyTorch's defaults). */
export interface GradScalerOptions {
  /** Starting scale (default 2^16). */
  initScale?: number;
  /** Factor the scale grows by after `growthInterval` clean steps (default 2). */
  growthFactor?: number;
  /** Factor the scale shrinks by after a step with inf/NaN gradients (default 0.5). */
  backoffFactor?: number;
  /** Clean steps in a row before the scale grows (default 2000). */
  growthInterval?: number;
  /** false makes every method a pass-through: scale() returns the loss, step() steps (default true). */
  enabled?: boolean;
  /**
   * The device type whose training this scaler serves (default: 'cuda' when
   * `cuda.isAvailable()`, else 'cpu'). 'cuda' on a machine without CUDA warns once and
   * disables the scaler, as PyTorch's.
   */
  device?: AmpDeviceType;
}

/** The scaler's state, for checkpoints ({@link GradScaler.stateDict}). */
export interface GradScalerState {
  /** The current loss scale. */
  scale: number;
  /** Factor the scale grows by. */
  growthFactor: number;
  /** Factor the scale shrinks by. */
  backoffFactor: number;
  /** Clean steps in a row before the scale grows. */
  growthInterval: number;
  /** Clean steps in a row so far, in [0, growthInterval). */
  growthTracker: number;
}

/**
 * Loss scaling with skipped steps on overflow.
 *
 * @example
 * const scaler = new GradScaler();
 * optimizer.zeroGrad();
 * const loss = autocast(() => crossEntropy(model.call(x), y));
 * scaler.scale(loss).backward();
 * scaler.step(optimizer); // unscales, skips the step if a gradient is inf/NaN
 * scaler.update();
 */
export class GradScaler {
  #scale: number;
  #growthFactor: number;
  #backoffFactor: number;
  #growthInterval: number;
  #growthTracker = 0;
  readonly #enabled: boolean;
  /** Optimizers unscaled since the last update(), with whether their gradients were finite. */
  readonly #unscaled = new Map<AnyOptimizer, boolean>();

  constructor(options: GradScalerOptions = {}) {
    this.#scale = positive('initScale', options.initScale ?? 2 ** 16);
    this.#growthFactor = positive('growthFactor', options.growthFactor ?? 2);
    this.#backoffFactor = positive('backoffFactor', options.backoffFactor ?? 0.5);
    if (this.#growthFactor <= 1) throw new ArgumentError(`GradScaler: expected growthFactor > 1, got ${this.#growthFactor}`);
    if (this.#backoffFactor >= 1) throw new ArgumentError(`GradScaler: expected backoffFactor < 1, got ${this.#backoffFactor}`);
    const interval = options.growthInterval ?? 2000;
    if (!Number.isInteger(interval) || interval < 1) {
      throw new ArgumentError(`GradScaler: expected growthInterval to be a positive integer, got ${interval}`);
    }
    this.#growthInterval = interval;
    const device = options.device ?? availableDeviceType();
    if (device !== 'cuda' && device !== 'cpu') throw new ArgumentError(`GradScaler: expected device 'cuda' or 'cpu', got ${String(device)}`);
    this.#enabled = (options.enabled ?? true) && usableDeviceType('GradScaler', device);
  }

  /** Whether scaling is on. */
  isEnabled(): boolean {
    return this.#enabled;
  }

  /** The current scale (1 when disabled). */
  getScale(): number {
    return this.#enabled ? this.#scale : 1;
  }

  /** `loss * scale`, recorded for backward (the loss itself when disabled). */
  scale<T extends Tensor>(loss: T): T {
    if (!this.#enabled) return loss;
    return loss.mul(this.#scale) as T;
  }

  /**
   * Divides the gradients of `optimizer`'s parameters by the scale, in place, and notes
   * whether any is inf/NaN. Call it before clipping gradients; step() calls it when you did
   * not. Once per optimizer between update()s.
   */
  unscale_(optimizer: AnyOptimizer): void {
    if (!this.#enabled) return;
    if (this.#unscaled.has(optimizer)) {
      throw new ArgumentError('GradScaler.unscale_: already called on this optimizer since the last update()');
    }
    // One fused call per device unscales every gradient in place and flags inf/NaN
    // (PyTorch's _amp_foreach_non_finite_check_and_unscale_); one read per device follows.
    const byDevice = new Map<Device, Tensor[]>();
    for (const group of optimizer.paramGroups) {
      for (const p of group.params) {
        if (p.grad === null) continue;
        if (!isDense(p.grad)) {
          const dense = keep(p.grad.contiguous()) as Tensor<'float32'>;
          p.grad.dispose();
          p.grad = dense;
        }
        byDevice.set(p.grad.device, [...(byDevice.get(p.grad.device) ?? []), p.grad]);
      }
    }
    let finite = true;
    for (const [device, grads] of byDevice) {
      const foundInf = zeros([1], { device });
      unscaleGradients(grads, 1 / this.#scale, foundInf);
      if (foundInf.item() !== 0) finite = false;
      foundInf.dispose();
    }
    this.#unscaled.set(optimizer, finite);
  }

  /**
   * Unscales (if not done yet) and runs `optimizer.step()` unless a gradient was inf/NaN.
   * Returns whether the step ran.
   */
  step(optimizer: AnyOptimizer): boolean {
    if (!this.#enabled) {
      optimizer.step();
      return true;
    }
    if (!this.#unscaled.has(optimizer)) this.unscale_(optimizer);
    if (!this.#unscaled.get(optimizer)) return false;
    optimizer.step();
    return true;
  }

  /**
   * Adjusts the scale after the iteration's step()s: shrinks it if any optimizer saw
   * inf/NaN, grows it after `growthInterval` clean iterations; or sets it to `newScale`.
   */
  update(newScale?: number): void {
    if (!this.#enabled) return;
    if (newScale !== undefined) {
      this.#scale = positive('update', newScale);
    } else if (this.#unscaled.size === 0) {
      throw new ArgumentError('GradScaler.update: no step() or unscale_() since the last update()');
    } else if ([...this.#unscaled.values()].some((finite) => !finite)) {
      this.#scale *= this.#backoffFactor;
      this.#growthTracker = 0;
    } else if (++this.#growthTracker === this.#growthInterval) {
      this.#scale *= this.#growthFactor;
      this.#growthTracker = 0;
    }
    this.#unscaled.clear();
  }

  /** The scale and counters, as `state_dict()`. */
  stateDict(): GradScalerState {
    return {
      scale: this.#scale,
      growthFactor: this.#growthFactor,
      backoffFactor: this.#backoffFactor,
      growthInterval: this.#growthInterval,
      growthTracker: this.#growthTracker,
    };
  }

  /** Restores {@link stateDict}'s values. */
  loadStateDict(state: GradScalerState): void {
    const restored = new GradScaler({
      initScale: state.scale,
      growthFactor: state.growthFactor,
      backoffFactor: state.backoffFactor,
      growthInterval: state.growthInterval,
    });
    if (!Number.isInteger(state.growthTracker) || state.growthTracker < 0 || state.growthTracker >= state.growthInterval) {
      throw new ArgumentError(`GradScaler.loadStateDict: growthTracker ${state.growthTracker} is outside [0, ${state.growthInterval})`);
    }
    this.#scale = restored.#scale;
    this.#growthFactor = restored.#growthFactor;
    this.#backoffFactor = restored.#backoffFactor;
    this.#growthInterval = restored.#growthInterval;
    this.#growthTracker = state.growthTracker;
  }
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new ArgumentError(`GradScaler: expected ${name} to be a positive number, got ${value}`);
  return value;
}
