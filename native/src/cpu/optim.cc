// Fused optimizer steps (math in kernels/optim.h). Our own loop: oneDNN has no optimizer
// primitives, and composing the update from elementwise ops made SGD with momentum read
// and write every parameter-sized buffer four times per step. The work of all parameters
// is cut into equal chunks so small tensors (biases) do not each pay a parallel region.
#include <algorithm>
#include <vector>

#include "cpu/cpu_backend.h"
#include "cpu/parallel.h"
#include "kernels/optim.h"

namespace neocog::cpu {

namespace {

constexpr int64_t kChunk = 16384;

struct Chunk {
  const OptimizerTensors* t;
  int64_t begin, end;
};

template <OptimizerKind Kind>
void runChunks(const OptimizerStep& step, const std::vector<Chunk>& chunks) {
  const int64_t count = static_cast<int64_t>(chunks.size());
  // One chunk (a batch-norm layer's running statistic, lib/ops/norm.ts) runs on the calling
  // thread: waking the pool and meeting at its barrier costs more than the update.
#pragma omp parallel if (count > 1)
  {
    // Absent state slots point into scratch, so the inner loop has no per-element branch.
    std::vector<float> scratch(static_cast<size_t>(kChunk));
#pragma omp for schedule(static)
    for (int64_t c = 0; c < count; ++c) {
      const Chunk& chunk = chunks[c];
      const OptimizerTensors& t = *chunk.t;
      const int64_t n = chunk.end - chunk.begin;
      float* p = t.param.as<float>() + chunk.begin;
      const float* g = t.grad.as<float>() + chunk.begin;
      float* s[3];
      for (int k = 0; k < 3; ++k) s[k] = t.state[k].data ? t.state[k].as<float>() + chunk.begin : scratch.data();
      float* s0 = s[0];
      float* s1 = s[1];
      float* s2 = s[2];
      // A local copy: through the reference the compiler must assume the stores below may
      // change the settings, and then cannot hoist their branches out of the loop.
      const OptimizerStep o = step;
      for (int64_t i = 0; i < n; ++i) kernels::optimizerUpdate<Kind>(o, p + i, g[i], s0 + i, s1 + i, s2 + i);
    }
  }
}

}  // namespace

void unscaleGradients(const std::vector<TensorRef>& grads, float inverseScale, const TensorRef& foundInf) {
  bool finite = true;
  for (const TensorRef& g : grads) {
    float* data = g.as<float>();
    const int64_t n = g.numel();
#pragma omp parallel for reduction(&& : finite) schedule(static) if (n > kChunk)
    for (int64_t i = 0; i < n; ++i) finite = kernels::unscaleElement(data + i, inverseScale) && finite;
  }
  if (!finite) *foundInf.as<float>() = 1.0f;
}

void optimizerStep(const OptimizerStep& step, const std::vector<OptimizerTensors>& tensors) {
  std::vector<Chunk> chunks;
  for (const OptimizerTensors& t : tensors) {
    const int64_t n = t.param.numel();
    for (int64_t begin = 0; begin < n; begin += kChunk) chunks.push_back({&t, begin, std::min(n, begin + kChunk)});
  }
  switch (step.kind) {
    case OptimizerKind::Sgd: return runChunks<OptimizerKind::Sgd>(step, chunks);
    case OptimizerKind::Adam: return runChunks<OptimizerKind::Adam>(step, chunks);
    case OptimizerKind::RmsProp: return runChunks<OptimizerKind::RmsProp>(step, chunks);
  }
}

// The primitives this file implements (neocog/primitives.def).
void CpuBackend::optimizerStep(const OptimizerStep& step, const std::vector<OptimizerTensors>& tensors) {
  cpu::optimizerStep(step, tensors);
}
void CpuBackend::unscaleGradients(InOutList grads, float inverseScale, InOut foundInf) {
  cpu::unscaleGradients(grads, inverseScale, foundInf);
}

}  // namespace neocog::cpu
