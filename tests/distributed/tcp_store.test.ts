import { createServer } from 'node:net';

import { afterEach, expect, it } from 'vitest';

import { ArgumentError, DistributedError } from '../../lib/errors.js';
import { TCPStore } from '../../lib/distributed/tcp_store.js';

const stores: TCPStore[] = [];
afterEach(async () => {
  for (const store of stores.splice(0).reverse()) await store.close();
});

/** A master on a free port and `clients` stores connected to it. */
async function job(clients: number, timeoutMs = 5_000): Promise<[TCPStore, ...TCPStore[]]> {
  const master = await TCPStore.create({ host: '127.0.0.1', port: 0, isMaster: true, timeoutMs });
  stores.push(master);
  const others = await Promise.all(Array.from({ length: clients }, () => TCPStore.create({ host: '127.0.0.1', port: master.port, isMaster: false, timeoutMs })));
  stores.push(...others);
  return [master, ...others];
}

/** A port nothing listens on (bound once, then released). */
async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

it('TCPStore hands a value from the master to a client, and bytes and strings both', async () => {
  const [master, client] = await job(1);
  expect(master.port).toBeGreaterThan(0);
  expect([master.isMaster, client!.isMaster, client!.port]).toEqual([true, false, master.port]);
  const id = new Uint8Array(128).map((_, i) => (i * 7) & 255); // NCCL's unique id is 128 bytes
  await master.set('nccl_id', id);
  expect(await client!.get('nccl_id')).toEqual(id);
  await client!.set('greeting', 'héllo');
  expect(Buffer.from(await master.get('greeting')).toString('utf8')).toBe('héllo');
});

it('TCPStore.get before set waits for the value; wait waits for every key', async () => {
  const [master, a, b] = await job(2);
  let got: Uint8Array | undefined;
  const pending = a!.get('late').then((value) => (got = value));
  const waited = b!.wait(['late', 'later']);
  let waitedDone = false;
  void waited.then(() => (waitedDone = true));
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(got).toBeUndefined();
  await master.set('late', new Uint8Array([1, 2]));
  await pending;
  expect(got).toEqual(new Uint8Array([1, 2]));
  expect(waitedDone).toBe(false);
  await a!.set('later', '');
  await waited;
});

it('TCPStore.add counts across processes from 0', async () => {
  const [master, a, b] = await job(2);
  const results = await Promise.all([a!.add('arrived', 1), b!.add('arrived', 1), master.add('arrived', 1)]);
  expect(results.sort()).toEqual([1, 2, 3]);
  expect(await a!.add('arrived', -3)).toBe(0);
  expect(Buffer.from(await b!.get('arrived')).toString()).toBe('0');
  await master.set('text', 'abc');
  await expect(a!.add('text', 1)).rejects.toThrow(DistributedError);
  await expect(a!.add('text', 1)).rejects.toThrow("add: key 'text' holds 'abc', not an integer");
});

it('TCPStore.get of a key never set fails after the timeout, naming the key', async () => {
  const [, client] = await job(1, 300);
  const started = Date.now();
  await expect(client!.get('missing')).rejects.toThrow(DistributedError);
  expect(Date.now() - started).toBeLessThan(2_000);
  await expect(client!.get('missing')).rejects.toThrow(/get timed out after 300 ms waiting for key 'missing'/);
  await expect(client!.wait(['a', 'b'])).rejects.toThrow(/waiting for keys 'a', 'b'/);
  // The connection still serves after a timeout.
  await client!.set('fine', 'yes');
  expect(Buffer.from(await client!.get('fine')).toString()).toBe('yes');
}, 10_000);

it('a client fails, not hangs, when the master goes away', async () => {
  const [master, client] = await job(1, 30_000);
  const pending = client!.get('never');
  await master.close();
  await expect(pending).rejects.toThrow(DistributedError);
  await expect(pending).rejects.toThrow(/get key 'never' failed: .*(closed the connection|connection failed)/);
  await expect(client!.get('x')).rejects.toThrow(DistributedError);
  await expect(client!.set('x', 'y')).rejects.toThrow(/cannot set key 'x'/);
}, 10_000);

it('a client retries until the master listens, and gives up after its timeout', async () => {
  const port = await freePort();
  const client = TCPStore.create({ host: '127.0.0.1', port, isMaster: false, timeoutMs: 10_000 });
  await new Promise((resolve) => setTimeout(resolve, 300)); // refused a few times meanwhile
  const master = await TCPStore.create({ host: '127.0.0.1', port, isMaster: true, timeoutMs: 10_000 });
  stores.push(master, await client);
  await master.set('k', 'v');
  expect(Buffer.from(await stores[1]!.get('k')).toString()).toBe('v');

  const nobody = await freePort();
  const started = Date.now();
  await expect(TCPStore.create({ host: '127.0.0.1', port: nobody, isMaster: false, timeoutMs: 400 })).rejects.toThrow(DistributedError);
  expect(Date.now() - started).toBeLessThan(3_000);
  await expect(TCPStore.create({ host: '127.0.0.1', port: nobody, isMaster: false, timeoutMs: 200 })).rejects.toThrow(
    new RegExp(`could not connect to the store at 127.0.0.1:${nobody} within 200 ms \\(last error: ECONNREFUSED\\)`),
  );
}, 15_000);

it('a second master on a taken port is a DistributedError', async () => {
  const [master] = await job(0);
  await expect(TCPStore.create({ host: '127.0.0.1', port: master.port, isMaster: true })).rejects.toThrow(/could not listen on 127.0.0.1:\d+: EADDRINUSE/);
});

it('TCPStore calls after close fail with a DistributedError', async () => {
  const [master] = await job(0);
  await master.close();
  await expect(master.get('k')).rejects.toThrow('TCPStore (127.0.0.1:' + master.port + "): cannot get key 'k': the store was closed");
});

it('TCPStore rejects bad arguments synchronously', async () => {
  const [master] = await job(0);
  const bad: [() => unknown, RegExp | string][] = [
    [() => TCPStore.create(null as never), /expected options/],
    [() => TCPStore.create({ host: '', port: 1, isMaster: false }), "TCPStore.create: expected host to be a host name or address, got ''"],
    [() => TCPStore.create({ host: 'h', port: 0, isMaster: false }), 'TCPStore.create: expected port to be an integer in 1..65535, got 0 (number)'],
    [() => TCPStore.create({ host: 'h', port: 70000, isMaster: true }), 'TCPStore.create: expected port to be an integer in 0..65535, got 70000 (number)'],
    [() => TCPStore.create({ host: 'h', port: 1, isMaster: 'yes' as never }), /isMaster/],
    [() => TCPStore.create({ host: 'h', port: 1, isMaster: false, timeoutMs: 0 }), /timeoutMs/],
    [() => master.set('', 'v'), "TCPStore.set: expected key to be a non-empty string, got ''"],
    [() => master.set('k', 3 as never), 'TCPStore.set: expected value to be a Uint8Array or a string, got 3 (number)'],
    [() => master.get(7 as never), /TCPStore.get: expected key/],
    [() => master.add('k', 0.5), 'TCPStore.add: expected delta to be an integer, got 0.5 (number)'],
    [() => master.wait([]), /TCPStore.wait: expected keys to be a non-empty array/],
    [() => master.wait(['a', ''] as never), /TCPStore.wait: expected key/],
  ];
  for (const [call, message] of bad) {
    expect(call).toThrow(ArgumentError);
    expect(call).toThrow(message);
  }
});
