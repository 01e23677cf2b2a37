#include "dist/mpi_communicator.h"

#include <algorithm>
#include <array>
#include <climits>
#include <string>

#include "dist/mpi_library.h"
#include "kernels/half.h"
#include "neocog/error.h"

namespace neocog::dist {

namespace {

using kernels::BFloat16;
using kernels::Half;

// MPI has no 16-bit float types (Open MPI 4), so float16 and bfloat16 travel as uint16 and
// reduce through these user operations, in float32 as every other 16-bit op here does.
template <typename T, CollectiveOp Op>
void reduceHalf(void* in, void* inout, int* length, MpiDatatype*) {
  const T* a = static_cast<const T*>(in);
  T* b = static_cast<T*>(inout);
  for (int i = 0; i < *length; ++i) {
    const float x = kernels::toFloat(a[i]), y = kernels::toFloat(b[i]);
    float r = 0.0f;
    if constexpr (Op == CollectiveOp::Product) r = x * y;
    else if constexpr (Op == CollectiveOp::Min) r = x < y ? x : y;
    else if constexpr (Op == CollectiveOp::Max) r = x > y ? x : y;
    else r = x + y;
    b[i] = kernels::fromFloat<T>(r);
  }
}

// Sum, Product, Min, Max: the index of a 16-bit user operation.
size_t opIndex(CollectiveOp op) { return op == CollectiveOp::Avg ? 0 : static_cast<size_t>(op); }

template <typename T>
void divideInPlace(void* data, size_t count, int by) {
  T* values = static_cast<T*>(data);
  for (size_t i = 0; i < count; ++i) {
    if constexpr (kernels::isHalfType<T>) values[i] = kernels::fromFloat<T>(kernels::toFloat(values[i]) / by);
    else values[i] = static_cast<T>(values[i] / by);  // integers truncate, as PyTorch's
  }
}

class MpiCommunicator final : public Communicator {
 public:
  explicit MpiCommunicator(std::unique_ptr<MpiLibrary> mpi) : mpi_(std::move(mpi)) {
    int flag = 0;
    mpi_->check(mpi_->finalized(&flag), "MPI_Finalized");
    if (flag) fail(ErrorKind::Distributed, "initProcessGroup: MPI was finalised in this process and cannot start again");
    mpi_->check(mpi_->initialized(&flag), "MPI_Initialized");
    if (flag) fail(ErrorKind::Distributed, "initProcessGroup: MPI is already initialised in this process (one process group per process)");
    int provided = 0;
    mpi_->check(mpi_->initThread(nullptr, nullptr, kMpiThreadFunneled, &provided), "MPI_Init_thread");
    initialised_ = true;
    // Errors come back as codes (and then as DistributedError), not as an abort of the process.
    mpi_->check(mpi_->commSetErrhandler(mpi_->commWorld, mpi_->errorsReturn), "MPI_Comm_set_errhandler");
    mpi_->check(mpi_->commRank(mpi_->commWorld, &rank_), "MPI_Comm_rank");
    mpi_->check(mpi_->commSize(mpi_->commWorld, &size_), "MPI_Comm_size");
  }

  ~MpiCommunicator() override {
    for (MpiOp& op : halfOps_) {
      if (op != nullptr) mpi_->opFree(&op);
    }
    if (initialised_) mpi_->finalize();
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void allReduce(void* data, size_t count, DType dtype, CollectiveOp op) override {
    char* bytes = static_cast<char*>(data);
    const size_t element = dtypeSize(dtype);
    for (size_t done = 0; done < count;) {
      const int chunk = static_cast<int>(std::min<size_t>(count - done, INT_MAX));
      mpi_->check(mpi_->allreduce(kInPlace, bytes + done * element, chunk, type(dtype), reduction(dtype, op),
                                  mpi_->commWorld),
                  "MPI_Allreduce");
      done += static_cast<size_t>(chunk);
    }
    if (op == CollectiveOp::Avg) divide(data, count, dtype);
  }

  void broadcast(void* data, size_t count, DType dtype, int root) override {
    char* bytes = static_cast<char*>(data);
    const size_t element = dtypeSize(dtype);
    for (size_t done = 0; done < count;) {
      const int chunk = static_cast<int>(std::min<size_t>(count - done, INT_MAX));
      mpi_->check(mpi_->bcast(bytes + done * element, chunk, type(dtype), root, mpi_->commWorld), "MPI_Bcast");
      done += static_cast<size_t>(chunk);
    }
  }

  void allGather(void* out, const void* in, size_t count, DType dtype) override {
    const int n = intCount(count, "allGather");
    mpi_->check(mpi_->allgather(in, n, type(dtype), out, n, type(dtype), mpi_->commWorld), "MPI_Allgather");
  }

  void reduceScatter(void* out, const void* in, size_t count, DType dtype, CollectiveOp op) override {
    const int n = intCount(count, "reduceScatter");
    mpi_->check(mpi_->reduceScatterBlock(in, out, n, type(dtype), reduction(dtype, op), mpi_->commWorld),
                "MPI_Reduce_scatter_block");
    if (op == CollectiveOp::Avg) divide(out, count, dtype);
  }

  void barrier() override { mpi_->check(mpi_->barrier(mpi_->commWorld), "MPI_Barrier"); }

 private:
  static inline void* const kInPlace = reinterpret_cast<void*>(1);  // MPI_IN_PLACE in Open MPI and MPICH

  int intCount(size_t count, const char* op) const {
    if (count > static_cast<size_t>(INT_MAX)) {
      fail(ErrorKind::Distributed, std::string(op) + ": MPI takes at most 2^31-1 elements per rank, got " + std::to_string(count));
    }
    return static_cast<int>(count);
  }

  MpiDatatype type(DType dtype) const {
    switch (dtype) {
      case DType::Float32: return mpi_->float32;
      case DType::Int32: return mpi_->int32;
      case DType::UInt8: return mpi_->uint8;
      case DType::Bool: return mpi_->cBool;
      case DType::Float16:
      case DType::BFloat16: return mpi_->uint16;
    }
    fail(ErrorKind::Internal, "MPI: unknown dtype");
  }

  MpiOp reduction(DType dtype, CollectiveOp op) {
    if (dtype == DType::Bool) return op == CollectiveOp::Sum || op == CollectiveOp::Max ? mpi_->lor : mpi_->land;
    if (isHalfDType(dtype)) return halfOp(dtype, op);
    switch (op) {
      case CollectiveOp::Sum:
      case CollectiveOp::Avg: return mpi_->sum;
      case CollectiveOp::Product: return mpi_->prod;
      case CollectiveOp::Min: return mpi_->min;
      case CollectiveOp::Max: return mpi_->max;
    }
    fail(ErrorKind::Internal, "MPI: unknown reduce op");
  }

  // The user operation for a 16-bit dtype, created on first use.
  MpiOp halfOp(DType dtype, CollectiveOp op) {
    static constexpr std::array<MpiUserFunction*, 8> functions = {
        reduceHalf<Half, CollectiveOp::Sum>,     reduceHalf<Half, CollectiveOp::Product>,
        reduceHalf<Half, CollectiveOp::Min>,     reduceHalf<Half, CollectiveOp::Max>,
        reduceHalf<BFloat16, CollectiveOp::Sum>, reduceHalf<BFloat16, CollectiveOp::Product>,
        reduceHalf<BFloat16, CollectiveOp::Min>, reduceHalf<BFloat16, CollectiveOp::Max>};
    const size_t index = (dtype == DType::BFloat16 ? 4 : 0) + opIndex(op);
    if (halfOps_[index] == nullptr) mpi_->check(mpi_->opCreate(functions[index], 1, &halfOps_[index]), "MPI_Op_create");
    return halfOps_[index];
  }

  void divide(void* data, size_t count, DType dtype) const {
    switch (dtype) {
      case DType::Float32: return divideInPlace<float>(data, count, size_);
      case DType::Int32: return divideInPlace<int32_t>(data, count, size_);
      case DType::UInt8: return divideInPlace<uint8_t>(data, count, size_);
      case DType::Float16: return divideInPlace<Half>(data, count, size_);
      case DType::BFloat16: return divideInPlace<BFloat16>(data, count, size_);
      case DType::Bool: fail(ErrorKind::Distributed, "allReduce: 'avg' is not defined on bool");
    }
  }

  std::unique_ptr<MpiLibrary> mpi_;
  bool initialised_ = false;
  int rank_ = 0, size_ = 1;
  std::array<MpiOp, 8> halfOps_{};
};

}  // namespace

std::unique_ptr<Communicator> createMpiCommunicator() { return std::make_unique<MpiCommunicator>(loadMpi()); }

}  // namespace neocog::dist
