/**
 * The mask branch's functions of Mask R-CNN's RoI heads, as torchvision 0.14's
 * models/detection/roi_heads.py: `projectMasksOnBoxes` (training targets: each ground-truth
 * mask cropped to its proposal and resized by RoI Align), `maskrcnnLoss` (binary cross
 * entropy on the ground-truth class's mask logits) and `maskrcnnInference` (the detected
 * class's mask probabilities).
 * @module
 */
import { ArgumentError, ShapeError } from '../../errors.js';
import { binaryCrossEntropyWithLogits } from '../../losses/classification.js';
import { gather, indexSelect } from '../../ops/indexing.js';
import { roiAlign } from '../../ops/roi_align.js';
import { cat, split } from '../../ops/shape.js';
import { sigmoid } from '../../ops/unary.js';
import { checkDTypeIn, checkInt, checkSameDevice, checkTensor } from '../../ops/validate.js';
import { scope } from '../../tensor/memory.js';
import { describe } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';

/** The dtypes a ground-truth mask may have: torchvision's uint8, bool, or float 0/1. */
const MASK_DTYPES = ['uint8', 'bool', 'float32'] as const;

/**
 * The training targets of the mask head for one image, as torchvision's
 * `project_masks_on_boxes`: for each proposal of `boxes` `[P, 4]` (xyxy, image pixels), its
 * ground-truth mask `gtMasks[matchedIdxs[p]]` (`gtMasks` `[G, H, W]`, uint8, bool or float32)
 * cropped to the box and resized to `m x m` by RoI Align (spatial scale 1, adaptive
 * sampling, not aligned: torchvision's call). Returns float32 `[P, m, m]` in 0..1. Without
 * gradient (the targets are data).
 *
 * @example
 * const targets = projectMasksOnBoxes(target.masks, positiveProposals, matchedIdxs, 28); // [P, 28, 28]
 */
export function projectMasksOnBoxes(gtMasks: Tensor, boxes: Tensor, matchedIdxs: Tensor, m: number): Tensor<'float32'> {
  const op = 'projectMasksOnBoxes';
  checkTensor(op, 'gtMasks', gtMasks);
  checkDTypeIn(op, 'gtMasks', gtMasks, MASK_DTYPES);
  if (gtMasks.ndim !== 3) throw new ShapeError(`${op}: expected gtMasks of shape [G, H, W], got [${gtMasks.shape.join(', ')}]`);
  checkTensor(op, 'boxes', boxes);
  checkDTypeIn(op, 'boxes', boxes, ['float32']);
  if (boxes.ndim !== 2 || boxes.shape[1] !== 4) throw new ShapeError(`${op}: expected boxes of shape [P, 4], got [${boxes.shape.join(', ')}]`);
  checkTensor(op, 'matchedIdxs', matchedIdxs);
  checkDTypeIn(op, 'matchedIdxs', matchedIdxs, ['int32']);
  if (matchedIdxs.ndim !== 1 || matchedIdxs.shape[0] !== boxes.shape[0]) {
    throw new ShapeError(`${op}: expected matchedIdxs of shape [${boxes.shape[0]}] (one per box), got [${matchedIdxs.shape.join(', ')}]`);
  }
  checkInt(op, 'm', m, 1);
  checkSameDevice(op, { gtMasks, boxes, matchedIdxs });
  return scope(() => {
    // roi_align's batch index picks each proposal's matched mask out of the G masks.
    const rois = cat([matchedIdxs.to('float32').unsqueeze(1), boxes.detach()], 1);
    const pooled = roiAlign(gtMasks.detach().to('float32').unsqueeze(1), rois, [m, m], { spatialScale: 1 });
    return pooled.reshape(boxes.shape[0]!, m, m);
  });
}

/**
 * The mask loss of Mask R-CNN, as torchvision's `maskrcnn_loss`: for the positive proposals
 * of every image (`proposals`, one `[P_i, 4]` per image, P = sum P_i) with the ground truth
 * each was matched to (`matchedIdxs`, int32 `[P_i]`), the binary cross entropy with logits,
 * averaged over all `P * M * M` pixels, between the mask logits of the ground truth's class
 * (`maskLogits` `[P, numClasses, M, M]`, channel `gtLabels[i][matchedIdxs[i]]`) and the
 * ground-truth masks projected onto the proposals ({@link projectMasksOnBoxes}, `gtMasks`
 * one `[G_i, H, W]` per image). With no positive proposal the loss is
 * `maskLogits.sum() * 0`, as torchvision's (a zero that keeps the graph).
 *
 * @example
 * const lossMask = maskrcnnLoss(maskLogits, positiveProposals, targets.map((t) => t.masks), targets.map((t) => t.labels), positiveMatchedIdxs);
 */
export function maskrcnnLoss(maskLogits: Tensor, proposals: readonly Tensor[], gtMasks: readonly Tensor[], gtLabels: readonly Tensor[], matchedIdxs: readonly Tensor[]): Tensor<'float32'> {
  const op = 'maskrcnnLoss';
  const logits = checkTensor(op, 'maskLogits', maskLogits);
  checkDTypeIn(op, 'maskLogits', logits, ['float32']);
  if (logits.ndim !== 4 || logits.shape[2] !== logits.shape[3]) {
    throw new ShapeError(`${op}: expected maskLogits of shape [P, numClasses, M, M], got [${logits.shape.join(', ')}]`);
  }
  const images = checkList(op, 'proposals', proposals).length;
  for (const [name, list] of [['gtMasks', gtMasks], ['gtLabels', gtLabels], ['matchedIdxs', matchedIdxs]] as const) {
    if (checkList(op, name, list).length !== images) throw new ArgumentError(`${op}: expected ${name} to hold one tensor per image (${images}, like proposals), got ${list.length}`);
  }
  const counts = proposals.map((p) => p.shape[0]!);
  const total = counts.reduce((a, b) => a + b, 0);
  if (logits.shape[0] !== total) throw new ShapeError(`${op}: expected maskLogits to hold one row per proposal (${total}), got [${logits.shape.join(', ')}]`);
  gtLabels.forEach((l, i) => {
    checkDTypeIn(op, `gtLabels[${i}]`, l, ['int32']);
    if (l.ndim !== 1 || l.shape[0] !== gtMasks[i]!.shape[0]) throw new ShapeError(`${op}: expected gtLabels[${i}] of shape [${gtMasks[i]!.shape[0]}] (one per mask of gtMasks[${i}]), got [${l.shape.join(', ')}]`);
  });
  const m = logits.shape[3]!;
  if (total === 0) return logits.sum().mul(0) as Tensor<'float32'>;
  return scope(() => {
    const used = counts.map((c, i) => [c, i] as const).filter(([c]) => c > 0).map(([, i]) => i);
    const labels = cat(used.map((i) => indexSelect(gtLabels[i]!, 0, matchedIdxs[i]!)), 0);
    const targets = cat(used.map((i) => projectMasksOnBoxes(gtMasks[i]!, proposals[i]!, matchedIdxs[i]!, m)), 0);
    // torchvision indexes mask_logits[arange(P), labels]: a gather of each row's channel.
    const channel = gather(logits, 1, labels.reshape(total, 1, 1, 1).expand(total, 1, m, m).contiguous()).reshape(total, m, m);
    return binaryCrossEntropyWithLogits(channel, targets);
  });
}

/**
 * The mask probabilities of the detections, as torchvision's `maskrcnn_inference`: the
 * sigmoid of each detection's mask logits of its own class (`maskLogits`
 * `[D, numClasses, M, M]` for the detections of every image, `labels` int32 one `[D_i]` per
 * image, D = sum D_i), split per image: float32 `[D_i, 1, M, M]` each.
 *
 * @example
 * const [probabilities] = maskrcnnInference(maskLogits, [detection.labels]); // [D, 1, 28, 28]
 */
export function maskrcnnInference(maskLogits: Tensor, labels: readonly Tensor[]): Array<Tensor<'float32'>> {
  const op = 'maskrcnnInference';
  const logits = checkTensor(op, 'maskLogits', maskLogits);
  checkDTypeIn(op, 'maskLogits', logits, ['float32']);
  if (logits.ndim !== 4) throw new ShapeError(`${op}: expected maskLogits of shape [D, numClasses, M, M], got [${logits.shape.join(', ')}]`);
  checkList(op, 'labels', labels).forEach((l, i) => {
    checkDTypeIn(op, `labels[${i}]`, l, ['int32']);
    if (l.ndim !== 1) throw new ShapeError(`${op}: expected labels[${i}] of shape [D_i], got [${l.shape.join(', ')}]`);
  });
  const counts = labels.map((l) => l.shape[0]!);
  const total = counts.reduce((a, b) => a + b, 0);
  if (logits.shape[0] !== total) throw new ShapeError(`${op}: expected maskLogits to hold one row per label (${total}), got [${logits.shape.join(', ')}]`);
  const [, , h, w] = logits.shape as [number, number, number, number];
  return scope(() => {
    const index = cat([...labels], 0).reshape(total, 1, 1, 1).expand(total, 1, h, w).contiguous();
    return split(sigmoid(gather(logits, 1, index)), counts, 0) as Array<Tensor<'float32'>>;
  });
}

/** A non-empty array of tensors, checked. */
function checkList(op: string, name: string, value: unknown): Tensor[] {
  if (!Array.isArray(value) || value.length === 0) throw new ArgumentError(`${op}: expected ${name} to be a non-empty array of tensors (one per image), got ${describe(value)}`);
  return value.map((t, i) => checkTensor(op, `${name}[${i}]`, t));
}
