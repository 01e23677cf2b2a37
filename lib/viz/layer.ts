/**
 * Layers of a model named as in its state dict (`layer4.1`, `features.3`), and their
 * outputs captured by a forward hook that is always removed again.
 * @module
 */
import { ArgumentError, KeyError, ShapeError } from '../errors.js';
import { Module, type AnyModule } from '../nn/module.js';
import { keep } from '../tensor/memory.js';
import { describe } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';

/** A layer of a model: its dotted path, as `namedModules()` names it (`'layer4.1'`, `'0'`), or the module itself. */
export type LayerRef = string | AnyModule;

/** The module `layer` names inside `model`. */
export function resolveLayer(op: string, model: AnyModule, layer: LayerRef): AnyModule {
  if (layer instanceof Module) {
    for (const module of model.modules()) if (module === layer) return layer;
    throw new KeyError(`${op}: the layer module (${layer.constructor.name}) is not part of the model`);
  }
  if (typeof layer !== 'string') throw new ArgumentError(`${op}: expected layer to be a module path such as 'layer4.1' or a Module, got ${describe(layer)}`);
  const names: string[] = [];
  for (const [name, module] of model.namedModules()) {
    if (name === layer) return module;
    if (name !== '') names.push(name);
  }
  const few = names.length <= 8 ? names.join(', ') : `${names.slice(0, 8).join(', ')} and ${names.length - 8} more`;
  throw new KeyError(`${op}: the model has no layer '${layer}' (its layers: ${few || 'none'})`);
}

/** What {@link captureOutput} saw. */
export interface Captured<T> {
  /** What `run` returned. */
  result: T;
  /** The layer's output tensor as forward returned it: its place in the autograd graph (it may be disposed by now). */
  output: Tensor;
  /** What `derive` made of the output when the layer ran (default: a live handle on its values), valid inside `use`. */
  values: Tensor<'float32'>;
}

/**
 * Runs `run` with a forward hook on `layer` that captures its output (the last one, if the
 * layer runs more than once), removes the hook (also when `run` throws), and hands what it
 * saw to `use`. `derive` runs inside the hook, while the output is still alive, so what it
 * computes stays in the autograd graph.
 */
export function captureOutput<T, R>(op: string, layer: AnyModule, run: () => T, use: (captured: Captured<T>) => R, derive = (out: Tensor): Tensor => out.detach()): R {
  let output: Tensor | undefined;
  let values: Tensor | undefined;
  const remove = layer.registerForwardHook((_module, _inputs, out) => {
    if (!(out instanceof Tensor)) throw new ArgumentError(`${op}: expected the layer (${layer.constructor.name}) to return a Tensor, got ${describe(out)}`);
    values?.dispose();
    output = out;
    // Kept from every scope: containers dispose their intermediate outputs once the next
    // layer has run, and a model's forward may run in a scope of its own.
    values = keep(derive(out));
  });
  try {
    const result = run();
    if (output === undefined || values === undefined) throw new ShapeError(`${op}: the layer (${layer.constructor.name}) did not run in the model's forward`);
    return use({ result, output, values: values as Tensor<'float32'> });
  } finally {
    remove();
    values?.dispose();
  }
}
