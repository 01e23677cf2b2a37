// An HTTP inference server: fastify in front of an InferenceSession (dynamic batching,
// bounded queue), Prometheus metrics through prom-client.
//
//   node --import tsx examples/serve.ts [--model resnet18|mobilenetV2] [--weights model.safetensors]
//     [--num-classes 1000] [--size 224] [--top 5] [--port 3000] [--host 127.0.0.1]
//     [--max-batch 16] [--max-delay-ms 5] [--max-queue 256]
//
// POST /predict with an image (PNG, JPEG, WebP, ...) as the body (Content-Type image/* or
// application/octet-stream), or JSON `{ "image": "<base64 of the file>" }`, answers
// `{ "predictions": [{ "class": 207, "score": 0.91 }, ...] }`, the top classes by softmax
// probability. Images go through torchvision's classification preset (infer.imageClassificationPreset:
// RGB, the shorter side resized to size · 256 / 224, the center size × size crop, ImageNet's
// mean and std) and an infer.Pipeline around the session. Bad input gets a 4xx and `{ "error": <typed error name>,
// "message": ... }`: 400 for an undecodable image or a malformed JSON body, 413 for a body
// over 10 MB, 415 for a content type without a parser; a full queue gets 503 with Retry-After.
// GET /healthz answers `{ "status": "ok" }`; GET /metrics the Prometheus metrics: requests by
// status, latency, batch sizes and times, queue depth, refused requests, and prom-client's
// process metrics. Without --weights the model has seeded random weights (a torchvision
// state dict in safetensors, e.g. from tests/fixtures/make_interop.py, loads with --weights).
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import Fastify, { type FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

import { ArgumentError, BusyError, infer, manualSeed, models, NeocogError, zeros } from '../lib/index.js';
import type { ImagePreprocess, InferenceSessionOptions } from '../lib/infer/index.js';

/** What the server runs. */
export interface ServeOptions {
  model: 'resnet18' | 'mobilenetV2';
  weights?: string;
  numClasses: number;
  size: number;
  top: number;
  maxBatch: number;
  maxDelayMs: number;
  maxQueue: number;
}

const BODY_LIMIT = 10 * 2 ** 20;

/** The classifier the server runs: a zoo model, seeded (the test builds the same one). */
export function buildModel(opts: Pick<ServeOptions, 'model' | 'numClasses'>) {
  manualSeed(0);
  return opts.model === 'resnet18' ? models.resnet18({ numClasses: opts.numClasses }) : models.mobilenetV2({ numClasses: opts.numClasses });
}

/** How the server prepares images: torchvision's classification preset for `size` × `size` inputs. */
export function preset(size: number): ImagePreprocess {
  return infer.imageClassificationPreset({ resizeSize: Math.round((size * 256) / 224), cropSize: size });
}

/** The request body's image bytes: the raw body, or JSON `{ image: base64 }`. */
function imageBytes(body: unknown): Uint8Array {
  if (Buffer.isBuffer(body)) return body;
  const image = body !== null && typeof body === 'object' ? (body as { image?: unknown }).image : undefined;
  if (typeof image !== 'string' || image.length === 0) {
    throw new ArgumentError('predict: expected an image body, or JSON { "image": "<base64 of an image file>" }');
  }
  return Buffer.from(image, 'base64');
}

/** The server's Prometheus metrics, in a registry of its own. */
function serverMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    requests: new Counter({ name: 'neocog_requests_total', help: 'Prediction requests by HTTP status', labelNames: ['status'], registers }),
    latency: new Histogram({ name: 'neocog_request_duration_seconds', help: 'Prediction request latency', registers, buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] }),
    batchSize: new Histogram({ name: 'neocog_batch_size', help: 'Requests per batch run', registers, buckets: [1, 2, 4, 8, 16, 32, 64] }),
    batchSeconds: new Histogram({ name: 'neocog_batch_duration_seconds', help: 'Time of one batch on the device', registers, buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1] }),
    rejected: new Counter({ name: 'neocog_rejected_total', help: 'Requests refused because the queue was full', registers }),
  };
}

/** The server (not listening yet) and what to close with it. */
export async function buildServer(opts: ServeOptions): Promise<{ app: FastifyInstance; close: () => Promise<void> }> {
  const metrics = serverMetrics();
  const example = zeros([1, 3, opts.size, opts.size]);
  const sessionOptions: InferenceSessionOptions = {
    example,
    maxBatch: opts.maxBatch,
    maxDelayMs: opts.maxDelayMs,
    maxQueue: opts.maxQueue,
    onBatch: (size, ms) => {
      metrics.batchSize.observe(size);
      metrics.batchSeconds.observe(ms / 1000);
    },
  };
  const session = opts.weights
    ? await infer.InferenceSession.fromFile(opts.weights, () => buildModel(opts), sessionOptions)
    : await infer.InferenceSession.create(buildModel(opts), sessionOptions);
  example.dispose();
  const classifier = new infer.Pipeline(session, { preprocess: preset(opts.size), postprocess: infer.classificationPostprocess({ k: opts.top }) });
  new Gauge({ name: 'neocog_queue_depth', help: 'Requests waiting or running', registers: [metrics.registry], collect() {
    this.set(session.stats.queued);
  } });

  const app = Fastify({ bodyLimit: BODY_LIMIT });
  for (const type of ['application/octet-stream', /^image\//]) app.addContentTypeParser(type, { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, _request, reply) => {
    // Typed errors name themselves; fastify's own (413, 415, malformed JSON) keep their status.
    const busy = error instanceof BusyError;
    const status = busy ? 503 : error instanceof NeocogError ? 400 : (error.statusCode ?? 500);
    if (busy) {
      metrics.rejected.inc();
      void reply.header('Retry-After', '1');
    }
    const name = error instanceof NeocogError ? error.name : error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'PayloadTooLarge' : status < 500 ? 'BadRequest' : 'InternalError';
    void reply.status(status).send({ error: name, message: error.message });
  });
  app.addHook('onResponse', async (request, reply) => {
    if (request.url !== '/predict') return;
    metrics.requests.inc({ status: String(reply.statusCode) });
    metrics.latency.observe(reply.elapsedTime / 1000);
  });

  app.post('/predict', async (request) => {
    const predictions = await classifier.predict(imageBytes(request.body));
    return { predictions: predictions.map((p) => ({ class: p.index, score: p.score })) };
  });
  // A client that asks before uploading (`Expect: 100-continue`, as curl does for large
  // bodies) learns of a body over the limit before sending it, rather than having its upload
  // cut off mid-way: answering 413 after closing on unread data can lose the answer to a reset.
  app.server.on('checkContinue', (req, res) => {
    if (Number(req.headers['content-length'] ?? 0) > BODY_LIMIT) {
      res.writeHead(413, { 'content-type': 'application/json', connection: 'close' });
      res.end(JSON.stringify({ error: 'PayloadTooLarge', message: `Request body is too large (limit ${BODY_LIMIT} bytes)` }));
      return;
    }
    res.writeContinue();
    app.server.emit('request', req, res);
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/metrics', async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
  return {
    app,
    close: async () => {
      await app.close();
      await session.close();
    },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string', default: 'resnet18' },
      weights: { type: 'string' },
      'num-classes': { type: 'string', default: '1000' },
      size: { type: 'string', default: '224' },
      top: { type: 'string', default: '5' },
      port: { type: 'string', default: '3000' },
      host: { type: 'string', default: '127.0.0.1' },
      'max-batch': { type: 'string', default: '16' },
      'max-delay-ms': { type: 'string', default: '5' },
      'max-queue': { type: 'string', default: '256' },
    },
  });
  if (values.model !== 'resnet18' && values.model !== 'mobilenetV2') throw new ArgumentError(`serve: --model must be resnet18 or mobilenetV2, got ${values.model}`);
  const { app, close } = await buildServer({
    model: values.model,
    ...(values.weights ? { weights: values.weights } : {}),
    numClasses: Number(values['num-classes']),
    size: Number(values.size),
    top: Number(values.top),
    maxBatch: Number(values['max-batch']),
    maxDelayMs: Number(values['max-delay-ms']),
    maxQueue: Number(values['max-queue']),
  });
  const address = await app.listen({ port: Number(values.port), host: values.host });
  console.log(`listening on ${address}`);
  const stop = () => void close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
