/**
 * Every rank's random-generator position, for checkpoints that resume a data-parallel run
 * exactly (issue 18): each rank draws its own numbers (augmentation, dropout), so rank 0's
 * file keeps all of them.
 * @module
 */
import { tensor, zeros } from '../tensor/creation.js';
import { getRngState } from '../tensor/random.js';
import { allGatherIntoTensor } from './collectives.js';
import { isInitialized, getWorldSize } from './process_group.js';

/** A generator position, as getRngState() returns it. */
export interface RngPosition {
  seed: number;
  offset: number;
}

// Positions are safe integers (< 2^53); int32 halves of 30 bits carry up to 2^60.
const HALF = 2 ** 30;

/**
 * Each rank's generator position, in rank order, gathered on every rank; null outside a
 * process group of more than one rank. Every rank must call it, as any collective.
 * @internal
 */
export async function gatherRngStates(): Promise<RngPosition[] | null> {
  if (!isInitialized() || getWorldSize() === 1) return null;
  const world = getWorldSize();
  const { seed, offset } = getRngState();
  const mine = tensor([Math.floor(seed / HALF), seed % HALF, Math.floor(offset / HALF), offset % HALF], { dtype: 'int32' });
  const all = zeros([world, 4], { dtype: 'int32' });
  try {
    allGatherIntoTensor(all, mine);
    const values = await all.data();
    return Array.from({ length: world }, (_, r) => ({
      seed: values[4 * r]! * HALF + values[4 * r + 1]!,
      offset: values[4 * r + 2]! * HALF + values[4 * r + 3]!,
    }));
  } finally {
    mine.dispose();
    all.dispose();
  }
}
