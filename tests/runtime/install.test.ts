import { spawnSync } from 'node:child_process';
import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { expect, it } from 'vitest';

const script = fileURLToPath(new URL('../../scripts/install.mjs', import.meta.url));

it('a source build without cmake or a compiler says which packages to install', () => {
  // A PATH holding only node: no cmake, no c++. CHECK_ONLY keeps it from building even if
  // the tools were found.
  const bin = mkdtempSync(join(tmpdir(), 'neocog-path-'));
  symlinkSync(process.execPath, join(bin, 'node'));
  const result = spawnSync(process.execPath, [script], {
    env: { PATH: bin, NEOCOG_FORCE_BUILD: '1', NEOCOG_INSTALL_CHECK_ONLY: '1', HOME: process.env.HOME ?? '/tmp' },
    encoding: 'utf8',
  });
  expect(result.status).toBe(1);
  expect(result.stderr).toMatch(/apt-get install cmake/);
  expect(result.stderr).toMatch(/apt-get install g\+\+/);
  expect(result.stderr).toMatch(/sudo apt-get install -y cmake g\+\+ libdnnl-dev/);
});

it('with the tools present, the check passes', () => {
  const result = spawnSync(process.execPath, [script], {
    env: { ...process.env, NEOCOG_FORCE_BUILD: '1', NEOCOG_INSTALL_CHECK_ONLY: '1' },
    encoding: 'utf8',
  });
  expect(result.status).toBe(0);
  expect(result.stdout).toMatch(/tools a source build needs are present/);
});

it('with an addon already built, install uses it and builds nothing', () => {
  const result = spawnSync(process.execPath, [script], { encoding: 'utf8' });
  expect(result.status).toBe(0);
  expect(result.stdout).toMatch(/using an existing local build/);
});
