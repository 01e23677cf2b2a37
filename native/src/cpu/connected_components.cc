// Connected-component labelling (scipy.ndimage.label): the classic two-pass scan. The
// first pass gives each foreground element a provisional label from its already-visited
// neighbours, recording which labels meet in a union-find with path compression; the
// second rewrites every provisional label as its set's final number. O(N) and one thread:
// labelling is a sequential scan and the masks it serves are post-processing, not training.
// Our own code: neither oneDNN nor a BLAS labels components, and none of our dependencies
// does (scipy.ndimage, OpenCV and cc3d, which do, are not on the list).
//
// Numbering: a set's root is its smallest provisional label. Provisional labels are created
// in raster order, and a component's first element (in raster order) has no visited
// neighbour of its own component, so it creates the component's smallest label. Numbering
// the roots in increasing order therefore numbers components in raster order of their
// first element, as scipy does.
#include <cstdint>
#include <memory>
#include <vector>

#include "cpu/cpu_backend.h"
#include "kernels/dispatch.h"

namespace neocog::cpu {

namespace {

// Union-find over provisional labels 1..n with parent[i] <= i (the root is the smallest
// label of its set); label 0 is the background and stays 0.
class Equivalences {
 public:
  explicit Equivalences(int64_t capacity) : parent_(new int32_t[capacity + 1]) { parent_[0] = 0; }

  void clear() { next_ = 1; }

  int32_t create() {
    parent_[next_] = next_;
    return next_++;
  }

  // The root of i's set, pointing every label on the way there at it.
  int32_t merge(int32_t i, int32_t j) {
    int32_t root = find(i);
    if (i != j) {
      const int32_t other = find(j);
      if (other < root) root = other;
      compress(j, root);
    }
    compress(i, root);
    return root;
  }

  // Replaces each label's parent with its final number (roots numbered 1..count in
  // increasing order) and returns count. In place: a non-root's parent is smaller, so it
  // already holds its final number when the label reads it.
  int32_t flatten() {
    int32_t count = 0;
    for (int32_t i = 1; i < next_; ++i) parent_[i] = parent_[i] < i ? parent_[parent_[i]] : ++count;
    return count;
  }

  // After flatten(): the final number of provisional label i (0 for 0).
  const int32_t* numbers() const { return parent_.get(); }

 private:
  int32_t find(int32_t i) const {
    while (parent_[i] < i) i = parent_[i];
    return i;
  }

  void compress(int32_t i, int32_t root) {
    while (parent_[i] < i) {
      const int32_t next = parent_[i];
      parent_[i] = root;
      i = next;
    }
    parent_[i] = root;
  }

  std::unique_ptr<int32_t[]> parent_;
  int32_t next_ = 1;
};

// First pass over one H x W plane, 4-connectivity: each pixel looks up and left.
template <typename T>
void scanPlane4(const T* mask, int32_t* labels, int64_t h, int64_t w, Equivalences& eq) {
  for (int64_t y = 0; y < h; ++y) {
    const T* m = mask + y * w;
    int32_t* cur = labels + y * w;
    const int32_t* up = y > 0 ? cur - w : nullptr;
    for (int64_t x = 0; x < w; ++x) {
      if (m[x] == T(0)) {
        cur[x] = 0;
        continue;
      }
      const int32_t b = up ? up[x] : 0, d = x > 0 ? cur[x - 1] : 0;
      if (b) {
        cur[x] = d && d != b ? eq.merge(b, d) : b;
      } else {
        cur[x] = d ? d : eq.create();
      }
    }
  }
}

// First pass over one H x W plane, 8-connectivity, with Wu, Otoo and Suzuki's decision tree
// ("Optimizing two-pass connected-component labeling algorithms", 2009): of the visited
// neighbours a b c (row above) and d (left), b touches all the others, a touches d, so at
// most one merge is needed per pixel.
template <typename T>
void scanPlane8(const T* mask, int32_t* labels, int64_t h, int64_t w, Equivalences& eq) {
  for (int64_t y = 0; y < h; ++y) {
    const T* m = mask + y * w;
    int32_t* cur = labels + y * w;
    const int32_t* up = y > 0 ? cur - w : nullptr;
    for (int64_t x = 0; x < w; ++x) {
      if (m[x] == T(0)) {
        cur[x] = 0;
        continue;
      }
      const int32_t b = up ? up[x] : 0;
      if (b) {
        cur[x] = b;
        continue;
      }
      const int32_t a = up && x > 0 ? up[x - 1] : 0, c = up && x + 1 < w ? up[x + 1] : 0, d = x > 0 ? cur[x - 1] : 0;
      if (c) {
        cur[x] = a ? eq.merge(c, a) : d ? eq.merge(c, d) : c;
      } else {
        cur[x] = a ? a : d ? d : eq.create();
      }
    }
  }
}

// The visited half of a 3-D neighbourhood: offsets (dz, dy, dx) before (0, 0, 0) in raster
// order whose nonzero count is at most 1 (6), 2 (18) or 3 (26), scipy's
// generate_binary_structure(3, rank).
struct Offset {
  int dz, dy, dx;
};

std::vector<Offset> visitedNeighbours(int32_t connectivity) {
  const int rank = connectivity == 6 ? 1 : connectivity == 18 ? 2 : 3;
  std::vector<Offset> offsets;
  for (int dz = -1; dz <= 0; ++dz) {
    for (int dy = -1; dy <= 1; ++dy) {
      for (int dx = -1; dx <= 1; ++dx) {
        const bool before = dz < 0 || (dz == 0 && (dy < 0 || (dy == 0 && dx < 0)));
        if (before && (dz != 0) + (dy != 0) + (dx != 0) <= rank) offsets.push_back({dz, dy, dx});
      }
    }
  }
  return offsets;
}

// First pass over one D x H x W volume with 6-, 18- or 26-connectivity: each voxel merges
// the labels of its visited neighbours (rows out of the volume are skipped once per row).
template <typename T>
void scanVolume(const T* mask, int32_t* labels, int64_t depth, int64_t h, int64_t w, const std::vector<Offset>& offsets,
                Equivalences& eq) {
  std::vector<const int32_t*> rows(offsets.size());
  for (int64_t z = 0; z < depth; ++z) {
    for (int64_t y = 0; y < h; ++y) {
      const int64_t start = (z * h + y) * w;
      const T* m = mask + start;
      int32_t* cur = labels + start;
      for (size_t k = 0; k < offsets.size(); ++k) {
        const int64_t nz = z + offsets[k].dz, ny = y + offsets[k].dy;
        rows[k] = nz >= 0 && ny >= 0 && ny < h ? labels + (nz * h + ny) * w : nullptr;
      }
      for (int64_t x = 0; x < w; ++x) {
        if (m[x] == T(0)) {
          cur[x] = 0;
          continue;
        }
        int32_t label = 0;
        for (size_t k = 0; k < offsets.size(); ++k) {
          const int64_t nx = x + offsets[k].dx;
          if (!rows[k] || nx < 0 || nx >= w) continue;
          const int32_t n = rows[k][nx];
          if (n == 0 || n == label) continue;
          label = label ? eq.merge(label, n) : n;
        }
        cur[x] = label ? label : eq.create();
      }
    }
  }
}

}  // namespace

void connectedComponents(const TensorRef& labels, const TensorRef& counts, const TensorRef& mask, int32_t connectivity) {
  const int64_t batch = mask.layout.shape[0], depth = mask.layout.shape[1], h = mask.layout.shape[2],
                w = mask.layout.shape[3];
  const int64_t volume = depth * h * w;
  int32_t* out = labels.as<int32_t>();
  int32_t* n = counts.as<int32_t>();
  // A provisional label per foreground element at most.
  Equivalences eq(volume);
  const std::vector<Offset> offsets = visitedNeighbours(connectivity);
  kernels::dispatchDType(mask.dtype, "connectedComponents", [&](auto tag) {
    using T = decltype(tag);
    for (int64_t b = 0; b < batch; ++b) {
      const T* m = mask.as<T>() + b * volume;
      int32_t* l = out + b * volume;
      eq.clear();
      if (connectivity == 4) {
        scanPlane4(m, l, h, w, eq);
      } else if (connectivity == 8) {
        scanPlane8(m, l, h, w, eq);
      } else {
        scanVolume(m, l, depth, h, w, offsets, eq);
      }
      n[b] = eq.flatten();
      const int32_t* numbers = eq.numbers();
      for (int64_t i = 0; i < volume; ++i) l[i] = numbers[l[i]];
    }
  });
}

// The primitive this file implements (neocog/primitives.def).
void CpuBackend::connectedComponents(Out labels, Out counts, In mask, int32_t connectivity) {
  cpu::connectedComponents(labels, counts, mask, connectivity);
}

}  // namespace neocog::cpu
