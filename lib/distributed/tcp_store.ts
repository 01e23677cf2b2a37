/**
 * TCPStore, as torch.distributed.TCPStore: a small key-value store that rank 0 serves over
 * TCP, for the rendezvous that has no other channel yet (handing NCCL's unique id from rank
 * 0 to the others when there is no MPI).
 * @module
 */
import { connect, type Socket } from 'node:net';

import { ArgumentError, DistributedError, NeocogError } from '../errors.js';
import { describe } from '../tensor/shape.js';
import { decodeReply, encodeRequest, FrameReader, MAX_FRAME_BYTES, type StoreRequest } from './tcp_store_protocol.js';
import { StoreServer } from './tcp_store_server.js';

/** Options of {@link TCPStore.create}. */
export interface TCPStoreOptions {
  /** Host of rank 0's store: where the master listens and the others connect (e.g. MASTER_ADDR). */
  host: string;
  /** Its port (e.g. MASTER_PORT). The master may pass 0 for any free port ({@link TCPStore.port} tells which). */
  port: number;
  /** True on the one process (rank 0) that serves the store; the others connect to it. */
  isMaster: boolean;
  /**
   * How long connecting, and each `get`, `wait` and `add`, may take before failing with a
   * DistributedError, in ms (default 300 000, torch's five minutes).
   */
  timeoutMs?: number;
}

/** A request on its way, with what settles it. */
interface Pending {
  resolve(payload: Uint8Array): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
  /** What it waits for, for error messages: "key 'x'". */
  what: string;
}

const RETRY_MS = 100;
const MAX_RETRY_MS = 1000;

/**
 * A connection to the job's key-value store. Rank 0 creates it with `isMaster: true`, which
 * serves the store and connects to it; the others connect, retrying until rank 0 listens or
 * the timeout passes. Nothing hangs: every wait has the timeout, and a store that goes away
 * (rank 0 exited or crashed) fails every pending and later call with a DistributedError.
 *
 * The server does not keep rank 0's process alive (as torch's store thread does not), and a
 * connection with nothing pending keeps no process alive either: call {@link TCPStore.close}
 * when done, after the others are done with the store.
 *
 * @example
 * const job = jobEnv()!;
 * const store = await TCPStore.create({ host: job.masterAddr, port: job.masterPort, isMaster: job.rank === 0 });
 * if (job.rank === 0) await store.set('nccl_id', uniqueId);
 * const id = await store.get('nccl_id'); // waits until rank 0 has set it
 */
export class TCPStore {
  /** The host it connected to. */
  readonly host: string;
  /** The store's port (on the master: the one it listens on, chosen by the system for port 0). */
  readonly port: number;
  /** Whether this process serves the store. */
  readonly isMaster: boolean;
  /** The timeout of connecting and of each call, in ms. */
  readonly timeoutMs: number;
  readonly #socket: Socket;
  readonly #server: StoreServer | null;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  /** Why the connection ended; set once it has, and every later call fails with it. */
  #closed: string | null = null;

  private constructor(socket: Socket, server: StoreServer | null, opts: { host: string; port: number; isMaster: boolean; timeoutMs: number }) {
    this.#socket = socket;
    this.#server = server;
    this.host = opts.host;
    this.port = opts.port;
    this.isMaster = opts.isMaster;
    this.timeoutMs = opts.timeoutMs;
    const frames = new FrameReader();
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const body of frames.push(chunk)) this.#settle(decodeReply(body));
      } catch (error) {
        if (!(error instanceof NeocogError)) throw error;
        this.#end(`the store sent a malformed reply (${error.message})`);
        socket.destroy();
      }
    });
    socket.on('error', (error: NodeJS.ErrnoException) => this.#end(`the connection failed: ${error.code ?? error.message}`));
    socket.on('close', () => this.#end('the store closed the connection (did rank 0 exit?)'));
    socket.unref();
  }

  /**
   * Serves the store (`isMaster`) and connects to it, or connects to rank 0's, retrying
   * until it listens.
   * @throws ArgumentError on bad options (synchronously).
   * @throws DistributedError (rejected) when the master cannot listen on the address, or a
   *   client cannot connect within `timeoutMs`.
   */
  static create(opts: TCPStoreOptions): Promise<TCPStore> {
    const op = 'TCPStore.create';
    if (opts === null || typeof opts !== 'object') throw new ArgumentError(`${op}: expected options { host, port, isMaster }, got ${describe(opts)}`);
    const { host, port, isMaster } = opts;
    const timeoutMs = opts.timeoutMs ?? 300_000;
    if (typeof host !== 'string' || host.trim() === '') throw new ArgumentError(`${op}: expected host to be a host name or address, got ${describe(host)}`);
    if (typeof isMaster !== 'boolean') throw new ArgumentError(`${op}: expected isMaster to be a boolean, got ${describe(isMaster)}`);
    if (!Number.isInteger(port) || port < (isMaster ? 0 : 1) || port > 65535) {
      throw new ArgumentError(`${op}: expected port to be an integer in ${isMaster ? '0' : '1'}..65535, got ${describe(port)}`);
    }
    if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw new ArgumentError(`${op}: expected timeoutMs to be a positive number of ms, got ${describe(timeoutMs)}`);
    }
    return TCPStore.#open(host, port, isMaster, timeoutMs);
  }

  static async #open(host: string, port: number, isMaster: boolean, timeoutMs: number): Promise<TCPStore> {
    const server = isMaster ? await StoreServer.listen(host, port) : null;
    const actualPort = server?.port ?? port;
    try {
      const socket = await connectWithRetries(host, actualPort, timeoutMs);
      return new TCPStore(socket, server, { host, port: actualPort, isMaster, timeoutMs });
    } catch (error) {
      await server?.close();
      throw error;
    }
  }

  /** Sets `key` to `value` (a string is stored as UTF-8), waking whoever waits for it. */
  set(key: string, value: Uint8Array | string): Promise<void> {
    checkKey('set', key);
    if (!(value instanceof Uint8Array) && typeof value !== 'string') {
      throw new ArgumentError(`TCPStore.set: expected value to be a Uint8Array or a string, got ${describe(value)}`);
    }
    const bytes = typeof value === 'string' ? Buffer.from(value) : value;
    if (bytes.byteLength > MAX_FRAME_BYTES - 1024) throw new ArgumentError(`TCPStore.set: value of ${bytes.byteLength} bytes exceeds the store's limit of ${MAX_FRAME_BYTES - 1024}`);
    return this.#request({ op: 'set', id: 0, key, value: bytes }, `key '${key}'`).then(() => undefined);
  }

  /**
   * The value of `key`, once some process has set it.
   * @throws DistributedError (rejected) when it is not set within the timeout, naming the key,
   *   or when the store goes away.
   */
  get(key: string): Promise<Uint8Array> {
    checkKey('get', key);
    return this.#request({ op: 'get', id: 0, key }, `key '${key}'`);
  }

  /** Adds `delta` to the integer counter `key` (0 when unset) and returns its new value (torch's `add`). */
  add(key: string, delta: number): Promise<number> {
    checkKey('add', key);
    if (!Number.isSafeInteger(delta)) throw new ArgumentError(`TCPStore.add: expected delta to be an integer, got ${describe(delta)}`);
    return this.#request({ op: 'add', id: 0, key, delta }, `key '${key}'`).then((payload) => Buffer.from(payload).readDoubleBE(0));
  }

  /** Resolves once every key in `keys` is set; rejects with a DistributedError after the timeout. */
  wait(keys: readonly string[]): Promise<void> {
    if (!Array.isArray(keys) || keys.length === 0) throw new ArgumentError(`TCPStore.wait: expected keys to be a non-empty array of strings, got ${describe(keys)}`);
    for (const key of keys) checkKey('wait', key);
    return this.#request({ op: 'wait', id: 0, keys: [...keys] }, `keys ${keys.map((key) => `'${key}'`).join(', ')}`).then(() => undefined);
  }

  /**
   * Ends the connection; on the master also stops serving and drops the others'
   * connections (their pending calls fail). Pending calls here fail with a DistributedError.
   */
  async close(): Promise<void> {
    this.#end('the store was closed');
    this.#socket.destroy();
    await this.#server?.close();
  }

  #request(request: StoreRequest, what: string): Promise<Uint8Array> {
    if (this.#closed !== null) {
      return Promise.reject(new DistributedError(`TCPStore (${this.host}:${this.port}): cannot ${request.op} ${what}: ${this.#closed}`));
    }
    const id = this.#nextId;
    this.#nextId = (this.#nextId % 0xffffffff) + 1;
    return new Promise<Uint8Array>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        this.#refIfBusy();
        reject(new DistributedError(`TCPStore (${this.host}:${this.port}): ${request.op} timed out after ${this.timeoutMs} ms waiting for ${what}`));
      }, this.timeoutMs);
      this.#pending.set(id, { resolve, reject, timer, what: `${request.op} ${what}` });
      this.#refIfBusy();
      this.#socket.write(encodeRequest({ ...request, id }));
    });
  }

  #settle(reply: { id: number; ok: boolean; payload: Uint8Array }): void {
    const pending = this.#pending.get(reply.id);
    if (!pending) return; // timed out already
    this.#pending.delete(reply.id);
    clearTimeout(pending.timer);
    this.#refIfBusy();
    if (reply.ok) pending.resolve(reply.payload);
    else pending.reject(new DistributedError(`TCPStore (${this.host}:${this.port}): ${Buffer.from(reply.payload).toString('utf8')}`));
  }

  /** Fails everything pending with `why`, once. */
  #end(why: string): void {
    if (this.#closed !== null) return;
    this.#closed = why;
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(new DistributedError(`TCPStore (${this.host}:${this.port}): ${pending.what} failed: ${why}`));
    }
    this.#pending.clear();
  }

  /** A connection keeps the process alive only while a call waits on it. */
  #refIfBusy(): void {
    if (this.#pending.size > 0) this.#socket.ref();
    else this.#socket.unref();
  }
}

function checkKey(method: string, key: unknown): void {
  if (typeof key !== 'string' || key === '') throw new ArgumentError(`TCPStore.${method}: expected key to be a non-empty string, got ${describe(key)}`);
}

/** A connected socket to `host:port`, retrying refused (not yet listening) attempts until `timeoutMs`. */
async function connectWithRetries(host: string, port: number, timeoutMs: number): Promise<Socket> {
  const deadline = Date.now() + timeoutMs;
  let delay = RETRY_MS;
  let lastError = 'no attempt';
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    try {
      return await connectOnce(host, port, left);
    } catch (error) {
      lastError = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    }
    const wait = Math.min(delay, deadline - Date.now());
    if (wait <= 0) break;
    await new Promise((resolve) => setTimeout(resolve, wait));
    delay = Math.min(delay * 2, MAX_RETRY_MS);
  }
  throw new DistributedError(`TCPStore: could not connect to the store at ${host}:${port} within ${timeoutMs} ms (last error: ${lastError}); is rank 0 running, and are MASTER_ADDR and MASTER_PORT right?`);
}

/** One attempt, abandoned after `timeoutMs` (a SYN to an unreachable host can wait minutes). */
function connectOnce(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, noDelay: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('ETIMEDOUT'));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    });
  });
}
