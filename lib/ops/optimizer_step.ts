/**
 * The fused optimizer primitives (native/src/kernels/optim.h): one SGD / Adam / RMSprop
 * update over many parameters per call, written in place into parameters and state, and
 * the mixed-precision unscale with its inf/NaN check. Used by lib/optim and
 * lib/amp/grad_scaler; nothing here records a graph.
 * @module
 */
import { ArgumentError, ShapeError } from '../errors.js';
import { native, type NativeOptimizerEntry } from '../native.js';
import type { NativeOptimizerStep } from '../native_primitives.js';
import { emptyLike } from '../tensor/creation.js';
import { sameDims } from '../tensor/layout.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkDTypeIn, checkSameDevice } from './validate.js';

/**
 * The settings of one fused update, as the kernel takes them: `kind` 0 = SGD, 1 = Adam,
 * 2 = RMSprop, and every hyper-parameter (unused ones 0). @internal
 */
export type OptimizerStepSettings = NativeOptimizerStep;

/** One parameter of a fused update: the tensors the kernel reads and writes. @internal */
export interface OptimizerStepEntry {
  /** The parameter, updated in place. */
  param: Tensor;
  /** Its gradient, with the parameter's shape and memory layout. */
  grad: Tensor;
  /** Up to three state tensors in the parameter's layout (momentum, moments, ...), null when unused. */
  slots: readonly [Tensor | null, Tensor | null, Tensor | null];
}

/**
 * Applies the update `settings` to every entry in one native call, in place. All entries
 * must be float32 on one device, with gradient and state laid out as their parameter
 * (the kernel walks them as flat arrays side by side).
 * @internal
 */
export function optimizerStep(settings: OptimizerStepSettings, entries: readonly OptimizerStepEntry[]): void {
  const op = 'optimizer.step';
  if (entries.length === 0) return;
  const device = entries[0]!.param.device;
  const natives: NativeOptimizerEntry[] = entries.map(({ param, grad, slots }, i) => {
    // The messages are built only on failure: this runs for every parameter of every step.
    if (param.dtype !== 'float32') checkDTypeIn(op, `param ${i}`, param, ['float32']);
    if (grad.dtype !== 'float32') checkDTypeIn(op, `grad ${i}`, grad, ['float32']);
    if (!sameDims(grad.shape, param.shape)) {
      throw new ShapeError(`${op}: expected grad ${i} of its parameter's shape [${param.shape.join(', ')}], got [${grad.shape.join(', ')}]`);
    }
    if (param.device !== device || grad.device !== device) {
      checkSameDevice(op, { 'param 0': { device }, [`param ${i}`]: param, [`grad ${i}`]: grad });
    }
    const slot = (t: Tensor | null) => (t === null ? null : t._native(op, 'state'));
    return [param._native(op, 'param'), grad._native(op, 'grad'), slot(slots[0]), slot(slots[1]), slot(slots[2])];
  });
  native.optimizerStep(op, settings, natives);
}

/**
 * Zeros of `param`'s shape in `param`'s memory layout: a state tensor the fused kernel can
 * walk side by side with its parameter.
 * @internal
 */
export function zeroStateLike(param: Tensor): Tensor<'float32'> {
  const state = emptyLike('optimizer.step', param, param.shape, 'float32');
  native.fill('optimizer.step', state._native('optimizer.step', 'out'), 0);
  return state;
}

/**
 * Multiplies every gradient in `grads` by `inverseScale`, in place, and sets `foundInf`
 * (float32 `[1]`) to 1 if any element is inf or NaN, in one native call, as PyTorch's
 * `_amp_foreach_non_finite_check_and_unscale_`. All on `foundInf`'s device; dense gradients.
 * @internal
 */
export function unscaleGradients(grads: readonly Tensor[], inverseScale: number, foundInf: Tensor): void {
  const op = 'GradScaler.unscale_';
  if (!Number.isFinite(inverseScale)) throw new ArgumentError(`${op}: expected a finite inverse scale, got ${inverseScale}`);
  checkDTypeIn(op, 'foundInf', foundInf, ['float32']);
  grads.forEach((g, i) => checkSameDevice(op, { foundInf, [`grad ${i}`]: g }));
  native.unscaleGradients(
    op,
    grads.map((g) => g._native(op, 'grad')),
    inverseScale,
    foundInf._native(op, 'foundInf'),
  );
}
