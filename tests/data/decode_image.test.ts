// lib/data/decode_image.ts: image files to float CHW in [0, 1] or uint8 through sharp — RGB,
// gray, alpha dropped, resized, 16-bit — and a FormatError naming a file it cannot decode.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';

import { ArgumentError, data, FormatError } from '../../lib/index.js';
import { expectClose } from '../helpers/devices.js';

const dir = mkdtempSync(join(tmpdir(), 'neocog-decode-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** 16-bit samples whose 8-bit truncation (v >> 8) and rounding (v / 257) differ, and the ends of the range. */
const samples16 = [0, 65535, 32768, 999, 40000, 129, 65280, 383, 1, 20000, 65407, 12345];

/** A 3 x 2 (w x h) RGB image whose pixel p has channels (10p, 10p + 1, 10p + 2). */
const rgb = Uint8Array.from({ length: 18 }, (_, i) => 10 * Math.floor(i / 3) + (i % 3));

beforeAll(async () => {
  const raw = (data: Uint8Array, channels: 1 | 3 | 4) => sharp(Buffer.from(data), { raw: { width: 3, height: 2, channels } });
  await raw(rgb, 3).png().toFile(join(dir, 'rgb.png'));
  const rgba = Uint8Array.from({ length: 24 }, (_, i) => (i % 4 === 3 ? 0 : rgb[Math.floor(i / 4) * 3 + (i % 4)]!));
  await raw(rgba, 4).png().toFile(join(dir, 'rgba.png'));
  await raw(Uint8Array.from([0, 51, 102, 153, 204, 255]), 1).png().toFile(join(dir, 'gray.png'));
  // 16-bit PNGs: sharp takes a Uint16Array as 16-bit raw input and writes 16 bits per sample in 'rgb16' / 'grey16'.
  const wideRgb = Uint16Array.from({ length: 18 }, (_, i) => samples16[(i * 5) % samples16.length]!);
  await sharp(wideRgb, { raw: { width: 3, height: 2, channels: 3 } }).toColourspace('rgb16').png().toFile(join(dir, 'wide.png'));
  await sharp(Uint16Array.from(samples16.slice(0, 6)), { raw: { width: 3, height: 2, channels: 1 } }).toColourspace('grey16').png().toFile(join(dir, 'wide-gray.png'));
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

/** Planar CHW of `values` given interleaved (HWC) with `channels` channels. */
const planar = (values: number[], channels: number) => Array.from({ length: channels }, (_, c) => values.filter((_, i) => i % channels === c)).flat();

it('16-bit PNGs (RGB and gray) keep their 16 bits as float32, and round to the nearest 8-bit value as uint8', async () => {
  for (const [file, channels, values] of [
    ['wide.png', 3, Array.from({ length: 18 }, (_, i) => samples16[(i * 5) % samples16.length]!)],
    ['wide-gray.png', 1, samples16.slice(0, 6)],
  ] as const) {
    const meta = await sharp(join(dir, file)).metadata();
    expect([meta.depth, meta.channels]).toEqual(['ushort', channels]);
    const float = await data.decodeImage(join(dir, file), { channels });
    expect(float.shape).toEqual([channels, 2, 3]);
    expect(float.data).toBeInstanceOf(Float32Array);
    expect(Array.from(float.data)).toEqual(planar([...values], channels).map((v) => Math.fround(v / 65535)));
    const bytes = await data.decodeImage(join(dir, file), { channels, dtype: 'uint8' });
    expect(bytes.data).toBeInstanceOf(Uint8Array);
    expect(Array.from(bytes.data)).toEqual(planar([...values], channels).map((v) => Math.round(v / 257)));
  }
  // Gray 16-bit to RGB replicates the plane; resizing keeps 16 bits.
  const rgb = await data.decodeImage(join(dir, 'wide-gray.png'));
  expect(Array.from(rgb.data.subarray(6, 12))).toEqual(samples16.slice(0, 6).map((v) => Math.fround(v / 65535)));
  const resized = await data.decodeImage(join(dir, 'wide.png'), { size: [4, 6] });
  expect(resized.shape).toEqual([3, 4, 6]);
  expect(resized.data.some((v) => Math.abs(v * 255 - Math.round(v * 255)) > 1e-3)).toBe(true); // not 8-bit values
});

it('8-bit files decode to uint8 as they are stored', async () => {
  const { data: pixels, shape } = await data.decodeImage(join(dir, 'rgb.png'), { dtype: 'uint8' });
  expect(shape).toEqual([3, 2, 3]);
  expect(pixels).toBeInstanceOf(Uint8Array);
  expect(Array.from(pixels)).toEqual(planar(Array.from(rgb), 3));
  expect(Array.from((await data.decodeImage(join(dir, 'gray.png'), { channels: 1, dtype: 'uint8' })).data)).toEqual([0, 51, 102, 153, 204, 255]);
  await expect(data.decodeImage(join(dir, 'rgb.png'), { dtype: 'int32' as 'uint8' })).rejects.toThrow(ArgumentError);
  await expect(data.decodeImage(join(dir, 'rgb.png'), { dtype: 'int32' as 'uint8' })).rejects.toThrow(/decodeImage: expected dtype 'float32' or 'uint8', got "int32"/);
});

it('a file it cannot decode is a FormatError naming the file and the caller', async () => {
  await expect(data.decodeImage(join(dir, 'broken.png'))).rejects.toThrow(FormatError);
  await expect(data.decodeImage(join(dir, 'broken.png'))).rejects.toThrow(`decodeImage: cannot decode ${join(dir, 'broken.png')}`);
  await expect(data.decodeImage(join(dir, 'missing.png'), {}, 'ImageFolder')).rejects.toThrow(/^ImageFolder: cannot decode .*missing\.png/);
});

it("decodes a file's bytes (an upload) as it decodes the file; truncated bytes are a FormatError", async () => {
  const bytes = readFileSync(join(dir, 'rgb.png'));
  const fromBytes = await data.decodeImage(bytes, { size: [4, 5] });
  const fromFile = await data.decodeImage(join(dir, 'rgb.png'), { size: [4, 5] });
  expect(fromBytes.shape).toEqual([3, 4, 5]);
  expect(Array.from(fromBytes.data)).toEqual(Array.from(fromFile.data));
  await expect(data.decodeImage(bytes.subarray(0, bytes.length >> 1))).rejects.toThrow(FormatError);
  await expect(data.decodeImage(new Uint8Array(0))).rejects.toThrow(/cannot decode the 0-byte image/);
});

it("resizes the shorter side to one number, keeping the aspect ratio truncated, as torchvision's Resize(n)", async () => {
  const wide = await sharp({ create: { width: 30, height: 20, channels: 3, background: { r: 90, g: 30, b: 200 } } }).png().toBuffer();
  const tall = await sharp({ create: { width: 7, height: 10, channels: 3, background: { r: 90, g: 30, b: 200 } } }).png().toBuffer();
  expect((await data.decodeImage(wide, { size: 10, interpolation: 'bilinear' })).shape).toEqual([3, 10, 15]);
  expect((await data.decodeImage(tall, { size: 4 })).shape).toEqual([3, 5, 4]); // int(4 * 10 / 7) = 5
  const decoded = await data.decodeImage(wide, { size: 10, interpolation: 'bilinear', dtype: 'uint8' });
  expect(decoded.originalSize).toEqual([20, 30]);
  expect(new Set(decoded.data.subarray(0, 150))).toEqual(new Set([90])); // a flat image stays flat
});

it("cuts a centered crop as torchvision's CenterCrop: offsets rounded half to even, zero padding past the edges", async () => {
  // rgb.png is 3 wide, 2 high; pixel p (row-major) has channels (10p, 10p + 1, 10p + 2).
  const u8 = { dtype: 'uint8' } as const;
  const inside = await data.decodeImage(join(dir, 'rgb.png'), { ...u8, centerCrop: [1, 1] });
  // top = round(0.5) = 0, left = round(1) = 1: pixel 1.
  expect(inside.shape).toEqual([3, 1, 1]);
  expect(Array.from(inside.data)).toEqual([10, 11, 12]);
  expect(inside.originalSize).toEqual([2, 3]);
  const padded = await data.decodeImage(join(dir, 'rgb.png'), { ...u8, channels: 3, centerCrop: [3, 4] });
  // torchvision pads top 0, bottom 1, left 0, right 1: the image sits in the top-left corner.
  expect(padded.shape).toEqual([3, 3, 4]);
  expect(Array.from(padded.data.subarray(0, 12))).toEqual([0, 10, 20, 0, 30, 40, 50, 0, 0, 0, 0, 0]);
  await expect(data.decodeImage(join(dir, 'rgb.png'), { centerCrop: [0, 2] })).rejects.toThrow(/decodeImage: expected centerCrop to be \[H, W\]/);
  await expect(data.decodeImage(join(dir, 'rgb.png'), { size: 2.5 })).rejects.toThrow(ArgumentError);
  await expect(data.decodeImage(join(dir, 'rgb.png'), { interpolation: 'area' as 'bilinear' })).rejects.toThrow(/expected interpolation/);
});
