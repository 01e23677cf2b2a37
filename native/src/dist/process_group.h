// A process group (issue 18): one Communicator and the thread its calls run on, ordered with
// the work of the device whose memory it moves (DESIGN §3: never on the JavaScript thread).
//
// MPI (CPU memory) gets a stream of its own: each collective first waits for what the CPU
// stream had queued before it (it reads what that work wrote), then runs on the group's
// thread while the CPU stream goes on with later work; orderAfter() makes the CPU stream's
// later work wait for a result. So DistributedDataParallel's bucket all-reduces overlap the
// rest of backward. NCCL (CUDA memory) queues its calls on the device's own stream instead,
// whose CUDA stream orders them with the kernels.
#pragma once

#include <functional>
#include <future>
#include <memory>
#include <string>

#include "core/device_context.h"
#include "core/stream.h"
#include "neocog/communicator.h"

namespace neocog::dist {

class ProcessGroup {
 public:
  using Factory = std::function<std::unique_ptr<Communicator>()>;
  using Done = std::function<void(const ErrorPtr&)>;

  // `ownStream`: run calls on a thread of the group's own (MPI) rather than the device's stream.
  ProcessGroup(std::shared_ptr<DeviceContext> device, bool ownStream);
  // Destroys the communicator (MPI_Finalize) on its thread after every queued call, and waits.
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  // Creates the communicator on the group's thread (joining the other ranks may take a
  // while); `done` gets the error or null there. rank() and size() are valid after success.
  void start(Factory factory, Done done);
  int rank() const { return rank_; }
  int size() const { return size_; }
  DeviceContext& device() const { return *device_; }

  // Queues `call` after the device's queued work. `inputs` stay alive until it ran and
  // `outputs` are poisoned if it fails. Returns a future that is ready once it ran.
  std::shared_future<void> submit(std::string op, StorageList inputs, StorageList outputs,
                                  std::function<void(Communicator&)> call, Done done);
  // Makes the device's work queued from now on wait for `finished` (a submit() result).
  void orderAfter(const std::shared_future<void>& finished);

 private:
  Stream& runner() { return own_ ? *own_ : device_->stream; }

  std::shared_ptr<DeviceContext> device_;
  std::unique_ptr<Stream> own_;
  std::unique_ptr<Communicator> communicator_;  // touched only on the runner's thread
  int rank_ = 0, size_ = 0;
};

}  // namespace neocog::dist
