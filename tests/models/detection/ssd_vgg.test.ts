import { describe, expect, it } from 'vitest';

import { ArgumentError, models, nn, noGrad, randn, ShapeError } from '../../../lib/index.js';
import { yieldToEventLoop } from '../../helpers/detection_interop.js';

const { SSDFeatureExtractorVGG, vgg16Features, vggExtractor } = models.detection;

/** The names of the frozen parameters of `m`, which is then freed. */
function frozen(m: models.detection.SSDFeatureExtractorVGG): string[] {
  const names = [...m.namedParameters()].filter(([, p]) => !p.requiresGrad).map(([name]) => name);
  m.dispose();
  return names;
}

// Building VGG-16's layers (15M parameters initialised) takes seconds on a loaded machine;
// the tests are synchronous, so a turn of the event loop follows each (see yieldToEventLoop).

describe('SSDFeatureExtractorVGG', { timeout: 180_000 }, () => {
  it('gives six maps of 38, 19, 10, 5, 3 and 1 cells for 300x300 (ceil-mode pool3), conv4_3 L2-normalised and scaled by 20', () => {
    const backbone = new SSDFeatureExtractorVGG(vgg16Features());
    expect(backbone.outChannels).toEqual([512, 1024, 512, 256, 256, 256]);
    expect(Array.from(backbone.scaleWeight.dataSync()).every((v) => v === 20)).toBe(true);
    const maps = noGrad(() => backbone.call(randn([1, 3, 300, 300])));
    expect([...maps.keys()]).toEqual(['0', '1', '2', '3', '4', '5']);
    expect([...maps.values()].map((m) => m.shape)).toEqual([38, 19, 10, 5, 3, 1].map((s, k) => [1, backbone.outChannels[k], s, s]));
    // Every location's channel vector has norm 20 (or is zero, where ReLU left nothing).
    const norms = maps.get('0')!.square().sum(1).sqrt().dataSync();
    for (const v of norms) if (v !== 0) expect(v).toBeCloseTo(20, 3);
    backbone.dispose();
  });

  it('uses torchvision\'s names; highres adds SSD512\'s conv12_2 (a 4x4 convolution) as a seventh map', () => {
    const backbone = new SSDFeatureExtractorVGG(vgg16Features(), { highres: true });
    const names = [...backbone.stateDict().keys()];
    for (const name of ['scale_weight', 'features.0.weight', 'features.21.bias', 'extra.0.1.weight', 'extra.0.5.weight', 'extra.0.7.1.weight', 'extra.0.7.3.weight', 'extra.1.0.weight', 'extra.5.2.weight']) {
      expect(names, name).toContain(name);
    }
    expect(names.some((n) => n.startsWith('features.23'))).toBe(false);
    expect(backbone.outChannels).toHaveLength(7);
    expect(backbone.extra.at(5).children().next().value).toBeInstanceOf(nn.Conv2d);
    backbone.dispose();
  });

  it('rejects a backbone that is not VGG\'s features, a bad highres and a bad input', () => {
    expect(() => new SSDFeatureExtractorVGG(new nn.Sequential(new nn.Conv2d(3, 8, 3), new nn.MaxPool2d(2)))).toThrow(/SSDFeatureExtractorVGG: expected backbone to be VGG's features, a Sequential with 5 MaxPool2d layers, got one with 1/);
    expect(() => new SSDFeatureExtractorVGG(new nn.Conv2d(3, 8, 3) as never)).toThrow(ArgumentError);
    const features = vgg16Features();
    expect(() => new SSDFeatureExtractorVGG(features, { highres: 1 as unknown as boolean })).toThrow(/expected highres to be a boolean/);
    const backbone = new SSDFeatureExtractorVGG(features);
    expect(() => backbone.call(randn([1, 1, 300, 300]))).toThrow(ShapeError);
    backbone.dispose();
  });
});

describe('vggExtractor', { timeout: 180_000 }, () => {
  it('freezes VGG\'s stages below the top trainableLayers, as torchvision\'s _vgg_extractor; the new layers always train', async () => {
    expect(frozen(vggExtractor(vgg16Features(), false, 5))).toEqual([]);
    await yieldToEventLoop();
    expect(frozen(vggExtractor(vgg16Features(), false, 4)).sort()).toEqual(['features.0.bias', 'features.0.weight', 'features.2.bias', 'features.2.weight']);
    await yieldToEventLoop();
    // Stage 4 starts after pool3 (layer 16): conv4 and conv5 train.
    expect(frozen(vggExtractor(vgg16Features(), false, 2)).map((n) => n.split('.').slice(0, 2).join('.'))).toEqual(
      ['features.0', 'features.0', 'features.2', 'features.2', 'features.5', 'features.5', 'features.7', 'features.7', 'features.10', 'features.10', 'features.12', 'features.12', 'features.14', 'features.14'],
    );
    await yieldToEventLoop();
    // 0 freezes conv5 too (block 0 of extra) but not fc6/fc7 or the later blocks.
    const none = frozen(vggExtractor(vgg16Features(), false, 0));
    expect(none).toContain('extra.0.5.weight');
    expect(none.some((n) => n.startsWith('extra.0.7') || n.startsWith('extra.1') || n === 'scale_weight')).toBe(false);
  });

  it('rejects trainableLayers outside [0, 5]', () => {
    const features = vgg16Features();
    expect(() => vggExtractor(features, false, 6)).toThrow(/vggExtractor: expected trainableLayers in \[0, 5\], got 6/);
    expect(() => vggExtractor(features, false, -1)).toThrow(ArgumentError);
    features.dispose();
  });
});
