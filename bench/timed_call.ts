// One timed call of a bench row: run it inside a scope, wait for the CPU stream, free what it
// returned. Shared by the detection and segmentation benches, whose steps return tensors,
// lists of detections or records of losses.
import { scope, synchronize, Tensor } from '../lib/index.js';

/** Every tensor in a step's result (a tensor, an array, a record, or nested), to dispose. */
export function tensorsIn(result: unknown): Tensor[] {
  if (result instanceof Tensor) return [result];
  if (Array.isArray(result)) return result.flatMap(tensorsIn);
  if (result !== null && typeof result === 'object') return Object.values(result).flatMap(tensorsIn);
  return [];
}

/** Runs `fn` inside a scope (awaiting it if async), waits for the stream, and frees what it returned. */
export async function timedCall(fn: () => unknown): Promise<void> {
  const out: unknown = await scope(fn);
  await synchronize();
  for (const t of tensorsIn(out)) t.dispose();
}
