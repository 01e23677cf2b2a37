/**
 * SqueezeNet (Iandola et al. 2016), versions 1.0 and 1.1, in torchvision's layout and names
 * (`features.N.squeeze`, `features.N.expand1x1`, `features.N.expand3x3`, `classifier.1`), as
 * torchvision's `squeezenet1_0` / `squeezenet1_1`.
 * @module
 */
import { ArgumentError } from '../../errors.js';
import { cat } from '../../ops/shape.js';
import { checkInRange } from '../../ops/validate.js';
import { Dropout, Flatten, ReLU } from '../../nn/layers/basic.js';
import { Sequential } from '../../nn/layers/containers.js';
import { Conv2d } from '../../nn/layers/conv.js';
import { AdaptiveAvgPool2d, MaxPool2d } from '../../nn/layers/pooling_norm.js';
import { constant_, kaimingUniform_, normal_ } from '../../nn/init.js';
import { Module } from '../../nn/module.js';
import { describe } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { ClassifierOptions } from './options.js';

/**
 * SqueezeNet's fire module, as torchvision's `Fire`: a 1×1 squeeze convolution, then 1×1
 * and 3×3 expand convolutions side by side, their ReLU outputs concatenated on channels
 * (`expand1x1 + expand3x3` channels out). Children carry torchvision's names.
 */
export class Fire extends Module {
  squeeze: Conv2d;
  squeeze_activation: ReLU;
  expand1x1: Conv2d;
  expand1x1_activation: ReLU;
  expand3x3: Conv2d;
  expand3x3_activation: ReLU;

  constructor(inC: number, squeezePlanes: number, expand1x1Planes: number, expand3x3Planes: number) {
    super();
    // Assigned in torchvision's order: children register as they are assigned, and field
    // initialisers would run before this body.
    this.squeeze = new Conv2d(inC, squeezePlanes, 1);
    this.squeeze_activation = new ReLU();
    this.expand1x1 = new Conv2d(squeezePlanes, expand1x1Planes, 1);
    this.expand1x1_activation = new ReLU();
    this.expand3x3 = new Conv2d(squeezePlanes, expand3x3Planes, 3, { padding: 1 });
    this.expand3x3_activation = new ReLU();
  }

  forward(x: Tensor): Tensor {
    const s = this.squeeze_activation.call(this.squeeze.call(x));
    return cat([this.expand1x1_activation.call(this.expand1x1.call(s)), this.expand3x3_activation.call(this.expand3x3.call(s))], 1);
  }
}

/** Options of {@link SqueezeNet} (torchvision's `SqueezeNet` keyword arguments). */
export interface SqueezeNetOptions extends ClassifierOptions {
  /** Dropout probability before the final convolution (default 0.5). */
  dropout?: number;
}

/** The SqueezeNet versions torchvision builds: '1_0' (the paper's) and '1_1' (2.4× less computation, same accuracy). */
export type SqueezeNetVersion = '1_0' | '1_1';

// Max pools round up, as torchvision's (ceil_mode=True).
const pool = () => new MaxPool2d(3, { stride: 2, ceilMode: true });

/**
 * SqueezeNet, as torchvision.models.SqueezeNet: `features` (stem convolution, fire modules
 * and max pools per `version`) and `classifier` (dropout, a 1×1 convolution to the classes,
 * ReLU, global average pool), with torchvision's initialisation (He uniform, the final
 * convolution N(0, 0.01)). Built by {@link squeezenet1x0} / {@link squeezenet1x1}.
 */
export class SqueezeNet extends Module {
  features: Sequential;
  classifier: Sequential;
  flatten: Flatten;

  constructor(version: SqueezeNetVersion, opts: SqueezeNetOptions = {}) {
    super();
    const inC = opts.inChannels ?? 3;
    if (version === '1_0') {
      this.features = new Sequential(
        new Conv2d(inC, 96, 7, { stride: 2 }), new ReLU(), pool(),
        new Fire(96, 16, 64, 64), new Fire(128, 16, 64, 64), new Fire(128, 32, 128, 128), pool(),
        new Fire(256, 32, 128, 128), new Fire(256, 48, 192, 192), new Fire(384, 48, 192, 192), new Fire(384, 64, 256, 256), pool(),
        new Fire(512, 64, 256, 256),
      );
    } else if (version === '1_1') {
      this.features = new Sequential(
        new Conv2d(inC, 64, 3, { stride: 2 }), new ReLU(), pool(),
        new Fire(64, 16, 64, 64), new Fire(128, 16, 64, 64), pool(),
        new Fire(128, 32, 128, 128), new Fire(256, 32, 128, 128), pool(),
        new Fire(256, 48, 192, 192), new Fire(384, 48, 192, 192), new Fire(384, 64, 256, 256), new Fire(512, 64, 256, 256),
      );
    } else {
      throw new ArgumentError(`SqueezeNet: expected version '1_0' or '1_1', got ${describe(version)}`);
    }
    const finalConv = new Conv2d(512, opts.numClasses ?? 1000, 1);
    const p = checkInRange('SqueezeNet', 'dropout', opts.dropout ?? 0.5, 0, 1);
    this.classifier = new Sequential(new Dropout(p), finalConv, new ReLU(), new AdaptiveAvgPool2d([1, 1]));
    this.flatten = new Flatten();
    for (const m of this.modules()) {
      if (!(m instanceof Conv2d)) continue;
      if (m === finalConv) normal_(m.weight, 0, 0.01);
      else kaimingUniform_(m.weight);
      if (m.bias) constant_(m.bias, 0);
    }
  }

  forward(x: Tensor): Tensor {
    return this.flatten.call(this.classifier.call(this.features.call(x)));
  }
}

/**
 * SqueezeNet 1.0 (1,248,424 parameters with 1000 classes), as torchvision's `squeezenet1_0`.
 * Names turn torchvision's underscore between digits into an `x`, as `resnext50x32x4d`.
 *
 * @example
 * const model = models.squeezenet1x0({ numClasses: 10 });
 */
export const squeezenet1x0 = (opts?: SqueezeNetOptions) => new SqueezeNet('1_0', opts);
/**
 * SqueezeNet 1.1 (1,235,496 parameters with 1000 classes), as torchvision's `squeezenet1_1`:
 * 1.0's accuracy at 2.4× less computation.
 *
 * @example
 * const model = models.squeezenet1x1().eval();
 * const logits = noGrad(() => model.call(images)); // [N, 1000]
 */
export const squeezenet1x1 = (opts?: SqueezeNetOptions) => new SqueezeNet('1_1', opts);
