// A/B bench of CPU kernels: the base commit's kernel (old) against the working tree's
// (new) in one process, taking turns call by call so both see the same machine load, and
// checking that both write the same bits. Built and run by bench/kernels/ab.sh:
//   bench/kernels/ab.sh [case ...]     cases: contiguous, contiguous_back, memcpy, bn_fwd, bn_bwd,
//                                      bn_fwd_nchw, bn_bwd_nchw, maxpool_fwd, maxpool_bwd,
//                                      randn, add, add_cl
// Prints, per case, the median and the minimum ms of each side over the rounds and old/new
// (> 1: new is faster); the minimum is the steadier figure on a loaded machine. AB_ROUNDS sets the rounds (default 15). On a shared, loaded machine, run with
// OMP_NUM_THREADS=1 AB_CLOCK=thread: the calling thread's CPU time then excludes the time
// other processes held the core (wall-clock medians there swing by 2x between runs).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <time.h>

#include "ab_api.h"

namespace {

struct Buffer {
  std::vector<float> storage;
  AbTensor t;
};

// A float32 (or int32, dtype 1) tensor of logical NCHW `shape` stored in dim order `order`
// (outermost first): {0,1,2,3} is contiguous, {0,2,3,1} channels-last.
Buffer make(const std::vector<int64_t>& shape, const std::vector<int>& order, int dtype = 0) {
  Buffer b;
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  b.storage.resize(static_cast<size_t>(n) + 16);
  b.t.data = b.storage.data();
  b.t.dtype = dtype;
  b.t.ndim = static_cast<int>(shape.size());
  int64_t stride = 1;
  for (int i = static_cast<int>(order.size()) - 1; i >= 0; --i) {
    b.t.shape[order[i]] = shape[order[i]];
    b.t.strides[order[i]] = stride;
    stride *= shape[order[i]];
  }
  return b;
}

std::vector<int> iota(size_t n) {
  std::vector<int> o(n);
  for (size_t i = 0; i < n; ++i) o[i] = static_cast<int>(i);
  return o;
}

void randomize(Buffer& b, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist(0.5f, 2.0f);
  for (float& v : b.storage) v = dist(gen);
}

// Milliseconds on the wall clock, or on this thread's CPU clock (AB_CLOCK=thread).
double nowMs() {
  static const bool threadClock = std::getenv("AB_CLOCK") && std::string(std::getenv("AB_CLOCK")) == "thread";
  timespec ts;
  clock_gettime(threadClock ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

double median(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  return xs[xs.size() / 2];
}

// "bit-identical", or how far apart the two sides' float outputs are (kernels that may
// round differently, e.g. another summation order).
std::string compareOutputs(const std::vector<Buffer*>& a, const std::vector<Buffer*>& b) {
  bool same = true;
  double diff = 0.0, scale = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    const size_t bytes = a[i]->storage.size() * sizeof(float);
    if (std::memcmp(a[i]->storage.data(), b[i]->storage.data(), bytes) == 0) continue;
    same = false;
    if (a[i]->t.dtype != 0) return "OUTPUTS DIFFER";
    for (size_t j = 0; j < a[i]->storage.size(); ++j) {
      diff = std::max(diff, static_cast<double>(std::fabs(a[i]->storage[j] - b[i]->storage[j])));
      scale = std::max(scale, static_cast<double>(std::fabs(a[i]->storage[j])));
    }
  }
  if (same) return "bit-identical";
  char text[96];
  std::snprintf(text, sizeof text, "differ: max |old - new| %.3g (max |old| %.3g)", diff, scale);
  return text;
}

// One case: run(k, outputs) calls kernel set k writing into `outputs`.
struct Case {
  std::string name;
  std::function<void(const AbKernels&, int side)> run;
  std::function<std::vector<Buffer*>(int side)> outputs;
};

}  // namespace

int main(int argc, char** argv) {
  const AbKernels sides[2] = {oldKernels(), newKernels()};
  const int rounds = std::getenv("AB_ROUNDS") ? std::atoi(std::getenv("AB_ROUNDS")) : 15;
  std::vector<Case> cases;

  // contiguous(): NCHW data seen as NHWC -> contiguous NHWC (bench/cases.ts), and back.
  static Buffer cin = make({16, 56, 56, 64}, {0, 3, 1, 2});
  static Buffer cout[2] = {make({16, 56, 56, 64}, iota(4)), make({16, 56, 56, 64}, iota(4))};
  randomize(cin, 1);
  cases.push_back({"contiguous", [](const AbKernels& k, int s) { k.copy(cout[s].t, cin.t); },
                   [](int s) { return std::vector<Buffer*>{&cout[s]}; }});
  // The same bytes, contiguous to contiguous (memcpy on both sides): the bound for the two above.
  cases.push_back({"memcpy", [](const AbKernels& k, int s) { k.copy(cout[s].t, cout[1 - s].t); },
                   [](int) { return std::vector<Buffer*>{}; }});
  static Buffer bin = make({16, 64, 56, 56}, {0, 2, 3, 1});
  static Buffer bout[2] = {make({16, 64, 56, 56}, iota(4)), make({16, 64, 56, 56}, iota(4))};
  randomize(bin, 2);
  cases.push_back({"contiguous_back", [](const AbKernels& k, int s) { k.copy(bout[s].t, bin.t); },
                   [](int s) { return std::vector<Buffer*>{&bout[s]}; }});

  // Batch norm, training, affine: [32, 64, 56, 56] channels-last (bench/cases.ts) and NCHW.
  for (int layout = 0; layout < 2; ++layout) {
    const std::vector<int> order = layout == 0 ? std::vector<int>{0, 2, 3, 1} : iota(4);
    const std::string suffix = layout == 0 ? "" : "_nchw";
    struct Bn {
      Buffer x, g, w, b, out[2], mean[2], var[2], gx[2], gw[2], gb[2];
    };
    auto* bn = new Bn;
    const std::vector<int64_t> shape{32, 64, 56, 56};
    bn->x = make(shape, order);
    bn->g = make(shape, order);
    randomize(bn->x, 3);
    randomize(bn->g, 4);
    bn->w = make({64}, {0});
    bn->b = make({64}, {0});
    randomize(bn->w, 5);
    randomize(bn->b, 6);
    for (int s = 0; s < 2; ++s) {
      bn->out[s] = make(shape, order);
      bn->gx[s] = make(shape, order);
      bn->mean[s] = make({64}, {0});
      bn->var[s] = make({64}, {0});
      bn->gw[s] = make({64}, {0});
      bn->gb[s] = make({64}, {0});
    }
    cases.push_back({"bn_fwd" + suffix,
                     [bn](const AbKernels& k, int s) {
                       k.batchNormForward(bn->out[s].t, bn->x.t, bn->w.t, bn->b.t, bn->mean[s].t, bn->var[s].t);
                     },
                     [bn](int s) { return std::vector<Buffer*>{&bn->out[s], &bn->mean[s], &bn->var[s]}; }});
    cases.push_back({"bn_bwd" + suffix,
                     [bn](const AbKernels& k, int s) {
                       // Both sides take the old kernel's statistics, so only backward differs.
                       k.batchNormBackward(bn->gx[s].t, bn->gw[s].t, bn->gb[s].t, bn->g.t, bn->x.t, bn->w.t,
                                           bn->mean[0].t, bn->var[0].t);
                     },
                     [bn](int s) { return std::vector<Buffer*>{&bn->gx[s], &bn->gw[s], &bn->gb[s]}; }});
  }

  // Max pooling 3x3 stride 2 pad 1 on [32, 64, 112, 112] channels-last (bench/cases.ts).
  {
    struct Pool {
      Buffer x, g, out[2], idx[2], gx[2];
    };
    auto* pl = new Pool;
    const std::vector<int> cl{0, 2, 3, 1};
    pl->x = make({32, 64, 112, 112}, cl);
    randomize(pl->x, 7);
    pl->g = make({32, 64, 56, 56}, cl);
    randomize(pl->g, 8);
    for (int s = 0; s < 2; ++s) {
      pl->out[s] = make({32, 64, 56, 56}, cl);
      pl->idx[s] = make({32, 64, 56, 56}, cl, 1);
      pl->gx[s] = make({32, 64, 112, 112}, cl);
    }
    const AbPool p{3, 2, 1};
    cases.push_back({"maxpool_fwd", [pl, p](const AbKernels& k, int s) { k.maxPoolForward(p, pl->out[s].t, pl->idx[s].t, pl->x.t); },
                     [pl](int s) { return std::vector<Buffer*>{&pl->out[s], &pl->idx[s]}; }});
    cases.push_back({"maxpool_bwd", [pl, p](const AbKernels& k, int s) { k.maxPoolBackward(p, pl->gx[s].t, pl->g.t, pl->idx[0].t); },
                     [pl](int s) { return std::vector<Buffer*>{&pl->gx[s]}; }});
  }

  // randn of 1 << 22 values; odd offset exercises the lone first/last elements too.
  {
    static Buffer r[2] = {make({1 << 22}, {0}), make({1 << 22}, {0})};
    cases.push_back({"randn", [](const AbKernels& k, int s) { k.normal(r[s].t, 1234, 7); },
                     [](int s) { return std::vector<Buffer*>{&r[s]}; }});
  }

  // add: [1 << 20] and [16, 64, 112, 112] contiguous (bench/cases.ts), and channels-last.
  for (int variant = 0; variant < 3; ++variant) {
    struct Add {
      Buffer a, b, out[2];
    };
    auto* ad = new Add;
    const std::vector<int64_t> shape = variant == 0 ? std::vector<int64_t>{1 << 20} : std::vector<int64_t>{16, 64, 112, 112};
    const std::vector<int> order = variant == 2 ? std::vector<int>{0, 2, 3, 1} : iota(shape.size());
    ad->a = make(shape, order);
    ad->b = make(shape, order);
    randomize(ad->a, 9);
    randomize(ad->b, 10);
    for (int s = 0; s < 2; ++s) ad->out[s] = make(shape, order);
    const std::string name = variant == 0 ? "add_1m" : variant == 1 ? "add" : "add_cl";
    cases.push_back({name, [ad](const AbKernels& k, int s) { k.binaryAdd(ad->out[s].t, ad->a.t, ad->b.t); },
                     [ad](int s) { return std::vector<Buffer*>{&ad->out[s]}; }});
  }

  for (const Case& c : cases) {
    bool wanted = argc == 1;
    for (int i = 1; i < argc; ++i) wanted = wanted || c.name == argv[i];
    if (!wanted) continue;
    std::vector<double> times[2];
    for (int s = 0; s < 2; ++s) c.run(sides[s], s);  // warm-up: first touch, primitive creation
    for (int r = 0; r < rounds; ++r) {
      for (int s = (r & 1); s < 2 + (r & 1); ++s) {  // alternate which side goes first
        const int side = s & 1;
        const double start = nowMs();
        c.run(sides[side], side);
        times[side].push_back(nowMs() - start);
      }
    }
    const std::string same = compareOutputs(c.outputs(0), c.outputs(1));
    const double o = median(times[0]), n = median(times[1]);
    const double oMin = *std::min_element(times[0].begin(), times[0].end());
    const double nMin = *std::min_element(times[1].begin(), times[1].end());
    std::printf("%-16s median old %8.3f new %8.3f ms old/new %5.2f | min old %8.3f new %8.3f ms old/new %5.2f | %s\n",
                c.name.c_str(), o, n, o / n, oMin, nMin, oMin / nMin, same.c_str());
    std::fflush(stdout);
  }
  return 0;
}
