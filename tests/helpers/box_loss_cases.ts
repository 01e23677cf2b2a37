// The torchvision loss fixture (tests/fixtures/box_losses.json, make_box_loss_fixtures.py): its
// cases and the runner shared by tests/losses/{box_iou_losses,focal}.test.ts.
import { expect, it } from 'vitest';

import { tensor, type Device, type Tensor } from '../../lib/index.js';
import { expectClose } from './devices.js';
import { readFixture } from './fixture_cases.js';

/** JSON has no NaN: the fixture writes the string 'NaN'. */
type Values = Array<number | 'NaN'>;

/** One box_losses.json case: `fn` on both inputs with `opts` gives `output` (and `grads` for `gradOutput`). */
export interface BoxLossCase {
  name: string;
  fn: string;
  opts: Record<string, number | string>;
  inputs: Array<{ shape: number[]; dtype: 'float32' | 'int32'; values: Values }>;
  output: { shape: number[]; values: Values };
  gradOutput?: Values;
  grads?: Values[];
}

export const boxLossFixture = readFixture<{ boxes: BoxLossCase[]; focal: BoxLossCase[] }>('box_losses.json');

const numbers = (values: Values) => Float32Array.from(values, Number);

/** Declares one test per case on `device`: output shape and values, and both inputs' gradients where the case has them. */
export function boxLossFixtureTests(device: Device, cases: readonly BoxLossCase[], calls: Record<string, (a: Tensor, b: Tensor, opts: BoxLossCase['opts']) => Tensor>): void {
  for (const c of cases) {
    it(`${c.name} ${c.inputs.map((x) => `[${x.shape}]`).join(' ')} ${JSON.stringify(c.opts)}`, () => {
      const [a, b] = c.inputs.map((x) => {
        const t = x.dtype === 'int32' ? tensor(Int32Array.from(x.values, Number), { device }) : tensor(numbers(x.values), { device });
        const shaped = t.reshape(x.shape);
        return c.grads ? shaped.requiresGrad_() : shaped;
      }) as [Tensor, Tensor];
      const out = calls[c.fn]!(a, b, c.opts);
      expect(out.dtype).toBe('float32');
      expect(out.shape).toEqual(c.output.shape);
      expectClose(out.cpu().dataSync(), numbers(c.output.values), 2e-5);
      if (!c.grads) return;
      out.backward(tensor(numbers(c.gradOutput!), { device }).reshape(c.output.shape));
      expectClose(a.grad!.cpu().dataSync(), numbers(c.grads[0]!), 1e-4);
      expectClose(b.grad!.cpu().dataSync(), numbers(c.grads[1]!), 1e-4);
    });
  }
}
