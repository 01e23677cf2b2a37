/**
 * `model.summary(inputShape)`: runs one forward on zeros and tabulates each leaf layer's
 * output shape, parameter count and multiply-add FLOPs (x2), like torchsummary / Keras.
 * @module
 */
import { noGrad } from '../autograd/grad_mode.js';
import { zeros } from '../tensor/creation.js';
import { scope } from '../tensor/memory.js';
import { Tensor } from '../tensor/tensor.js';
import { Linear } from './layers/basic.js';
import { Conv1d, Conv2d, Conv3d, ConvTranspose2d } from './layers/conv.js';
import { Module, type AnyModule } from './module.js';

/** One row of the summary. */
export interface LayerSummary {
  /** State-dict prefix of the layer (`layer1.0.conv1`). */
  name: string;
  /** Its class name (`Conv2d`). */
  type: string;
  /** Shape of its output; empty when the output is not one tensor. */
  outputShape: number[];
  /** Parameter elements of the layer itself. */
  parameters: number;
  /** Floating-point operations of its forward (2 per multiply-add; 0 for layers not counted). */
  flops: number;
}

function flopsOf(module: AnyModule, inputs: unknown[], output: Tensor): number {
  if (module instanceof Conv1d || module instanceof Conv2d || module instanceof Conv3d) {
    const perOutput = module.weight.numel / module.weight.shape[0]!; // in/groups * prod(kernel)
    return 2 * output.numel * perOutput;
  }
  if (module instanceof ConvTranspose2d) {
    const input = inputs[0] as Tensor;
    return 2 * input.numel * (module.weight.numel / module.weight.shape[0]!);
  }
  if (module instanceof Linear) return 2 * (output.numel / module.outFeatures) * module.inFeatures * module.outFeatures;
  return 0;
}

/** Rows for every leaf module, in call order. Batch 1 unless `inputShape` says otherwise. */
export function summarize(model: Module, inputShape: readonly number[]): LayerSummary[] {
  const rows: LayerSummary[] = [];
  const removers: Array<() => void> = [];
  for (const [name, module] of model.namedModules()) {
    if ([...module.children()].length > 0) continue;
    removers.push(
      module.registerForwardHook((m, inputs, output) => {
        let own = 0;
        for (const [pname, p] of m.namedParameters()) if (!pname.includes('.')) own += p.numel;
        // A leaf returning something other than one tensor (a tuple, a record) shows no shape or FLOPs.
        const tensor = output instanceof Tensor ? output : null;
        rows.push({ name, type: m.constructor.name, outputShape: tensor ? [...tensor.shape] : [], parameters: own, flops: tensor ? flopsOf(m, inputs, tensor) : 0 });
      }),
    );
  }
  const wasTraining = model.training;
  model.eval(); // batch statistics of one sample would fail; eval changes no state
  try {
    scope(() => noGrad(() => model.call(zeros(inputShape))));
  } finally {
    removers.forEach((remove) => remove());
    model.train(wasTraining);
  }
  return rows;
}

/** The summary as a printable table with totals. */
export function formatSummary(model: Module, inputShape: readonly number[]): string {
  const rows = summarize(model, inputShape);
  const header = ['layer', 'type', 'output shape', 'params', 'FLOPs'];
  const body = rows.map((r) => [r.name, r.type, `[${r.outputShape.join(', ')}]`, r.parameters.toLocaleString('en'), r.flops.toLocaleString('en')]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i >= 3 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  const totalFlops = rows.reduce((s, r) => s + r.flops, 0);
  return [
    line(header),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...body.map(line),
    '',
    `total parameters: ${model.parameterCount().toLocaleString('en')} (trainable ${model.parameterCount({ trainableOnly: true }).toLocaleString('en')})`,
    `total FLOPs per forward: ${totalFlops.toLocaleString('en')}`,
  ].join('\n');
}

declare module './module.js' {
  interface Module {
    /** A table of each layer's output shape, parameter count and FLOPs for an input of `inputShape`. */
    summary(inputShape: readonly number[]): string;
  }
}

Module.prototype.summary = function summary(this: Module, inputShape: readonly number[]): string {
  return formatSummary(this, inputShape);
};
