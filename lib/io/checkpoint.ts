/**
 * Training checkpoints in one safetensors file: the model's state dict under its own
 * names, the optimizer's tensors under `optimizer.`, and in the header the optimizer's
 * numbers, the random generator's position and any user values (epoch, metrics). Saving
 * is atomic; loading validates the whole file before changing anything.
 * @module
 */
import { FormatError } from '../errors.js';
import type { Module } from '../nn/module.js';
import type { Optimizer } from '../optim/optimizer.js';
import { getRngState, setRngState } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { loadSafetensors, saveSafetensors } from './safetensors.js';

type AnyOptimizer = Optimizer<{ lr: number }>;

/** Saves model (and optimizer) state so training can resume exactly. */
export function saveCheckpoint(path: string, parts: { model: Module; optimizer?: AnyOptimizer; extra?: Record<string, unknown> }): void {
  const tensors = new Map<string, Tensor>(parts.model.stateDict());
  const optimizerState = parts.optimizer?.stateDict();
  for (const [key, t] of optimizerState?.tensors ?? []) tensors.set(`optimizer.${key}`, t);
  saveSafetensors(path, tensors, {
    neocog: JSON.stringify({ optimizer: optimizerState?.scalars ?? null, rng: getRngState(), extra: parts.extra ?? {} }),
  });
}

/**
 * Restores a checkpoint into `model` (strict names and shapes) and `optimizer`, and the
 * random generator's position; returns the saved extra values. On a malformed file or a
 * mismatch it throws (FormatError / ShapeError) before changing the model or optimizer.
 */
export function loadCheckpoint(path: string, parts: { model: Module; optimizer?: AnyOptimizer }): Record<string, unknown> {
  const { tensors, metadata } = loadSafetensors(path);
  let header: { optimizer: Parameters<AnyOptimizer['loadStateDict']>[0]['scalars'] | null; rng: { seed: number; offset: number }; extra: Record<string, unknown> };
  try {
    header = JSON.parse(metadata.neocog ?? '');
  } catch {
    throw new FormatError(`loadCheckpoint: ${path} has no neocog checkpoint header (is it a plain state dict? use io.loadSafetensors)`);
  }
  const modelTensors = new Map([...tensors].filter(([key]) => !key.startsWith('optimizer.')));
  const optimizerTensors = new Map([...tensors].filter(([key]) => key.startsWith('optimizer.')).map(([key, t]) => [key.slice('optimizer.'.length), t]));
  if (parts.optimizer && !header.optimizer) throw new FormatError(`loadCheckpoint: ${path} holds no optimizer state`);
  const optimizerState = header.optimizer ? { tensors: optimizerTensors, scalars: header.optimizer } : null;
  // Check everything first: the model's load validates before it writes.
  if (parts.optimizer && optimizerState) parts.optimizer.checkStateDict(optimizerState);
  parts.model.loadStateDict(modelTensors);
  if (parts.optimizer && optimizerState) parts.optimizer.loadStateDict(optimizerState);
  setRngState(header.rng);
  for (const t of tensors.values()) t.dispose();
  return header.extra;
}
