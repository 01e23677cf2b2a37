/**
 * RoI Align (Mask R-CNN), as `torchvision.ops.roi_align`: bilinear sampling of each box's
 * output bins, differentiable with respect to the input. CPU and CUDA run the same math
 * (native/src/kernels/roi_align.h).
 * @module
 */
import { needsGrad, record, saveForBackward } from '../autograd/graph.js';
import { ArgumentError, ShapeError } from '../errors.js';
import { native } from '../native.js';
import { empty, fromTypedArray } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { cat } from './shape.js';
import { checkDTypeIn, checkSameDevice, checkTensor, intTuple } from './validate.js';

/** Options of {@link roiAlign}, as torchvision's. */
export interface RoiAlignOptions {
  /** Scale from box coordinates to input pixels, e.g. 1/16 for a stride-16 feature map (default 1). */
  spatialScale?: number;
  /** Sampling points per bin side; <= 0 (default -1) adapts: ceil(box size / output size). */
  samplingRatio?: number;
  /** Shift box coordinates by -0.5 pixel for exact pixel alignment (default false, torchvision's legacy). */
  aligned?: boolean;
}

/**
 * `[K, 5]` rois (batch index, x1, y1, x2, y2), contiguous and detached, from either form the
 * roi ops accept: `[K, 5]` or one `[Ki, 4]` xyxy tensor per image of `input`. @internal
 */
export function roisOf(op: string, boxes: Tensor | readonly Tensor[], input: Tensor): Tensor<'float32'> {
  if (Array.isArray(boxes)) {
    const list = boxes as readonly Tensor[];
    if (list.length !== input.shape[0]) throw new ShapeError(`${op}: ${list.length} box tensors for a batch of ${input.shape[0]} images`);
    const parts = list.map((b, i) => {
      checkTensor(op, `boxes[${i}]`, b);
      checkDTypeIn(op, `boxes[${i}]`, b, ['float32']);
      if (b.ndim !== 2 || b.shape[1] !== 4) throw new ShapeError(`${op}: expected boxes[${i}] of shape [K, 4], got [${b.shape.join(', ')}]`);
      const index = fromTypedArray(new Float32Array(b.shape[0]!).fill(i), [b.shape[0]!, 1], { device: input.device });
      return cat([index, b.detach()], 1);
    });
    return (parts.length > 0 ? cat(parts, 0) : empty(op, [0, 5], 'float32', input.device)) as Tensor<'float32'>;
  }
  const rois = checkTensor(op, 'boxes', boxes);
  checkDTypeIn(op, 'boxes', rois, ['float32']);
  if (rois.ndim !== 2 || rois.shape[1] !== 5) throw new ShapeError(`${op}: expected boxes of shape [K, 5] (batch index, x1, y1, x2, y2) or a list of [K, 4], got [${rois.shape.join(', ')}]`);
  checkSameDevice(op, { input, boxes: rois });
  // Batch indices that name no image of the batch are an IndexError raised by the kernel
  // (reading them here would block the event loop until the stream got there).
  return rois.detach().contiguous() as Tensor<'float32'>;
}

/** Validates a roi op's float32 `[N, C, H, W]` input, spatial scale and output size. @internal */
export function roiGeometry(op: string, input: Tensor, outputSize: number | readonly [number, number], spatialScale: number): [number, number] {
  checkTensor(op, 'input', input);
  checkDTypeIn(op, 'input', input, ['float32']);
  if (input.ndim !== 4) throw new ShapeError(`${op}: expected input of shape [N, C, H, W], got [${input.shape.join(', ')}]`);
  if (!(spatialScale > 0)) throw new ArgumentError(`${op}: expected spatialScale > 0, got ${spatialScale}`);
  return intTuple(op, 'outputSize', outputSize, 2, 1, 1) as [number, number];
}

/**
 * Pools each box of `boxes` from feature maps `input` `[N, C, H, W]` into `[K, C, outputSize]`.
 * `boxes` is `[K, 5]` (batch index, x1, y1, x2, y2) or one `[Ki, 4]` xyxy tensor per image.
 *
 * @example
 * roiAlign(features, [boxesOfImage0, boxesOfImage1], [7, 7], { spatialScale: 1 / 16, samplingRatio: 2 })
 */
export function roiAlign(input: Tensor, boxes: Tensor | readonly Tensor[], outputSize: number | readonly [number, number], opts: RoiAlignOptions = {}): Tensor<'float32'> {
  const spatialScale = opts.spatialScale ?? 1;
  const [pooledH, pooledW] = roiGeometry('roiAlign', input, outputSize, spatialScale);
  const samplingRatio = opts.samplingRatio ?? -1;
  if (!Number.isInteger(samplingRatio)) throw new ArgumentError(`roiAlign: expected an integer samplingRatio, got ${samplingRatio}`);
  const params = { pooledH, pooledW, spatialScale, samplingRatio, aligned: opts.aligned ?? false };
  const rois = roisOf('roiAlign', boxes, input);
  const out = empty('roiAlign', [rois.shape[0]!, input.shape[1]!, pooledH, pooledW], 'float32', input.device);
  native.roiAlignForward('roiAlign', params, out._native('roiAlign', 'out'), input._native('roiAlign'), rois._native('roiAlign', 'boxes'));
  if (!needsGrad(input)) {
    rois.dispose();
    return out;
  }
  const saved = saveForBackward(rois);
  rois.dispose();
  return record(
    'roiAlign',
    out,
    [input],
    (g) => {
      const gradInput = empty('roiAlignBackward', input.shape, 'float32', input.device);
      native.roiAlignBackward('roiAlignBackward', params, gradInput._native('roiAlignBackward', 'out'), g._native('roiAlignBackward', 'grad'), saved._native('roiAlignBackward', 'boxes'));
      return [gradInput];
    },
    [saved],
  );
}
