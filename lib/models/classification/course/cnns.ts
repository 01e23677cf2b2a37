/**
 * The course's small classification nets, not torchvision models: LeNet-5, the course's
 * Fashion-MNIST CNN and a compact CNN (simpleCnn). Each takes `numClasses` and
 * `inChannels`; names of parameters follow the equivalent torch.nn.Sequential, so state
 * dicts line up with PyTorch versions.
 * @module
 */
import { Conv2d } from '../../../nn/layers/conv.js';
import { Dropout, Flatten, Linear, ReLU, Tanh } from '../../../nn/layers/basic.js';
import { Sequential } from '../../../nn/layers/containers.js';
import { AdaptiveAvgPool2d, AvgPool2d, BatchNorm2d, MaxPool2d } from '../../../nn/layers/pooling_norm.js';
import type { ClassifierOptions } from '../options.js';

/**
 * A course net (not in torchvision): LeNet-5 (LeCun et al. 1998) for 28x28 inputs, two
 * 5x5 convolutions with average pooling and tanh, then 120-84-classes fully connected
 * layers.
 */
export function lenet5(opts: ClassifierOptions = {}): Sequential {
  return new Sequential(
    new Conv2d(opts.inChannels ?? 1, 6, 5, { padding: 2 }),
    new Tanh(),
    new AvgPool2d(2),
    new Conv2d(6, 16, 5),
    new Tanh(),
    new AvgPool2d(2),
    new Flatten(),
    new Linear(16 * 5 * 5, 120),
    new Tanh(),
    new Linear(120, 84),
    new Tanh(),
    new Linear(84, opts.numClasses ?? 10),
  );
}

/**
 * A course net (not in torchvision): the course's Fashion-MNIST CNN for 28x28 inputs,
 * conv 64 7x7, pool, 2x conv 128 3x3, pool, 2x conv 256 3x3, pool ('same' padding, ReLU),
 * then dense 128-64-classes with dropout 0.5.
 */
export function fashionMnistCnn(opts: ClassifierOptions = {}): Sequential {
  const conv = (inC: number, outC: number, k: number) => new Conv2d(inC, outC, k, { padding: 'same' });
  return new Sequential(
    conv(opts.inChannels ?? 1, 64, 7), new ReLU(), new MaxPool2d(2),
    conv(64, 128, 3), new ReLU(), conv(128, 128, 3), new ReLU(), new MaxPool2d(2),
    conv(128, 256, 3), new ReLU(), conv(256, 256, 3), new ReLU(), new MaxPool2d(2),
    new Flatten(),
    new Linear(256 * 3 * 3, 128), new ReLU(), new Dropout(0.5),
    new Linear(128, 64), new ReLU(), new Dropout(0.5),
    new Linear(64, opts.numClasses ?? 10),
  );
}

/**
 * A course net (not in torchvision): a compact CNN for small images (28x28 or 32x32), two
 * conv-batchnorm-ReLU-maxpool stages (32 and 64 channels), adaptive pooling to 7x7, then
 * 128-classes with dropout 0.3.
 */
export function simpleCnn(opts: ClassifierOptions = {}): Sequential {
  return new Sequential(
    new Conv2d(opts.inChannels ?? 3, 32, 3, { padding: 1, bias: false }), new BatchNorm2d(32), new ReLU(), new MaxPool2d(2),
    new Conv2d(32, 64, 3, { padding: 1, bias: false }), new BatchNorm2d(64), new ReLU(), new MaxPool2d(2),
    new AdaptiveAvgPool2d(7),
    new Flatten(),
    new Linear(64 * 7 * 7, 128), new ReLU(), new Dropout(0.3),
    new Linear(128, opts.numClasses ?? 10),
  );
}
