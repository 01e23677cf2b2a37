/**
 * Detection backbones as torchvision.models.detection.backbone_utils (0.14): a classification
 * model's stages returned by name (IntermediateLayerGetter), those stages under a feature
 * pyramid (BackboneWithFPN), and the two builders torchvision's detectors use,
 * resnetFpnBackbone and mobilenetBackbone. State-dict names are torchvision's
 * (`body.layer1.0.conv1.weight`, `fpn.inner_blocks.0.0.weight`), so its detection
 * checkpoints load unchanged. There are no downloads: load ImageNet weights into the
 * classification model (or a detection checkpoint into the result) with loadStateDict.
 * @module
 */
import { ArgumentError } from '../../errors.js';
import { Sequential } from '../../nn/layers/containers.js';
import { Conv2d } from '../../nn/layers/conv.js';
import { Conv2dNormActivation } from '../../nn/layers/blocks.js';
import { FrozenBatchNorm2d } from '../../nn/layers/pooling_norm.js';
import { Module, type AnyModule } from '../../nn/module.js';
import { describe } from '../../tensor/shape.js';
import { Tensor } from '../../tensor/tensor.js';
import { InvertedResidual, MobileNetV2, mobilenetV2 } from '../classification/mobilenet.js';
import type { NormLayerFactory } from '../classification/options.js';
import { ResNet, resnet18, resnet34, resnet50 } from '../classification/resnet.js';
import { ExtraFPNBlock, FeaturePyramidNetwork, LastLevelMaxPool } from './feature_pyramid_network.js';

/**
 * Runs a model's children in order up to the last one named in `returnLayers` and returns
 * the outputs of those named there, under the names given (`{ layer1: '0', layer3: '1' }`),
 * in the order they were computed, as torchvision's `IntermediateLayerGetter`. The model's
 * children after the last returned one (a classifier's pooling and fc) are left out, and
 * the kept ones keep their names (`layer1.0.conv1.weight`). Every kept child must take and
 * return one tensor, and the children must be registered in the order forward runs them
 * (as the zoo's are); the model itself is not called.
 *
 * @example
 * const body = new IntermediateLayerGetter(models.resnet18(), { layer2: 'feat1', layer4: 'feat2' });
 * const out = body.call(randn([1, 3, 64, 64])); // Map { 'feat1' => [1, 128, 8, 8], 'feat2' => [1, 512, 2, 2] }
 */
export class IntermediateLayerGetter extends Module<[x: Tensor], Map<string, Tensor>> {
  /** Child name -> output name. */
  readonly returnLayers: Readonly<Record<string, string>>;

  constructor(model: AnyModule, returnLayers: Readonly<Record<string, string>>) {
    super();
    const op = 'IntermediateLayerGetter';
    if (!(model instanceof Module)) throw new ArgumentError(`${op}: expected model to be a Module, got ${describe(model)}`);
    const children = [...model.namedChildren()];
    const wanted = Object.keys(returnLayers);
    if (wanted.length === 0) throw new ArgumentError(`${op}: expected returnLayers to name at least one child of the model, got none`);
    const absent = wanted.filter((name) => !children.some(([child]) => child === name));
    if (absent.length > 0) {
      throw new ArgumentError(`${op}: returnLayers names ${absent.map((n) => `'${n}'`).join(', ')}, which the model has no child of; its children are ${children.map(([n]) => n).join(', ')}`);
    }
    const pending = new Set(wanted);
    for (const [name, child] of children) {
      if (pending.size === 0) break;
      this.registerModule(name, child);
      pending.delete(name);
    }
    this.returnLayers = { ...returnLayers };
  }

  forward(x: Tensor): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    let h = x;
    for (const [name, module] of this.namedChildren()) {
      const next = module.call(h);
      if (!(next instanceof Tensor)) {
        throw new ArgumentError(`IntermediateLayerGetter: expected child '${name}' to return a tensor, got ${describe(next)}`);
      }
      // An intermediate that is not returned is only needed by the autograd graph, which holds its own references.
      if (h !== x && next !== h && ![...out.values()].includes(h)) h.dispose();
      h = next;
      const outName = this.returnLayers[name];
      if (outName !== undefined) out.set(outName, h);
    }
    return out;
  }
}

/**
 * A backbone's named stages under a feature pyramid, as torchvision's `BackboneWithFPN`:
 * `body` (an {@link IntermediateLayerGetter}) then `fpn` (a {@link FeaturePyramidNetwork}
 * with LastLevelMaxPool unless `extraBlocks` says otherwise). `call(images [N, C, H, W])`
 * returns a Map from level name ('0', '1', ..., 'pool') to `[N, outChannels, H_i, W_i]`.
 *
 * @example
 * const backbone = new BackboneWithFPN(models.resnet18(), { layer3: '0', layer4: '1' }, [256, 512], 128);
 * backbone.call(randn([1, 3, 64, 64])); // Map { '0' => [1, 128, 4, 4], '1' => [1, 128, 2, 2], 'pool' => [1, 128, 1, 1] }
 */
export class BackboneWithFPN extends Module<[x: Tensor], Map<string, Tensor>> {
  /** The backbone's returned stages. */
  body: IntermediateLayerGetter;
  /** The pyramid over them. */
  fpn: FeaturePyramidNetwork;

  constructor(
    backbone: AnyModule,
    returnLayers: Readonly<Record<string, string>>,
    inChannelsList: readonly number[],
    readonly outChannels: number,
    opts: { extraBlocks?: ExtraFPNBlock; normLayer?: NormLayerFactory | null } = {},
  ) {
    super();
    this.body = new IntermediateLayerGetter(backbone, returnLayers);
    this.fpn = new FeaturePyramidNetwork(inChannelsList, outChannels, { extraBlocks: opts.extraBlocks ?? new LastLevelMaxPool(), normLayer: opts.normLayer ?? null });
  }

  forward(x: Tensor): Map<string, Tensor> {
    const stages = this.body.call(x);
    const levels = this.fpn.call(stages);
    for (const t of stages.values()) t.dispose();
    return levels;
  }
}

/** The zoo's ResNets that {@link resnetFpnBackbone} builds by name. */
export type ResNetBackboneName = 'resnet18' | 'resnet34' | 'resnet50';

const resnets: Record<ResNetBackboneName, typeof resnet18> = { resnet18, resnet34, resnet50 };

/** torchvision's default normalisation for detection backbones. */
const frozenBatchNorm: NormLayerFactory = (channels) => new FrozenBatchNorm2d(channels);

/** Options of {@link resnetFpnBackbone}: give `backboneName` or a `backbone`. */
export interface ResNetFpnBackboneOptions {
  /** Which zoo ResNet to build (with `normLayer`). */
  backboneName?: ResNetBackboneName;
  /** A ResNet already built (e.g. with ImageNet weights loaded), used as it is: as torchvision's `_resnet_fpn_extractor`. */
  backbone?: ResNet;
  /** The ResNet's normalisation layer when built by name (default FrozenBatchNorm2d, as torchvision). */
  normLayer?: NormLayerFactory;
  /** How many stages, from the top, keep trainable parameters: 0..5 of layer4, layer3, layer2, layer1, conv1 (+ bn1 at 5); default 3. */
  trainableLayers?: number;
  /** Which of layer1..layer4 feed the pyramid, as numbers 1..4 in increasing order (default [1, 2, 3, 4]). */
  returnedLayers?: readonly number[];
  /** Levels appended after the pyramid's top (default LastLevelMaxPool; RetinaNet uses LastLevelP6P7). */
  extraBlocks?: ExtraFPNBlock;
}

function checkReturnedLayers(op: string, returnedLayers: readonly number[], low: number, high: number): void {
  const valid = Array.isArray(returnedLayers) && returnedLayers.length > 0 && returnedLayers.every((k, i) => Number.isInteger(k) && k >= low && k <= high && (i === 0 || k > returnedLayers[i - 1]!));
  if (!valid) {
    throw new ArgumentError(`${op}: expected returnedLayers to be increasing integers in [${low}, ${high}], got ${describe(returnedLayers)}`);
  }
}

/**
 * A ResNet with a feature pyramid, as torchvision's `resnet_fpn_backbone` (the backbone of
 * fasterrcnn_resnet50_fpn and maskrcnn_resnet50_fpn): the ResNet's stages `returnedLayers`
 * (layer1..4, returned as '0', '1', ...) under a 256-channel FPN with a 'pool' level; its
 * normalisation layers are FrozenBatchNorm2d and all but the top `trainableLayers` stages
 * are frozen (requiresGrad false). Channels of the returned stages: 64 x 2^(k-1) for resnet18/34,
 * 256 x 2^(k-1) for resnet50.
 *
 * @example
 * const backbone = resnetFpnBackbone({ backboneName: 'resnet50', trainableLayers: 3 });
 * backbone.loadStateDict(io.loadSafetensorsSync('fasterrcnn_backbone.safetensors').tensors);
 * const levels = backbone.call(images); // Map { '0', '1', '2', '3', 'pool' }, each [N, 256, H_i, W_i]
 */
export function resnetFpnBackbone(opts: ResNetFpnBackboneOptions): BackboneWithFPN {
  const op = 'resnetFpnBackbone';
  if ((opts.backboneName === undefined) === (opts.backbone === undefined)) {
    throw new ArgumentError(`${op}: give exactly one of backboneName and backbone`);
  }
  const trainableLayers = opts.trainableLayers ?? 3;
  if (!Number.isInteger(trainableLayers) || trainableLayers < 0 || trainableLayers > 5) {
    throw new ArgumentError(`${op}: expected trainableLayers to be an integer in [0, 5], got ${describe(opts.trainableLayers)}`);
  }
  const returnedLayers = opts.returnedLayers ?? [1, 2, 3, 4];
  checkReturnedLayers(op, returnedLayers, 1, 4);
  let backbone: ResNet;
  if (opts.backbone !== undefined) {
    if (!(opts.backbone instanceof ResNet)) throw new ArgumentError(`${op}: expected backbone to be a ResNet, got ${describe(opts.backbone)}`);
    if (opts.normLayer !== undefined) throw new ArgumentError(`${op}: normLayer applies to a backbone built by name; the given backbone has its own`);
    backbone = opts.backbone;
  } else {
    const make = Object.hasOwn(resnets, opts.backboneName!) ? resnets[opts.backboneName!] : undefined;
    if (!make) throw new ArgumentError(`${op}: expected backboneName ${Object.keys(resnets).join(', ')}, got ${describe(opts.backboneName)}`);
    backbone = make({ normLayer: opts.normLayer ?? frozenBatchNorm });
  }

  const layersToTrain = ['layer4', 'layer3', 'layer2', 'layer1', 'conv1'].slice(0, trainableLayers);
  if (trainableLayers === 5) layersToTrain.push('bn1');
  // torchvision's test: a plain prefix, so 'layer1' keeps 'layer1.0.conv1.weight' trainable.
  for (const [name, p] of backbone.namedParameters()) {
    if (!layersToTrain.some((layer) => name.startsWith(layer))) p.requiresGrad_(false);
  }
  const returnLayers = Object.fromEntries(returnedLayers.map((k, i) => [`layer${k}`, String(i)]));
  const stage2Channels = backbone.outChannels / 8;
  const inChannelsList = returnedLayers.map((k) => stage2Channels * 2 ** (k - 1));
  return new BackboneWithFPN(backbone, returnLayers, inChannelsList, 256, { extraBlocks: opts.extraBlocks });
}

/** Options of {@link mobilenetBackbone}: give `backboneName` or a `backbone`. */
export interface MobileNetBackboneOptions {
  /** Which zoo MobileNet to build (with `normLayer`). */
  backboneName?: 'mobilenet_v2';
  /** A MobileNetV2 already built (e.g. with ImageNet weights loaded); its `features` are used. */
  backbone?: MobileNetV2;
  /** With a feature pyramid (a BackboneWithFPN) or without (features then a 1x1 convolution to 256 channels). */
  fpn: boolean;
  /** The MobileNet's normalisation layer when built by name (default FrozenBatchNorm2d, as torchvision). */
  normLayer?: NormLayerFactory;
  /** How many stages, from the top, keep trainable parameters (0 to the number of stages, 6 for mobilenet_v2; default 2). */
  trainableLayers?: number;
  /** Which stages feed the pyramid (0 to stages - 1, increasing; default the last two). Only with `fpn`. */
  returnedLayers?: readonly number[];
  /** Levels appended after the pyramid's top (default LastLevelMaxPool). Only with `fpn`. */
  extraBlocks?: ExtraFPNBlock;
}

/**
 * MobileNet features reduced to 256 channels by a 1x1 convolution, what torchvision's
 * `mobilenet_backbone(fpn=False)` returns: children '0' (the features) and '1' (the convolution).
 */
export class MobileNetFeatureExtractor extends Sequential {
  /** Channels it puts out (torchvision's `out_channels`). */
  readonly outChannels = 256;
}

/**
 * A MobileNetV2's features as a detection backbone, as torchvision's `mobilenet_backbone`:
 * with `fpn`, the stages `returnedLayers` (stage k starts at the k-th block with stride 2;
 * stage 0 is the stem and the last stage ends at the final 1x1 convolution) under a
 * 256-channel FPN with a 'pool' level; without, the features then a 1x1 convolution to 256
 * channels. Normalisation layers are FrozenBatchNorm2d and all but the top
 * `trainableLayers` stages are frozen.
 *
 * @example
 * const backbone = mobilenetBackbone({ backboneName: 'mobilenet_v2', fpn: true, trainableLayers: 3 });
 * backbone.call(randn([1, 3, 224, 224])); // Map { '0' => [1, 256, 7, 7], '1' => [1, 256, 7, 7], 'pool' => [1, 256, 4, 4] } (blocks 14 and 18)
 */
export function mobilenetBackbone(opts: MobileNetBackboneOptions & { fpn: true }): BackboneWithFPN;
/**
 * The MobileNetV2 features then a 1x1 convolution to 256 channels (`fpn: false`), as
 * torchvision's `mobilenet_backbone(fpn=False)`; see the `fpn: true` form for the rest.
 *
 * @example
 * const backbone = mobilenetBackbone({ backboneName: 'mobilenet_v2', fpn: false });
 * backbone.call(randn([1, 3, 224, 224])).shape; // [1, 256, 7, 7]
 */
export function mobilenetBackbone(opts: MobileNetBackboneOptions & { fpn: false }): MobileNetFeatureExtractor;
/**
 * Either form, when `fpn` is only known at run time.
 *
 * @example
 * const backbone = mobilenetBackbone({ backboneName: 'mobilenet_v2', fpn: useFpn });
 * if (backbone instanceof BackboneWithFPN) backbone.fpn.extraBlocks;
 */
export function mobilenetBackbone(opts: MobileNetBackboneOptions): BackboneWithFPN | MobileNetFeatureExtractor;
export function mobilenetBackbone(opts: MobileNetBackboneOptions): BackboneWithFPN | MobileNetFeatureExtractor {
  const op = 'mobilenetBackbone';
  if ((opts.backboneName === undefined) === (opts.backbone === undefined)) {
    throw new ArgumentError(`${op}: give exactly one of backboneName and backbone`);
  }
  if (typeof opts.fpn !== 'boolean') throw new ArgumentError(`${op}: expected fpn to be true or false, got ${describe(opts.fpn)}`);
  if (!opts.fpn && (opts.returnedLayers !== undefined || opts.extraBlocks !== undefined)) {
    throw new ArgumentError(`${op}: returnedLayers and extraBlocks apply only with fpn: true`);
  }
  let model: MobileNetV2;
  if (opts.backbone !== undefined) {
    if (!(opts.backbone instanceof MobileNetV2)) throw new ArgumentError(`${op}: expected backbone to be a MobileNetV2, got ${describe(opts.backbone)}`);
    if (opts.normLayer !== undefined) throw new ArgumentError(`${op}: normLayer applies to a backbone built by name; the given backbone has its own`);
    model = opts.backbone;
  } else {
    if (opts.backboneName !== 'mobilenet_v2') throw new ArgumentError(`${op}: expected backboneName 'mobilenet_v2', got ${describe(opts.backboneName)}`);
    model = mobilenetV2({ normLayer: opts.normLayer ?? frozenBatchNorm });
  }
  const features = model.features;
  const blocks = [...features.children()];
  // The blocks that start a stage (torchvision's _is_cn: stride > 1), with the stem first and the last block last.
  const stageIndices = [0, ...blocks.flatMap((b, i) => (b instanceof InvertedResidual && b.stride > 1 ? [i] : [])), blocks.length - 1];
  const numStages = stageIndices.length;
  const trainableLayers = opts.trainableLayers ?? 2;
  if (!Number.isInteger(trainableLayers) || trainableLayers < 0 || trainableLayers > numStages) {
    throw new ArgumentError(`${op}: expected trainableLayers to be an integer in [0, ${numStages}], got ${describe(opts.trainableLayers)}`);
  }
  const freezeBefore = trainableLayers === 0 ? blocks.length : stageIndices[numStages - trainableLayers]!;
  for (const block of blocks.slice(0, freezeBefore)) for (const p of block.parameters()) p.requiresGrad_(false);

  const outChannels = 256;
  if (!opts.fpn) {
    return new MobileNetFeatureExtractor(features, new Conv2d(channelsOf(op, blocks.at(-1)), outChannels, 1));
  }
  const returnedLayers = opts.returnedLayers ?? [numStages - 2, numStages - 1];
  checkReturnedLayers(op, returnedLayers, 0, numStages - 1);
  const returnLayers = Object.fromEntries(returnedLayers.map((k, i) => [String(stageIndices[k]), String(i)]));
  const inChannelsList = returnedLayers.map((k) => channelsOf(op, blocks[stageIndices[k]!]));
  return new BackboneWithFPN(features, returnLayers, inChannelsList, outChannels, { extraBlocks: opts.extraBlocks });
}

/** The output channels of a MobileNet feature block (torchvision reads `out_channels`). */
function channelsOf(op: string, block: AnyModule | undefined): number {
  if (block instanceof InvertedResidual || block instanceof Conv2dNormActivation) return block.outChannels;
  throw new ArgumentError(`${op}: expected the feature blocks to be InvertedResidual or Conv2dNormActivation, got ${describe(block)}`);
}
