// Worker lifecycle: early exit from a loop, processes that must end, and the compiled package.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { afterAll, expect, it } from 'vitest';

import { data } from '../../lib/index.js';
import { numbers } from './worker_datasets.fixture.js';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../../', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'neocog-prefetch-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

it('breaking out early stops (or, when persistent, cancels) the workers; the next epoch is whole', async () => {
  const args = { n: 40, delayMs: 20 };
  const dataset = Object.assign(numbers(args).dataset, {
    workerSpec: () => ({ module: new URL('./worker_datasets.fixture.ts', import.meta.url).href, exportName: 'numbers', args }),
  });
  for (const persistentWorkers of [false, true]) {
    const loader = new data.DataLoader(dataset, { batchSize: 2, numWorkers: 2, persistentWorkers });
    for await (const [x] of loader) {
      expect(x!.shape).toEqual([2, 2]);
      break;
    }
    // Kept workers drop the requests of the abandoned epoch and serve the new one in order.
    const labels: number[] = [];
    for await (const [, y] of loader) labels.push(...(y!.tolist() as number[]));
    expect(labels).toEqual(Array.from({ length: 40 }, (_, i) => i));
    await loader.close();
  }
});

/**
 * lib/ and the worker fixtures compiled to JavaScript in a package beside the repo's native
 * build: what `npm run build:ts` ships, run without any TypeScript loader.
 */
const compiled = (() => {
  let pkg: string | undefined;
  return (): string => {
    if (pkg) return pkg;
    // esbuild comes with tsx; transpiling file by file is what tsc's emit does here, only faster.
    const esbuild = createRequire(createRequire(import.meta.url).resolve('tsx'))('esbuild') as typeof import('esbuild');
    const out = join(scratch, 'pkg');
    const walk = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
    const fixtures = ['worker_datasets.fixture.ts', 'prefetch_exit.fixture.ts'].map((f) => join(repo, 'tests', 'data', f));
    for (const file of [...walk(join(repo, 'lib')), ...fixtures]) {
      const target = join(out, relative(repo, file).replace(/\.ts$/, '.js'));
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, esbuild.transformSync(readFileSync(file, 'utf8'), { loader: 'ts', format: 'esm', target: 'es2022', sourcefile: file }).code);
    }
    writeFileSync(join(out, 'package.json'), JSON.stringify({ name: 'neocog', type: 'module' }));
    symlinkSync(join(repo, 'build'), join(out, 'build'));
    symlinkSync(join(repo, 'node_modules'), join(out, 'node_modules'));
    return (pkg = out);
  };
})();

it('the compiled package runs its workers from .js files, with no TypeScript loader', async () => {
  const pkg = compiled();
  writeFileSync(
    join(pkg, 'factory.mjs'),
    `import { tensor } from './lib/index.js';
export function items(args) {
  return { dataset: { length: args.n, get: (i) => [tensor([i, -i], { dtype: 'float32' }), i] } };
}`,
  );
  writeFileSync(
    join(pkg, 'main.mjs'),
    `import { data } from './lib/index.js';
import { items } from './factory.mjs';
const spec = { module: new URL('./factory.mjs', import.meta.url).href, exportName: 'items', args: { n: 7 } };
const dataset = Object.assign(items(spec.args).dataset, { workerSpec: () => spec });
const seen = [];
for (const numWorkers of [0, 2]) {
  const labels = [];
  for await (const [, y] of new data.DataLoader(dataset, { batchSize: 3, shuffle: true, seed: 9, numWorkers })) labels.push(y.tolist());
  seen.push(labels);
}
console.log(JSON.stringify(seen));`,
  );
  const { stdout } = await run(process.execPath, [join(pkg, 'main.mjs')], { timeout: 20_000 });
  const [inProcess, threaded] = JSON.parse(stdout) as number[][][];
  expect(inProcess!.flat().sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
  expect(threaded).toEqual(inProcess);
});

it('a script that breaks out of, abandons, or never closes a worker loop exits on its own', async () => {
  const script = join(compiled(), 'tests', 'data', 'prefetch_exit.fixture.js');
  await Promise.all(
    ['break', 'abandon', 'persistent'].map(async (mode) => {
      const { stdout } = await run(process.execPath, [script, mode], { timeout: 20_000 });
      expect(stdout.trim()).toBe(`first batch [0,1], ${mode}`);
    }),
  );
});
