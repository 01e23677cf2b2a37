/**
 * The options every classification model constructor takes.
 * @module
 */
import type { Module } from '../../nn/module.js';

/**
 * Makes the normalisation layer for `channels` channels, as torchvision's `norm_layer`
 * argument of resnet and mobilenet_v2.
 *
 * @example
 * models.resnet50({ normLayer: (c) => new nn.FrozenBatchNorm2d(c) })
 */
export type NormLayerFactory = (channels: number) => Module;

/** Options shared by the model constructors. */
export interface ClassifierOptions {
  /** Number of output classes (default 10 for the course's nets, 1000 for the torchvision ones). */
  numClasses?: number;
  /** Channels of the input images (default 1 for the MNIST models, 3 otherwise). */
  inChannels?: number;
}
