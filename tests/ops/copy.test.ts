// The copies under contiguous(), clone(), to(dtype) and to(device) (lib/ops/copy.ts, internal).
import { expect, it } from 'vitest';

import { arange, cat, full, randint, zeros } from '../../lib/index.js';
import { copyInto, copyTo, zerosOn } from '../../lib/ops/copy.js';
import { describeDevices } from '../helpers/devices.js';

describeDevices('copies', (device) => {
  it('copyTo makes a contiguous converted copy of a strided view', () => {
    const x = arange(6, { dtype: 'float32', device }).reshape(2, 3).transpose(0, 1);
    const y = copyTo(x, device, 'int32', 'test');
    expect(y.dtype).toBe('int32');
    expect(y.strides).toEqual([2, 1]);
    expect(y.cpu().tolist()).toEqual([[0, 3], [1, 4], [2, 5]]);
    const toCpu = copyTo(x, 'cpu', 'float32', 'test');
    expect(toCpu.device).toBe('cpu');
    expect(toCpu.tolist()).toEqual([[0, 3], [1, 4], [2, 5]]);
  });

  it('copyInto writes into a strided view, leaving the rest', () => {
    const dst = zeros([2, 4], { device });
    copyInto(dst.slice(1, 1, 3), arange(4, { dtype: 'float32', device }).reshape(2, 2));
    expect(dst.cpu().tolist()).toEqual([[0, 0, 1, 0], [0, 2, 3, 0]]);
  });

  // On the CPU, same-dtype copies whose rows are contiguous on both sides move bytes row by
  // row, and past 8 MB with streaming stores for the whole cache lines of each row.
  it('same-dtype row copies, small and streamed, move every element and write nothing else', async () => {
    for (const dtype of ['uint8', 'float16', 'float32'] as const) {
      const size = { uint8: 1, float16: 2, float32: 4 }[dtype];
      // [rows, width, offset of the destination's first column]: rows of a few bytes, one
      // cache line, and rows of 9 MB a copy misaligned with the cache lines.
      for (const [rows, width, offset] of [[3, 37, 1], [4, 64 / size, 0], [2, Math.ceil((9 << 20) / (2 * size)), 3]] as const) {
        const src = randint(0, 200, [rows, width], { device }).to(dtype);
        const dst = full([rows, width + offset + 2], 255, { dtype, device });
        copyInto(dst.slice(1, offset, offset + width), src);
        const got = await dst.cpu().data();
        const want = await src.cpu().data();
        const stride = width + offset + 2;
        let mismatches = 0;
        for (let r = 0; r < rows; ++r) {
          for (let c = 0; c < stride; ++c) {
            const expected = c >= offset && c < offset + width ? want[r * width + c - offset] : 255;
            if (got[r * stride + c] !== expected) mismatches += 1;
          }
        }
        expect(mismatches, `${dtype} ${rows}x${width}+${offset}`).toBe(0);
      }
    }
  });

  it('a channels-last cat (channel slices of each pixel) equals the NCHW one, small and streamed', async () => {
    for (const [channels, size] of [[[3, 5], 7], [[16, 16], 256], [[24, 40], 160]] as const) {
      const parts = channels.map((c) => randint(-100, 100, [2, size, size, c], { device }).to('float32').permute(0, 3, 1, 2));
      const got = cat(parts, 1);
      expect(got.strides[1]).toBe(1); // channels-last, as its inputs
      const want = cat(parts.map((p) => p.contiguous()), 1);
      expect(Array.from(await got.contiguous().cpu().data())).toEqual(Array.from(await want.cpu().data()));
    }
  });

  it('zerosOn gives float32 zeros on the device', () => {
    const z = zerosOn([2, 2], device);
    expect([z.dtype, z.device, z.cpu().tolist()]).toEqual(['float32', device, [[0, 0], [0, 0]]]);
  });
});
