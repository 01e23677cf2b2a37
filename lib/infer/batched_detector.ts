/**
 * A detector as a module of batches, so that an InferenceSession can batch single requests
 * for it: torchvision-style detectors take a list of images (each its own size) and return
 * one Detection per image, where a session stacks requests into one `[N, C, H, W]` tensor.
 * @module
 */
import { ArgumentError, ShapeError } from '../errors.js';
import { Module, type AnyModule } from '../nn/module.js';
import type { Detection } from '../tensor/detection_records.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * A module whose `call` takes a list of images `[C, H, W]` (and, in training, targets) and
 * gives one detection per image in eval mode: models.detection's detectors.
 */
export type ListDetector = AnyModule;

class BatchedDetector extends Module<[Tensor], Detection[]> {
  constructor(readonly detector: ListDetector) {
    super();
  }

  forward(batch: Tensor): Detection[] {
    if (batch.ndim !== 4) throw new ShapeError(`batchedDetector: expected a batch [N, C, H, W], got [${batch.shape.join(', ')}]`);
    const images = Array.from({ length: batch.shape[0]! }, (_, i) => batch.slice(0, i, i + 1).reshape(batch.shape.slice(1)));
    const detections: unknown = this.detector.call(images);
    if (!Array.isArray(detections) || detections.length !== images.length) {
      throw new ArgumentError('batchedDetector: the detector must return one detection per image (call eval() first: in training mode it returns losses)');
    }
    return detections as Detection[];
  }
}

/**
 * `detector` (e.g. `models.detection.fasterrcnnResnet50Fpn()`) as a module of batches
 * `[N, C, H, W]` returning `Detection[]`, for {@link InferenceSession}: requests of one size
 * (detectionPreset stretches them to one) then run as one batch, each getting its own
 * detections. The detector is a child module: the session's eval mode and fusion reach it.
 *
 * @example
 * const session = await InferenceSession.create(batchedDetector(models.detection.fcosLite({ numClasses: 4 })), { example: zeros([1, 3, 320, 320]) });
 */
export function batchedDetector(detector: ListDetector): Module<[Tensor], Detection[]> {
  if (!(detector instanceof Module)) throw new ArgumentError('batchedDetector: expected a detection Module');
  return new BatchedDetector(detector);
}
