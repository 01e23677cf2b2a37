import { expect, it } from 'vitest';

import { ArgumentError, diceLoss, DTypeError, IndexError, randint, randn, ShapeError, synchronize, tensor, zeros } from '../../lib/index.js';
import { segmentationLossPair, targetAsOneHot } from '../../lib/losses/segmentation_input.js';
import { expectClose } from '../helpers/devices.js';

it('class-index targets [N, ...spatial] become float one-hot [N, C, ...spatial]; targets of the input shape pass as masks', () => {
  const input = zeros([1, 3, 2, 2]);
  const onehot = targetAsOneHot('test', input, tensor([[[0, 2], [1, 2]]]));
  expect(onehot.shape).toEqual([1, 3, 2, 2]);
  expect(onehot.dtype).toBe('float32');
  expectClose(onehot.dataSync(), [1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 1]);
  const masks = targetAsOneHot('test', input, zeros([1, 3, 2, 2], { dtype: 'uint8' }).add(1));
  expect(masks.dtype).toBe('float32');
  expectClose(masks.dataSync(), new Array<number>(12).fill(1));
});

it('the activation comes before the background is dropped', () => {
  const logits = tensor([[[[0]], [[Math.log(2)]], [[Math.log(3)]]]], { dtype: 'float32' });
  const { probs, truth } = segmentationLossPair('test', logits, tensor([[[1]]]), { softmax: true, includeBackground: false });
  expect(probs.shape).toEqual([1, 2, 1, 1]);
  expectClose(probs.dataSync(), [2 / 6, 3 / 6], 1e-6);
  expectClose(truth.dataSync(), [1, 0]);
  const sig = segmentationLossPair('test', logits, tensor([[[1]]]), { sigmoid: true });
  expectClose(sig.probs.dataSync(), [0.5, 2 / 3, 3 / 4], 1e-6);
});

it('a shape mismatch names the loss and both shapes', () => {
  const x = randn([2, 3, 4, 5]);
  expect(() => diceLoss(x, randint(0, 3, [2, 4, 4]))).toThrow(ShapeError);
  expect(() => diceLoss(x, randint(0, 3, [2, 4, 4]))).toThrow(
    'diceLoss: expected target of shape [2, 4, 5] (int32 class indices) or [2, 3, 4, 5] (one-hot) for input [2, 3, 4, 5], got [2, 4, 4]',
  );
  expect(() => diceLoss(randn([2, 3]), zeros([2]))).toThrow('diceLoss: expected input of rank >= 3 ([N, C, ...spatial] logits), got [2, 3]');
  expect(() => diceLoss(x, zeros([2, 4, 5]))).toThrow('diceLoss: expected class-index target [2, 4, 5] to have dtype int32, got float32');
  expect(() => diceLoss(x.int(), x)).toThrow(DTypeError);
  expect(() => diceLoss(x, 'masks' as never)).toThrow(/diceLoss: expected target to be a Tensor/);
});

it('sigmoid with softmax, a softmax over one channel and dropping the only channel are refused', () => {
  const x = randn([1, 2, 3, 3]);
  const t = randint(0, 2, [1, 3, 3]);
  expect(() => diceLoss(x, t, { sigmoid: true, softmax: true })).toThrow(ArgumentError);
  expect(() => diceLoss(x, t, { sigmoid: true, softmax: true })).toThrow('diceLoss: expected at most one of sigmoid and softmax, got both true');
  expect(() => diceLoss(x.slice(1, 0, 1), t, { softmax: true })).toThrow(/diceLoss: softmax over a single channel is always 1; expected input with C >= 2 channels or sigmoid, got \[1, 1, 3, 3\]/);
  expect(() => diceLoss(x.slice(1, 0, 1), t, { includeBackground: false })).toThrow(/diceLoss: includeBackground false would drop the only channel of input \[1, 1, 3, 3\]/);
});

it('a class index >= C rejects data() with an IndexError, and the stream recovers', async () => {
  // The one-hot kernel may fail before the loss's later ops are queued: then one of those throws it.
  const run = async () => diceLoss(randn([1, 3, 2, 2]), tensor([[[0, 1], [2, 3]]]), { softmax: true }).data();
  await expect(run()).rejects.toThrow(IndexError);
  await expect(synchronize()).resolves.toBeUndefined();
  await expect(diceLoss(randn([1, 3, 2, 2]), tensor([[[0, 1], [2, 2]]]), { softmax: true }).data()).resolves.toHaveLength(1);
});
