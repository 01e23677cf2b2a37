/**
 * The feature pyramid network (Lin et al. 2017) as torchvision.ops.feature_pyramid_network
 * (0.14): FeaturePyramidNetwork, and the extra levels it can append, LastLevelMaxPool (Faster
 * / Mask R-CNN's "pool") and LastLevelP6P7 (RetinaNet's "p6", "p7"). State-dict names are
 * torchvision's (`inner_blocks.0.0.weight`, `layer_blocks.3.0.bias`, `extra_blocks.p6.weight`),
 * and checkpoints saved before torchvision 0.13 (`inner_blocks.0.weight`) load as torchvision
 * loads them.
 *
 * They live with the detection models rather than in lib/nn: an FPN is the neck between a
 * backbone's named stages and detection (or segmentation) heads, takes and returns named
 * feature maps rather than one tensor, and only backbone_utils.ts builds one.
 * @module
 */
import { ArgumentError, ShapeError } from '../../errors.js';
import { add } from '../../ops/elementwise.js';
import { maxPool2d } from '../../ops/pool.js';
import { interpolate } from '../../ops/resample.js';
import { relu } from '../../ops/unary.js';
import { checkInt } from '../../ops/validate.js';
import { constant_, kaimingUniform_ } from '../../nn/init.js';
import { Conv2dNormActivation } from '../../nn/layers/blocks.js';
import { ModuleList } from '../../nn/layers/containers.js';
import { Conv2d } from '../../nn/layers/conv.js';
import { Module } from '../../nn/module.js';
import { describe } from '../../tensor/shape.js';
import { Tensor } from '../../tensor/tensor.js';
import type { NormLayerFactory } from '../classification/options.js';

/**
 * An extra level appended after the pyramid's top, as torchvision's `ExtraFPNBlock`: called
 * with the FPN's outputs (finest first), the FPN's inputs and the output names, it returns
 * the outputs and names with its levels appended. It returns new arrays and leaves the
 * ones it was given as they were.
 *
 * @example
 * class LastLevelAvgPool extends ExtraFPNBlock {
 *   forward(results: Tensor[], features: Tensor[], names: string[]): [Tensor[], string[]] {
 *     return [[...results, avgPool2d(results.at(-1)!, 1, { stride: 2 })], [...names, 'pool']];
 *   }
 * }
 */
export abstract class ExtraFPNBlock extends Module<[results: Tensor[], features: Tensor[], names: string[]], [Tensor[], string[]]> {}

/**
 * Appends a level made by max-pooling the coarsest output (kernel 1, stride 2), named
 * 'pool', as torchvision's `LastLevelMaxPool` (Faster R-CNN and Mask R-CNN's FPN). No parameters.
 *
 * @example
 * const fpn = new FeaturePyramidNetwork([64, 128], 32, { extraBlocks: new LastLevelMaxPool() });
 */
export class LastLevelMaxPool extends ExtraFPNBlock {
  forward(results: Tensor[], features: Tensor[], names: string[]): [Tensor[], string[]] {
    const coarsest = lastOf('LastLevelMaxPool', results);
    return [[...results, maxPool2d(coarsest, 1, { stride: 2, padding: 0 })], [...names, 'pool']];
  }
}

/**
 * Appends levels P6 and P7 (RetinaNet), as torchvision's `LastLevelP6P7`: P6 is a stride-2
 * 3x3 convolution of the coarsest FPN output when `inChannels` equals `outChannels`, else
 * of the coarsest backbone input (C5); P7 is a stride-2 3x3 convolution of relu(P6).
 * Parameters `p6`, `p7` (kaiming uniform with a = 1, bias 0, as torchvision).
 *
 * @example
 * // RetinaNet's: P6 from C5 (2048 channels), both 256 channels.
 * const extra = new LastLevelP6P7(2048, 256);
 */
export class LastLevelP6P7 extends ExtraFPNBlock {
  /** The stride-2 convolution making P6. */
  p6: Conv2d;
  /** The stride-2 convolution making P7 from relu(P6). */
  p7: Conv2d;
  /** P6 is made from the FPN's P5 (true) or the backbone's C5 (false): torchvision's `use_P5`. */
  readonly useP5: boolean;

  constructor(readonly inChannels: number, readonly outChannels: number) {
    super();
    checkInt('LastLevelP6P7', 'inChannels', inChannels, 1);
    checkInt('LastLevelP6P7', 'outChannels', outChannels, 1);
    this.p6 = new Conv2d(inChannels, outChannels, 3, { stride: 2, padding: 1 });
    this.p7 = new Conv2d(outChannels, outChannels, 3, { stride: 2, padding: 1 });
    for (const conv of [this.p6, this.p7]) {
      kaimingUniform_(conv.weight, { a: 1 });
      constant_(conv.bias!, 0);
    }
    this.useP5 = inChannels === outChannels;
  }

  forward(results: Tensor[], features: Tensor[], names: string[]): [Tensor[], string[]] {
    const source = this.useP5 ? lastOf('LastLevelP6P7', results) : lastOf('LastLevelP6P7', features);
    const p6 = this.p6.call(source);
    const activated = relu(p6);
    const p7 = this.p7.call(activated);
    activated.dispose();
    return [[...results, p6, p7], [...names, 'p6', 'p7']];
  }

  override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}`;
  }
}

function lastOf(layer: string, list: Tensor[]): Tensor {
  const last = list.at(-1);
  if (!last) throw new ArgumentError(`${layer}: expected at least one feature map, got none`);
  return last;
}

/** Options of {@link FeaturePyramidNetwork}. */
export interface FeaturePyramidNetworkOptions {
  /** Levels appended after the coarsest one (default none; backbones with FPN use LastLevelMaxPool). */
  extraBlocks?: ExtraFPNBlock | null;
  /** A normalisation layer after each convolution (default none, and the convolutions have a bias). */
  normLayer?: NormLayerFactory | null;
}

/**
 * A feature pyramid over named feature maps, as torchvision's `FeaturePyramidNetwork`: each
 * input level gets a 1x1 lateral convolution to `outChannels` (`inner_blocks.i`), the
 * coarser level's sum is upsampled (nearest) to its size and added, and a 3x3 convolution
 * (`layer_blocks.i`) smooths each sum. Takes the levels finest first, as a Map from name
 * to `[N, inChannelsList[i], H_i, W_i]` (the order of IntermediateLayerGetter's output), and
 * returns a Map with the same names (then the extra blocks' names) to
 * `[N, outChannels, H_i, W_i]`, as torchvision's OrderedDict.
 *
 * @example
 * const fpn = new FeaturePyramidNetwork([10, 20, 30], 5);
 * const out = fpn.call(new Map([['feat0', randn([1, 10, 64, 64])], ['feat2', randn([1, 20, 16, 16])], ['feat3', randn([1, 30, 8, 8])]]));
 * [...out].map(([name, t]) => [name, t.shape]); // [['feat0', [1, 5, 64, 64]], ['feat2', [1, 5, 16, 16]], ['feat3', [1, 5, 8, 8]]]
 */
export class FeaturePyramidNetwork extends Module<[features: ReadonlyMap<string, Tensor>], Map<string, Tensor>> {
  // Registered under torchvision's names (inner_blocks, layer_blocks, extra_blocks); the
  // camelCase getters below read these same modules.
  readonly #innerBlocks: ModuleList<Conv2dNormActivation>;
  readonly #layerBlocks: ModuleList<Conv2dNormActivation>;
  readonly #extraBlocks: ExtraFPNBlock | null;
  /** Channels of each input level, finest first. */
  readonly inChannelsList: readonly number[];

  constructor(inChannelsList: readonly number[], readonly outChannels: number, opts: FeaturePyramidNetworkOptions = {}) {
    super();
    const op = 'FeaturePyramidNetwork';
    if (!Array.isArray(inChannelsList) || inChannelsList.length === 0) {
      throw new ArgumentError(`${op}: expected inChannelsList to be a non-empty list of channel counts, got ${describe(inChannelsList)}`);
    }
    inChannelsList.forEach((c, i) => checkInt(op, `inChannelsList[${i}]`, c, 1));
    checkInt(op, 'outChannels', outChannels, 1);
    const extraBlocks = opts.extraBlocks ?? null;
    if (extraBlocks !== null && !(extraBlocks instanceof ExtraFPNBlock)) {
      throw new ArgumentError(`${op}: expected extraBlocks to be an ExtraFPNBlock (LastLevelMaxPool, LastLevelP6P7, ...), got ${describe(extraBlocks)}`);
    }
    this.inChannelsList = [...inChannelsList];
    const normLayer = opts.normLayer ?? null;
    this.#innerBlocks = new ModuleList(inChannelsList.map((c) => new Conv2dNormActivation(c, outChannels, 1, { padding: 0, normLayer, activationLayer: null })));
    this.#layerBlocks = new ModuleList(inChannelsList.map(() => new Conv2dNormActivation(outChannels, outChannels, 3, { normLayer, activationLayer: null })));
    this.registerModule('inner_blocks', this.#innerBlocks);
    this.registerModule('layer_blocks', this.#layerBlocks);
    // torchvision initialises the pyramid's convolutions before the extra blocks exist, so
    // theirs keep their own initialisation.
    for (const m of this.modules()) {
      if (m instanceof Conv2d) {
        kaimingUniform_(m.weight, { a: 1 });
        if (m.bias) constant_(m.bias, 0);
      }
    }
    this.#extraBlocks = extraBlocks;
    if (extraBlocks) this.registerModule('extra_blocks', extraBlocks);
  }

  /** The 1x1 lateral convolutions, one per input level (`inner_blocks`). */
  get innerBlocks(): ModuleList<Conv2dNormActivation> {
    return this.#innerBlocks;
  }

  /** The 3x3 output convolutions, one per input level (`layer_blocks`). */
  get layerBlocks(): ModuleList<Conv2dNormActivation> {
    return this.#layerBlocks;
  }

  /** The extra levels (`extra_blocks`), or null. */
  get extraBlocks(): ExtraFPNBlock | null {
    return this.#extraBlocks;
  }

  forward(features: ReadonlyMap<string, Tensor>): Map<string, Tensor> {
    const op = 'FeaturePyramidNetwork';
    if (!(features instanceof Map)) throw new ArgumentError(`${op}: expected features to be a Map from level name to tensor, got ${describe(features)}`);
    const names = [...features.keys()];
    const xs = [...features.values()];
    const levels = this.inChannelsList.length;
    if (xs.length !== levels) {
      throw new ArgumentError(`${op}: expected ${levels} feature maps (one per entry of inChannelsList), got ${xs.length} (${names.join(', ')})`);
    }
    xs.forEach((x, i) => {
      if (!(x instanceof Tensor) || x.ndim !== 4 || x.shape[1] !== this.inChannelsList[i]) {
        const got = x instanceof Tensor ? `shape [${x.shape.join(', ')}]` : describe(x);
        throw new ShapeError(`${op}: expected feature '${names[i]}' of shape [N, ${this.inChannelsList[i]}, H, W], got ${got}`);
      }
    });
    const inner = [...this.#innerBlocks];
    const layer = [...this.#layerBlocks];
    let lastInner = inner[levels - 1]!.call(xs[levels - 1]!);
    const results = [layer[levels - 1]!.call(lastInner)];
    for (let i = levels - 2; i >= 0; --i) {
      const lateral = inner[i]!.call(xs[i]!);
      const topDown = interpolate(lastInner, { size: lateral.shape.slice(2), mode: 'nearest' });
      const sum = add(lateral, topDown);
      // Intermediates are only needed by the autograd graph, which holds its own references.
      for (const t of [lateral, topDown, lastInner]) t.dispose();
      lastInner = sum;
      results.unshift(layer[i]!.call(lastInner));
    }
    lastInner.dispose();
    const [outputs, outNames] = this.#extraBlocks ? this.#extraBlocks.call(results, xs, names) : [results, names];
    return new Map(outNames.map((name, i) => [name, outputs[i]!]));
  }

  override extraRepr(): string {
    return `inChannelsList=[${this.inChannelsList.join(', ')}], outChannels=${this.outChannels}`;
  }

  /**
   * torchvision < 0.13 saved each block as a bare Conv2d (`inner_blocks.0.weight`); it has
   * been a Conv2dNormActivation since (`inner_blocks.0.0.weight`). torchvision renames the
   * old keys when the checkpoint's version metadata says so; safetensors carries none, so
   * an old key is renamed when the new one is absent.
   */
  protected override adaptStateDict(dict: Map<string, Tensor>, prefix: string): void {
    for (const block of ['inner_blocks', 'layer_blocks']) {
      for (let i = 0; i < this.inChannelsList.length; ++i) {
        for (const kind of ['weight', 'bias']) {
          const legacy = `${prefix}${block}.${i}.${kind}`;
          const current = `${prefix}${block}.${i}.0.${kind}`;
          const value = dict.get(legacy);
          if (value !== undefined && !dict.has(current)) {
            dict.delete(legacy);
            dict.set(current, value);
          }
        }
      }
    }
  }
}
