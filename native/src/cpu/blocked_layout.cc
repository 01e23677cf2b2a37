#include "cpu/blocked_layout.h"

#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "cpu/dnnl_context.h"
#include "cpu/parallel.h"

namespace neocog::cpu {

namespace {

constexpr int64_t kBlock = 16;

// [N, C, *spatial] with C varying fastest, then the spatial dims in order, then N (dims of
// size 1 may have any stride).
bool isDenseChannelsLast(const Layout& l) {
  if (l.ndim < 3 || l.ndim > 5) return false;
  const int64_t channels = l.shape[1];
  if (channels != 1 && l.strides[1] != 1) return false;
  int64_t expected = channels;
  for (int d = l.ndim - 1; d >= 2; --d) {
    if (l.shape[d] != 1 && l.strides[d] != expected) return false;
    expected *= l.shape[d];
  }
  return l.shape[0] == 1 || l.strides[0] == expected;
}

// Copies one block of Bytes-sized elements' `width` channels (of 16), zero-filling the
// rest when writing the blocked side. A non-temporal copy (SSE2 streaming stores, 16-byte
// aligned destinations) skips reading the destination's lines into the cache first: on
// operands larger than the cache it ran 1.3-1.4x faster, on small ones 1.5x slower.
template <int Bytes, bool ToBlocked, bool Stream>
inline void copyBlock(const char* src, char* dst, int64_t width) {
  constexpr int64_t kBytes = kBlock * Bytes;
  if (width == kBlock) {
#if defined(__SSE2__)
    if (Stream) {
      for (int64_t i = 0; i < kBytes; i += 16) {
        _mm_stream_si128(reinterpret_cast<__m128i*>(dst + i), _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i)));
      }
      return;
    }
#endif
    std::memcpy(dst, src, kBytes);
    return;
  }
  std::memcpy(dst, src, width * Bytes);
  if (ToBlocked) std::memset(dst + width * Bytes, 0, (kBlock - width) * Bytes);
}

// Channels-last `from` -> blocked `to` (ToBlocked) or back. Channels-last offset
// ((n * pixels + p) * C + c); blocked (((m * blocks + c / 16) * pixels' + q) * 16 + c % 16),
// where blocked image m = (n * grids.rows + a) * grids.cols + b holds the pixels
// (i * grids.rows + a, j * grids.cols + b) of image n at q = i * (W / grids.cols) + j (with
// no sub-grids, m = n and q = p). One task per row of a blocked image, pixel by pixel, all of
// a pixel's blocks in turn: the channels-last side is read or written in order (every
// cols-th pixel with sub-grids), the blocked side as `blocks` sequential streams (2-2.7x
// faster than block by block on the bench conv's 25.7 MB, which went through the cache
// `blocks` times).
template <int Bytes, bool ToBlocked, bool Stream>
void copyBlocks(const Layout& l, SubGrids grids, const void* from, void* to) {
  const int64_t channels = l.shape[1];
  const int64_t width = l.shape[l.ndim - 1];  // the last dim is a row; the others count rows
  int64_t height = 1;
  for (int d = 2; d + 1 < l.ndim; ++d) height *= l.shape[d];
  const int64_t subHeight = height / grids.rows, subWidth = width / grids.cols;
  const int64_t subPixels = subHeight * subWidth;
  const int64_t blocks = (channels + kBlock - 1) / kBlock;
  const int64_t tail = channels - (blocks - 1) * kBlock;  // channels in the last block
  const int64_t tasks = l.shape[0] * grids.rows * grids.cols * subHeight;
  auto* src = static_cast<const char*>(from);
  auto* dst = static_cast<char*>(to);
  parallelForIf(tasks > 1 && l.numel() > kParallelGrain, tasks, [&](int64_t task) {
    const int64_t m = task / subHeight, i = task % subHeight;
    const int64_t n = m / (grids.rows * grids.cols), a = (m / grids.cols) % grids.rows, b = m % grids.cols;
    const int64_t firstPixel = (n * height + i * grids.rows + a) * width + b;  // channels-last
    const int64_t firstQ = i * subWidth;                                       // blocked
    for (int64_t j = 0; j < subWidth; ++j) {
      const int64_t pixel = firstPixel + j * grids.cols;
      for (int64_t block = 0; block < blocks; ++block) {
        const int64_t cl = (pixel * channels + block * kBlock) * Bytes;
        const int64_t bl = (((m * blocks + block) * subPixels + firstQ + j) * kBlock) * Bytes;
        const int64_t used = block + 1 < blocks ? kBlock : tail;
        if (ToBlocked) copyBlock<Bytes, true, Stream>(src + cl, dst + bl, used);
        else copyBlock<Bytes, false, Stream>(src + bl, dst + cl, used);
      }
    }
#if defined(__SSE2__)
    if (Stream) _mm_sfence();  // the streamed lines reach memory before the kernel reads them
#endif
  });
}

// Streaming stores from this size on (half the 32 MiB L3 of the EPYC measured; the copies'
// results are read again at once, from the cache when they fit).
constexpr size_t kStreamBytes = size_t{16} << 20;

template <int Bytes, bool ToBlocked>
void copyAll(const TensorRef& cl, SubGrids grids, const void* from, void* to) {
  const size_t bytes = static_cast<size_t>(cl.numel()) * Bytes;
  // Aligned destinations for the 16-byte streaming stores: the buffer, and each block
  // within it (blocked blocks are 16 * Bytes apart, channels-last pixels C * Bytes).
  const bool aligned = reinterpret_cast<uintptr_t>(to) % 16 == 0 && (ToBlocked || (cl.layout.shape[1] * Bytes) % 16 == 0);
  if (bytes >= kStreamBytes && aligned) copyBlocks<Bytes, ToBlocked, true>(cl.layout, grids, from, to);
  else copyBlocks<Bytes, ToBlocked, false>(cl.layout, grids, from, to);
}

template <bool ToBlocked>
bool convert(const TensorRef& cl, SubGrids grids, const void* from, void* to) {
  const size_t bytes = dtypeSize(cl.dtype);
  if (bytes == 4) copyAll<4, ToBlocked>(cl, grids, from, to);
  else if (bytes == 2) copyAll<2, ToBlocked>(cl, grids, from, to);
  else return false;
  return true;
}

}  // namespace

bool blockedOf(const TensorRef& t, const dnnl::memory::desc& blocked, SubGrids grids) {
  using tag = dnnl::memory::format_tag;
  const Layout& l = t.layout;
  if (!isDenseChannelsLast(l)) return false;
  dnnl::memory::dims dims(l.shape, l.shape + l.ndim);
  if (!grids.none()) {
    if (l.ndim != 4 || l.shape[2] % grids.rows != 0 || l.shape[3] % grids.cols != 0) return false;
    dims[0] *= grids.rows * grids.cols;
    dims[2] /= grids.rows;
    dims[3] /= grids.cols;
  }
  const tag blockedTag = l.ndim == 3 ? tag::aBc16b : (l.ndim == 4 ? tag::aBcd16b : tag::aBcde16b);
  return blocked == dnnl::memory::desc(dims, dnnlType(t.dtype), blockedTag);
}

bool sameAsChannelsLast(const TensorRef& t, const dnnl::memory::desc& blocked) {
  return t.layout.ndim >= 3 && t.layout.shape[1] == kBlock && blockedOf(t, blocked, SubGrids{});
}

bool channelsLastToBlocked(const TensorRef& from, const dnnl::memory::desc& to, void* toData, SubGrids grids) {
  return blockedOf(from, to, grids) && convert<true>(from, grids, from.data, toData);
}

bool blockedToChannelsLast(const dnnl::memory::desc& from, const void* fromData, const TensorRef& to, SubGrids grids) {
  return blockedOf(to, from, grids) && convert<false>(to, grids, fromData, to.data);
}

}  // namespace neocog::cpu
