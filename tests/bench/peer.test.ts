import { describe, expect, it } from 'vitest';

import { Peer } from '../../bench/peer.js';

// The bench skips a PyTorch configuration whose peer cannot start, with the reason; these
// are the two ways that happens (no interpreter; one that exits before answering).
describe('bench peer start failures', () => {
  it('rejects with the spawn error when the interpreter is missing', async () => {
    await expect(Peer.start('ops', { python: '/nonexistent/python3', env: process.env, formats: ['nchw'] }, [], 2)).rejects.toThrow(
      /torch_peer did not start: spawn \/nonexistent\/python3 ENOENT/,
    );
  });

  it('rejects with the exit status when the process dies before its first answer', async () => {
    await expect(Peer.start('ops', { python: '/bin/false', env: process.env, formats: ['nchw'] }, [], 2)).rejects.toThrow(/torch_peer exited \(code 1\)/);
  });
});
