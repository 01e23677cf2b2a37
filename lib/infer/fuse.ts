/**
 * Inference rewrites of a model's convolutions, as torch.fx's `fuse_conv_bn_eval` or
 * onnxruntime's graph optimiser make them:
 * - **BatchNorm folding**: a convolution whose output feeds only an eval-mode BatchNorm
 *   computes `bn(conv(x))` as one convolution with scaled weights and a shifted bias,
 *   `W·γ/√(σ²+ε)` and `(b − μ)·γ/√(σ²+ε) + β`, saving the BatchNorm's pass;
 * - **activation fusion**: when that result (or a plain convolution's) feeds only a ReLU
 *   (or only a ReLU6, or only a SiLU), the convolution applies it as it writes its output (oneDNN post-op),
 *   and the activation's call returns its input as is;
 * - **depthwise blocks**: a convolution (folded, activated) whose result feeds only a
 *   depthwise convolution, and the 1x1 convolution that alone reads that, if any
 *   (MobileNetV2's expansion, depthwise and projection layers, or its stem, first depthwise
 *   and projection), compute all of it in one op (`convDepthwiseBlock`: on the CPU each
 *   stage's rows are computed as the next one needs them, in cache); the later layers' calls
 *   then return their input. Where one add alone reads the projection's result and the
 *   block's input (MobileNetV2's residual), the block adds that input as it writes, and the
 *   add's call returns a view of the sum.
 *
 * What qualifies is found by tracing one forward: forward hooks pair each BatchNorm call
 * with the convolution that produced its input, and every op that hands a tensor to the
 * addon or views it is recorded (differentiable or not: a comparison counts); an output
 * read by anything else (a skip connection, a second head, a mask) is left alone. The model is not rebuilt: each rewritten layer gets an
 * instance-level `forward`, which takes the fused path only in eval mode without autograd
 * (else the class's own forward), and {@link FusedModel.restore} removes them.
 * @module
 */
import type { HalfDType } from '../tensor/dtype.js';
import { needsGrad } from '../autograd/graph.js';
import { ArgumentError } from '../errors.js';
import { noGrad } from '../autograd/grad_mode.js';
import { ReLU, ReLU6 } from '../nn/layers/basic.js';
import { BatchNorm1d, BatchNorm2d, BatchNorm3d } from '../nn/layers/pooling_norm.js';
import { Conv1d, Conv2d, Conv3d } from '../nn/layers/conv.js';
import type { AnyModule, Module } from '../nn/module.js';
import { conv1d, conv2d, conv3d, convActivated, convDepthwiseBlock, type BlockConv, type ConvOptions } from '../ops/conv.js';
import { markResidualAdded } from '../ops/elementwise.js';
import { markActivated } from '../ops/unary.js';
import { sameDims } from '../tensor/layout.js';
import { keep, scope } from '../tensor/memory.js';
import { isAt, placementOf, type Placement } from '../tensor/placement.js';
import { observeReads, Tensor } from '../tensor/tensor.js';

type Conv = Conv1d | Conv2d | Conv3d;
type BatchNorm = BatchNorm1d | BatchNorm2d | BatchNorm3d;

const isConv = (m: unknown): m is Conv => m instanceof Conv1d || m instanceof Conv2d || m instanceof Conv3d;
const isBatchNorm = (m: unknown): m is BatchNorm => m instanceof BatchNorm1d || m instanceof BatchNorm2d || m instanceof BatchNorm3d;

/** What {@link fuseForInference} rewrote, by the modules' dotted names. */
export interface FusedModel {
  /** Convolution/BatchNorm pairs folded (`layer1.0.conv1` + `layer1.0.bn1`). */
  readonly folded: ReadonlyArray<readonly [conv: string, batchNorm: string]>;
  /** Convolutions that apply the activation after them (after the folded BatchNorm, if any). */
  readonly activations: ReadonlyArray<readonly [conv: string, activation: Activation]>;
  /**
   * Convolutions computed in one op with the depthwise convolution after them and the 1x1
   * projection after that, if any (`features.2.conv.0.0` + `features.2.conv.1.0` + `features.2.conv.2`).
   */
  readonly depthwiseBlocks: ReadonlyArray<readonly [first: string, depthwise: string, project: string | null]>;
  /**
   * Depthwise blocks, by their first convolution, that add their input to the projection's
   * result as they write it, where one add alone read that with the block's input
   * (MobileNetV2's `x + conv(x)`): that add's call returns a view of the sum.
   */
  readonly residuals: readonly string[];
  /** Gives the layers back their class's forward and frees the folded weights. */
  restore(): void;
}

/** Options of {@link fuseForInference}. */
export interface FuseOptions {
  /**
   * Keep the rewritten convolutions' weights in this 16-bit dtype, cast once (default: their
   * own dtype). Their inputs are cast on the way in and their outputs stay 16-bit, so runs
   * under `autocast` with the same dtype keep activations 16-bit from one convolution to the next.
   */
  dtype?: HalfDType;
}

/** The tensors in a forward's result (a tensor, or arrays/records of them). */
function tensorsIn(value: unknown, into: Tensor[] = []): Tensor[] {
  if (value instanceof Tensor) into.push(value);
  else if (value && typeof value === 'object') for (const v of Array.isArray(value) ? value : Object.values(value)) tensorsIn(v, into);
  return into;
}

/** The activations a convolution can apply as it writes its output. */
export type Activation = 'relu' | 'relu6' | 'silu';

interface Plan {
  batchNorm: BatchNorm | null;
  activation: Activation | null;
  /** The depthwise convolution that alone reads this one's result, computed with it. */
  depthwise?: Conv2d;
  /** The 1x1 convolution that alone reads the depthwise one's result, computed with them. */
  project?: Conv2d;
  /** The projection's result is read only by one add with this convolution's input, computed with them. */
  residual?: boolean;
}

/** All of `value` (a number or one per dim, default `fallback`) equals `wanted`. */
const allEqual = (value: number | readonly number[] | undefined, wanted: number, fallback: number): boolean =>
  [value ?? fallback].flat().every((v) => v === wanted);

/** Whether a 2-d convolution pads with zeros (or not at all). */
const zeroPadded = (o: Conv2d['options']): boolean => (!('paddingMode' in o) || (o.paddingMode ?? 'zeros') === 'zeros');

/** A 2-d convolution without groups, zero-padded: a depthwise block's first. */
function isPlain(conv: Conv): conv is Conv2d {
  const o = conv.options as Conv2d['options'];
  return conv instanceof Conv2d && (o.groups ?? 1) === 1 && zeroPadded(o);
}

/** A 2-d 1x1 convolution of stride 1 without padding, dilation or groups. */
function isPointwise(conv: Conv): conv is Conv2d {
  const o = conv.options as Conv2d['options'];
  return (
    isPlain(conv) && conv.weight.shape[2] === 1 && conv.weight.shape[3] === 1 && allEqual(o.stride, 1, 1) &&
    (o.padding === 'valid' || o.padding === 'same' || allEqual(o.padding as number | number[] | undefined, 0, 0)) &&
    allEqual(o.dilation, 1, 1)
  );
}

/** A 2-d depthwise convolution, one filter per channel, zero-padded. */
function isDepthwise(conv: Conv, channels: number): conv is Conv2d {
  const o = conv.options as Conv2d['options'];
  return conv instanceof Conv2d && o.groups === channels && conv.weight.shape[0] === channels && conv.weight.shape[1] === 1 && zeroPadded(o);
}

/** Traces one forward of `model` on `example` and decides, per convolution, what to fuse. */
function plan(model: Module<[Tensor], unknown>, modules: Iterable<AnyModule>, example: Tensor): Map<Conv, Plan> {
  const convOutputs = new Map<Conv, Tensor[]>();
  const convInputs = new Map<Conv, Tensor[]>();
  const activationOutputs = new Map<Tensor, Tensor>(); // a ReLU/ReLU6 module's input -> its output
  const producedBy = new Map<Tensor, Conv>();
  const bnCalls = new Map<BatchNorm, Array<[input: Tensor, output: Tensor]>>();
  // Every op that read each convolution or BatchNorm output, differentiable or not (a
  // comparison, a view, a read back), by the op names tensors are handed to the addon with.
  const readers = new Map<Tensor, string[]>();
  // The operands of each add, in order: an 'input' read, then its 'other' read.
  const addOperands: Array<[Tensor, string]> = [];
  const watch = (t: Tensor): void => void readers.set(t, []);
  const removers: Array<() => void> = [];
  for (const m of modules) {
    if (isConv(m)) {
      removers.push(
        m.registerForwardHook((conv, [input], output) => {
          producedBy.set(output, conv);
          convOutputs.set(conv, [...(convOutputs.get(conv) ?? []), output]);
          convInputs.set(conv, [...(convInputs.get(conv) ?? []), input]);
          watch(output);
        }),
      );
    } else if (m instanceof ReLU || m instanceof ReLU6) {
      removers.push(
        m.registerForwardHook((_m, [x], y) => {
          activationOutputs.set(x, y);
          watch(y);
        }),
      );
    } else if (isBatchNorm(m)) {
      removers.push(
        m.registerForwardHook((bn, [x], y) => {
          bnCalls.set(bn, [...(bnCalls.get(bn) ?? []), [x, y]]);
          watch(y);
        }),
      );
    }
  }
  const plans = new Map<Conv, Plan>();
  try {
    scope(() =>
      noGrad(() => {
        const outputs = observeReads(
          (t, op, arg) => {
            readers.get(t)?.push(op);
            if (op === 'add' && arg !== 'out') addOperands.push([t, arg]);
          },
          () => tensorsIn(model.call(example)),
        );
        for (const t of outputs) readers.get(t)?.push('output');
        // Whether every read of `t` was by op `reader`.
        const onlyBy = (t: Tensor, reader: string): boolean => {
          const list = readers.get(t)!;
          return list.length > 0 && list.every((op) => op === reader);
        };
        const bnOf = new Map<Tensor, [BatchNorm, Tensor]>();
        for (const [bn, calls] of bnCalls) for (const [x, y] of calls) bnOf.set(x, [bn, y]);
        for (const [conv, outputs] of convOutputs) {
          // Folded when every call's output goes to the same BatchNorm alone, which in turn
          // reads nothing else (called exactly as often), and uses running statistics.
          const bns = new Set(outputs.map((o) => bnOf.get(o)?.[0]));
          const bn = bns.size === 1 ? [...bns][0] : undefined;
          const folds =
            bn !== undefined &&
            bn.runningMean !== null &&
            bn.runningVar !== null &&
            bnCalls.get(bn)!.length === outputs.length &&
            bnCalls.get(bn)!.every(([x]) => producedBy.get(x) === conv) &&
            outputs.every((o) => onlyBy(o, 'batchNorm'));
          const finals = folds ? outputs.map((o) => bnOf.get(o)![1]) : outputs;
          // Each activation call reads the convolution's output (not another call's), so any
          // number of them may read it: each returns it as it is.
          const activation = (['relu', 'relu6', 'silu'] as const).find((op) => finals.every((t) => onlyBy(t, op))) ?? null;
          if (folds || activation) plans.set(conv, { batchNorm: folds ? bn! : null, activation });
        }
        // Depthwise blocks: one call each, all fused, each result (after its activation) read
        // by the next convolution's call alone.
        const readerOf = new Map<Tensor, Conv>();
        for (const [conv, inputs] of convInputs) if (inputs.length === 1) readerOf.set(inputs[0]!, conv);
        // `conv`'s one result after its folded BatchNorm and activation, if it had one call.
        const resultOf = (conv: Conv, p: Plan): Tensor | undefined => {
          const outputs = convOutputs.get(conv)!;
          if (outputs.length !== 1) return undefined;
          const final = p.batchNorm ? bnOf.get(outputs[0]!)![1] : outputs[0]!;
          return p.activation ? activationOutputs.get(final) : final;
        };
        // The planned convolution whose one call alone reads `conv`'s one result.
        const nextOf = (conv: Conv, p: Plan): Conv | undefined => {
          const result = resultOf(conv, p);
          const next = result && onlyBy(result, 'conv2d') ? readerOf.get(result) : undefined;
          return next && plans.has(next) ? next : undefined;
        };
        // Whether one add alone reads `result`, with `residual` (the same shape) as its other operand.
        const addedTo = (result: Tensor, residual: Tensor): boolean => {
          if (readers.get(result)?.length !== 1 || !onlyBy(result, 'add') || !sameDims(result.shape, residual.shape)) return false;
          const at = addOperands.findIndex(([t]) => t === result);
          const partner = addOperands[addOperands[at]![1] === 'input' ? at + 1 : at - 1];
          return partner !== undefined && partner[0] === residual && partner[1] !== addOperands[at]![1];
        };
        const claimed = new Set<Conv>(); // the later layers of blocks, which cannot start one too
        for (const [conv, p] of plans) {
          if (!isPlain(conv) || claimed.has(conv) || p.activation === 'silu') continue;
          const depthwise = nextOf(conv, p);
          const dwPlan = depthwise && plans.get(depthwise)!;
          if (!depthwise || !dwPlan || !isDepthwise(depthwise, conv.weight.shape[0]!) || dwPlan.activation === 'silu') continue;
          // The result is marked as activated (for the calls between and after): true only when
          // the depthwise layer applies the first one's activation, or the first none.
          if (p.activation && p.activation !== dwPlan.activation) continue;
          p.depthwise = depthwise;
          claimed.add(depthwise);
          const project = nextOf(depthwise, dwPlan);
          const projectPlan = project && plans.get(project)!;
          if (project && projectPlan && isPointwise(project) && projectPlan.activation !== 'silu') {
            p.project = project;
            claimed.add(project);
            const result = resultOf(project, projectPlan);
            p.residual = result !== undefined && addedTo(result, convInputs.get(conv)![0]!);
          }
        }
      }),
    );
  } finally {
    for (const remove of removers) remove();
  }
  return plans;
}

/**
 * Traces `model` on `example` (a batch shaped like the real ones) and fuses what the trace
 * shows safe: BatchNorms into the convolutions that alone feed them, ReLUs, ReLU6s and SiLUs into
 * the convolutions (or folded pairs) that alone feed them. The model is left in eval mode;
 * its outputs in eval mode without autograd agree with the unfused ones to float rounding.
 *
 * @example
 * const fused = fuseForInference(model, zeros([1, 3, 224, 224]));
 * const y = noGrad(() => model.call(x)); // folded and fused
 * fused.restore();
 */
export function fuseForInference(model: Module<[Tensor], unknown>, example: Tensor, opts: FuseOptions = {}): FusedModel {
  if (!(example instanceof Tensor)) throw new ArgumentError('fuseForInference: example must be a Tensor (a batch shaped like the real ones)');
  example._storage('fuseForInference', 'example');
  model.eval();
  const names = new Map<AnyModule, string>();
  for (const [name, m] of model.namedModules()) names.set(m, name);
  const plans = plan(model, names.keys(), example);

  // Outputs of a folded convolution, which its BatchNorm passes through as they are.
  const foldedOutputs = new WeakSet<Tensor>();
  // The weights each rewritten forward uses: folded, or the layer's own cast once, or its own.
  const weightsOf = new Map<Conv, readonly [Tensor, Tensor | null]>();
  for (const [conv, { batchNorm: bn }] of plans) {
    const weights = bn ? noGrad(() => foldedWeights(conv, bn, opts.dtype)) : opts.dtype ? noGrad(() => castWeights(conv, opts.dtype!)) : null;
    weightsOf.set(conv, weights ?? [conv.weight, conv.bias]);
  }
  // Where the results of depthwise blocks are, by their later layers (the depthwise and the
  // projection): each one's call (the next reader, as traced) returns its input, that result
  // or a view of it (the layers between may have disposed the result itself).
  const computedFor = new Map<Conv, Placement>();
  const installed: Array<{ module: AnyModule; kept: Tensor[] }> = [];
  for (const [conv, { batchNorm: bn, activation, depthwise, project, residual }] of plans) {
    const [weight, bias] = weightsOf.get(conv)!;
    const spatial = conv instanceof Conv1d ? 1 : conv instanceof Conv2d ? 2 : 3;
    const convolve = spatial === 1 ? conv1d : spatial === 2 ? conv2d : conv3d;
    const ownForward = Object.getPrototypeOf(conv).forward as (x: Tensor) => Tensor;
    // What the layers after this one pass through: its BatchNorm (folded) and its activation.
    const passedOn = (out: Tensor): Tensor => {
      if (bn) foldedOutputs.add(out);
      return activation ? markActivated(out, activation) : out;
    };
    // Own properties shadow the class's forward; the modules' registries ignore functions.
    Object.defineProperty(conv, 'forward', {
      configurable: true,
      writable: true,
      value: (x: Tensor): Tensor => {
        const computed = computedFor.get(conv);
        computedFor.delete(conv);
        if (computed !== undefined && isAt(x, computed)) return passedOn(x);
        if (conv.training || needsGrad(x, conv.weight, conv.bias)) return ownForward.call(conv, x);
        const input = opts.dtype && x.dtype === 'float32' ? x.to(opts.dtype) : x;
        let out: Tensor;
        if (depthwise && !depthwise.training && !needsGrad(depthwise.weight, depthwise.bias)) {
          const stage = (c: Conv2d): BlockConv => {
            const [weight, bias] = weightsOf.get(c)!;
            return { weight, bias, opts: c.options as ConvOptions, activation: plans.get(c)!.activation as 'relu' | 'relu6' | null };
          };
          const projects = project && !project.training && !needsGrad(project.weight, project.bias);
          // The residual x, added as the projection is written: the add after reads a view.
          const adds = projects && residual && input === x;
          out = convDepthwiseBlock(input, stage(conv as Conv2d), stage(depthwise), projects ? stage(project) : undefined, adds ? x : undefined);
          computedFor.set(depthwise, placementOf(out));
          if (projects) computedFor.set(project, placementOf(out));
          if (adds) markResidualAdded(x, out);
        } else {
          // Marked, so that the activation's own call (the only reader, as traced) costs no kernel.
          out = activation ? convActivated(spatial, input, weight, bias, conv.options, activation) : convolve(input, weight, bias, conv.options);
        }
        if (input !== x) input.dispose();
        return passedOn(out);
      },
    });
    installed.push({ module: conv, kept: bn || opts.dtype ? [weight, bias].filter((t): t is Tensor => t !== null) : [] });
    if (bn) {
      const bnForward = Object.getPrototypeOf(bn).forward as (x: Tensor) => Tensor;
      Object.defineProperty(bn, 'forward', {
        configurable: true,
        writable: true,
        value: (x: Tensor): Tensor => (foldedOutputs.has(x) ? x : bnForward.call(bn, x)),
      });
      installed.push({ module: bn, kept: [] });
    }
  }

  return {
    folded: [...plans].filter(([, p]) => p.batchNorm).map(([conv, p]) => [names.get(conv)!, names.get(p.batchNorm!)!] as const),
    activations: [...plans].filter(([, p]) => p.activation).map(([conv, p]) => [names.get(conv)!, p.activation!] as const),
    depthwiseBlocks: [...plans]
      .filter(([, p]) => p.depthwise)
      .map(([conv, p]) => [names.get(conv)!, names.get(p.depthwise!)!, p.project ? names.get(p.project)! : null] as const),
    residuals: [...plans].filter(([, p]) => p.residual).map(([conv]) => names.get(conv)!),
    restore() {
      for (const { module, kept } of installed.splice(0)) {
        delete (module as unknown as { forward?: unknown }).forward;
        for (const t of kept) t.dispose();
      }
    },
  };
}

/** The weight and bias of `conv` in `dtype`. */
function castWeights(conv: Conv, dtype: HalfDType): [Tensor, Tensor | null] {
  return [conv.weight.to(dtype), conv.bias ? conv.bias.to(dtype) : null];
}

/** The folded weight and bias of `conv` followed by `bn` (running statistics), in float32 or `dtype`. */
function foldedWeights(conv: Conv, bn: BatchNorm, dtype?: HalfDType): [Tensor, Tensor] {
  return scope(() => {
    const [weight, bias] = bn.foldInto(conv.weight, conv.bias);
    return [keep(weight.to(dtype ?? 'float32')), keep(bias.to(dtype ?? 'float32'))];
  });
}
