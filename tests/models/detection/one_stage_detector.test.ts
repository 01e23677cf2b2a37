import { describe, expect, it } from 'vitest';

import { ArgumentError, models, nn, randn, tensor, type Tensor } from '../../../lib/index.js';
import { AnchorGenerator } from '../../../lib/vision/index.js';

const { GeneralizedRCNNTransform, OneStageDetector } = models.detection;

/** A one-conv backbone returning one level. */
class Backbone extends nn.Module<[x: Tensor], Map<string, Tensor>> {
  readonly outChannels = 4;
  conv = new nn.Conv2d(3, 4, 3, { stride: 4, padding: 1 });
  forward(x: Tensor): Map<string, Tensor> {
    return new Map([['0', this.conv.call(x)]]);
  }
}

/** Records which pass ran, with what. */
class Probe extends OneStageDetector<nn.Conv2d, { total: Tensor }> {
  calls: string[] = [];
  constructor() {
    super();
    this.setParts({
      backbone: new Backbone(),
      anchorGenerator: new AnchorGenerator([[16]], [[1]]),
      head: new nn.Conv2d(4, 2, 1),
      transform: new GeneralizedRCNNTransform(32, 32, [0, 0, 0], [1, 1, 1]),
    });
  }
  protected trainingLosses(op: string, _images: readonly Tensor[], targets: readonly models.detection.DetectionTarget[] | undefined) {
    this.calls.push(`${op} ${targets?.length ?? 'none'}`);
    return { total: tensor([1]) };
  }
  protected detections(images: readonly Tensor[]) {
    this.calls.push(`detect ${images.length}`);
    return [];
  }
}

describe('OneStageDetector', () => {
  it("registers its parts under torchvision's names", () => {
    const probe = new Probe();
    expect([...probe.namedChildren()].map(([name]) => name)).toEqual(['backbone', 'anchor_generator', 'head', 'transform']);
    expect([...probe.namedParameters()].map(([name]) => name)).toEqual(['backbone.conv.weight', 'backbone.conv.bias', 'head.weight', 'head.bias']);
    expect(probe.head).toBeInstanceOf(nn.Conv2d);
  });

  it('runs the training pass in training mode and the eval pass in eval mode, each checking the mode', () => {
    const probe = new Probe();
    const image = randn([3, 32, 32]);
    const target = { boxes: tensor(Float32Array.from([1, 1, 9, 9])).reshape(1, 4), labels: tensor(Int32Array.from([1])) };
    expect(Object.keys(probe.losses([image], [target]))).toEqual(['total']);
    expect(() => probe.detect([image])).toThrow(ArgumentError);
    expect(() => probe.detect([image])).toThrow(/Probe.detect: expected the model in eval mode, got training mode/);
    probe.eval();
    expect(probe.detect([image])).toEqual([]);
    expect(() => probe.losses([image], [target])).toThrow(/Probe.losses: expected the model in training mode, got eval mode/);
    expect(probe.calls).toEqual(['Probe.forward 1', 'detect 1']);
  });
});
