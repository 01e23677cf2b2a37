/**
 * The TCPStore's wire format: length-prefixed frames, one request or reply each.
 *
 *   frame   = u32 length (big-endian) + body
 *   request = u8 op + u32 id + arguments
 *   reply   = u32 id + u8 status (0 ok, 1 error) + bytes (the result, or the error's message)
 *   strings and byte strings are a u32 length + the bytes (strings in UTF-8)
 *
 * Replies carry the request's id because a `get` or `wait` is answered only once its
 * keys are set, after later requests on the same connection.
 * @module
 * @internal
 */
import { FormatError } from '../errors.js';

/** Largest frame either side accepts; a longer header means a broken peer, not a value. */
export const MAX_FRAME_BYTES = 256 * 1024 * 1024;

/** A request, as the client sends it and the server reads it. */
export type StoreRequest =
  | { op: 'set'; id: number; key: string; value: Uint8Array }
  | { op: 'get'; id: number; key: string }
  | { op: 'add'; id: number; key: string; delta: number }
  | { op: 'wait'; id: number; keys: string[] };

/** A reply: the result's bytes, or an error message. */
export interface StoreReply {
  id: number;
  ok: boolean;
  payload: Uint8Array;
}

const OPS = ['set', 'get', 'add', 'wait'] as const;

/** One frame holding `request`. */
export function encodeRequest(request: StoreRequest): Buffer {
  const parts: Buffer[] = [header(OPS.indexOf(request.op), request.id)];
  switch (request.op) {
    case 'set':
      parts.push(bytes(Buffer.from(request.key)), bytes(request.value));
      break;
    case 'get':
      parts.push(bytes(Buffer.from(request.key)));
      break;
    case 'add': {
      const delta = Buffer.alloc(8);
      delta.writeDoubleBE(request.delta);
      parts.push(bytes(Buffer.from(request.key)), delta);
      break;
    }
    case 'wait': {
      const count = Buffer.alloc(4);
      count.writeUInt32BE(request.keys.length);
      parts.push(count, ...request.keys.map((key) => bytes(Buffer.from(key))));
      break;
    }
  }
  return frame(Buffer.concat(parts));
}

/** Reads a request body; throws FormatError when it is malformed. */
export function decodeRequest(body: Uint8Array): StoreRequest {
  const reader = new BodyReader(body);
  const op = OPS[reader.u8()];
  const id = reader.u32();
  let request: StoreRequest;
  switch (op) {
    case 'set':
      request = { op, id, key: reader.string(), value: reader.bytes() };
      break;
    case 'get':
      request = { op, id, key: reader.string() };
      break;
    case 'add':
      request = { op, id, key: reader.string(), delta: reader.f64() };
      break;
    case 'wait': {
      const count = reader.u32();
      const keys: string[] = [];
      for (let i = 0; i < count; ++i) keys.push(reader.string());
      request = { op, id, keys };
      break;
    }
    default:
      throw new FormatError(`TCPStore: unknown request op ${body[0]}`);
  }
  reader.end();
  return request;
}

/** One frame holding `reply`. */
export function encodeReply(reply: StoreReply): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(reply.id);
  head.writeUInt8(reply.ok ? 0 : 1, 4);
  return frame(Buffer.concat([head, bytes(reply.payload)]));
}

/** Reads a reply body; throws FormatError when it is malformed. */
export function decodeReply(body: Uint8Array): StoreReply {
  const reader = new BodyReader(body);
  const id = reader.u32();
  const status = reader.u8();
  if (status > 1) throw new FormatError(`TCPStore: unknown reply status ${status}`);
  const reply = { id, ok: status === 0, payload: reader.bytes() };
  reader.end();
  return reply;
}

/**
 * Splits a byte stream into frame bodies. Feed it each chunk as it arrives; it returns the
 * bodies completed so far and keeps the rest.
 */
export class FrameReader {
  #pending: Buffer[] = [];
  #pendingBytes = 0;

  /** The bodies that `chunk` completes; throws FormatError on a frame over {@link MAX_FRAME_BYTES}. */
  push(chunk: Uint8Array): Buffer[] {
    this.#pending.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.#pendingBytes += chunk.byteLength;
    const bodies: Buffer[] = [];
    for (;;) {
      if (this.#pendingBytes < 4) break;
      const data = this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending);
      this.#pending = [data];
      const length = data.readUInt32BE(0);
      if (length > MAX_FRAME_BYTES) throw new FormatError(`TCPStore: a frame of ${length} bytes exceeds the limit of ${MAX_FRAME_BYTES}`);
      if (data.length < 4 + length) break;
      // Copy the body out, so that it does not pin the whole receive buffer.
      bodies.push(Buffer.from(data.subarray(4, 4 + length)));
      const rest = data.subarray(4 + length);
      this.#pending = rest.length > 0 ? [rest] : [];
      this.#pendingBytes = rest.length;
    }
    return bodies;
  }
}

function header(op: number, id: number): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt8(op);
  head.writeUInt32BE(id, 1);
  return head;
}

function bytes(value: Uint8Array): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(value.byteLength);
  return Buffer.concat([length, value]);
}

function frame(body: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length);
  return Buffer.concat([length, body]);
}

/** Reads a body front to back; running past its end or leaving bytes over is a FormatError. */
class BodyReader {
  readonly #view: Buffer;
  #at = 0;

  constructor(body: Uint8Array) {
    this.#view = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  }

  u8(): number {
    this.#need(1);
    return this.#view.readUInt8(this.#at++);
  }

  u32(): number {
    this.#need(4);
    const value = this.#view.readUInt32BE(this.#at);
    this.#at += 4;
    return value;
  }

  f64(): number {
    this.#need(8);
    const value = this.#view.readDoubleBE(this.#at);
    this.#at += 8;
    return value;
  }

  bytes(): Uint8Array {
    const length = this.u32();
    this.#need(length);
    const value = new Uint8Array(this.#view.subarray(this.#at, this.#at + length));
    this.#at += length;
    return value;
  }

  string(): string {
    return Buffer.from(this.bytes()).toString('utf8');
  }

  end(): void {
    if (this.#at !== this.#view.length) throw new FormatError(`TCPStore: ${this.#view.length - this.#at} bytes left over after a message`);
  }

  #need(count: number): void {
    if (this.#at + count > this.#view.length) throw new FormatError(`TCPStore: a message of ${this.#view.length} bytes ends early`);
  }
}
