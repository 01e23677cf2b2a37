/**
 * What torchvision's one-stage detectors (RetinaNet, FCOS) share: the four parts under
 * torchvision's names, training and eval dispatch, and the mode-checked `losses` / `detect`.
 * @module
 */
import { ArgumentError } from '../../errors.js';
import { Module, type AnyModule } from '../../nn/module.js';
import type { Detection, DetectionTarget } from '../../tensor/detection_records.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { AnchorGenerator } from '../../vision/anchor_generator.js';
import type { DetectionBackbone } from './generalized_rcnn.js';
import type { GeneralizedRCNNTransform } from './transform.js';

/** The parts of a one-stage detector. */
export interface OneStageParts<Head extends AnyModule> {
  backbone: DetectionBackbone;
  anchorGenerator: AnchorGenerator;
  head: Head;
  transform: GeneralizedRCNNTransform;
}

/**
 * A one-stage detector: in training mode `call(images, targets)` returns the loss record, in
 * eval mode `call(images)` the detections per image, in the original images' pixels.
 * Subclasses validate their options, then register their parts with {@link setParts}, and
 * implement the two passes.
 */
export abstract class OneStageDetector<Head extends AnyModule, Losses> extends Module<[images: readonly Tensor[], targets?: readonly DetectionTarget[]], Detection[] | Losses> {
  #parts: OneStageParts<Head> | undefined;

  /** Registers the parts under torchvision's names (backbone, anchor_generator, head, transform); once, in the constructor. */
  protected setParts(parts: OneStageParts<Head>): void {
    this.#parts = parts;
    this.registerModule('backbone', parts.backbone);
    this.registerModule('anchor_generator', parts.anchorGenerator);
    this.registerModule('head', parts.head);
    this.registerModule('transform', parts.transform);
  }

  get #registered(): OneStageParts<Head> {
    if (!this.#parts) throw new ArgumentError(`${this.constructor.name}: its parts are not set yet`);
    return this.#parts;
  }

  /** The feature extractor (`backbone`). */
  get backbone(): DetectionBackbone {
    return this.#registered.backbone;
  }

  /** The anchors, or points, per feature-map location (`anchor_generator`). */
  get anchorGenerator(): AnchorGenerator {
    return this.#registered.anchorGenerator;
  }

  /** The classification and regression head (`head`). */
  get head(): Head {
    return this.#registered.head;
  }

  /** The input normalisation, resizing and batching (`transform`). */
  get transform(): GeneralizedRCNNTransform {
    return this.#registered.transform;
  }

  forward(images: readonly Tensor[], targets?: readonly DetectionTarget[]): Detection[] | Losses {
    return this.training ? this.trainingLosses(`${this.constructor.name}.forward`, images, targets) : this.detections(images);
  }

  /**
   * The training losses (training mode only; ArgumentError in eval mode or without targets).
   * @param images - `[C, H, W]` float32 images
   * @param targets - one `{ boxes [G, 4] float32, labels [G] int32 }` per image, in the image's pixels
   */
  losses(images: readonly Tensor[], targets: readonly DetectionTarget[]): Losses {
    const op = `${this.constructor.name}.losses`;
    if (!this.training) throw new ArgumentError(`${op}: expected the model in training mode, got eval mode: call train() first, or detect() for detections`);
    return this.call(images, targets) as Losses;
  }

  /**
   * The detections per image, in the original images' pixels (eval mode only; ArgumentError in training mode).
   * @param images - `[C, H, W]` float32 images
   */
  detect(images: readonly Tensor[]): Detection[] {
    const op = `${this.constructor.name}.detect`;
    if (this.training) throw new ArgumentError(`${op}: expected the model in eval mode, got training mode: call eval() first, or losses() for the training losses`);
    return this.call(images) as Detection[];
  }

  /** The training pass: check `targets` (naming `op`), then the losses. */
  protected abstract trainingLosses(op: string, images: readonly Tensor[], targets: readonly DetectionTarget[] | undefined): Losses;

  /** The eval pass: the detections per image in the original images' pixels. */
  protected abstract detections(images: readonly Tensor[]): Detection[];
}
