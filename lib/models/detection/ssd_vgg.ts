/**
 * SSD's VGG-16 feature extractor, as torchvision.models.detection.ssd (0.14):
 * SSDFeatureExtractorVGG (VGG-16's layers up to conv4_3 with a ceil-mode pool3, an L2
 * normalisation with a learned per-channel scale, and the `extra` blocks: conv5 with the
 * dilated fc6 and the 1x1 fc7, then conv8_2 .. conv11_2 (conv12_2 for SSD512)) and
 * vggExtractor, which freezes VGG's first stages as torchvision's `_vgg_extractor`. State-dict
 * names are torchvision's (`features.21.weight`, `scale_weight`, `extra.0.7.1.weight`).
 * @module
 */
import { ArgumentError, ShapeError } from '../../errors.js';
import { constant_, kaimingNormal_, xavierUniform_ } from '../../nn/init.js';
import { ReLU } from '../../nn/layers/basic.js';
import { ModuleList, Sequential } from '../../nn/layers/containers.js';
import { Conv2d } from '../../nn/layers/conv.js';
import { MaxPool2d } from '../../nn/layers/pooling_norm.js';
import { Module, parameter, type AnyModule } from '../../nn/module.js';
import { checkInt } from '../../ops/validate.js';
import { VGG_CONFIGS, vggFeatures } from '../classification/vgg.js';
import { full } from '../../tensor/creation.js';
import { scope } from '../../tensor/memory.js';
import { describe } from '../../tensor/shape.js';
import { Tensor } from '../../tensor/tensor.js';

/**
 * VGG-16's `features` (13 3x3 convolutions with ReLU, 5 max pools; indices 0..30 as
 * torchvision's), initialised as torchvision's VGG (Kaiming-normal fan-out weights, zero
 * biases). Built alone: `vgg16()` would also make its 120M-parameter classifier.
 */
export function vgg16Features(): Sequential {
  const features = vggFeatures(VGG_CONFIGS.vgg16);
  for (const m of features.modules()) {
    if (m instanceof Conv2d) {
      kaimingNormal_(m.weight, { mode: 'fanOut', nonlinearity: 'relu' });
      constant_(m.bias!, 0);
    }
  }
  return features;
}

/** Weights Xavier-uniform and biases zero in every convolution of `module`, as torchvision's `_xavier_init`. */
function xavierInit(module: AnyModule): void {
  for (const m of module.modules()) {
    if (m instanceof Conv2d) {
      xavierUniform_(m.weight);
      if (m.bias) constant_(m.bias, 0);
    }
  }
}

/** A 1x1 convolution to `mid` channels and a 3x3 one to `out`, each with ReLU: one of SSD's extra blocks. */
function extraBlock(inChannels: number, mid: number, out: number, opts: { kernelSize?: number; stride?: number; padding?: number }): Sequential {
  return new Sequential(new Conv2d(inChannels, mid, 1), new ReLU(), new Conv2d(mid, out, opts.kernelSize ?? 3, { stride: opts.stride ?? 1, padding: opts.padding ?? 0 }), new ReLU());
}

/** Options of {@link SSDFeatureExtractorVGG}. */
export interface SSDFeatureExtractorVGGOptions {
  /** Adds SSD512's conv12_2 block, a seventh feature map (default false: SSD300). */
  highres?: boolean;
}

/**
 * SSD's VGG-16 feature extractor, as torchvision's `SSDFeatureExtractorVGG(backbone, highres)`.
 * `backbone` is VGG-16's `features` (31 layers: its convolutions, ReLUs and 5 max pools,
 * e.g. {@link vgg16Features}); it is taken apart, not copied, and its third max pool set to
 * ceil mode (a 300x300 input then gives the paper's 38x38 conv4_3). The module holds:
 * - `features`: VGG's layers up to conv4_3's ReLU;
 * - `scale_weight` `[512]` (initially 20): conv4_3's map is L2-normalised over channels
 *   (`F.normalize`, eps 1e-12) and scaled by it per channel (ParseNet's rescaling);
 * - `extra`: block 0 is pool4, conv5_1..conv5_3 and `fc` (a 3x3/1 max pool, fc6 as a 3x3
 *   convolution to 1024 channels with dilation 6, fc7 as a 1x1 one); blocks 1..4 (1..5 with
 *   highres) halve the map (conv8_2, conv9_2) or shrink it by 2 (conv10_2, conv11_2).
 *   `fc` and the blocks after it start Xavier-uniform, biases zero.
 *
 * `forward(x)` returns the maps `'0'`..`'5'` (`'6'` with highres) of
 * {@link SSDFeatureExtractorVGG.outChannels} channels: 38, 19, 10, 5, 3 and 1 cells a side
 * for a 300x300 input.
 *
 * @example
 * const backbone = new models.detection.SSDFeatureExtractorVGG(models.detection.vgg16Features());
 * backbone.call(randn([1, 3, 300, 300])); // Map { '0' => [1, 512, 38, 38], '1' => [1, 1024, 19, 19], ..., '5' => [1, 256, 1, 1] }
 */
export class SSDFeatureExtractorVGG extends Module<[x: Tensor], Map<string, Tensor>> {
  /** Channels of each feature map returned. */
  readonly outChannels: readonly number[];
  readonly #features: Sequential;
  readonly #extra: ModuleList<Sequential>;
  readonly #scaleWeight: Tensor<'float32'>;

  /**
   * @param backbone - VGG-16's `features`, a Sequential of 31 layers with 5 MaxPool2d (ArgumentError otherwise)
   * @param opts - `highres` for SSD512's extra block
   */
  constructor(backbone: Sequential, opts: SSDFeatureExtractorVGGOptions = {}) {
    super();
    const op = 'SSDFeatureExtractorVGG';
    const layers = backbone instanceof Sequential ? [...backbone.children()] : [];
    const pools = layers.flatMap((m, i) => (m instanceof MaxPool2d ? [i] : []));
    if (pools.length !== 5) throw new ArgumentError(`${op}: expected backbone to be VGG's features, a Sequential with 5 MaxPool2d layers, got ${backbone instanceof Sequential ? `one with ${pools.length}` : describe(backbone)}`);
    const highres = opts.highres ?? false;
    if (typeof highres !== 'boolean') throw new ArgumentError(`${op}: expected highres to be a boolean, got ${describe(highres)}`);
    const [, , pool3, pool4] = pools as [number, number, number, number, number];
    // torchvision patches pool3's ceil_mode so that 75x75 pools to 38x38 (the paper's sizes).
    const old = layers[pool3] as MaxPool2d;
    layers[pool3] = new MaxPool2d(old.kernelSize, { ...old.options, ceilMode: true });

    this.#scaleWeight = parameter(full([512], 20));
    this.registerParameter('scale_weight', this.#scaleWeight);
    this.#features = new Sequential(...(layers.slice(0, pool4) as Module[]));
    const fc = new Sequential(
      new MaxPool2d(3, { stride: 1, padding: 1 }),
      new Conv2d(512, 1024, 3, { padding: 6, dilation: 6 }), // fc6, atrous
      new ReLU(),
      new Conv2d(1024, 1024, 1), // fc7
      new ReLU(),
    );
    xavierInit(fc);
    const blocks = [
      extraBlock(1024, 256, 512, { stride: 2, padding: 1 }), // conv8_2
      extraBlock(512, 128, 256, { stride: 2, padding: 1 }), // conv9_2
      extraBlock(256, 128, 256, {}), // conv10_2
      extraBlock(256, 128, 256, {}), // conv11_2
      ...(highres ? [extraBlock(256, 128, 256, { kernelSize: 4 })] : []), // conv12_2
    ];
    for (const block of blocks) xavierInit(block);
    // Block 0: pool4 and conv5_1..conv5_3 (skipping VGG's pool5), then fc6 and fc7.
    this.#extra = new ModuleList<Sequential>([new Sequential(...(layers.slice(pool4, -1) as Module[]), fc), ...blocks]);
    this.registerModule('features', this.#features);
    this.registerModule('extra', this.#extra);
    this.outChannels = [512, 1024, 512, 256, 256, 256, ...(highres ? [256] : [])];
  }

  /** VGG's layers up to conv4_3's ReLU (`features`). */
  get features(): Sequential {
    return this.#features;
  }

  /** The blocks after conv4_3, one per further feature map (`extra`). */
  get extra(): ModuleList<Sequential> {
    return this.#extra;
  }

  /** conv4_3's per-channel scale after L2 normalisation (`scale_weight`, `[512]`). */
  get scaleWeight(): Tensor<'float32'> {
    return this.#scaleWeight;
  }

  /** @param x - images `[N, 3, H, W]` (float32) */
  forward(x: Tensor): Map<string, Tensor> {
    const op = 'SSDFeatureExtractorVGG.forward';
    if (!(x instanceof Tensor) || x.ndim !== 4 || x.shape[1] !== 3) throw new ShapeError(`${op}: expected x of shape [N, 3, H, W], got ${x instanceof Tensor ? `[${x.shape.join(', ')}]` : describe(x)}`);
    return scope(() => {
      let out = this.#features.call(x);
      // F.normalize(out): out / max(||out||_2 over channels, 1e-12), then the scale per channel.
      const norm = out.square().sum(1, { keepdim: true }).sqrt().clamp(1e-12);
      const outputs: Tensor[] = [this.#scaleWeight.view(1, -1, 1, 1).mul(out.div(norm))];
      for (const block of this.#extra) {
        out = block.call(out);
        outputs.push(out);
      }
      return new Map(outputs.map((t, i) => [String(i), t]));
    });
  }
}

/**
 * SSDFeatureExtractorVGG on `backbone` (VGG-16's `features`) with all but its top
 * `trainableLayers` stages frozen, as torchvision's `_vgg_extractor(backbone, highres,
 * trainable_layers)`: the stages start at layer 0 and after pools 1..4; 5 leaves everything
 * trainable, 0 freezes all of VGG's layers (conv5 included). The new layers (fc6, fc7, the
 * extra blocks, `scale_weight`) always train.
 *
 * @example
 * const backbone = models.detection.vggExtractor(models.detection.vgg16Features(), false, 4); // conv1 frozen
 */
export function vggExtractor(backbone: Sequential, highres: boolean, trainableLayers: number): SSDFeatureExtractorVGG {
  const op = 'vggExtractor';
  const layers = backbone instanceof Sequential ? [...backbone.children()] : [];
  const stageIndices = [0, ...layers.flatMap((m, i) => (m instanceof MaxPool2d ? [i] : [])).slice(0, -1)];
  checkInt(op, 'trainableLayers', trainableLayers, 0);
  if (trainableLayers > stageIndices.length) throw new ArgumentError(`${op}: expected trainableLayers in [0, ${stageIndices.length}], got ${trainableLayers}`);
  const freezeBefore = trainableLayers === 0 ? layers.length : stageIndices[stageIndices.length - trainableLayers]!;
  for (const layer of layers.slice(0, freezeBefore)) for (const p of layer.parameters()) p.requiresGrad_(false);
  return new SSDFeatureExtractorVGG(backbone, { highres });
}
