// onnxruntime-node as a peer of bench/inference.ts, in its own process (its thread pool
// spins between runs, as OpenMP's does; a process of its own keeps that out of neocog's turns),
// speaking bench/torch_peer.py's line protocol: the case list first, then `prepare i`,
// `run i`, `release i`, `quit`, one JSON line in reply to each.
//
// onnxruntime-node comes from bench/run.sh's install (bench/ort.ts). Each row runs
// the ONNX file the PyTorch 1.13 peer exported from the row's weights, on the input neocog
// wrote, with every graph optimisation on, `threads` intra-op threads and sequential
// execution: onnxruntime's fastest CPU setup for one batch at a time.
//   npx tsx bench/ort_peer.ts <threads>
import { createInterface } from 'node:readline';

import { io, tensor, type Tensor } from '../lib/index.js';
import { warmUp } from './alternate.js';
import type { InferenceCase } from './inference_cases.js';
import { loadOrt, type OrtSession, type OrtTensor } from './ort.js';
import { fingerprint } from './output_check.js';

async function medianMs(fn: () => Promise<unknown>, repeats: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < repeats; ++i) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1]!;
}

async function main(): Promise<void> {
  const threads = Number(process.argv[2] ?? 2);
  const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  const reply = (obj: unknown) => process.stdout.write(`${JSON.stringify(obj)}\n`);
  const first = await lines.next();
  const { cases } = JSON.parse(first.value as string) as { cases: InferenceCase[] };
  const ort = loadOrt();
  reply({ torch: `onnxruntime-node ${ort.env.versions.node}`, threads, capability: 'n/a' });
  const prepared = new Map<number, () => Promise<Record<string, OrtTensor>>>();
  const sessions = new Map<number, OrtSession>();
  for await (const line of lines) {
    const [command, index] = line.trim().split(/\s+/);
    if (!command || command === 'quit') break;
    try {
      const i = Number(index);
      const c = cases[i]!;
      if (command === 'prepare') {
        const session = await ort.InferenceSession.create(c.onnxFile, {
          executionProviders: ['cpu'],
          graphOptimizationLevel: 'all',
          executionMode: 'sequential',
          intraOpNumThreads: threads,
          interOpNumThreads: 1,
        });
        const input = io.loadSafetensorsSync(c.sharedFile).tensors.get('__input__') as Tensor | undefined;
        if (!input) throw new Error(`${c.sharedFile} has no __input__`);
        const feed = new ort.Tensor('float32', input.dataSync() as Float32Array, input.shape);
        const run = () => session.run({ [session.inputNames[0]!]: feed });
        sessions.set(i, session);
        prepared.set(i, run);
        await warmUp(run, c.warmup);
        const logits = Object.values(await run())[0]!;
        const out = tensor(logits.data, { shape: logits.dims });
        reply({ formats: ['nchw'], params: null, check: await fingerprint(out) });
        out.dispose();
      } else if (command === 'run') {
        reply({ ms: { nchw: await medianMs(prepared.get(i)!, c.repeats) } });
      } else if (command === 'release') {
        prepared.delete(i);
        await sessions.get(i)?.release();
        sessions.delete(i);
        reply({});
      } else {
        reply({ error: `ort_peer: unknown command ${command}` });
      }
    } catch (error) {
      reply({ error: `${(error as Error).name}: ${(error as Error).message}` });
    }
  }
  process.exit(0);
}

await main();
