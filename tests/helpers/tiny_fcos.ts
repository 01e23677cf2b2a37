// The small torchvision FCOS of tests/fixtures/make_fcos_fixtures.py (fcos.safetensors),
// rebuilt here: a two-level backbone of 32 channels (strides 8 and 16), anchors 8 and 16,
// FCOSHead(32, 1, 3) with one convolution per tower. Used by tests/models/detection/fcos.test.ts
// and fcos_heads.test.ts.
import { io, models, nn, vision, type Device, type Tensor } from '../../lib/index.js';

const fixture = io.loadSafetensorsSync(new URL('../fixtures/fcos.safetensors', import.meta.url).pathname);

/** torchvision's keyword arguments of the fixture model. */
export const tinyFcosOptions = JSON.parse(fixture.metadata.options!) as {
  num_classes: number;
  min_size: number;
  max_size: number;
  topk_candidates: number;
  detections_per_img: number;
  score_thresh: number;
};

/** torchvision's training losses with the fixture's targets (`losses`) and with no boxes at all (`lossesEmpty`). */
export const tinyFcosLosses = {
  losses: JSON.parse(fixture.metadata.losses!) as Record<string, number>,
  lossesEmpty: JSON.parse(fixture.metadata.lossesEmpty!) as Record<string, number>,
};

/** How far the score threshold, the top-k cut and the detections cut lie from the nearest score, and how many cuts are in play. */
export const tinyFcosMargins = JSON.parse(fixture.metadata.margins!) as { scoreThresh: number; topk: number; topkCuts: number; detectionsPerImg: number; detectionsCuts: number };

/** A tensor of the fixture, on `device`. */
export function tinyFcosPart(name: string, device: Device = 'cpu'): Tensor {
  const t = fixture.tensors.get(name);
  if (!t) throw new Error(`fcos.safetensors lacks ${name}`);
  return t.to(device);
}

/** The fixture's images (`[3, H, W]`) on `device`. */
export function tinyFcosImages(device: Device = 'cpu'): Tensor[] {
  return [0, 1, 2].map((i) => tinyFcosPart(`__input__.image${i}`, device));
}

/** The fixture's training targets (the third image has no boxes) on `device`. */
export function tinyFcosTargets(device: Device = 'cpu'): Array<{ boxes: Tensor; labels: Tensor }> {
  return [0, 1, 2].map((i) => ({ boxes: tinyFcosPart(`__target__.boxes${i}`, device), labels: tinyFcosPart(`__target__.labels${i}`, device) }));
}

/** The fixture's backbone: relu(c1) at stride 8 as level '0', relu(c2) of it at stride 16 as level '1'. */
export class TinyBackbone extends nn.Module<[x: Tensor], Map<string, Tensor>> {
  readonly outChannels = 32;
  c1 = new nn.Conv2d(3, 32, 3, { stride: 8, padding: 1 });
  c2 = new nn.Conv2d(32, 32, 3, { stride: 2, padding: 1 });

  forward(x: Tensor): Map<string, Tensor> {
    const a = this.c1.call(x).relu();
    return new Map([
      ['0', a],
      ['1', this.c2.call(a).relu()],
    ]);
  }
}

/** The fixture's FCOS with torchvision's weights loaded strictly, on `device`, in eval mode. */
export function tinyFcos(device: Device = 'cpu', overrides: models.detection.FCOSOptions = {}): models.detection.FCOS {
  const o = tinyFcosOptions;
  const model = new models.detection.FCOS(new TinyBackbone(), o.num_classes, {
    minSize: o.min_size,
    maxSize: o.max_size,
    topkCandidates: o.topk_candidates,
    detectionsPerImg: o.detections_per_img,
    scoreThresh: o.score_thresh,
    anchorGenerator: new vision.AnchorGenerator([[8], [16]], [[1], [1]]),
    head: new models.detection.FCOSHead(32, 1, o.num_classes, 1),
    ...overrides,
  });
  const state = new Map([...fixture.tensors].filter(([name]) => !name.startsWith('__')));
  const { missing, unexpected } = model.loadStateDict(state);
  if (missing.length > 0 || unexpected.length > 0) throw new Error(`tiny FCOS: missing ${missing.join(', ')}; unexpected ${unexpected.join(', ')}`);
  model.to(device);
  model.eval();
  return model;
}
