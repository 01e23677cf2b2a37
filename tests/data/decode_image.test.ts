// lib/data/decode_image.ts: image files to float CHW in [0, 1] through sharp — RGB, gray,
// alpha dropped, resized, 16-bit — and a FormatError naming a file it cannot decode.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';

import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';

import { data, FormatError } from '../../lib/index.js';
import { expectClose } from '../helpers/devices.js';

const dir = mkdtempSync(join(tmpdir(), 'neocog-decode-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** CRC-32 of PNG chunks (node 20 has no zlib.crc32). */
function crc32(bytes: Uint8Array): number {
  let crc = ~0;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; ++k) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return ~crc >>> 0;
}

/** A 16-bit RGB PNG of `width x height` from samples in row-major RGB order (sharp cannot write one from raw input). */
function png16(width: number, height: number, samples: number[]): Buffer {
  const chunk = (type: string, body: Buffer) => {
    const typed = Buffer.concat([Buffer.from(type, 'latin1'), body]);
    const out = Buffer.alloc(12 + body.length);
    out.writeUInt32BE(body.length, 0);
    typed.copy(out, 4);
    out.writeUInt32BE(crc32(typed), 8 + body.length);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([16, 2, 0, 0, 0], 8); // 16 bits per sample, RGB, deflate, no filter, no interlace
  const rows = Buffer.alloc(height * (1 + 6 * width)); // each row: filter byte 0, then big-endian samples
  samples.forEach((v, i) => rows.writeUInt16BE(v, Math.floor(i / (3 * width)) * (1 + 6 * width) + 1 + 2 * (i % (3 * width))));
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk('IHDR', header), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
}

/** A 3 x 2 (w x h) RGB image whose pixel p has channels (10p, 10p + 1, 10p + 2). */
const rgb = Uint8Array.from({ length: 18 }, (_, i) => 10 * Math.floor(i / 3) + (i % 3));

beforeAll(async () => {
  const raw = (data: Uint8Array, channels: 1 | 3 | 4) => sharp(Buffer.from(data), { raw: { width: 3, height: 2, channels } });
  await raw(rgb, 3).png().toFile(join(dir, 'rgb.png'));
  const rgba = Uint8Array.from({ length: 24 }, (_, i) => (i % 4 === 3 ? 0 : rgb[Math.floor(i / 4) * 3 + (i % 4)]!));
  await raw(rgba, 4).png().toFile(join(dir, 'rgba.png'));
  await raw(Uint8Array.from([0, 51, 102, 153, 204, 255]), 1).png().toFile(join(dir, 'gray.png'));
  writeFileSync(join(dir, 'wide.png'), png16(3, 2, [0, 65535, 32768, 1, 2, 3].flatMap((v) => [v, v, v])));
  writeFileSync(join(dir, 'broken.png'), 'not an image');
});

it('decodes RGB to planar [3, H, W] in [0, 1], dropping alpha', async () => {
  for (const file of ['rgb.png', 'rgba.png']) {
    const { data: pixels, shape } = await data.decodeImage(join(dir, file));
    expect(shape).toEqual([3, 2, 3]);
    // Plane c holds channel c of every pixel in row-major order.
    const expected = [0, 1, 2].flatMap((c) => Array.from({ length: 6 }, (_, p) => (10 * p + c) / 255));
    expectClose(pixels, expected, 1e-7);
  }
});

it('decodes gray images to one channel, and to three on request', async () => {
  const gray = await data.decodeImage(join(dir, 'gray.png'), { channels: 1 });
  expect(gray.shape).toEqual([1, 2, 3]);
  expectClose(gray.data, [0, 0.2, 0.4, 0.6, 0.8, 1], 1e-7);
  const color = await data.decodeImage(join(dir, 'gray.png'));
  expect(color.shape).toEqual([3, 2, 3]);
  expectClose(color.data.subarray(12), [0, 0.2, 0.4, 0.6, 0.8, 1], 1e-7);
});

it('resizes to [H, W], stretching', async () => {
  const { shape } = await data.decodeImage(join(dir, 'rgb.png'), { size: [4, 9] });
  expect(shape).toEqual([3, 4, 9]);
});

it('16-bit files decode to [0, 1] scaled by their own range', async () => {
  const { data: pixels, shape } = await data.decodeImage(join(dir, 'wide.png'));
  expect(shape).toEqual([3, 2, 3]);
  // Within half a step of 8 bits: sharp 0.35's sRGB output is 8-bit even for 16-bit files.
  expectClose(pixels.subarray(0, 6), [0, 1, 32768 / 65535, 1 / 65535, 2 / 65535, 3 / 65535], 0.5 / 255);
});

it('a file it cannot decode is a FormatError naming the file and the caller', async () => {
  await expect(data.decodeImage(join(dir, 'broken.png'))).rejects.toThrow(FormatError);
  await expect(data.decodeImage(join(dir, 'broken.png'))).rejects.toThrow(`decodeImage: cannot decode ${join(dir, 'broken.png')}`);
  await expect(data.decodeImage(join(dir, 'missing.png'), {}, 'ImageFolder')).rejects.toThrow(/^ImageFolder: cannot decode .*missing\.png/);
});
