/**
 * Position-sensitive RoI Align (R-FCN, Light-Head R-CNN), as `torchvision.ops.ps_roi_align`:
 * each output bin of each output channel is bilinearly sampled from its own input channel,
 * differentiable with respect to the input. CPU and CUDA run the same math
 * (native/src/kernels/ps_roi_align.h, on RoI Align's bilinear sampling).
 * @module
 */
import { needsGrad, record, saveForBackward } from '../autograd/graph.js';
import { ArgumentError, ShapeError } from '../errors.js';
import { native } from '../native.js';
import { empty } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { roiGeometry, roisOf } from './roi_align.js';

/** Options of {@link psRoiAlign}, as torchvision's (which has no `aligned` flag: see {@link psRoiAlign}). */
export interface PsRoiAlignOptions {
  /** Scale from box coordinates to input pixels, e.g. 1/16 for a stride-16 feature map (default 1). */
  spatialScale?: number;
  /** Sampling points per bin side; <= 0 (default -1) adapts: ceil(box size / output size). */
  samplingRatio?: number;
}

/**
 * Pools each box of `boxes` from feature maps `input` `[N, C, H, W]` into
 * `[K, C / (outputH * outputW), outputH, outputW]`: bin (i, j) of output channel c averages
 * bilinear samples of input channel `(c * outputH + i) * outputW + j`, so `C` must be a
 * multiple of `outputH * outputW`. `boxes` is `[K, 5]` (batch index, x1, y1, x2, y2) or one
 * `[Ki, 4]` xyxy tensor per image.
 *
 * Box geometry is torchvision's for this op: coordinates are shifted by -0.5 pixel (as
 * RoI Align's `aligned: true`) and boxes are not widened to one pixel. One difference: a box
 * of zero width or height with adaptive sampling pools 0 (as RoI Align does), where torchvision
 * divides 0 by 0 and gives NaN.
 *
 * @example
 * // R-FCN's position-sensitive score maps: 3x3 bins of 21 classes from 189 channels.
 * const scores = psRoiAlign(features, [boxesOfImage0], 3, { spatialScale: 1 / 16, samplingRatio: 2 }); // [K, 21, 3, 3]
 */
export function psRoiAlign(input: Tensor, boxes: Tensor | readonly Tensor[], outputSize: number | readonly [number, number], opts: PsRoiAlignOptions = {}): Tensor<'float32'> {
  const spatialScale = opts.spatialScale ?? 1;
  const [pooledH, pooledW] = roiGeometry('psRoiAlign', input, outputSize, spatialScale);
  const channels = input.shape[1]!;
  if (channels % (pooledH * pooledW) !== 0) {
    throw new ShapeError(`psRoiAlign: expected input channels divisible by outputSize[0] * outputSize[1] = ${pooledH * pooledW}, got ${channels} channels`);
  }
  const samplingRatio = opts.samplingRatio ?? -1;
  if (!Number.isInteger(samplingRatio)) throw new ArgumentError(`psRoiAlign: expected an integer samplingRatio, got ${samplingRatio}`);
  const params = { pooledH, pooledW, spatialScale, samplingRatio };
  const rois = roisOf('psRoiAlign', boxes, input);
  const out = empty('psRoiAlign', [rois.shape[0]!, channels / (pooledH * pooledW), pooledH, pooledW], 'float32', input.device);
  native.psRoiAlignForward('psRoiAlign', params, out._native('psRoiAlign', 'out'), input._native('psRoiAlign'), rois._native('psRoiAlign', 'boxes'));
  if (!needsGrad(input)) {
    rois.dispose();
    return out;
  }
  const saved = saveForBackward(rois);
  rois.dispose();
  return record(
    'psRoiAlign',
    out,
    [input],
    (g) => {
      const gradInput = empty('psRoiAlignBackward', input.shape, 'float32', input.device);
      native.psRoiAlignBackward('psRoiAlignBackward', params, gradInput._native('psRoiAlignBackward', 'out'), g._native('psRoiAlignBackward', 'grad'), saved._native('psRoiAlignBackward', 'boxes'));
      return [gradInput];
    },
    [saved],
  );
}
