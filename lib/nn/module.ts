/**
 * Module, as torch.nn.Module: a tree of submodules, parameters and buffers with
 * train/eval mode, state dicts, hooks and a printable structure. Fields assigned in a
 * subclass are registered automatically (a Module, or a tensor made with `parameter()`),
 * so layers read like PyTorch:
 *
 * @example
 * class Net extends Module {
 *   conv = new Conv2d(1, 8, 3, { padding: 1 });
 *   fc = new Linear(8 * 28 * 28, 10);
 *   forward(x: Tensor) { return this.fc.call(relu(this.conv.call(x)).flatten(1)); }
 * }
 * @module
 */
import { noGrad } from '../autograd/grad_mode.js';
import { ArgumentError, KeyError, ShapeError } from '../errors.js';
import { copyInto } from '../ops/copy.js';
import { parseDevice, type DeviceLike } from '../tensor/device.js';
import { keep } from '../tensor/memory.js';
import { Tensor } from '../tensor/tensor.js';

const PARAMETER = Symbol('neocog.parameter');

/**
 * Marks a float32 tensor as a trainable parameter (requiresGrad, kept out of scopes).
 * Assigning it to a Module field registers it under the field's name.
 */
export function parameter(t: Tensor, requiresGrad = true): Tensor<'float32'> {
  const leaf = t.isLeaf ? t : t.detach();
  leaf.requiresGrad_(requiresGrad);
  Object.defineProperty(leaf, PARAMETER, { value: true });
  return keep(leaf) as Tensor<'float32'>;
}

/** True for tensors made by {@link parameter}. */
export function isParameter(value: unknown): value is Tensor<'float32'> {
  return value instanceof Tensor && (value as unknown as Record<symbol, unknown>)[PARAMETER] === true;
}

/**
 * Called after a module's forward with the module, its inputs and its output, as a hook
 * given to torch's `register_forward_hook` (feature maps, debugging, summaries). Unlike
 * PyTorch's, its return value is ignored: the output cannot be replaced.
 */
export type ForwardHook<In extends unknown[] = [Tensor], Out = Tensor, M = Module<In, Out>> = (module: M, inputs: In, output: Out) => void;

/**
 * Called before a module's forward with the module and its inputs, as a hook given to
 * torch's `register_forward_pre_hook`. Returning an argument list replaces the inputs
 * forward (and later hooks) see; returning nothing keeps them.
 */
export type ForwardPreHook<In extends unknown[] = [Tensor], M = Module<In, unknown>> = (module: M, inputs: In) => In | void;

/**
 * A module of any signature: what a container holds and what `children()` yields. Its
 * `call` takes and returns `unknown`, so narrow (or keep the typed field) before calling it.
 */
export type AnyModule = Module<unknown[], unknown>;

interface State {
  parameters: Map<string, Tensor | null>;
  buffers: Map<string, Tensor | null>;
  modules: Map<string, AnyModule>;
  preHooks: Set<ForwardPreHook<unknown[], AnyModule>>;
  hooks: Set<ForwardHook<unknown[], unknown, AnyModule>>;
}

const states = new WeakMap<object, State>();

function stateOf(module: AnyModule): State {
  const state = states.get(module);
  if (!state) throw new ArgumentError('Module: the module was not constructed through Module()');
  return state;
}

/**
 * Base class of every layer and model, as torch.nn.Module. `In` is the argument list of
 * forward (a tuple, default one tensor) and `Out` what it returns (default a tensor), so
 * `call` is typed like `forward`:
 *
 * @example
 * class Detector extends Module<[images: Tensor[], targets?: Target[]], Record<string, Tensor> | Detection[]> {
 *   forward(images: Tensor[], targets?: Target[]) { ... } // losses in training, detections in eval
 * }
 * detector.registerForwardHook((module, [images, targets], output) => { ... }); // all typed
 * class Net extends Module { forward(x: Tensor): Tensor { ... } } // Module<[Tensor], Tensor>
 */
export abstract class Module<In extends unknown[] = [Tensor], Out = Tensor> {
  /** Training mode (dropout active, batch statistics); switched by train()/eval(). */
  training = true;

  constructor() {
    const state: State = { parameters: new Map(), buffers: new Map(), modules: new Map(), preHooks: new Set(), hooks: new Set() };
    // Subclass fields are defined on the object this constructor returns: the proxy sees
    // them and registers modules and parameters under their field names.
    const proxy = new Proxy(this, {
      defineProperty(target, key, descriptor) {
        if (typeof key === 'string' && 'value' in descriptor) register(state, key, descriptor.value);
        return Reflect.defineProperty(target, key, descriptor);
      },
      set(target, key, value, receiver) {
        if (typeof key === 'string') register(state, key, value);
        return Reflect.set(target, key, value, receiver);
      },
    });
    states.set(proxy, state);
    states.set(this, state);
    return proxy;
  }

  /** The computation; call modules with {@link call} so hooks run. */
  abstract forward(...inputs: In): Out;

  /** Runs the forward pre-hooks, forward and the forward hooks, as calling a torch module does. */
  call(...inputs: In): Out {
    const state = stateOf(this);
    let args = inputs;
    // The hooks were registered through the typed methods below, for this module's In/Out.
    for (const hook of state.preHooks) args = (hook as unknown as ForwardPreHook<In, this>)(this, args) ?? args;
    const output = this.forward(...args);
    for (const hook of state.hooks) (hook as unknown as ForwardHook<In, Out, this>)(this, args, output);
    return output;
  }

  /**
   * @internal Whether forward hooks or pre-hooks are registered, or {@link forward} was
   * replaced on the instance (infer.fuseForInference): then a caller that would compute this
   * module's work in a fused kernel must call it instead.
   */
  _observed(): boolean {
    const state = stateOf(this);
    return state.hooks.size > 0 || state.preHooks.size > 0 || Object.prototype.hasOwnProperty.call(this, 'forward');
  }

  /** Registers `fn` to run after every forward; returns a function that removes it. */
  registerForwardHook(fn: ForwardHook<In, Out, this>): () => void {
    const hooks = stateOf(this).hooks;
    const stored = fn as unknown as ForwardHook<unknown[], unknown, AnyModule>;
    hooks.add(stored);
    return () => hooks.delete(stored);
  }

  /** Registers `fn` to run before every forward (it may replace the inputs); returns a function that removes it. */
  registerForwardPreHook(fn: ForwardPreHook<In, this>): () => void {
    const hooks = stateOf(this).preHooks;
    const stored = fn as unknown as ForwardPreHook<unknown[], AnyModule>;
    hooks.add(stored);
    return () => hooks.delete(stored);
  }

  /** Registers a parameter explicitly (fields holding `parameter()` tensors need not). */
  registerParameter(name: string, value: Tensor | null): void {
    const registered = value === null ? null : isParameter(value) ? value : parameter(value);
    stateOf(this).parameters.set(name, registered);
    (this as unknown as Record<string, unknown>)[name] = registered;
  }

  /**
   * Registers a buffer: state that is saved and moved with the module but not trained
   * (BatchNorm running statistics). Assigning the field `name` later replaces the buffer.
   */
  registerBuffer(name: string, value: Tensor | null): void {
    stateOf(this).buffers.set(name, value === null ? null : keep(value));
    Object.defineProperty(this, name, { value, writable: true, enumerable: true, configurable: true });
  }

  /**
   * The buffer registered as `target` (a dotted path such as `layer1.0.bn1.running_mean`
   * reaches into submodules), as torch's `get_buffer`. Null when registered as null.
   */
  getBuffer(target: string): Tensor | null {
    const path = target.split('.');
    const name = path.pop()!;
    let module: AnyModule = this;
    for (const part of path) {
      const child = stateOf(module).modules.get(part);
      if (!child) throw new ArgumentError(`Module.getBuffer: target '${target}' names no submodule '${part}'`);
      module = child;
    }
    const buffers = stateOf(module).buffers;
    if (!buffers.has(name)) throw new ArgumentError(`Module.getBuffer: target '${target}' is not a registered buffer`);
    return buffers.get(name) ?? null;
  }

  /** Registers a child module explicitly. */
  registerModule(name: string, module: AnyModule): void {
    stateOf(this).modules.set(name, module);
  }

  /** Direct children with their names. */
  *namedChildren(): Generator<[string, AnyModule]> {
    yield* stateOf(this).modules.entries();
  }

  /** Direct children. */
  *children(): Generator<AnyModule> {
    for (const [, m] of this.namedChildren()) yield m;
  }

  /** This module and every descendant, with dotted names ('' for this one). */
  *namedModules(prefix = ''): Generator<[string, AnyModule]> {
    yield [prefix, this];
    for (const [name, child] of this.namedChildren()) yield* child.namedModules(prefix ? `${prefix}.${name}` : name);
  }

  /** This module and every descendant. */
  *modules(): Generator<AnyModule> {
    for (const [, m] of this.namedModules()) yield m;
  }

  /** Parameters with PyTorch state-dict names (`layer1.0.conv1.weight`). */
  *namedParameters(): Generator<[string, Tensor<'float32'>]> {
    for (const [prefix, module] of this.namedModules()) {
      for (const [name, p] of stateOf(module).parameters) if (p) yield [prefix ? `${prefix}.${name}` : name, p as Tensor<'float32'>];
    }
  }

  /** All parameters, depth first. */
  *parameters(): Generator<Tensor<'float32'>> {
    for (const [, p] of this.namedParameters()) yield p;
  }

  /** Buffers with dotted names. */
  *namedBuffers(): Generator<[string, Tensor]> {
    for (const [prefix, module] of this.namedModules()) {
      for (const [name, b] of stateOf(module).buffers) if (b) yield [prefix ? `${prefix}.${name}` : name, b];
    }
  }

  /** Number of parameter elements (all, or only trainable ones). */
  parameterCount(opts: { trainableOnly?: boolean } = {}): number {
    let total = 0;
    for (const p of this.parameters()) if (!opts.trainableOnly || p.requiresGrad) total += p.numel;
    return total;
  }

  /** Sets training mode on this module and its descendants. Returns it. */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  /** Evaluation mode (dropout off, running statistics). Returns the module. */
  eval(): this {
    return this.train(false);
  }

  /** Clears the gradients of every parameter. */
  zeroGrad(): void {
    for (const p of this.parameters()) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /**
   * Freezes (false) or unfreezes parameters: all of them, or those whose name starts
   * with one of `names` (e.g. ['features']) to fine-tune the rest. Returns the module.
   */
  requiresGrad_(requiresGrad = true, names?: readonly string[]): this {
    for (const [name, p] of this.namedParameters()) {
      if (!names || names.some((n) => name === n || name.startsWith(`${n}.`))) p.requiresGrad_(requiresGrad);
    }
    return this;
  }

  /** Calls `fn` on every module (children first, as torch), e.g. for custom init. Returns it. */
  apply(fn: (module: AnyModule) => void): this {
    for (const child of this.children()) child.apply(fn);
    fn(this);
    return this;
  }

  /** Moves parameters and buffers to `device` (in place on the module). Returns it. */
  to(device: DeviceLike): this {
    for (const module of this.modules()) {
      const state = stateOf(module);
      for (const [name, p] of state.parameters) {
        if (!p || p.device === parseDevice('to', device)) continue;
        const moved = parameter(p.to(device), p.requiresGrad);
        p.dispose();
        state.parameters.set(name, moved);
        Reflect.set(module, name, moved);
      }
      for (const [name, b] of state.buffers) {
        if (!b || b.device === parseDevice('to', device)) continue;
        const moved = keep(b.to(device));
        b.dispose();
        state.buffers.set(name, moved);
        Object.defineProperty(module, name, { value: moved, writable: true, enumerable: true, configurable: true });
      }
    }
    return this;
  }

  /** Parameters and buffers by state-dict name (handles sharing the module's memory). */
  stateDict(): Map<string, Tensor> {
    const dict = new Map<string, Tensor>();
    for (const [name, p] of this.namedParameters()) dict.set(name, p);
    for (const [name, b] of this.namedBuffers()) dict.set(name, b);
    return dict;
  }

  /**
   * Copies values into the module's parameters and buffers. With `strict` (default) the
   * names must match exactly; shapes must always match. Nothing is changed on error.
   * @throws KeyError (strict) when keys are missing or unexpected; the message lists a few
   *   of each and says when a `module.` prefix (DataParallel) is the cause
   * @throws ShapeError when a tensor's shape differs from the module's
   */
  loadStateDict(dict: ReadonlyMap<string, Tensor> | Record<string, Tensor>, opts: { strict?: boolean } = {}): { missing: string[]; unexpected: string[] } {
    // A copy: adaptStateDict may rename or drop keys, and the caller's dict stays as it was.
    const entries = new Map(dict instanceof Map ? dict : Object.entries(dict));
    for (const [prefix, module] of this.namedModules()) module.adaptStateDict(entries, prefix ? `${prefix}.` : '');
    const own = this.stateDict();
    const missing = [...own.keys()].filter((k) => !entries.has(k));
    const unexpected = [...entries.keys()].filter((k) => !own.has(k));
    if ((opts.strict ?? true) && (missing.length > 0 || unexpected.length > 0)) throw new KeyError(keyMismatchMessage(missing, unexpected));
    for (const [name, target] of own) {
      const source = entries.get(name);
      if (source && source.shape.join(',') !== target.shape.join(',')) {
        throw new ShapeError(`loadStateDict: ${name} has shape [${source.shape.join(', ')}], the module expects [${target.shape.join(', ')}]`);
      }
    }
    noGrad(() => {
      for (const [name, target] of own) {
        const source = entries.get(name);
        if (!source) continue;
        const converted = source.device === target.device && source.dtype === target.dtype ? source : source.to(target.device, target.dtype);
        copyInto(target, converted);
        if (converted !== source) converted.dispose();
      }
    });
    return { missing, unexpected };
  }

  /**
   * Rewrites, in `dict`, the keys under `prefix` that an older or related layout of this
   * module used, before {@link loadStateDict} matches names; as the part of torch's
   * `_load_from_state_dict` that modules override (FrozenBatchNorm2d drops BatchNorm's
   * `num_batches_tracked`; FeaturePyramidNetwork renames torchvision < 0.13 keys).
   * loadStateDict calls it on every module of the tree with that module's dotted prefix
   * (`''` or ending in '.'), on a copy of the caller's dict. The default changes nothing.
   *
   * @example
   * class Scaled extends Module {
   *   protected override adaptStateDict(dict: Map<string, Tensor>, prefix: string): void {
   *     dict.delete(`${prefix}legacy_counter`); // a buffer older versions saved
   *   }
   * }
   */
  protected adaptStateDict(_dict: Map<string, Tensor>, _prefix: string): void {}

  /** Frees every parameter and buffer. */
  dispose(): void {
    for (const module of this.modules()) {
      const state = stateOf(module);
      for (const p of state.parameters.values()) p?.dispose();
      for (const b of state.buffers.values()) b?.dispose();
    }
  }

  /** Extra text for the printed tree, e.g. `1, 8, kernelSize=[3, 3]`. */
  extraRepr(): string {
    return '';
  }

  /** The module tree, printed like PyTorch's repr. */
  toString(): string {
    const children = [...this.namedChildren()];
    const head = `${this.constructor.name}(${this.extraRepr()}`;
    if (children.length === 0) return `${head})`;
    const lines = children.map(([name, child]) => `  (${name}): ${child.toString().split('\n').join('\n  ')}`);
    return `${head}\n${lines.join('\n')}\n)`;
  }
}

/**
 * What a strict loadStateDict says when the keys differ: a few of each kind (a ResNet has
 * hundreds), and the usual cause when every unexpected key starts with `module.` (saved
 * from DataParallel / DistributedDataParallel).
 */
function keyMismatchMessage(missing: string[], unexpected: string[]): string {
  const few = (keys: string[]): string => (keys.length === 0 ? 'none' : keys.length <= 5 ? keys.join(', ') : `${keys.slice(0, 5).join(', ')} and ${keys.length - 5} more`);
  let message = `loadStateDict: the state dict's keys do not match the module's (missing ${missing.length}: ${few(missing)}; unexpected ${unexpected.length}: ${few(unexpected)})`;
  const prefix = 'module.';
  const wrapped = unexpected.filter((k) => k.startsWith(prefix));
  if (wrapped.length > 0 && wrapped.some((k) => missing.includes(k.slice(prefix.length)))) {
    message += `. The keys start with "${prefix}": the state dict was saved from a DataParallel-wrapped model; strip the prefix first, e.g. new Map([...dict].map(([k, t]) => [k.replace(/^module\./, ''), t]))`;
  }
  return message;
}

/**
 * Keeps the registry in step with an assignment to field `key`, as torch's __setattr__:
 * modules and `parameter()` tensors register; a registered parameter or buffer takes the
 * new value (so the typed field and the state dict never disagree), and refuses values
 * that cannot stand in for it.
 */
function register(state: State, key: string, value: unknown): void {
  if (key === 'training') return;
  if (state.parameters.has(key) && !isParameter(value)) {
    if (value !== null) {
      throw new ArgumentError(`Module: cannot assign ${describe(value)} to parameter '${key}'; expected a tensor made by parameter(), or null`);
    }
    state.parameters.set(key, null);
  } else if (state.buffers.has(key)) {
    if (value !== null && !(value instanceof Tensor)) {
      throw new ArgumentError(`Module: cannot assign ${describe(value)} to buffer '${key}'; expected a tensor or null`);
    }
    state.buffers.set(key, value === null ? null : keep(value));
  } else if (value instanceof Module) {
    state.modules.set(key, value);
  } else if (isParameter(value)) {
    state.parameters.set(key, value);
  } else if (state.modules.has(key)) {
    state.modules.delete(key);
  }
}

function describe(value: unknown): string {
  if (value instanceof Tensor) return `a plain tensor of shape [${value.shape.join(', ')}]`;
  if (value instanceof Module) return `a module (${value.constructor.name})`;
  return `a value of type ${typeof value}`;
}
