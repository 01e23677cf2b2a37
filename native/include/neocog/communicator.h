// A collective-communication engine over the processes of one job (issue 18): MPI for CPU
// memory (native/src/dist/, Open MPI dlopen'ed at run time) and NCCL for CUDA memory (the
// CUDA plugin). The binding runs every call on a stream thread, in the order the user
// issued them, so each rank issues the same collectives in the same order, as both
// libraries require. MPI calls return when done; NCCL calls return once queued on the
// device's CUDA stream. Neither blocks the JavaScript thread.
#pragma once

#include <cstddef>
#include <cstdint>

#include "neocog/dtype.h"

namespace neocog {

// torch.distributed.ReduceOp (named apart from op_params.h's ReduceOp, the tensor
// reductions). Avg is Sum divided by the world size (integer dtypes divide with truncation,
// as PyTorch's NCCL backend does); on bool, Sum and Max are a logical or, Product and Min a
// logical and.
enum class DistReduceOp : int32_t { Sum = 0, Product = 1, Min = 2, Max = 3, Avg = 4 };

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;

  // Each takes memory of the communicator's device, `count` elements of `dtype` per rank.
  // Throws neocog::Error (kind Distributed) with the library's message when it fails.
  // In place: data holds this rank's values before and the reduction of all ranks' after.
  virtual void allReduce(void* data, size_t count, DType dtype, DistReduceOp op) = 0;
  // In place: every rank gets root's `count` elements.
  virtual void broadcast(void* data, size_t count, DType dtype, int root) = 0;
  // out holds size() * count elements: rank r's `in` at offset r * count.
  virtual void allGather(void* out, const void* in, size_t count, DType dtype) = 0;
  // in holds size() * count elements; out gets the reduction of every rank's block rank().
  virtual void reduceScatter(void* out, const void* in, size_t count, DType dtype, DistReduceOp op) = 0;
  virtual void barrier() = 0;
};

}  // namespace neocog
