/**
 * Box ops, as torchvision.ops: `boxArea`, `boxIou`, `generalizedBoxIou`, `distanceBoxIou`,
 * `completeBoxIou`, `nms`, `batchedNms`, `boxConvert`, `clipBoxesToImage`, `removeSmallBoxes`.
 * Boxes are float32 `[K, 4]` in xyxy format with x1 <= x2 and y1 <= y2 (pixels or any unit).
 * The IoU math lives once in native/src/kernels/boxes.h (CPU and CUDA).
 * @module
 */
import { noGrad } from '../autograd/grad_mode.js';
import { ArgumentError, ShapeError } from '../errors.js';
import { native } from '../native.js';
import { empty, fromTypedArray } from '../tensor/creation.js';
import { keep, scope } from '../tensor/memory.js';
import type { Tensor } from '../tensor/tensor.js';
import { atan } from './atan.js';
import { where } from './compare.js';
import { argsort, sort } from './sort.js';
import { indexSelect } from './indexing.js';
import { flatNonzero, flatNonzeroAsync } from './nonzero.js';
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
  // scope frees the temporaries now rather than at garbage collection (several times faster).
  return scope(() => {
    const { iou, union, enclosingW, enclosingH } = pairwise('generalizedBoxIou', boxes1, boxes2);
    const enclosing = enclosingW.mul(enclosingH);
    return iou.sub(enclosing.sub(union).div(enclosing)) as Tensor<'float32'>;
  });
}

/**
 * Distance IoU `[N, M]`, as `torchvision.ops.distance_box_iou`: IoU minus the squared
 * distance of the box centres over the squared diagonal of the enclosing box (`eps` keeps
 * the quotient finite). Differentiable.
 */
export function distanceBoxIou(boxes1: Tensor, boxes2: Tensor, eps = 1e-7): Tensor<'float32'> {
  checkEps('distanceBoxIou', eps);
  return scope(() => {
    const { iou, enclosingW, enclosingH, centres } = pairwise('distanceBoxIou', boxes1, boxes2);
    return iou.sub(centres.div(enclosingW.square().add(enclosingH.square()).add(eps))) as Tensor<'float32'>;
  });
}

/**
 * Complete IoU `[N, M]` of boxes1 `[N, 4]` and boxes2 `[M, 4]` (xyxy), as
 * `torchvision.ops.complete_box_iou`: the distance IoU minus `alpha * v`, where
 * `v = 4 / pi^2 * (atan(w1 / h1) - atan(w2 / h2))^2` compares the aspect ratios and
 * `alpha = v / (1 - IoU + v + eps)` is held constant in the gradient (torchvision computes
 * it under no_grad). `eps` also keeps the distance term finite. Differentiable.
 *
 * @example
 * completeBoxIou(predicted, truth) // [N, M], 1 for identical boxes
 */
export function completeBoxIou(boxes1: Tensor, boxes2: Tensor, eps = 1e-7): Tensor<'float32'> {
  const op = 'completeBoxIou';
  checkEps(op, eps);
  return scope(() => {
    const { iou, enclosingW, enclosingH, centres } = pairwise(op, boxes1, boxes2);
    const diou = iou.sub(centres.div(enclosingW.square().add(enclosingH.square()).add(eps)));
    const aspect = (boxes: Tensor) => {
      const [x1, y1, x2, y2] = columns(boxes);
      return atan(x2.sub(x1).div(y2.sub(y1)));
    };
    const v = aspect(boxes1).unsqueeze(1).sub(aspect(boxes2).unsqueeze(0)).square().mul(4 / Math.PI ** 2);
    const alpha = noGrad(() => v.div(iou.neg().add(1).add(v).add(eps)));
    return diou.sub(alpha.mul(v)) as Tensor<'float32'>;
  });
}

/** Throws unless `eps` is a finite number (the IoU variants and losses add it to divisors). */
export function checkEps(op: string, eps: number): void {
  if (typeof eps !== 'number' || !Number.isFinite(eps)) throw new ArgumentError(`${op}: expected eps to be a finite number, got ${String(eps)}`);
}

/** Options of {@link nms}, {@link nmsAsync}, {@link batchedNms} and {@link batchedNmsAsync}. */
export interface NmsOptions {
  /** Boxes scoring below this are dropped before NMS (default: none; NaN scores are dropped with it). */
  scoreThreshold?: number;
  /** Keep at most this many boxes, the highest-scoring (an integer >= 0; default: all). */
  maxDetections?: number;
}

/** NMS's validated arguments. */
interface NmsArgs {
  op: string;
  boxes: Tensor<'float32'>;
  scores: Tensor;
  idxs: Tensor | null;
  iouThreshold: number;
  scoreThreshold: number | null;
  maxDetections: number;
}

/** Validates the arguments NMS and its variants share (`idxs` for the batched ones). */
function checkNms(op: string, boxes: Tensor, scores: Tensor, idxs: Tensor | null, iouThreshold: number, opts: NmsOptions): NmsArgs {
  const b = checkBoxes(op, 'boxes', boxes);
  const s = checkTensor(op, 'scores', scores);
  checkDTypeIn(op, 'scores', s, ['float32']);
  if (s.ndim !== 1 || s.shape[0] !== b.shape[0]) throw new ShapeError(`${op}: expected scores of shape [${b.shape[0]}], got [${s.shape.join(', ')}]`);
  checkSameDevice(op, { boxes: b, scores: s });
  if (idxs !== null) {
    checkTensor(op, 'idxs', idxs);
    checkDTypeIn(op, 'idxs', idxs, ['int32']);
    if (idxs.ndim !== 1 || idxs.shape[0] !== b.shape[0]) throw new ShapeError(`${op}: expected idxs of shape [${b.shape[0]}], got [${idxs.shape.join(', ')}]`);
    checkSameDevice(op, { boxes: b, idxs });
  }
  if (typeof iouThreshold !== 'number' || Number.isNaN(iouThreshold)) throw new ArgumentError(`${op}: expected iouThreshold to be a number, got ${String(iouThreshold)}`);
  const { scoreThreshold, maxDetections } = opts ?? {};
  if (scoreThreshold !== undefined && (typeof scoreThreshold !== 'number' || Number.isNaN(scoreThreshold))) {
    throw new ArgumentError(`${op}: expected scoreThreshold to be a number, got ${String(scoreThreshold)}`);
  }
  if (maxDetections !== undefined && !(Number.isInteger(maxDetections) && maxDetections >= 0)) {
    throw new ArgumentError(`${op}: expected maxDetections to be an integer >= 0, got ${String(maxDetections)}`);
  }
  return { op, boxes: b, scores: s, idxs, iouThreshold, scoreThreshold: scoreThreshold ?? null, maxDetections: maxDetections ?? Infinity };
}

/**
 * NMS as queued on the device: the keep mask over the boxes in the order the kernel visits
 * them, and how to turn the kept positions of that order into the result.
 */
interface NmsPlan {
  keep: Tensor<'uint8'>;
  /** The result's indices from the kept positions (int32, ascending); frees what the plan holds. */
  finish: (positions: Tensor<'int32'>) => Tensor<'int32'>;
}

/**
 * Queues NMS with nothing read back. The kernel visits the boxes by decreasing score (ties:
 * the lower index first). With a score threshold, the boxes below it rank last and the
 * kernel takes only the count above it, which it reads on the device: as greedy NMS only
 * lets a box suppress lower-scoring ones, that is NMS after dropping them. Per category
 * (`idxs`), the boxes are visited grouped by category, each group in score order, so the
 * kernel compares a box only with the rest of its own group, rather than with every box as
 * torchvision's coordinate-offset trick makes it do.
 */
function planNms(args: NmsArgs): NmsPlan {
  const { op, boxes, scores, idxs } = args;
  // The scope frees the temporaries; what `finish` needs later is kept from it.
  return scope(() =>
    noGrad(() => {
      const passes = args.scoreThreshold === null ? null : scores.ge(args.scoreThreshold);
      const byScore = keep(argsort(passes === null ? scores : where(passes, scores, -Infinity), 0, { descending: true }));
      const limit = passes === null ? null : passes.sum().to('int32').reshape([1]);
      const mask = empty(op, [boxes.shape[0]!], 'uint8', boxes.device);
      const run = (order: Tensor, categories: Tensor | null) => {
        const sorted = indexSelect(boxes, 0, order); // contiguous
        native.nms(op, mask._native(op, 'keep'), sorted._native(op, 'boxes'), categories?._native(op, 'idxs') ?? null, limit?._native(op, 'limit') ?? null, args.iouThreshold);
      };
      if (idxs === null) {
        run(byScore, null);
        return { keep: mask, finish: (positions) => disposingAfter([byScore], () => indexSelect(byScore, 0, positions)) };
      }
      // Boxes below the threshold form a last group of their own, past the limit.
      let groupKey = indexSelect(idxs, 0, byScore);
      if (passes !== null) groupKey = where(indexSelect(passes, 0, byScore), groupKey, 2 ** 31 - 1);
      const grouping = keep(argsort(groupKey, 0)); // stable: score order within each group
      run(indexSelect(byScore, 0, grouping), indexSelect(groupKey, 0, grouping));
      // Back to score order across categories: a kept box's rank in byScore is grouping[position].
      return {
        keep: mask,
        finish: (positions) => disposingAfter([byScore, grouping], () => indexSelect(byScore, 0, sort(indexSelect(grouping, 0, positions)).values)),
      };
    }),
  );
}

/** fn's result; then `held` are disposed (also when fn throws). */
function disposingAfter<T>(held: readonly Tensor[], fn: () => T): T {
  try {
    return fn();
  } finally {
    for (const t of held) t.dispose();
  }
}

/** The first `maxDetections` indices of the result, from the plan's keep mask read back from the device; frees the plan. */
function keptIndices(args: NmsArgs, plan: NmsPlan, mask: Uint8Array): Tensor<'int32'> {
  const positions: number[] = [];
  for (let i = 0; i < mask.length; ++i) if (mask[i]) positions.push(i);
  plan.keep.dispose();
  const device = args.boxes.device;
  return scope(() => {
    const kept = plan.finish(fromTypedArray(Int32Array.from(positions), [positions.length], { device }));
    return kept.shape[0]! > args.maxDetections ? kept.slice(0, 0, args.maxDetections).contiguous() : kept;
  });
}

/** NMS with one read-back (the keep mask), waiting for the stream. */
function nmsSync(args: NmsArgs): Tensor<'int32'> {
  if (args.boxes.shape[0] === 0 || args.maxDetections === 0) return empty(args.op, [0], 'int32', args.boxes.device);
  const plan = planNms(args);
  return keptIndices(args, plan, plan.keep.dataSync());
}

/** NMS with one read-back (the keep mask), without blocking the event loop. */
async function nmsAsyncOf(args: NmsArgs): Promise<Tensor<'int32'>> {
  if (args.boxes.shape[0] === 0 || args.maxDetections === 0) return empty(args.op, [0], 'int32', args.boxes.device);
  const plan = planNms(args);
  return keptIndices(args, plan, await plan.keep.data());
}

/**
 * Non-maximum suppression, as `torchvision.ops.nms`: visits boxes `[N, 4]` (xyxy) by
 * decreasing score `[N]` and drops every box whose IoU with an already kept box is greater
 * than `iouThreshold`. Returns the int32 indices of the kept boxes, by decreasing score.
 * Ties in score keep the lower index first on every device (torchvision's CUDA sort may
 * order ties differently). No gradient. The kept boxes are read back from the device (one
 * read, at the end), so this call waits for the stream: {@link nmsAsync} waits without
 * blocking.
 *
 * `opts.scoreThreshold` drops boxes scoring below it first, and `opts.maxDetections` keeps
 * only that many of the result, as a detector's post-processing does (torchvision's
 * detection models filter and truncate around their NMS call the same way).
 *
 * @example
 * const keep = nms(boxes, scores, 0.5, { scoreThreshold: 0.05, maxDetections: 100 });
 */
export function nms(boxes: Tensor, scores: Tensor, iouThreshold: number, opts: NmsOptions = {}): Tensor<'int32'> {
  return nmsSync(checkNms('nms', boxes, scores, null, iouThreshold, opts));
}

/**
 * {@link nms} that leaves the event loop free while the device works: resolves with the
 * same indices once the keep mask has been computed.
 * @example const keep = await nmsAsync(boxes, scores, 0.5);
 */
export async function nmsAsync(boxes: Tensor, scores: Tensor, iouThreshold: number, opts: NmsOptions = {}): Promise<Tensor<'int32'>> {
  return nmsAsyncOf(checkNms('nmsAsync', boxes, scores, null, iouThreshold, opts));
}

/**
 * NMS within each category, as `torchvision.ops.batched_nms`: boxes of different `idxs`
 * `[N]` (int32 class or image ids) never suppress each other. Same result order and
 * options as {@link nms} (`maxDetections` counts over all categories together).
 *
 * @example
 * const keep = batchedNms(boxes, scores, labels, 0.5, { scoreThreshold: 0.05, maxDetections: 100 });
 */
export function batchedNms(boxes: Tensor, scores: Tensor, idxs: Tensor, iouThreshold: number, opts: NmsOptions = {}): Tensor<'int32'> {
  return nmsSync(checkNms('batchedNms', boxes, scores, idxs, iouThreshold, opts));
}

/**
 * {@link batchedNms} without blocking the event loop, as {@link nmsAsync}.
 * @example const keep = await batchedNmsAsync(boxes, scores, labels, 0.5, { maxDetections: 100 });
 */
export async function batchedNmsAsync(boxes: Tensor, scores: Tensor, idxs: Tensor, iouThreshold: number, opts: NmsOptions = {}): Promise<Tensor<'int32'>> {
  return nmsAsyncOf(checkNms('batchedNmsAsync', boxes, scores, idxs, iouThreshold, opts));
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

/**
 * Clips boxes `[..., 4]` (xyxy) to an image of `size` = `[height, width]`, as
 * `torchvision.ops.clip_boxes_to_image`: x into [0, width], y into [0, height].
 * Differentiable: the gradient passes where a coordinate is inside, bounds included (as
 * torch.clamp's).
 *
 * @example
 * clipBoxesToImage(boxes, [480, 640]) // x in [0, 640], y in [0, 480]
 */
export function clipBoxesToImage(boxes: Tensor, size: readonly [number, number]): Tensor<'float32'> {
  const op = 'clipBoxesToImage';
  const b = checkTensor(op, 'boxes', boxes);
  checkDTypeIn(op, 'boxes', b, ['float32']);
  if (b.ndim < 1 || b.shape[b.ndim - 1] !== 4) throw new ShapeError(`${op}: expected boxes of shape [..., 4], got [${b.shape.join(', ')}]`);
  if (!Array.isArray(size) || size.length !== 2 || !size.every((v) => typeof v === 'number' && Number.isFinite(v) && v >= 0)) {
    throw new ArgumentError(`${op}: expected size to be [height, width], two finite numbers >= 0, got ${JSON.stringify(size)}`);
  }
  const [height, width] = size;
  return scope(() => {
    const limits = fromTypedArray(Float32Array.of(width, height, width, height), [4], { device: b.device });
    // Two selections rather than clamp with a tensor bound: the bounds are constants here, so
    // the bound-gradient and NaN-bound handling clamp needs would be wasted work.
    return where(b.lt(0), 0, where(b.gt(limits), limits, b)) as Tensor<'float32'>;
  });
}

/** Validates removeSmallBoxes and queues its mask: both sides at least `minSize`. */
function smallBoxMask(op: string, boxes: Tensor, minSize: number): Tensor<'bool'> {
  const b = checkBoxes(op, 'boxes', boxes);
  if (typeof minSize !== 'number' || Number.isNaN(minSize)) throw new ArgumentError(`${op}: expected minSize to be a number, got ${String(minSize)}`);
  return scope(() =>
    noGrad(() => {
      const [x1, y1, x2, y2] = columns(b);
      // min(w, h) >= minSize is both sides >= minSize in one comparison (NaN fails both).
      return minimum(x2.sub(x1), y2.sub(y1)).ge(minSize);
    }),
  );
}

/**
 * The int32 indices (ascending) of the boxes `[N, 4]` (xyxy) whose width and height are
 * both at least `minSize`, as `torchvision.ops.remove_small_boxes` (which returns int64).
 * Only the count is read back from the device , but this call waits for the stream:
 * {@link removeSmallBoxesAsync} waits without blocking.
 *
 * @example
 * const kept = boxes.indexSelect(0, removeSmallBoxes(boxes, 1e-3));
 */
export function removeSmallBoxes(boxes: Tensor, minSize: number): Tensor<'int32'> {
  const mask = smallBoxMask('removeSmallBoxes', boxes, minSize);
  try {
    return flatNonzero('removeSmallBoxes', mask);
  } finally {
    mask.dispose();
  }
}

/**
 * {@link removeSmallBoxes} that leaves the event loop free while the device works.
 * @example const keep = await removeSmallBoxesAsync(boxes, 1e-3);
 */
export async function removeSmallBoxesAsync(boxes: Tensor, minSize: number): Promise<Tensor<'int32'>> {
  const mask = smallBoxMask('removeSmallBoxesAsync', boxes, minSize);
  try {
    return await flatNonzeroAsync('removeSmallBoxesAsync', mask);
  } finally {
    mask.dispose();
  }
}
