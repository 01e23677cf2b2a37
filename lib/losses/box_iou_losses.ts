/**
 * Box regression losses on paired boxes, as torchvision.ops: generalizedBoxIouLoss,
 * distanceBoxIouLoss, completeBoxIouLoss. Box `i` of boxes1 is compared with box `i` of
 * boxes2 only (not the N x M matrix of lib/ops/boxes.ts), with torchvision's formulas and
 * its `eps` placements. Composed from differentiable ops, inside scope() so that their
 * temporaries are freed at once rather than at garbage collection.
 * @module
 */
import { noGrad } from '../autograd/grad_mode.js';
import { ShapeError } from '../errors.js';
import { atan } from '../ops/atan.js';
import { checkEps } from '../ops/boxes.js';
import { where } from '../ops/compare.js';
import { maximum, minimum } from '../ops/elementwise.js';
import { checkDTypeIn, checkSameDevice, checkTensor } from '../ops/validate.js';
import { scope } from '../tensor/memory.js';
import type { Tensor } from '../tensor/tensor.js';
import { reduce, type Reduction } from './reduction.js';

/** Options of the box IoU losses. */
export interface BoxIouLossOptions {
  /** 'none' (default, as torchvision: one loss per pair), 'mean' or 'sum'. */
  reduction?: Reduction;
  /** Added to divisors to keep them from 0 (default 1e-7). */
  eps?: number;
}

/** The four coordinates `[...]` of boxes `[..., 4]`. */
type Corners = [Tensor, Tensor, Tensor, Tensor];

/**
 * Checks paired boxes (same shape `[..., 4]`, one device) and returns their coordinates in
 * float32: int32 and uint8 boxes are converted first, as torchvision's `_upcast_non_float`.
 */
function pairedCorners(op: string, boxes1: Tensor, boxes2: Tensor): [Corners, Corners] {
  const pair = { boxes1: checkTensor(op, 'boxes1', boxes1), boxes2: checkTensor(op, 'boxes2', boxes2) };
  for (const [name, t] of Object.entries(pair)) {
    checkDTypeIn(op, name, t, ['float32', 'int32', 'uint8']);
    if (t.ndim < 1 || t.shape[t.ndim - 1] !== 4) throw new ShapeError(`${op}: expected ${name} of shape [N, 4] or [4], got [${t.shape.join(', ')}]`);
  }
  checkSameDevice(op, pair);
  if (boxes1.shape.join(',') !== boxes2.shape.join(',')) {
    throw new ShapeError(`${op}: expected boxes2 of the shape of boxes1 [${boxes1.shape.join(', ')}] (boxes are compared pairwise), got [${boxes2.shape.join(', ')}]`);
  }
  const corners = (t: Tensor) => {
    const f = t.dtype === 'float32' ? t : t.to('float32');
    return [0, 1, 2, 3].map((c) => f.slice(-1, c, c + 1).squeeze(-1)) as Corners;
  };
  return [corners(boxes1), corners(boxes2)];
}

/** Intersection and union of each pair, as torchvision's `_loss_inter_union`. */
function interUnion([x1, y1, x2, y2]: Corners, [x1g, y1g, x2g, y2g]: Corners): { inter: Tensor; union: Tensor } {
  const [xk1, yk1, xk2, yk2] = [maximum(x1, x1g), maximum(y1, y1g), minimum(x2, x2g), minimum(y2, y2g)];
  // Zero unless the overlap is positive along both axes (torchvision fills a mask; the
  // gradient is zero outside it).
  const inter = where(yk2.gt(yk1), where(xk2.gt(xk1), xk2.sub(xk1).mul(yk2.sub(yk1)), 0), 0);
  const union = x2.sub(x1).mul(y2.sub(y1)).add(x2g.sub(x1g).mul(y2g.sub(y1g))).sub(inter);
  return { inter, union };
}

/** Width and height of the smallest box enclosing each pair. */
function enclosing([x1, y1, x2, y2]: Corners, [x1g, y1g, x2g, y2g]: Corners): { w: Tensor; h: Tensor } {
  return { w: maximum(x2, x2g).sub(minimum(x1, x1g)), h: maximum(y2, y2g).sub(minimum(y1, y1g)) };
}

/** `reduction` of per-pair losses; 'mean' of no pairs is 0 (torchvision: `0.0 * loss.sum()`), not NaN. */
function reduceBoxLoss(op: string, loss: Tensor, reduction: Reduction | undefined): Tensor<'float32'> {
  if (reduction === 'mean' && loss.numel === 0) return loss.sum().mul(0) as Tensor<'float32'>;
  return reduce(op, loss, reduction ?? 'none');
}

/** The distance-IoU loss and the IoU of each pair, as torchvision's `_diou_iou_loss`. */
function distanceLossAndIou(a: Corners, b: Corners, eps: number): { loss: Tensor; iou: Tensor } {
  const { inter, union } = interUnion(a, b);
  const iou = inter.div(union.add(eps));
  const { w, h } = enclosing(a, b);
  const diagonal = w.square().add(h.square()).add(eps);
  const [x1, y1, x2, y2] = a;
  const [x1g, y1g, x2g, y2g] = b;
  const centres = x2.add(x1).div(2).sub(x1g.add(x2g).div(2)).square().add(y2.add(y1).div(2).sub(y1g.add(y2g).div(2)).square());
  return { loss: iou.neg().add(1).add(centres.div(diagonal)), iou };
}

/**
 * GIoU loss `1 - GIoU` of paired boxes `[N, 4]` and `[N, 4]` (or `[4]`; xyxy), as
 * `torchvision.ops.generalized_box_iou_loss`: `IoU = inter / (union + eps)` and the
 * enclosing-box term `(C - union) / (C + eps)`. Symmetric in its arguments. Int boxes are
 * converted to float32. Differentiable.
 *
 * @example
 * const loss = generalizedBoxIouLoss(predicted, matchedTruth, { reduction: 'mean' });
 */
export function generalizedBoxIouLoss(boxes1: Tensor, boxes2: Tensor, opts: BoxIouLossOptions = {}): Tensor<'float32'> {
  const op = 'generalizedBoxIouLoss';
  const eps = opts.eps ?? 1e-7;
  checkEps(op, eps);
  return scope(() => {
    const [a, b] = pairedCorners(op, boxes1, boxes2);
    const { inter, union } = interUnion(a, b);
    const iou = inter.div(union.add(eps));
    const { w, h } = enclosing(a, b);
    const area = w.mul(h);
    const giou = iou.sub(area.sub(union).div(area.add(eps)));
    return reduceBoxLoss(op, giou.neg().add(1), opts.reduction);
  });
}

/**
 * DIoU loss of paired boxes `[N, 4]` and `[N, 4]` (or `[4]`; xyxy), as
 * `torchvision.ops.distance_box_iou_loss`: `1 - IoU + d^2 / (c^2 + eps)`, with `d` the
 * distance of the centres and `c` the diagonal of the enclosing box. Differentiable.
 *
 * @example
 * const loss = distanceBoxIouLoss(predicted, matchedTruth, { reduction: 'sum' });
 */
export function distanceBoxIouLoss(boxes1: Tensor, boxes2: Tensor, opts: BoxIouLossOptions = {}): Tensor<'float32'> {
  const op = 'distanceBoxIouLoss';
  const eps = opts.eps ?? 1e-7;
  checkEps(op, eps);
  return scope(() => {
    const [a, b] = pairedCorners(op, boxes1, boxes2);
    return reduceBoxLoss(op, distanceLossAndIou(a, b, eps).loss, opts.reduction);
  });
}

/**
 * CIoU loss of paired boxes `[N, 4]` and `[N, 4]` (or `[4]`; xyxy), as
 * `torchvision.ops.complete_box_iou_loss`: the DIoU loss plus `alpha * v`, with
 * `v = 4 / pi^2 * (atan(w2 / h2) - atan(w1 / h1))^2` and `alpha = v / (1 - IoU + v + eps)`
 * held constant in the gradient (no_grad in torchvision). As in torchvision 0.14, `eps`
 * enters only `alpha`: the DIoU part uses its default 1e-7. Differentiable.
 *
 * @example
 * const loss = completeBoxIouLoss(predicted, matchedTruth, { reduction: 'mean' });
 */
export function completeBoxIouLoss(boxes1: Tensor, boxes2: Tensor, opts: BoxIouLossOptions = {}): Tensor<'float32'> {
  const op = 'completeBoxIouLoss';
  const eps = opts.eps ?? 1e-7;
  checkEps(op, eps);
  return scope(() => {
    const [a, b] = pairedCorners(op, boxes1, boxes2);
    const { loss: diouLoss, iou } = distanceLossAndIou(a, b, 1e-7);
    const aspect = ([x1, y1, x2, y2]: Corners) => atan(x2.sub(x1).div(y2.sub(y1)));
    const v = aspect(b).sub(aspect(a)).square().mul(4 / Math.PI ** 2);
    const alpha = noGrad(() => v.div(iou.neg().add(1).add(v).add(eps)));
    return reduceBoxLoss(op, diouLoss.add(alpha.mul(v)), opts.reduction);
  });
}
