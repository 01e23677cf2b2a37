// Reductions: the identity and combine step of each op, one copy for CPU and CUDA, and the
// layout arithmetic that maps an output element to the input elements it reduces.
#pragma once

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "kernels/host_device.h"
#include "neocog/op_params.h"
#include "neocog/layout.h"

namespace neocog::kernels {

// Sums of float accumulate in double on the CPU and in float (tree order) on the GPU.
template <typename T, typename Acc>
NC_HOST_DEVICE Acc reduceIdentity(ReduceOp op) {
  if (op == ReduceOp::Max) {
    if constexpr (std::is_floating_point_v<Acc>) return -INFINITY;
    else return static_cast<Acc>(std::is_same_v<T, int32_t> ? -2147483647 - 1 : 0);
  }
  if (op == ReduceOp::Min) {
    if constexpr (std::is_floating_point_v<Acc>) return INFINITY;
    else return static_cast<Acc>(std::is_same_v<T, int32_t> ? 2147483647 : 255);
  }
  return Acc(0);
}

// NaN-propagating for max/min, as torch.amax.
template <typename Acc>
NC_HOST_DEVICE Acc reduceCombine(ReduceOp op, Acc acc, Acc v) {
  switch (op) {
    case ReduceOp::Sum:
    case ReduceOp::Mean: return acc + v;
    case ReduceOp::Max: return (acc != acc || v != v) ? (acc != acc ? acc : v) : (v > acc ? v : acc);
    case ReduceOp::Min: return (acc != acc || v != v) ? (acc != acc ? acc : v) : (v < acc ? v : acc);
  }
  return acc;
}

template <typename T, typename Acc>
NC_HOST_DEVICE T reduceFinish(ReduceOp op, Acc acc, int64_t count) {
  if (op == ReduceOp::Mean) return static_cast<T>(acc / static_cast<Acc>(count > 0 ? count : 1));
  return static_cast<T>(acc);
}

// Splits `in` into the part indexed by out (kept dims) and the reduced part: reduced is a
// layout over the reduced dims only (other sizes 1), kept maps out coordinates to in.
struct ReducePlan {
  Layout reduced;  // shape: in.shape on reduced dims, 1 elsewhere; strides: in's
  Layout kept;     // shape: out.shape; strides: in's
  int64_t count;   // elements reduced per output
};

inline ReducePlan planReduce(const Layout& out, const Layout& in) {
  ReducePlan plan;
  plan.reduced.ndim = in.ndim;
  plan.kept.ndim = in.ndim;
  plan.count = 1;
  for (int d = 0; d < in.ndim; ++d) {
    const bool reducedDim = out.shape[d] == 1 && in.shape[d] != 1;
    plan.reduced.shape[d] = reducedDim ? in.shape[d] : 1;
    plan.reduced.strides[d] = in.strides[d];
    plan.kept.shape[d] = out.shape[d];
    plan.kept.strides[d] = reducedDim ? 0 : in.strides[d];
    if (reducedDim) plan.count *= in.shape[d];
  }
  return plan;
}

}  // namespace neocog::kernels
