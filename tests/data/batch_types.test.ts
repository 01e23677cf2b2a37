// Batch types follow from item types through the default collate, so the README's training
// loop compiles under noUncheckedIndexedAccess with no casts. `npx tsc --noEmit` checks the
// expectTypeOf lines (tsconfig includes tests/); the loops also run.
import { expect, expectTypeOf, it } from 'vitest';

import { crossEntropy, data, manualSeed, nn, optim, randn, tensor, type Tensor } from '../../lib/index.js';

/** A dataset of `[image, label]` pairs, as CIFAR10, ImageFolder and MNIST hold. */
function pairs(n: number): data.Dataset<[Tensor<'float32'>, number]> {
  return { length: n, get: (i) => [randn([4]), i % 3] };
}

it("the README loop compiles without casts and trains on [image, label] items", async () => {
  manualSeed(0);
  const model = new nn.Linear(4, 3);
  const optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
  const loader = new data.DataLoader(pairs(10), { batchSize: 4, shuffle: true, seed: 0 });
  expectTypeOf(loader).toEqualTypeOf<data.DataLoader<[Tensor<'float32'>, number], [Tensor<'float32'>, Tensor<'int32' | 'float32'>]>>();
  let steps = 0;
  for await (const [x, y] of loader) {
    expectTypeOf(x).toEqualTypeOf<Tensor<'float32'>>();
    expectTypeOf(y).toEqualTypeOf<Tensor<'int32' | 'float32'>>();
    optimizer.zeroGrad();
    crossEntropy(model.call(x), y).backward();
    optimizer.step();
    steps += 1;
  }
  expect(steps).toBe(3);
});

it('TensorDataset, CIFAR, ImageFolder and ImageArrayDataset loaders give tuple batches', async () => {
  const points = randn([6, 2]);
  const labels = tensor(new Int32Array([0, 1, 2, 0, 1, 2]));
  const tensors = new data.TensorDataset([points, labels]);
  expectTypeOf(tensors.get(0)).toEqualTypeOf<[Tensor<'float32'>, Tensor<'int32'>]>();
  for await (const [x, y] of new data.DataLoader(tensors, { batchSize: 6 })) {
    expectTypeOf(y).toEqualTypeOf<Tensor<'int32'>>();
    expect([x.shape, y.shape]).toEqual([[6, 2], [6]]);
  }
  expectTypeOf<ConstructorParameters<typeof data.CIFAR10>>().toMatchTypeOf<[string, ...unknown[]]>();
  expectTypeOf<data.DataLoader<Awaited<ReturnType<data.CIFAR10['get']>>>>().toEqualTypeOf<data.DataLoader<[Tensor, number], [Tensor, Tensor<'int32' | 'float32'>]>>();
  expectTypeOf<Awaited<ReturnType<data.ImageFolder['get']>>>().toEqualTypeOf<[Tensor, number]>();

  const images = new data.ImageArrayDataset({ shape: [2, 2, 2], data: new Uint8Array(8) }, new Uint8Array([3, 4]));
  for await (const [x, y] of new data.DataLoader(images, { batchSize: 2, collate: images.collate() })) {
    expectTypeOf(x).toEqualTypeOf<Tensor<'float32'>>();
    expect([x.shape, y.dtype, y.tolist()]).toEqual([[2, 1, 2, 2], 'int32', [3, 4]]);
  }
  // A loader of tuple items still goes where a plain DataLoader is expected.
  const plain: data.DataLoader = new data.DataLoader(tensors);
  expect(plain.length).toBe(6);
});
