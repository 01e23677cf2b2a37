/**
 * The TCPStore's server, run by rank 0: a key-value map in memory, with `get` and `wait`
 * answered once their keys are set.
 * @module
 * @internal
 */
import { createServer, type Server, type Socket } from 'node:net';

import { DistributedError, NeocogError } from '../errors.js';
import { decodeRequest, encodeReply, FrameReader, type StoreRequest } from './tcp_store_protocol.js';

/** A `get` or `wait` on keys not all set yet. */
interface Waiter {
  socket: Socket;
  id: number;
  /** The keys still missing. */
  missing: Set<string>;
  /** For a `get`: the key whose value is the answer. */
  valueKey?: string;
}

/** A listening store server. */
export class StoreServer {
  readonly #server: Server;
  readonly #values = new Map<string, Uint8Array>();
  readonly #waiters = new Map<string, Set<Waiter>>();
  readonly #sockets = new Set<Socket>();

  private constructor(server: Server) {
    this.#server = server;
  }

  /**
   * Listens on `host:port` (port 0: any free port, see {@link StoreServer.port}).
   * @throws DistributedError when the address cannot be bound (in use, not local).
   */
  static listen(host: string, port: number): Promise<StoreServer> {
    const server = createServer({ noDelay: true });
    const store = new StoreServer(server);
    server.on('connection', (socket) => store.#accept(socket));
    return new Promise((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) => {
        reject(new DistributedError(`TCPStore: rank 0 could not listen on ${host}:${port}: ${error.code ?? error.message}`));
      });
      server.listen(port, host, () => {
        // As torch's daemon thread: serving the others does not keep rank 0's process alive.
        // Rank 0 exiting ends the store, so jobs synchronise (a barrier) before rank 0 exits.
        server.unref();
        resolve(store);
      });
    });
  }

  /** The port it listens on (the one the system chose when asked for port 0). */
  get port(): number {
    const address = this.#server.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  }

  /** Stops listening and drops every connection, so that waiting clients fail rather than hang. */
  close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
    this.#waiters.clear();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #accept(socket: Socket): void {
    socket.unref();
    this.#sockets.add(socket);
    const frames = new FrameReader();
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const body of frames.push(chunk)) this.#handle(socket, decodeRequest(body));
      } catch (error) {
        // A peer that speaks something else (or a broken one) is cut off, not answered.
        if (!(error instanceof NeocogError)) throw error;
        socket.destroy();
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      this.#sockets.delete(socket);
      for (const waiters of this.#waiters.values()) {
        for (const waiter of waiters) if (waiter.socket === socket) waiters.delete(waiter);
      }
    });
  }

  #handle(socket: Socket, request: StoreRequest): void {
    switch (request.op) {
      case 'set':
        this.#set(request.key, request.value);
        this.#reply(socket, request.id, new Uint8Array(0));
        return;
      case 'get':
        this.#await(socket, request.id, [request.key], request.key);
        return;
      case 'wait':
        this.#await(socket, request.id, request.keys);
        return;
      case 'add': {
        // Counters live beside the other values as decimal text, as in torch's store.
        const current = this.#values.get(request.key);
        const text = current === undefined ? '0' : Buffer.from(current).toString('utf8');
        const value = /^-?\d+$/.test(text) ? Number(text) + request.delta : Number.NaN;
        if (!Number.isSafeInteger(value)) {
          const why = Number.isNaN(value) ? `holds '${text.slice(0, 40)}', not an integer` : `would overflow to ${Number(text) + request.delta}`;
          this.#reply(socket, request.id, Buffer.from(`add: key '${request.key}' ${why}`), false);
          return;
        }
        this.#set(request.key, Buffer.from(String(value)));
        const result = Buffer.alloc(8);
        result.writeDoubleBE(value);
        this.#reply(socket, request.id, result);
        return;
      }
    }
  }

  #set(key: string, value: Uint8Array): void {
    this.#values.set(key, value);
    const waiters = this.#waiters.get(key);
    if (!waiters) return;
    this.#waiters.delete(key);
    for (const waiter of waiters) {
      waiter.missing.delete(key);
      if (waiter.missing.size === 0) this.#answer(waiter);
    }
  }

  #await(socket: Socket, id: number, keys: readonly string[], valueKey?: string): void {
    const waiter: Waiter = { socket, id, missing: new Set(keys.filter((key) => !this.#values.has(key))), ...(valueKey === undefined ? {} : { valueKey }) };
    if (waiter.missing.size === 0) {
      this.#answer(waiter);
      return;
    }
    for (const key of waiter.missing) {
      const waiters = this.#waiters.get(key) ?? new Set<Waiter>();
      waiters.add(waiter);
      this.#waiters.set(key, waiters);
    }
  }

  #answer(waiter: Waiter): void {
    const value = waiter.valueKey === undefined ? new Uint8Array(0) : this.#values.get(waiter.valueKey)!;
    this.#reply(waiter.socket, waiter.id, value);
  }

  #reply(socket: Socket, id: number, payload: Uint8Array, ok = true): void {
    if (!socket.destroyed) socket.write(encodeReply({ id, ok, payload }));
  }
}
