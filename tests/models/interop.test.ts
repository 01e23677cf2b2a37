// torchvision interop (DESIGN §6): torchvision's own weights, exported by
// tests/fixtures/make_interop.py, load unchanged and give torchvision's logits.
import { existsSync } from 'node:fs';

import { expect, it } from 'vitest';

import { io, models, noGrad } from '../../lib/index.js';

const files = { resnet18: models.resnet18, vgg11: models.vgg11, mobilenet_v2: models.mobilenetV2 } as const;

for (const [name, make] of Object.entries(files)) {
  const path = new URL(`../fixtures/interop/${name}.safetensors`, import.meta.url).pathname;
  it.runIf(existsSync(path))(`${name}: torchvision weights load and reproduce torchvision's logits`, async () => {
    const { tensors } = await io.loadSafetensors(path);
    const input = tensors.get('__input__')!;
    const expected = tensors.get('__logits__')!;
    tensors.delete('__input__');
    tensors.delete('__logits__');
    const model = make().eval();
    model.loadStateDict(tensors);
    const logits = noGrad(() => model.call(input));
    const diff = Math.max(...Array.from(logits.sub(expected).abs().dataSync()));
    expect(diff).toBeLessThan(1e-3);
    model.dispose();
  });
  it.runIf(!existsSync(path))(`${name} interop: skipped, run /usr/bin/python3 tests/fixtures/make_interop.py to create ${path}`, () => {});
}
