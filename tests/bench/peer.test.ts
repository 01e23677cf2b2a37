import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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

describe('bench peer prepare', () => {
  it('passes on the output fingerprint a workload sends with its prepare reply, and nothing when it sends none', async () => {
    // A stand-in interpreter that answers torch_peer.py's protocol with fixed lines.
    const fake = join(mkdtempSync(join(tmpdir(), 'neocog-peer-')), 'python');
    const check = { shape: [1, 2], mean: 0.5, meanAbs: 1, samples: [0, 1] };
    const replies = [{ torch: 'fake', threads: 2, capability: 'AVX2' }, { formats: ['nchw'], params: 7, check }, { formats: ['nchw'], params: null }];
    writeFileSync(fake, `#!/bin/sh\n${replies.map((r) => `read line\necho '${JSON.stringify(r)}'\n`).join('')}read line\n`);
    chmodSync(fake, 0o755);
    const { peer } = await Peer.start('segmentation', { python: fake, env: process.env, formats: ['nchw'] }, [], 2);
    expect(await peer.prepare(0)).toEqual({ formats: ['nchw'], params: 7, check });
    expect(await peer.prepare(1)).toEqual({ formats: ['nchw'], params: null });
    peer.close();
  });
});
