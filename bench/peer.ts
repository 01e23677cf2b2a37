// One long-lived PyTorch process (bench/torch_peer.py) driven over a line protocol: it is
// fed the case list once, then builds, runs and releases cases only when told, so the
// driver can alternate it with neocog and the other peers and no two ever measure at once.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';

import type { OutputFingerprint } from './output_check.js';

/** PyTorch's two layouts of 4-d activations; neocog's own is channels-last throughout. */
export type MemoryFormat = 'nchw' | 'channels_last';

/** Which workload module a peer loads: bench/torch_ops.py, train_torch.py, detection_torch.py, segmentation_torch.py or inference_torch.py. */
export type PeerKind = 'ops' | 'train' | 'detection' | 'segmentation' | 'inference';

/** What a peer says about itself once started. */
export interface PeerInfo {
  /** The library's version (onnxruntime's peer gives "onnxruntime-node <version>"). */
  torch: string;
  threads: number;
  /** ATen's CPU kernel set (AVX2, AVX512). */
  capability: string;
}

/** How to start a peer: interpreter, environment (allocator, kernel set) and layouts to try. */
export interface PeerLaunch {
  python: string;
  /** The full environment of the process (not merged with ours, so the default config stays default). */
  env: NodeJS.ProcessEnv;
  /** Layouts measured on cases whose `memoryFormats` is set; the best is reported. */
  formats: MemoryFormat[];
}

type Reply = Record<string, unknown> & { error?: string };

/** A running torch_peer.py. Requests are answered in order, one JSON line each. */
export class Peer {
  private readonly waiting: { resolve: (r: Reply) => void; reject: (e: Error) => void }[] = [];
  private stderrTail = '';
  private exited: Error | null = null;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const next = this.waiting.shift();
      if (!next) return;
      try {
        next.resolve(JSON.parse(line) as Reply);
      } catch {
        next.reject(new Error(`torch_peer: expected one JSON line, got ${JSON.stringify(line.slice(0, 200))}`));
      }
    });
    // Keep the end of stderr (a Python traceback) for the error a crash produces.
    child.stderr.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString()).slice(-2000);
    });
    const fail = (error: Error) => {
      this.exited ??= error;
      for (const w of this.waiting.splice(0)) w.reject(this.exited);
    };
    child.on('exit', (code, signal) => fail(new Error(`torch_peer exited (${signal ?? `code ${code}`}): ${this.stderrTail.trim()}`)));
    // A missing interpreter is an 'error' event (ENOENT), not an exit.
    child.on('error', (error) => fail(new Error(`torch_peer did not start: ${error.message}`)));
    child.stdin.on('error', () => undefined); // EPIPE after a crash: 'exit' reports it
  }

  /** Starts `bench/torch_peer.py <kind>` and hands it the case list; resolves once torch is imported. */
  static start(kind: PeerKind, launch: PeerLaunch, cases: readonly object[], threads: number): Promise<{ peer: Peer; info: PeerInfo }> {
    return Peer.spawn(launch.python, ['bench/torch_peer.py', kind, String(threads)], launch.env, launch.formats, cases);
  }

  /** Starts any process that speaks torch_peer.py's protocol (bench/ort_peer.ts) and hands it the case list. */
  static async spawn(
    command: string,
    args: readonly string[],
    env: NodeJS.ProcessEnv,
    formats: readonly MemoryFormat[],
    cases: readonly object[],
  ): Promise<{ peer: Peer; info: PeerInfo }> {
    const child = spawn(command, [...args], { env, stdio: 'pipe' });
    const peer = new Peer(child);
    const info = (await peer.send(JSON.stringify({ cases, formats }))) as unknown as PeerInfo;
    return { peer, info };
  }

  /** Sends one line; resolves with the reply, rejects when the process died or answered an error. */
  async send(line: string): Promise<Reply> {
    if (this.exited) throw this.exited;
    const reply = await new Promise<Reply>((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.child.stdin.write(`${line}\n`);
    });
    if (typeof reply.error === 'string') throw new Error(reply.error);
    return reply;
  }

  /** Milliseconds of the probe workload (large fresh tensors, convolutions, pooling) and the page faults it took. */
  async probe(): Promise<{ ms: number; faults: number }> {
    const r = await this.send('probe');
    return { ms: r.ms as number, faults: r.faults as number };
  }

  /** Builds case `i` and warms it up in each layout; returns the layouts, the parameter count (models) and the output's fingerprint (where the workload has one). */
  async prepare(i: number): Promise<{ formats: MemoryFormat[]; params: number | null; check?: OutputFingerprint }> {
    const r = await this.send(`prepare ${i}`);
    const prepared = { formats: r.formats as MemoryFormat[], params: (r.params as number | null) ?? null };
    return r.check === undefined ? prepared : { ...prepared, check: r.check as OutputFingerprint };
  }

  /** Median ms of case `i`'s repeats, per layout. */
  async run(i: number): Promise<Partial<Record<MemoryFormat, number>>> {
    return (await this.send(`run ${i}`)).ms as Partial<Record<MemoryFormat, number>>;
  }

  /** Frees case `i`'s tensors in the peer. */
  async release(i: number): Promise<void> {
    await this.send(`release ${i}`);
  }

  /** Asks the process to exit (and kills it if it does not within a second). */
  close(): void {
    if (this.exited) return;
    this.child.stdin.end('quit\n');
    setTimeout(() => this.child.kill(), 1000).unref();
  }
}
