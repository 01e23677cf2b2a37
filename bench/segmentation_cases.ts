// The rows of bench/segmentation.ts (issue 14, "Speed"): U-Net training steps, DeepLabV3 eval
// and sliding-window inference against PyTorch, one entry each. The same objects go to the
// PyTorch peers (bench/segmentation_torch.py builds its side of each row from them), so a
// row's settings exist once. Rows are told apart by `kind`: adding a kind is one interface
// here, one entry in bench/segmentation_workloads.ts's table and one in
// bench/segmentation_torch.py's KINDS (TypeScript refuses a kind without a neocog workload).
// A row whose peer is not torch (connected components against scipy.ndimage.label, target 1)
// fits the same way: its Python builder calls scipy inside the peer process, and a peer
// without scipy reports the row n/a.

/** A U-Net as models.segmentation.unet takes it (tests/fixtures/make_unet_fixtures.py's UNet takes the same). */
export interface UNetSettings {
  inChannels: number;
  numClasses: number;
  /** Down-sampling steps: depth 3 is 4 levels. */
  depth: number;
  baseChannels: number;
}

/** What every row has. */
interface RowBase {
  /** Row label and command-line name (several rows may share one). */
  name: string;
  /**
   * Timed calls per round, and untimed calls before the first round besides the one that
   * fingerprints the output (for an eval row a whole call, so seconds-long rows need none).
   */
  repeats: number;
  warmup: number;
  /** PyTorch times channels_last and NCHW and reports the faster. */
  memoryFormats: boolean;
  /** The target for best peer ms / neocog ms. */
  target: number;
  /**
   * Where neocog writes the row's weights and inputs (safetensors, PyTorch's state-dict
   * names, `__input__`, `__target__`) before the peers build the row, so both sides time
   * the same numbers and their outputs can be compared. Relative to the repository root.
   */
  sharedFile: string;
}

/** One training step of a U-Net: forward, per-pixel cross entropy, backward, SGD with momentum. */
export interface UNetTrainCase extends RowBase {
  kind: 'unetTrain';
  unet: UNetSettings;
  /** Images per step, each `[inChannels, size, size]`. */
  batch: number;
  size: number;
  lr: number;
  momentum: number;
}

/** torchvision's deeplabv3_resnet50(weights=None, weights_backbone=None, aux_loss=False) in eval, on `batch` images. */
export interface DeepLabEvalCase extends RowBase {
  kind: 'deeplabEval';
  numClasses: number;
  batch: number;
  size: number;
}

/** Sliding-window inference (MONAI's algorithm) of an eval U-Net over one `[1, C, image, image]` image. */
export interface SlidingWindowCase extends RowBase {
  kind: 'slidingWindow';
  unet: UNetSettings;
  image: number;
  roi: number;
  overlap: number;
  mode: 'gaussian';
  /** Gaussian sigma as a fraction of the window (MONAI's and neocog's default). */
  sigmaScale: number;
  /** Windows given to the U-Net at once. */
  swBatchSize: number;
}

/**
 * Connected-component labelling of a `[size, size]` mask of smoothed blobs covering about
 * half the image, against scipy.ndimage.label (the peer process's SciPy; no torch involved).
 */
export interface ConnectedComponentsCase extends RowBase {
  kind: 'connectedComponents';
  size: number;
  connectivity: 4 | 8;
}

/** One row of the segmentation bench. */
export type SegmentationCase = UNetTrainCase | DeepLabEvalCase | SlidingWindowCase | ConnectedComponentsCase;

/** The row kinds (one neocog workload and one PyTorch builder each). */
export type SegmentationKind = SegmentationCase['kind'];

// The U-Net: 4 levels (16-32-64-128 channels), one grey channel in, two classes out;
// bench/train.ts's U-Net rows use the same net.
const unet: UNetSettings = { inChannels: 1, numClasses: 2, depth: 3, baseChannels: 16 };
const shared = (file: string) => `bench/.build/segmentation/${file}.safetensors`;

const unetTrain = (batch: number): UNetTrainCase => ({
  kind: 'unetTrain',
  name: 'unetTrain',
  unet,
  batch,
  size: 128,
  lr: 0.01,
  momentum: 0.9,
  // Tens of milliseconds a step: 15 (batch 1) or 9 repeats a turn, as bench/cases.ts's training rows.
  repeats: batch === 1 ? 15 : 9,
  warmup: 2,
  memoryFormats: true,
  target: 1.2,
  sharedFile: shared(`unet_train_${batch}`),
});

export const segmentationCases: SegmentationCase[] = [
  unetTrain(1),
  unetTrain(4),
  // COCO-with-VOC-labels' 21 classes. About a second per call on a few cores, yet 3 calls a
  // turn: with one, neocog's turns of one run spread over 1167-1311 ms (the peer's 1430-1454).
  { kind: 'deeplabEval', name: 'deeplabv3Resnet50', numClasses: 21, batch: 1, size: 512, repeats: 3, warmup: 0, memoryFormats: true, target: 1.2, sharedFile: shared('deeplabv3') },
  // 1024² in 256² windows at 25% overlap: a stride of 192, 5 x 5 = 25 windows, 4 at a time.
  {
    kind: 'slidingWindow',
    name: 'slidingWindowUnet',
    unet,
    image: 1024,
    roi: 256,
    overlap: 0.25,
    mode: 'gaussian',
    sigmaScale: 0.125,
    swBatchSize: 4,
    // Under a second a call: 3 a turn, so that one slow call does not decide the turn.
    repeats: 3,
    warmup: 0,
    memoryFormats: true,
    target: 1.2,
    sharedFile: shared('sliding_window'),
  },
  // The 2048² mask; target 1x scipy.ndimage.label.
  ...([4, 8] as const).map(
    (connectivity): ConnectedComponentsCase => ({
      kind: 'connectedComponents',
      name: 'connectedComponents',
      size: 2048,
      connectivity,
      repeats: 5,
      warmup: 1,
      memoryFormats: false,
      target: 1,
      sharedFile: shared(`components_${connectivity}`),
    }),
  ),
];

/** The command-line name that selects every row of the segmentation bench. */
export const segmentationGroup = 'segmentation';

/** A row's label in the table: the name and its input. */
export function segmentationLabel(c: SegmentationCase): string {
  if (c.kind === 'unetTrain') return `${c.name} ${c.batch}x${c.unet.inChannels}x${c.size}x${c.size}`;
  if (c.kind === 'deeplabEval') return `${c.name} eval ${c.batch}x3x${c.size}x${c.size}`;
  if (c.kind === 'connectedComponents') return `${c.name} ${c.size}x${c.size} connectivity ${c.connectivity}`;
  return `${c.name} ${c.image}x${c.image} roi ${c.roi} overlap ${c.overlap}`;
}
