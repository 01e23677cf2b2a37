// Batch inference over many images on a job queue: BullMQ on Redis. A producer enqueues image
// paths (or the files' bytes) in chunks; any number of worker processes, on any machine that
// reaches Redis and the images, run them through an InferenceSession and write one JSONL
// shard per job; `collect` merges the shards.
//
//   node --import tsx examples/batch-queue.ts produce --redis redis://127.0.0.1:6379 --images photos/ [--chunk 16] [--inline]
//   node --import tsx examples/batch-queue.ts work    --redis redis://127.0.0.1:6379 --out results/ [--model resnet18] [--weights w.safetensors] [--until-empty]
//   node --import tsx examples/batch-queue.ts collect --out results/ > predictions.jsonl
//
// Nothing is lost or written twice:
// - a job's id is its chunk's number (`chunk-<n>`): running the producer again on the same
//   images adds nothing BullMQ does not already hold;
// - a job's results go to `<out>/shards/<job id>.jsonl`, written to a temporary file and
//   renamed, so a job that runs again (a retry, or a crashed worker's job taken over) replaces
//   its shard whole, and a half-written shard is never seen;
// - a failed job (an error other than a bad image) is retried with exponential backoff; a
//   worker that dies stops renewing its jobs' locks, and another worker takes them over once
//   the lock expires (`--lock-ms`);
// - an image that cannot be decoded is recorded with its typed error rather than retried.
// Workers stop on SIGTERM/SIGINT, or with --until-empty once no job waits, after finishing
// their active jobs.
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import { Queue, Worker, type ConnectionOptions, type Job } from 'bullmq';

import { ArgumentError, data, infer, manualSeed, models, NeocogError, zeros, type nn, type Tensor } from '../lib/index.js';
import type { ClassPrediction, Pipeline } from '../lib/infer/index.js';

/** One image of a job: its result key, and its path or its file's bytes (base64). */
export interface BatchItem {
  key: string;
  path?: string;
  bytes?: string;
}

/** One line of the output: an image's top classes, or why it could not be read. */
export interface BatchResult {
  key: string;
  predictions?: Array<{ class: number; label?: string; score: number }>;
  error?: { name: string; message: string };
}

/** The classifiers a worker can run, and the input each expects. */
const MODELS = {
  resnet18: { build: (numClasses: number) => models.resnet18({ numClasses }), size: 224, channels: 3, mean: infer.IMAGENET_MEAN, std: infer.IMAGENET_STD },
  mobilenetV2: { build: (numClasses: number) => models.mobilenetV2({ numClasses }), size: 224, channels: 3, mean: infer.IMAGENET_MEAN, std: infer.IMAGENET_STD },
  // The main job's Fashion-MNIST classifier (28 × 28 grayscale, the training set's mean and std).
  simpleCnn: { build: (numClasses: number) => models.simpleCnn({ inChannels: 1, numClasses }), size: 28, channels: 1, mean: [0.286], std: [0.353] },
} as const;
type ModelName = keyof typeof MODELS;

/** What a worker runs. */
export interface WorkerSettings {
  model: ModelName;
  weights?: string;
  numClasses: number;
  labels?: readonly string[];
  mean?: readonly number[];
  std?: readonly number[];
  top: number;
}

const connection = (url: string): ConnectionOptions => ({ url, maxRetriesPerRequest: null });

/** The image files under `dir`, sorted (their paths relative to `dir` are the result keys). */
export function listImages(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => data.IMAGE_EXTENSIONS.some((ext) => name.toLowerCase().endsWith(ext)))
    .sort()
    .map((name) => join(dir, name));
}

/** Enqueues the images under `dir` in chunks of `chunk`; returns the number of jobs. */
export async function produce(opts: { redis: string; queue: string; images: string; chunk: number; inline: boolean }): Promise<number> {
  if (!(Number.isInteger(opts.chunk) && opts.chunk > 0)) throw new ArgumentError(`produce: --chunk must be a positive integer, got ${opts.chunk}`);
  const paths = listImages(opts.images);
  const queue = new Queue<{ items: BatchItem[] }>(opts.queue, { connection: connection(opts.redis) });
  try {
    const jobs = [];
    for (let start = 0, n = 0; start < paths.length; start += opts.chunk, ++n) {
      const items = paths.slice(start, start + opts.chunk).map((path): BatchItem => {
        const key = relative(opts.images, path);
        return opts.inline ? { key, bytes: readFileSync(path).toString('base64') } : { key, path };
      });
      jobs.push({
        name: 'classify',
        data: { items },
        opts: { jobId: `chunk-${n}`, attempts: 5, backoff: { type: 'exponential', delay: 500 }, removeOnFail: false, removeOnComplete: false },
      });
    }
    for (let start = 0; start < jobs.length; start += 500) await queue.addBulk(jobs.slice(start, start + 500));
    return jobs.length;
  } finally {
    await queue.close();
  }
}

/** The session and pipeline a worker runs jobs through. */
export async function buildClassifier(settings: WorkerSettings) {
  const spec = MODELS[settings.model];
  manualSeed(0); // without --weights: seeded random weights, the same in every worker
  const factory = (): nn.Module<[Tensor], Tensor> => spec.build(settings.numClasses);
  const example = zeros([1, spec.channels, spec.size, spec.size]);
  const sessionOptions = { example, maxBatch: 32, maxDelayMs: 5 };
  const session = settings.weights ? await infer.InferenceSession.fromFile(settings.weights, factory, sessionOptions) : await infer.InferenceSession.create(factory(), sessionOptions);
  example.dispose();
  const preprocess = infer.imageClassificationPreset({
    resizeSize: spec.size === 224 ? 256 : spec.size,
    cropSize: spec.size,
    channels: spec.channels,
    mean: settings.mean ?? spec.mean,
    std: settings.std ?? spec.std,
  });
  const postprocess = infer.classificationPostprocess({ k: settings.top, ...(settings.labels ? { labels: settings.labels } : {}) });
  return { session, pipeline: new infer.Pipeline(session, { preprocess, postprocess }) };
}

/** The results of one job's images: bad images are recorded with their typed error, other errors fail the job. */
export async function classifyItems(pipeline: Pipeline<string | Uint8Array, ClassPrediction[]>, items: readonly BatchItem[]): Promise<BatchResult[]> {
  return Promise.all(
    items.map(async ({ key, path, bytes }): Promise<BatchResult> => {
      try {
        const predictions = await pipeline.predict(path ?? Buffer.from(bytes ?? '', 'base64'));
        return { key, predictions: predictions.map((p) => ({ class: p.index, ...(p.label ? { label: p.label } : {}), score: p.score })) };
      } catch (error) {
        if (error instanceof NeocogError && error.name === 'FormatError') return { key, error: { name: error.name, message: error.message } };
        throw error;
      }
    }),
  );
}

/** Writes a job's shard whole: to a temporary file, then renamed over any earlier run's. */
function writeShard(out: string, jobId: string, results: readonly BatchResult[]): void {
  const shard = join(out, 'shards', `${jobId}.jsonl`);
  const temporary = `${shard}.${process.pid}.tmp`;
  writeFileSync(temporary, results.map((r) => JSON.stringify(r)).join('\n') + '\n');
  renameSync(temporary, shard);
}

/** Runs a worker until SIGTERM/SIGINT (or the queue is drained, with `untilEmpty`): `concurrency` jobs at once, their images batched together by the session. */
export async function work(opts: { redis: string; queue: string; out: string; concurrency: number; lockMs: number; untilEmpty: boolean } & WorkerSettings): Promise<void> {
  mkdirSync(join(opts.out, 'shards'), { recursive: true });
  const { session, pipeline } = await buildClassifier(opts);
  const worker = new Worker<{ items: BatchItem[] }, { count: number }>(
    opts.queue,
    async (job: Job<{ items: BatchItem[] }>) => {
      const results = await classifyItems(pipeline, job.data.items);
      writeShard(opts.out, job.id!, results);
      return { count: results.length };
    },
    // A dead worker's jobs return to the queue once their lock (renewed every lockMs / 2 while
    // the worker lives) has expired, found by the other workers' stalled-job check.
    { connection: connection(opts.redis), concurrency: opts.concurrency, lockDuration: opts.lockMs, stalledInterval: opts.lockMs, maxStalledCount: 5 },
  );
  worker.on('failed', (job, error) => console.error(`job ${job?.id} failed (attempt ${job?.attemptsMade}): ${error.message}`));
  worker.on('stalled', (jobId) => console.log(`job ${jobId} stalled: taken over`));
  await worker.waitUntilReady();
  console.log(`worker ${process.pid} ready`);
  await new Promise<void>((resolve) => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => resolve());
    if (opts.untilEmpty) worker.once('drained', () => resolve());
  });
  await worker.close();
  await session.close();
}

/** Every result line of the shards under `out`, sorted by key; an image found twice is an error. */
export function collect(out: string): BatchResult[] {
  const dir = join(out, 'shards');
  const results = new Map<string, BatchResult>();
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.jsonl'))) {
    for (const line of readFileSync(join(dir, name), 'utf8').split('\n')) {
      if (line === '') continue;
      const result = JSON.parse(line) as BatchResult;
      if (results.has(result.key)) throw new NeocogError(`collect: ${result.key} appears in two shards`);
      results.set(result.key, result);
    }
  }
  return [...results.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

const numbers = (text: string | undefined): number[] | undefined => text?.split(',').map(Number);

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
      queue: { type: 'string', default: 'neocog-batch' },
      images: { type: 'string' },
      chunk: { type: 'string', default: '16' },
      inline: { type: 'boolean', default: false },
      out: { type: 'string', default: 'runs/batch-queue' },
      model: { type: 'string', default: 'resnet18' },
      weights: { type: 'string' },
      'num-classes': { type: 'string', default: '1000' },
      labels: { type: 'string' },
      mean: { type: 'string' },
      std: { type: 'string' },
      top: { type: 'string', default: '5' },
      concurrency: { type: 'string', default: '4' },
      'lock-ms': { type: 'string', default: '30000' },
      'until-empty': { type: 'boolean', default: false },
    },
  });
  const command = positionals[0];
  if (command === 'produce') {
    if (!values.images) throw new ArgumentError('produce: --images <dir> is required');
    const jobs = await produce({ redis: values.redis, queue: values.queue, images: values.images, chunk: Number(values.chunk), inline: values.inline });
    console.log(`enqueued ${jobs} jobs on ${values.queue}`);
  } else if (command === 'work') {
    if (!Object.hasOwn(MODELS, values.model)) throw new ArgumentError(`work: --model must be one of ${Object.keys(MODELS).join(', ')}, got ${values.model}`);
    const labels = values.labels ? readFileSync(values.labels, 'utf8').split('\n').filter((l) => l !== '') : undefined;
    await work({
      redis: values.redis,
      queue: values.queue,
      out: values.out,
      concurrency: Number(values.concurrency),
      lockMs: Number(values['lock-ms']),
      untilEmpty: values['until-empty'],
      model: values.model as ModelName,
      ...(values.weights ? { weights: values.weights } : {}),
      numClasses: Number(values['num-classes']),
      ...(labels ? { labels } : {}),
      ...(values.mean ? { mean: numbers(values.mean)! } : {}),
      ...(values.std ? { std: numbers(values.std)! } : {}),
      top: Number(values.top),
    });
  } else if (command === 'collect') {
    // A reader that stops early (`| head`) ends the output, not in an error.
    process.stdout.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
      process.exit(0);
    });
    for (const result of collect(values.out)) process.stdout.write(`${JSON.stringify(result)}\n`);
  } else {
    throw new ArgumentError(`batch-queue: expected produce, work or collect, got ${command ?? 'nothing'}`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
