/**
 * A course net, not a torchvision model (torchvision's is resnet34 in ../resnet.ts): the
 * course's ResNet-34 written from scratch (the Keras "ResidualUnit" model), adapted to
 * CIFAR-sized inputs: 'same'-padded convolutions without bias, batch norm after each,
 * residual units of 3-4-6-3 at 64/128/256/512 filters (a 1x1 strided projection where the
 * shape changes), global average pooling and one dense layer. The CIFAR stem is a single
 * 3x3 stride-1 convolution with no max-pool, so 32x32 images keep 4x4 maps in the last
 * stage; `stem: 'imagenet'` restores the original 7x7/2 convolution and 3x3/2 max-pool.
 * @module
 */
import { add } from '../../../ops/elementwise.js';
import { relu } from '../../../ops/unary.js';
import { Flatten, Linear, ReLU } from '../../../nn/layers/basic.js';
import { Sequential } from '../../../nn/layers/containers.js';
import { Conv2d } from '../../../nn/layers/conv.js';
import { AdaptiveAvgPool2d, BatchNorm2d, MaxPool2d } from '../../../nn/layers/pooling_norm.js';
import { ArgumentError } from '../../../errors.js';
import { Module } from '../../../nn/module.js';
import type { Tensor } from '../../../tensor/tensor.js';
import type { ClassifierOptions } from '../options.js';

const sameConv = (inC: number, outC: number, kernel: number, stride = 1) =>
  new Conv2d(inC, outC, kernel, { stride, padding: 'same', bias: false });

/**
 * The course's residual unit (not torchvision's BasicBlock): two 3x3 'same' convolutions
 * with batch norm, added to the input (projected when the shape changes), then ReLU.
 */
export class ResidualUnit extends Module {
  main: Sequential;
  skip: Sequential | null;

  constructor(inChannels: number, filters: number, stride = 1) {
    super();
    this.main = new Sequential(
      sameConv(inChannels, filters, 3, stride),
      new BatchNorm2d(filters),
      new ReLU(),
      sameConv(filters, filters, 3),
      new BatchNorm2d(filters),
    );
    this.skip = stride > 1 || inChannels !== filters ? new Sequential(sameConv(inChannels, filters, 1, stride), new BatchNorm2d(filters)) : null;
  }

  forward(x: Tensor): Tensor {
    return relu(add(this.main.call(x), this.skip ? this.skip.call(x) : x));
  }
}

/** Options of {@link resnet34Cifar}. */
export interface ResNet34CifarOptions extends ClassifierOptions {
  /** 'cifar' (default): 3x3 stride-1 stem; 'imagenet': 7x7 stride-2 stem and a 3x3/2 max-pool. */
  stem?: 'cifar' | 'imagenet';
}

/**
 * A course net (not in torchvision): the course's from-scratch ResNet-34 for CIFAR-10
 * (21,282,122 parameters with 10 classes).
 *
 * @example
 * const net = models.resnet34Cifar({ numClasses: 10 });
 * net.call(randn([8, 3, 32, 32])).shape // [8, 10]
 */
export function resnet34Cifar(opts: ResNet34CifarOptions = {}): Sequential {
  if (opts.stem !== undefined && opts.stem !== 'cifar' && opts.stem !== 'imagenet') {
    throw new ArgumentError(`resnet34Cifar: expected stem 'cifar' or 'imagenet', got ${String(opts.stem)}`);
  }
  const inC = opts.inChannels ?? 3;
  const stem: Module[] =
    opts.stem === 'imagenet'
      ? [sameConv(inC, 64, 7, 2), new BatchNorm2d(64), new ReLU(), new MaxPool2d(3, { stride: 2, padding: 1 })]
      : [sameConv(inC, 64, 3), new BatchNorm2d(64), new ReLU()];
  const units: Module[] = [];
  let previous = 64;
  for (const [filters, count] of [[64, 3], [128, 4], [256, 6], [512, 3]] as const) {
    for (let i = 0; i < count; ++i) {
      units.push(new ResidualUnit(previous, filters, filters === previous ? 1 : 2));
      previous = filters;
    }
  }
  return new Sequential(...stem, ...units, new AdaptiveAvgPool2d([1, 1]), new Flatten(), new Linear(512, opts.numClasses ?? 10));
}
