/**
 * The default generator: a Philox counter (seed, offset). Each draw of n values uses
 * counters offset .. offset+n-1, so results do not depend on threads or device.
 * @module
 */
import { ArgumentError } from '../errors.js';

/** PyTorch's default seed, so unseeded runs are reproducible as they are in PyTorch. */
const DEFAULT_SEED = 67280421310721;

let seedValue = DEFAULT_SEED;
let offsetValue = 0;

/** Seeds the generator (torch.manual_seed). `seed` is a non-negative safe integer. */
export function manualSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new ArgumentError(`manualSeed: expected seed to be a non-negative safe integer, got ${String(seed)}`);
  }
  seedValue = seed;
  offsetValue = 0;
}

/** The seed last set (torch.initial_seed). */
export function initialSeed(): number {
  return seedValue;
}

/** Reserves `count` counters and returns the (seed, offset) to draw them with. @internal */
export function nextRandomState(count: number): { seed: number; offset: number } {
  const state = { seed: seedValue, offset: offsetValue };
  offsetValue += count;
  return state;
}

/** The generator's position, to save with a checkpoint (torch.get_rng_state). */
export function getRngState(): { seed: number; offset: number } {
  return { seed: seedValue, offset: offsetValue };
}

/** Restores a position from {@link getRngState} so a resumed run draws the same numbers. */
export function setRngState(state: { seed: number; offset: number }): void {
  if (!Number.isSafeInteger(state?.seed) || !Number.isSafeInteger(state?.offset) || state.seed < 0 || state.offset < 0) {
    throw new ArgumentError(`setRngState: expected non-negative safe integers { seed, offset }, got ${JSON.stringify(state)}`);
  }
  seedValue = state.seed;
  offsetValue = state.offset;
}
