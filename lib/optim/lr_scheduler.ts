/**
 * Learning-rate schedulers, as torch.optim.lr_scheduler: call `step()` once per epoch (or
 * per batch for OneCycleLR); each sets every group's lr from its initial value.
 * @module
 */
import { ArgumentError } from '../errors.js';
import { describe } from '../tensor/shape.js';
import type { Optimizer } from './optimizer.js';

type AnyOptimizer = Optimizer<{ lr: number }>;

/**
 * Base class of the epoch-stepped learning-rate schedulers, as
 * torch.optim.lr_scheduler.LRScheduler: each `step()` sets every group's lr from its
 * initial lr (`baseLrs`) and the step count.
 */
export abstract class LRScheduler {
  /** Each group's lr when the scheduler was made. */
  readonly baseLrs: number[];
  /** Steps taken (PyTorch's last_epoch, starting at 0). */
  lastEpoch = 0;

  /** Subclasses call {@link apply} at the end of their constructor, once their fields exist. */
  constructor(readonly optimizer: AnyOptimizer) {
    this.baseLrs = optimizer.paramGroups.map((g) => g.options.lr);
  }

  /** The learning rate of group `i` at the current step. */
  protected abstract lrAt(baseLr: number, i: number): number;

  /** Advances one step and updates the optimizer's learning rates. */
  step(): void {
    this.lastEpoch++;
    this.apply();
  }

  /** Current learning rates, one per group. */
  getLastLr(): number[] {
    return this.optimizer.paramGroups.map((g) => g.options.lr);
  }

  protected apply(): void {
    this.optimizer.paramGroups.forEach((g, i) => {
      g.options.lr = this.lrAt(this.baseLrs[i]!, i);
    });
  }
}

/** Multiplies by `gamma` every `stepSize` epochs. */
export class StepLR extends LRScheduler {
  constructor(optimizer: AnyOptimizer, readonly stepSize: number, readonly gamma = 0.1) {
    if (!Number.isInteger(stepSize) || stepSize < 1) throw new ArgumentError(`StepLR: expected stepSize >= 1, got ${stepSize}`);
    super(optimizer);
    this.apply();
  }
  protected lrAt(base: number): number {
    return base * this.gamma ** Math.floor(this.lastEpoch / this.stepSize);
  }
}

/** Multiplies by `gamma` at each milestone epoch. */
export class MultiStepLR extends LRScheduler {
  constructor(optimizer: AnyOptimizer, readonly milestones: readonly number[], readonly gamma = 0.1) {
    if (!Array.isArray(milestones) || milestones.some((m) => !Number.isInteger(m) || m < 0)) {
      throw new ArgumentError(`MultiStepLR: expected milestones to be a list of non-negative integer epochs, got ${describe(milestones)}`);
    }
    super(optimizer);
    this.apply();
  }
  protected lrAt(base: number): number {
    return base * this.gamma ** this.milestones.filter((m) => m <= this.lastEpoch).length;
  }
}

/** Cosine annealing from the base lr to `etaMin` over `tMax` epochs. */
export class CosineAnnealingLR extends LRScheduler {
  constructor(optimizer: AnyOptimizer, readonly tMax: number, readonly etaMin = 0) {
    if (!(tMax > 0)) throw new ArgumentError(`CosineAnnealingLR: expected tMax > 0, got ${tMax}`);
    super(optimizer);
    this.apply();
  }
  protected lrAt(base: number): number {
    return this.etaMin + ((base - this.etaMin) * (1 + Math.cos((Math.PI * this.lastEpoch) / this.tMax))) / 2;
  }
}

/** Linear warm-up (torch's LinearLR): the factor goes from `startFactor` to `endFactor` over `totalIters`. */
export class LinearWarmup extends LRScheduler {
  constructor(optimizer: AnyOptimizer, readonly startFactor = 1 / 3, readonly endFactor = 1, readonly totalIters = 5) {
    // torch.optim.lr_scheduler.LinearLR's checks; totalIters 0 would divide by zero.
    if (!(startFactor > 0 && startFactor <= 1)) throw new ArgumentError(`LinearWarmup: expected startFactor in (0, 1], got ${describe(startFactor)}`);
    if (!(endFactor >= 0 && endFactor <= 1)) throw new ArgumentError(`LinearWarmup: expected endFactor in [0, 1], got ${describe(endFactor)}`);
    if (!Number.isInteger(totalIters) || totalIters < 1) throw new ArgumentError(`LinearWarmup: expected totalIters to be an integer >= 1, got ${describe(totalIters)}`);
    super(optimizer);
    this.apply();
  }
  protected lrAt(base: number): number {
    const t = Math.min(this.lastEpoch, this.totalIters) / this.totalIters;
    return base * (this.startFactor + (this.endFactor - this.startFactor) * t);
  }
}

/** The one-cycle policy (Smith 2018), stepped once per batch, with cosine annealing. */
export class OneCycleLR extends LRScheduler {
  readonly initialLr: number;
  readonly minLr: number;
  constructor(
    optimizer: AnyOptimizer,
    readonly maxLr: number,
    readonly totalSteps: number,
    readonly options: { pctStart?: number; divFactor?: number; finalDivFactor?: number } = {},
  ) {
    // torch.optim.lr_scheduler.OneCycleLR's checks, before any group's lr is touched.
    if (!(maxLr > 0)) throw new ArgumentError(`OneCycleLR: expected maxLr > 0, got ${describe(maxLr)}`);
    if (!Number.isInteger(totalSteps) || totalSteps < 1) throw new ArgumentError(`OneCycleLR: expected totalSteps to be an integer >= 1, got ${describe(totalSteps)}`);
    const pct = options.pctStart ?? 0.3;
    if (!(pct >= 0 && pct <= 1)) throw new ArgumentError(`OneCycleLR: expected pctStart in [0, 1], got ${describe(options.pctStart)}`);
    for (const name of ['divFactor', 'finalDivFactor'] as const) {
      const v = options[name];
      if (v !== undefined && !(v > 0)) throw new ArgumentError(`OneCycleLR: expected ${name} > 0, got ${describe(v)}`);
    }
    const initial = maxLr / (options.divFactor ?? 25);
    // The schedule defines the rates: start the groups at the initial one.
    for (const g of optimizer.paramGroups) g.options.lr = initial;
    super(optimizer);
    this.initialLr = initial;
    this.minLr = initial / (options.finalDivFactor ?? 1e4);
    this.apply();
  }
  protected lrAt(): number {
    const initial = this.initialLr;
    const min = this.minLr;
    const up = (this.options.pctStart ?? 0.3) * this.totalSteps - 1;
    const down = this.totalSteps - 1 - up;
    const cos = (start: number, end: number, pct: number) => end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1);
    const t = this.lastEpoch;
    return t <= up ? cos(initial, this.maxLr, t / up) : cos(this.maxLr, min, (t - up) / down);
  }
}

/** Lowers the lr by `factor` when a metric stops improving for `patience` epochs. */
export class ReduceLROnPlateau {
  #best: number;
  #badEpochs = 0;
  #cooldown = 0;

  constructor(
    readonly optimizer: AnyOptimizer,
    readonly options: { mode?: 'min' | 'max'; factor?: number; patience?: number; threshold?: number; cooldown?: number; minLr?: number } = {},
  ) {
    const factor = options.factor ?? 0.1;
    if (!(factor >= 0 && factor < 1)) throw new ArgumentError(`ReduceLROnPlateau: expected factor in [0, 1), got ${describe(options.factor)}`);
    if (options.mode !== undefined && options.mode !== 'min' && options.mode !== 'max') {
      throw new ArgumentError(`ReduceLROnPlateau: expected mode 'min' or 'max', got ${describe(options.mode)}`);
    }
    for (const name of ['patience', 'cooldown'] as const) {
      const v = options[name];
      if (v !== undefined && !(Number.isInteger(v) && v >= 0)) throw new ArgumentError(`ReduceLROnPlateau: expected ${name} to be an integer >= 0, got ${describe(v)}`);
    }
    for (const name of ['threshold', 'minLr'] as const) {
      const v = options[name];
      if (v !== undefined && !(v >= 0)) throw new ArgumentError(`ReduceLROnPlateau: expected ${name} >= 0, got ${describe(v)}`);
    }
    this.#best = (options.mode ?? 'min') === 'min' ? Infinity : -Infinity;
  }

  /** Records this epoch's metric (e.g. validation loss). */
  step(metric: number): void {
    const mode = this.options.mode ?? 'min';
    const threshold = this.options.threshold ?? 1e-4;
    const better = mode === 'min' ? metric < this.#best * (1 - threshold) : metric > this.#best * (1 + threshold);
    if (better) {
      this.#best = metric;
      this.#badEpochs = 0;
    } else {
      this.#badEpochs++;
    }
    if (this.#cooldown > 0) {
      this.#cooldown--;
      this.#badEpochs = 0;
    }
    if (this.#badEpochs > (this.options.patience ?? 10)) {
      for (const g of this.optimizer.paramGroups) g.options.lr = Math.max(g.options.lr * (this.options.factor ?? 0.1), this.options.minLr ?? 0);
      this.#cooldown = this.options.cooldown ?? 0;
      this.#badEpochs = 0;
    }
  }
}
