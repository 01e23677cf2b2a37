/**
 * Training checkpoints in one safetensors file: the model's state dict under its own
 * names, the optimizer's tensors under `optimizer.`, and in the header the optimizer's
 * numbers, the random generator's position and any user values (epoch, metrics). Saving
 * is atomic; loading validates the whole file against the model and optimizer before
 * changing anything, so a failed load leaves model, optimizer and generator as they were.
 * In a data-parallel job (issue 18) rank 0 writes the file, with every rank's generator
 * position, and every rank loads it.
 * @module
 */
import { ArgumentError, FormatError, ShapeError } from '../errors.js';
import type { AnyModule } from '../nn/module.js';
import type { FusedUpdate, Optimizer } from '../optim/optimizer.js';
import { barrier } from '../distributed/collectives.js';
import { getRank, getWorldSize, isInitialized } from '../distributed/process_group.js';
import { gatherRngStates, type RngPosition } from '../distributed/rng_states.js';
import { getRngState, setRngState } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { loadSafetensors, loadSafetensorsSync, saveSafetensors, saveSafetensorsSync, type SafetensorsContent } from './safetensors.js';

type AnyOptimizer = Optimizer<{ lr: number }>;
type OptimizerDict = Parameters<AnyOptimizer['loadStateDict']>[0];

/** What to save: the model (any signature: classifiers, detectors, ...), optionally its optimizer and JSON-able user values. */
export interface CheckpointParts {
  model: AnyModule;
  optimizer?: AnyOptimizer;
  /** Values returned by the load (epoch, metrics); must survive JSON.stringify. */
  extra?: Record<string, unknown>;
}

/** Where a checkpoint is restored into. */
export interface CheckpointTarget {
  model: AnyModule;
  optimizer?: AnyOptimizer;
}

/** The `neocog` entry of the file's metadata. */
interface CheckpointHeader {
  optimizer: OptimizerDict['scalars'] | null;
  rng: RngPosition;
  /** Each rank's position, when a data-parallel job saved it. */
  rngByRank?: RngPosition[];
  extra: Record<string, unknown>;
}

const OPTIMIZER_PREFIX = 'optimizer.';

function contentOf(
  op: string,
  parts: CheckpointParts,
  rngByRank: RngPosition[] | null = null,
): { tensors: Map<string, Tensor>; metadata: Record<string, string> } {
  if (parts.extra !== undefined && (parts.extra === null || typeof parts.extra !== 'object' || Array.isArray(parts.extra))) {
    throw new ArgumentError(`${op}: expected extra to be an object, got ${parts.extra === null ? 'null' : Array.isArray(parts.extra) ? 'an array' : typeof parts.extra}`);
  }
  const tensors = new Map<string, Tensor>(parts.model.stateDict());
  const optimizerState = parts.optimizer?.stateDict();
  for (const [key, t] of optimizerState?.tensors ?? []) tensors.set(`${OPTIMIZER_PREFIX}${key}`, t);
  let header: string;
  try {
    const rng = getRngState();
    header = JSON.stringify({ optimizer: optimizerState?.scalars ?? null, rng, ...(rngByRank ? { rngByRank } : {}), extra: parts.extra ?? {} });
  } catch (error) {
    throw new ArgumentError(`${op}: extra must be JSON-serialisable (${(error as Error).message})`);
  }
  return { tensors, metadata: { neocog: header } };
}

/**
 * Saves model (and optimizer) state so training can resume exactly, without blocking the
 * event loop. The values saved are those at the call: training may go on while it writes.
 * In a process group of more than one rank every rank must call it: rank 0 writes (the
 * replicas are equal) with each rank's generator position, and every rank returns once
 * the file is complete, so a load right after finds it.
 * @example await io.saveCheckpoint('ckpt.safetensors', { model, optimizer, extra: { epoch } });
 */
export async function saveCheckpoint(path: string, parts: CheckpointParts): Promise<void> {
  const rngByRank = await gatherRngStates();
  const { tensors, metadata } = contentOf('saveCheckpoint', parts, rngByRank);
  if (rngByRank === null) {
    await saveSafetensors(path, tensors, metadata);
    return;
  }
  // A failed write on rank 0 must not leave the others waiting in the barrier.
  let failure: unknown = null;
  if (getRank() === 0) await saveSafetensors(path, tensors, metadata).catch((error: unknown) => (failure = error));
  await barrier();
  if (failure !== null) throw failure;
}

/** Blocking form of {@link saveCheckpoint}; in a process group only rank 0 writes, and nobody waits for it. */
export function saveCheckpointSync(path: string, parts: CheckpointParts): void {
  const { tensors, metadata } = contentOf('saveCheckpointSync', parts);
  if (isInitialized() && getRank() !== 0) return;
  saveSafetensorsSync(path, tensors, metadata);
}

const isRecord = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);
const kindOf = (value: unknown): string => (value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value);

/** Parses and type-checks the `neocog` header entry. */
function readHeader(op: string, path: string, metadata: Record<string, string>): CheckpointHeader {
  const fail = (why: string): never => {
    throw new FormatError(`${op}: ${path} ${why}`);
  };
  const text = metadata.neocog;
  if (text === undefined) return fail('has no neocog checkpoint header (is it a plain state dict? use io.loadStateDict)');
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch {
    return fail('has a neocog checkpoint header that is not valid JSON');
  }
  if (!isRecord(header)) return fail(`has a neocog checkpoint header that is ${kindOf(header)}, expected an object`);
  const { rng, extra, optimizer } = header;
  if (!isRecord(rng) || !Number.isSafeInteger(rng.seed) || !Number.isSafeInteger(rng.offset) || (rng.seed as number) < 0 || (rng.offset as number) < 0) {
    fail(`has rng ${JSON.stringify(rng)}, expected { seed, offset } (non-negative integers)`);
  }
  if (!isRecord(extra)) fail(`has extra that is ${kindOf(extra)}, expected an object`);
  const { rngByRank } = header;
  if (rngByRank !== undefined && (!Array.isArray(rngByRank) || !rngByRank.every((r) => isRecord(r) && Number.isSafeInteger(r.seed) && Number.isSafeInteger(r.offset) && (r.seed as number) >= 0 && (r.offset as number) >= 0))) {
    fail('has rngByRank that is not a list of { seed, offset } (non-negative integers)');
  }
  if (optimizer !== null) {
    if (!isRecord(optimizer)) return fail(`has optimizer state that is ${kindOf(optimizer)}, expected an object or null`);
    if (!Array.isArray(optimizer.groups) || !optimizer.groups.every(isRecord)) fail('has optimizer groups that are not an array of objects');
    if (!isRecord(optimizer.state)) fail(`has optimizer state.state that is ${kindOf(optimizer.state)}, expected an object`);
    for (const [index, numbers] of Object.entries(optimizer.state as Record<string, unknown>)) {
      if (!isRecord(numbers) || !Object.values(numbers).every(Number.isFinite)) fail(`has optimizer state.${index} that is not an object of finite numbers`);
    }
  }
  return header as unknown as CheckpointHeader;
}

/** The names of the state tensors `optimizer` keeps per parameter under `options`. */
function slotNames(optimizer: AnyOptimizer, options: { lr: number }): string[] {
  // fusedUpdate is the one place an optimizer says which state tensors it uses; on a
  // scratch state it changes nothing (Adam advances the scratch step count only).
  const fused = (optimizer as unknown as { fusedUpdate(state: Record<string, Tensor | number>, options: { lr: number }): FusedUpdate }).fusedUpdate;
  return fused.call(optimizer, {}, options).slots.filter((s): s is string => s !== null);
}

/**
 * Checks the saved optimizer state against `optimizer`: every group's options with the
 * same names and types, state only for existing parameters, and exactly the state tensors
 * (names, dtype, shape) the optimizer uses for each parameter that has state.
 */
function checkOptimizer(op: string, path: string, optimizer: AnyOptimizer, scalars: OptimizerDict['scalars'], tensors: ReadonlyMap<string, Tensor>): void {
  const fail = (why: string): never => {
    throw new FormatError(`${op}: ${path} ${why}`);
  };
  const name = optimizer.constructor.name;
  if (scalars.groups.length !== optimizer.paramGroups.length) {
    fail(`holds ${scalars.groups.length} optimizer parameter groups, this ${name} has ${optimizer.paramGroups.length}`);
  }
  const sameKind = (a: unknown, b: unknown): boolean =>
    Array.isArray(b) ? Array.isArray(a) && a.length === b.length && a.every((v, i) => typeof v === typeof b[i]) : typeof a === typeof b && (typeof a !== 'number' || Number.isFinite(a));
  optimizer.paramGroups.forEach((group, g) => {
    const saved = scalars.groups[g] as unknown as Record<string, unknown>;
    const own = group.options as unknown as Record<string, unknown>;
    for (const key of new Set([...Object.keys(own), ...Object.keys(saved)])) {
      if (!sameKind(saved[key], own[key])) fail(`has optimizer group ${g} option ${key} = ${JSON.stringify(saved[key])}, which does not fit ${name} (its value: ${JSON.stringify(own[key])})`);
    }
  });
  const params = optimizer.paramGroups.flatMap((g) => g.params);
  const groupOf = optimizer.paramGroups.flatMap((g, i) => g.params.map(() => i));
  const parameterIndex = (text: string | undefined, what: string): number => {
    const index = Number(text);
    if (!(text !== undefined && /^[0-9]+$/.test(text) && index < params.length)) fail(`has ${what}, which names no parameter of this ${name} (it has ${params.length})`);
    return index;
  };
  const withState = new Set<number>();
  for (const index of Object.keys(scalars.state)) withState.add(parameterIndex(index, `optimizer state for parameter ${index}`));
  const found = new Map<number, Set<string>>();
  for (const [key, t] of tensors) {
    const match = /^state\.([^.]+)\.(.+)$/.exec(key);
    if (!match) return fail(`has an unexpected optimizer tensor ${OPTIMIZER_PREFIX}${key}`);
    const index = parameterIndex(match[1], `optimizer tensor ${OPTIMIZER_PREFIX}${key}`);
    withState.add(index);
    (found.get(index) ?? found.set(index, new Set()).get(index)!).add(match[2]!);
    const expected = params[index]!.shape;
    if (t.dtype !== 'float32') fail(`has optimizer tensor ${OPTIMIZER_PREFIX}${key} of dtype ${t.dtype}, expected float32`);
    if (t.shape.join() !== expected.join()) {
      throw new ShapeError(`${op}: ${path} has optimizer tensor ${OPTIMIZER_PREFIX}${key} of shape [${t.shape.join(', ')}], its parameter has [${expected.join(', ')}]`);
    }
  }
  for (const index of withState) {
    const expected = slotNames(optimizer, scalars.groups[groupOf[index]!]!);
    const present = found.get(index) ?? new Set<string>();
    for (const slot of present) if (!expected.includes(slot)) fail(`has an unexpected optimizer tensor ${OPTIMIZER_PREFIX}state.${index}.${slot} (${name} keeps ${expected.join(', ') || 'no tensors'} per parameter)`);
    for (const slot of expected) if (!present.has(slot)) fail(`is missing optimizer tensor ${OPTIMIZER_PREFIX}state.${index}.${slot}`);
  }
}

/** Validates `content` against the target, then restores it; disposes the file's tensors either way. */
function restore(op: string, path: string, content: SafetensorsContent, target: CheckpointTarget): Record<string, unknown> {
  try {
    const header = readHeader(op, path, content.metadata);
    const modelTensors = new Map<string, Tensor>();
    const optimizerTensors = new Map<string, Tensor>();
    for (const [key, t] of content.tensors) {
      if (key.startsWith(OPTIMIZER_PREFIX)) optimizerTensors.set(key.slice(OPTIMIZER_PREFIX.length), t);
      else modelTensors.set(key, t);
    }
    let optimizerDict: OptimizerDict | null = null;
    if (target.optimizer) {
      if (!header.optimizer) throw new FormatError(`${op}: ${path} holds no optimizer state`);
      checkOptimizer(op, path, target.optimizer, header.optimizer, optimizerTensors);
      optimizerDict = { tensors: optimizerTensors, scalars: header.optimizer };
      target.optimizer.checkStateDict(optimizerDict);
    }
    // Everything in the file is checked; the model's load checks its names and shapes before it writes.
    target.model.loadStateDict(modelTensors);
    if (target.optimizer && optimizerDict) target.optimizer.loadStateDict(optimizerDict);
    // A data-parallel run resumed with as many ranks gets each rank's own position back.
    const ranked = header.rngByRank && isInitialized() && header.rngByRank.length === getWorldSize() ? header.rngByRank[getRank()]! : header.rng;
    setRngState(ranked);
    return header.extra;
  } finally {
    for (const t of content.tensors.values()) t.dispose();
  }
}

/**
 * Restores a checkpoint into `model` (strict names and shapes) and `optimizer`, and the
 * random generator's position (in a data-parallel job resumed with as many ranks, each
 * rank's own); returns the saved extra values. The file is read without
 * blocking the event loop. On a malformed file or a mismatch it throws (FormatError,
 * KeyError, ShapeError) before changing the model, the optimizer or the generator.
 * @example const { epoch } = await io.loadCheckpoint('ckpt.safetensors', { model, optimizer });
 */
export async function loadCheckpoint(path: string, target: CheckpointTarget): Promise<Record<string, unknown>> {
  return restore('loadCheckpoint', path, await loadSafetensors(path), target);
}

/** Blocking form of {@link loadCheckpoint}. */
export function loadCheckpointSync(path: string, target: CheckpointTarget): Record<string, unknown> {
  return restore('loadCheckpointSync', path, loadSafetensorsSync(path), target);
}
