/**
 * The module form of {@link psRoiAlign}, as `torchvision.ops.PSRoIAlign`: it stores the
 * configuration and calls the op.
 * @module
 */
import { ArgumentError } from '../errors.js';
import { Module } from '../nn/module.js';
import { psRoiAlign } from '../ops/ps_roi_align.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * Position-sensitive RoI Align with a fixed output size, spatial scale and sampling ratio,
 * as torchvision's `PSRoIAlign(output_size, spatial_scale, sampling_ratio)`.
 * `call(input, boxes)` is `psRoiAlign(input, boxes, outputSize, { spatialScale, samplingRatio })`:
 * `[N, C, H, W]` maps and `[K, 5]` rois (or one `[Ki, 4]` per image) to
 * `[K, C / (outputH * outputW), outputH, outputW]`.
 *
 * @example
 * const pool = new vision.PSRoIAlign(7, 1 / 16, 2);
 * const pooled = pool.call(features, rois); // features [N, 490, H, W] -> [K, 10, 7, 7]
 */
export class PSRoIAlign extends Module<[input: Tensor, boxes: Tensor | readonly Tensor[]], Tensor<'float32'>> {
  readonly outputSize: readonly [number, number];
  readonly spatialScale: number;
  readonly samplingRatio: number;

  constructor(outputSize: number | readonly [number, number], spatialScale: number, samplingRatio: number) {
    super();
    const size = typeof outputSize === 'number' ? ([outputSize, outputSize] as const) : outputSize;
    if (!Array.isArray(size) || size.length !== 2 || !size.every((v) => Number.isInteger(v) && v >= 1)) {
      throw new ArgumentError(`PSRoIAlign: expected outputSize to be an integer >= 1 or two of them, got ${String(outputSize)}`);
    }
    if (!(spatialScale > 0)) throw new ArgumentError(`PSRoIAlign: expected spatialScale > 0, got ${spatialScale}`);
    if (!Number.isInteger(samplingRatio)) throw new ArgumentError(`PSRoIAlign: expected an integer samplingRatio, got ${samplingRatio}`);
    this.outputSize = [size[0], size[1]];
    this.spatialScale = spatialScale;
    this.samplingRatio = samplingRatio;
  }

  forward(input: Tensor, boxes: Tensor | readonly Tensor[]): Tensor<'float32'> {
    return psRoiAlign(input, boxes, this.outputSize, { spatialScale: this.spatialScale, samplingRatio: this.samplingRatio });
  }

  override extraRepr(): string {
    return `outputSize=[${this.outputSize.join(', ')}], spatialScale=${this.spatialScale}, samplingRatio=${this.samplingRatio}`;
  }
}
