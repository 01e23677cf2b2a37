/**
 * Occlusion sensitivity (Zeiler and Fergus 2014): how much the target score drops when a
 * patch of the image is covered, patch position by patch position.
 * @module
 */
import { noGrad } from '../autograd/grad_mode.js';
import { ArgumentError } from '../errors.js';
import type { Module } from '../nn/module.js';
import { checkInt, intTuple } from '../ops/validate.js';
import { tensor, zeros } from '../tensor/creation.js';
import { scope } from '../tensor/memory.js';
import type { Tensor } from '../tensor/tensor.js';
import { baselineFor, checkImage, checkTarget, targetScores, type Target } from './inputs.js';
import { withModelFrozen } from './model_state.js';

/** Options of {@link occlusion}. */
export interface OcclusionOptions {
  /** The covered patch, `size` or `[height, width]` in pixels (default 8, at most the image). */
  patch?: number | readonly [number, number];
  /** The step between patch positions, `step` or `[dy, dx]` (default half the patch, at least 1). */
  stride?: number | readonly [number, number];
  /** What covers the patch: a number, or a `[C, H, W]` image whose pixels are used (default 0). */
  baseline?: number | Tensor;
  /** Occluded images per forward (default 16). */
  batchSize?: number;
}

/**
 * The occlusion sensitivity map of `target` for `image` (float32 `[C, H, W]`), float32
 * `[H, W]`: each patch position covers the image with `baseline` and records
 * `score(image) - score(covered)`; each pixel gets the mean drop over the patches that
 * cover it (as Captum's `Occlusion`). Positions step by `stride` from the top-left corner,
 * with a last one flush with the bottom and right edges, so every pixel is covered. The
 * forwards run without recording gradients, `batchSize` covered images at a time; a
 * target function is applied to each image's slice of the output. The model runs in eval
 * mode and is left as it was.
 *
 * @throws ArgumentError when the patch is larger than the image
 * @example
 * const drop = viz.occlusion(model, image, label, { patch: 6, stride: 3 }); // [28, 28]
 * await viz.writePng(viz.colormap(drop, { name: 'magma' }), 'occlusion.png');
 */
export function occlusion<Out>(model: Module<[Tensor], Out>, image: Tensor, target: Target<Out>, opts: OcclusionOptions = {}): Tensor<'float32'> {
  const op = 'occlusion';
  const x = checkImage(op, image);
  checkTarget(op, target);
  const [channels, height, width] = x.shape as [number, number, number];
  const [patchH, patchW] = intTuple(op, 'patch', opts.patch, 2, [Math.min(8, height), Math.min(8, width)], 1) as [number, number];
  if (patchH > height || patchW > width) throw new ArgumentError(`${op}: expected patch of at most the image's [${height}, ${width}], got [${patchH}, ${patchW}]`);
  const [strideH, strideW] = intTuple(op, 'stride', opts.stride, 2, [Math.max(1, Math.floor(patchH / 2)), Math.max(1, Math.floor(patchW / 2))], 1) as [number, number];
  const batchSize = checkInt(op, 'batchSize', opts.batchSize ?? 16, 1);
  const windows = starts(height, patchH, strideH).flatMap((top) => starts(width, patchW, strideW).map((left) => [top, left] as const));

  return withModelFrozen(model, () =>
    noGrad(() =>
      scope(() => {
        const cover = baselineFor(op, x, opts.baseline ?? 0);
        const reference = targetScores(op, model.call(x.reshape([1, channels, height, width])), target, 1);
        const plane = height * width;
        const counts = new Float32Array(plane);
        let total: Tensor = zeros([height, width], { device: x.device });
        for (let first = 0; first < windows.length; first += batchSize) {
          const batch = windows.slice(first, first + batchSize);
          const masks = new Float32Array(batch.length * plane);
          batch.forEach(([top, left], i) => {
            for (let y = top; y < top + patchH; ++y) {
              masks.fill(1, i * plane + y * width + left, i * plane + y * width + left + patchW);
              for (let c = left; c < left + patchW; ++c) counts[y * width + c]! += 1;
            }
          });
          const next = scope(() => {
            const mask = tensor(masks, { shape: [batch.length, 1, height, width], device: x.device });
            const covered = x.mul(mask.neg().add(1)).add(cover.mul(mask));
            const drops = reference.sub(targetScores(op, model.call(covered), target, batch.length));
            return total.add(drops.reshape([batch.length, 1, 1, 1]).mul(mask).sum([0, 1]));
          });
          total.dispose();
          total = next;
        }
        return total.div(tensor(counts, { shape: [height, width], device: x.device })) as Tensor<'float32'>;
      }),
    ),
  );
}

/** Start offsets of a window of `size` stepping by `stride` along `extent`, the last flush with the end. */
function starts(extent: number, size: number, stride: number): number[] {
  const list: number[] = [];
  for (let at = 0; at + size <= extent; at += stride) list.push(at);
  if (list[list.length - 1] !== extent - size) list.push(extent - size);
  return list;
}
