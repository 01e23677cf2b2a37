// The torchvision segmentation exports of tests/fixtures/make_segmentation_interop.py:
// each model loads strictly and gives torchvision's eval outputs.
import { expect } from 'vitest';

import { io, type models, noGrad } from '../../lib/index.js';
import { interopTest, scaledMaxDiff, splitExport } from './interop.js';

const command = '/usr/bin/python3 tests/fixtures/make_segmentation_interop.py';

/** Declares the interop test of `file` (fcn_resnet50 or deeplabv3_resnet50) for the model `build` makes. */
export function segmentationInteropTest(file: string, build: () => models.segmentation.SimpleSegmentationModel): void {
  interopTest(`${file}.safetensors`, command, `${file}: torchvision's state dict loads strictly and gives its out and aux logits`, async (path) => {
    const { tensors, metadata } = await io.loadSafetensors(path);
    const { state, inputs, outputs } = splitExport(tensors, metadata);
    const model = build();
    expect(model.loadStateDict(state)).toEqual({ missing: [], unexpected: [] });
    model.eval();
    const result = noGrad(() => model.call(inputs.get('images')!));
    expect(Object.keys(result).sort()).toEqual([...outputs.keys()].sort());
    expect(scaledMaxDiff(result.out, outputs.get('out')!), 'out').toBeLessThan(1e-4);
    expect(scaledMaxDiff(result.aux!, outputs.get('aux')!), 'aux').toBeLessThan(1e-4);
    model.dispose();
  });
}
