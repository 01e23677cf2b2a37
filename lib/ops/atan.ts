/**
 * The arctangent, composed from differentiable ops: the complete-IoU ops and losses need it
 * (torchvision's aspect-ratio term `atan(w / h)`), and the native unary table has no
 * trigonometry. Internal: not in lib/ops/index.ts.
 * @module
 */
import { scope } from '../tensor/memory.js';
import type { Tensor } from '../tensor/tensor.js';
import { where } from './compare.js';

/**
 * `atan(x)` elementwise, float32, to about 1 ulp, with the derivative `1 / (1 + x^2)` (it
 * is the derivative of the composition, which equals that to float32 rounding); `±Infinity`
 * gives `±pi / 2`.
 *
 * Range reduction, then a short series: `atan(|x|) = pi / 2 - atan(1 / |x|)` above 1, then
 * two half-angle steps `atan(t) = 2 atan(t / (1 + sqrt(1 + t^2)))` bring the argument
 * below tan(pi / 16) ~ 0.199, where the Taylor series to t^11 is exact in float32.
 */
export function atan(x: Tensor): Tensor<'float32'> {
  // scope frees the ~30 temporaries now rather than at garbage collection.
  return scope(() => {
    const negative = x.lt(0);
    // |x| by selection, not abs(): abs has gradient 0 at 0, atan's derivative there is 1.
    const magnitude = where(negative, x.neg(), x);
    const large = magnitude.gt(1);
    // The reciprocal sees 1 where it is not taken, so its gradient stays finite there.
    const t = where(large, where(large, magnitude, 1).reciprocal(), magnitude);
    let s = t;
    for (let step = 0; step < 2; ++step) s = s.div(s.square().add(1).sqrt().add(1));
    const s2 = s.square();
    let series = s2.mul(-1 / 11).add(1 / 9);
    for (const c of [-1 / 7, 1 / 5, -1 / 3, 1]) series = series.mul(s2).add(c);
    const reduced = series.mul(s).mul(4);
    const folded = where(large, reduced.neg().add(Math.PI / 2), reduced);
    return where(negative, folded.neg(), folded) as Tensor<'float32'>;
  });
}
