import { expect, it } from 'vitest';

import { ArgumentError, arange, data, DTypeError, manualSeed, ones, ShapeError, stack } from '../../lib/index.js';

const { randomErasing, randomResizedCrop } = data.transforms;

/** A [2, H, W] image whose channel 0 holds the row index and channel 1 the column index. */
function coordinates(h: number, w: number) {
  const rows = arange(h).float().reshape(h, 1).expand([h, w]);
  const cols = arange(w).float().reshape(1, w).expand([h, w]);
  return stack([rows, cols]).contiguous();
}

it('randomResizedCrop returns size; the crops (read back through nearest resampling) have area fractions in scale and ratios in ratio', async () => {
  const [h, w] = [120, 160];
  const image = coordinates(h, w);
  const crop = randomResizedCrop([60, 60], { scale: [0.25, 0.5], ratio: [0.5, 2], interpolation: 'nearest' });
  manualSeed(5);
  const fractions: number[] = [];
  for (let trial = 0; trial < 100; ++trial) {
    const out = crop(image);
    expect(out.shape).toEqual([2, 60, 60]);
    const px = await out.data();
    const rows = Array.from(px.subarray(0, 3600));
    const cols = Array.from(px.subarray(3600));
    // Nearest resampling of n source pixels to 60 reaches the last one within n / 60.
    const height = Math.max(...rows) - Math.min(...rows) + 1;
    const width = Math.max(...cols) - Math.min(...cols) + 1;
    const fraction = (height * width) / (h * w);
    fractions.push(fraction);
    expect(fraction).toBeGreaterThan(0.25 * 0.9);
    expect(fraction).toBeLessThan(0.5 * 1.05);
    expect(width / height).toBeGreaterThan(0.5 * 0.9);
    expect(width / height).toBeLessThan(2 * 1.1);
  }
  const mean = fractions.reduce((a, b) => a + b, 0) / fractions.length;
  expect(mean).toBeGreaterThan(0.33);
  expect(mean).toBeLessThan(0.42);
  // A batch shares one window.
  const batch = randomResizedCrop([8, 8])(stack([image, image]));
  expect(batch.shape).toEqual([2, 2, 8, 8]);
  expect(Array.from(await batch.slice(0, 0, 0 + 1).data())).toEqual(Array.from(await batch.slice(0, 1, 1 + 1).data()));
});

it('randomResizedCrop falls back to torchvision\'s centre crop with the ratio clamped when no attempt fits', async () => {
  // A ratio of 5..6 never fits in 20 x 20 at 90% of its area: the centre 4 x 20 rows 8..11.
  const image = coordinates(20, 20);
  const out = randomResizedCrop([4, 20], { scale: [0.9, 1], ratio: [5, 6], interpolation: 'nearest' })(image);
  expect(Array.from(await out.slice(0, 0, 0 + 1).data())).toEqual([8, 9, 10, 11].flatMap((r) => new Array<number>(20).fill(r)));
  // Tall: 1/6..1/5 gives width round(20 / 5) = 4 at columns 8..11.
  const tall = randomResizedCrop([20, 4], { scale: [0.9, 1], ratio: [1 / 6, 1 / 5], interpolation: 'nearest' })(image);
  expect(Array.from(await tall.slice(0, 1, 1 + 1).data())).toEqual(Array.from({ length: 20 }, () => [8, 9, 10, 11]).flat());
});

it('randomErasing erases with probability p a box whose area fraction is in scale, filled with value', async () => {
  const [h, w] = [40, 50];
  const image = ones([3, h, w]);
  manualSeed(9);
  const erase = randomErasing({ p: 0.3 });
  let erased = 0;
  for (let trial = 0; trial < 400; ++trial) {
    const out = erase(image);
    const zeros = Array.from(await out.slice(0, 0, 0 + 1).data()).filter((v) => v === 0).length;
    if (zeros > 0) {
      ++erased;
      expect(zeros / (h * w)).toBeGreaterThan(0.02 * 0.7);
      expect(zeros / (h * w)).toBeLessThan(0.33 * 1.2);
    }
  }
  expect(erased / 400).toBeGreaterThan(0.24);
  expect(erased / 400).toBeLessThan(0.36);

  const always = (value: number | number[] | 'random') => randomErasing({ p: 1, scale: [0.2, 0.2], ratio: [1, 1], value })(image);
  const perChannel = always([2, 3, 4]);
  for (let c = 0; c < 3; ++c) {
    const px = Array.from(await perChannel.slice(0, c, c + 1).data());
    expect(px.filter((v) => v === c + 2).length).toBe(Math.round(Math.sqrt(0.2 * h * w)) ** 2);
    expect(px.every((v) => v === 1 || v === c + 2)).toBe(true);
  }
  const noise = Array.from(await always('random').data());
  expect(noise.filter((v) => v !== 1).length).toBe(3 * Math.round(Math.sqrt(0.2 * h * w)) ** 2);
  // No box strictly smaller than the image exists at the full area: the image comes back.
  expect(randomErasing({ p: 1, scale: [1, 1], ratio: [1, 1] })(image)).toBe(image);
});

it('randomResizedCrop and randomErasing refuse bad options when built and bad images when called', () => {
  expect(() => randomResizedCrop([0, 4])).toThrow(/randomResizedCrop: expected size to be \[H, W\] of integers >= 1/);
  expect(() => randomResizedCrop([4, 4], { scale: [0.5, 0.1] })).toThrow(/expected scale to be \[lo, hi\]/);
  expect(() => randomResizedCrop([4, 4], { ratio: [0, 1] })).toThrow(ArgumentError);
  expect(() => randomResizedCrop([4, 4], { interpolation: 'cubic' as 'nearest' })).toThrow(ArgumentError);
  expect(() => randomResizedCrop([4, 4])(ones([4, 4]))).toThrow(ShapeError);
  expect(() => randomResizedCrop([4, 4])(ones([1, 4, 4]).to('uint8'))).toThrow(DTypeError);
  expect(() => randomErasing({ p: 1.5 })).toThrow(/randomErasing: expected p in \[0, 1\], got 1.5/);
  expect(() => randomErasing({ scale: [0.1, 1.5] })).toThrow(ArgumentError);
  expect(() => randomErasing({ value: 'noise' as 'random' })).toThrow(/expected value to be a number, an array of numbers or 'random'/);
  expect(() => randomErasing({ value: [1, 2] })(ones([3, 4, 4]))).toThrow(/expected value to have 1 or 3 entries/);
});
