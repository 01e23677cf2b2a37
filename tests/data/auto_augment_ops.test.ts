import { readFileSync } from 'node:fs';

import { expect, it } from 'vitest';

import { ArgumentError, DTypeError, ones, stack, tensor, type Tensor } from '../../lib/index.js';
import { adjustSharpness, autocontrast, equalize, posterize, solarize } from '../../lib/data/auto_augment_ops.js';

interface Encoded {
  shape: number[];
  data: number[];
}
interface Fixture {
  image: Encoded;
  functional: Array<{ fn: string; args: number[]; expected: Encoded }>;
}
const fixture = JSON.parse(readFileSync(new URL('../fixtures/augment.json', import.meta.url), 'utf8')) as Fixture;
const image = tensor(Uint8Array.from(fixture.image.data)).reshape(fixture.image.shape);

const fns: Record<string, (x: Tensor, ...args: number[]) => Tensor> = {
  posterize: (x, bits) => posterize(x, bits!),
  solarize: (x, threshold) => solarize(x, threshold!),
  autocontrast: (x) => autocontrast(x),
  equalize: (x) => equalize(x),
  sharpness: (x, factor) => adjustSharpness(x, factor!),
};

for (const { fn, args, expected } of fixture.functional) {
  it(`${fn}(${args.join(', ')}) of uint8 [${fixture.image.shape.join(', ')}] matches torchvision.transforms.functional`, () => {
    const out = fns[fn]!(image, ...args);
    expect(out.dtype).toBe('uint8');
    expect(out.shape).toEqual(expected.shape);
    expect(Array.from(out.dataSync())).toEqual(expected.data);
  });
}

it('the ops take a batch [N, C, H, W], image by image', () => {
  const second = solarize(image, 100);
  const batch = stack([image, second]);
  for (const [fn, args] of [['equalize', []], ['autocontrast', []], ['sharpness', [0.5]]] as const) {
    const out = fns[fn]!(batch, ...args);
    [image, second].forEach((one, i) => expect(Array.from(out.slice(0, i, i + 1).dataSync())).toEqual(Array.from(fns[fn]!(one, ...args).dataSync())));
  }
});

it('the ops refuse float images and out-of-range arguments', () => {
  expect(() => posterize(ones([3, 4, 4]), 4)).toThrow(DTypeError);
  expect(() => posterize(image, 9)).toThrow(/posterize: expected bits to be an integer in \[0, 8\], got 9/);
  expect(() => solarize(image, -1)).toThrow(ArgumentError);
  expect(() => adjustSharpness(image, -0.5)).toThrow(ArgumentError);
  expect(() => equalize(ones([3, 4, 4]))).toThrow(DTypeError);
  expect(() => autocontrast(ones([4, 4]).to('uint8'))).toThrow(/expected an image \[C, H, W\]/);
});
