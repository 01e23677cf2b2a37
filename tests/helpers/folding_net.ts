// A small CNN with BatchNorms to fold (and one that must not be), for the inference tests.
import { manualSeed, nn, randn, relu, type Tensor } from '../../lib/index.js';

/** conv→bn→relu twice, plus a conv whose output feeds a BatchNorm and a skip add (not foldable). */
export class Net extends nn.Module {
  conv1 = new nn.Conv2d(3, 8, 3, { padding: 1 });
  bn1 = new nn.BatchNorm2d(8);
  conv2 = new nn.Conv2d(8, 8, 3, { padding: 1, bias: false });
  bn2 = new nn.BatchNorm2d(8);
  conv3 = new nn.Conv2d(8, 8, 1);
  bn3 = new nn.BatchNorm2d(8);
  head = new nn.Linear(8, 5);
  forward(x: Tensor): Tensor {
    const a = relu(this.bn1.call(this.conv1.call(x)));
    const b = relu(this.bn2.call(this.conv2.call(a)));
    const c = this.conv3.call(b);
    const d = this.bn3.call(c).add(c); // conv3's output is read twice: not folded
    return this.head.call(d.mean([2, 3]));
  }
}

/** A Net with BatchNorm statistics and affine parameters far from their initial values. */
export function trainedNet(): Net {
  manualSeed(3);
  const net = new Net();
  for (const bn of [net.bn1, net.bn2, net.bn3]) {
    bn.runningMean = randn([8]).mul(0.5);
    bn.runningVar = randn([8]).abs().add(0.5);
    nn.init.normal_(bn.weight!, 1, 0.3);
    nn.init.normal_(bn.bias!, 0, 0.3);
  }
  return net.eval();
}

export function maxRelDiff(a: Tensor, b: Tensor): number {
  const [x, y] = [a.dataSync() as Float32Array, b.dataSync() as Float32Array];
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < x.length; ++i) {
    diff = Math.max(diff, Math.abs(x[i]! - y[i]!));
    scale = Math.max(scale, Math.abs(y[i]!));
  }
  return diff / scale;
}
