// Unary elementwise ops and their backward. Transcendental float ops on dense tensors run
// on oneDNN's eltwise primitives (JIT-vectorised exp/tanh/erf: libm's scalar tanhf was
// ~40% of a LeNet-5 training step); everything else, and strided views, runs the shared
// per-element math of kernels/unary.h, which the CUDA kernels use too. Silu's forward on
// AVX-512 runs on glibc's vector expf instead (cpu/silu.cc has the measurements).
#include <string>

#include "cpu/cpu_backend.h"
#include "cpu/silu.h"
#include "cpu/strided_loop.h"
#include "cpu/vector_clones.h"
#include "kernels/dispatch.h"
#include "kernels/unary.h"

namespace neocog::cpu {

namespace {

using dnnl::memory;

// Below this size creating (and caching) a primitive per size costs more than it saves.
constexpr int64_t kDnnlMinElements = 4096;

// oneDNN's algorithm for the ops where its vectorised math pays off; alpha/beta as oneDNN
// defines them. Derivatives agree with kernels::unaryDerivative (checked by the tests,
// which run both paths: dense tensors here, strided views through the shared kernels).
bool dnnlAlgorithm(UnaryOp op, float alpha, dnnl::algorithm& algorithm, float& a) {
  a = 0.0f;
  switch (op) {
    case UnaryOp::Exp: algorithm = dnnl::algorithm::eltwise_exp; return true;
    case UnaryOp::Log: algorithm = dnnl::algorithm::eltwise_log; return true;
    case UnaryOp::Sqrt: algorithm = dnnl::algorithm::eltwise_sqrt; return true;
    case UnaryOp::Sigmoid: algorithm = dnnl::algorithm::eltwise_logistic; return true;
    case UnaryOp::Tanh: algorithm = dnnl::algorithm::eltwise_tanh; return true;
    case UnaryOp::Gelu: algorithm = dnnl::algorithm::eltwise_gelu_erf; return true;
    case UnaryOp::Silu: algorithm = dnnl::algorithm::eltwise_swish; a = 1.0f; return true;
    case UnaryOp::Elu: algorithm = dnnl::algorithm::eltwise_elu; a = alpha; return true;
    default: return false;
  }
}

// Both operands cover the same dense block of memory in the same order (contiguous,
// channels-last or any other permutation), so the op can run on it as a flat array.
bool sameDenseBlock(const TensorRef& a, const TensorRef& b) {
  const auto dims = detail::coalesce<2>(a.layout, {&a.layout, &b.layout});
  return dims[0].ndim <= 1 && (dims[0].ndim == 0 || (dims[0].strides[0] == 1 && dims[1].strides[0] == 1));
}

memory::desc flat(int64_t n) { return memory::desc({n}, memory::data_type::f32, memory::format_tag::a); }

// The backward algorithm: oneDNN's *_use_dst_for_bwd variants take the forward's output,
// as unaryBackward receives it for these ops (kernels::derivativeFromOutput).
dnnl::algorithm backwardAlgorithm(dnnl::algorithm algorithm) {
  switch (algorithm) {
    case dnnl::algorithm::eltwise_tanh: return dnnl::algorithm::eltwise_tanh_use_dst_for_bwd;
    case dnnl::algorithm::eltwise_logistic: return dnnl::algorithm::eltwise_logistic_use_dst_for_bwd;
    case dnnl::algorithm::eltwise_exp: return dnnl::algorithm::eltwise_exp_use_dst_for_bwd;
    default: return algorithm;
  }
}

dnnl::eltwise_forward::primitive_desc forwardDesc(DnnlContext& dnnl, dnnl::algorithm algorithm, float a, int64_t n) {
  return dnnl::eltwise_forward::primitive_desc(
      dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_training, algorithm, flat(n), a, 0.0f), dnnl.attr(), dnnl.engine);
}

std::string keyOf(const char* direction, UnaryOp op, float a, int64_t n) {
  return std::string("eltwise_") + direction + '|' + std::to_string(static_cast<int>(op)) + '|' + std::to_string(a) +
         '|' + std::to_string(n);
}

// d = op(s) over a unit-stride row, in vector clones (as cpu/elementwise.cc's binary rows):
// a bfloat16 relu of [16, 64, 56, 56] (ResNet's after a residual add in a bfloat16 session;
// 2-vCPU AVX-512 EPYC, medians of 21) took 0.91 ms on baseline SSE, 0.52 here (float32: 0.29-0.35).
template <UnaryOp kOp, typename T>
NC_VECTOR_CLONES void unaryRow(T* d, const T* s, int64_t count, float a) {
  for (int64_t j = 0; j < count; ++j) d[j] = kernels::unaryOpOf<kOp, T>(s[j], a);
}

}  // namespace

void unary(DnnlContext& dnnl, UnaryOp op, const TensorRef& out, const TensorRef& in, double alpha) {
  const float a = static_cast<float>(alpha);
  const int64_t n = out.numel();
  dnnl::algorithm algorithm;
  float dnnlAlpha;
  if (out.dtype == DType::Float32 && n >= kDnnlMinElements && dnnlAlgorithm(op, a, algorithm, dnnlAlpha) &&
      sameDenseBlock(out, in)) {
    if (op == UnaryOp::Silu && siluDense(in.as<float>(), out.as<float>(), n)) return;
    auto& entry = dnnl.cache<dnnl::eltwise_forward>(
        keyOf("fwd", op, dnnlAlpha, n), [&] { return forwardDesc(dnnl, algorithm, dnnlAlpha, n); });
    dnnl.execute(entry.primitive, entry.pd,
                 {{DNNL_ARG_SRC, memory(flat(n), dnnl.engine, in.data)}, {DNNL_ARG_DST, memory(flat(n), dnnl.engine, out.data)}});
    return;
  }
  kernels::dispatchWithHalf(out.dtype, "unary", [&](auto tag) {
    using T = decltype(tag);
    T* dst = out.as<T>();
    const T* src = in.as<T>();
    kernels::withUnaryOp(op, [&](auto opConstant) {
      constexpr UnaryOp kOp = decltype(opConstant)::value;
      forEachRow<2>(out.layout, {&out.layout, &in.layout}, [&](auto base, auto step, int64_t count) {
        T* d = dst + base[0];
        const T* s = src + base[1];
        if (unitSteps(step)) {
          unaryRow<kOp, T>(d, s, count, a);
        } else {
          for (int64_t j = 0; j < count; ++j) d[j * step[0]] = kernels::unaryOpOf<kOp, T>(s[j * step[1]], a);
        }
      });
    });
  });
}

void unaryBackward(DnnlContext& dnnl, UnaryOp op, const TensorRef& gradIn, const TensorRef& gradOut,
                   const TensorRef& input, double alpha) {
  const float a = static_cast<float>(alpha);
  const int64_t n = gradIn.numel();
  dnnl::algorithm algorithm;
  float dnnlAlpha;
  if (n >= kDnnlMinElements && dnnlAlgorithm(op, a, algorithm, dnnlAlpha) && sameDenseBlock(gradIn, gradOut) &&
      sameDenseBlock(gradIn, input)) {
    algorithm = backwardAlgorithm(algorithm);
    auto& entry = dnnl.cache<dnnl::eltwise_backward>(keyOf("bwd", op, dnnlAlpha, n), [&] {
      const dnnl::eltwise_backward::desc desc(algorithm, flat(n), flat(n), dnnlAlpha, 0.0f);
      return dnnl::eltwise_backward::primitive_desc(desc, dnnl.attr(), dnnl.engine, forwardDesc(dnnl, algorithm, dnnlAlpha, n));
    });
    dnnl.execute(entry.primitive, entry.pd,
                 {{kernels::derivativeFromOutput(op) ? DNNL_ARG_DST : DNNL_ARG_SRC, memory(flat(n), dnnl.engine, input.data)},
                  {DNNL_ARG_DIFF_DST, memory(flat(n), dnnl.engine, gradOut.data)},
                  {DNNL_ARG_DIFF_SRC, memory(flat(n), dnnl.engine, gradIn.data)}});
    return;
  }
  float* dst = gradIn.as<float>();
  const float* g = gradOut.as<float>();
  const float* x = input.as<float>();
  kernels::withUnaryOp(op, [&](auto opConstant) {
    constexpr UnaryOp kOp = decltype(opConstant)::value;
    forEachRow<3>(gradIn.layout, {&gradIn.layout, &gradOut.layout, &input.layout},
                  [&](auto base, auto step, int64_t count) {
                    float* d = dst + base[0];
                    const float* gs = g + base[1];
                    const float* xs = x + base[2];
                    if (unitSteps(step)) {
                      for (int64_t j = 0; j < count; ++j) d[j] = gs[j] * kernels::unaryDerivativeOf<kOp>(xs[j], a);
                    } else {
                      for (int64_t j = 0; j < count; ++j) {
                        d[j * step[0]] = gs[j * step[1]] * kernels::unaryDerivativeOf<kOp>(xs[j * step[2]], a);
                      }
                    }
                  });
  });
}

// The primitives this file implements (neocog/primitives.def).
void CpuBackend::unary(UnaryOp code, Out out, In input, double alpha) { cpu::unary(dnnl_, code, out, input, alpha); }
void CpuBackend::unaryBackward(UnaryOp code, Out gradInput, In gradOutput, In input, double alpha) {
  cpu::unaryBackward(dnnl_, code, gradInput, gradOutput, input, alpha);
}

}  // namespace neocog::cpu
