/**
 * Xception (Chollet 2017), built from lib/nn's {@link SeparableConv2d}. torchvision has no
 * Xception; this follows the paper's Figure 5 and Keras' `applications.Xception`: an entry
 * flow (two 3×3 convs, then three strided blocks to 128, 256, 728 channels), a middle flow
 * (eight residual blocks of three separable convs at 728) and an exit flow (a strided block
 * to 1024, separable convs to 1536 and 2048), global average pooling and a linear
 * classifier. Every convolution is bias-free and followed by BatchNorm, as in Keras, whose
 * trainable parameter count (22,855,952 with 1000 classes) the default configuration has.
 * Two options scale it down: `widthMult` (every width, rounded to multiples of 8) and
 * `middleBlocks`.
 * @module
 */
import { ArgumentError } from '../../errors.js';
import { add } from '../../ops/elementwise.js';
import { checkInt } from '../../ops/validate.js';
import { Flatten, Linear, ReLU } from '../../nn/layers/basic.js';
import { SeparableConv2d } from '../../nn/layers/blocks.js';
import { Sequential } from '../../nn/layers/containers.js';
import { Conv2d } from '../../nn/layers/conv.js';
import { AdaptiveAvgPool2d, BatchNorm2d, MaxPool2d } from '../../nn/layers/pooling_norm.js';
import { constant_, kaimingNormal_ } from '../../nn/init.js';
import { Module } from '../../nn/module.js';
import type { Tensor } from '../../tensor/tensor.js';
import { makeDivisible } from './mobilenet_v3.js';
import type { ClassifierOptions } from './options.js';

/**
 * Options of {@link xception}.
 *
 * @example
 * models.xception({ widthMult: 0.5, middleBlocks: 4, numClasses: 10 })
 */
export interface XceptionOptions extends ClassifierOptions {
  /** Multiplies every width (32, 64, 128, 256, 728, 1024, 1536, 2048), rounded to multiples of 8 (default 1). */
  widthMult?: number;
  /** Residual blocks in the middle flow (default 8, the paper's). */
  middleBlocks?: number;
}

/**
 * Options of {@link XceptionBlock}.
 *
 * @example
 * new models.XceptionBlock(728, 1024, { reps: 2, stride: 2, growFirst: false }) // the exit flow's block
 */
export interface XceptionBlockOptions {
  /** Separable convolutions in the block (default 3, the middle flow's). */
  reps?: number;
  /** 2 ends the block with a 3×3 stride-2 max pool and strides its shortcut (default 1). */
  stride?: number;
  /** Apply a ReLU before the first separable conv (default true; false for the entry flow's first block, which follows one). */
  startWithRelu?: boolean;
  /** Widen to outC at the first separable conv (default true) rather than at the last (the exit flow's block). */
  growFirst?: boolean;
}

/**
 * One Xception block: `reps` × (ReLU, bias-free 3×3 {@link SeparableConv2d}, BatchNorm) in
 * `rep`, a 3×3 stride-2 max pool at stride 2, plus a shortcut (`skip`: 1×1 strided conv and
 * BatchNorm where the shape changes, else the input). The shortcut takes the block's input
 * before its first ReLU, as in Keras.
 *
 * @example
 * new models.XceptionBlock(64, 128, { reps: 2, stride: 2, startWithRelu: false }) // the entry flow's first block
 */
export class XceptionBlock extends Module {
  rep: Sequential;
  skip: Sequential | null;

  constructor(inC: number, outC: number, opts: XceptionBlockOptions = {}) {
    super();
    const reps = checkInt('XceptionBlock', 'reps', opts.reps ?? 3, 1);
    const stride = opts.stride ?? 1;
    if (stride !== 1 && stride !== 2) throw new ArgumentError(`XceptionBlock: expected stride 1 or 2, got ${stride}`);
    const growFirst = opts.growFirst ?? true;
    const layers: Module[] = [];
    let channels = inC;
    for (let i = 0; i < reps; ++i) {
      const next = growFirst || i === reps - 1 ? outC : inC;
      if (i > 0 || (opts.startWithRelu ?? true)) layers.push(new ReLU());
      layers.push(new SeparableConv2d(channels, next, 3, { bias: false }), new BatchNorm2d(next));
      channels = next;
    }
    // Padding 1 gives ceil(n / 2), the size of Keras' 'same' pooling and of the 1×1 shortcut.
    if (stride === 2) layers.push(new MaxPool2d(3, { stride: 2, padding: 1 }));
    this.rep = new Sequential(...layers);
    this.skip = inC !== outC || stride !== 1 ? new Sequential(new Conv2d(inC, outC, 1, { stride, bias: false }), new BatchNorm2d(outC)) : null;
  }

  forward(x: Tensor): Tensor {
    return add(this.rep.call(x), this.skip ? this.skip.call(x) : x);
  }
}

/**
 * Xception: `entryFlow`, `middleFlow`, `exitFlow` (Sequentials; the three together are the
 * feature extractor, output stride 32), `avgpool`, `fc`. Inputs from 71×71 (Keras' minimum);
 * the paper's is 299×299. Built by {@link xception}.
 *
 * @example
 * const net = new models.Xception({ numClasses: 10 });
 * net.exitFlow.call(net.middleFlow.call(net.entryFlow.call(images))) // [N, 2048, 10, 10] from 299×299
 */
export class Xception extends Module {
  entryFlow: Sequential;
  middleFlow: Sequential;
  exitFlow: Sequential;
  avgpool = new AdaptiveAvgPool2d([1, 1]);
  flatten = new Flatten();
  fc: Linear;

  constructor(opts: XceptionOptions = {}) {
    super();
    const widthMult = opts.widthMult ?? 1;
    if (!(widthMult > 0) || !Number.isFinite(widthMult)) throw new ArgumentError(`Xception: expected widthMult to be a positive number, got ${widthMult}`);
    const middleBlocks = checkInt('Xception', 'middleBlocks', opts.middleBlocks ?? 8, 0);
    if (opts.numClasses !== undefined) checkInt('Xception', 'numClasses', opts.numClasses, 1);
    const [w32, w64, w128, w256, w728, w1024, w1536, w2048] = [32, 64, 128, 256, 728, 1024, 1536, 2048].map((w) => makeDivisible(w * widthMult)) as [number, number, number, number, number, number, number, number];
    const convBnRelu = (inC: number, outC: number, stride: number) => [new Conv2d(inC, outC, 3, { stride, bias: false }), new BatchNorm2d(outC), new ReLU()];
    const sepBnRelu = (inC: number, outC: number) => [new SeparableConv2d(inC, outC, 3, { bias: false }), new BatchNorm2d(outC), new ReLU()];
    this.entryFlow = new Sequential(
      ...convBnRelu(opts.inChannels ?? 3, w32, 2),
      ...convBnRelu(w32, w64, 1),
      new XceptionBlock(w64, w128, { reps: 2, stride: 2, startWithRelu: false }),
      new XceptionBlock(w128, w256, { reps: 2, stride: 2 }),
      new XceptionBlock(w256, w728, { reps: 2, stride: 2 }),
    );
    this.middleFlow = new Sequential(...Array.from({ length: middleBlocks }, () => new XceptionBlock(w728, w728)));
    this.exitFlow = new Sequential(new XceptionBlock(w728, w1024, { reps: 2, stride: 2, growFirst: false }), ...sepBnRelu(w1024, w1536), ...sepBnRelu(w1536, w2048));
    this.fc = new Linear(w2048, opts.numClasses ?? 1000);
    // He initialisation for the convolutions, as torchvision's ResNet; BatchNorm at 1, 0.
    for (const m of this.modules()) {
      if (m instanceof Conv2d) kaimingNormal_(m.weight, { mode: 'fanOut', nonlinearity: 'relu' });
      else if (m instanceof BatchNorm2d && m.weight && m.bias) {
        constant_(m.weight, 1);
        constant_(m.bias, 0);
      }
    }
  }

  forward(x: Tensor): Tensor {
    const features = this.exitFlow.call(this.middleFlow.call(this.entryFlow.call(x)));
    return this.fc.call(this.flatten.call(this.avgpool.call(features)));
  }
}

/**
 * Xception (22,855,952 parameters with 1000 classes: Keras' trainable count), or a
 * narrower/shallower one with `widthMult` and `middleBlocks`.
 *
 * @example
 * const model = models.xception({ numClasses: 10 }); // [N, 3, 299, 299] -> [N, 10]
 * const small = models.xception({ widthMult: 0.25, middleBlocks: 2, numClasses: 10 }); // inputs from 71×71
 */
export const xception = (opts: XceptionOptions = {}) => new Xception(opts);
