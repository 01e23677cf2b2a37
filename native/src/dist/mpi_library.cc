#include "dist/mpi_library.h"

#include <cstdlib>

#include "neocog/error.h"

namespace neocog::dist {

namespace {

constexpr int kMpiSuccess = 0;
constexpr int kMpiMaxErrorString = 256;

template <typename Fn>
void bind(const MpiLibrary& mpi, Fn& fn, const char* name, const std::string& path) {
  fn = reinterpret_cast<Fn>(mpi.library.symbol(name));
  if (fn == nullptr) fail(ErrorKind::Distributed, path + " has no " + name + ": not an MPI library");
}

void* predefined(const MpiLibrary& mpi, const char* name, const std::string& path) {
  void* handle = mpi.library.symbol(name);
  if (handle == nullptr) {
    fail(ErrorKind::Distributed, path + " has no " + name +
                                     ": neocog speaks Open MPI's ABI (libmpi.so.40); other MPIs (MPICH) are not "
                                     "supported. Install Open MPI: apt-get install openmpi-bin libopenmpi-dev");
  }
  return handle;
}

}  // namespace

void MpiLibrary::check(int code, const char* call) const {
  if (code == kMpiSuccess) return;
  char text[kMpiMaxErrorString] = {};
  int length = 0;
  std::string message = "error " + std::to_string(code);
  if (errorString != nullptr && errorString(code, text, &length) == kMpiSuccess && length > 0) {
    message = std::string(text, static_cast<size_t>(length));
  }
  fail(ErrorKind::Distributed, std::string(call) + " failed: " + message);
}

std::unique_ptr<MpiLibrary> loadMpi() {
  const char* configured = std::getenv("NEOCOG_MPI_LIBRARY");
  const std::string path = configured != nullptr && *configured != '\0' ? configured : "libmpi.so.40";
  auto mpi = std::make_unique<MpiLibrary>();
  std::string error;
  // RTLD_GLOBAL: Open MPI's own plugins (mca components) resolve libmpi's symbols globally.
  mpi->library = DlHandle::open(path, /*global=*/true, &error);
  if (!mpi->library) {
    fail(ErrorKind::Distributed, "the 'mpi' backend needs Open MPI, and " + path + " could not be loaded (" + error +
                                     "). Install it with: apt-get install openmpi-bin libopenmpi-dev "
                                     "(or set NEOCOG_MPI_LIBRARY to its libmpi.so)");
  }
  bind(*mpi, mpi->initThread, "MPI_Init_thread", path);
  bind(*mpi, mpi->initialized, "MPI_Initialized", path);
  bind(*mpi, mpi->finalized, "MPI_Finalized", path);
  bind(*mpi, mpi->finalize, "MPI_Finalize", path);
  bind(*mpi, mpi->commRank, "MPI_Comm_rank", path);
  bind(*mpi, mpi->commSize, "MPI_Comm_size", path);
  bind(*mpi, mpi->commSetErrhandler, "MPI_Comm_set_errhandler", path);
  bind(*mpi, mpi->allreduce, "MPI_Allreduce", path);
  bind(*mpi, mpi->bcast, "MPI_Bcast", path);
  bind(*mpi, mpi->allgather, "MPI_Allgather", path);
  bind(*mpi, mpi->reduceScatterBlock, "MPI_Reduce_scatter_block", path);
  bind(*mpi, mpi->barrier, "MPI_Barrier", path);
  bind(*mpi, mpi->errorString, "MPI_Error_string", path);
  bind(*mpi, mpi->opCreate, "MPI_Op_create", path);
  bind(*mpi, mpi->opFree, "MPI_Op_free", path);
  mpi->commWorld = predefined(*mpi, "ompi_mpi_comm_world", path);
  mpi->errorsReturn = predefined(*mpi, "ompi_mpi_errors_return", path);
  mpi->float32 = predefined(*mpi, "ompi_mpi_float", path);
  mpi->int32 = predefined(*mpi, "ompi_mpi_int", path);
  mpi->uint8 = predefined(*mpi, "ompi_mpi_uint8_t", path);
  mpi->cBool = predefined(*mpi, "ompi_mpi_c_bool", path);
  mpi->uint16 = predefined(*mpi, "ompi_mpi_uint16_t", path);
  mpi->sum = predefined(*mpi, "ompi_mpi_op_sum", path);
  mpi->prod = predefined(*mpi, "ompi_mpi_op_prod", path);
  mpi->min = predefined(*mpi, "ompi_mpi_op_min", path);
  mpi->max = predefined(*mpi, "ompi_mpi_op_max", path);
  mpi->lor = predefined(*mpi, "ompi_mpi_op_lor", path);
  mpi->land = predefined(*mpi, "ompi_mpi_op_land", path);
  return mpi;
}

}  // namespace neocog::dist
