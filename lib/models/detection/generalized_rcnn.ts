/**
 * The two-stage detector's skeleton, as torchvision.models.detection.generalized_rcnn:
 * transform -> backbone -> region proposal network -> RoI heads -> postprocess.
 * @module
 */
import { ArgumentError, ShapeError } from '../../errors.js';
import { Module } from '../../nn/module.js';
import { scope } from '../../tensor/memory.js';
import { describe } from '../../tensor/shape.js';
import type { Detection, DetectionTarget } from '../../tensor/detection_records.js';
import { Tensor } from '../../tensor/tensor.js';
import type { RegionProposalNetwork } from './rpn.js';
import type { RoIHeads } from './roi_heads.js';
import type { GeneralizedRCNNTransform } from './transform.js';

/** The training losses of a two-stage detector, under torchvision's names. */
export interface GeneralizedRCNNLosses {
  /** The RPN's binary cross-entropy on the sampled anchors. */
  loss_objectness: Tensor<'float32'>;
  /** The RPN's smooth L1 on the sampled positive anchors' deltas. */
  loss_rpn_box_reg: Tensor<'float32'>;
  /** The box head's cross-entropy on the sampled proposals. */
  loss_classifier: Tensor<'float32'>;
  /** The box head's smooth L1 on the foreground proposals' deltas. */
  loss_box_reg: Tensor<'float32'>;
  /** Mask R-CNN's binary cross-entropy on the foreground proposals' masks (only with a mask branch). */
  loss_mask?: Tensor<'float32'>;
}

/** The backbone of a detector: an image batch `[N, C, H, W]` to named feature maps of `outChannels` channels each. */
export type DetectionBackbone = Module<[x: Tensor], Map<string, Tensor>> & { readonly outChannels: number };

/**
 * A two-stage detector, as torchvision's `GeneralizedRCNN(backbone, rpn, roi_heads,
 * transform)`. `call(images, targets)` in training mode returns the merged losses
 * ({@link GeneralizedRCNNLosses}); `call(images)` in eval mode returns one
 * `{ boxes, labels, scores }` per image, boxes in the original image's pixels (and, with a
 * mask branch, `masks` `[D, 1, H, W]` pasted into the original image). `images` are
 * `[C, H, W]` float32 tensors of any sizes (values in 0..1). {@link GeneralizedRCNN.losses}
 * and {@link GeneralizedRCNN.detect} are the same two paths with one result type each.
 *
 * @example
 * model.train();
 * const losses = model.losses(images, [{ boxes, labels }]);
 * Object.values(losses).reduce((a, b) => a.add(b)).backward();
 * model.eval();
 * const [{ boxes, labels, scores }] = noGrad(() => model.detect(images));
 */
export class GeneralizedRCNN extends Module<[images: readonly Tensor[], targets?: readonly DetectionTarget[]], Detection[] | GeneralizedRCNNLosses> {
  // Registered under torchvision's names (transform, backbone, rpn, roi_heads).
  readonly #transform: GeneralizedRCNNTransform;
  readonly #backbone: DetectionBackbone;
  readonly #rpn: RegionProposalNetwork;
  readonly #roiHeads: RoIHeads;

  constructor(backbone: DetectionBackbone, rpn: RegionProposalNetwork, roiHeads: RoIHeads, transform: GeneralizedRCNNTransform) {
    super();
    const op = 'GeneralizedRCNN';
    for (const [name, value] of [['backbone', backbone], ['rpn', rpn], ['roiHeads', roiHeads], ['transform', transform]] as const) {
      if (!(value instanceof Module)) throw new ArgumentError(`${op}: expected ${name} to be a Module, got ${describe(value)}`);
    }
    this.#transform = transform;
    this.#backbone = backbone;
    this.#rpn = rpn;
    this.#roiHeads = roiHeads;
    this.registerModule('transform', transform);
    this.registerModule('backbone', backbone);
    this.registerModule('rpn', rpn);
    this.registerModule('roi_heads', roiHeads);
  }

  /** The input normalisation, resizing and batching (`transform`). */
  get transform(): GeneralizedRCNNTransform {
    return this.#transform;
  }

  /** The feature extractor (`backbone`). */
  get backbone(): DetectionBackbone {
    return this.#backbone;
  }

  /** The region proposal network (`rpn`). */
  get rpn(): RegionProposalNetwork {
    return this.#rpn;
  }

  /** The second stage (`roi_heads`). */
  get roiHeads(): RoIHeads {
    return this.#roiHeads;
  }

  forward(images: readonly Tensor[], targets?: readonly DetectionTarget[]): Detection[] | GeneralizedRCNNLosses {
    return this.training ? this.#losses('GeneralizedRCNN.forward', images, targets) : this.#detect(images);
  }

  /**
   * The training losses (training mode only; ArgumentError in eval mode or without targets).
   * @param images - `[C, H, W]` float32 images
   * @param targets - one `{ boxes, labels }` per image, in the image's pixels
   */
  losses(images: readonly Tensor[], targets: readonly DetectionTarget[]): GeneralizedRCNNLosses {
    const op = 'GeneralizedRCNN.losses';
    if (!this.training) throw new ArgumentError(`${op}: expected the model in training mode, got eval mode: call train() first, or detect() for detections`);
    return this.call(images, targets) as GeneralizedRCNNLosses;
  }

  /**
   * The detections per image, in the original images' pixels (eval mode only; ArgumentError in training mode).
   * @param images - `[C, H, W]` float32 images
   */
  detect(images: readonly Tensor[]): Detection[] {
    const op = 'GeneralizedRCNN.detect';
    if (this.training) throw new ArgumentError(`${op}: expected the model in eval mode, got training mode: call eval() first, or losses() for the training losses`);
    return this.call(images) as Detection[];
  }

  #losses(op: string, images: readonly Tensor[], targets: readonly DetectionTarget[] | undefined): GeneralizedRCNNLosses {
    if (targets === undefined) throw new ArgumentError(`${op}: expected targets (one { boxes, labels } per image) in training mode, got undefined: call eval() for detections`);
    checkTargets(op, targets, this.#roiHeads.hasMask);
    return scope(() => {
      const [imageList, transformed] = this.#transform.call(images, targets);
      const resizedTargets = transformed as DetectionTarget[];
      const features = this.#backbone.call(imageList.tensors);
      const [proposals, rpnLosses] = this.#rpn.call(imageList, features, resizedTargets);
      const [, detectorLosses] = this.#roiHeads.call(features, proposals, imageList.imageSizes, resizedTargets);
      return { ...detectorLosses, ...rpnLosses } as unknown as GeneralizedRCNNLosses;
    });
  }

  #detect(images: readonly Tensor[]): Detection[] {
    return scope(() => {
      const originalSizes = images.map((image): [number, number] => [image.shape[1]!, image.shape[2]!]);
      const [imageList] = this.#transform.call(images);
      const features = this.#backbone.call(imageList.tensors);
      const [proposals] = this.#rpn.call(imageList, features);
      const [detections] = this.#roiHeads.call(features, proposals, imageList.imageSizes);
      // A plain record per image (Detection is an interface, the transform takes any record of tensors).
      const records = detections.map((d) => ({ boxes: d.boxes, labels: d.labels, scores: d.scores, ...(d.masks ? { masks: d.masks } : {}) }));
      return this.#transform.postprocess(records, imageList.imageSizes, originalSizes) as Detection[];
    });
  }
}

/**
 * torchvision's checks of the training targets: a list of `{ boxes [G, 4], labels }` records
 * (and `masks` where the RoI heads have a mask branch, checked before any work is done), no
 * box with zero or negative width or height (one read of the boxes: they come from the host).
 * Shared with the one-stage detectors (FCOS, RetinaNet), whose checks are the same.
 */
export function checkTargets(op: string, targets: readonly DetectionTarget[], needMasks = false): void {
  if (!Array.isArray(targets)) throw new ArgumentError(`${op}: expected targets to be an array of { boxes, labels } records, got ${describe(targets)}`);
  targets.forEach((target, i) => {
    if (typeof target !== 'object' || target === null) throw new ArgumentError(`${op}: expected targets[${i}] to be a { boxes, labels } record, got ${describe(target)}`);
    const { boxes, labels } = target;
    if (!(boxes instanceof Tensor) || boxes.ndim !== 2 || boxes.shape[1] !== 4) {
      throw new ShapeError(`${op}: expected targets[${i}].boxes to be a Tensor of shape [G, 4], got ${boxes instanceof Tensor ? `[${boxes.shape.join(', ')}]` : describe(boxes)}`);
    }
    if (!(labels instanceof Tensor) || labels.ndim !== 1 || labels.shape[0] !== boxes.shape[0]) {
      throw new ShapeError(`${op}: expected targets[${i}].labels to be a Tensor of shape [${boxes.shape[0]}] (one per box), got ${labels instanceof Tensor ? `[${labels.shape.join(', ')}]` : describe(labels)}`);
    }
    // torchvision's RoIHeads.check_targets raises only after the backbone and RPN have run.
    if (needMasks && target.masks === undefined) throw new ArgumentError(`${op}: expected targets[${i}].masks (instance masks [G, H, W], uint8) for a model with a mask branch, got undefined`);
    const values = boxes.dataSync();
    for (let b = 0; b < boxes.shape[0]!; ++b) {
      const [x1, y1, x2, y2] = [values[4 * b], values[4 * b + 1], values[4 * b + 2], values[4 * b + 3]].map(Number) as [number, number, number, number];
      if (!(x2 > x1 && y2 > y1)) {
        throw new ArgumentError(`${op}: all boxes must have positive width and height; targets[${i}].boxes[${b}] is [${x1}, ${y1}, ${x2}, ${y2}]`);
      }
    }
  });
}
