// examples/serve.ts over real HTTP on loopback: 1,000 concurrent requests, 1% of them
// malformed (truncated PNG, a 0×0 PNG, bytes that are no image, malformed JSON, JSON without
// an image, a 50 MB body). Every good request gets the predictions the same model computes
// directly; every bad one a 4xx naming a typed error; the process's memory ends near where
// it started; /healthz and /metrics answer.
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';

import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';

import { infer, noGrad } from '../../lib/index.js';
import { buildModel, preset } from '../../examples/serve.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const settings = { model: 'resnet18', numClasses: 10, size: 64 } as const;
let server: ChildProcess;
let base = '';

beforeAll(async () => {
  const args = ['--import', 'tsx', 'examples/serve.ts', '--port', '0', '--size', String(settings.size), '--num-classes', String(settings.numClasses)];
  server = spawn(process.execPath, [...args, '--max-batch', '8', '--max-delay-ms', '2', '--max-queue', '1024'], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  base = await new Promise<string>((resolve, reject) => {
    let out = '';
    server.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match) resolve(match[1]!);
    });
    server.once('exit', (code) => reject(new Error(`serve.ts exited with ${code}: ${out}`)));
  });
}, 60_000);

afterAll(() => {
  server?.kill('SIGTERM');
});

/** The server's resident memory, from prom-client's process metrics. */
async function residentBytes(): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  return Number(/^process_resident_memory_bytes (\d+)/m.exec(text)![1]);
}

/**
 * A body over the server's 10 MB limit, announced with `Expect: 100-continue` (as curl sends
 * large uploads): the server refuses it with 413 before the body is sent.
 */
function postHuge(bytes: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers = { 'content-type': 'image/png', 'content-length': bytes, expect: '100-continue' };
    const req = request(`${base}/predict`, { method: 'POST', headers }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('continue', () => req.end(Buffer.alloc(bytes)));
    req.on('error', reject);
    req.flushHeaders();
  });
}

it('answers 1,000 concurrent requests, good ones correctly and each malformed one with a typed 4xx', async () => {
  // Six distinct images: sizes, formats, grayscale and alpha.
  const noise = (w: number, h: number, channels: 1 | 3 | 4, seed: number) => {
    const pixels = Buffer.alloc(w * h * channels);
    for (let i = 0; i < pixels.length; ++i) pixels[i] = (i * 2654435761 + seed * 97) % 251;
    return sharp(pixels, { raw: { width: w, height: h, channels } });
  };
  const images = await Promise.all([
    noise(64, 64, 3, 1).png().toBuffer(),
    noise(100, 80, 3, 2).jpeg({ quality: 90 }).toBuffer(),
    noise(40, 90, 1, 3).png().toBuffer(),
    noise(70, 70, 4, 4).png().toBuffer(),
    noise(128, 128, 3, 5).webp().toBuffer(),
    noise(33, 47, 3, 6).png().toBuffer(),
  ]);
  const model = buildModel(settings).eval();
  const prepare = preset(settings.size);
  const expected = await Promise.all(
    images.map(async (bytes) => {
      const { tensor } = await prepare(bytes);
      const [top] = await infer.topClasses(noGrad(() => model.call(tensor.unsqueeze(0))), { k: 5 });
      return top!.map((p) => ({ class: p.index, score: p.score }));
    }),
  );

  const zeroByZero = Buffer.from(images[0]!); // IHDR width and height set to 0
  zeroByZero.writeUInt32BE(0, 16);
  zeroByZero.writeUInt32BE(0, 20);
  const malformed: Array<() => Promise<{ status: number; body: string }>> = [
    ...[images[0]!.subarray(0, images[0]!.length >> 1), zeroByZero, Buffer.from('not an image at all')].map(
      (body) => async () => {
        const res = await fetch(`${base}/predict`, { method: 'POST', headers: { 'content-type': 'image/png' }, body });
        return { status: res.status, body: await res.text() };
      },
    ),
    ...['{"image": 3', '{"picture": "abc"}'].map((body) => async () => {
      const res = await fetch(`${base}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      return { status: res.status, body: await res.text() };
    }),
    () => postHuge(50 * 2 ** 20),
  ];

  // Warm up, then note the memory the loaded server holds.
  for (const bytes of images) expect((await fetch(`${base}/predict`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: bytes })).status).toBe(200);
  const before = await residentBytes();

  const total = 1000;
  const bad = new Set(Array.from({ length: 10 }, (_, k) => 50 + k * 97)); // 1%, spread through the run
  let next = 0;
  const failures: string[] = [];
  let good = 0;
  let rejectedBad = 0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      if (bad.has(i)) {
        const { status, body } = await malformed[i % malformed.length]!();
        if (status >= 400 && status < 500 && /"error":"\w+","message":"/.test(body)) rejectedBad += 1;
        else failures.push(`malformed request ${i}: ${status} ${body.slice(0, 200)}`);
        continue;
      }
      const k = i % images.length;
      // Half as raw bodies, half as base64 JSON.
      const res =
        i % 2 === 0
          ? await fetch(`${base}/predict`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: images[k]! })
          : await fetch(`${base}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ image: images[k]!.toString('base64') }) });
      const body = (await res.json()) as { predictions?: Array<{ class: number; score: number }> };
      const want = expected[k]!;
      const ok =
        res.status === 200 &&
        body.predictions?.length === 5 &&
        body.predictions.every((p, j) => p.class === want[j]!.class && Math.abs(p.score - want[j]!.score) < 1e-4);
      if (ok) good += 1;
      else failures.push(`request ${i} (image ${k}): ${res.status} ${JSON.stringify(body).slice(0, 200)}`);
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  expect(failures).toEqual([]);
  expect(good).toBe(total - bad.size);
  expect(rejectedBad).toBe(bad.size);

  const after = await residentBytes();
  expect(after - before).toBeLessThan(150 * 2 ** 20);

  expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok' });
  const metrics = await (await fetch(`${base}/metrics`)).text();
  expect(metrics).toMatch(/^neocog_requests_total\{status="200"\} (\d+)/m);
  expect(Number(/^neocog_requests_total\{status="200"\} (\d+)/m.exec(metrics)![1])).toBe(total - bad.size + images.length);
  expect(metrics).toMatch(/^neocog_batch_size_count \d+/m);
  expect(metrics).toMatch(/^neocog_queue_depth 0/m);
  // Concurrent requests were batched: fewer batches than requests.
  expect(Number(/^neocog_batch_size_count (\d+)/m.exec(metrics)![1])).toBeLessThan(total);
}, 240_000);
