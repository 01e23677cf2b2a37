// NCCL collectives for CUDA memory (issue 18): what DevicePlugin::ncclUniqueId and
// createCommunicator return. Kept apart from plugin.cu so that nccl.h's `ncclUniqueId` type
// does not meet the plugin method of the same name.
#pragma once

#include <memory>
#include <string>

#include "neocog/backend.h"
#include "neocog/communicator.h"

namespace neocog::cuda {

// A fresh ncclGetUniqueId, its 128 bytes as a string (rank 0 makes it, the job shares it).
std::string newNcclUniqueId();

// Joins the communicator named by `uniqueId` as `rank` of `size` (blocks until every rank has
// joined) on `backend`'s device; collectives are queued on its stream, so `backend` must
// outlive the communicator.
std::unique_ptr<Communicator> makeNcclCommunicator(Backend& backend, const std::string& uniqueId, int rank, int size);

}  // namespace neocog::cuda
