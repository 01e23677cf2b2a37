// Small hand-built models whose explanations are known exactly, for tests/viz, and a
// snapshot of everything an explanation must leave as it found it.
import { manualSeed, nn, ones, scope, tensor, zeros, type Tensor } from '../../lib/index.js';

/** Flatten then Linear: the gradient of class k is row k of `weight` ([K, C*H*W]). */
export function linearModel(weight: Tensor): nn.Sequential {
  const [classes, features] = weight.shape as [number, number];
  const model = new nn.Sequential(new nn.Flatten(), new nn.Linear(features, classes));
  model.loadStateDict({ '1.weight': weight, '1.bias': zeros([classes]) });
  return model;
}

/** A small nonlinear CNN for [1, 1, 6, 6] inputs and 3 classes, seeded. */
export function tinyCnn(seed = 0): nn.Sequential {
  manualSeed(seed);
  return new nn.Sequential(new nn.Conv2d(1, 4, 3, { padding: 1 }), new nn.Tanh(), new nn.Flatten(), new nn.Linear(4 * 6 * 6, 3));
}

/** Channel q of the output is the input seen through quadrant q's window (top-left, top-right, bottom-left, bottom-right). */
class Quadrants extends nn.Module {
  declare mask: Tensor;
  constructor(size: number) {
    super();
    const half = size / 2;
    const values = new Float32Array(4 * size * size);
    for (let q = 0; q < 4; ++q) {
      for (let y = 0; y < size; ++y) for (let x = 0; x < size; ++x) values[q * size * size + y * size + x] = Number((y < half ? 0 : 2) + (x < half ? 0 : 1) === q);
    }
    this.registerBuffer('mask', tensor(values, { shape: [1, 4, size, size] }));
  }
  forward(x: Tensor): Tensor {
    return x.mul(this.mask);
  }
}

/**
 * `features` (a 1x1 conv of weight 1, the quadrant windows, ReLU) then class q = the sum of
 * feature channel q: each class's score depends on one quadrant of the image only.
 */
export class QuadrantNet extends nn.Module {
  features: nn.Sequential;
  constructor(readonly size = 8) {
    super();
    this.features = new nn.Sequential(new nn.Conv2d(1, 1, 1), new Quadrants(size), new nn.ReLU());
    this.features.loadStateDict({ '0.weight': ones([1, 1, 1, 1]), '0.bias': zeros([1]), '1.mask': this.features.getBuffer('1.mask')! });
  }
  forward(x: Tensor): Tensor {
    return scope(() => this.features.call(x).sum([2, 3]));
  }
}

/** What an explanation must not change: modes, requiresGrad, .grad, parameter values. */
export function snapshot(model: nn.AnyModule): unknown {
  return {
    modes: [...model.modules()].map((m) => m.training),
    requiresGrad: [...model.parameters()].map((p) => p.requiresGrad),
    grads: [...model.parameters()].map((p) => p.grad),
    values: [...model.parameters()].map((p) => p.tolist()),
  };
}

/** Counts the forward hooks registered on `module` and not yet removed, from now on. */
export function liveHooks(module: nn.AnyModule): () => number {
  let live = 0;
  const register = module.registerForwardHook.bind(module);
  module.registerForwardHook = (fn) => {
    live += 1;
    const remove = register(fn);
    return () => {
      live -= 1;
      remove();
    };
  };
  return () => live;
}

/** The mean of each quadrant of a [H, W] map: top-left, top-right, bottom-left, bottom-right. */
export function quadrantMeans(map: Tensor): number[] {
  const [h, w] = map.shape as [number, number];
  const rows = [map.slice(0, 0, h / 2), map.slice(0, h / 2)];
  return rows.flatMap((r) => [r.slice(1, 0, w / 2).mean().item(), r.slice(1, w / 2).mean().item()]);
}
