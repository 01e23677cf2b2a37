// The rows of bench/detection.ts (issue 13, "Speed"): the detection ops and the detectors
// against torchvision, one entry each. The same objects go to the PyTorch peers
// (bench/detection_torch.py builds its side of each row from them), so a row's settings
// exist once. Adding a model row is one entry here plus its builder on each side.

/** The detectors the bench knows, by neocog's factory name (torchvision's in bench/detection_torch.py). */
export type DetectionModelName = 'fasterrcnnResnet50Fpn' | 'retinanetResnet50Fpn';

/** Settings both sides build a detector with (torchvision's keyword arguments, in camelCase). */
export interface DetectionModelSettings {
  /** Classes including the background (COCO's 91). */
  numClasses: number;
  /** The transform's min_size and max_size: both the image side, so the image is processed at its own size. */
  minSize: number;
  maxSize: number;
  /** Detections must score above this (eval). */
  scoreThresh: number;
  /** Detections kept per image (eval). */
  detectionsPerImg: number;
  /** Backbone stages left trainable, from the top (torchvision's default with a pretrained backbone). */
  trainableBackboneLayers: number;
}

/** A box op row: one call (and for `roiAlignTrain`, its backward) on a fixed input, timed `repeats` times per round. */
export interface DetectionOpCase {
  kind: 'op';
  /** Row label and command-line name. */
  name: 'nms' | 'batchedNms' | 'roiAlignTrain';
  /** nms, batchedNms: [boxes]; roiAlignTrain: [N, C, H, W, rois, outputSize]. */
  shape: number[];
  repeats: number;
  warmup: number;
  /** PyTorch times channels_last and NCHW and reports the faster. */
  memoryFormats: boolean;
}

/** A detector row: eval on `batch` images, or one SGD step on `batch` images with `targets`. */
export interface DetectionModelCase {
  kind: 'model';
  /** Row label and command-line name: the neocog factory. */
  name: DetectionModelName;
  mode: 'eval' | 'train';
  /** Images per call, each `[3, size, size]` with values in [0, 1). */
  batch: number;
  size: number;
  settings: DetectionModelSettings;
  /** Training only: per image, ground-truth boxes (xyxy, pixels) and labels. */
  targets: { boxes: number[][]; labels: number[] }[];
  repeats: number;
  warmup: number;
  memoryFormats: boolean;
}

/** One row of the detection bench. */
export type DetectionCase = DetectionOpCase | DetectionModelCase;

// torchvision's eval defaults (score 0.05; 100 detections for Faster R-CNN, 300 for
// RetinaNet), with min_size = max_size = the image side, so neither side resizes.
const evalSettings = (size: number, detectionsPerImg: number): DetectionModelSettings => ({
  numClasses: 91,
  minSize: size,
  maxSize: size,
  scoreThresh: 0.05,
  detectionsPerImg,
  trainableBackboneLayers: 3,
});

// A few boxes per image, well inside 512 x 512, of the sizes the anchors cover.
const trainTargets = [
  { boxes: [[40, 60, 200, 220], [300, 100, 460, 380], [100, 350, 180, 430]], labels: [1, 17, 3] },
  { boxes: [[20, 20, 300, 260], [250, 280, 500, 500]], labels: [5, 62] },
];

const detector = (name: DetectionModelName, mode: 'eval' | 'train'): DetectionModelCase => {
  const detections = name === 'retinanetResnet50Fpn' ? 300 : 100;
  return mode === 'eval'
    ? { kind: 'model', name, mode, batch: 1, size: 800, settings: evalSettings(800, detections), targets: [], repeats: 1, warmup: 1, memoryFormats: true }
    : { kind: 'model', name, mode, batch: 2, size: 512, settings: evalSettings(512, detections), targets: trainTargets, repeats: 1, warmup: 1, memoryFormats: true };
};

export const detectionCases: DetectionCase[] = [
  // 10k random boxes (corner in [0, 100), size in [1, 41)), IoU 0.5: as bench/ops.ts's nms.
  { kind: 'op', name: 'nms', shape: [10000], repeats: 5, warmup: 1, memoryFormats: false },
  // The same boxes in 80 classes.
  { kind: 'op', name: 'batchedNms', shape: [10000], repeats: 5, warmup: 1, memoryFormats: false },
  // Forward and backward: 512 RoIs on a 2 x 256 x 50 x 50 stride-16 map, 7 x 7, sampling 2, aligned.
  { kind: 'op', name: 'roiAlignTrain', shape: [2, 256, 50, 50, 512, 7], repeats: 3, warmup: 1, memoryFormats: true },
  detector('fasterrcnnResnet50Fpn', 'eval'),
  detector('retinanetResnet50Fpn', 'eval'),
  detector('fasterrcnnResnet50Fpn', 'train'),
  detector('retinanetResnet50Fpn', 'train'),
];

/** The command-line name that selects every row of the detection bench. */
export const detectionGroup = 'detection';

/** A row's label in the table: the name, and for detectors the mode and input. */
export function detectionLabel(c: DetectionCase): string {
  if (c.kind === 'op') return `${c.name} ${c.shape.join('x')}`;
  return `${c.name} ${c.mode} ${c.batch}x3x${c.size}x${c.size}`;
}
