// The NCCL Communicator (issue 18): collectives queued on the CUDA stream of the device's
// backend, so they run in order with the kernels that produce and consume their tensors.
#include <nccl.h>

#include <memory>
#include <string>

#include "cuda/check.h"
#include "cuda/cuda_backend.h"
#include "cuda/nccl_communicator.h"

// ncclGetLastError (2.13) and ncclAvg on every dtype (2.10); the nvidia-nccl-cu13 wheel is 2.2x.
#if NCCL_VERSION_CODE < NCCL_VERSION(2, 13, 0)
#error "neocog needs NCCL 2.13 or newer (pip install nvidia-nccl-cu13)"
#endif

namespace neocog::cuda {

namespace {

Error ncclError(ncclResult_t status, const std::string& call, ncclComm_t comm) {
  const char* detail = ncclGetLastError(comm);
  return Error(ErrorKind::Distributed, call + ": " + ncclGetErrorString(status) + " (" +
                                           (detail && *detail ? detail : "no detail; NCCL_DEBUG=WARN prints more") + ")");
}

ncclDataType_t ncclTypeOf(DType dtype, const char* call) {
  switch (dtype) {
    case DType::Float32: return ncclFloat32;
    case DType::Float16: return ncclFloat16;
    case DType::BFloat16: return ncclBfloat16;
    case DType::Int32: return ncclInt32;
    case DType::UInt8: return ncclUint8;
    case DType::Bool: return ncclUint8;  // one byte holding 0 or 1; the ops are mapped below
  }
  fail(ErrorKind::DType, std::string(call) + ": NCCL cannot reduce dtype code " + std::to_string(int(dtype)));
}

ncclRedOp_t ncclOpOf(CollectiveOp op, DType dtype, const char* call) {
  if (dtype == DType::Bool) {
    // On 0/1 bytes, Max is a logical or and Min a logical and (torch.distributed on bool).
    switch (op) {
      case CollectiveOp::Sum:
      case CollectiveOp::Max: return ncclMax;
      case CollectiveOp::Product:
      case CollectiveOp::Min: return ncclMin;
      case CollectiveOp::Avg: fail(ErrorKind::DType, std::string(call) + ": ReduceOp.Avg is not defined for bool tensors");
    }
  }
  switch (op) {
    case CollectiveOp::Sum: return ncclSum;
    case CollectiveOp::Product: return ncclProd;
    case CollectiveOp::Min: return ncclMin;
    case CollectiveOp::Max: return ncclMax;
    // On integer dtypes NCCL's ncclAvg is a Sum then a division truncating toward zero (its
    // SumPostDiv), which is what PyTorch's NCCL backend gives (it passes ncclAvg too).
    case CollectiveOp::Avg: return ncclAvg;
  }
  fail(ErrorKind::Internal, std::string(call) + ": unknown ReduceOp " + std::to_string(int(op)));
}

// cudaFree for the barrier's flag; it runs after the communicator's destructor made the
// device current.
struct CudaFree {
  void operator()(void* ptr) const noexcept { cudaFree(ptr); }
};

class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(DeviceHandles& handles, const ncclUniqueId& id, int rank, int size)
      : handles_(handles), rank_(rank), size_(size) {
    handles_.activate();
    void* flag = nullptr;
    check(cudaMalloc(&flag, sizeof(float)), "barrier flag (cudaMalloc)");
    flag_.reset(flag);
    // On the stream, which does not wait for the legacy default stream a plain cudaMemset uses.
    check(cudaMemsetAsync(flag, 0, sizeof(float), handles_.stream()), "barrier flag (cudaMemsetAsync)");
    const ncclResult_t status = ncclCommInitRank(&comm_, size, id, rank);
    if (status != ncclSuccess) {
      const Error error = ncclError(status, "ncclCommInitRank", comm_);
      // A communicator whose initialisation failed is still allocated; only abort frees it.
      if (comm_) ncclCommAbort(comm_);
      throw error;
    }
  }

  ~NcclCommunicator() override {
    cudaSetDevice(handles_.device());
    // After an error a collective may still wait for a peer that will never come;
    // ncclCommDestroy would wait with it, ncclCommAbort stops it.
    ncclResult_t async = ncclSuccess;
    if (failed_ || ncclCommGetAsyncError(comm_, &async) != ncclSuccess || async != ncclSuccess) {
      ncclCommAbort(comm_);
    } else {
      ncclCommDestroy(comm_);
    }
  }

  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void allReduce(void* data, size_t count, DType dtype, CollectiveOp op) override {
    handles_.activate();
    checkNccl(ncclAllReduce(data, data, count, ncclTypeOf(dtype, "allReduce"), ncclOpOf(op, dtype, "allReduce"), comm_,
                        handles_.stream()),
          "ncclAllReduce");
  }

  void broadcast(void* data, size_t count, DType dtype, int root) override {
    handles_.activate();
    checkNccl(ncclBroadcast(data, data, count, ncclTypeOf(dtype, "broadcast"), root, comm_, handles_.stream()),
          "ncclBroadcast");
  }

  void allGather(void* out, const void* in, size_t count, DType dtype) override {
    handles_.activate();
    checkNccl(ncclAllGather(in, out, count, ncclTypeOf(dtype, "allGather"), comm_, handles_.stream()), "ncclAllGather");
  }

  void reduceScatter(void* out, const void* in, size_t count, DType dtype, CollectiveOp op) override {
    handles_.activate();
    checkNccl(ncclReduceScatter(in, out, count, ncclTypeOf(dtype, "reduceScatter"), ncclOpOf(op, dtype, "reduceScatter"),
                            comm_, handles_.stream()),
          "ncclReduceScatter");
  }

  // As PyTorch's NCCL barrier: a one-element allReduce, then wait for the stream, so every
  // rank has reached this point and its earlier collectives have finished.
  void barrier() override {
    handles_.activate();
    checkNccl(ncclAllReduce(flag_.get(), flag_.get(), 1, ncclFloat32, ncclSum, comm_, handles_.stream()),
          "ncclAllReduce (barrier)");
    check(cudaStreamSynchronize(handles_.stream()), "barrier (cudaStreamSynchronize)");
  }

 private:
  // Remembers the failure so that the destructor aborts instead of waiting.
  void checkNccl(ncclResult_t status, const char* call) {
    if (status == ncclSuccess) return;
    failed_ = true;
    throw ncclError(status, call, comm_);
  }

  DeviceHandles& handles_;
  int rank_;
  int size_;
  std::unique_ptr<void, CudaFree> flag_;  // the barrier's one float (its value does not matter)
  ncclComm_t comm_ = nullptr;
  bool failed_ = false;
};

}  // namespace

std::string newNcclUniqueId() {
  ncclUniqueId id;
  const ncclResult_t status = ncclGetUniqueId(&id);
  if (status != ncclSuccess) throw ncclError(status, "ncclGetUniqueId", nullptr);
  return std::string(id.internal, sizeof(id.internal));
}

std::unique_ptr<Communicator> makeNcclCommunicator(Backend& backend, const std::string& uniqueId, int rank, int size) {
  // Only this plugin makes CUDA backends, so a CUDA device means a CudaBackend.
  if (backend.device().type != DeviceType::CUDA) {
    fail(ErrorKind::Device, "NCCL communicator: needs a CUDA device, got " + backend.device().str());
  }
  ncclUniqueId id;
  if (uniqueId.size() != sizeof(id.internal)) {
    fail(ErrorKind::Distributed, "ncclCommInitRank: the unique id must be " + std::to_string(sizeof(id.internal)) +
                                     " bytes (from rank 0's ncclUniqueId), got " + std::to_string(uniqueId.size()));
  }
  uniqueId.copy(id.internal, sizeof(id.internal));
  return std::make_unique<NcclCommunicator>(static_cast<CudaBackend&>(backend).handles(), id, rank, size);
}

}  // namespace neocog::cuda
