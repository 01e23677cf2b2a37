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

// Whether `blocked` is the 16-channel-blocked layout of `t`'s shape and dtype and `t` is
// dense channels-last: the pair the copies below convert.
bool convertible(const TensorRef& t, const dnnl::memory::desc& blocked) {
  using tag = dnnl::memory::format_tag;
  if (!isDenseChannelsLast(t.layout)) return false;
  const tag blockedTag = t.layout.ndim == 3 ? tag::aBc16b : (t.layout.ndim == 4 ? tag::aBcd16b : tag::aBcde16b);
  const dnnl::memory::dims dims(t.layout.shape, t.layout.shape + t.layout.ndim);
  return blocked == dnnl::memory::desc(dims, dnnlType(t.dtype), blockedTag);
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

// Channels-last `from` -> blocked `to` (ToBlocked) or back: channels-last offset
// ((n * pixels + p) * C + c), blocked (((n * blocks + c / 16) * pixels + p) * 16 + c % 16).
// Pixel by pixel, all of a pixel's blocks in turn: the channels-last side is read or written
// in order, the blocked side as `blocks` sequential streams (2-2.7x faster than block by
// block on the bench conv's 25.7 MB, which went through the cache `blocks` times).
template <int Bytes, bool ToBlocked, bool Stream>
void copyBlocks(const Layout& l, const void* from, void* to) {
  const int64_t channels = l.shape[1];
  int64_t pixels = 1;
  for (int d = 2; d < l.ndim; ++d) pixels *= l.shape[d];
  const int64_t blocks = (channels + kBlock - 1) / kBlock;
  const int64_t tail = channels - (blocks - 1) * kBlock;  // channels in the last block
  constexpr int64_t kRun = 64;                              // pixels per task
  const int64_t runs = (pixels + kRun - 1) / kRun;
  const int64_t tasks = l.shape[0] * runs;
  auto* src = static_cast<const char*>(from);
  auto* dst = static_cast<char*>(to);
  parallelForIf(tasks > 1 && l.numel() > kParallelGrain, tasks, [&](int64_t task) {
    const int64_t n = task / runs;
    const int64_t p0 = (task % runs) * kRun;
    const int64_t p1 = p0 + kRun < pixels ? p0 + kRun : pixels;
    for (int64_t p = p0; p < p1; ++p) {
      for (int64_t b = 0; b < blocks; ++b) {
        const int64_t cl = ((n * pixels + p) * channels + b * kBlock) * Bytes;
        const int64_t bl = (((n * blocks + b) * pixels + p) * kBlock) * Bytes;
        const int64_t width = b + 1 < blocks ? kBlock : tail;
        if (ToBlocked) copyBlock<Bytes, true, Stream>(src + cl, dst + bl, width);
        else copyBlock<Bytes, false, Stream>(src + bl, dst + cl, width);
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
void copyAll(const TensorRef& cl, const void* from, void* to) {
  const size_t bytes = static_cast<size_t>(cl.numel()) * Bytes;
  // Aligned destinations for the 16-byte streaming stores: the buffer, and each block
  // within it (blocked blocks are 16 * Bytes apart, channels-last pixels C * Bytes).
  const bool aligned = reinterpret_cast<uintptr_t>(to) % 16 == 0 && (ToBlocked || (cl.layout.shape[1] * Bytes) % 16 == 0);
  if (bytes >= kStreamBytes && aligned) copyBlocks<Bytes, ToBlocked, true>(cl.layout, from, to);
  else copyBlocks<Bytes, ToBlocked, false>(cl.layout, from, to);
}

template <bool ToBlocked>
bool convert(const TensorRef& cl, const void* from, void* to) {
  const size_t bytes = dtypeSize(cl.dtype);
  if (bytes == 4) copyAll<4, ToBlocked>(cl, from, to);
  else if (bytes == 2) copyAll<2, ToBlocked>(cl, from, to);
  else return false;
  return true;
}

}  // namespace

bool sameAsChannelsLast(const TensorRef& t, const dnnl::memory::desc& blocked) {
  return t.layout.ndim >= 3 && t.layout.shape[1] == kBlock && convertible(t, blocked);
}

bool channelsLastToBlocked(const TensorRef& from, const dnnl::memory::desc& to, void* toData) {
  return convertible(from, to) && convert<true>(from, from.data, toData);
}

bool blockedToChannelsLast(const dnnl::memory::desc& from, const void* fromData, const TensorRef& to) {
  return convertible(to, from) && convert<false>(to, fromData, to.data);
}

}  // namespace neocog::cpu
