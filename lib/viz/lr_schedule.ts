/**
 * The learning rate a scheduler gives over its steps, charted before training: the
 * scheduler is replayed on a throwaway optimizer, so the caller's optimizer and scheduler
 * are left as they are. Drawn with {@link renderVegaLite}.
 * @module
 */
import { ArgumentError } from '../errors.js';
import { LRScheduler, ReduceLROnPlateau } from '../optim/lr_scheduler.js';
import type { Optimizer } from '../optim/optimizer.js';
import { SGD } from '../optim/sgd.js';
import { zeros } from '../tensor/creation.js';
import { describe } from '../tensor/shape.js';
import { renderVegaLite, type RenderedChart } from './vega.js';

/** Builds a scheduler on the optimizer it is given, as in `(opt) => new optim.StepLR(opt, 10, 0.5)`. */
export type SchedulerFactory = (optimizer: Optimizer<{ lr: number }>) => LRScheduler;

/** Options of {@link lrSchedule}. */
export interface LrScheduleOptions {
  /** How many steps to chart: the learning rate after 0 (as constructed), 1, ..., steps - 1 `step()` calls. */
  steps: number;
  /** With a factory, the throwaway optimizer's lr (default 0.1); a scheduler instance brings its own `baseLrs`. */
  lr?: number;
  /** The chart's title (default 'Learning rate schedule'). */
  title?: string;
  /** Plot width in SVG units (default 480). */
  width?: number;
  /** Plot height in SVG units (default 240). */
  height?: number;
}

/** The chart of {@link lrSchedule} and the rates it shows. */
export interface LrScheduleChart extends RenderedChart {
  /** `lrs[step][group]`: each group's lr after `step` calls to `step()`, as `getLastLr()` returns it. */
  lrs: number[][];
}

const op = 'lrSchedule';

/**
 * A copy of `scheduler` acting on `optimizer`, rewound to before its first step. The
 * built-in schedulers keep their whole configuration in own properties, so a copy of those
 * with `lastEpoch` -1, stepped once, is the scheduler as constructed: torch's constructors
 * do the same with `last_epoch=-1`.
 */
function rewound(scheduler: LRScheduler, optimizer: Optimizer<{ lr: number }>): LRScheduler {
  const copy = Object.assign(Object.create(Object.getPrototypeOf(scheduler) as object) as LRScheduler, scheduler, { optimizer, lastEpoch: -1 });
  try {
    copy.step();
  } catch (error) {
    // A subclass with #private state cannot be copied this way.
    throw new ArgumentError(`${op}: could not replay ${scheduler.constructor.name} on a copy (${(error as Error).message}); pass a factory (optimizer) => new ${scheduler.constructor.name}(optimizer, ...) instead`);
  }
  return copy;
}

/**
 * Charts the learning rate a scheduler gives over `steps` steps, as SVG and PNG, and
 * returns the rates. The scheduler runs on a throwaway optimizer, never on yours. Pass
 * either
 * - a factory `(optimizer) => scheduler`, called with a throwaway SGD optimizer whose lr
 *   is `opts.lr` (the usual PyTorch recipe for plotting a schedule, without the
 *   boilerplate), or
 * - a scheduler you built on your own optimizer: it is replayed from step 0 on a copy, with
 *   its `baseLrs` (its own state and your optimizer's lrs stay unchanged).
 *
 * Step k on the x axis is the lr after k calls to `step()`: the lr of epoch k + 1 for the
 * epoch-stepped schedulers as `train.fit` steps them, of batch k + 1 for OneCycleLR.
 * ReduceLROnPlateau follows a metric, not a step count, and is refused (ArgumentError).
 *
 * @example
 * // What will StepLR do over 30 epochs?
 * const { png, lrs } = await viz.lrSchedule((opt) => new optim.StepLR(opt, 10, 0.5), { steps: 30, lr: 0.1 });
 * writeFileSync('lr.png', png); // lrs[10] is [0.05]
 * // Or the scheduler a run is about to use (its optimizer is not touched):
 * const scheduler = new optim.OneCycleLR(optimizer, 0.01, epochs * loader.length);
 * await viz.lrSchedule(scheduler, { steps: epochs * loader.length });
 */
export async function lrSchedule(scheduler: LRScheduler | SchedulerFactory, opts: LrScheduleOptions): Promise<LrScheduleChart> {
  const steps = opts?.steps;
  if (!Number.isInteger(steps) || steps < 1) throw new ArgumentError(`${op}: expected steps to be an integer >= 1, got ${describe(steps)}`);
  const lr = opts.lr ?? 0.1;
  if (!(typeof lr === 'number' && lr >= 0)) throw new ArgumentError(`${op}: expected lr >= 0, got ${describe(lr)}`);
  if (scheduler instanceof ReduceLROnPlateau) throw new ArgumentError(`${op}: ReduceLROnPlateau lowers the lr when a metric stalls, not at set steps: there is no schedule to chart`);
  if (!(scheduler instanceof LRScheduler) && typeof scheduler !== 'function') {
    throw new ArgumentError(`${op}: expected scheduler to be an LRScheduler or a function (optimizer) => LRScheduler, got ${describe(scheduler)}`);
  }

  const baseLrs = scheduler instanceof LRScheduler ? scheduler.baseLrs : [lr];
  // One placeholder parameter per group: nothing is ever computed with them.
  const params = baseLrs.map(() => zeros([1]));
  const lrs: number[][] = [];
  let name: string;
  try {
    const throwaway = new SGD(params.map((p, i) => ({ params: [p], lr: baseLrs[i]! })), { lr: baseLrs[0]! });
    const replay = scheduler instanceof LRScheduler ? rewound(scheduler, throwaway) : scheduler(throwaway);
    if (!(replay instanceof LRScheduler)) throw new ArgumentError(`${op}: expected the factory to return an LRScheduler, got ${describe(replay)}`);
    if (replay.optimizer !== throwaway) {
      throw new ArgumentError(`${op}: the factory built its scheduler on another optimizer; build it on the optimizer the factory is given, so that yours is not stepped`);
    }
    name = replay.constructor.name;
    for (let step = 0; step < steps; ++step) {
      if (step > 0) replay.step();
      lrs.push(replay.getLastLr());
    }
  } finally {
    for (const p of params) p.dispose();
  }

  const groups = baseLrs.length;
  const values = lrs.flatMap((row, step) => row.map((value, g) => ({ step, lr: value, group: `group ${g}` })));
  const chart = await renderVegaLite({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: opts.title ?? 'Learning rate schedule', subtitle: `${name} over ${steps} step${steps === 1 ? '' : 's'}` },
    width: opts.width ?? 480,
    height: opts.height ?? 240,
    background: 'white',
    data: { values },
    // The lr holds from one step to the next.
    mark: { type: 'line', interpolate: 'step-after', point: steps <= 60 },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'Step', axis: { tickMinStep: 1, format: 'd' } },
      y: { field: 'lr', type: 'quantitative', title: 'Learning rate', axis: { format: '~g' } },
      // A legend only when there is more than one group to tell apart.
      color: { field: 'group', type: 'nominal', title: null, legend: groups > 1 ? {} : null },
    },
  });
  return { ...chart, lrs };
}
