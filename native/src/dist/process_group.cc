#include "dist/process_group.h"

namespace neocog::dist {

ProcessGroup::ProcessGroup(std::shared_ptr<DeviceContext> device, bool ownStream) : device_(std::move(device)) {
  // The group's stream reports errors through each call's `done` and the outputs it poisons.
  if (ownStream) own_ = std::make_unique<Stream>("process group", nullptr);
}

ProcessGroup::~ProcessGroup() {
  try {
    Task stop;
    stop.op = "destroyProcessGroup";
    stop.run = [this] { communicator_.reset(); };
    runner().enqueue(std::move(stop));
    runner().fence().wait();
  } catch (...) {
    // The stream has shut down already (teardown): nothing can run there any more.
  }
}

void ProcessGroup::start(Factory factory, Done done) {
  Task task;
  task.op = "initProcessGroup";
  task.run = [this, factory = std::move(factory)] {
    communicator_ = factory();
    rank_ = communicator_->rank();
    size_ = communicator_->size();
  };
  task.done = std::move(done);
  runner().enqueue(std::move(task));
}

std::shared_future<void> ProcessGroup::submit(std::string op, StorageList inputs, StorageList outputs,
                                              std::function<void(Communicator&)> call, Done done) {
  auto finished = std::make_shared<std::promise<void>>();
  std::shared_future<void> result = finished->get_future().share();
  Task task;
  task.op = std::move(op);
  task.inputs = std::move(inputs);
  task.outputs = std::move(outputs);
  if (own_) task.waitFor = {device_->stream.fence()};
  task.run = [this, call = std::move(call)] {
    if (!communicator_) fail(ErrorKind::Distributed, "the process group is not initialised");
    call(*communicator_);
  };
  task.done = [finished, done = std::move(done)](const ErrorPtr& error) {
    if (done) done(error);
    finished->set_value();
  };
  runner().enqueue(std::move(task));
  return result;
}

void ProcessGroup::orderAfter(const std::shared_future<void>& finished) {
  if (!own_) return;  // the call ran on the device's stream itself
  Task hold;
  hold.op = "wait";
  hold.waitFor = {finished};
  hold.run = [] {};
  device_->stream.enqueue(std::move(hold));
}

}  // namespace neocog::dist
