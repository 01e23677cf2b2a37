// The process group (issue 18): init, collectives and teardown. lib/distributed validated
// every argument; the checks here are backstops. One group per addon instance, as PyTorch
// has one default group per process (MPI allows no more anyway).
#include <cstring>
#include <string>

#include "binding/addon.h"
#include "binding/args.h"
#include "binding/errors.h"
#include "dist/mpi_communicator.h"

namespace neocog::binding {

namespace {

// Settles `deferred` on the JavaScript thread with the group's coordinates, or the error.
ProcessGroupDone settleStart(Addon& addon, dist::ProcessGroup& group, Napi::Promise::Deferred deferred) {
  return [&addon, &group, deferred](const ErrorPtr& error) {
    // Read here, on the group's thread right after the start: the group may be destroyed
    // before the completion runs.
    const int rank = group.rank(), size = group.size();
    addon.post([rank, size, deferred, error](Napi::Env env) {
      if (error) {
        deferred.Reject(toJsError(env, error->kind(), error->what()).Value());
        return;
      }
      Napi::Object result = Napi::Object::New(env);
      result.Set("rank", rank);
      result.Set("size", size);
      deferred.Resolve(result);
    });
  };
}

CollectiveOp reduceOpArg(const Napi::CallbackInfo& info, size_t index, const char* op) {
  const double code = numberArg(info, index, op, "reduceOp");
  if (!(code >= 0 && code <= static_cast<double>(CollectiveOp::Avg))) fail(ErrorKind::Internal, std::string(op) + ": bad reduceOp");
  return static_cast<CollectiveOp>(static_cast<int32_t>(code));
}

}  // namespace

dist::ProcessGroup& Addon::processGroup(const char* op) {
  if (!processGroup_) fail(ErrorKind::Distributed, std::string(op) + ": no process group; call initProcessGroup() first");
  return *processGroup_;
}

// distInitMpi(): Promise<{ rank, size }>, MPI_COMM_WORLD over CPU memory.
Napi::Value Addon::DistInitMpi(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    if (processGroup_) fail(ErrorKind::Distributed, "initProcessGroup: a process group exists already; call destroyProcessGroup() first");
    processGroup_ = std::make_unique<dist::ProcessGroup>(runtime().context(Device{}), /*ownStream=*/true);
    Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(info.Env());
    beginAsync(info.Env());
    processGroup_->start(dist::createMpiCommunicator, settleStart(*this, *processGroup_, deferred));
    return deferred.Promise();
  });
}

// distNcclUniqueId(): ArrayBuffer, made on rank 0 and handed to the others.
Napi::Value Addon::DistNcclUniqueId(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    const std::string id = runtime().cudaPlugin().ncclUniqueId();
    Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(info.Env(), id.size());
    std::memcpy(buffer.Data(), id.data(), id.size());
    return buffer;
  });
}

// distInitNccl(device, uniqueId, rank, size): Promise<{ rank, size }>.
Napi::Value Addon::DistInitNccl(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    if (processGroup_) fail(ErrorKind::Distributed, "initProcessGroup: a process group exists already; call destroyProcessGroup() first");
    const Device device = deviceArg(info[0], "initProcessGroup");
    if (!info[1].IsArrayBuffer()) fail(ErrorKind::Internal, "initProcessGroup: uniqueId must be an ArrayBuffer");
    Napi::ArrayBuffer idBuffer = info[1].As<Napi::ArrayBuffer>();
    std::string id(static_cast<const char*>(idBuffer.Data()), idBuffer.ByteLength());
    const int rank = static_cast<int>(numberArg(info, 2, "initProcessGroup", "rank"));
    const int size = static_cast<int>(numberArg(info, 3, "initProcessGroup", "size"));
    auto context = runtime().context(device);
    DevicePlugin& plugin = runtime().cudaPlugin();
    processGroup_ = std::make_unique<dist::ProcessGroup>(context, /*ownStream=*/false);
    Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(info.Env());
    beginAsync(info.Env());
    processGroup_->start([&plugin, context, id, rank, size] { return plugin.createCommunicator(*context->backend, id, rank, size); },
                         settleStart(*this, *processGroup_, deferred));
    return deferred.Promise();
  });
}

// distCollective(kind, output, input, reduceOp, root): { wait(), done: Promise<void> }.
// allReduce and broadcast work in place on `output` (input null); allGather and
// reduceScatter read `input` and write `output`; barrier takes neither.
Napi::Value Addon::DistCollective(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    const std::string kind = stringArg(info, 0, "collective", "kind");
    const char* op = kind.c_str();
    dist::ProcessGroup& group = processGroup(op);
    const TensorArg output = optionalTensorArg(*this, info[1], op, "output");
    const TensorArg input = optionalTensorArg(*this, info[2], op, "input");
    const CollectiveOp reduce = reduceOpArg(info, 3, op);
    const int root = static_cast<int>(numberArg(info, 4, op, "root"));
    for (const TensorArg* t : {&output, &input}) {
      if (t->storage && &t->storage->context() != &group.device()) {
        fail(ErrorKind::Device, std::string(op) + ": the tensor is on another device than the process group's");
      }
    }
    const DType dtype = output.storage ? output.ref.dtype : DType::Float32;
    const size_t count = input.storage ? input.ref.numel() : (output.storage ? output.ref.numel() : 0);
    void* out = output.ref.data;
    const void* in = input.ref.data;

    std::function<void(Communicator&)> call;
    if (kind == "allReduce") call = [=](Communicator& c) { c.allReduce(out, count, dtype, reduce); };
    else if (kind == "broadcast") call = [=](Communicator& c) { c.broadcast(out, count, dtype, root); };
    else if (kind == "allGather") call = [=](Communicator& c) { c.allGather(out, in, count, dtype); };
    else if (kind == "reduceScatter") call = [=, n = output.ref.numel()](Communicator& c) { c.reduceScatter(out, in, n, dtype, reduce); };
    else if (kind == "barrier") call = [](Communicator& c) { c.barrier(); };
    else fail(ErrorKind::Internal, "collective: unknown kind " + kind);
    if (kind != "barrier" && !output.storage) fail(ErrorKind::Internal, kind + ": output is required");

    StorageList inputs, outputs;
    if (input.storage) inputs.push_back(input.storage);
    if (output.storage) {
      inputs.push_back(output.storage);  // in-place collectives read it too
      outputs.push_back(output.storage);
    }
    Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(info.Env());
    beginAsync(info.Env());
    auto done = [this, deferred](const ErrorPtr& error) {
      post([deferred, error](Napi::Env env) {
        if (error) deferred.Reject(toJsError(env, error->kind(), error->what()).Value());
        else deferred.Resolve(env.Undefined());
      });
    };
    std::shared_future<void> finished = group.submit(kind, std::move(inputs), std::move(outputs), std::move(call), done);

    Napi::Object work = Napi::Object::New(info.Env());
    work.Set("done", deferred.Promise());
    work.Set("wait", Napi::Function::New(info.Env(), [this, finished](const Napi::CallbackInfo& call) {
      return guarded(call.Env(), [&] {
        processGroup("wait").orderAfter(finished);
        return call.Env().Undefined();
      });
    }));
    return work;
  });
}

// distDestroy(): finalises the communicator after every queued collective (blocks until then).
Napi::Value Addon::DistDestroy(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    processGroup_.reset();
    return info.Env().Undefined();
  });
}

}  // namespace neocog::binding
