/**
 * Containers, as torch.nn: Sequential (positional or named entries), ModuleList, ModuleDict.
 * @module
 */
import { ArgumentError } from '../../errors.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Module } from '../module.js';

/** Runs its children in order; names are '0', '1', ... or the keys given. */
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

  forward(x: Tensor): Tensor {
    let out = x;
    for (const layer of this.children()) {
      const next = (layer as Module & { call(x: Tensor): Tensor }).call(out);
      // Intermediate activations are only needed by the graph (which holds its own references).
      if (out !== x && next !== out) out.dispose();
      out = next;
    }
    return out === x ? x.reshape(x.shape) : out;
  }

  /** The i-th layer. */
  at(index: number): Module {
    const layer = [...this.children()][index < 0 ? [...this.children()].length + index : index];
    if (!layer) throw new ArgumentError(`Sequential: no layer at index ${index}`);
    return layer;
  }

  get length(): number {
    return [...this.children()].length;
  }
}

/** A list of modules registered as children '0', '1', ... */
export class ModuleList extends Module {
  constructor(modules: Module[] = []) {
    super();
    modules.forEach((m) => this.push(m));
  }
  push(module: Module): void {
    this.registerModule(String([...this.children()].length), module);
  }
  at(index: number): Module {
    const list = [...this.children()];
    const module = list[index < 0 ? list.length + index : index];
    if (!module) throw new ArgumentError(`ModuleList: no module at index ${index}`);
    return module;
  }
  get length(): number {
    return [...this.children()].length;
  }
  [Symbol.iterator](): Iterator<Module> {
    return this.children();
  }
  forward(): Tensor {
    throw new ArgumentError('ModuleList has no forward: iterate over its modules');
  }
}

/** Modules by name. */
export class ModuleDict extends Module {
  constructor(modules: Record<string, Module> = {}) {
    super();
    for (const [name, m] of Object.entries(modules)) this.registerModule(name, m);
  }
  get(name: string): Module | undefined {
    return new Map(this.namedChildren()).get(name);
  }
  set(name: string, module: Module): void {
    this.registerModule(name, module);
  }
  forward(): Tensor {
    throw new ArgumentError('ModuleDict has no forward: pick a module by name');
  }
}
