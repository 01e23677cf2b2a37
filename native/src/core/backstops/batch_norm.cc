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
      // A dim of size 1 is never stepped over: its stride does not matter.
      ok = t->layout.shape[d] == input.layout.shape[d] &&
           (t->layout.shape[d] == 1 || t->layout.strides[d] == input.layout.strides[d]);
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

void batchNormForward(const char* op, Out out, In input, OptIn weight, OptIn bias, InOut mean, InOut variance,
                      OptInOut runningMean, OptInOut runningVar, bool training, double, double, bool relu) {
  checkBatchNorm(op, input, {&out}, {&weight, &bias, &mean, &variance, &runningMean, &runningVar});
  if ((weight.data != nullptr) != (bias.data != nullptr)) reject(op, "batch-norm weight and bias go together");
  if (!training && (runningMean.data != nullptr || runningVar.data != nullptr)) {
    reject(op, "batch-norm running statistics are only updated in training");
  }
  if (relu && !input.layout.isDense()) reject(op, "a batch norm fused with relu takes dense operands");
}

void batchNormBackward(const char* op, Out gradInput, OptOut gradWeight, OptOut gradBias, In gradOutput, In input,
                       OptIn weight, OptIn bias, In mean, In variance, double, bool relu) {
  checkBatchNorm(op, input, {&gradInput, &gradOutput}, {&gradWeight, &gradBias, &weight, &bias, &mean, &variance});
  if ((weight.data != nullptr) != (gradWeight.data != nullptr) || (gradWeight.data != nullptr) != (gradBias.data != nullptr)) {
    reject(op, "batch-norm weight, gradWeight and gradBias go together");
  }
  if (relu && !input.layout.isDense()) reject(op, "a batch norm fused with relu takes dense operands");
}

}  // namespace neocog::backstop
