/**
 * The common case of reading weights: a safetensors file's tensors by name, ready for
 * `module.loadStateDict`.
 * @module
 */
import type { Tensor } from '../tensor/tensor.js';
import { loadSafetensors, loadSafetensorsSync } from './safetensors.js';

/**
 * Reads a safetensors file's tensors (PyTorch state-dict names) without blocking the event
 * loop; the header's metadata is dropped (use {@link loadSafetensors} to keep it). The
 * caller owns the tensors: dispose them once loaded into a module.
 * @example model.loadStateDict(await io.loadStateDict('resnet18.safetensors'));
 * @throws FormatError (and nothing loaded) if the file is truncated or malformed
 */
export async function loadStateDict(path: string): Promise<Map<string, Tensor>> {
  return (await loadSafetensors(path)).tensors;
}

/** Blocking form of {@link loadStateDict}. */
export function loadStateDictSync(path: string): Map<string, Tensor> {
  return loadSafetensorsSync(path).tensors;
}
