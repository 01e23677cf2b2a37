import sharp from 'sharp';
import { expect, it } from 'vitest';

import { ArgumentError, manualSeed, nn, randn, tensor, viz } from '../../lib/index.js';

const mlp = () => new nn.Sequential(new nn.Linear(4, 8), new nn.ReLU(), new nn.Linear(8, 3));

it('draws one panel per parameter whose counts sum to its numel', async () => {
  manualSeed(0);
  const model = mlp();
  const { svg, png, histograms, skipped } = await viz.histogram(model, { bins: 10 });
  expect(histograms.map((h) => h.name)).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
  expect(skipped).toEqual([]);
  for (const [h, p] of histograms.map((h, i) => [h, [...model.parameters()][i]!] as const)) {
    expect(h.counts).toHaveLength(10);
    expect(h.edges).toHaveLength(11);
    expect(h.counts.reduce((a, b) => a + b, 0)).toBe(p.numel);
    expect(h.nonFinite).toBe(0);
    const values = Array.from(await p.data());
    expect(h.edges[0]).toBe(Math.min(...values));
    expect(h.edges[10]).toBe(Math.max(...values));
  }
  for (const text of ['Weight histograms', '0.weight [8, 4]', '2.bias [3]', 'Value', 'Count', '10 bins per panel']) expect(svg).toContain(text);
  const meta = await sharp(png).metadata();
  expect(meta.format).toBe('png');
  expect((await sharp(png).stats()).channels.some((c) => c.min !== c.max)).toBe(true);
});

it('charts gradients after a backward, skipping the parameters without one', async () => {
  manualSeed(1);
  const model = mlp();
  await expect(viz.histogram(model, { of: 'grads' })).rejects.toThrow(/no tensor has a gradient \(call backward\(\) first\)/);
  model.call(randn([5, 4])).square().sum().backward();
  // A frozen layer: its parameters have no gradient.
  const [, , last] = [...model.children()] as nn.Linear[];
  last!.weight.grad = null;
  const { histograms, skipped, svg } = await viz.histogram(model, { of: 'grads', bins: 8 });
  expect(histograms.map((h) => h.name)).toEqual(['0.weight', '0.bias', '2.bias']);
  expect(skipped).toEqual([{ name: '2.weight', reason: 'no gradient' }]);
  for (const h of histograms) expect(h.counts.reduce((a, b) => a + b, 0)).toBe(h.shape.reduce((a, b) => a * b, 1));
  expect(svg).toContain('Gradient histograms');
  expect(svg).toContain('skipped: 2.weight (no gradient)');
});

it('takes named tensors, counts NaN and Infinity apart, and gives a constant tensor a unit range', async () => {
  const { histograms, svg } = await viz.histogram(
    new Map([
      ['exploded', tensor([1, 2, Infinity, NaN, 3], { dtype: 'float32' })],
      ['zeros', tensor([0, 0, 0], { dtype: 'float32' })],
    ]),
    { bins: 2 },
  );
  expect(histograms[0]).toMatchObject({ edges: [1, 2, 3], counts: [1, 2], nonFinite: 2 });
  expect(histograms[1]).toMatchObject({ edges: [-0.5, 0, 0.5], counts: [0, 3], nonFinite: 0 });
  expect(svg).toContain('exploded [5], 2 non-finite');
  const record = await viz.histogram({ w: tensor([1, 2], { dtype: 'float32' }) }, { bins: 1 });
  expect(record.histograms[0]!.counts).toEqual([2]);
});

it('refuses bad sources and options', async () => {
  await expect(viz.histogram({ w: 3 } as unknown as viz.NamedTensors)).rejects.toThrow(/expected tensors\['w'\] to be a Tensor/);
  await expect(viz.histogram(null as unknown as viz.NamedTensors)).rejects.toThrow(ArgumentError);
  await expect(viz.histogram(new Map())).rejects.toThrow(/nothing to chart/);
  await expect(viz.histogram(mlp(), { bins: 0 })).rejects.toThrow(/bins to be an integer in \[1, 1000\]/);
  await expect(viz.histogram(mlp(), { of: 'activations' as 'weights' })).rejects.toThrow(/of 'weights' or 'grads'/);
});
