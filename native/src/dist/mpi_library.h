// Open MPI, opened with dlopen the first time a process group asks for it (issue 18), so
// the addon neither links nor requires MPI. We declare the few functions and predefined
// handles we use ourselves instead of including <mpi.h>: its handles (MPI_COMM_WORLD,
// MPI_FLOAT, MPI_SUM) are addresses of globals inside libmpi, which a dlopen'ed library can
// only hand out through dlsym. That is Open MPI's ABI (libmpi.so.40, Open MPI 4 and 5);
// MPICH's integer handles differ, and loadMpi() says so rather than misbehave.
#pragma once

#include <memory>
#include <string>

#include "core/library_handle.h"

namespace neocog::dist {

// Open MPI's handles are pointers to its predefined objects.
using MpiComm = void*;
using MpiDatatype = void*;
using MpiOp = void*;
using MpiErrhandler = void*;
using MpiUserFunction = void(void* in, void* inout, int* length, MpiDatatype* type);

struct MpiLibrary {
  DlHandle library;

  int (*initThread)(int* argc, char*** argv, int required, int* provided) = nullptr;
  int (*initialized)(int* flag) = nullptr;
  int (*finalized)(int* flag) = nullptr;
  int (*finalize)() = nullptr;
  int (*commRank)(MpiComm comm, int* rank) = nullptr;
  int (*commSize)(MpiComm comm, int* size) = nullptr;
  int (*commSetErrhandler)(MpiComm comm, MpiErrhandler handler) = nullptr;
  int (*allreduce)(const void* send, void* recv, int count, MpiDatatype type, MpiOp op, MpiComm comm) = nullptr;
  int (*bcast)(void* data, int count, MpiDatatype type, int root, MpiComm comm) = nullptr;
  int (*allgather)(const void* send, int sendCount, MpiDatatype sendType, void* recv, int recvCount,
                   MpiDatatype recvType, MpiComm comm) = nullptr;
  int (*reduceScatterBlock)(const void* send, void* recv, int count, MpiDatatype type, MpiOp op,
                            MpiComm comm) = nullptr;
  int (*barrier)(MpiComm comm) = nullptr;
  int (*errorString)(int code, char* text, int* length) = nullptr;
  int (*opCreate)(MpiUserFunction* function, int commute, MpiOp* op) = nullptr;
  int (*opFree)(MpiOp* op) = nullptr;

  MpiComm commWorld = nullptr;
  MpiErrhandler errorsReturn = nullptr;
  MpiDatatype float32 = nullptr, int32 = nullptr, uint8 = nullptr, cBool = nullptr, uint16 = nullptr;
  MpiOp sum = nullptr, prod = nullptr, min = nullptr, max = nullptr, lor = nullptr, land = nullptr;

  // Throws Error(Distributed) naming the call and MPI's own message when `code` is not
  // MPI_SUCCESS.
  void check(int code, const char* call) const;
};

// Opens $NEOCOG_MPI_LIBRARY, else libmpi.so.40 from the loader's search path (Open MPI from
// apt: libopenmpi-dev / openmpi-bin). Throws Error(Distributed) with what to install.
std::unique_ptr<MpiLibrary> loadMpi();

// MPI's thread support levels (the same numbers in Open MPI and MPICH).
constexpr int kMpiThreadFunneled = 1;

}  // namespace neocog::dist
