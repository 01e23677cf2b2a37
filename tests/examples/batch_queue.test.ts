// examples/batch-queue.ts on a real redis-server (started here on a free port): 2,000 jobs, two
// worker processes, one killed mid-run; every image's result is present exactly once and equal
// to the model's, and producing the same images again adds nothing.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Queue } from 'bullmq';
import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';

import { data } from '../../lib/index.js';
import { buildClassifier, classifyItems, collect, listImages, produce, type WorkerSettings } from '../../examples/batch-queue.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'neocog-batch-queue-'));
const images = join(dir, 'images');
const out = join(dir, 'out');
const total = 2000;
const labels = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
const settings: WorkerSettings = { model: 'simpleCnn', numClasses: 10, labels, mean: [0.286], std: [0.353], top: 3 };
let redis: ChildProcess | undefined;
let url = '';
const workers: ChildProcess[] = [];
const outputs = new Map<ChildProcess, string>();

/** A TCP port nothing listens on now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Spawns a process and resolves once its stdout (kept in `outputs`) matches `ready`. */
function start(command: string, args: string[], ready: RegExp): Promise<ChildProcess> {
  const child = spawn(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  outputs.set(child, '');
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      outputs.set(child, outputs.get(child)! + chunk.toString());
      if (ready.test(outputs.get(child)!)) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`${command} exited with ${code}: ${outputs.get(child)}`)));
  });
}

function startWorker(): Promise<ChildProcess> {
  writeFileSync(join(dir, 'labels.txt'), labels.join('\n'));
  const args = ['--import', 'tsx', 'examples/batch-queue.ts', 'work', '--redis', url, '--queue', 'images', '--out', out, '--model', 'simpleCnn', '--num-classes', '10'];
  args.push('--labels', join(dir, 'labels.txt'), '--mean', '0.286', '--std', '0.353', '--top', '3', '--concurrency', '8', '--lock-ms', '2000');
  return start(process.execPath, args, /worker \d+ ready/);
}

beforeAll(async () => {
  const port = await freePort();
  redis = await start('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], /Ready to accept connections/);
  url = `redis://127.0.0.1:${port}`;
  // The first 2,000 Fashion-MNIST test images as PNG files, 500 per folder.
  const idx = data.readIdx(join(root, 'examples/data/fashion-mnist/t10k-images-idx3-ubyte.gz'));
  for (let i = 0; i < total; ++i) {
    const folder = join(images, `part${Math.floor(i / 500)}`);
    if (i % 500 === 0) mkdirSync(folder, { recursive: true });
    const pixels = Buffer.from(idx.data.subarray(i * 784, (i + 1) * 784));
    await sharp(pixels, { raw: { width: 28, height: 28, channels: 1 } }).png().toFile(join(folder, `${String(i).padStart(5, '0')}.png`));
  }
}, 120_000);

afterAll(async () => {
  for (const child of [...workers, redis]) {
    if (!child || child.exitCode !== null || child.signalCode !== null) continue;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

it('runs 2,000 jobs on two workers, one killed mid-run, with every result present exactly once', async () => {
  const jobs = await produce({ redis: url, queue: 'images', images, chunk: 1, inline: false });
  expect(jobs).toBe(total);
  workers.push(await startWorker(), await startWorker());
  const queue = new Queue('images', { connection: { url } });
  try {
    const completed = async () => (await queue.getJobCounts('completed')).completed!;
    const until = async (done: () => Promise<boolean>, seconds: number) => {
      for (const started = Date.now(); !(await done()); await new Promise((r) => setTimeout(r, 100))) {
        if (Date.now() - started > seconds * 1000) throw new Error(`timed out: ${JSON.stringify(await queue.getJobCounts())}`);
      }
    };
    await until(async () => (await completed()) >= total / 4, 120);
    workers[0]!.kill('SIGKILL'); // mid-run: its active jobs are taken over once their locks expire
    await until(async () => (await completed()) === total, 240);
    expect(await queue.getJobCounts('failed', 'waiting', 'active', 'delayed')).toEqual({ failed: 0, waiting: 0, active: 0, delayed: 0 });
    // The survivor took over the jobs the killed worker held.
    expect(outputs.get(workers[1]!)).toMatch(/job chunk-\d+ stalled: taken over/);

    // Producing the same images again adds no job.
    await produce({ redis: url, queue: 'images', images, chunk: 1, inline: false });
    expect(await queue.getJobCounts('completed', 'waiting')).toEqual({ completed: total, waiting: 0 });
  } finally {
    await queue.close();
  }

  const results = collect(out); // throws if an image appears in two shards
  const paths = listImages(images);
  expect(results.map((r) => r.key)).toEqual(paths.map((p) => p.slice(images.length + 1)));
  expect(results.every((r) => r.predictions?.length === 3 && r.error === undefined)).toBe(true);
  // The workers' results equal this process's model on the same files.
  const { session, pipeline } = await buildClassifier(settings);
  const sample = Array.from({ length: 40 }, (_, i) => ({ key: results[i * 50]!.key, path: paths[i * 50]! }));
  const expected = await classifyItems(pipeline, sample);
  await session.close();
  expected.forEach((want, i) => {
    const got = results[i * 50]!;
    expect(got.predictions!.map((p) => p.label)).toEqual(want.predictions!.map((p) => p.label));
    got.predictions!.forEach((p, j) => expect(p.score).toBeCloseTo(want.predictions![j]!.score, 5));
  });
}, 400_000);

it('records an undecodable image with its typed error instead of retrying, from bytes sent in the job', async () => {
  const { session, pipeline } = await buildClassifier(settings);
  const good = listImages(images)[0]!;
  const [ok, bad] = await classifyItems(pipeline, [
    { key: 'good', path: good },
    { key: 'bad', bytes: Buffer.from('not a png').toString('base64') },
  ]);
  await session.close();
  expect(ok!.predictions).toHaveLength(3);
  expect(bad).toMatchObject({ key: 'bad', error: { name: 'FormatError' } });
});
