// connectedComponents against scipy.ndimage.label (tests/fixtures/connected_components.json,
// made by make_connected_components_fixtures.py): random masks of several densities, blobs,
// shapes that force label merges, empty and full masks, 2-D 4/8 and 3-D 6/18/26.
import { expect, it } from 'vitest';

import {
  ArgumentError,
  connectedComponents,
  connectedComponentsAsync,
  DTypeError,
  memory,
  ShapeError,
  stack,
  tensor,
  zeros,
  type Connectivity,
  type DeviceLike,
  type Device,
} from '../../lib/index.js';
import { describeDevices } from '../helpers/devices.js';
import { readFixture } from '../helpers/fixture_cases.js';

interface LabelCase {
  name: string;
  shape: number[];
  connectivity: Connectivity;
  mask: number[];
  labels: number[];
  count: number;
}

const fixture = readFixture<{ cases: LabelCase[] }>('connected_components.json');

/** A naive reference: breadth-first flood fill in raster order, with the same neighbourhoods. */
function floodLabels(mask: ArrayLike<number>, shape: readonly number[], connectivity: Connectivity): { labels: Int32Array; count: number } {
  const [d, h, w] = shape.length === 2 ? [1, shape[0]!, shape[1]!] : [shape[0]!, shape[1]!, shape[2]!];
  const hops = connectivity === 4 || connectivity === 6 ? 1 : connectivity === 8 || connectivity === 18 ? 2 : 3;
  const offsets: number[][] = [];
  for (let dz = shape.length === 2 ? 0 : -1; dz <= (shape.length === 2 ? 0 : 1); ++dz) {
    for (let dy = -1; dy <= 1; ++dy) {
      for (let dx = -1; dx <= 1; ++dx) {
        const n = Number(dz !== 0) + Number(dy !== 0) + Number(dx !== 0);
        if (n > 0 && n <= hops) offsets.push([dz, dy, dx]);
      }
    }
  }
  const labels = new Int32Array(d * h * w);
  let count = 0;
  for (let start = 0; start < labels.length; ++start) {
    if (!mask[start] || labels[start]) continue;
    labels[start] = ++count;
    const queue = [start];
    while (queue.length > 0) {
      const i = queue.pop()!;
      const z = Math.floor(i / (h * w)), y = Math.floor(i / w) % h, x = i % w;
      for (const [dz, dy, dx] of offsets) {
        const nz = z + dz!, ny = y + dy!, nx = x + dx!;
        if (nz < 0 || nz >= d || ny < 0 || ny >= h || nx < 0 || nx >= w) continue;
        const j = (nz * h + ny) * w + nx;
        if (mask[j] && !labels[j]) {
          labels[j] = count;
          queue.push(j);
        }
      }
    }
  }
  return { labels, count };
}

function maskOf(c: LabelCase, device: Device) {
  return tensor(Uint8Array.from(c.mask), { shape: c.shape, device });
}

describeDevices('connectedComponents', (device) => {
  for (const c of fixture.cases) {
    it(`${c.name} [${c.shape.join(', ')}] connectivity ${c.connectivity}: as scipy.ndimage.label`, () => {
      const { labels, count, counts } = connectedComponents(maskOf(c, device), { connectivity: c.connectivity });
      expect(labels.dtype).toBe('int32');
      expect(labels.device).toBe(device);
      expect(labels.shape).toEqual(c.shape);
      expect(count).toBe(c.count);
      expect(counts).toEqual([c.count]);
      expect(Array.from(labels.cpu().dataSync())).toEqual(c.labels);
    });
  }

  it('reads bool, uint8 and int32 masks (nonzero = foreground) and any strides', async () => {
    const c = fixture.cases.find((k) => k.name === 'random 0.45 2-D' && k.connectivity === 8)!;
    const u8 = maskOf(c, device);
    for (const mask of [u8.gt(0), u8.to('int32').mul(7), u8]) {
      expect(Array.from(connectedComponents(mask, { connectivity: 8 }).labels.cpu().dataSync())).toEqual(c.labels);
    }
    // A transposed view is labelled as the tensor it shows: as scipy on the transpose.
    const t = u8.transpose(0, 1);
    const expected = floodLabels(t.contiguous().cpu().dataSync(), t.shape, 8);
    const got = await connectedComponentsAsync(t, { connectivity: 8 });
    expect(got.count).toBe(expected.count);
    expect(Array.from(got.labels.cpu().dataSync())).toEqual(Array.from(expected.labels));
  });

  it('defaults to the faces only: 4 for [H, W], 6 for [D, H, W]', () => {
    const diagonal = tensor([[1, 0], [0, 1]], { dtype: 'uint8', device });
    expect(connectedComponents(diagonal).count).toBe(2);
    expect(connectedComponents(diagonal, { connectivity: 8 }).count).toBe(1);
    const corner = zeros([2, 2, 2], { dtype: 'uint8', device }).add(tensor([[[1, 0], [0, 0]], [[0, 0], [0, 1]]], { dtype: 'uint8', device }));
    expect(connectedComponents(corner).count).toBe(2);
    expect(connectedComponents(corner, { connectivity: 26 }).count).toBe(1);
  });

  it('labels a batch [N, H, W] (connectivity 4/8) and [N, D, H, W] mask by mask, each from 1', () => {
    const planar = fixture.cases.filter((k) => k.shape.join() === '23,31' && k.connectivity === 4).slice(0, 3);
    const batch = stack(planar.map((k) => maskOf(k, device)));
    const { labels, count, counts } = connectedComponents(batch, { connectivity: 4 });
    expect(labels.shape).toEqual([3, 23, 31]);
    expect(counts).toEqual(planar.map((k) => k.count));
    expect(count).toBe(Math.max(...planar.map((k) => k.count)));
    expect(Array.from(labels.cpu().dataSync())).toEqual(planar.flatMap((k) => k.labels));
    const volumes = fixture.cases.filter((k) => k.shape.join() === '7,9,11' && k.connectivity === 26);
    const result = connectedComponents(stack(volumes.map((k) => maskOf(k, device))), { connectivity: 26 });
    expect(result.counts).toEqual(volumes.map((k) => k.count));
    expect(Array.from(result.labels.cpu().dataSync())).toEqual(volumes.flatMap((k) => k.labels));
  });

  it('agrees with a flood-fill reference on a larger random mask (long merge chains)', () => {
    // Density near the percolation threshold: a few huge tangled components.
    const h = 181, w = 263;
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const values = Uint8Array.from({ length: h * w }, () => (random() < 0.59 ? 1 : 0));
    for (const connectivity of [4, 8] as const) {
      const expected = floodLabels(values, [h, w], connectivity);
      const got = connectedComponents(tensor(values, { shape: [h, w], device }), { connectivity });
      expect(got.count).toBe(expected.count);
      expect(Array.from(got.labels.cpu().dataSync())).toEqual(Array.from(expected.labels));
    }
  });

  it('frees its temporaries (the CPU copy, the counts): only the labels stay', async () => {
    const mask = tensor(Uint8Array.from(fixture.cases[0]!.mask), { shape: fixture.cases[0]!.shape, device }).transpose(0, 1);
    // Tensors the backstop frees meanwhile (earlier tests' forgotten ones, collected during the
    // await) move from `tensors` to `leakedTensors`: their sum changes only by what this test leaves.
    const held = (d: DeviceLike) => {
      const m = memory(d);
      return m.tensors + m.leakedTensors;
    };
    const live = () => [held('cpu'), held(device)];
    const before = live();
    connectedComponents(mask, { connectivity: 8 }).labels.dispose();
    (await connectedComponentsAsync(mask)).labels.dispose();
    expect(live()).toEqual(before);
  });

  it('handles empty sizes', () => {
    const { labels, count, counts } = connectedComponents(zeros([0, 5], { dtype: 'uint8', device }));
    expect(labels.shape).toEqual([0, 5]);
    expect([count, counts]).toEqual([0, [0]]);
    expect(connectedComponents(zeros([0, 4, 5], { dtype: 'uint8', device }), { connectivity: 8 }).counts).toEqual([]);
  });

  it('refuses bad dtypes, ranks and connectivities with typed errors', () => {
    const mask = zeros([4, 5], { dtype: 'uint8', device });
    expect(() => connectedComponents(mask.to('float32'))).toThrow(DTypeError);
    expect(() => connectedComponents(mask.to('float32'))).toThrow(/connectedComponents: expected mask to have dtype bool or uint8 or int32, got float32/);
    expect(() => connectedComponents(zeros([5], { dtype: 'uint8', device }))).toThrow(ShapeError);
    expect(() => connectedComponents(zeros([1, 2, 3, 4, 5], { dtype: 'uint8', device }))).toThrow(/expected mask \[H, W\]/);
    expect(() => connectedComponents(mask, { connectivity: 6 })).toThrow(/expected mask \[D, H, W\] or \[N, D, H, W\] for connectivity 6, got \[4, 5\]/);
    expect(() => connectedComponents(zeros([2, 3, 4, 5], { dtype: 'uint8', device }), { connectivity: 8 })).toThrow(ShapeError);
    expect(() => connectedComponents(mask, { connectivity: 5 as Connectivity })).toThrow(ArgumentError);
    expect(() => connectedComponents(mask, { connectivity: 5 as Connectivity })).toThrow(/expected connectivity 4 or 8 \(2-D\) or 6, 18 or 26 \(3-D\), got 5/);
    expect(() => connectedComponents('mask' as never)).toThrow(/connectedComponents/);
  });
});
