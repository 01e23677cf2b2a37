/**
 * Sliding-window inference, as MONAI's `sliding_window_inference`: a model trained on
 * patches run over an image or volume too large to run whole, tile by tile, with the tiles'
 * overlapping outputs blended by an importance map.
 * @module
 */
import { noGrad } from '../autograd/grad_mode.js';
import { ArgumentError, ShapeError } from '../errors.js';
import { StepPacer } from '../event_loop.js';
import { addInPlace } from '../ops/elementwise.js';
import { cat, pad, type PadMode } from '../ops/shape.js';
import { checkInRange, checkInt, checkTensor } from '../ops/validate.js';
import { fromTypedArray, zeros } from '../tensor/creation.js';
import { resolveDevice, type DeviceLike } from '../tensor/device.js';
import type { DType } from '../tensor/dtype.js';
import { keep, scope } from '../tensor/memory.js';
import { describe } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';

/** A model's forward on a batch of tiles `[B, C, ...roi]`, returning `[B, C', ...roi]`, now or later. */
export type TilePredictor = (tiles: Tensor) => Tensor | Promise<Tensor>;

/** How overlapping tiles are blended: equal weights, or a Gaussian that trusts tile centres more. */
export type BlendMode = 'constant' | 'gaussian';

/** Options of {@link slidingWindowInference}. */
export interface SlidingWindowOptions {
  /** Fraction of the window shared by neighbouring windows along each dim, in [0, 1) (default 0.25). */
  overlap?: number;
  /** Blending of overlaps (default 'constant'). */
  mode?: BlendMode;
  /** Gaussian sigma as a fraction of the window size, one or one per dim (default 0.125). */
  sigmaScale?: number | readonly number[];
  /** Tiles given to the predictor at once (default 1). */
  swBatchSize?: number;
  /** How an input smaller than the window is padded up to it (default 'constant'). */
  padMode?: PadMode;
  /** The value constant padding fills with (default 0). */
  padValue?: number;
  /** Device of the output and its accumulators (default: the input's). Tiles run on the input's device. */
  device?: DeviceLike;
}

const OP = 'slidingWindowInference';

/**
 * The importance map of one window, `[...roiSize]` float32: ones ('constant'), or a
 * separable Gaussian with sigma `sigmaScale · roiSize` per dim, centred on the window,
 * scaled to a maximum of 1 and clamped below at 1e-3 so that no output pixel gets zero
 * weight (MONAI's `compute_importance_map`).
 *
 * @example importanceMap([96, 96], 'gaussian') // 1 at the centre, exp(-47.5² / 288) clamped to 1e-3 at the edges (σ = 12)
 */
export function importanceMap(roiSize: readonly number[], mode: BlendMode = 'gaussian', sigmaScale: number | readonly number[] = 0.125, device: DeviceLike = 'cpu'): Tensor<'float32'> {
  const op = 'importanceMap';
  const size = roiSize.map((s, i) => checkInt(op, `roiSize[${i}]`, s, 1));
  if (size.length === 0) throw new ShapeError(`${op}: expected roiSize to list at least one dim, got ${describe(roiSize)}`);
  if (mode !== 'constant' && mode !== 'gaussian') throw new ArgumentError(`${op}: expected mode 'constant' or 'gaussian', got ${describe(mode)}`);
  const scales = typeof sigmaScale === 'number' ? size.map(() => sigmaScale) : [...sigmaScale];
  if (scales.length !== size.length || scales.some((s) => !(s > 0) || !Number.isFinite(s))) {
    throw new ArgumentError(`${op}: expected sigmaScale to be a positive number or ${size.length} of them, got ${describe(sigmaScale)}`);
  }
  const numel = size.reduce((a, b) => a * b, 1);
  const values = new Float32Array(numel).fill(1);
  if (mode === 'gaussian') {
    // Separable: one 1-D Gaussian per dim, centred between the middle pixels of an even size.
    const profiles = size.map((n, d) => {
      const sigma = n * scales[d]!;
      const profile = Array.from({ length: n }, (_, i) => Math.exp(-((i - (n - 1) / 2) ** 2) / (2 * sigma * sigma)));
      const peak = Math.max(...profile);
      return profile.map((v) => v / peak);
    });
    for (let flat = 0; flat < numel; flat++) {
      let rest = flat;
      let weight = 1;
      for (let d = size.length - 1; d >= 0; d--) {
        weight *= profiles[d]![rest % size[d]!]!;
        rest = Math.floor(rest / size[d]!);
      }
      values[flat] = Math.max(weight, 1e-3);
    }
  }
  return fromTypedArray(values, size, { device: resolveDevice(op, device) });
}

/**
 * The start of every window along one dim (MONAI's `dense_patch_slices`): a stride of
 * `roi · (1 - overlap)` (at least 1), the last window moved back to end at the border.
 */
function windowStarts(image: number, roi: number, overlap: number): number[] {
  const interval = roi === image ? roi : Math.max(Math.floor(roi * (1 - overlap)), 1);
  const starts: number[] = [];
  for (let start = 0; ; start += interval) {
    starts.push(Math.min(start, image - roi));
    if (start + roi >= image) return starts;
  }
}

/** Every combination of one start per dim, first dim slowest. */
function windowGrid(startsPerDim: readonly number[][]): number[][] {
  return startsPerDim.reduce<number[][]>((grid, starts) => grid.flatMap((prefix) => starts.map((s) => [...prefix, s])), [[]]);
}

/** The view of `t` at `starts` with extent `roi` in its trailing dims. */
function window<D extends DType>(t: Tensor<D>, starts: readonly number[], roi: readonly number[]): Tensor<D> {
  const lead = t.ndim - starts.length;
  return starts.reduce((view, start, d) => view.slice(lead + d, start, start + roi[d]!), t);
}

/**
 * Runs `predictor` over `input` window by window and blends the windows' outputs into one
 * output, as MONAI's `sliding_window_inference`. `input` is `[N, C, H, W]` or
 * `[N, C, D, H, W]`; `roiSize` lists one window size per spatial dim. Windows overlap by
 * `overlap` of their size; along a dim smaller than the window, the input is padded up to it
 * (`padMode`, `padValue`) and the output cropped back. The windows of all batch items go to
 * `predictor` `swBatchSize` at a time; its output must keep the window's spatial size (any
 * channel count). Each output window is multiplied by the importance map ({@link importanceMap})
 * and added into the output, which is then divided by the summed weights: so with 'constant'
 * it is the mean of the windows covering each pixel. Gradients are not recorded.
 *
 * Asynchronous: the predictor may return a Promise (a model on another thread, an
 * InferenceSession), and the event loop gets a turn after each batch of windows, so a server
 * keeps answering and only one batch of windows' temporaries is alive at a time.
 *
 * @param input `[N, C, ...spatial]` (2 or 3 spatial dims)
 * @param roiSize the window size per spatial dim; a number applies to every dim
 * @param predictor the model on a batch of windows, `[B, C, ...roiSize]` → `[B, C', ...roiSize]`
 * @returns `[N, C', ...spatial]` float32 on `opts.device` (default the input's device)
 *
 * @example
 * const net = models.segmentation.unet({ inChannels: 1, numClasses: 2, depth: 3 });
 * net.eval();
 * const logits = await slidingWindowInference(image, [256, 256], (tiles) => net.call(tiles), { overlap: 0.25, mode: 'gaussian', swBatchSize: 4 });
 */
export async function slidingWindowInference(input: Tensor, roiSize: number | readonly number[], predictor: TilePredictor, opts: SlidingWindowOptions = {}): Promise<Tensor<'float32'>> {
  checkTensor(OP, 'input', input);
  const spatialDims = input.ndim - 2;
  if (spatialDims !== 2 && spatialDims !== 3) {
    throw new ShapeError(`${OP}: expected input of rank 4 [N, C, H, W] or 5 [N, C, D, H, W], got rank ${input.ndim} [${input.shape.join(', ')}]`);
  }
  const roiList = typeof roiSize === 'number' ? new Array<number>(spatialDims).fill(roiSize) : [...roiSize];
  if (roiList.length !== spatialDims) {
    throw new ShapeError(`${OP}: expected roiSize to list ${spatialDims} sizes (one per spatial dim of input [${input.shape.join(', ')}]), got ${describe(roiSize)}`);
  }
  const roi = roiList.map((s, i) => checkInt(OP, `roiSize[${i}]`, s, 1));
  if (typeof predictor !== 'function') throw new ArgumentError(`${OP}: expected predictor to be a function, got ${describe(predictor)}`);
  const overlap = opts.overlap ?? 0.25;
  checkInRange(OP, 'opts.overlap', overlap, 0, 1);
  if (overlap === 1) throw new ArgumentError(`${OP}: expected opts.overlap in [0, 1), got 1`);
  const swBatchSize = checkInt(OP, 'opts.swBatchSize', opts.swBatchSize ?? 1, 1);
  const mode = opts.mode ?? 'constant';
  if (mode !== 'constant' && mode !== 'gaussian') throw new ArgumentError(`${OP}: expected opts.mode 'constant' or 'gaussian', got ${describe(mode)}`);
  const device = opts.device === undefined ? input.device : resolveDevice(OP, opts.device);

  const [batch, , ...imageSize] = input.shape as number[];
  // Pad every dim smaller than the window up to it, half before and half after (F.pad order: last dim first).
  const padBefore = imageSize.map((s, d) => Math.floor(Math.max(roi[d]! - s, 0) / 2));
  const padAfter = imageSize.map((s, d) => Math.max(roi[d]! - s, 0) - padBefore[d]!);
  const needsPad = padBefore.some((p, d) => p + padAfter[d]! > 0);
  const padded = needsPad
    ? pad(input, imageSize.flatMap((_, i) => [padBefore[spatialDims - 1 - i]!, padAfter[spatialDims - 1 - i]!]), opts.padMode ?? 'constant', opts.padValue ?? 0)
    : input;
  const paddedSize = imageSize.map((s, d) => s + padBefore[d]! + padAfter[d]!);

  const windows = windowGrid(paddedSize.map((s, d) => windowStarts(s, roi[d]!, overlap)));
  const weights = importanceMap(roi, mode, opts.sigmaScale ?? 0.125, device);
  // Every (batch item, window) pair; the windows are the same for every item, so the weight
  // map (shared by the items) is accumulated for item 0 only.
  const tiles = Array.from({ length: batch! * windows.length }, (_, i) => ({ item: Math.floor(i / windows.length), starts: windows[i % windows.length]! }));
  let output: Tensor<'float32'> | null = null;
  const weightSum = zeros(paddedSize, { device });
  // One batch of windows ahead of the stream at most, so queued temporaries stay bounded.
  const pacer = new StepPacer();
  try {
    for (let first = 0; first < tiles.length; first += swBatchSize) {
      const group = tiles.slice(first, first + swBatchSize);
      await scope(() =>
        noGrad(async () => {
          const windowsIn = cat(group.map(({ item, starts }) => window(padded.slice(0, item, item + 1), starts, roi)));
          const predicted = await predictor(windowsIn);
          checkPrediction(predicted, group.length, roi);
          const onDevice = predicted.device === device && predicted.dtype === 'float32' ? (predicted as Tensor<'float32'>) : predicted.to(device, 'float32');
          if (output === null) output = keep(zeros([batch!, onDevice.shape[1]!, ...paddedSize], { device }));
          const out: Tensor<'float32'> = output;
          group.forEach(({ item, starts }, i) => {
            addInPlace(window(out.slice(0, item, item + 1), starts, roi), onDevice.slice(0, i, i + 1).mul(weights));
            if (item === 0) addInPlace(window(weightSum, starts, roi), weights);
          });
        }),
      );
      await pacer.step();
    }
    const accumulated = output as Tensor<'float32'> | null;
    if (accumulated === null) throw new ShapeError(`${OP}: input [${input.shape.join(', ')}] has no windows (batch of 0)`);
    const blended: Tensor<'float32'> = scope(() => {
      const averaged = accumulated.div(weightSum);
      return needsPad ? window(averaged, padBefore, imageSize).contiguous() : averaged;
    });
    accumulated.dispose();
    return blended;
  } catch (error) {
    (output as Tensor | null)?.dispose();
    throw error;
  } finally {
    weightSum.dispose();
    weights.dispose();
    if (padded !== input) padded.dispose();
  }
}

/** The predictor's output must be one tensor per window, `[B, C', ...roi]`. */
function checkPrediction(predicted: unknown, count: number, roi: readonly number[]): asserts predicted is Tensor {
  const t = checkTensor(OP, 'predictor output', predicted);
  const expected = `[${count}, C, ${roi.join(', ')}]`;
  if (t.ndim !== roi.length + 2 || t.shape[0] !== count || roi.some((s, d) => t.shape[d + 2] !== s)) {
    throw new ShapeError(`${OP}: expected predictor output ${expected} for ${count} windows, got [${t.shape.join(', ')}]`);
  }
}
