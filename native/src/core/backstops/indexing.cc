// Index kernels range-check index values themselves (Error(Index)); these check that the
// operands' shapes let them do so without going out of bounds.
#include "core/backstops.h"

namespace neocog::backstop {

namespace {

// gather/scatterAdd: one rank, index int32, index no larger than the data outside `dim`
// (PyTorch's rule), value operands of one dtype.
void checkGather(const char* op, const TensorRef& data, int dim, const TensorRef& index, const TensorRef& values) {
  bool ok = dim >= 0 && dim < data.layout.ndim && index.dtype == DType::Int32 && index.layout.ndim == data.layout.ndim &&
            values.layout.ndim == data.layout.ndim && values.dtype == data.dtype;
  for (int d = 0; ok && d < data.layout.ndim; ++d) {
    ok = values.layout.shape[d] == index.layout.shape[d] && (d == dim || index.layout.shape[d] <= data.layout.shape[d]);
  }
  if (!ok) reject(op, "gather/scatter operands do not fit together");
}

}  // namespace

void indexSelect(const char* op, Out out, In input, int32_t dim, In index) {
  bool ok = dim >= 0 && dim < input.layout.ndim && index.dtype == DType::Int32 && out.dtype == input.dtype &&
            out.layout.ndim == input.layout.ndim && out.layout.shape[dim] == index.numel();
  for (int d = 0; ok && d < input.layout.ndim; ++d) ok = d == dim || out.layout.shape[d] == input.layout.shape[d];
  if (!ok) reject(op, "indexSelect arguments dim/index/out are invalid");
}

void indexAdd(const char* op, InOut out, int32_t dim, In index, In source) {
  bool ok = dim >= 0 && dim < out.layout.ndim && index.dtype == DType::Int32 && out.dtype == source.dtype &&
            source.layout.ndim == out.layout.ndim && source.layout.shape[dim] == index.numel();
  for (int d = 0; ok && d < out.layout.ndim; ++d) ok = d == dim || out.layout.shape[d] == source.layout.shape[d];
  if (!ok) reject(op, "indexAdd arguments dim/index/source are invalid");
}

void gather(const char* op, Out out, In input, int32_t dim, In index) { checkGather(op, input, dim, index, out); }

void scatterAdd(const char* op, InOut out, int32_t dim, In index, In source) { checkGather(op, out, dim, index, source); }

void nonzero(const char* op, Out positions, Out count, In mask) {
  const bool ok = mask.layout.isContiguous() && positions.dtype == DType::Int32 && positions.layout.ndim == 1 &&
                  positions.layout.isContiguous() && positions.layout.shape[0] == mask.numel() &&
                  count.dtype == DType::Int32 && count.numel() == 1 && count.layout.isContiguous();
  if (!ok) reject(op, "nonzero operands must be a contiguous mask, int32 positions [N] and an int32 count [1]");
}

}  // namespace neocog::backstop
