/**
 * Soft-NMS (Bodla et al., "Soft-NMS — Improving Object Detection With One Line of Code",
 * 2017): instead of dropping every box that overlaps a selected one, it lowers their scores
 * by their overlap, so a second object close to the first survives with a lower score.
 * torchvision has no soft-NMS; this follows the paper (and mmcv's `soft_nms`). The
 * selection loop runs natively (native/src/cpu/boxes.cc, native/src/cuda/boxes.cu; the
 * decay and IoU math in native/src/kernels/boxes.h).
 * @module
 */
import { noGrad } from '../autograd/grad_mode.js';
import { ArgumentError, ShapeError } from '../errors.js';
import { native } from '../native.js';
import { empty } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkDTypeIn, checkSameDevice, checkTensor } from './validate.js';

/** Options of {@link softNms}. */
export interface SoftNmsOptions {
  /** `'gaussian'` (default): s *= exp(-IoU² / sigma); `'linear'`: s *= 1 - IoU where IoU > iouThreshold. */
  method?: 'linear' | 'gaussian';
  /** Width of the Gaussian decay (default 0.5). */
  sigma?: number;
  /** Overlap above which the linear method decays a score (default 0.3). */
  iouThreshold?: number;
  /** Boxes whose (decayed) score falls below this are dropped (default 0.001). */
  scoreThreshold?: number;
}

/** What {@link softNms} keeps: indices into the input boxes and their decayed scores, by selection order. */
export interface SoftNmsResult {
  /** int32 `[K]` indices of the kept boxes, highest decayed score first. */
  indices: Tensor<'int32'>;
  /** float32 `[K]` the kept boxes' scores after decay (non-increasing). */
  scores: Tensor<'float32'>;
}

const METHODS = { linear: 0, gaussian: 1 } as const;

interface SoftNmsPlan {
  order: Tensor<'int32'>;
  selected: Tensor<'float32'>;
  count: Tensor<'int32'>;
}

function planSoftNms(op: string, boxes: Tensor, scores: Tensor, opts: SoftNmsOptions): SoftNmsPlan {
  const b = checkTensor(op, 'boxes', boxes);
  checkDTypeIn(op, 'boxes', b, ['float32']);
  if (b.ndim !== 2 || b.shape[1] !== 4) throw new ShapeError(`${op}: expected boxes of shape [N, 4], got [${b.shape.join(', ')}]`);
  const s = checkTensor(op, 'scores', scores);
  checkDTypeIn(op, 'scores', s, ['float32']);
  const n = b.shape[0]!;
  if (s.ndim !== 1 || s.shape[0] !== n) throw new ShapeError(`${op}: expected scores of shape [${n}], got [${s.shape.join(', ')}]`);
  checkSameDevice(op, { boxes: b, scores: s });
  const method = opts.method ?? 'gaussian';
  if (!(method in METHODS)) throw new ArgumentError(`${op}: expected method 'linear' or 'gaussian', got ${String(method)}`);
  const params = { method: METHODS[method], sigma: opts.sigma ?? 0.5, iouThreshold: opts.iouThreshold ?? 0.3, scoreThreshold: opts.scoreThreshold ?? 0.001 };
  if (typeof params.sigma !== 'number' || !(params.sigma > 0)) throw new ArgumentError(`${op}: expected sigma > 0, got ${String(params.sigma)}`);
  for (const name of ['iouThreshold', 'scoreThreshold'] as const) {
    if (typeof params[name] !== 'number' || Number.isNaN(params[name])) throw new ArgumentError(`${op}: expected ${name} to be a number, got ${String(params[name])}`);
  }
  return noGrad(() => {
    const plan = { order: empty(op, [n], 'int32', b.device), selected: empty(op, [n], 'float32', b.device), count: empty(op, [1], 'int32', b.device) };
    const cb = b.contiguous(), cs = s.contiguous();
    native.softNms(op, params, plan.order._native(op, 'order'), plan.selected._native(op, 'selectedScores'), plan.count._native(op, 'count'), cb._native(op, 'boxes'), cs._native(op, 'scores'));
    if (cb !== b) cb.dispose();
    if (cs !== s) cs.dispose();
    return plan;
  });
}

/** The first `count` selections of the plan; frees the rest of it. */
function kept(plan: SoftNmsPlan, count: number): SoftNmsResult {
  // Dense prefixes: views that hold the storage on after the plan's handles go.
  const result = { indices: plan.order.slice(0, 0, count), scores: plan.selected.slice(0, 0, count) };
  plan.order.dispose();
  plan.selected.dispose();
  plan.count.dispose();
  return result;
}

/**
 * Soft-NMS over boxes `[N, 4]` (xyxy) with scores `[N]`: repeatedly keeps the box with the
 * highest remaining score (ties: the lower index) and decays every other box's score by its
 * IoU with it; boxes whose score falls below `scoreThreshold` are dropped. No gradient. The
 * number kept is read back from the device, so this call waits for the stream:
 * {@link softNmsAsync} waits without blocking.
 *
 * @example
 * const { indices, scores: decayed } = softNms(boxes, scores, { method: 'gaussian', sigma: 0.5 });
 */
export function softNms(boxes: Tensor, scores: Tensor, opts: SoftNmsOptions = {}): SoftNmsResult {
  const plan = planSoftNms('softNms', boxes, scores, opts);
  return kept(plan, plan.count.dataSync()[0]!);
}

/**
 * {@link softNms} that leaves the event loop free while the device works.
 * @example const { indices } = await softNmsAsync(boxes, scores, { method: 'linear', iouThreshold: 0.5 });
 */
export async function softNmsAsync(boxes: Tensor, scores: Tensor, opts: SoftNmsOptions = {}): Promise<SoftNmsResult> {
  const plan = planSoftNms('softNmsAsync', boxes, scores, opts);
  return kept(plan, (await plan.count.data())[0]!);
}
