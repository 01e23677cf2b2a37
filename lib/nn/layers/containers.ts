/**
 * Containers, as torch.nn: Sequential (positional or named entries), ModuleList, ModuleDict.
 * Sequential chains one-tensor modules; ModuleList and ModuleDict hold modules of any
 * signature and are typed by what they hold (`ModuleList<Conv2d>` yields Conv2d).
 * @module
 */
import { ArgumentError } from '../../errors.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Module, type AnyModule } from '../module.js';
import { runFusedConv } from './fused_conv.js';
import { runFusedNormRelu } from './fused_norm_relu.js';

/** Runs its children in order, each on the previous one's output; names are '0', '1', ... or the keys given. */
export class Sequential extends Module {
  constructor(...layers: Module[] | [Record<string, Module>]) {
    super();
    const first = layers[0];
    const named = layers.length === 1 && first !== undefined && !(first instanceof Module) ? Object.entries(first) : (layers as Module[]).map((m, i) => [String(i), m] as const);
    for (const [name, module] of named) {
      if (!(module instanceof Module)) throw new ArgumentError(`Sequential: entry ${name} is not a Module`);
      this.registerModule(name, module);
    }
  }

  /**
   * Each layer on the previous one's output. In eval mode without autograd, a Conv2d followed
   * by its BatchNorm2d (and a ReLU, ReLU6 or SiLU) runs as one convolution, the BatchNorm
   * folded in (./fused_conv.ts): the same results to float32 rounding, two passes over the
   * activations fewer. In training, a BatchNorm followed by a ReLU runs as one op
   * (./fused_norm_relu.ts), the ReLU applied as the normalized values are written and its
   * gradient taken in the normalization's backward. Hooks on any of those layers make them
   * run one by one.
   */
  forward(x: Tensor): Tensor {
    const layers = this.layers();
    let out = x;
    for (let i = 0; i < layers.length; ) {
      const fused = this.training ? runFusedNormRelu(layers, i, out) : runFusedConv(layers, i, out);
      const next = fused ? fused.output : layers[i]!.call(out);
      i += fused ? fused.layers : 1;
      // Intermediate activations are only needed by the graph (which holds its own references).
      if (out !== x && next !== out) out.dispose();
      out = next;
    }
    return out === x ? x.reshape(x.shape) : out;
  }

  /** The i-th layer (negative counts from the end). */
  at(index: number): Module {
    const layers = this.layers();
    const layer = layers[index < 0 ? layers.length + index : index];
    if (!layer) throw new ArgumentError(`Sequential: no layer at index ${index}`);
    return layer;
  }

  /** Number of layers. */
  get length(): number {
    return this.layers().length;
  }

  /** The children, which the constructor and registerModule callers made one-tensor modules. */
  protected layers(): Module[] {
    return [...this.children()] as Module[];
  }
}

/**
 * A list of modules registered as children '0', '1', ..., as torch.nn.ModuleList. It has no
 * forward of its own: iterate over it. `M` is the element type (default one-tensor modules).
 */
export class ModuleList<M extends AnyModule = Module> extends Module<never, never> {
  constructor(modules: readonly M[] = []) {
    super();
    modules.forEach((m) => this.push(m));
  }

  /** Appends `module` under the next index. */
  push(module: M): void {
    this.registerModule(String([...this.children()].length), module);
  }

  /** The i-th module (negative counts from the end). */
  at(index: number): M {
    const list = [...this];
    const module = list[index < 0 ? list.length + index : index];
    if (!module) throw new ArgumentError(`ModuleList: no module at index ${index}`);
    return module;
  }

  /** Number of modules. */
  get length(): number {
    return [...this.children()].length;
  }

  /** The modules in index order. */
  *[Symbol.iterator](): Iterator<M> {
    // Only push() and the constructor register children, so every child is an M.
    for (const child of this.children()) yield child as M;
  }

  /** Throws: a ModuleList is iterated, not called. */
  forward(): never {
    throw new ArgumentError('ModuleList has no forward: iterate over its modules');
  }
}

/**
 * Modules by name, as torch.nn.ModuleDict. It has no forward of its own: pick a module by
 * name. `M` is the value type (default one-tensor modules).
 */
export class ModuleDict<M extends AnyModule = Module> extends Module<never, never> {
  constructor(modules: Readonly<Record<string, M>> = {}) {
    super();
    for (const [name, m] of Object.entries(modules)) this.registerModule(name, m);
  }

  /** The module named `name`, or undefined. */
  get(name: string): M | undefined {
    // Only set() and the constructor register children, so every child is an M.
    return new Map(this.namedChildren()).get(name) as M | undefined;
  }

  /** Adds or replaces the module named `name`. */
  set(name: string, module: M): void {
    this.registerModule(name, module);
  }

  /** The names, in insertion order. */
  keys(): string[] {
    return [...this.namedChildren()].map(([name]) => name);
  }

  /** Throws: a ModuleDict is indexed by name, not called. */
  forward(): never {
    throw new ArgumentError('ModuleDict has no forward: pick a module by name');
  }
}
