// Component statistics and filters against scipy.ndimage (tests/fixtures/connected_components.json,
// made by make_connected_components_fixtures.py): bincount / find_objects / center_of_mass,
// the largest component, small components removed, binary_fill_holes; and per-class
// processing of an int32 label map, as MONAI's transforms apply it.
import { expect, it } from 'vitest';

import { ArgumentError, connectedComponents, DTypeError, IndexError, memory, ShapeError, stack, tensor, vision, type Connectivity } from '../../lib/index.js';
import { describeDevices, expectClose } from '../helpers/devices.js';
import { readFixture } from '../helpers/fixture_cases.js';

const { componentStats, fillHoles, keepLargestComponent, removeSmallComponents } = vision;

interface ComponentCase {
  name: string;
  shape: number[];
  connectivity: Connectivity;
  mask: number[];
  labels: number[];
  count: number;
  area: number[];
  bbox: number[][];
  centroid: number[][];
  largest: number[];
  minSize: number;
  small: number[];
  filled: number[];
}

interface LabelMapCase {
  shape: number[];
  labels: number[];
  largest: number[];
  minSize: number;
  small: number[];
}

const fixture = readFixture<{ cases: ComponentCase[]; labelMap: LabelMapCase }>('connected_components.json');

const values = (t: { cpu(): { dataSync(): ArrayLike<number> } }) => Array.from(t.cpu().dataSync());

describeDevices('component post-processing', (device) => {
  const maskOf = (c: ComponentCase) => tensor(Uint8Array.from(c.mask), { shape: c.shape, device });

  for (const c of fixture.cases) {
    const name = `${c.name} [${c.shape.join(', ')}] connectivity ${c.connectivity}`;
    it(`${name}: stats, largest, small removed and holes filled as scipy.ndimage`, () => {
      const mask = maskOf(c);
      const { labels, count } = connectedComponents(mask, { connectivity: c.connectivity });
      const stats = componentStats(labels, count);
      expect(stats.count).toBe(c.count);
      expect(stats.rank).toBe(c.shape.length);
      expect(Array.from(stats.area)).toEqual(c.area);
      expect(Array.from(stats.bbox)).toEqual(c.bbox.flatMap((b) => reorderSlices(b)));
      expectClose(stats.centroid, c.centroid.flat(), 1e-12);
      // count defaults to the largest label.
      expect(Array.from(componentStats(labels).area)).toEqual(c.area);

      const largest = keepLargestComponent(mask, { connectivity: c.connectivity });
      expect(largest.dtype).toBe('uint8');
      expect(largest.device).toBe(device);
      expect(values(largest)).toEqual(c.largest);
      expect(values(removeSmallComponents(mask, { connectivity: c.connectivity, minSize: c.minSize }))).toEqual(c.small);
      const filled = fillHoles(mask.gt(0), { connectivity: c.connectivity });
      expect(filled.dtype).toBe('bool');
      expect(values(filled)).toEqual(c.filled);
    });
  }

  it('a batch [N, H, W] is processed mask by mask', () => {
    const cases = fixture.cases.filter((k) => k.shape.join() === '23,31' && k.connectivity === 8);
    const batch = stack(cases.map(maskOf));
    const opts = { connectivity: 8 } as const;
    expect(values(keepLargestComponent(batch, opts))).toEqual(cases.flatMap((k) => k.largest));
    expect(values(removeSmallComponents(batch, { ...opts, minSize: 3 }))).toEqual(cases.flatMap((k) => k.small));
    expect(values(fillHoles(batch, opts))).toEqual(cases.flatMap((k) => k.filled));
  });

  it('keeps the mask values of what stays, and the first component in raster order on a tie', () => {
    const mask = tensor([[5, 5, 0, 9], [0, 0, 0, 9], [7, 7, 0, 0]], { dtype: 'uint8', device });
    expect(keepLargestComponent(mask).tolist()).toEqual([[5, 5, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]);
    expect(removeSmallComponents(mask, { minSize: 2 }).tolist()).toEqual(mask.tolist());
    expect(removeSmallComponents(mask, { minSize: 3 }).tolist()).toEqual([[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]);
  });

  it('processes an int32 label map class by class, as MONAI (independent components per class)', () => {
    const c = fixture.labelMap;
    const map = tensor(Int32Array.from(c.labels), { shape: c.shape, device });
    const largest = keepLargestComponent(map);
    expect(largest.dtype).toBe('int32');
    expect(values(largest)).toEqual(c.largest);
    expect(values(removeSmallComponents(map, { minSize: c.minSize }))).toEqual(c.small);
    // A map of background only has no class to process.
    const empty = tensor(new Int32Array(12), { shape: [3, 4], device });
    for (const f of [keepLargestComponent, fillHoles]) expect(values(f(empty))).toEqual(new Array(12).fill(0));
    // classes limits the classes processed; the others are left as they are.
    const only2 = values(keepLargestComponent(map, { classes: [2] }));
    c.labels.forEach((v, i) => expect(only2[i]).toBe(v === 2 ? c.largest[i] : v));
  });

  it('fills the holes of a label map with the class of the smallest hole around them, leaving other classes', () => {
    // A ring of class 2 around a ring of class 1 around a pixel of class 3 and background.
    const map = tensor(
      [
        [2, 2, 2, 2, 2, 2, 2],
        [2, 0, 0, 0, 0, 0, 2],
        [2, 0, 1, 1, 1, 0, 2],
        [2, 0, 1, 3, 0, 1, 2],
        [2, 0, 1, 1, 1, 1, 2],
        [2, 0, 0, 0, 0, 0, 2],
        [2, 2, 2, 0, 2, 2, 2],
      ],
      { dtype: 'int32', device },
    );
    // Row 6's gap opens class 2's ring to the border: only class 1's hole is filled...
    const open = fillHoles(map);
    expect((open.tolist() as number[][])[3]).toEqual([2, 0, 1, 3, 1, 1, 2]);
    expect((open.tolist() as number[][])[1]).toEqual([2, 0, 0, 0, 0, 0, 2]);
    // ...and with the gap closed, class 2 fills the background between the rings.
    const closed = fillHoles(map.maximum(tensor([[0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 2, 0, 0, 0]], { dtype: 'int32', device })));
    expect(closed.tolist()).toEqual([
      [2, 2, 2, 2, 2, 2, 2],
      [2, 2, 2, 2, 2, 2, 2],
      [2, 2, 1, 1, 1, 2, 2],
      [2, 2, 1, 3, 1, 1, 2],
      [2, 2, 1, 1, 1, 1, 2],
      [2, 2, 2, 2, 2, 2, 2],
      [2, 2, 2, 2, 2, 2, 2],
    ]);
    // A binary mask of the same map: every enclosed background pixel becomes 1.
    expect((fillHoles(map.gt(0).to('uint8')).tolist() as number[][])[3]).toEqual([1, 0, 1, 1, 1, 1, 1]);
  });

  it('a 3-D volume of depth 1 is all border: nothing is filled', () => {
    const ring = tensor([[[1, 1, 1], [1, 0, 1], [1, 1, 1]]], { dtype: 'uint8', device });
    expect(fillHoles(ring).tolist()).toEqual(ring.tolist());
    expect(fillHoles(ring.squeeze(0)).tolist()).toEqual([[1, 1, 1], [1, 1, 1], [1, 1, 1]]);
  });

  it('frees every temporary: only the result stays', () => {
    const map = tensor(Int32Array.from(fixture.labelMap.labels), { shape: fixture.labelMap.shape, device });
    const binary = map.gt(0);
    const live = () => [memory('cpu').tensors, memory(device).tensors];
    const before = live();
    for (const run of [() => keepLargestComponent(map), () => removeSmallComponents(binary), () => fillHoles(map), () => fillHoles(binary)]) {
      run().dispose();
      expect(live()).toEqual(before);
    }
  });

  it('componentStats gives absent labels empty boxes and NaN centroids', () => {
    const stats = componentStats(tensor([[0, 2], [2, 0]], { dtype: 'int32', device }), 3);
    expect(Array.from(stats.area)).toEqual([0, 2, 0]);
    expect(Array.from(stats.bbox)).toEqual([0, 0, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0]);
    expect(Number.isNaN(stats.centroid[0])).toBe(true);
    expectClose(stats.centroid.subarray(2, 4), [0.5, 0.5]);
  });

  it('refuses bad inputs with typed errors naming the function and argument', () => {
    const mask = tensor([[1, 0], [0, 1]], { dtype: 'uint8', device });
    expect(() => componentStats(mask)).toThrow(DTypeError);
    expect(() => componentStats(mask.to('int32'), 0)).toThrow(IndexError);
    expect(() => componentStats(mask.to('int32'), 0)).toThrow(/componentStats: expected labels in \[0, 0\], got 1 at flat index 0/);
    expect(() => componentStats(tensor([1, 2], { dtype: 'int32', device }))).toThrow(ShapeError);
    expect(() => componentStats(mask.to('int32'), -1)).toThrow(/componentStats: expected count to be an integer >= 0, got -1/);
    expect(() => keepLargestComponent(mask.to('float32'))).toThrow(/keepLargestComponent: expected mask to have dtype bool or uint8 or int32, got float32/);
    expect(() => keepLargestComponent(mask, { connectivity: 26 })).toThrow(ShapeError);
    expect(() => keepLargestComponent(mask, { connectivity: 3 as Connectivity })).toThrow(ArgumentError);
    expect(() => keepLargestComponent(mask, { classes: [1] })).toThrow(/keepLargestComponent: expected no classes for a uint8 mask/);
    expect(() => keepLargestComponent(mask.to('int32'), { classes: [0] })).toThrow(/expected classes to be a list of nonzero integers/);
    expect(() => removeSmallComponents(mask, { minSize: 1.5 })).toThrow(/removeSmallComponents: expected minSize to be an integer >= 0, got 1.5/);
    expect(() => fillHoles(tensor([1, 0, 1], { dtype: 'uint8', device }))).toThrow(/fillHoles: expected mask \[H, W\]/);
  });
});

/** scipy's find_objects slices (start, stop per dim) as skimage's bbox: every start, then every stop. */
function reorderSlices(slices: number[]): number[] {
  const starts = slices.filter((_, i) => i % 2 === 0);
  const stops = slices.filter((_, i) => i % 2 === 1);
  return [...starts, ...stops];
}
