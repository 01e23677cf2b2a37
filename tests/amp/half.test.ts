// float16 / bfloat16 tensors: the rounding of casts (PyTorch's, bit for bit), reading,
// printing, saving, what accepts them (conv, matmul, linear) and what refuses them.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';

import { expect, it } from 'vitest';

import {
  conv2d,
  convTranspose2d,
  DTypeError,
  io,
  linear,
  matmul,
  ones,
  randn,
  relu,
  tensor,
  zeros,
  type Device,
  type HalfDType,
} from '../../lib/index.js';
import { cpuHasBFloat16Kernels, describeDevices, expectClose } from '../helpers/devices.js';

// Written by make_half_fixtures.py from PyTorch 1.13 (float32 -> 16 bits -> float32).
const fixture = JSON.parse(readFileSync(new URL('../fixtures/half.json', import.meta.url), 'utf8')) as {
  values: Array<number | string>; float16: Array<number | string>; bfloat16: Array<number | string>;
  ints: number[]; intsFloat16: Record<'int32' | 'uint8' | 'bool', number[]>; intsBFloat16: Record<'int32' | 'uint8' | 'bool', number[]>;
  x: number[]; w: number[]; b: number[]; convBFloat16: number[]; a: number[]; m: number[]; matmulBFloat16: number[];
};
const decode = (values: Array<number | string>) => Float32Array.from(values, (v) => (typeof v === 'number' ? v : Number(v)));
const halves: HalfDType[] = ['float16', 'bfloat16'];

/** `values` rounded to `dtype` and back by our cast (the reference for 16-bit math). */
const rounded = (values: number[], dtype: HalfDType) => tensor(Float32Array.from(values)).to(dtype).to('float32').dataSync();

describeDevices('16-bit casts', (device: Device) => {
  for (const dtype of halves) {
    it(`float32 -> ${dtype} rounds as PyTorch does, bit for bit (ties to even, overflow, subnormals, NaN)`, () => {
      const x = tensor(decode(fixture.values), { device });
      const h = x.to(dtype);
      expect(h.dtype).toBe(dtype);
      const back = h.dataSync(); // widened to float32 by data()
      const expected = decode(fixture[dtype]);
      for (let i = 0; i < expected.length; ++i) {
        if (Number.isNaN(expected[i])) expect(back[i], `element ${i}`).toBeNaN();
        else expect(Object.is(back[i], expected[i]), `element ${i} (${fixture.values[i]}): got ${back[i]}, want ${expected[i]}`).toBe(true);
      }
    });

    it(`${dtype}: long casts and sums (vector loops, both threads) round as the fixture's values do`, () => {
      const values = decode(fixture.values);
      const expected = decode(fixture[dtype]);
      const doubled = rounded(Array.from(expected, (v) => 2 * v), dtype); // a 16-bit value doubled, rounded once
      const n = 175 * values.length; // 40,075 elements
      const h = tensor(Float32Array.from({ length: n }, (_, i) => values[i % values.length]!), { device }).to(dtype);
      const [back, sum] = [h.dataSync(), h.add(h).dataSync()];
      const same = (a: number, b: number) => Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));
      const wrong: string[] = [];
      for (let i = 0; i < n && wrong.length < 5; ++i) {
        const k = i % values.length;
        if (!same(back[i]!, expected[k]!)) wrong.push(`cast of element ${i} (${fixture.values[k]}): ${back[i]}, want ${expected[k]}`);
        if (!same(sum[i]!, doubled[k]!)) wrong.push(`sum of element ${i} (${fixture.values[k]}): ${sum[i]}, want ${doubled[k]}`);
      }
      expect(wrong).toEqual([]);
    });

    it(`${dtype} -> int32 / uint8 / bool follow PyTorch's cast rules`, () => {
      const h = tensor(fixture.ints, { device, dtype: 'float32' }).to(dtype);
      const want = dtype === 'float16' ? fixture.intsFloat16 : fixture.intsBFloat16;
      expect(Array.from(h.to('int32').dataSync())).toEqual(want.int32);
      expect(Array.from(h.to('uint8').dataSync())).toEqual(want.uint8);
      expect(Array.from(h.to('bool').dataSync())).toEqual(want.bool);
      expect(tensor([3, -7], { device }).to(dtype).tolist()).toEqual([3, -7]);
    });

    it(`${dtype} tensors are created, viewed, copied and filled`, () => {
      const t = tensor([[1, 2.5], [3, 1e-3]], { device, dtype });
      expect(t.dtype).toBe(dtype);
      expect(t.transpose(0, 1).contiguous().tolist()).toEqual([[1, 3], [2.5, rounded([1e-3], dtype)[0]]]);
      expect(zeros([2, 2], { device, dtype }).tolist()).toEqual([[0, 0], [0, 0]]);
      expect(ones([3], { device, dtype }).dataSync()).toEqual(Float32Array.from([1, 1, 1]));
      expect(t.clone().dtype).toBe(dtype);
    });
  }

  it('the gradient of a cast is the cast of the gradient', () => {
    const x = tensor([0.1, 2, -3], { device, requiresGrad: true });
    const y = x.to('bfloat16').to('float32').mul(tensor([1, 2, 3], { device, dtype: 'float32' }));
    y.sum().backward();
    expect(Array.from(x.grad!.dataSync())).toEqual([1, 2, 3]);
  });
});

it('16-bit tensors print like PyTorch with their dtype', () => {
  expect(tensor([1, 2.5, 1e-3], { dtype: 'float16' }).toString()).toBe('tensor([1.0000e+00, 2.5000e+00, 1.0004e-03], dtype=float16)');
  expect(tensor([1, 2], { dtype: 'bfloat16' }).toString()).toBe('tensor([1., 2.], dtype=bfloat16)');
});

it('safetensors keeps 16-bit tensors bit for bit (F16, BF16)', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'neocog-half-')), 'half.safetensors');
  const values = decode(fixture.values).slice(0, 26);
  const tensors = new Map(halves.map((dtype) => [dtype, tensor(values).to(dtype)]));
  await io.saveSafetensors(file, tensors);
  const header = JSON.parse(readFileSync(file).subarray(8, 8 + Number(readFileSync(file).readBigUInt64LE(0))).toString()) as Record<string, { dtype: string }>;
  expect(header.float16!.dtype).toBe('F16');
  expect(header.bfloat16!.dtype).toBe('BF16');
  const loaded = (await io.loadSafetensors(file)).tensors;
  for (const dtype of halves) {
    expect(loaded.get(dtype)!.dtype).toBe(dtype);
    expect(loaded.get(dtype)!.dataSync()).toEqual(tensors.get(dtype)!.dataSync());
  }
});

it.runIf(cpuHasBFloat16Kernels)('bfloat16 conv2d and matmul on the CPU equal PyTorch (oneDNN bf16, float32 accumulation)', () => {
  const x = tensor(Float32Array.from(fixture.x)).reshape(2, 3, 9, 9).to('bfloat16');
  const w = tensor(Float32Array.from(fixture.w)).reshape(5, 3, 3, 3).to('bfloat16');
  const b = tensor(Float32Array.from(fixture.b)).to('bfloat16');
  const y = conv2d(x, w, b, { padding: 1 });
  expect(y.dtype).toBe('bfloat16');
  // bfloat16 keeps 8 significant bits (an ulp is 2^-7 relative): PyTorch may round the product and
  // the bias sum separately, and sums in another order, so two ulps apart is still equal here.
  expectClose(y.dataSync(), fixture.convBFloat16, 2e-2);
  const a = tensor(Float32Array.from(fixture.a)).reshape(6, 10).to('bfloat16');
  const m = tensor(Float32Array.from(fixture.m)).reshape(10, 4).to('bfloat16');
  expectClose(matmul(a, m).dataSync(), fixture.matmulBFloat16, 2e-2);
});

describeDevices('16-bit conv, matmul and linear', (device: Device) => {
  const dtypes: HalfDType[] = device !== 'cpu' ? halves : cpuHasBFloat16Kernels ? ['bfloat16'] : [];
  for (const dtype of dtypes) {
    it(`${dtype}: the result is the float32 one on the rounded operands, to one output rounding`, () => {
      const x = randn([2, 4, 7, 7], { device });
      const w = randn([6, 4, 3, 3], { device });
      const b = randn([6], { device });
      const [xr, wr, br] = [x, w, b].map((t) => t.to(dtype).to('float32'));
      const got = conv2d(x.to(dtype), w.to(dtype), b.to(dtype), { padding: 1, stride: 2 });
      expect(got.dtype).toBe(dtype);
      expectClose(got.dataSync(), conv2d(xr!, wr!, br, { padding: 1, stride: 2 }).dataSync(), 1e-2);
      const t = randn([4, 3, 3, 3], { device });
      expectClose(
        convTranspose2d(x.to(dtype), t.to(dtype), b.slice(0, 0, 3).to(dtype), { stride: 2 }).dataSync(),
        convTranspose2d(xr!, t.to(dtype).to('float32'), b.slice(0, 0, 3).to(dtype).to('float32'), { stride: 2 }).dataSync(),
        1e-2,
      );
      const a = randn([3, 5, 8], { device });
      const m = randn([8, 2], { device });
      const product = matmul(a.to(dtype), m.to(dtype));
      expect(product.shape).toEqual([3, 5, 2]);
      expectClose(product.dataSync(), matmul(a.to(dtype).to('float32'), m.to(dtype).to('float32')).dataSync(), 1e-2);
      expect(linear(a.to(dtype), randn([4, 8], { device }).to(dtype), randn([4], { device }).to(dtype)).dtype).toBe(dtype);
    });
  }
});

it('16-bit tensors: elementwise ops, comparisons and reductions run (in float32 per element); ops without a 16-bit kernel refuse them with a DTypeError and lose nothing', () => {
  const h = tensor([1, -2, 3], { dtype: 'float16' });
  expect(relu(h).tolist()).toEqual([1, 0, 3]);
  expect(h.add(h).tolist()).toEqual([2, -4, 6]);
  expect(h.gt(0).tolist()).toEqual([true, false, true]);
  expect(h.sum().item()).toBe(2);
  expect(() => h.argmax()).toThrow(DTypeError);
  expect(() => h.add(tensor([1, 2, 3]))).toThrow(/add: expected other to have dtype float16 like input, got int32/);
  expect(() => h.requiresGrad_()).toThrow(/only float32 tensors can require gradients, got float16/);
  expect(() => conv2d(randn([1, 1, 3, 3]), randn([1, 1, 1, 1]).to('bfloat16'))).toThrow(/expected weight to have dtype float32 like input, got bfloat16/);
  expect(() => matmul(randn([2, 2]).to('float16'), randn([2, 2]))).toThrow(DTypeError);
  expect(h.tolist()).toEqual([1, -2, 3]);
});

it('a float16 convolution where oneDNN has no float16 kernel (2.6 on x86) is a DTypeError naming the alternative', async () => {
  const y = conv2d(randn([1, 2, 5, 5]).to('float16'), randn([3, 2, 3, 3]).to('float16'));
  await expect(y.data()).rejects.toThrow(/conv2d: oneDNN has no float16 kernel on this CPU .*use bfloat16 on the CPU, or float16 on CUDA/);
});
