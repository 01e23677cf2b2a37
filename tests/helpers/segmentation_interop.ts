// The torchvision segmentation exports of tests/fixtures/make_segmentation_interop.py:
// each model loads strictly and gives torchvision's eval outputs.
import { expect } from 'vitest';

import { io, type models, type nn, noGrad, type Tensor } from '../../lib/index.js';
import { interopTest, scaledMaxDiff, splitExport } from './interop.js';

const command = '/usr/bin/python3 tests/fixtures/make_segmentation_interop.py';

/**
 * Declares the interop test of `file` (fcn_resnet50, deeplabv3_resnet50,
 * lraspp_mobilenet_v3_large, ...) for the model `build` makes: every output torchvision
 * gave (`out`, and `aux` where it has one) within 1e-4 of its scale.
 */
export function segmentationInteropTest(file: string, build: () => nn.Module<[x: Tensor], models.segmentation.SegmentationOutput>): void {
  interopTest(`${file}.safetensors`, command, `${file}: torchvision's state dict loads strictly and gives its logits`, async (path) => {
    const { tensors, metadata } = await io.loadSafetensors(path);
    const { state, inputs, outputs } = splitExport(tensors, metadata);
    const model = build();
    expect(model.loadStateDict(state)).toEqual({ missing: [], unexpected: [] });
    model.eval();
    const result = noGrad(() => model.call(inputs.get('images')!));
    expect(Object.keys(result).sort()).toEqual([...outputs.keys()].sort());
    for (const [name, expected] of outputs) {
      expect(scaledMaxDiff(result[name as keyof typeof result]!, expected), name).toBeLessThan(1e-4);
    }
    model.dispose();
  });
}
