/**
 * SSDlite's MobileNetV3 feature extractor, as torchvision.models.detection.ssdlite (0.14):
 * SSDLiteFeatureExtractorMobileNet (MobileNetV3's features split at the C4 block's expansion
 * layer, as section 6.3 of the MobileNetV3 paper, then four depthwise-separable extra blocks)
 * and mobilenetExtractor, which freezes MobileNetV3's first stages as torchvision's
 * `_mobilenet_extractor`. State-dict names are torchvision's (`features.0.13.0.weight`,
 * `features.1.0.1.0.weight`, `extra.3.2.1.running_var`).
 * @module
 */
import { ArgumentError, ShapeError } from '../../errors.js';
import { ReLU6 } from '../../nn/layers/basic.js';
import { Conv2dNormActivation } from '../../nn/layers/blocks.js';
import { ModuleList, Sequential } from '../../nn/layers/containers.js';
import { Conv2d } from '../../nn/layers/conv.js';
import { Module, type AnyModule } from '../../nn/module.js';
import { checkInt } from '../../ops/validate.js';
import { scope } from '../../tensor/memory.js';
import { describe } from '../../tensor/shape.js';
import { Tensor } from '../../tensor/tensor.js';
import { InvertedResidualV3, MobileNetV3 } from '../classification/mobilenet_v3.js';
import type { NormLayerFactory } from '../classification/options.js';
import { ssdliteBatchNorm, ssdliteNormalInit } from './ssdlite_heads.js';

/**
 * SSDlite's extra block, as torchvision's `_extra_block(in_channels, out_channels,
 * norm_layer)`: a 1x1 convolution to half of `outChannels`, a 3x3 depthwise one at stride 2,
 * a 1x1 one to `outChannels`, each with norm and ReLU6. It halves the map (rounding up).
 */
function extraBlock(inChannels: number, outChannels: number, normLayer: NormLayerFactory): Sequential {
  const mid = Math.floor(outChannels / 2);
  const activationLayer = () => new ReLU6();
  return new Sequential(
    new Conv2dNormActivation(inChannels, mid, 1, { normLayer, activationLayer }),
    new Conv2dNormActivation(mid, mid, 3, { stride: 2, groups: mid, normLayer, activationLayer }),
    new Conv2dNormActivation(mid, outChannels, 1, { normLayer, activationLayer }),
  );
}

/** The output channels of a feature layer (torchvision reads `out_channels`). */
function channelsOf(op: string, name: string, layer: AnyModule | undefined): number {
  if (layer instanceof InvertedResidualV3 || layer instanceof Conv2dNormActivation) return layer.outChannels;
  throw new ArgumentError(`${op}: expected ${name} to be an InvertedResidualV3 or a Conv2dNormActivation, got ${describe(layer)}`);
}

/** Options of {@link SSDLiteFeatureExtractorMobileNet}: torchvision's keyword arguments in camelCase, with its defaults. */
export interface SSDLiteFeatureExtractorMobileNetOptions {
  /** The extra blocks' normalisation (default {@link ssdliteBatchNorm}). */
  normLayer?: NormLayerFactory;
  /** Multiplies the extra blocks' widths 512, 256, 256, 128 (default 1; torchvision's factory leaves it at 1 whatever the backbone's width). */
  widthMult?: number;
  /** The extra blocks' least width (default 16). */
  minDepth?: number;
}

/**
 * SSDlite's MobileNetV3 feature extractor, as torchvision's
 * `SSDLiteFeatureExtractorMobileNet(backbone, c4_pos, norm_layer, width_mult, min_depth)`.
 * `backbone` is MobileNetV3's `features` (stem, inverted residuals, last 1x1 convolution);
 * it is taken apart, not copied. `c4Pos` is the C4 block (the last block that starts a
 * stage, whose expansion layer feeds the first map; it must have no residual). The module holds:
 * - `features.0`: the layers before the C4 block and its expansion layer (`features.0.13`);
 * - `features.1`: the rest of the C4 block under its own keys (`features.1.0.1` .. `.3`),
 *   then the layers after it;
 * - `extra`: four {@link extraBlock}s of widths max(minDepth, floor([512, 256, 256, 128] x
 *   widthMult)), each halving the map; normal-initialised (std 0.03), as torchvision's.
 *
 * `forward(x)` returns the maps `'0'`..`'5'` of {@link SSDLiteFeatureExtractorMobileNet.outChannels}
 * channels: 20, 10, 5, 3, 2 and 1 cells a side for a 320x320 input.
 *
 * @example
 * const mobilenet = models.mobilenetV3Large({ reducedTail: true, normLayer: models.detection.ssdliteBatchNorm });
 * const backbone = new models.detection.SSDLiteFeatureExtractorMobileNet(mobilenet.features, 13);
 * backbone.outChannels; // [672, 480, 512, 256, 256, 128]
 */
export class SSDLiteFeatureExtractorMobileNet extends Module<[x: Tensor], Map<string, Tensor>> {
  /** Channels of each feature map returned. */
  readonly outChannels: readonly number[];
  /** Channels of the images it takes (the stem's input channels). */
  readonly inChannels: number;
  readonly #features: ModuleList<Sequential>;
  readonly #extra: ModuleList<Sequential>;

  /**
   * @param backbone - MobileNetV3's `features` (ArgumentError for anything else)
   * @param c4Pos - the index of the C4 block in `backbone`: an InvertedResidualV3 with an expansion layer and no residual
   * @param opts - see {@link SSDLiteFeatureExtractorMobileNetOptions}
   */
  constructor(backbone: Sequential, c4Pos: number, opts: SSDLiteFeatureExtractorMobileNetOptions = {}) {
    super();
    const op = 'SSDLiteFeatureExtractorMobileNet';
    if (!(backbone instanceof Sequential)) throw new ArgumentError(`${op}: expected backbone to be MobileNetV3's features (a Sequential), got ${describe(backbone)}`);
    const layers = [...backbone.children()];
    checkInt(op, 'c4Pos', c4Pos, 1);
    const c4 = layers[c4Pos];
    if (!(c4 instanceof InvertedResidualV3) || c4Pos >= layers.length - 1) {
      throw new ArgumentError(`${op}: expected c4Pos to index an InvertedResidualV3 before the backbone's last layer (${layers.length} layers), got ${c4Pos} (${describe(c4)})`);
    }
    if (c4.useResidual) throw new ArgumentError(`${op}: expected backbone[${c4Pos}] to have no residual connection (torchvision's use_res_connect false), got one with a residual`);
    const c4Layers = [...c4.block.namedChildren()];
    const expansion = c4Layers[0]?.[1];
    // Without an expansion layer, block[0] would be the depthwise convolution: not C4's expansion output.
    if (!(expansion instanceof Conv2dNormActivation) || c4Layers.length < 2 || expansion.outChannels === channelsOf(op, `backbone[${c4Pos - 1}]`, layers[c4Pos - 1])) {
      throw new ArgumentError(`${op}: expected backbone[${c4Pos}] to start with a 1x1 expansion layer (a Conv2dNormActivation widening its input)`);
    }
    const { normLayer = ssdliteBatchNorm, widthMult = 1, minDepth = 16 } = opts;
    if (typeof normLayer !== 'function') throw new ArgumentError(`${op}: expected normLayer to be a function (channels) => Module, got ${describe(normLayer)}`);
    if (typeof widthMult !== 'number' || !(widthMult > 0) || !Number.isFinite(widthMult)) throw new ArgumentError(`${op}: expected widthMult to be a positive number, got ${describe(widthMult)}`);
    checkInt(op, 'minDepth', minDepth, 1);
    const stem = [...(layers[0] as AnyModule).modules()].find((m): m is Conv2d => m instanceof Conv2d);
    if (stem === undefined) throw new ArgumentError(`${op}: expected backbone[0] to hold a Conv2d (MobileNetV3's stem)`);
    this.inChannels = stem.inChannels;

    // As section 6.3 of the MobileNetV3 paper: the first map is C4's expansion output.
    this.#features = new ModuleList<Sequential>([
      new Sequential(...(layers.slice(0, c4Pos) as Module[]), expansion),
      // The rest of C4's block keeps its keys (1, 2, 3), as torchvision's slice of a Sequential.
      new Sequential(new Sequential(Object.fromEntries(c4Layers.slice(1)) as Record<string, Module>), ...(layers.slice(c4Pos + 1) as Module[])),
    ]);
    const depth = (d: number) => Math.max(minDepth, Math.floor(d * widthMult));
    const lastChannels = channelsOf(op, 'backbone\'s last layer', layers[layers.length - 1]);
    this.#extra = new ModuleList<Sequential>([
      extraBlock(lastChannels, depth(512), normLayer),
      extraBlock(depth(512), depth(256), normLayer),
      extraBlock(depth(256), depth(256), normLayer),
      extraBlock(depth(256), depth(128), normLayer),
    ]);
    ssdliteNormalInit(this.#extra);
    this.registerModule('features', this.#features);
    this.registerModule('extra', this.#extra);
    this.outChannels = [expansion.outChannels, lastChannels, depth(512), depth(256), depth(256), depth(128)];
  }

  /** The backbone in two parts, up to C4's expansion layer and the rest (`features`). */
  get features(): ModuleList<Sequential> {
    return this.#features;
  }

  /** The four blocks after the backbone, one per further feature map (`extra`). */
  get extra(): ModuleList<Sequential> {
    return this.#extra;
  }

  /** @param x - images `[N, inChannels, H, W]` (float32) */
  forward(x: Tensor): Map<string, Tensor> {
    const op = 'SSDLiteFeatureExtractorMobileNet.forward';
    if (!(x instanceof Tensor) || x.ndim !== 4 || x.shape[1] !== this.inChannels) {
      throw new ShapeError(`${op}: expected x of shape [N, ${this.inChannels}, H, W], got ${x instanceof Tensor ? `[${x.shape.join(', ')}]` : describe(x)}`);
    }
    return scope(() => {
      const outputs: Tensor[] = [];
      let out = x;
      for (const block of [...this.#features, ...this.#extra]) {
        out = block.call(out);
        outputs.push(out);
      }
      return new Map(outputs.map((t, i) => [String(i), t]));
    });
  }
}

/**
 * SSDLiteFeatureExtractorMobileNet on `backbone`'s features with all but its top
 * `trainableLayers` stages frozen, as torchvision's `_mobilenet_extractor(backbone,
 * trainable_layers, norm_layer)`: the stages start at the stem, at each block that starts a
 * stage (stride 2) and at the last layer (6 for MobileNetV3-Large); 6 leaves everything
 * trainable, 0 freezes the whole backbone. C4 is the last block that starts a stage. The
 * extra blocks always train.
 *
 * @example
 * const mobilenet = models.mobilenetV3Large({ reducedTail: true, normLayer: models.detection.ssdliteBatchNorm });
 * const backbone = models.detection.mobilenetExtractor(mobilenet, 6);
 */
export function mobilenetExtractor(backbone: MobileNetV3, trainableLayers: number, normLayer: NormLayerFactory = ssdliteBatchNorm): SSDLiteFeatureExtractorMobileNet {
  const op = 'mobilenetExtractor';
  if (!(backbone instanceof MobileNetV3)) throw new ArgumentError(`${op}: expected backbone to be a MobileNetV3, got ${describe(backbone)}`);
  const layers = [...backbone.features.children()];
  // torchvision's _is_cn blocks, with the stem first and the last layer last.
  const stageIndices = [0, ...layers.flatMap((b, i) => (b instanceof InvertedResidualV3 && b.startsStage ? [i] : [])), layers.length - 1];
  const numStages = stageIndices.length;
  checkInt(op, 'trainableLayers', trainableLayers, 0);
  if (trainableLayers > numStages) throw new ArgumentError(`${op}: expected trainableLayers in [0, ${numStages}], got ${trainableLayers}`);
  const freezeBefore = trainableLayers === 0 ? layers.length : stageIndices[numStages - trainableLayers]!;
  for (const layer of layers.slice(0, freezeBefore)) for (const p of layer.parameters()) p.requiresGrad_(false);
  return new SSDLiteFeatureExtractorMobileNet(backbone.features, stageIndices[numStages - 2]!, { normLayer });
}
