// The training bench's models that lib/models does not have as such, defined identically in
// bench/train_torch.py (same parameter names and shapes: tests/bench/models.test.ts checks
// them against that file's PyTorch modules; the bench prints the counts side by side).
import { cat, maxPool2d, models, nn, type Tensor } from '../lib/index.js';
import type { TrainCase } from './cases.js';

/** A model the training bench can call on a batch. */
export type BenchModel = nn.Module & { call(x: Tensor): Tensor };

/** torchvision's resnet18 with the usual CIFAR stem: 3x3 stride-1 conv1 and no max-pool. */
export function resnet18Cifar(numClasses = 10): BenchModel {
  const net = models.resnet18({ numClasses });
  net.conv1.weight.dispose();
  net.conv1 = new nn.Conv2d(3, 64, 3, { padding: 1, bias: false });
  Object.assign(net, { maxpool: new nn.Identity() });
  return net as BenchModel;
}

const doubleConv = (inC: number, outC: number) =>
  new nn.Sequential(
    new nn.Conv2d(inC, outC, 3, { padding: 1, bias: false }),
    new nn.BatchNorm2d(outC),
    new nn.ReLU(),
    new nn.Conv2d(outC, outC, 3, { padding: 1, bias: false }),
    new nn.BatchNorm2d(outC),
    new nn.ReLU(),
  );

/**
 * The bench's small U-Net: `levels` resolutions with base, 2x base, ... channels; each
 * level two 3x3 conv-BN-ReLU; max-pool down, 2x2 stride-2 transposed conv up, skip
 * concatenation, 1x1 head: `[N, inChannels, H, W]` -> `[N, numClasses, H, W]` (H, W divisible by 2^(levels-1)). */
export class UNet extends nn.Module {
  down: nn.ModuleList;
  up: nn.ModuleList;
  decode: nn.ModuleList;
  head: nn.Conv2d;

  constructor(inChannels = 1, numClasses = 2, base = 16, levels = 4) {
    super();
    const widths = Array.from({ length: levels }, (_, i) => base * 2 ** i);
    this.down = new nn.ModuleList(widths.map((w, i) => doubleConv(i === 0 ? inChannels : widths[i - 1]!, w)));
    const upWidths = widths.slice(0, -1).reverse();
    this.up = new nn.ModuleList(upWidths.map((w) => new nn.ConvTranspose2d(w * 2, w, 2, { stride: 2 })));
    this.decode = new nn.ModuleList(upWidths.map((w) => doubleConv(w * 2, w)));
    this.head = new nn.Conv2d(base, numClasses, 1);
  }

  forward(x: Tensor): Tensor {
    const skips: Tensor[] = [];
    for (const [i, block] of [...this.down].entries()) {
      x = (block as nn.Sequential).call(i === 0 ? x : maxPool2d(x, 2));
      skips.push(x);
    }
    skips.pop();
    const ups = [...this.up] as nn.ConvTranspose2d[];
    for (const [i, block] of [...this.decode].entries()) {
      x = (block as nn.Sequential).call(cat([skips.pop()!, ups[i]!.call(x)], 1));
    }
    return this.head.call(x);
  }
}

/** The model of a training case (the same names build them in bench/train_torch.py). */
export function benchModel(name: TrainCase['model']): BenchModel {
  if (name === 'lenet5') return models.lenet5() as BenchModel;
  if (name === 'simpleCnn') return models.simpleCnn({ inChannels: 3 }) as BenchModel;
  if (name === 'resnet18Cifar') return resnet18Cifar();
  return new UNet() as BenchModel;
}
