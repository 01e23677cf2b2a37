/**
 * The records of tensors that object detection passes between layers, as torchvision's
 * target and prediction dicts: what the datasets (data.CocoDetection, data.VOCDetection)
 * give, what the detection models (models.detection) take in training and return in eval,
 * and what the metrics (metrics.MeanAveragePrecision) compare. One type for each, here, in
 * the layer that data, metrics and models all import already, so that none of them imports
 * another for a type and a DataLoader batch's targets feed `model.call(images, targets)` and
 * `metric.update(detections, targets)` as they are.
 * @module
 */
import type { Tensor } from './tensor.js';

/**
 * One image's ground truth, as torchvision's detection target dict. `G` is the number of
 * objects; every `[G, ...]` entry has one row per box. Datasets narrow it (data.CocoTarget,
 * data.VocTarget); each consumer reads the entries it needs and checks their dtypes.
 */
export interface DetectionTarget {
  /** `[G, 4]` xyxy boxes in the image's pixels, x1 <= x2 and y1 <= y2 (float32; the metrics also take float16/bfloat16). */
  boxes: Tensor;
  /** `[G]` classes (int32; the detection models want >= 1, 0 being the background). */
  labels: Tensor;
  /** `[G, H, W]` instance masks at the image's size (uint8 or bool, 1 inside; float32 0/1 also taken): Mask R-CNN's training targets. */
  masks?: Tensor;
  /** `[G, P, 3]` keypoints (x, y, visibility), scaled with the boxes by GeneralizedRCNNTransform. */
  keypoints?: Tensor;
  /**
   * `[G]` crowd flags (int32, uint8 or bool; nonzero is a crowd). The metrics treat a crowd
   * box as an ignore region, as COCO does; the models train on every box they are given.
   */
  iscrowd?: Tensor;
  /** `[G]` object areas (float32), as COCO's 'area' (the segmentation's area): the metrics' small/medium/large ranges use it, default the box's. */
  area?: Tensor;
  /** The image's id in its dataset (COCO: a number, VOC: e.g. '2007_000027'). */
  imageId?: number | string;
}

/**
 * One image's detections, as torchvision's detection models return them in eval mode
 * (labels int32 here, int64 there). `D` is the number of detections. The models return
 * float32 boxes and scores; the metrics also take float16/bfloat16 ones (autocast).
 */
export interface Detection {
  /** `[D, 4]` xyxy boxes in the image's pixels (float32), by decreasing score. */
  boxes: Tensor;
  /** `[D]` classes (int32, >= 1: class 0 is the background). */
  labels: Tensor;
  /** `[D]` confidence scores (float32); a higher score ranks first. */
  scores: Tensor;
  /**
   * Mask R-CNN's masks: from models.detection.RoIHeads each box's mask probabilities
   * `[D, 1, M, M]` (float32, 0..1, over the box); from a detector, pasted into the original
   * image `[D, 1, H, W]` (threshold at 0.5 for binary masks). Absent without a mask branch.
   */
  masks?: Tensor;
}
