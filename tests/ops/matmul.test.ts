import { expect, it } from 'vitest';

import { manualSeed, matmul, randn, ShapeError, tensor, type Tensor } from '../../lib/index.js';
import { describeDevices, expectClose } from '../helpers/devices.js';
import { fixtureTests } from '../helpers/fixture_cases.js';
import { matmulSuite } from '../helpers/fixture_suites.js';

/** float64 reference of torch.matmul for the ranks used here. */
function reference(a: Tensor, b: Tensor): number[] {
  const av = Array.from(a.dataSync()), bv = Array.from(b.dataSync());
  const [m, k] = a.ndim === 1 ? [1, a.shape[0]!] : (a.shape.slice(-2) as [number, number]);
  const n = b.ndim === 1 ? 1 : b.shape[b.ndim - 1]!;
  const batchA = a.ndim > 2 ? a.shape.slice(0, -2) : [];
  const batchB = b.ndim > 2 ? b.shape.slice(0, -2) : [];
  const batch = batchA.length >= batchB.length ? batchA : batchB;
  const count = batch.reduce((x, y) => x * y, 1);
  const out: number[] = [];
  for (let p = 0; p < count; ++p) {
    const pa = batchA.length ? p % (batchA.reduce((x, y) => x * y, 1)) : 0;
    const pb = batchB.length ? p % (batchB.reduce((x, y) => x * y, 1)) : 0;
    for (let i = 0; i < m; ++i) {
      for (let j = 0; j < n; ++j) {
        let s = 0;
        for (let q = 0; q < k; ++q) s += av[pa * m * k + i * k + q]! * bv[pb * k * n + q * n + j]!;
        out.push(s);
      }
    }
  }
  return out;
}

describeDevices('matmul', (device) => {
  const cases: Array<[number[], number[], number[]]> = [
    [[3, 4], [4, 5], [3, 5]],
    [[1, 1], [1, 1], [1, 1]],
    [[7, 33], [33, 2], [7, 2]],
    [[2, 3, 4], [2, 4, 5], [2, 3, 5]],
    [[2, 3, 4], [4, 5], [2, 3, 5]],
    [[4], [4, 5], [5]],
    [[3, 4], [4], [3]],
    [[4], [4], []],
    [[3, 0], [0, 2], [3, 2]],
  ];
  for (const [sa, sb, so] of cases) {
    it(`a=[${sa}] b=[${sb}] -> [${so}]`, () => {
      manualSeed(3);
      const a = randn(sa, { device });
      const b = randn(sb, { device });
      const out = matmul(a, b);
      expect(out.shape).toEqual(so);
      expectClose(out.dataSync(), reference(a, b), 1e-4);
    });
  }

  it('reads transposed views without a copy and matches the contiguous result', () => {
    manualSeed(5);
    const a = randn([6, 4], { device });
    const b = randn([6, 5], { device });
    const viaView = a.transpose(0, 1).matmul(b);
    const viaCopy = a.transpose(0, 1).contiguous().matmul(b);
    expectClose(viaView.dataSync(), viaCopy.dataSync(), 1e-5);
  });

  // The CPU backend hands row-major and transposed matrices to a GEMM, with a leading
  // dimension that may exceed the row; other layouts go to oneDNN's matmul primitive.
  it('agrees with the reference for every operand layout (transposed, sliced, expanded, batched)', () => {
    manualSeed(7);
    /** [rows, cols] views of the same values in different layouts. */
    const layouts = (rows: number, cols: number): Array<[string, Tensor]> => {
      const base = randn([rows, cols], { device });
      return [
        ['contiguous', base],
        ['transposed', base.transpose(0, 1).contiguous().transpose(0, 1)],
        ['column slice (ld > cols)', randn([rows, cols + 3], { device }).slice(1, 1, cols + 1)],
        ['transposed slice', randn([cols, rows + 2], { device }).slice(1, 2, rows + 2).transpose(0, 1)],
        ['expanded row (stride 0)', randn([1, cols], { device }).expand([rows, cols])],
        ['every other column', randn([rows, 2 * cols], { device }).slice(1, 0, 2 * cols, 2)],
      ];
    };
    for (const [m, k, n] of [[5, 7, 3], [1, 4, 6], [6, 4, 1], [33, 17, 9]] as const) {
      for (const [nameA, a] of layouts(m, k)) {
        for (const [nameB, b] of layouts(k, n)) {
          const out = matmul(a, b);
          expect(out.shape, `${nameA} @ ${nameB}`).toEqual([m, n]);
          expectClose(out.dataSync(), reference(a.contiguous(), b.contiguous()), 1e-4);
        }
      }
    }
    const batchA = randn([3, 4, 5], { device }).transpose(1, 2);
    const batchB = randn([3, 7, 4], { device }).slice(1, 1, 5);
    expectClose(matmul(batchA, batchB).dataSync(), reference(batchA.contiguous(), batchB.contiguous()), 1e-4);
  });

  it('broadcasts a batch of 1 against a batch of N', () => {
    manualSeed(6);
    const a = randn([1, 3, 4], { device });
    const b = randn([5, 4, 2], { device });
    const out = a.matmul(b);
    expect(out.shape).toEqual([5, 3, 2]);
    const first = a.reshape(3, 4).matmul(b.slice(0, 4, 5).reshape(4, 2));
    expectClose(out.slice(0, 4, 5).reshape(-1).dataSync(), first.reshape(-1).dataSync(), 1e-5);
  });

  it('works with the worked 2x2 example', () => {
    const a = tensor([[1, 2], [3, 4]], { dtype: 'float32', device });
    expect(a.matmul(a).tolist()).toEqual([[7, 10], [15, 22]]);
  });
});

it('matmul rejects mismatched inner sizes and scalars', () => {
  expect(() => matmul(randn([2, 3]), randn([4, 5]))).toThrow(ShapeError);
  expect(() => matmul(randn([]), randn([2]))).toThrow(/at least 1 dimension/);
  expect(() => matmul(randn([2, 2, 3]), randn([3, 3, 2]))).toThrow(/do not broadcast/);
});

// Forward values and input gradients against PyTorch (tests/fixtures/ops.json, written by
// make_fixtures.py), on every device.
describeDevices('matmul vs PyTorch', (device) => fixtureTests(device, matmulSuite.cases, matmulSuite.calls, { tolerance: matmulSuite.tolerance }));
