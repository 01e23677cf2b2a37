// Every TypeScript block of the README is a complete program: it type-checks under the
// project's strict settings and runs as written (with 'neocog' resolved to this checkout).
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

import { afterAll, expect, it } from 'vitest';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../', import.meta.url));
const readme = readFileSync(join(repo, 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m, i) => ({
  index: i + 1,
  line: readme.slice(0, m.index).split('\n').length,
  code: m[1]!.replaceAll(/from 'neocog'/g, `from '${join(repo, 'lib', 'index.ts')}'`),
}));
const scratch = mkdtempSync(join(tmpdir(), 'neocog-readme-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const files = blocks.map((b) => {
  const dir = join(scratch, `block${b.index}`);
  mkdirSync(dir);
  const file = join(dir, 'main.mts');
  writeFileSync(file, `${b.code}\nexport {};\n`);
  return file;
});

it('the README has its TypeScript examples', () => {
  expect(blocks.length).toBeGreaterThanOrEqual(5);
});

it('every README block type-checks (strict, noUncheckedIndexedAccess)', { timeout: 180_000 }, async () => {
  const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
  const flags = ['--noEmit', '--strict', '--noUncheckedIndexedAccess', '--skipLibCheck', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--allowImportingTsExtensions', '--types', 'node', '--typeRoots', join(repo, 'node_modules', '@types')];
  const result = await run(process.execPath, [tsc, ...flags, ...files]).catch((e: { stdout: string }) => e);
  expect('stdout' in result ? result.stdout : '').toBe('');
});

for (const [i, block] of blocks.entries()) {
  it(`README block ${block.index} (line ${block.line}) runs as written`, { timeout: 180_000 }, async () => {
    const file = files[i]!;
    // tsx from this checkout: the block's folder has no node_modules of its own.
    const tsx = pathToFileURL(join(repo, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
    const { stderr } = await run(process.execPath, ['--import', tsx, file], { cwd: join(file, '..'), env: { ...process.env, NEOCOG_DEBUG_LEAKS: '' } });
    expect(stderr).not.toMatch(/Error/);
  });
}
