import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { noGrad, randn, type Tensor } from '../../lib/index.js';
import { trainCases } from '../../bench/cases.js';
import { benchModel } from '../../bench/models.js';

// Parameter names and shapes of bench/train_torch.py's models (tests/fixtures/make_bench_fixtures.py):
// the training bench compares throughput, which means something only if both sides train the same network.
const fixtures = JSON.parse(readFileSync(new URL('../fixtures/bench_models.json', import.meta.url), 'utf8')) as Record<string, [string, number[]][]>;

describe('training bench models match their PyTorch definitions', () => {
  for (const name of new Set(trainCases.map((c) => c.model))) {
    it(`${name}: same parameter names and shapes as train_torch.py`, () => {
      const expected = fixtures[name];
      expect(expected, `bench_models.json has no ${name}: rerun make_bench_fixtures.py`).toBeDefined();
      const model = benchModel(name);
      const ours = [...model.namedParameters()].map(([key, p]) => [key, [...p.shape]]);
      model.dispose();
      // Compared by name: registration order differs where the bench swaps a layer in (resnet18Cifar's conv1).
      expect(Object.fromEntries(ours)).toEqual(Object.fromEntries(expected!));
      expect(ours).toHaveLength(expected!.length);
    });
  }

  it('resnet18Cifar has the CIFAR stem: 32x32 images reach layer1 as 32x32 maps (3x3 stride-1 conv1, no max-pool)', () => {
    const model = benchModel('resnet18Cifar');
    const stem = model as unknown as Record<'conv1' | 'maxpool', { call(x: Tensor): Tensor }>;
    using x = randn([1, 3, 32, 32]);
    using y = noGrad(() => stem.maxpool.call(stem.conv1.call(x)));
    expect(y.shape).toEqual([1, 64, 32, 32]);
    expect(model.parameterCount()).toBe(11_173_962);
    model.dispose();
  });

  it("resnet50 and efficientnetB0 have torchvision's parameter counts with 1000 classes", () => {
    for (const [name, count] of [['resnet50', 25_557_032], ['efficientnetB0', 5_288_548]] as const) {
      const model = benchModel(name);
      expect(model.parameterCount(), name).toBe(count);
      model.dispose();
    }
  });
});
