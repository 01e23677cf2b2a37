// neocog's side of bench/detection.ts's detector rows: each detector's factory, called with a
// row's settings (bench/detection_cases.ts). A detector whose factory is null here is not in
// this checkout yet; its rows print "not available" for neocog and still time torchvision.
import { models, type nn, type Tensor } from '../lib/index.js';
import type { DetectionModelName, DetectionModelSettings } from './detection_cases.js';

/** What the bench calls on a detector: eval detections and training losses, as torchvision's. */
export type BenchDetector = nn.Module & {
  detect(images: readonly Tensor[]): readonly Record<string, Tensor>[];
  losses(images: readonly Tensor[], targets: readonly { boxes: Tensor; labels: Tensor }[]): Record<string, Tensor>;
};

/** Builds a detector with a row's settings (random weights). */
export type DetectorFactory = (settings: DetectionModelSettings) => BenchDetector;

const fasterRcnn: DetectorFactory = (s) =>
  models.detection.fasterrcnnResnet50Fpn({
    numClasses: s.numClasses,
    trainableBackboneLayers: s.trainableBackboneLayers,
    minSize: s.minSize,
    maxSize: s.maxSize,
    boxScoreThresh: s.scoreThresh,
    boxDetectionsPerImg: s.detectionsPerImg,
  }) as unknown as BenchDetector;

const retinaNet: DetectorFactory = (s) =>
  models.detection.retinanetResnet50Fpn({
    numClasses: s.numClasses,
    trainableBackboneLayers: s.trainableBackboneLayers,
    minSize: s.minSize,
    maxSize: s.maxSize,
    scoreThresh: s.scoreThresh,
    detectionsPerImg: s.detectionsPerImg,
  }) as unknown as BenchDetector;

/** The detectors neocog benches (null would print "not available" for a model neocog lacks). */
export const neocogDetectors: Readonly<Record<DetectionModelName, DetectorFactory | null>> = {
  fasterrcnnResnet50Fpn: fasterRcnn,
  retinanetResnet50Fpn: retinaNet,
};
