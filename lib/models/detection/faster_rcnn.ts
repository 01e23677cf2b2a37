/**
 * Faster R-CNN, as torchvision.models.detection.faster_rcnn (0.14): the FasterRCNN class that
 * assembles a {@link GeneralizedRCNN} from a backbone with torchvision's defaults, and the
 * fasterrcnnResnet50Fpn factory. State-dict names are torchvision's, so its checkpoints
 * (converted to safetensors) load as they are.
 * @module
 */
import { ArgumentError } from '../../errors.js';
import { checkInt } from '../../ops/validate.js';
import { Module } from '../../nn/module.js';
import { describe } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { AnchorGenerator } from '../../vision/anchor_generator.js';
import type { BoxCoderWeights } from '../../vision/box_coder.js';
import { MultiScaleRoIAlign } from '../../vision/poolers.js';
import { resnetFpnBackbone } from './backbone_utils.js';
import { FastRCNNPredictor, TwoMLPHead } from './faster_rcnn_heads.js';
import { GeneralizedRCNN, type DetectionBackbone } from './generalized_rcnn.js';
import { RoIHeads, type MaskBranch } from './roi_heads.js';
import { RegionProposalNetwork, RPNHead, type RPNHeadModule } from './rpn.js';
import { GeneralizedRCNNTransform } from './transform.js';

/** Options of {@link FasterRCNN}: torchvision's keyword arguments in camelCase, with its defaults. */
export interface FasterRCNNOptions {
  /** The shorter side's target size(s) (default 800; training draws one per image). */
  minSize?: number | readonly number[];
  /** The longer side's limit (default 1333). */
  maxSize?: number;
  /** Per-channel means subtracted (default ImageNet's [0.485, 0.456, 0.406]). */
  imageMean?: readonly number[];
  /** Per-channel standard deviations divided by (default ImageNet's [0.229, 0.224, 0.225]). */
  imageStd?: readonly number[];
  /** The RPN's anchors (default sizes 32, 64, 128, 256, 512, one per level, x aspect ratios 0.5, 1, 2). */
  rpnAnchorGenerator?: AnchorGenerator;
  /** The RPN's head (default RPNHead(backbone.outChannels, anchors per cell)). */
  rpnHead?: RPNHeadModule;
  /** Proposals kept per level before NMS in training (default 2000). */
  rpnPreNmsTopNTrain?: number;
  /** Proposals kept per level before NMS in eval (default 1000). */
  rpnPreNmsTopNTest?: number;
  /** Proposals kept per image after NMS in training (default 2000). */
  rpnPostNmsTopNTrain?: number;
  /** Proposals kept per image after NMS in eval (default 1000). */
  rpnPostNmsTopNTest?: number;
  /** The RPN's NMS IoU threshold (default 0.7). */
  rpnNmsThresh?: number;
  /** IoU at or above which an anchor is positive (default 0.7). */
  rpnFgIouThresh?: number;
  /** IoU below which an anchor is negative (default 0.3). */
  rpnBgIouThresh?: number;
  /** Anchors sampled per image for the RPN's losses (default 256). */
  rpnBatchSizePerImage?: number;
  /** Share of positives among them (default 0.5). */
  rpnPositiveFraction?: number;
  /** Proposals with a lower objectness probability are dropped (default 0). */
  rpnScoreThresh?: number;
  /** The RoI pooler (default MultiScaleRoIAlign(['0', '1', '2', '3'], 7, 2)). */
  boxRoiPool?: MultiScaleRoIAlign;
  /** The box head (default TwoMLPHead(outChannels * 7 * 7, 1024), for the default pooler's 7x7). */
  boxHead?: Module<[Tensor], Tensor>;
  /** The box predictor (default FastRCNNPredictor(1024, numClasses)); give numClasses null with it. */
  boxPredictor?: Module<[Tensor], [Tensor, Tensor]>;
  /** Detections must score above this (default 0.05). */
  boxScoreThresh?: number;
  /** The per-class NMS IoU threshold of the detections (default 0.5). */
  boxNmsThresh?: number;
  /** Detections kept per image (default 100). */
  boxDetectionsPerImg?: number;
  /** IoU at or above which a proposal is foreground (default 0.5). */
  boxFgIouThresh?: number;
  /** IoU below which a proposal is background (default 0.5). */
  boxBgIouThresh?: number;
  /** Proposals sampled per image for the box losses (default 512). */
  boxBatchSizePerImage?: number;
  /** Share of foreground among them (default 0.25). */
  boxPositiveFraction?: number;
  /** The box coder's weights (default [10, 10, 5, 5]). */
  bboxRegWeights?: BoxCoderWeights;
}

/**
 * Faster R-CNN, as torchvision's `FasterRCNN(backbone, num_classes, **kwargs)`: a
 * {@link GeneralizedRCNN} whose parts default to torchvision's (see
 * {@link FasterRCNNOptions}). `backbone` returns named feature maps of `outChannels`
 * channels; the default anchors (5 levels) and pooler (levels '0'..'3') fit an FPN
 * backbone such as {@link resnetFpnBackbone}'s. `numClasses` counts the background; give
 * null only with `boxPredictor` (ArgumentError otherwise, and for both).
 *
 * @example
 * const backbone = models.detection.resnetFpnBackbone({ backboneName: 'resnet50' });
 * const model = new models.detection.FasterRCNN(backbone, 3, { minSize: 512, maxSize: 853 });
 * const losses = model.losses([image], [{ boxes, labels }]);
 */
export class FasterRCNN extends GeneralizedRCNN {
  /**
   * @param backbone - named feature maps of `outChannels` channels
   * @param numClasses - classes including the background, or null with `opts.boxPredictor`
   * @param opts - torchvision's keyword arguments (see {@link FasterRCNNOptions})
   * @param mask - a mask branch for the RoI heads ({@link MaskRCNN} passes its own; default none)
   */
  constructor(backbone: DetectionBackbone, numClasses: number | null, opts: FasterRCNNOptions = {}, mask?: MaskBranch) {
    const op = 'FasterRCNN';
    if (!(backbone instanceof Module) || !(typeof backbone.outChannels === 'number' && Number.isInteger(backbone.outChannels) && backbone.outChannels > 0)) {
      throw new ArgumentError(`${op}: expected backbone to be a Module with outChannels, a positive integer (its feature maps' channels), got ${describe(backbone)}`);
    }
    if (typeof opts !== 'object' || opts === null) throw new ArgumentError(`${op}: expected opts to be an options object, got ${describe(opts)}`);
    if (numClasses !== null && opts.boxPredictor !== undefined) throw new ArgumentError(`${op}: numClasses should be null when boxPredictor is given, got ${describe(numClasses)}`);
    if (numClasses === null && opts.boxPredictor === undefined) throw new ArgumentError(`${op}: numClasses should be given when boxPredictor is not, got null`);
    if (numClasses !== null) checkInt(op, 'numClasses', numClasses, 1);
    const outChannels = backbone.outChannels;

    const anchorGenerator = opts.rpnAnchorGenerator ?? new AnchorGenerator([[32], [64], [128], [256], [512]], Array.from({ length: 5 }, () => [0.5, 1, 2]));
    const rpnHead = opts.rpnHead ?? new RPNHead(outChannels, anchorGenerator.numAnchorsPerLocation()[0]!);
    const rpn = new RegionProposalNetwork(anchorGenerator, rpnHead, {
      fgIouThresh: opts.rpnFgIouThresh ?? 0.7,
      bgIouThresh: opts.rpnBgIouThresh ?? 0.3,
      batchSizePerImage: opts.rpnBatchSizePerImage ?? 256,
      positiveFraction: opts.rpnPositiveFraction ?? 0.5,
      preNmsTopN: { training: opts.rpnPreNmsTopNTrain ?? 2000, testing: opts.rpnPreNmsTopNTest ?? 1000 },
      postNmsTopN: { training: opts.rpnPostNmsTopNTrain ?? 2000, testing: opts.rpnPostNmsTopNTest ?? 1000 },
      nmsThresh: opts.rpnNmsThresh ?? 0.7,
      scoreThresh: opts.rpnScoreThresh ?? 0,
    });

    const boxRoiPool = opts.boxRoiPool ?? new MultiScaleRoIAlign(['0', '1', '2', '3'], 7, 2);
    const representationSize = 1024;
    const boxHead = opts.boxHead ?? new TwoMLPHead(outChannels * boxRoiPool.outputSize[0] * boxRoiPool.outputSize[1], representationSize);
    const boxPredictor = opts.boxPredictor ?? new FastRCNNPredictor(representationSize, numClasses!);
    const roiHeads = new RoIHeads(boxRoiPool, boxHead, boxPredictor, {
      fgIouThresh: opts.boxFgIouThresh ?? 0.5,
      bgIouThresh: opts.boxBgIouThresh ?? 0.5,
      batchSizePerImage: opts.boxBatchSizePerImage ?? 512,
      positiveFraction: opts.boxPositiveFraction ?? 0.25,
      scoreThresh: opts.boxScoreThresh ?? 0.05,
      nmsThresh: opts.boxNmsThresh ?? 0.5,
      detectionsPerImg: opts.boxDetectionsPerImg ?? 100,
      ...(opts.bboxRegWeights ? { bboxRegWeights: opts.bboxRegWeights } : {}),
      ...(mask ? { mask } : {}),
    });

    const transform = new GeneralizedRCNNTransform(opts.minSize ?? 800, opts.maxSize ?? 1333, opts.imageMean ?? [0.485, 0.456, 0.406], opts.imageStd ?? [0.229, 0.224, 0.225]);
    super(backbone, rpn, roiHeads, transform);
  }
}

/** Options of {@link fasterrcnnResnet50Fpn}: the model's, the class count and the backbone's trainable stages. */
export interface FasterRCNNResNet50FpnOptions extends FasterRCNNOptions {
  /** Classes including the background (default 91: COCO's 90 and the background). */
  numClasses?: number;
  /** ResNet stages, from the top, left trainable: 0..5 (default 3). */
  trainableBackboneLayers?: number;
}

/**
 * Faster R-CNN with a ResNet-50 FPN backbone, as torchvision's `fasterrcnn_resnet50_fpn`
 * built for a pretrained backbone: FrozenBatchNorm2d and `trainableBackboneLayers` (default 3)
 * trainable stages. (Without any weights torchvision switches to BatchNorm2d and trains all 5
 * stages; neocog has no weight download, so it always builds the layout that torchvision's
 * checkpoints, converted to safetensors, load into.)
 *
 * @example
 * const model = models.detection.fasterrcnnResnet50Fpn({ numClasses: 91 });
 * model.loadStateDict((await io.loadSafetensors('fasterrcnn_resnet50_fpn_coco.safetensors')).tensors);
 * model.eval();
 * const [{ boxes, labels, scores }] = noGrad(() => model.detect([image]));
 */
export function fasterrcnnResnet50Fpn(opts: FasterRCNNResNet50FpnOptions = {}): FasterRCNN {
  const { numClasses = 91, trainableBackboneLayers = 3, ...options } = opts;
  const backbone = resnetFpnBackbone({ backboneName: 'resnet50', trainableLayers: trainableBackboneLayers });
  return new FasterRCNN(backbone, numClasses, options);
}
