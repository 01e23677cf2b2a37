// Cross entropy: logits [N, C, *] float32, per-position tensors [N, *], weight [C].
#include <initializer_list>

#include "core/backstops.h"

namespace neocog::backstop {

namespace {

void checkCrossEntropy(const char* op, const TensorRef& logits, const TensorRef& target,
                       std::initializer_list<const TensorRef*> perPosition, const TensorRef& weight) {
  const Layout &z = logits.layout, &t = target.layout;
  bool ok = logits.dtype == DType::Float32 && target.dtype == DType::Int32 && z.ndim >= 2 && t.ndim == z.ndim - 1 &&
            z.shape[1] > 0 && t.shape[0] == z.shape[0];
  for (int d = 1; ok && d < t.ndim; ++d) ok = t.shape[d] == z.shape[d + 1];
  for (const TensorRef* p : perPosition) ok = ok && p->dtype == DType::Float32 && sameShape(*p, target);
  if (weight.data) ok = ok && weight.dtype == DType::Float32 && weight.layout.ndim == 1 && weight.layout.shape[0] == z.shape[1];
  if (!ok) reject(op, "cross-entropy operands do not fit together");
}

}  // namespace

void crossEntropyForward(const char* op, Out losses, Out weights, In logits, In target, OptIn weight, int64_t, double) {
  checkCrossEntropy(op, logits, target, {&losses, &weights}, weight);
}

void crossEntropyBackward(const char* op, Out gradLogits, In gradLosses, In logits, In target, OptIn weight, int64_t,
                          double) {
  checkCrossEntropy(op, logits, target, {&gradLosses}, weight);
  if (!sameShape(gradLogits, logits)) reject(op, "cross-entropy gradLogits must have the logits' shape");
}

}  // namespace neocog::backstop
