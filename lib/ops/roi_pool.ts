/**
 * RoI max pooling (Fast R-CNN), as `torchvision.ops.roi_pool`: each box, rounded to input
 * pixels, is split into output bins and each bin keeps its maximum; differentiable with
 * respect to the input (the gradient goes to each bin's maximum). CPU and CUDA run the same
 * math (native/src/kernels/roi_pool.h).
 * @module
 */
import { needsGrad, record, saveForBackward } from '../autograd/graph.js';
import { native } from '../native.js';
import { empty } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { roiGeometry, roisOf } from './roi_align.js';

/** Options of {@link roiPool}, as torchvision's. */
export interface RoiPoolOptions {
  /** Scale from box coordinates to input pixels, e.g. 1/16 for a stride-16 feature map (default 1). */
  spatialScale?: number;
}

/**
 * Max-pools each box of `boxes` from feature maps `input` `[N, C, H, W]` into `[K, C, outputSize]`.
 * `boxes` is `[K, 5]` (batch index, x1, y1, x2, y2) or one `[Ki, 4]` xyxy tensor per image.
 * A bin that falls outside the map is 0 (and passes no gradient), as torchvision.
 *
 * @example
 * roiPool(features, [boxesOfImage0, boxesOfImage1], [7, 7], { spatialScale: 1 / 16 })
 */
export function roiPool(input: Tensor, boxes: Tensor | readonly Tensor[], outputSize: number | readonly [number, number], opts: RoiPoolOptions = {}): Tensor<'float32'> {
  const spatialScale = opts.spatialScale ?? 1;
  const [pooledH, pooledW] = roiGeometry('roiPool', input, outputSize, spatialScale);
  const params = { pooledH, pooledW, spatialScale };
  const rois = roisOf('roiPool', boxes, input);
  const shape = [rois.shape[0]!, input.shape[1]!, pooledH, pooledW];
  const out = empty('roiPool', shape, 'float32', input.device);
  const argmax = empty('roiPool', shape, 'int32', input.device);
  native.roiPoolForward('roiPool', params, out._native('roiPool', 'out'), argmax._native('roiPool', 'argmax'), input._native('roiPool'), rois._native('roiPool', 'boxes'));
  if (!needsGrad(input)) {
    rois.dispose();
    argmax.dispose();
    return out;
  }
  const savedRois = saveForBackward(rois);
  const savedArgmax = saveForBackward(argmax);
  rois.dispose();
  argmax.dispose();
  return record(
    'roiPool',
    out,
    [input],
    (g) => {
      const gradInput = empty('roiPoolBackward', input.shape, 'float32', input.device);
      native.roiPoolBackward(
        'roiPoolBackward',
        params,
        gradInput._native('roiPoolBackward', 'out'),
        g._native('roiPoolBackward', 'grad'),
        savedArgmax._native('roiPoolBackward', 'argmax'),
        savedRois._native('roiPoolBackward', 'boxes'),
      );
      return [gradInput];
    },
    [savedRois, savedArgmax],
  );
}
