import { describe, expect, it } from 'vitest';

import { gatherRngStates } from '../../lib/distributed/rng_states.js';

describe('gatherRngStates', () => {
  it('is null outside a process group (a checkpoint then keeps the one position it has)', async () => {
    expect(await gatherRngStates()).toBeNull();
  });
  // Over MPI it is exercised by tests/io/checkpoint.test.ts: a resumed job draws what the
  // uninterrupted one drew on every rank, which needs each rank's own position back.
});
