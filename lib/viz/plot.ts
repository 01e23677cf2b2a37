/**
 * Line charts as PNG files (training curves) with no dependency: a raster drawn in memory
 * and encoded with Node's zlib (PNG = signature + IHDR + IDAT(deflate) + IEND chunks).
 * @module
 */
import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';

import { ArgumentError } from '../errors.js';

/** One curve: its values (x = 1, 2, ...) and an RGB colour. */
export interface Series {
  name: string;
  values: readonly number[];
  color: [number, number, number];
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; ++k) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'ascii'), Buffer.from(data)]);
  const out = Buffer.alloc(body.length + 8);
  out.writeUInt32BE(data.length, 0);
  body.copy(out, 4);
  out.writeUInt32BE(crc32(body), body.length + 4);
  return out;
}

/** Encodes an RGB raster (row-major, 3 bytes per pixel) as PNG. */
export function encodePng(width: number, height: number, rgb: Uint8Array): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, no interlace
  const rows = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; ++y) rows.set(rgb.subarray(y * width * 3, (y + 1) * width * 3), y * (width * 3 + 1) + 1);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', deflateSync(rows)), chunk('IEND', new Uint8Array())]);
}

/**
 * Draws `series` as lines on a white background with a light grid, each scaled to its own
 * range when `independentScales` (loss next to accuracy), and writes the PNG to `path`.
 */
export function plotLines(path: string, series: readonly Series[], opts: { width?: number; height?: number; independentScales?: boolean } = {}): void {
  const width = opts.width ?? 640;
  const height = opts.height ?? 360;
  if (series.length === 0 || series.every((s) => s.values.length === 0)) throw new ArgumentError('plotLines: nothing to plot');
  const rgb = new Uint8Array(width * height * 3).fill(255);
  const margin = 20;
  const put = (x: number, y: number, [r, g, b]: [number, number, number]) => {
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    const i = (Math.round(y) * width + Math.round(x)) * 3;
    rgb[i] = r;
    rgb[i + 1] = g;
    rgb[i + 2] = b;
  };
  for (let k = 0; k <= 4; ++k) {
    const y = margin + ((height - 2 * margin) * k) / 4;
    for (let x = margin; x < width - margin; ++x) put(x, y, [225, 225, 225]);
  }
  const all = series.flatMap((s) => s.values.filter(Number.isFinite));
  for (const s of series) {
    const values = s.values;
    if (values.length === 0) continue;
    const pool = opts.independentScales ? values.filter(Number.isFinite) : all;
    const lo = Math.min(...pool);
    const hi = Math.max(...pool);
    const span = hi - lo || 1;
    const px = (i: number) => margin + ((width - 2 * margin) * i) / Math.max(values.length - 1, 1);
    const py = (v: number) => height - margin - ((height - 2 * margin) * (v - lo)) / span;
    for (let i = 0; i + 1 < values.length; ++i) {
      const steps = Math.max(Math.abs(px(i + 1) - px(i)), Math.abs(py(values[i + 1]!) - py(values[i]!)), 1);
      for (let t = 0; t <= steps; ++t) {
        const x = px(i) + ((px(i + 1) - px(i)) * t) / steps;
        const y = py(values[i]!) + ((py(values[i + 1]!) - py(values[i]!)) * t) / steps;
        for (const [dx, dy] of [[0, 0], [1, 0], [0, 1]] as const) put(x + dx, y + dy, s.color);
      }
    }
    if (values.length === 1) put(px(0), py(values[0]!), s.color);
  }
  writeFileSync(path, encodePng(width, height, rgb));
}
