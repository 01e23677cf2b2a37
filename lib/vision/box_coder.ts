/**
 * BoxCoder, as torchvision.models.detection._utils.BoxCoder: boxes to the (dx, dy, dw, dh)
 * regression targets of Faster R-CNN / RetinaNet and back. Composed of differentiable ops
 * in torchvision's order of float32 operations, so values match torchvision's to within an
 * ulp or so (exp and log are other libraries' than PyTorch's), and `decodeSingle` carries
 * gradients to the deltas (GIoU-type box losses need them). BoxLinearCoder, as
 * torchvision's: FCOS's (left, top, right, bottom) distances from a box's centre.
 * @module
 */
import { ArgumentError, ShapeError } from '../errors.js';
import { cat, split, stack } from '../ops/shape.js';
import { clamp } from '../ops/statistics.js';
import { checkDTypeIn, checkSameDevice, checkTensor } from '../ops/validate.js';
import { scope } from '../tensor/memory.js';
import { describe } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';

/** The weights `[wx, wy, ww, wh]` that scale the deltas (Faster R-CNN's box head uses [10, 10, 5, 5]). */
export type BoxCoderWeights = readonly [wx: number, wy: number, ww: number, wh: number];

/** Options of {@link BoxCoder}. */
export interface BoxCoderOptions {
  /**
   * Upper bound of the decoded dw and dh (after dividing by the weights) before `exp`, so a
   * wild prediction cannot overflow (default `Math.log(1000 / 16)`, as torchvision).
   */
  bboxXformClip?: number;
}

/** Float32 boxes `[K, 4]` (xyxy), checked. */
function checkBoxes(op: string, name: string, value: unknown): Tensor<'float32'> {
  const boxes = checkTensor(op, name, value);
  checkDTypeIn(op, name, boxes, ['float32']);
  if (boxes.ndim !== 2 || boxes.shape[1] !== 4) throw new ShapeError(`${op}: expected ${name} of shape [K, 4], got [${boxes.shape.join(', ')}]`);
  return boxes as Tensor<'float32'>;
}

/** A non-empty array of boxes tensors, one per image, checked. */
function checkBoxList(op: string, name: string, value: unknown): Array<Tensor<'float32'>> {
  if (!Array.isArray(value) || value.length === 0) throw new ArgumentError(`${op}: expected ${name} to be a non-empty array of [K, 4] boxes tensors (one per image), got ${describe(value)}`);
  return value.map((b, i) => checkBoxes(op, `${name}[${i}]`, b));
}

/** Column `c` of boxes `[K, 4]` as `[K]`. */
function column(boxes: Tensor, c: number): Tensor {
  return boxes.slice(1, c, c + 1).squeeze(1);
}

/**
 * Encodes boxes as offsets from reference boxes and decodes them back, as torchvision's
 * `BoxCoder(weights, bbox_xform_clip)`. Boxes are float32 xyxy. With a proposal (or anchor)
 * of centre (x, y) and size (w, h) and a target box of centre (x', y') and size (w', h'):
 * `dx = wx (x' - x) / w`, `dy = wy (y' - y) / h`, `dw = ww log(w' / w)`, `dh = wh log(h' / h)`.
 * The `encode`/`decode` forms take one boxes tensor per image, as torchvision's.
 *
 * @example
 * const coder = new vision.BoxCoder([10, 10, 5, 5]);
 * const targets = coder.encodeSingle(matchedGtBoxes, proposals); // [K, 4] regression targets
 * const boxes = coder.decode(boxRegression, [proposalsImage0, proposalsImage1]); // [K, C, 4]
 */
export class BoxCoder {
  /** The weights `[wx, wy, ww, wh]`. */
  readonly weights: BoxCoderWeights;
  /** The clip of dw and dh before `exp` in decoding. */
  readonly bboxXformClip: number;

  /**
   * @param weights - four positive finite numbers `[wx, wy, ww, wh]` (ArgumentError otherwise)
   * @param opts - `bboxXformClip` (default `Math.log(1000 / 16)`), any number but NaN
   */
  constructor(weights: BoxCoderWeights, opts: BoxCoderOptions = {}) {
    if (!Array.isArray(weights) || weights.length !== 4 || !weights.every((w) => typeof w === 'number' && w > 0 && Number.isFinite(w))) {
      throw new ArgumentError(`BoxCoder: expected weights to be four positive finite numbers [wx, wy, ww, wh], got ${describe(weights)}`);
    }
    const clip = opts.bboxXformClip ?? Math.log(1000 / 16);
    if (typeof clip !== 'number' || Number.isNaN(clip)) throw new ArgumentError(`BoxCoder: expected bboxXformClip to be a number, got ${describe(clip)}`);
    this.weights = [weights[0], weights[1], weights[2], weights[3]];
    this.bboxXformClip = clip;
  }

  /**
   * {@link encodeSingle} per image: `referenceBoxes[i]` and `proposals[i]` are `[K_i, 4]`;
   * returns one `[K_i, 4]` tensor of targets per image (views of one result, as torchvision's split).
   */
  encode(referenceBoxes: readonly Tensor[], proposals: readonly Tensor[]): Array<Tensor<'float32'>> {
    const op = 'BoxCoder.encode';
    const references = checkBoxList(op, 'referenceBoxes', referenceBoxes);
    const boxes = checkBoxList(op, 'proposals', proposals);
    if (references.length !== boxes.length) throw new ArgumentError(`${op}: expected one proposals tensor per referenceBoxes tensor (${references.length}), got ${boxes.length}`);
    const counts = references.map((b) => b.shape[0]!);
    return scope(() => split(this.#encode(op, cat(references, 0), cat(boxes, 0)), counts, 0));
  }

  /**
   * The regression targets `[K, 4]` that turn each of `proposals` `[K, 4]` into the
   * reference (ground-truth) box `referenceBoxes` `[K, 4]` of the same row.
   */
  encodeSingle(referenceBoxes: Tensor, proposals: Tensor): Tensor<'float32'> {
    return this.#encode('BoxCoder.encodeSingle', referenceBoxes, proposals);
  }

  #encode(op: string, referenceBoxes: Tensor, proposals: Tensor): Tensor<'float32'> {
    const reference = checkBoxes(op, 'referenceBoxes', referenceBoxes);
    const boxes = checkBoxes(op, 'proposals', proposals);
    checkSameDevice(op, { referenceBoxes: reference, proposals: boxes });
    if (reference.shape[0] !== boxes.shape[0]) {
      throw new ShapeError(`${op}: expected proposals of shape [${reference.shape[0]}, 4] like referenceBoxes, got [${boxes.shape.join(', ')}]`);
    }
    const [wx, wy, ww, wh] = this.weights;
    return scope(() => {
      const [px1, py1, px2, py2] = [0, 1, 2, 3].map((c) => column(boxes, c)) as [Tensor, Tensor, Tensor, Tensor];
      const [gx1, gy1, gx2, gy2] = [0, 1, 2, 3].map((c) => column(reference, c)) as [Tensor, Tensor, Tensor, Tensor];
      // torchvision's expressions, operation for operation (float32 rounding included).
      const exWidths = px2.sub(px1);
      const exHeights = py2.sub(py1);
      const exCtrX = px1.add(exWidths.mul(0.5));
      const exCtrY = py1.add(exHeights.mul(0.5));
      const gtWidths = gx2.sub(gx1);
      const gtHeights = gy2.sub(gy1);
      const gtCtrX = gx1.add(gtWidths.mul(0.5));
      const gtCtrY = gy1.add(gtHeights.mul(0.5));
      const dx = gtCtrX.sub(exCtrX).mul(wx).div(exWidths);
      const dy = gtCtrY.sub(exCtrY).mul(wy).div(exHeights);
      const dw = gtWidths.div(exWidths).log().mul(ww);
      const dh = gtHeights.div(exHeights).log().mul(wh);
      return stack([dx, dy, dw, dh], 1) as Tensor<'float32'>;
    });
  }

  /**
   * Decodes `relCodes` against boxes given per image: `boxes[i]` is `[K_i, 4]` and
   * `relCodes` holds `sum(K_i) * C * 4` values (`[sum(K_i), C * 4]`, or any shape of that
   * size, as torchvision reshapes it). Returns `[sum(K_i), C, 4]`: C decoded boxes per
   * reference box. With no boxes at all it returns `[0, C, 4]` for relCodes `[0, C * 4]`
   * (torchvision returns relCodes' 2-d shape there; neocog keeps the rank).
   */
  decode(relCodes: Tensor, boxes: readonly Tensor[]): Tensor<'float32'> {
    const op = 'BoxCoder.decode';
    const codes = checkTensor(op, 'relCodes', relCodes);
    const list = checkBoxList(op, 'boxes', boxes);
    const boxSum = list.reduce((n, b) => n + b.shape[0]!, 0);
    if (boxSum === 0) {
      if (codes.ndim !== 2 || codes.shape[0] !== 0 || codes.shape[1]! % 4 !== 0) {
        throw new ShapeError(`${op}: expected relCodes of shape [0, C * 4] for no boxes, got [${codes.shape.join(', ')}]`);
      }
      return scope(() => this.#decode(op, codes, cat(list, 0)).reshape(0, codes.shape[1]! / 4, 4));
    }
    if (codes.numel === 0 || codes.numel % (boxSum * 4) !== 0) {
      throw new ShapeError(`${op}: expected relCodes to hold ${boxSum} x C x 4 values for ${boxSum} boxes, got shape [${codes.shape.join(', ')}]`);
    }
    return scope(() => this.#decode(op, codes.reshape(boxSum, -1), cat(list, 0)).reshape(boxSum, -1, 4));
  }

  /**
   * Decodes `relCodes` `[K, C * 4]` (C sets of deltas per box, e.g. one per class) against
   * `boxes` `[K, 4]` into `[K, C * 4]` boxes (xyxy). dw and dh are clamped to
   * `bboxXformClip` before `exp`. Differentiable in `relCodes`.
   */
  decodeSingle(relCodes: Tensor, boxes: Tensor): Tensor<'float32'> {
    return this.#decode('BoxCoder.decodeSingle', relCodes, boxes);
  }

  #decode(op: string, relCodes: Tensor, boxes: Tensor): Tensor<'float32'> {
    const codes = checkTensor(op, 'relCodes', relCodes);
    checkDTypeIn(op, 'relCodes', codes, ['float32']);
    const reference = checkBoxes(op, 'boxes', boxes);
    checkSameDevice(op, { relCodes: codes, boxes: reference });
    if (codes.ndim !== 2 || codes.shape[0] !== reference.shape[0] || codes.shape[1]! % 4 !== 0) {
      throw new ShapeError(`${op}: expected relCodes of shape [${reference.shape[0]}, C * 4] for boxes [${reference.shape.join(', ')}], got [${codes.shape.join(', ')}]`);
    }
    const [wx, wy, ww, wh] = this.weights;
    return scope(() => {
      const [x1, y1, x2, y2] = [0, 1, 2, 3].map((c) => column(reference, c)) as [Tensor, Tensor, Tensor, Tensor];
      const widths = x2.sub(x1).unsqueeze(1);
      const heights = y2.sub(y1).unsqueeze(1);
      const ctrX = x1.unsqueeze(1).add(widths.mul(0.5));
      const ctrY = y1.unsqueeze(1).add(heights.mul(0.5));
      // Every fourth column from c: torchvision's rel_codes[:, c::4].
      const deltas = (c: number, weight: number) => codes.slice(1, c, Number.POSITIVE_INFINITY, 4).div(weight);
      const dx = deltas(0, wx);
      const dy = deltas(1, wy);
      // Clamped so that exp cannot overflow on a wild prediction.
      const dw = clamp(deltas(2, ww), null, this.bboxXformClip);
      const dh = clamp(deltas(3, wh), null, this.bboxXformClip);
      const predCtrX = dx.mul(widths).add(ctrX);
      const predCtrY = dy.mul(heights).add(ctrY);
      const halfW = dw.exp().mul(widths).mul(0.5);
      const halfH = dh.exp().mul(heights).mul(0.5);
      const corners = [predCtrX.sub(halfW), predCtrY.sub(halfH), predCtrX.add(halfW), predCtrY.add(halfH)];
      return stack(corners, 2).flatten(1) as Tensor<'float32'>;
    });
  }
}

/** Options of {@link BoxLinearCoder}. */
export interface BoxLinearCoderOptions {
  /** Divide the distances by the reference box's width (left, right) and height (top, bottom) (default true, as FCOS). */
  normalizeBySize?: boolean;
}

/** Float32 boxes `[..., 4]` (xyxy), checked. */
function checkBoxesAnyRank(op: string, name: string, value: unknown): Tensor<'float32'> {
  const boxes = checkTensor(op, name, value);
  checkDTypeIn(op, name, boxes, ['float32']);
  if (boxes.ndim < 1 || boxes.shape[boxes.ndim - 1] !== 4) throw new ShapeError(`${op}: expected ${name} of shape [..., 4], got [${boxes.shape.join(', ')}]`);
  return boxes as Tensor<'float32'>;
}

/** Coordinate `c` of boxes `[..., 4]` as `[...]`. */
function lastColumn(boxes: Tensor, c: number): Tensor {
  const dim = boxes.ndim - 1;
  return boxes.slice(dim, c, c + 1).squeeze(dim);
}

/**
 * FCOS's box coder, as torchvision's `BoxLinearCoder(normalize_by_size)`: a box is encoded
 * by the distances `(l, t, r, b)` from the centre of a reference box (an FCOS anchor: a
 * square of the level's stride around a feature-map cell) to its four edges, divided by the
 * reference box's width and height when `normalizeBySize`. Boxes are float32 xyxy of any
 * shape `[..., 4]`; both arguments of a call have the same shape. Composed of
 * differentiable ops in torchvision's order of float32 operations, so values match
 * torchvision's exactly, and `decode` carries gradients to the codes (FCOS's GIoU loss
 * needs them).
 *
 * @example
 * const coder = new vision.BoxLinearCoder();
 * const codes = coder.encode(anchors, gtBoxes);   // [N, A, 4] distances / anchor size
 * const boxes = coder.decode(bboxRegression, anchors); // back to xyxy
 */
export class BoxLinearCoder {
  /** Whether the distances are divided by the reference box's size. */
  readonly normalizeBySize: boolean;

  /** @param opts - `normalizeBySize` (default true), a boolean (ArgumentError otherwise) */
  constructor(opts: BoxLinearCoderOptions = {}) {
    const normalize = opts.normalizeBySize ?? true;
    if (typeof normalize !== 'boolean') throw new ArgumentError(`BoxLinearCoder: expected normalizeBySize to be a boolean, got ${describe(normalize)}`);
    this.normalizeBySize = normalize;
  }

  /**
   * The distances `[..., 4]` (left, top, right, bottom) from each reference box's centre to
   * the edges of the proposal (target box) of the same position, as torchvision's `encode`.
   * @param referenceBoxes - `[..., 4]` reference (anchor) boxes
   * @param proposals - `[..., 4]` boxes to encode, of referenceBoxes' shape
   */
  encode(referenceBoxes: Tensor, proposals: Tensor): Tensor<'float32'> {
    const op = 'BoxLinearCoder.encode';
    const [reference, boxes] = this.#checkPair(op, ['referenceBoxes', referenceBoxes], ['proposals', proposals]);
    return scope(() => {
      const [rx1, ry1, rx2, ry2] = [0, 1, 2, 3].map((c) => lastColumn(reference, c)) as [Tensor, Tensor, Tensor, Tensor];
      const [px1, py1, px2, py2] = [0, 1, 2, 3].map((c) => lastColumn(boxes, c)) as [Tensor, Tensor, Tensor, Tensor];
      // torchvision's expressions, operation for operation.
      const ctrX = rx1.add(rx2).mul(0.5);
      const ctrY = ry1.add(ry2).mul(0.5);
      const targets = stack([ctrX.sub(px1), ctrY.sub(py1), px2.sub(ctrX), py2.sub(ctrY)], -1);
      if (!this.normalizeBySize) return targets as Tensor<'float32'>;
      const w = rx2.sub(rx1);
      const h = ry2.sub(ry1);
      return targets.div(stack([w, h, w, h], -1)) as Tensor<'float32'>;
    });
  }

  /**
   * The boxes `[..., 4]` (xyxy) that `relCodes` `[..., 4]` (left, top, right, bottom
   * distances) describe around the centres of `boxes` `[..., 4]` (the reference boxes), as
   * torchvision's `decode`. Differentiable in `relCodes`.
   */
  decode(relCodes: Tensor, boxes: Tensor): Tensor<'float32'> {
    const op = 'BoxLinearCoder.decode';
    const [codes, reference] = this.#checkPair(op, ['relCodes', relCodes], ['boxes', boxes]);
    return scope(() => {
      const [x1, y1, x2, y2] = [0, 1, 2, 3].map((c) => lastColumn(reference, c)) as [Tensor, Tensor, Tensor, Tensor];
      const ctrX = x1.add(x2).mul(0.5);
      const ctrY = y1.add(y2).mul(0.5);
      let distances: Tensor = codes;
      if (this.normalizeBySize) {
        const w = x2.sub(x1);
        const h = y2.sub(y1);
        distances = codes.mul(stack([w, h, w, h], -1));
      }
      const [l, t, r, b] = [0, 1, 2, 3].map((c) => lastColumn(distances, c)) as [Tensor, Tensor, Tensor, Tensor];
      return stack([ctrX.sub(l), ctrY.sub(t), ctrX.add(r), ctrY.add(b)], -1) as Tensor<'float32'>;
    });
  }

  /** Two float32 `[..., 4]` tensors of one shape on one device, checked. */
  #checkPair(op: string, [nameA, a]: [string, unknown], [nameB, b]: [string, unknown]): [Tensor<'float32'>, Tensor<'float32'>] {
    const first = checkBoxesAnyRank(op, nameA, a);
    const second = checkBoxesAnyRank(op, nameB, b);
    checkSameDevice(op, { [nameA]: first, [nameB]: second });
    if (first.shape.join(',') !== second.shape.join(',')) {
      throw new ShapeError(`${op}: expected ${nameB} of the shape of ${nameA} [${first.shape.join(', ')}], got [${second.shape.join(', ')}]`);
    }
    return [first, second];
  }
}
