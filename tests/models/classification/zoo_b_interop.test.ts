// torchvision interop for EfficientNet-B0, RegNetY-400MF, ConvNeXt-Tiny, GoogLeNet and
// Inception v3 (DESIGN §6): torchvision 0.14's state dicts, exported by
// tests/fixtures/make_zoo_b_interop.py with BatchNorm statistics, norm affine, layer scale and
// Linear weights moved away from initialisation, load strictly and give torchvision's logits
// within 1e-3 of their scale, at the training size and at an odd non-square size. CI
// generates the exports (.ci/run); there a missing one is a failure.
import { expect } from 'vitest';

import { io, models, noGrad, type nn, type Tensor } from '../../../lib/index.js';
import { interopTest, scaledMaxDiff } from '../../helpers/interop.js';

const files: Record<string, () => nn.Module<[Tensor], unknown>> = {
  efficientnet_b0: models.efficientnetB0,
  regnet_y_400mf: models.regnetY400mf,
  convnext_tiny: models.convnextTiny,
  googlenet: models.googlenet,
  inception_v3: models.inceptionV3,
};

for (const [name, make] of Object.entries(files)) {
  const command = `/usr/bin/python3 tests/fixtures/make_zoo_b_interop.py ${name}`;
  const title = `${name}: torchvision's state dict loads strictly and reproduces its logits at two input sizes`;
  interopTest(`${name}.safetensors`, command, title, async (path) => {
    const { tensors } = await io.loadSafetensors(path);
    const state = new Map([...tensors].filter(([key]) => !key.startsWith('__')));
    const model = make().eval();
    expect(model.loadStateDict(state)).toEqual({ missing: [], unexpected: [] });
    for (const size of ['square', 'nonsquare']) {
      const input = tensors.get(`__input__.${size}`)!;
      const logits = noGrad(() => model.call(input)) as Tensor;
      expect(scaledMaxDiff(logits, tensors.get(`__logits__.${size}`)!), `${name} at [${input.shape.join(', ')}]`).toBeLessThan(1e-3);
    }
    model.dispose();
  });
}
