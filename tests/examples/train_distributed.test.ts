import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { io, models, nn } from '../../lib/index.js';
import { skipWithoutMpirun } from '../helpers/mpirun.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));

describe.skipIf(skipWithoutMpirun)('examples/train-distributed.ts', () => {
  it('trains over 2 processes started by the launcher, rank 0 reporting and writing the model', () => {
    const out = mkdtempSync(join(tmpdir(), 'neocog-distributed-'));
    const result = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(repo, 'lib/distributed/launcher_cli.ts'), '--nproc-per-node', '2', join(repo, 'examples/train-distributed.ts'), '--epochs', '2', '--limit', '1024', '--out', out],
      { cwd: repo, encoding: 'utf8', timeout: 240_000 },
    );
    expect(result.status, result.stderr).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines.filter((l) => l.includes('epoch 2:'))).toHaveLength(1);  // one rank reports
    expect(lines.some((l) => l.startsWith('[rank 1]'))).toBe(false);
    const accuracy = Number(/\[rank 0\] test accuracy: ([\d.]+)%/.exec(result.stdout)?.[1]);
    expect(accuracy).toBeGreaterThan(60);  // 1,024 images, 2 epochs: well above chance (10%)
    const saved = join(out, 'model.safetensors');
    expect(existsSync(saved)).toBe(true);
    const model = nn.SyncBatchNorm.convertSyncBatchnorm(models.simpleCnn({ inChannels: 1 }));
    return io.loadCheckpoint(saved, { model });
  }, 240_000);
});
