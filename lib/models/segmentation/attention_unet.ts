/**
 * Attention U-Net (Oktay et al. 2018): a U-Net whose skips pass through additive
 * attention gates driven by the decoder.
 * @module
 */
import { ReLU, Sigmoid } from '../../nn/layers/basic.js';
import { ModuleList, Sequential } from '../../nn/layers/containers.js';
import { Module } from '../../nn/module.js';
import { cat } from '../../ops/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { UNet, type UNetOptions } from './unet.js';
import { convNd, initUNetWeights, levelWidths, type ResolvedUNetOptions } from './unet_blocks.js';

/**
 * An additive attention gate: `x · σ(ψ(ReLU(W_g g + W_x x)))`, where `g` (the decoder's
 * upsampled map) says where to look and `x` is the encoder's skip at the same size. `W_g`,
 * `W_x` and `ψ` are 1×1 convs, each followed by the norm layer (if any). The attention map
 * is `[N, 1, ...]`, in [0, 1].
 *
 * @example
 * const gate = new models.segmentation.AttentionGate(64, 64, 32);
 * const gated = gate.call(up, skip); // skip's shape, scaled per pixel
 */
export class AttentionGate extends Module<[g: Tensor, x: Tensor]> {
  /** 1×1 conv (+ norm) of the gating signal to `interChannels`. */
  wG: Sequential;
  /** 1×1 conv (+ norm) of the skip to `interChannels`. */
  wX: Sequential;
  /** 1×1 conv to one channel (+ norm), then sigmoid: the attention map. */
  psi: Sequential;
  relu = new ReLU();

  constructor(gateChannels: number, skipChannels: number, interChannels: number, o: Pick<ResolvedUNetOptions, 'spatialDims' | 'normLayer'> = { spatialDims: 2, normLayer: null }) {
    super();
    const branch = (inC: number, outC: number, ...after: Module[]) => {
      const layers = [convNd(o.spatialDims, inC, outC, 1, 0)];
      if (o.normLayer) layers.push(o.normLayer(outC, o.spatialDims));
      return new Sequential(...layers, ...after);
    };
    this.wG = branch(gateChannels, interChannels);
    this.wX = branch(skipChannels, interChannels);
    this.psi = branch(interChannels, 1, new Sigmoid());
  }

  forward(g: Tensor, x: Tensor): Tensor {
    const attention = this.psi.call(this.relu.call(this.wG.call(g).add(this.wX.call(x))));
    return x.mul(attention);
  }
}

/**
 * Attention U-Net: {@link UNet} (same options and layout) with an {@link AttentionGate} on
 * each skip (`gates.<level>`, inner channels half the level's), gated by the upsampled
 * decoder map before concatenation. Focuses the decoder on the target's region; useful
 * where objects are small against a large background.
 *
 * @example
 * const net = models.segmentation.attentionUnet({ numClasses: 2, baseChannels: 16 });
 * net.call(randn([1, 1, 96, 96])).shape; // [1, 2, 96, 96]
 */
export class AttentionUNet extends UNet {
  /** The attention gates, indexed by level. */
  gates: ModuleList<AttentionGate>;

  constructor(opts: UNetOptions = {}, op = 'AttentionUNet') {
    super(opts, op);
    const widths = levelWidths(this.config).slice(0, -1);
    this.gates = new ModuleList(widths.map((w) => new AttentionGate(w, w, Math.max(1, w / 2), this.config)));
    initUNetWeights(this.gates);
  }

  protected override merge(level: number, skip: Tensor, up: Tensor): Tensor {
    return cat([this.gates.at(level).call(up, skip), up], 1);
  }
}

/**
 * An Attention U-Net for images or, with `spatialDims: 3`, volumes.
 *
 * @example
 * const net = models.segmentation.attentionUnet({ inChannels: 3, numClasses: 1 });
 */
export function attentionUnet(opts: UNetOptions = {}): AttentionUNet {
  return new AttentionUNet(opts, 'attentionUnet');
}
