// Fused optimizer kernels walk a parameter, its gradient and its state as flat float arrays.
#include "core/backstops.h"

namespace neocog::backstop {

namespace {

bool sameLayout(const Layout& a, const Layout& b) {
  if (a.ndim != b.ndim) return false;
  for (int d = 0; d < a.ndim; ++d) {
    if (a.shape[d] != b.shape[d] || (a.shape[d] != 1 && a.strides[d] != b.strides[d])) return false;
  }
  return true;
}

}  // namespace

void optimizerStep(const char* op, const OptimizerStep& step, const std::vector<OptimizerTensors>& tensors) {
  if (step.kind != OptimizerKind::Sgd && step.kind != OptimizerKind::Adam && step.kind != OptimizerKind::RmsProp) {
    reject(op, "optimizer kind must be 0 (SGD), 1 (Adam) or 2 (RMSprop)");
  }
  for (const OptimizerTensors& t : tensors) {
    if (t.param.dtype != DType::Float32 || !t.param.layout.isDense()) reject(op, "parameters must be dense float32 tensors");
    for (const TensorRef* other : {&t.grad, &t.state[0], &t.state[1], &t.state[2]}) {
      if (other->data != nullptr && (other->dtype != DType::Float32 || !sameLayout(other->layout, t.param.layout))) {
        reject(op, "gradients and state need the parameter's dtype and layout");
      }
    }
  }
}

void unscaleGradients(const char* op, InOutList grads, float, InOut foundInf) {
  if (foundInf.dtype != DType::Float32 || foundInf.numel() != 1) reject(op, "foundInf must be one float32");
  for (const TensorRef& g : grads) {
    if (g.dtype != DType::Float32 || !g.layout.isDense()) reject(op, "gradients must be dense float32 tensors");
  }
}

}  // namespace neocog::backstop
