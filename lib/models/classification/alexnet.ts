/**
 * AlexNet (Krizhevsky 2014, "One weird trick"), in torchvision's layout and names
 * (`features.N`, `classifier.N`), as torchvision's `alexnet`.
 * @module
 */
import { checkInRange } from '../../ops/validate.js';
import { Dropout, Flatten, Linear, ReLU } from '../../nn/layers/basic.js';
import { Sequential } from '../../nn/layers/containers.js';
import { Conv2d } from '../../nn/layers/conv.js';
import { AdaptiveAvgPool2d, MaxPool2d } from '../../nn/layers/pooling_norm.js';
import { Module } from '../../nn/module.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { ClassifierOptions } from './options.js';

/** Options of {@link alexnet} (torchvision's `AlexNet` keyword arguments). */
export interface AlexNetOptions extends ClassifierOptions {
  /** Dropout probability before each of the first two linear layers (default 0.5). */
  dropout?: number;
}

/**
 * AlexNet, as torchvision.models.AlexNet: `features` (five convolutions, three 3×3 stride-2
 * max pools), a 6×6 adaptive average pool and `classifier` (dropout, three linear layers).
 * Its layers keep PyTorch's default initialisation, as torchvision's do. Inputs need at
 * least 63×63 pixels.
 */
export class AlexNet extends Module {
  features: Sequential;
  avgpool: AdaptiveAvgPool2d;
  flatten: Flatten;
  classifier: Sequential;

  constructor(opts: AlexNetOptions = {}) {
    super();
    const p = checkInRange('AlexNet', 'dropout', opts.dropout ?? 0.5, 0, 1);
    // Assigned in torchvision's order (forward's): children register as they are assigned.
    this.features = new Sequential(
      new Conv2d(opts.inChannels ?? 3, 64, 11, { stride: 4, padding: 2 }), new ReLU(), new MaxPool2d(3, { stride: 2 }),
      new Conv2d(64, 192, 5, { padding: 2 }), new ReLU(), new MaxPool2d(3, { stride: 2 }),
      new Conv2d(192, 384, 3, { padding: 1 }), new ReLU(),
      new Conv2d(384, 256, 3, { padding: 1 }), new ReLU(),
      new Conv2d(256, 256, 3, { padding: 1 }), new ReLU(), new MaxPool2d(3, { stride: 2 }),
    );
    this.avgpool = new AdaptiveAvgPool2d([6, 6]);
    this.flatten = new Flatten();
    this.classifier = new Sequential(
      new Dropout(p), new Linear(256 * 6 * 6, 4096), new ReLU(),
      new Dropout(p), new Linear(4096, 4096), new ReLU(),
      new Linear(4096, opts.numClasses ?? 1000),
    );
  }

  forward(x: Tensor): Tensor {
    return this.classifier.call(this.flatten.call(this.avgpool.call(this.features.call(x))));
  }
}

/**
 * AlexNet (61,100,840 parameters with 1000 classes), as torchvision's `alexnet`.
 *
 * @example
 * const model = models.alexnet().eval();
 * const logits = noGrad(() => model.call(images)); // [N, 1000], images at least 63×63
 */
export const alexnet = (opts?: AlexNetOptions) => new AlexNet(opts);
