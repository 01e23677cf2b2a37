// Writes indexed (palette, colour type 3) PNGs with a chosen palette, as Pascal VOC's
// SegmentationClass masks are: sharp can only write palettes it quantises itself.
import { deflateSync } from 'node:zlib';

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function chunk(type: string, body: Uint8Array): Buffer {
  const out = Buffer.alloc(body.length + 12);
  out.writeUInt32BE(body.length, 0);
  out.write(type, 4, 'latin1');
  out.set(body, 8);
  let crc = 0xffffffff;
  for (const byte of out.subarray(4, body.length + 8)) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  out.writeUInt32BE((crc ^ 0xffffffff) >>> 0, body.length + 8);
  return out;
}

/** An 8-bit indexed PNG of `indices` (row-major `height × width`) with `palette` ([r, g, b] per index). */
export function indexedPng(width: number, height: number, indices: ArrayLike<number>, palette: ReadonlyArray<readonly [number, number, number]>): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 3, 0, 0, 0], 8);
  const rows = Buffer.alloc((width + 1) * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) rows[y * (width + 1) + 1 + x] = indices[y * width + x]!;
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk('IHDR', header), chunk('PLTE', Buffer.from(palette.flat())), chunk('IDAT', deflateSync(rows)), chunk('IEND', new Uint8Array())]);
}

/** Pascal VOC's colour map: index i's colour from the bits of i, as the devkit's `labelcolormap`. */
export function vocPalette(n = 256): Array<[number, number, number]> {
  return Array.from({ length: n }, (_, i) => {
    let [r, g, b, c] = [0, 0, 0, i];
    for (let j = 0; j < 8; j++) {
      r |= ((c >> 0) & 1) << (7 - j);
      g |= ((c >> 1) & 1) << (7 - j);
      b |= ((c >> 2) & 1) << (7 - j);
      c >>= 3;
    }
    return [r, g, b];
  });
}

/**
 * A 16-bit grayscale PNG of `values` (row-major): sharp cannot write one from raw input.
 * Row y is encoded with PNG filter `filters[y % filters.length]` (0 none, 1 sub, 2 up,
 * 3 average, 4 Paeth), so a decoder's unfiltering is exercised.
 */
export function gray16Png(width: number, height: number, values: ArrayLike<number>, filters: readonly number[] = [0]): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([16, 0, 0, 0, 0], 8);
  const stride = 2 * width;
  const plain = Buffer.alloc(stride * height);
  for (let p = 0; p < width * height; p++) plain.writeUInt16BE(values[p]!, 2 * p);
  const rows = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    const filter = filters[y % filters.length]!;
    rows[y * (stride + 1)] = filter;
    for (let i = 0; i < stride; i++) {
      const x = plain[y * stride + i]!;
      const a = i >= 2 ? plain[y * stride + i - 2]! : 0;
      const b = y > 0 ? plain[(y - 1) * stride + i]! : 0;
      const c = i >= 2 && y > 0 ? plain[(y - 1) * stride + i - 2]! : 0;
      const pp = a + b - c;
      const paeth = Math.abs(pp - a) <= Math.abs(pp - b) && Math.abs(pp - a) <= Math.abs(pp - c) ? a : Math.abs(pp - b) <= Math.abs(pp - c) ? b : c;
      const predictor = [0, a, b, (a + b) >> 1, paeth][filter]!;
      rows[y * (stride + 1) + 1 + i] = (x - predictor) & 0xff;
    }
  }
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk('IHDR', header), chunk('IDAT', deflateSync(rows)), chunk('IEND', new Uint8Array())]);
}
