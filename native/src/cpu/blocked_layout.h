// Conversions between channels-last activations and oneDNN's channel-blocked layouts
// (nCw16c, nChw16c, nCdhw16c), which the Winograd and blocked convolution kernels take and
// give (cpu/conv.cc). Hand-written rather than oneDNN 2.6's reorder: a Winograd training step
// of one convolution converts six activations, and with these copies the bench conv
// (32x64x56x56 -> 64, 2-vCPU EPYC, alternating processes) took 54-57 ms forward + backward
// against 59-62 with oneDNN's reorders, 16.0-16.9 ms forward against 17.6-21. Both
// directions copy 16-channel blocks, one cache line per pixel in float32.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <cstdint>

#include "neocog/layout.h"

namespace neocog::cpu {

// A 4-d tensor's interleaved sub-grids of `rows` x `cols` pixels, each seen as an image of
// its own (space-to-batch): blocked image (n * rows + a) * cols + b holds the pixels
// (i * rows + a, j * cols + b) of image n. 1 x 1 is the tensor itself.
struct SubGrids {
  int64_t rows = 1, cols = 1;
  bool none() const { return rows == 1 && cols == 1; }
};

// Whether `blocked` is the 16-channel-blocked layout of `t`'s shape (split into `grids`)
// and dtype, and `t` is dense channels-last: the pairs the copies below convert.
bool blockedOf(const TensorRef& t, const dnnl::memory::desc& blocked, SubGrids grids = {});

// Writes `from` (dense channels-last, [N, C, *spatial]) into `toData` laid out as `to`, when
// `to` is the 16-channel-blocked layout of `from`'s shape and dtype, or with `grids` of
// [N * rows * cols, C, H / rows, W / cols] (channels past C padded with zeros, as oneDNN
// requires); false, touching nothing, otherwise.
bool channelsLastToBlocked(const TensorRef& from, const dnnl::memory::desc& to, void* toData, SubGrids grids = {});

// The reverse: `fromData` laid out as `from` (16-channel-blocked, of `to`'s shape or its
// `grids`) into `to` (dense channels-last); false, touching nothing, otherwise.
bool blockedToChannelsLast(const dnnl::memory::desc& from, const void* fromData, const TensorRef& to,
                           SubGrids grids = {});

// Whether `blocked` (16-channel-blocked) addresses the bytes of `t` (dense channels-last)
// exactly as `t` does: with 16 channels, one block per pixel. oneDNN can then run on `t`'s
// own buffer, no copy.
bool sameAsChannelsLast(const TensorRef& t, const dnnl::memory::desc& blocked);

}  // namespace neocog::cpu
