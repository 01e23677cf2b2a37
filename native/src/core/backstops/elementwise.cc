// Elementwise kernels walk out's shape and read each operand through its own (broadcast)
// strides, so operands must have out's shape; dtypes select the kernel.
#include "core/backstops.h"

namespace neocog::backstop {

void copy(const char* op, Out out, In input) {
  if (out.numel() != input.numel()) reject(op, "copy needs operands with one element count");
}

void binary(const char* op, BinaryOp, Out out, In a, In b) {
  if (!sameShape(out, a) || !sameShape(out, b)) reject(op, "binary operands must be broadcast to out's shape");
}

void compare(const char* op, CompareOp, Out out, In a, In b) {
  if (out.dtype != DType::Bool || a.dtype != b.dtype) reject(op, "compare needs a bool out and operands of one dtype");
  if (!sameShape(out, a) || !sameShape(out, b)) reject(op, "compare operands must be broadcast to out's shape");
}

void where(const char* op, Out out, In condition, In a, In b) {
  if (condition.dtype != DType::Bool || a.dtype != out.dtype || b.dtype != out.dtype) {
    reject(op, "where needs a bool condition and one value dtype");
  }
  if (!sameShape(out, condition) || !sameShape(out, a) || !sameShape(out, b)) {
    reject(op, "where operands must be broadcast to out's shape");
  }
}

void unary(const char* op, UnaryOp, Out out, In input, double) {
  if (!sameShape(out, input)) reject(op, "unary needs out of the input's shape");
}

void unaryBackward(const char* op, UnaryOp, Out gradInput, In gradOutput, In input, double) {
  for (const TensorRef* t : {static_cast<const TensorRef*>(&gradInput), static_cast<const TensorRef*>(&gradOutput),
                             static_cast<const TensorRef*>(&input)}) {
    if (t->dtype != DType::Float32) reject(op, "backward needs float32 operands");
  }
  if (!sameShape(gradInput, input) || !sameShape(gradOutput, input)) reject(op, "backward operands need one shape");
}

}  // namespace neocog::backstop
