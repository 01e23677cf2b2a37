// The serving example under load (issue 15, "Server"): examples/serve.ts on loopback, driven
// closed-loop by concurrent clients that each send the next request as soon as the last is
// answered, with dynamic batching on (--max-batch 16) and off (--max-batch 1). Configurations
// take turns round by round (a fresh server each turn, warmed up first); the table gives the
// median over rounds of requests/s, p50 and p99 latency, the mean batch size, and the longest
// answer to GET /healthz, probed every 50 ms during the load (a server whose event loop
// waited on inference would answer it late). Run with `npm run bench -- serve`;
// NEOCOG_BENCH_ROUNDS sets the turns.
import { spawn, type ChildProcess } from 'node:child_process';

import sharp from 'sharp';

import { casesFromArgv, roundsFromEnv } from './cases.js';
import { describeMachine, machineLines } from './machine.js';
import { printTable, saveResults } from './report.js';

const MODEL = 'resnet18';
const SIZE = 224;
const CLIENTS = 32;
const SECONDS = 15;
const WARMUP = 64;
const configs = [
  { name: 'batching off', args: ['--max-batch', '1', '--max-delay-ms', '0'] },
  { name: 'batching on', args: ['--max-batch', '16', '--max-delay-ms', '5'] },
];

interface Round {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  meanBatch: number;
  healthzMaxMs: number;
}

/** Starts examples/serve.ts on a free port; resolves with the process and its address. */
function startServer(extra: string[]): Promise<{ server: ChildProcess; base: string }> {
  const args = ['--import', 'tsx', 'examples/serve.ts', '--port', '0', '--model', MODEL, '--size', String(SIZE), '--max-queue', '4096', ...extra];
  const server = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    server.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match) resolve({ server, base: match[1]! });
    });
    server.once('exit', (code) => reject(new Error(`serve.ts exited with ${code}: ${out}`)));
  });
}

/** A counter or gauge of the server's /metrics. */
async function metric(base: string, name: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? NaN);
}

const quantile = (sorted: readonly number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

/** One turn of one configuration: a fresh server, warm-up, then CLIENTS closed-loop clients for SECONDS. */
async function turn(extra: string[], image: Buffer): Promise<Round> {
  const { server, base } = await startServer(extra);
  try {
    const post = async (): Promise<number> => {
      const started = performance.now();
      const res = await fetch(`${base}/predict`, { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: image });
      if (res.status !== 200) throw new Error(`serve: ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
      return performance.now() - started;
    };
    await Promise.all(Array.from({ length: CLIENTS }, async () => {
      for (let k = 0; k < WARMUP / CLIENTS; ++k) await post();
    }));
    const [batchesBefore, sizesBefore] = await Promise.all([metric(base, 'neocog_batch_size_count'), metric(base, 'neocog_batch_size_sum')]);
    const latencies: number[] = [];
    const probes: number[] = [];
    const until = performance.now() + SECONDS * 1000;
    const started = performance.now();
    const probe = async (): Promise<void> => {
      while (performance.now() < until) {
        const sent = performance.now();
        await (await fetch(`${base}/healthz`)).arrayBuffer();
        probes.push(performance.now() - sent);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    await Promise.all([
      probe(),
      ...Array.from({ length: CLIENTS }, async () => {
        while (performance.now() < until) latencies.push(await post());
      }),
    ]);
    const elapsed = (performance.now() - started) / 1000;
    const [batches, sizes] = await Promise.all([metric(base, 'neocog_batch_size_count'), metric(base, 'neocog_batch_size_sum')]);
    latencies.sort((a, b) => a - b);
    return {
      requestsPerSecond: latencies.length / elapsed,
      p50: quantile(latencies, 0.5),
      p99: quantile(latencies, 0.99),
      meanBatch: (sizes - sizesBefore) / (batches - batchesBefore),
      healthzMaxMs: Math.max(...probes),
    };
  } finally {
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
  }
}

if (!casesFromArgv().serve) process.exit(0);
const rounds = roundsFromEnv();
const machine = describeMachine();
for (const line of machineLines(machine)) console.log(line);
const image = await sharp({ create: { width: 320, height: 240, channels: 3, background: '#c83' } }).jpeg().toBuffer();
console.log(`serve: ${MODEL} at ${SIZE}x${SIZE}, ${CLIENTS} closed-loop clients for ${SECONDS} s per turn, ${rounds} rounds (${configs.map((c) => c.name).join(', ')})`);
const results = configs.map(() => [] as Round[]);
for (let r = 0; r < rounds; ++r) {
  for (const [k, config] of configs.entries()) {
    const round = await turn(config.args, image);
    results[k]!.push(round);
    console.log(`  round ${r + 1} ${config.name}: ${round.requestsPerSecond.toFixed(1)} req/s, p50 ${round.p50.toFixed(1)} ms, p99 ${round.p99.toFixed(1)} ms, mean batch ${round.meanBatch.toFixed(1)}, healthz max ${round.healthzMaxMs.toFixed(1)} ms`);
  }
}
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const rows = configs.map((config, k) => {
  const of = (key: keyof Round) => median(results[k]!.map((round) => round[key]));
  return {
    config: `${config.name} (${config.args.join(' ')})`,
    'req/s': +of('requestsPerSecond').toFixed(1),
    'p50 ms': +of('p50').toFixed(1),
    'p99 ms': +of('p99').toFixed(1),
    'mean batch': +of('meanBatch').toFixed(1),
    'healthz max ms': +of('healthzMaxMs').toFixed(1),
  };
});
console.log(`\nmedians over ${rounds} rounds`);
printTable(rows);
console.log(`wrote ${saveResults('serve', { machine, rounds, configs, cases: results.map((rounds, k) => ({ config: configs[k]!.name, rounds })) })}`);
process.exit(0);
