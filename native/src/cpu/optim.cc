// Fused optimizer steps (math in kernels/optim.h). Our own loop: oneDNN has no optimizer
// primitives, and composing the update from elementwise ops made SGD with momentum read
// and write every parameter-sized buffer four times per step. The work of all parameters
// is cut into equal chunks so small tensors (biases) do not each pay a parallel region.
#include <algorithm>
#include <vector>

#include "cpu/ops.h"
#include "cpu/parallel.h"
#include "kernels/optim.h"

namespace neocog::cpu {

void optimizerStep(const OptimizerStep& step, const std::vector<OptimizerTensors>& tensors) {
  constexpr int64_t kChunk = 16384;
  struct Chunk {
    const OptimizerTensors* t;
    int64_t begin, end;
  };
  std::vector<Chunk> chunks;
  for (const OptimizerTensors& t : tensors) {
    const int64_t n = t.param.numel();
    for (int64_t begin = 0; begin < n; begin += kChunk) chunks.push_back({&t, begin, std::min(n, begin + kChunk)});
  }
  const int64_t count = static_cast<int64_t>(chunks.size());
#pragma omp parallel for schedule(static) if (count > 1)
  for (int64_t c = 0; c < count; ++c) {
    const Chunk& chunk = chunks[c];
    const OptimizerTensors& t = *chunk.t;
    float* p = t.param.as<float>();
    const float* g = t.grad.as<float>();
    float* s[3];
    float unused[3];
    for (int k = 0; k < 3; ++k) s[k] = t.state[k].data ? t.state[k].as<float>() : nullptr;
    for (int64_t i = chunk.begin; i < chunk.end; ++i) {
      kernels::optimizerUpdate(step, p + i, g[i], s[0] ? s[0] + i : &unused[0], s[1] ? s[1] + i : &unused[1],
                               s[2] ? s[2] + i : &unused[2]);
    }
  }
}

}  // namespace neocog::cpu
