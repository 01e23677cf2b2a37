// Connected components are labelled on the CPU only (cpu/connected_components.cc): the
// union-find scan is sequential, and lib/ops/connected_components.ts moves a CUDA mask to
// the CPU before it queues the primitive. Reaching this is a bug in that front.
#include <string>

#include "cuda/cuda_backend.h"
#include "neocog/error.h"

namespace neocog::cuda {

// The primitive this file declines (neocog/primitives.def).
void CudaBackend::connectedComponents(Out, Out, In, int32_t) {
  fail(ErrorKind::Device, "connectedComponents: the labelling runs on the CPU; move the mask there with .cpu()");
}

}  // namespace neocog::cuda
