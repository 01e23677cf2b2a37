/**
 * SSDlite320 with a MobileNetV3-Large backbone (Howard et al. 2019, "Searching for
 * MobileNetV3"; Sandler et al. 2018, "MobileNetV2"), as torchvision's
 * `ssdlite320_mobilenet_v3_large` (0.14): the {@link SSD} detector (its box coding, matching,
 * hard-negative mining and post-processing, unchanged) on {@link SSDLiteFeatureExtractorMobileNet}
 * with an {@link SSDLiteHead}, in torchvision's layout, so its COCO checkpoint, converted to
 * safetensors, loads as it is.
 * @module
 */
import { ArgumentError } from '../../errors.js';
import { checkInt } from '../../ops/validate.js';
import { describe } from '../../tensor/shape.js';
import { DefaultBoxGenerator } from '../../vision/default_box_generator.js';
import { mobilenetV3Large } from '../classification/mobilenet_v3.js';
import type { NormLayerFactory } from '../classification/options.js';
import { SSD, type SSDOptions } from './ssd.js';
import { SSDLiteHead, ssdliteBatchNorm, ssdliteNormalInit } from './ssdlite_heads.js';
import { mobilenetExtractor } from './ssdlite_mobilenet.js';

/** Options of {@link ssdlite320MobilenetV3Large}: the model's (with SSDlite's defaults), the class count and the backbone's. */
export interface SSDLite320MobileNetV3LargeOptions extends Omit<SSDOptions, 'head'> {
  /** Classes including the background (default 91: COCO's 90 and the background). */
  numClasses?: number;
  /** MobileNetV3 stages, from the top, left trainable: 0..6 (default 6: all, as torchvision's without pretrained weights). */
  trainableBackboneLayers?: number;
  /**
   * Halve the channels of MobileNetV3's last stage (default true, as torchvision's without
   * an ImageNet backbone and its COCO checkpoint; false for a backbone of ImageNet weights).
   */
  reducedTail?: boolean;
  /** MobileNetV3's width multiplier (default 1; the extra blocks keep their widths, as torchvision's). */
  widthMult?: number;
  /** The normalisation layer everywhere (default {@link ssdliteBatchNorm}: BatchNorm2d, eps 0.001, momentum 0.03). */
  normLayer?: NormLayerFactory;
}

/**
 * SSDlite320 with a MobileNetV3-Large backbone (3,440,060 parameters with 91 classes), as
 * torchvision's `ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None)`:
 * MobileNetV3-Large (reduced tail) whose convolutions start normal (std 0.03) as
 * torchvision's `_normal_init`, split at the 13th block's expansion layer, then four
 * depthwise-separable extra blocks: six maps of 672, 480, 512, 256, 256 and 128 channels and
 * 20, 10, 5, 3, 2 and 1 cells; {@link DefaultBoxGenerator} with aspect ratios [2, 3] on every
 * level and scales spread from 0.2 to 0.95 (3234 default boxes); an {@link SSDLiteHead};
 * images resized to 320x320 and normalised with mean and std 0.5 (0..1 becomes -1..1).
 * SSDlite's defaults: scoreThresh 0.001, nmsThresh 0.55, detectionsPerImg 300,
 * topkCandidates 300. Training and eval are {@link SSD}'s.
 *
 * @example
 * const model = models.detection.ssdlite320MobilenetV3Large({ numClasses: 91 });
 * model.loadStateDict((await io.loadSafetensors('ssdlite320_mobilenet_v3_large_coco.safetensors')).tensors);
 * model.eval();
 * const [{ boxes, labels, scores }] = noGrad(() => model.detect([image]));
 */
export function ssdlite320MobilenetV3Large(opts: SSDLite320MobileNetV3LargeOptions = {}): SSD {
  const op = 'ssdlite320MobilenetV3Large';
  if (typeof opts !== 'object' || opts === null) throw new ArgumentError(`${op}: expected opts to be an options object, got ${describe(opts)}`);
  const { numClasses = 91, trainableBackboneLayers = 6, reducedTail = true, widthMult = 1, normLayer = ssdliteBatchNorm, ...options } = opts;
  // The cheap checks first, so that a bad option throws before any weights are made.
  checkInt(op, 'numClasses', numClasses, 1);
  checkInt(op, 'trainableBackboneLayers', trainableBackboneLayers, 0);
  if (typeof reducedTail !== 'boolean') throw new ArgumentError(`${op}: expected reducedTail to be a boolean, got ${describe(reducedTail)}`);
  if (typeof normLayer !== 'function') throw new ArgumentError(`${op}: expected normLayer to be a function (channels) => Module, got ${describe(normLayer)}`);
  if ((options as { head?: unknown }).head !== undefined) throw new ArgumentError(`${op}: the head is SSDlite's own; build an SSD for another head, got head ${describe((options as { head?: unknown }).head)}`);

  const mobilenet = mobilenetV3Large({ reducedTail, widthMult, normLayer });
  // torchvision re-initialises a backbone without ImageNet weights (all of ours).
  ssdliteNormalInit(mobilenet);
  const backbone = mobilenetExtractor(mobilenet, trainableBackboneLayers, normLayer);
  // The classifier is not part of the detector (torchvision lets it be collected).
  mobilenet.classifier.dispose();
  const anchorGenerator = new DefaultBoxGenerator(Array.from({ length: 6 }, () => [2, 3]), { minRatio: 0.2, maxRatio: 0.95 });
  const head = new SSDLiteHead(backbone.outChannels, anchorGenerator.numAnchorsPerLocation(), numClasses, normLayer);
  return new SSD(backbone, anchorGenerator, [320, 320], null, {
    scoreThresh: 0.001,
    nmsThresh: 0.55,
    detectionsPerImg: 300,
    topkCandidates: 300,
    // Rescales the input from 0..1 to -1..1, as the backbone expects.
    imageMean: [0.5, 0.5, 0.5],
    imageStd: [0.5, 0.5, 0.5],
    ...options,
    head,
  });
}
