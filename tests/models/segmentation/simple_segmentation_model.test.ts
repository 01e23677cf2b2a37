import { describe, expect, it } from 'vitest';

import { models, nn, randn, ShapeError, type Tensor } from '../../../lib/index.js';

const { SimpleSegmentationModel } = models.segmentation;

/** A backbone returning a 1/4-size `out` and a 1/2-size `aux`. */
class TwoScales extends nn.Module<[x: Tensor], Map<string, Tensor>> {
  conv = new nn.Conv2d(3, 4, 3, { stride: 2, padding: 1 });
  down = new nn.Conv2d(4, 6, 3, { stride: 2, padding: 1 });
  forward(x: Tensor): Map<string, Tensor> {
    const aux = this.conv.call(x);
    return new Map([['aux', aux], ['out', this.down.call(aux)]]);
  }
}

describe('SimpleSegmentationModel', () => {
  it('upsamples the classifier and auxiliary logits to the input size, bilinearly', () => {
    const model = new SimpleSegmentationModel(new TwoScales(), new nn.Conv2d(6, 2, 1), new nn.Conv2d(4, 2, 1));
    const x = randn([2, 3, 20, 28]);
    const { out, aux } = model.call(x);
    expect(out.shape).toEqual([2, 2, 20, 28]);
    expect(aux!.shape).toEqual([2, 2, 20, 28]);
    expect([...model.namedParameters()].map(([n]) => n)).toEqual([
      'backbone.conv.weight', 'backbone.conv.bias', 'backbone.down.weight', 'backbone.down.bias',
      'classifier.weight', 'classifier.bias', 'aux_classifier.weight', 'aux_classifier.bias',
    ]);
  });

  it('has no aux without an auxiliary classifier, and refuses non-image input', () => {
    const model = new SimpleSegmentationModel(new TwoScales(), new nn.Conv2d(6, 2, 1));
    expect(Object.keys(model.call(randn([1, 3, 8, 8])))).toEqual(['out']);
    expect(() => model.call(randn([3, 8, 8]))).toThrow(ShapeError);
    expect(() => model.call(randn([3, 8, 8]))).toThrow(/SimpleSegmentationModel: expected input \[N, C, H, W\], got shape \[3, 8, 8\]/);
  });
});
