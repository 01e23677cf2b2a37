import { expect, it } from 'vitest';

import {
  ArgumentError, boxIou, completeBoxIouLoss, distanceBoxIouLoss, DTypeError, generalizedBoxIouLoss, memory, noGrad, ShapeError, tensor, type Reduction, type Tensor,
} from '../../lib/index.js';
import { atan } from '../../lib/ops/atan.js';
import { boxLossFixture, boxLossFixtureTests } from '../helpers/box_loss_cases.js';
import { describeDevices, expectClose } from '../helpers/devices.js';
import { gradcheck } from '../helpers/gradcheck.js';

const losses = { giou: generalizedBoxIouLoss, diou: distanceBoxIouLoss, ciou: completeBoxIouLoss };
type Opts = { reduction?: Reduction; eps?: number };

/** atan(w / h) of each box [N, 4]: the aspect term of the CIoU loss. */
const aspectAtan = (boxes: Tensor) => {
  const [x1, y1, x2, y2] = [0, 1, 2, 3].map((c) => boxes.slice(1, c, c + 1).squeeze(1)) as [Tensor, Tensor, Tensor, Tensor];
  return atan(x2.sub(x1).div(y2.sub(y1)));
};

describeDevices('box IoU losses vs torchvision.ops', (device) => {
  boxLossFixtureTests(
    device,
    boxLossFixture.boxes,
    Object.fromEntries(Object.entries(losses).map(([name, loss]) => [name, (a: Tensor, b: Tensor, opts: Opts) => loss(a, b, opts)])),
  );

  it('the default reduction is none (torchvision), not mean (torch.nn)', () => {
    const a = tensor([[0, 0, 2, 2], [1, 1, 3, 4]], { dtype: 'float32', device });
    const b = tensor([[1, 0, 3, 2], [1, 1, 3, 3]], { dtype: 'float32', device });
    for (const loss of Object.values(losses)) expect(loss(a, b).shape).toEqual([2]);
  });
});

it('the box IoU losses are differentiable (finite differences); CIoU with alpha held constant', () => {
  const a = tensor([[0.5, 1.0, 3.2, 4.1], [2.0, 0.3, 5.5, 2.9], [6.0, 5.0, 7.5, 8.0]], { dtype: 'float32' });
  const b = tensor([[1.1, 0.2, 4.0, 3.3], [2.6, 1.1, 4.8, 3.9], [0.0, 0.0, 2.5, 2.0]], { dtype: 'float32' });
  gradcheck((p, q) => generalizedBoxIouLoss(p, q), [a, b]);
  gradcheck((p, q) => distanceBoxIouLoss(p, q, { reduction: 'sum' }), [a, b]);
  // CIoU's alpha is computed under no_grad: finite differences of DIoU loss + alpha v with
  // alpha frozen at the unperturbed boxes, whose analytic gradient must be CIoU's.
  const v = (p: Tensor, q: Tensor) => aspectAtan(q).sub(aspectAtan(p)).square().mul(4 / Math.PI ** 2);
  const matrix = boxIou(a, b).dataSync();
  const iou = tensor(Float32Array.from([0, 1, 2], (i) => matrix[i * 3 + i]!)); // of each pair
  const alpha = noGrad(() => v(a, b).div(iou.neg().add(1).add(v(a, b)).add(1e-7)));
  const frozen = (p: Tensor, q: Tensor) => distanceBoxIouLoss(p, q).add(alpha.mul(v(p, q)));
  gradcheck(frozen, [a, b]);
  const [p, q, r, t] = [a, b, a, b].map((x) => x.detach().requiresGrad_()) as [Tensor, Tensor, Tensor, Tensor];
  completeBoxIouLoss(p, q, { reduction: 'sum' }).backward();
  frozen(r, t).sum().backward();
  expectClose(p.grad!.dataSync(), r.grad!.dataSync(), 1e-5);
  expectClose(q.grad!.dataSync(), t.grad!.dataSync(), 1e-5);
});

it('the box IoU losses leave no temporaries behind', () => {
  const a = tensor([[0, 0, 2, 2], [1, 1, 3, 4]], { dtype: 'float32' });
  const b = tensor([[1, 0, 3, 2], [1, 1, 3, 3]], { dtype: 'float32' });
  for (const loss of Object.values(losses)) {
    const before = memory('cpu').tensors;
    noGrad(() => loss(a, b, { reduction: 'mean' })).dispose();
    expect(memory('cpu').tensors).toBe(before);
  }
});

it('the box IoU losses refuse bad arguments, naming the loss and the argument', () => {
  const a = tensor([[0, 0, 2, 2], [1, 1, 3, 4]], { dtype: 'float32' });
  expect(() => generalizedBoxIouLoss(a, a.slice(0, 0, 1))).toThrow(/generalizedBoxIouLoss: expected boxes2 of the shape of boxes1 \[2, 4\] \(boxes are compared pairwise\), got \[1, 4\]/);
  expect(() => distanceBoxIouLoss(a.reshape(4, 2), a.reshape(4, 2))).toThrow(/distanceBoxIouLoss: expected boxes1 of shape \[N, 4\] or \[4\], got \[4, 2\]/);
  expect(() => completeBoxIouLoss(a, a.to('bool'))).toThrow(DTypeError);
  expect(() => completeBoxIouLoss(a, a, { eps: Number.NaN })).toThrow(/completeBoxIouLoss: expected eps to be a finite number, got NaN/);
  expect(() => generalizedBoxIouLoss(a, a, { reduction: 'avg' as never })).toThrow(/generalizedBoxIouLoss: expected reduction 'mean', 'sum' or 'none', got 'avg'/);
  expect(() => generalizedBoxIouLoss(a, [0, 0, 1, 1] as never)).toThrow(ArgumentError);
  expect(() => distanceBoxIouLoss(tensor(1, { dtype: 'float32' }), tensor(1, { dtype: 'float32' }))).toThrow(ShapeError);
});
