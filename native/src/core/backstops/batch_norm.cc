// Statistics and parameters are [C] float32 vectors; data tensors match the input's shape
// and strides.
#include <initializer_list>

#include "core/backstops.h"

namespace neocog::backstop {

namespace {

void checkBatchNorm(const char* op, const TensorRef& input, std::initializer_list<const TensorRef*> sameAsInput,
                    std::initializer_list<const TensorRef*> perChannel) {
  bool ok = input.layout.ndim >= 2 && input.dtype == DType::Float32;
  for (const TensorRef* t : sameAsInput) {
    ok = ok && t->dtype == DType::Float32 && t->layout.ndim == input.layout.ndim;
    for (int d = 0; ok && d < input.layout.ndim; ++d) {
      ok = t->layout.shape[d] == input.layout.shape[d] && t->layout.strides[d] == input.layout.strides[d];
    }
  }
  for (const TensorRef* t : perChannel) {
    if (t->data == nullptr) continue;
    ok = ok && t->dtype == DType::Float32 && t->layout.ndim == 1 && t->layout.shape[0] == input.layout.shape[1] &&
         t->layout.strides[0] == 1;
  }
  if (!ok) reject(op, "batch-norm operands do not fit together");
}

}  // namespace

void batchNormForward(const char* op, Out out, In input, OptIn weight, OptIn bias, InOut mean, InOut variance, bool, double) {
  checkBatchNorm(op, input, {&out}, {&weight, &bias, &mean, &variance});
  if ((weight.data != nullptr) != (bias.data != nullptr)) reject(op, "batch-norm weight and bias go together");
}

void batchNormBackward(const char* op, Out gradInput, OptOut gradWeight, OptOut gradBias, In gradOutput, In input,
                       OptIn weight, In mean, In variance, double) {
  checkBatchNorm(op, input, {&gradInput, &gradOutput}, {&gradWeight, &gradBias, &weight, &mean, &variance});
  if ((weight.data != nullptr) != (gradWeight.data != nullptr) || (gradWeight.data != nullptr) != (gradBias.data != nullptr)) {
    reject(op, "batch-norm weight, gradWeight and gradBias go together");
  }
}

}  // namespace neocog::backstop
