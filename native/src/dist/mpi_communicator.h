// The Communicator (neocog/communicator.h) over MPI_COMM_WORLD, for CPU memory. Every call,
// construction and destruction included, must come from one thread (the process group's
// stream thread): that is all MPI_THREAD_FUNNELED promises, and all we need.
#pragma once

#include <memory>

#include "neocog/communicator.h"

namespace neocog::dist {

// Initialises MPI (the process must have been started by mpirun, or be a world of one).
// Throws Error(Distributed) when MPI is missing, was initialised already, or was finalised
// (MPI cannot start twice in one process).
std::unique_ptr<Communicator> createMpiCommunicator();

}  // namespace neocog::dist
