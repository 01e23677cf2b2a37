/**
 * Box ops, as torchvision.ops: `boxArea`, `boxIou`, `generalizedBoxIou`, `distanceBoxIou`,
 * `nms`, `batchedNms`, `boxConvert`.
 * Boxes are float32 `[K, 4]` in xyxy format with x1 <= x2 and y1 <= y2 (pixels or any unit).
 * The IoU math lives once in native/src/kernels/boxes.h (CPU and CUDA).
 * @module
 */
import { noGrad } from '../autograd/grad_mode.js';
import { ArgumentError, ShapeError } from '../errors.js';
import { native } from '../native.js';
import { empty, fromTypedArray } from '../tensor/creation.js';
import type { Device } from '../tensor/device.js';
import { scope } from '../tensor/memory.js';
import type { Tensor } from '../tensor/tensor.js';
import { argsort, sort } from './sort.js';
import { indexSelect } from './indexing.js';
import { maximum, minimum } from './elementwise.js';
import { cat } from './shape.js';
import { clamp } from './statistics.js';
import { checkDTypeIn, checkSameDevice, checkTensor } from './validate.js';

/** Box formats of {@link boxConvert}: corners, corner + size, centre + size. */
export type BoxFormat = 'xyxy' | 'xywh' | 'cxcywh';

function checkBoxes(op: string, name: string, value: unknown): Tensor<'float32'> {
  const boxes = checkTensor(op, name, value);
  checkDTypeIn(op, name, boxes, ['float32']);
  if (boxes.ndim !== 2 || boxes.shape[1] !== 4) throw new ShapeError(`${op}: expected ${name} of shape [K, 4], got [${boxes.shape.join(', ')}]`);
  return boxes as Tensor<'float32'>;
}

/** The four columns of boxes `[K, 4]`, each `[K]`. */
function columns(boxes: Tensor): [Tensor, Tensor, Tensor, Tensor] {
  return [0, 1, 2, 3].map((c) => boxes.slice(1, c, c + 1).squeeze(1)) as [Tensor, Tensor, Tensor, Tensor];
}

/**
 * Area of each box `[K, 4]` (xyxy) -> `[K]`. Differentiable.
 *
 * @example
 * boxArea(tensor([[0, 0, 2, 3]], { dtype: 'float32' })).tolist() // [6]
 */
export function boxArea(boxes: Tensor): Tensor<'float32'> {
  const [x1, y1, x2, y2] = columns(checkBoxes('boxArea', 'boxes', boxes));
  return x2.sub(x1).mul(y2.sub(y1)) as Tensor<'float32'>;
}

/**
 * Pairwise intersection over union `[N, M]` of boxes1 `[N, 4]` and boxes2 `[M, 4]` (xyxy),
 * as `torchvision.ops.box_iou`. A pair of empty boxes has IoU 0 (torchvision: NaN). Not
 * differentiable (use it for matching and evaluation).
 */
export function boxIou(boxes1: Tensor, boxes2: Tensor): Tensor<'float32'> {
  const a = checkBoxes('boxIou', 'boxes1', boxes1);
  const b = checkBoxes('boxIou', 'boxes2', boxes2);
  checkSameDevice('boxIou', { boxes1: a, boxes2: b });
  return noGrad(() => {
    const ca = a.contiguous(), cb = b.contiguous();
    const out = empty('boxIou', [a.shape[0]!, b.shape[0]!], 'float32', a.device);
    native.boxIou('boxIou', out._native('boxIou', 'out'), ca._native('boxIou', 'boxes1'), cb._native('boxIou', 'boxes2'));
    if (ca !== a) ca.dispose();
    if (cb !== b) cb.dispose();
    return out;
  });
}

/** Pairwise `[N, M]` pieces of IoU from differentiable ops, plus the enclosing box's size. */
function pairwise(op: string, boxes1: Tensor, boxes2: Tensor) {
  const a = checkBoxes(op, 'boxes1', boxes1);
  const b = checkBoxes(op, 'boxes2', boxes2);
  checkSameDevice(op, { boxes1: a, boxes2: b });
  const [ax1, ay1, ax2, ay2] = columns(a).map((c) => c.unsqueeze(1)) as [Tensor, Tensor, Tensor, Tensor];
  const [bx1, by1, bx2, by2] = columns(b).map((c) => c.unsqueeze(0)) as [Tensor, Tensor, Tensor, Tensor];
  const interW = clamp(minimum(ax2, bx2).sub(maximum(ax1, bx1)), 0);
  const interH = clamp(minimum(ay2, by2).sub(maximum(ay1, by1)), 0);
  const inter = interW.mul(interH);
  const union = boxArea(a).unsqueeze(1).add(boxArea(b).unsqueeze(0)).sub(inter);
  const enclosingW = maximum(ax2, bx2).sub(minimum(ax1, bx1));
  const enclosingH = maximum(ay2, by2).sub(minimum(ay1, by1));
  const centres = ax1.add(ax2).sub(bx1.add(bx2)).div(2).square().add(ay1.add(ay2).sub(by1.add(by2)).div(2).square());
  return { iou: inter.div(union), union, enclosingW, enclosingH, centres };
}

/**
 * Generalized IoU `[N, M]` of boxes1 `[N, 4]` and boxes2 `[M, 4]` (xyxy), as
 * `torchvision.ops.generalized_box_iou`: IoU minus the share of the enclosing box that the
 * union leaves empty, in [-1, 1]. Differentiable (the GIoU loss is `1 - diagonal`).
 */
export function generalizedBoxIou(boxes1: Tensor, boxes2: Tensor): Tensor<'float32'> {
  const { iou, union, enclosingW, enclosingH } = pairwise('generalizedBoxIou', boxes1, boxes2);
  const enclosing = enclosingW.mul(enclosingH);
  return iou.sub(enclosing.sub(union).div(enclosing)) as Tensor<'float32'>;
}

/**
 * Distance IoU `[N, M]`, as `torchvision.ops.distance_box_iou`: IoU minus the squared
 * distance of the box centres over the squared diagonal of the enclosing box (`eps` keeps
 * the quotient finite). Differentiable.
 */
export function distanceBoxIou(boxes1: Tensor, boxes2: Tensor, eps = 1e-7): Tensor<'float32'> {
  const { iou, enclosingW, enclosingH, centres } = pairwise('distanceBoxIou', boxes1, boxes2);
  return iou.sub(centres.div(enclosingW.square().add(enclosingH.square()).add(eps))) as Tensor<'float32'>;
}

/**
 * NMS as queued on the device: the keep mask over the boxes in visiting order, and how to
 * turn the kept positions of that order into the result's indices.
 */
interface NmsPlan {
  keep: Tensor<'uint8'>;
  /** The result from the kept positions (int32, ascending); frees what the plan holds. */
  finish: (positions: Tensor<'int32'>) => Tensor<'int32'>;
}

function checkNmsArguments(op: string, boxes: Tensor, scores: Tensor, iouThreshold: number): [Tensor<'float32'>, Tensor] {
  const b = checkBoxes(op, 'boxes', boxes);
  const s = checkTensor(op, 'scores', scores);
  checkDTypeIn(op, 'scores', s, ['float32']);
  if (s.ndim !== 1 || s.shape[0] !== b.shape[0]) throw new ShapeError(`${op}: expected scores of shape [${b.shape[0]}], got [${s.shape.join(', ')}]`);
  checkSameDevice(op, { boxes: b, scores: s });
  if (typeof iouThreshold !== 'number' || Number.isNaN(iouThreshold)) throw new ArgumentError(`${op}: expected iouThreshold to be a number, got ${String(iouThreshold)}`);
  return [b, s];
}

/** Validates and queues NMS (per category when `idxs` is given); null when there are no boxes. */
function planNms(op: string, boxes: Tensor, scores: Tensor, iouThreshold: number, idxs?: Tensor): NmsPlan | null {
  const [b, s] = checkNmsArguments(op, boxes, scores, iouThreshold);
  let ids: Tensor | undefined;
  if (idxs !== undefined) {
    ids = checkTensor(op, 'idxs', idxs);
    checkDTypeIn(op, 'idxs', ids, ['int32']);
    if (ids.ndim !== 1 || ids.shape[0] !== b.shape[0]) throw new ShapeError(`${op}: expected idxs of shape [${b.shape[0]}], got [${ids.shape.join(', ')}]`);
    checkSameDevice(op, { boxes: b, idxs: ids });
  }
  const n = b.shape[0]!;
  if (n === 0) return null;
  return noGrad(() => {
    const byScore = argsort(s, 0, { descending: true }); // ties: the lower index first
    const keep = empty(op, [n], 'uint8', b.device);
    if (ids === undefined) {
      const sorted = indexSelect(b, 0, byScore); // contiguous
      native.nms(op, keep._native(op, 'keep'), sorted._native(op, 'boxes'), null, iouThreshold);
      sorted.dispose();
      return { keep, finish: (positions) => disposingAfter([byScore], () => indexSelect(byScore, 0, positions)) };
    }
    // Per category: visit the boxes grouped by category (a stable sort keeps each group in
    // score order), so the kernel compares a box only with the rest of its own group rather
    // than with every box, as torchvision's coordinate-offset trick makes it do.
    const sortedIds = indexSelect(ids, 0, byScore);
    const grouping = argsort(sortedIds, 0);
    const order = indexSelect(byScore, 0, grouping);
    const [sorted, categories] = [indexSelect(b, 0, order), indexSelect(sortedIds, 0, grouping)];
    native.nms(op, keep._native(op, 'keep'), sorted._native(op, 'boxes'), categories._native(op, 'idxs'), iouThreshold);
    for (const t of [sortedIds, order, sorted, categories]) t.dispose();
    // Back to score order across categories: a kept box's place in byScore is grouping[position].
    return {
      keep,
      finish: (positions) => disposingAfter([byScore, grouping], () => indexSelect(byScore, 0, sort(indexSelect(grouping, 0, positions)).values)),
    };
  });
}

/** fn's result; then `held` are disposed (also when fn throws). */
function disposingAfter<T>(held: readonly Tensor[], fn: () => T): T {
  try {
    return fn();
  } finally {
    for (const t of held) t.dispose();
  }
}

/** The result's indices from the plan's keep mask (read back from the device); frees the plan. */
function keptIndices(plan: NmsPlan, mask: Uint8Array, device: Device): Tensor<'int32'> {
  const positions = Int32Array.from({ length: mask.reduce((count, v) => count + v, 0) });
  for (let i = 0, k = 0; i < mask.length; ++i) if (mask[i]) positions[k++] = i;
  plan.keep.dispose();
  return scope(() => plan.finish(fromTypedArray(positions, [positions.length], { device })));
}

/**
 * Non-maximum suppression, as `torchvision.ops.nms`: visits boxes `[N, 4]` (xyxy) by
 * decreasing score `[N]` and drops every box whose IoU with an already kept box is greater
 * than `iouThreshold`. Returns the int32 indices of the kept boxes, by decreasing score.
 * Ties in score keep the lower index first on every device (torchvision's CUDA sort may
 * order ties differently). No gradient. The number of kept boxes is read back from the
 * device, so this call waits for the stream: {@link nmsAsync} waits without blocking.
 */
export function nms(boxes: Tensor, scores: Tensor, iouThreshold: number): Tensor<'int32'> {
  const plan = planNms('nms', boxes, scores, iouThreshold);
  return plan === null ? empty('nms', [0], 'int32', boxes.device) : keptIndices(plan, plan.keep.dataSync(), boxes.device);
}

/**
 * {@link nms} that leaves the event loop free while the device works: resolves with the
 * same indices once the keep mask has been computed.
 * @example const keep = await nmsAsync(boxes, scores, 0.5);
 */
export async function nmsAsync(boxes: Tensor, scores: Tensor, iouThreshold: number): Promise<Tensor<'int32'>> {
  const plan = planNms('nmsAsync', boxes, scores, iouThreshold);
  return plan === null ? empty('nmsAsync', [0], 'int32', boxes.device) : keptIndices(plan, await plan.keep.data(), boxes.device);
}

/**
 * NMS within each category, as `torchvision.ops.batched_nms`: boxes of different `idxs`
 * `[N]` (int32 class or image ids) never suppress each other. Same result order as {@link nms}.
 */
export function batchedNms(boxes: Tensor, scores: Tensor, idxs: Tensor, iouThreshold: number): Tensor<'int32'> {
  const plan = planNms('batchedNms', boxes, scores, iouThreshold, idxs);
  return plan === null ? empty('batchedNms', [0], 'int32', boxes.device) : keptIndices(plan, plan.keep.dataSync(), boxes.device);
}

/** {@link batchedNms} without blocking the event loop, as {@link nmsAsync}. */
export async function batchedNmsAsync(boxes: Tensor, scores: Tensor, idxs: Tensor, iouThreshold: number): Promise<Tensor<'int32'>> {
  const plan = planNms('batchedNmsAsync', boxes, scores, iouThreshold, idxs);
  return plan === null ? empty('batchedNmsAsync', [0], 'int32', boxes.device) : keptIndices(plan, await plan.keep.data(), boxes.device);
}

/** Converts boxes `[K, 4]` between formats, as `torchvision.ops.box_convert`. Differentiable. */
export function boxConvert(boxes: Tensor, inFmt: BoxFormat, outFmt: BoxFormat): Tensor<'float32'> {
  const b = checkBoxes('boxConvert', 'boxes', boxes);
  const formats: readonly BoxFormat[] = ['xyxy', 'xywh', 'cxcywh'];
  for (const [name, f] of [['inFmt', inFmt], ['outFmt', outFmt]] as const) {
    if (!formats.includes(f)) throw new ArgumentError(`boxConvert: expected ${name} to be one of ${formats.join(', ')}, got ${String(f)}`);
  }
  const [p, q, r, t] = columns(b);
  // To xyxy first, then to the wanted format.
  const [x1, y1, x2, y2] =
    inFmt === 'xyxy' ? [p, q, r, t] : inFmt === 'xywh' ? [p, q, p.add(r), q.add(t)] : [p.sub(r.div(2)), q.sub(t.div(2)), p.add(r.div(2)), q.add(t.div(2))];
  const out =
    outFmt === 'xyxy' ? [x1, y1, x2, y2] : outFmt === 'xywh' ? [x1, y1, x2.sub(x1), y2.sub(y1)] : [x1.add(x2).div(2), y1.add(y2).div(2), x2.sub(x1), y2.sub(y1)];
  return cat(out.map((c) => c.unsqueeze(1)), 1) as Tensor<'float32'>;
}
