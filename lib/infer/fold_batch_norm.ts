/**
 * BatchNorm folding for inference: a convolution whose output feeds only an eval-mode
 * BatchNorm computes `bn(conv(x))` as one convolution with scaled weights and a shifted
 * bias, `W·γ/√(σ²+ε)` and `(b − μ)·γ/√(σ²+ε) + β`, saving the BatchNorm's pass over the
 * activation (as torch.fx's `fuse_conv_bn_eval`, or onnxruntime's graph optimiser).
 *
 * Which convolutions qualify is found by tracing one forward: forward hooks pair each
 * BatchNorm call with the convolution that produced its input, and the autograd graph of
 * that forward counts every use of that tensor; a convolution output used anywhere else
 * (a skip connection, a second head) is not folded. The model is not rebuilt: each folded
 * layer gets an instance-level `forward` that takes the folded path in eval mode and the
 * class's own forward in training mode, and {@link FoldedBatchNorms.restore} removes them.
 * @module
 */
import { enableGrad, noGrad } from '../autograd/grad_mode.js';
import type { GradNode } from '../autograd/graph.js';
import { BatchNorm1d, BatchNorm2d, BatchNorm3d } from '../nn/layers/pooling_norm.js';
import { Conv1d, Conv2d, Conv3d } from '../nn/layers/conv.js';
import type { AnyModule, Module } from '../nn/module.js';
import { conv1d, conv2d, conv3d } from '../ops/conv.js';
import { keep, scope } from '../tensor/memory.js';
import type { Tensor } from '../tensor/tensor.js';

type Conv = Conv1d | Conv2d | Conv3d;
type BatchNorm = BatchNorm1d | BatchNorm2d | BatchNorm3d;

const isConv = (m: unknown): m is Conv => m instanceof Conv1d || m instanceof Conv2d || m instanceof Conv3d;
const isBatchNorm = (m: unknown): m is BatchNorm => m instanceof BatchNorm1d || m instanceof BatchNorm2d || m instanceof BatchNorm3d;

/** The convolution/BatchNorm pairs a traced forward found safe to fold. */
export interface FoldedBatchNorms {
  /** Pairs folded, by the modules' dotted names (`layer1.0.conv1` + `layer1.0.bn1`). */
  readonly pairs: ReadonlyArray<readonly [conv: string, batchNorm: string]>;
  /** Gives the layers back their class's forward and frees the folded weights. */
  restore(): void;
}

/** Every tensor the graph under `outputs` feeds into an op, with how many ops read it. */
function countUses(outputs: readonly Tensor[]): Map<Tensor, number> {
  const uses = new Map<Tensor, number>();
  const seen = new Set<GradNode>();
  const stack: GradNode[] = [];
  const visit = (t: Tensor): void => {
    const node = t.gradFn;
    if (node && !seen.has(node)) {
      seen.add(node);
      stack.push(node);
    }
  };
  // An output also counts as used: a convolution whose result is returned is not folded.
  for (const t of outputs) {
    uses.set(t, (uses.get(t) ?? 0) + 1);
    visit(t);
  }
  for (let node = stack.pop(); node; node = stack.pop()) {
    for (const input of node.inputs) {
      if (!input) continue;
      uses.set(input, (uses.get(input) ?? 0) + 1);
      visit(input);
    }
  }
  return uses;
}

/** The tensors in a forward's result (a tensor, or arrays/records of them). */
function tensorsIn(value: unknown, into: Tensor[] = []): Tensor[] {
  if (value && typeof value === 'object') {
    if ('gradFn' in value && 'shape' in value) into.push(value as Tensor);
    else for (const v of Array.isArray(value) ? value : Object.values(value)) tensorsIn(v, into);
  }
  return into;
}

/**
 * Traces `model` on `example` and folds each eval-mode BatchNorm into the convolution
 * that alone feeds it. The model is left in eval mode; call `restore()` to undo.
 */
export function foldBatchNorms(model: Module<[Tensor], unknown>, example: Tensor): FoldedBatchNorms {
  model.eval();
  const names = new Map<AnyModule, string>();
  for (const [name, m] of model.namedModules()) names.set(m, name);

  // Which conv call produced each tensor, and which tensor each BatchNorm call read.
  const producedBy = new Map<Tensor, Conv>();
  const bnCalls = new Map<BatchNorm, Tensor[]>();
  const convCalls = new Map<Conv, number>();
  const removers: Array<() => void> = [];
  for (const m of names.keys()) {
    if (isConv(m)) {
      removers.push(
        m.registerForwardHook((conv, _inputs, output) => {
          producedBy.set(output, conv);
          convCalls.set(conv, (convCalls.get(conv) ?? 0) + 1);
        }),
      );
    } else if (isBatchNorm(m)) {
      removers.push(m.registerForwardHook((bn, [x]) => bnCalls.set(bn, [...(bnCalls.get(bn) ?? []), x])));
    }
  }
  const pairs = new Map<Conv, BatchNorm>();
  try {
    scope(() =>
      enableGrad(() => {
        // A leaf that needs a gradient makes every op of the forward record its inputs.
        const input = example.detach().requiresGrad_();
        const uses = countUses(tensorsIn(model.call(input)));
        const rejected = new Set<Conv>();
        for (const [bn, inputs] of bnCalls) {
          if (bn.runningMean === null || bn.runningVar === null) continue; // batch statistics even in eval
          const convs = new Set(inputs.map((x) => producedBy.get(x)));
          const conv = [...convs][0];
          // One producer for every call, each of whose outputs only this BatchNorm reads, and
          // a convolution called exactly as often as the BatchNorm (no other use of it).
          if (convs.size !== 1 || !conv || rejected.has(conv) || convCalls.get(conv) !== inputs.length) continue;
          if (inputs.some((x) => uses.get(x) !== 1) || pairs.has(conv)) {
            rejected.add(conv);
            pairs.delete(conv);
            continue;
          }
          pairs.set(conv, bn);
        }
      }),
    );
  } finally {
    for (const remove of removers) remove();
  }

  const installed: Array<{ module: AnyModule; kept: Tensor[] }> = [];
  for (const [conv, bn] of pairs) {
    const [weight, bias] = noGrad(() => foldedWeights(conv, bn));
    const convolve = conv instanceof Conv1d ? conv1d : conv instanceof Conv2d ? conv2d : conv3d;
    const convForward = Object.getPrototypeOf(conv).forward as (x: Tensor) => Tensor;
    const bnForward = Object.getPrototypeOf(bn).forward as (x: Tensor) => Tensor;
    // Own properties shadow the class's forward; the modules' registries ignore functions.
    Object.defineProperty(conv, 'forward', {
      configurable: true,
      writable: true,
      value: (x: Tensor) => (conv.training ? convForward.call(conv, x) : convolve(x, weight, bias, conv.options)),
    });
    Object.defineProperty(bn, 'forward', {
      configurable: true,
      writable: true,
      value: (x: Tensor) => (bn.training ? bnForward.call(bn, x) : x),
    });
    installed.push({ module: conv, kept: [weight, bias] }, { module: bn, kept: [] });
  }

  return {
    pairs: [...pairs].map(([conv, bn]) => [names.get(conv)!, names.get(bn)!] as const),
    restore() {
      for (const { module, kept } of installed.splice(0)) {
        delete (module as unknown as { forward?: unknown }).forward;
        for (const t of kept) t.dispose();
      }
    },
  };
}

/** The folded weight and bias of `conv` followed by `bn` (running statistics). */
function foldedWeights(conv: Conv, bn: BatchNorm): [Tensor<'float32'>, Tensor<'float32'>] {
  return scope(() => {
    const eps = bn.options.eps ?? 1e-5;
    const scale = bn.runningVar!.add(eps).sqrt().reciprocal();
    const gamma = bn.weight ? scale.mul(bn.weight) : scale;
    const perChannel = conv.weight.shape.map((n, d) => (d === 0 ? n : 1));
    const weight = conv.weight.mul(gamma.reshape(perChannel)) as Tensor<'float32'>;
    const shifted = (conv.bias ? conv.bias.sub(bn.runningMean!) : bn.runningMean!.neg()).mul(gamma);
    const bias = (bn.bias ? shifted.add(bn.bias) : shifted) as Tensor<'float32'>;
    return [keep(weight.contiguous()), keep(bias.contiguous())];
  });
}
