import { expect, it } from 'vitest';

import { ArgumentError, DeviceError, memory, ShapeError, vision, zeros, type Device } from '../../lib/index.js';
import { describeDevices } from '../helpers/devices.js';
import { readFixture } from '../helpers/fixture_cases.js';

// Written by make_vision_fixtures.py from torchvision 0.14's AnchorGenerator: three
// configurations on non-square padded batches, strides that do not divide evenly, sizes
// whose half-widths land on .5 (torch.round rounds half to even), and the flat forms.
interface AnchorCase {
  sizes: number[][] | number[];
  ratios: number[][] | number[];
  image: [number, number, number, number];
  grids: Array<[number, number]>;
  imageSizes: Array<[number, number]>;
  numAnchorsPerLocation: number[];
  cellAnchors: number[][];
  anchors: number[][];
  anchorsShape: [number, number];
}
const fixture = readFixture<{ anchors: AnchorCase[] }>('vision.json');

const featureMapsOf = (c: AnchorCase, device: Device) => c.grids.map(([h, w]) => zeros([c.image[0], 4, h, w], { device }));

describeDevices('AnchorGenerator', (device) => {
  for (const c of fixture.anchors) {
    it(`sizes ${JSON.stringify(c.sizes)} ratios ${JSON.stringify(c.ratios)} on [${c.image}] with grids ${JSON.stringify(c.grids)} match torchvision`, () => {
      const generator = new vision.AnchorGenerator(c.sizes, c.ratios);
      expect(generator.numAnchorsPerLocation()).toEqual(c.numAnchorsPerLocation);
      expect(generator.cellAnchors.map((a) => Array.from(a.dataSync()))).toEqual(c.cellAnchors);
      const images = new vision.ImageList(zeros(c.image, { device }), c.imageSizes);
      const anchors = generator.call(images, featureMapsOf(c, device));
      expect(anchors).toHaveLength(c.imageSizes.length);
      anchors.forEach((a, i) => {
        expect(a.shape).toEqual(c.anchorsShape);
        expect(a.dtype).toBe('float32');
        expect(a.device).toBe(device);
        // Whole numbers in float32: equal exactly.
        expect(Array.from(a.cpu().dataSync()), `image ${i}`).toEqual(c.anchors[i]);
      });
    });
  }

  it('gives each image a tensor of its own, and frees its temporaries', () => {
    const c = fixture.anchors[0]!;
    const generator = new vision.AnchorGenerator(c.sizes, c.ratios);
    const images = new vision.ImageList(zeros(c.image, { device }), c.imageSizes);
    const maps = featureMapsOf(c, device);
    generator.call(images, maps).forEach((a) => a.dispose()); // warm: the cell anchors' copy on this device
    const before = memory()[device]?.tensors ?? 0;
    const [first, second] = generator.call(images, maps) as [ReturnType<typeof zeros>, ReturnType<typeof zeros>];
    expect((memory()[device]?.tensors ?? 0) - before).toBe(2);
    first.dispose();
    expect(second.cpu().dataSync().length).toBe(c.anchorsShape[0] * 4);
  });

  it('defaults to torchvision sizes [[128, 256, 512]] and ratios [[0.5, 1, 2]]', () => {
    const generator = new vision.AnchorGenerator();
    expect(generator.sizes).toEqual([[128, 256, 512]]);
    expect(generator.aspectRatios).toEqual([[0.5, 1, 2]]);
    expect(generator.numAnchorsPerLocation()).toEqual([9]);
    expect(generator.toString()).toBe('AnchorGenerator(sizes=[[128,256,512]], aspectRatios=[[0.5,1,2]])');
  });

  it('gridAnchors places cells stride apart, row-major, with the A anchors of a cell consecutive', () => {
    const generator = new vision.AnchorGenerator([[2]], [[1]]);
    const [level] = generator.gridAnchors([[2, 3]], [[10, 4]], device);
    expect(level!.cpu().tolist()).toEqual([
      [-1, -1, 1, 1], [3, -1, 5, 1], [7, -1, 9, 1],
      [-1, 9, 1, 11], [3, 9, 5, 11], [7, 9, 9, 11],
    ]);
  });

  it('rejects bad sizes, ratios, feature maps and image lists with typed errors', () => {
    expect(() => new vision.AnchorGenerator([[32], [64]], [[1], [1], [1]])).toThrow(/AnchorGenerator: expected as many aspectRatios lists as sizes lists \(2 feature levels\), got 3/);
    expect(() => new vision.AnchorGenerator([[32, -1]])).toThrow(/AnchorGenerator: expected sizes\[0\] to be a non-empty array of positive finite numbers/);
    expect(() => new vision.AnchorGenerator([[32]], [[]])).toThrow(ArgumentError);
    expect(() => new vision.AnchorGenerator([])).toThrow(ArgumentError);
    const generator = new vision.AnchorGenerator([[32], [64]], [[1], [1]]);
    expect(() => generator.generateAnchors([0], [1])).toThrow(/AnchorGenerator.generateAnchors: expected scales/);
    const images = new vision.ImageList(zeros([1, 3, 32, 32], { device }), [[32, 30]]);
    const map = zeros([1, 4, 4, 4], { device });
    expect(() => generator.call(images, [map])).toThrow(/AnchorGenerator.forward: expected one feature map per level of sizes and aspectRatios \(2\), got 1/);
    expect(() => generator.call(images, [map, zeros([1, 4, 0, 4], { device })])).toThrow(ShapeError);
    expect(() => generator.call({ tensors: images.tensors, imageSizes: [[32, 30]] } as unknown as vision.ImageList, [map, map])).toThrow(/expected imageList to be an ImageList/);
    expect(() => generator.gridAnchors([[2, 2]], [[1, 1]])).toThrow(/AnchorGenerator.gridAnchors: expected one grid size and one stride per feature level \(2\)/);
    if (device !== 'cpu') expect(() => generator.call(images, [map, zeros([1, 4, 2, 2])])).toThrow(DeviceError);
  });
});
