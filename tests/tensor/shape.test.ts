// stridesLike decides the memory format of every elementwise output; its row-major fast
// path (issue 11) must agree with the general order-by-stride path.
import { describe, expect, it } from 'vitest';

import { channelsLastStrides, contiguousStrides, stridesLike } from '../../lib/tensor/shape.js';

describe('stridesLike', () => {
  it('row-major [2, 3, 4] gives row-major strides', () => {
    expect(stridesLike({ shape: [2, 3, 4], strides: [12, 4, 1] }, [2, 3, 4])).toEqual([12, 4, 1]);
  });

  it('row-major [2, 1, 4] broadcast to [2, 5, 4] gives row-major strides', () => {
    expect(stridesLike({ shape: [2, 1, 4], strides: [4, 4, 1] }, [2, 5, 4])).toEqual(contiguousStrides([2, 5, 4]));
  });

  it('channels-last [1, 8, 8, 8] stays channels-last', () => {
    expect(stridesLike({ shape: [1, 8, 8, 8], strides: [512, 1, 64, 8] }, [1, 8, 8, 8])).toEqual([512, 1, 64, 8]);
  });

  it('a dense [2, 1, 3] with an odd stride on its size-1 dim follows that dim order (the general path)', () => {
    // isContiguous() ignores size-1 dims, but the order by stride puts dim 1 outermost.
    expect(stridesLike({ shape: [2, 1, 3], strides: [3, 100, 1] }, [2, 5, 3])).toEqual([3, 6, 1]);
  });

  it("a same-shape output keeps `like`'s strides exactly, size-1 dims included", () => {
    // A one-channel channels-last map: the physical layout is NCHW's, but kernels compare
    // strides, so out must be [HW, 1, W, 1] as the input (a 1-channel U-Net's batch norm failed).
    expect(stridesLike({ shape: [1, 1, 6, 6], strides: [36, 1, 6, 1] }, [1, 1, 6, 6])).toEqual([36, 1, 6, 1]);
  });

  it('a channel slice of a channels-last map (gaps between its pixels) gives dense channels-last strides', () => {
    // x[:, :16] of [1, 32, 128, 128] channels-last, as a U-Net skip connection's gradient.
    expect(stridesLike({ shape: [1, 16, 128, 128], strides: [524288, 1, 4096, 32] }, [1, 16, 128, 128])).toEqual([262144, 1, 2048, 16]);
    expect(stridesLike({ shape: [2, 3, 4, 5], strides: [120, 1, 30, 6] }, [2, 3, 4, 5])).toEqual(channelsLastStrides([2, 3, 4, 5]));
    // A slice of a row-major tensor stays row-major.
    expect(stridesLike({ shape: [2, 3], strides: [8, 2] }, [2, 3])).toEqual([3, 1]);
  });

  it('a broadcast `like` (stride 0 on a dim of size > 1) gives row-major strides', () => {
    expect(stridesLike({ shape: [2, 3, 4, 4], strides: [0, 1, 0, 0] }, [2, 3, 4, 4])).toEqual(contiguousStrides([2, 3, 4, 4]));
  });

  it('[2, 0] with row-major strides and a rank change give row-major strides', () => {
    expect(stridesLike({ shape: [2, 0], strides: [0, 1] }, [2, 0])).toEqual([0, 1]);
    expect(stridesLike({ shape: [4], strides: [1] }, [3, 4])).toEqual([4, 1]);
  });
});
