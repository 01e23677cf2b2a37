/**
 * The box head and box predictor of Faster R-CNN, as torchvision.models.detection.faster_rcnn
 * (0.14): TwoMLPHead (two fully connected layers over the pooled RoI features) and
 * FastRCNNPredictor (class scores and class-specific box deltas). Parameters and state-dict
 * names are torchvision's (`fc6.weight`, `cls_score.bias`, `bbox_pred.weight`), so a
 * torchvision checkpoint's `roi_heads.box_head.*` and `roi_heads.box_predictor.*` load as they are.
 * @module
 */
import { ShapeError } from '../../errors.js';
import { relu } from '../../ops/unary.js';
import { checkInt, checkTensor } from '../../ops/validate.js';
import { Linear } from '../../nn/layers/basic.js';
import { Module } from '../../nn/module.js';
import type { Tensor } from '../../tensor/tensor.js';

/**
 * The box head of FPN-based Faster R-CNN, as torchvision's `TwoMLPHead(in_channels,
 * representation_size)`: flattens each pooled RoI `[K, C, H, W]` (or any `[K, ...]` of
 * `inChannels = C * H * W` values per row) and applies `relu(fc6)` then `relu(fc7)`,
 * giving `[K, representationSize]`.
 *
 * @example
 * const head = new TwoMLPHead(256 * 7 * 7, 1024); // torchvision's fasterrcnn_resnet50_fpn
 * const features = head.call(pooled); // pooled [K, 256, 7, 7] -> [K, 1024]
 */
export class TwoMLPHead extends Module {
  /** The first layer, `inChannels` -> `representationSize`. */
  fc6: Linear;
  /** The second layer, `representationSize` -> `representationSize`. */
  fc7: Linear;

  /**
   * @param inChannels - values per pooled RoI (channels x pooled height x pooled width), an integer >= 1
   * @param representationSize - the width of both layers, an integer >= 1
   */
  constructor(readonly inChannels: number, readonly representationSize: number) {
    super();
    checkInt('TwoMLPHead', 'inChannels', inChannels, 1);
    checkInt('TwoMLPHead', 'representationSize', representationSize, 1);
    this.fc6 = new Linear(inChannels, representationSize);
    this.fc7 = new Linear(representationSize, representationSize);
  }

  forward(x: Tensor): Tensor {
    const rois = checkTensor('TwoMLPHead', 'x', x);
    if (rois.ndim < 2) throw new ShapeError(`TwoMLPHead: expected x of shape [K, ...] (pooled RoI features), got [${rois.shape.join(', ')}]`);
    const flat = rois.flatten(1);
    if (flat.shape[1] !== this.inChannels) {
      throw new ShapeError(`TwoMLPHead: expected x to hold ${this.inChannels} values per RoI (inChannels), got shape [${rois.shape.join(', ')}]`);
    }
    return relu(this.fc7.call(relu(this.fc6.call(flat))));
  }

  override extraRepr(): string {
    return `${this.inChannels}, ${this.representationSize}`;
  }
}

/**
 * The classification and box-regression layers of Fast R-CNN, as torchvision's
 * `FastRCNNPredictor(in_channels, num_classes)`: from box-head features `[K, inChannels]`
 * (or `[K, inChannels, 1, 1]`) it returns `[classLogits [K, numClasses], boxDeltas
 * [K, numClasses * 4]]`, one set of deltas per class (background, class 0, included).
 *
 * @example
 * const predictor = new FastRCNNPredictor(1024, 91); // COCO's 90 classes and background
 * const [classLogits, boxRegression] = predictor.call(head.call(pooled));
 */
export class FastRCNNPredictor extends Module<[x: Tensor], [classLogits: Tensor, boxRegression: Tensor]> {
  /** Class scores, `inChannels` -> `numClasses` (`cls_score`). */
  readonly #clsScore: Linear;
  /** Class-specific box deltas, `inChannels` -> `numClasses * 4` (`bbox_pred`). */
  readonly #bboxPred: Linear;

  /**
   * @param inChannels - the box head's output width, an integer >= 1
   * @param numClasses - classes including the background (class 0), an integer >= 1
   */
  constructor(readonly inChannels: number, readonly numClasses: number) {
    super();
    checkInt('FastRCNNPredictor', 'inChannels', inChannels, 1);
    checkInt('FastRCNNPredictor', 'numClasses', numClasses, 1);
    // Registered under torchvision's names, so that its checkpoints load.
    this.#clsScore = new Linear(inChannels, numClasses);
    this.#bboxPred = new Linear(inChannels, numClasses * 4);
    this.registerModule('cls_score', this.#clsScore);
    this.registerModule('bbox_pred', this.#bboxPred);
  }

  /** The class-score layer (`cls_score`). */
  get clsScore(): Linear {
    return this.#clsScore;
  }

  /** The box-delta layer (`bbox_pred`). */
  get bboxPred(): Linear {
    return this.#bboxPred;
  }

  forward(x: Tensor): [classLogits: Tensor, boxRegression: Tensor] {
    const features = checkTensor('FastRCNNPredictor', 'x', x);
    const spatialOk = features.ndim === 2 || (features.ndim === 4 && features.shape[2] === 1 && features.shape[3] === 1);
    if (!spatialOk || features.shape[1] !== this.inChannels) {
      throw new ShapeError(`FastRCNNPredictor: expected x of shape [K, ${this.inChannels}] or [K, ${this.inChannels}, 1, 1], got [${features.shape.join(', ')}]`);
    }
    const flat = features.flatten(1);
    return [this.#clsScore.call(flat), this.#bboxPred.call(flat)];
  }

  override extraRepr(): string {
    return `${this.inChannels}, ${this.numClasses}`;
  }
}
