import { connect, type Socket } from 'node:net';

import { afterEach, expect, it } from 'vitest';

import { DistributedError } from '../../lib/errors.js';
import { decodeReply, encodeRequest, FrameReader, type StoreReply, type StoreRequest } from '../../lib/distributed/tcp_store_protocol.js';
import { StoreServer } from '../../lib/distributed/tcp_store_server.js';

const opened: { close(): unknown }[] = [];
afterEach(async () => {
  for (const thing of opened.splice(0)) await thing.close();
});

/** A raw client speaking the protocol by hand. */
async function rawClient(port: number): Promise<{ socket: Socket; send(request: StoreRequest): void; next(): Promise<StoreReply>; closed: Promise<void> }> {
  const socket = connect({ host: '127.0.0.1', port });
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  opened.push({ close: () => socket.destroy() });
  const frames = new FrameReader();
  const replies: StoreReply[] = [];
  const waiting: ((reply: StoreReply) => void)[] = [];
  socket.on('data', (chunk: Buffer) => {
    for (const body of frames.push(chunk)) {
      const reply = decodeReply(body);
      const taker = waiting.shift();
      if (taker) taker(reply);
      else replies.push(reply);
    }
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => {});
  return {
    socket,
    send: (request) => socket.write(encodeRequest(request)),
    next: () => new Promise((resolve) => (replies.length > 0 ? resolve(replies.shift()!) : waiting.push(resolve))),
    closed,
  };
}

it('StoreServer answers a get once its key is set, after later requests', async () => {
  const server = await StoreServer.listen('127.0.0.1', 0);
  opened.push(server);
  expect(server.port).toBeGreaterThan(0);
  const a = await rawClient(server.port);
  const b = await rawClient(server.port);
  a.send({ op: 'get', id: 1, key: 'k' });
  a.send({ op: 'wait', id: 2, keys: ['k', 'other'] });
  a.send({ op: 'add', id: 3, key: 'n', delta: 5 });
  expect(await a.next()).toEqual({ id: 3, ok: true, payload: new Uint8Array([64, 20, 0, 0, 0, 0, 0, 0]) }); // 5 as a double
  b.send({ op: 'set', id: 7, key: 'k', value: new Uint8Array([42]) });
  expect(await b.next()).toEqual({ id: 7, ok: true, payload: new Uint8Array(0) });
  expect(await a.next()).toEqual({ id: 1, ok: true, payload: new Uint8Array([42]) });
  b.send({ op: 'set', id: 8, key: 'other', value: new Uint8Array(0) });
  expect(await b.next()).toMatchObject({ id: 8, ok: true });
  expect(await a.next()).toEqual({ id: 2, ok: true, payload: new Uint8Array(0) });
  // A counter reads back as decimal text; add on a non-counter is an error reply.
  b.send({ op: 'get', id: 9, key: 'n' });
  expect(Buffer.from((await b.next()).payload).toString()).toBe('5');
  b.send({ op: 'add', id: 10, key: 'k', delta: 1 });
  const refused = await b.next();
  expect(refused.ok).toBe(false);
  expect(Buffer.from(refused.payload).toString()).toBe("add: key 'k' holds '*', not an integer");
});

it('StoreServer cuts off a peer that sends garbage, and close drops every connection', async () => {
  const server = await StoreServer.listen('127.0.0.1', 0);
  opened.push(server);
  const garbage = await rawClient(server.port);
  garbage.socket.write(Buffer.from([0, 0, 0, 1, 77]));
  await garbage.closed;
  const waiting = await rawClient(server.port);
  waiting.send({ op: 'get', id: 1, key: 'never' });
  await server.close();
  await waiting.closed;
});

it('StoreServer.listen on a taken port is a DistributedError', async () => {
  const server = await StoreServer.listen('127.0.0.1', 0);
  opened.push(server);
  await expect(StoreServer.listen('127.0.0.1', server.port)).rejects.toThrow(DistributedError);
  await expect(StoreServer.listen('127.0.0.1', server.port)).rejects.toThrow(`TCPStore: rank 0 could not listen on 127.0.0.1:${server.port}: EADDRINUSE`);
});
