// Batched matmul on cuBLAS. cuBLAS is column-major, so the row-major product C = A B is
// computed as C^T = B^T A^T: a row-major matrix read column-major is its transpose.
// lib/ops/matmul.ts hands us operands whose last two dims are row- or column-contiguous,
// all of one dtype: float32 (exact FP32 SGEMM unless TF32 is allowed) or float16/bfloat16
// (GemmEx).
#include <algorithm>

#include "cuda/check.h"
#include "cuda/cuda_backend.h"

namespace neocog::cuda {

namespace {

struct Operand {
  cublasOperation_t op;
  int ld;
};

// How to pass a row-major [rows, cols] view to cuBLAS as the transposed operand.
Operand describe(const Layout& l, const char* name) {
  const int64_t rows = l.shape[1], cols = l.shape[2];
  const int64_t rowStride = l.strides[1], colStride = l.strides[2];
  if (colStride == 1 || cols == 1) return {CUBLAS_OP_N, static_cast<int>(std::max<int64_t>({rowStride, cols, 1}))};
  if (rowStride == 1 || rows == 1) return {CUBLAS_OP_T, static_cast<int>(std::max<int64_t>({colStride, rows, 1}))};
  fail(ErrorKind::Internal, std::string("matmul: ") + name + " must be row- or column-contiguous in its last two dims");
}

}  // namespace

void matmul(DeviceHandles& h, const TensorRef& out, const TensorRef& a, const TensorRef& b, const MathOptions& math) {
  const int64_t batch = out.layout.shape[0], m = out.layout.shape[1], n = out.layout.shape[2];
  const int64_t k = a.layout.shape[2];
  if (out.numel() == 0) return;
  if (k == 0) {
    check(cudaMemsetAsync(out.data, 0, static_cast<size_t>(out.numel()) * dtypeSize(out.dtype), h.stream()), "matmul");
    return;
  }
  const Operand opA = describe(a.layout, "input"), opB = describe(b.layout, "other");
  const float alpha = 1.0f, beta = 0.0f;
  if (isHalfDType(out.dtype) || math.allowTf32) {
    // 16-bit operands (mixed precision): tensor cores, accumulating in float32. float32 with
    // TF32 allowed: the products in TF32 on tensor cores, the sums in float32.
    const cudaDataType_t type =
        out.dtype == DType::Float16 ? CUDA_R_16F : (out.dtype == DType::BFloat16 ? CUDA_R_16BF : CUDA_R_32F);
    const cublasComputeType_t compute = isHalfDType(out.dtype) ? CUBLAS_COMPUTE_32F : CUBLAS_COMPUTE_32F_FAST_TF32;
    check(cublasGemmStridedBatchedEx(h.cublas(), opB.op, opA.op, static_cast<int>(n), static_cast<int>(m),
                                     static_cast<int>(k), &alpha, b.data, type, opB.ld, b.layout.strides[0], a.data,
                                     type, opA.ld, a.layout.strides[0], &beta, out.data, type, static_cast<int>(n),
                                     m * n, static_cast<int>(batch), compute, CUBLAS_GEMM_DEFAULT),
          "matmul (cublasGemmStridedBatchedEx)");
    return;
  }
  check(cublasSgemmStridedBatched(h.cublas(), opB.op, opA.op, static_cast<int>(n), static_cast<int>(m),
                                  static_cast<int>(k), &alpha, b.as<float>(), opB.ld, b.layout.strides[0],
                                  a.as<float>(), opA.ld, a.layout.strides[0], &beta, out.as<float>(),
                                  static_cast<int>(n), m * n, static_cast<int>(batch)),
        "matmul (cublasSgemmStridedBatched)");
}

// The primitives this file implements (neocog/primitives.def).
void CudaBackend::matmul(Out out, In a, In b, const MathOptions& math) { cuda::matmul(handles_, out, a, b, math); }

}  // namespace neocog::cuda
