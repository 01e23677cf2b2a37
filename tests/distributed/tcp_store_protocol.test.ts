import { expect, it } from 'vitest';

import { FormatError } from '../../lib/errors.js';
import { decodeReply, decodeRequest, encodeReply, encodeRequest, FrameReader, MAX_FRAME_BYTES, type StoreRequest } from '../../lib/distributed/tcp_store_protocol.js';

const requests: StoreRequest[] = [
  { op: 'set', id: 1, key: 'nccl_id', value: new Uint8Array([0, 1, 255]) },
  { op: 'set', id: 2, key: 'ключ', value: new Uint8Array(0) },
  { op: 'get', id: 0xffffffff, key: 'a' },
  { op: 'add', id: 4, key: 'count', delta: -(2 ** 53 - 1) },
  { op: 'wait', id: 5, keys: ['x', 'y', 'z'] },
];

it('requests and replies survive the round trip through frames', () => {
  const reader = new FrameReader();
  const stream = Buffer.concat(requests.map(encodeRequest));
  const bodies = reader.push(stream);
  expect(bodies.map(decodeRequest)).toEqual(requests);

  const reply = { id: 9, ok: false, payload: new Uint8Array(Buffer.from('add: no')) };
  expect(reader.push(encodeReply(reply)).map(decodeReply)).toEqual([reply]);
});

it('FrameReader reassembles frames split at any byte', () => {
  const stream = Buffer.concat(requests.map(encodeRequest));
  for (const step of [1, 2, 3, 7, 13]) {
    const reader = new FrameReader();
    const bodies: Buffer[] = [];
    for (let at = 0; at < stream.length; at += step) bodies.push(...reader.push(stream.subarray(at, at + step)));
    expect(bodies.map(decodeRequest), `chunks of ${step}`).toEqual(requests);
  }
});

it('malformed frames and bodies are FormatErrors', () => {
  const huge = Buffer.alloc(4);
  huge.writeUInt32BE(MAX_FRAME_BYTES + 1);
  expect(() => new FrameReader().push(huge)).toThrow(FormatError);
  expect(() => new FrameReader().push(huge)).toThrow(/exceeds the limit/);
  const body = encodeRequest(requests[0]!).subarray(4);
  expect(() => decodeRequest(body.subarray(0, body.length - 1))).toThrow('TCPStore: a message of 22 bytes ends early');
  expect(() => decodeRequest(Buffer.concat([body, Buffer.from([0])]))).toThrow('TCPStore: 1 bytes left over after a message');
  expect(() => decodeRequest(Buffer.from([9, 0, 0, 0, 1]))).toThrow('TCPStore: unknown request op 9');
  expect(() => decodeRequest(Buffer.alloc(0))).toThrow(FormatError);
  expect(() => decodeReply(Buffer.from([0, 0, 0, 1, 2, 0, 0, 0, 0]))).toThrow('TCPStore: unknown reply status 2');
});
