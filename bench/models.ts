// The training bench's models (some that lib/models does not have as such), defined identically in
// bench/train_torch.py (same parameter names and shapes: tests/bench/models.test.ts checks
// them against that file's PyTorch modules; the bench prints the counts side by side).
import { models, nn, type Tensor } from '../lib/index.js';
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

/** The model of a training case (the same names build them in bench/train_torch.py). */
export function benchModel(name: TrainCase['model']): BenchModel {
  if (name === 'lenet5') return models.lenet5() as BenchModel;
  if (name === 'simpleCnn') return models.simpleCnn({ inChannels: 3 }) as BenchModel;
  if (name === 'resnet18Cifar') return resnet18Cifar();
  // torchvision's, as lib/models builds them (bench/zoo_torch.py writes them out for PyTorch).
  if (name === 'resnet50') return models.resnet50({ numClasses: 1000 }) as BenchModel;
  if (name === 'efficientnetB0') return models.efficientnetB0({ numClasses: 1000 }) as BenchModel;
  // bench/train_torch.py's UNet is this one, with the same module names.
  return models.segmentation.unet({ inChannels: 1, numClasses: 2, depth: 3, baseChannels: 16 });
}
