// The small U-Net of the training bench, defined identically in bench/train_torch.py (the
// parameter counts are printed side by side): `levels` resolutions with base, 2x base, ...
// channels; each level two 3x3 conv-BN-ReLU; max-pool down, 2x2 stride-2 transposed conv
// up, skip concatenation, 1x1 head. lib/models has no U-Net, so the bench defines its own.
import { cat, maxPool2d, nn, type Tensor } from '../lib/index.js';

const doubleConv = (inC: number, outC: number) =>
  new nn.Sequential(
    new nn.Conv2d(inC, outC, 3, { padding: 1, bias: false }),
    new nn.BatchNorm2d(outC),
    new nn.ReLU(),
    new nn.Conv2d(outC, outC, 3, { padding: 1, bias: false }),
    new nn.BatchNorm2d(outC),
    new nn.ReLU(),
  );

/** U-Net for segmentation benchmarks: `[N, inChannels, H, W]` -> `[N, numClasses, H, W]` (H, W divisible by 2^(levels-1)). */
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
