// One thin entry per primitive: unwrap, check the device backstop, enqueue. No math here.
#include <string>
#include <vector>

#include "binding/addon.h"
#include "binding/args.h"
#include "binding/errors.h"
#include "kernels/conv.h"

namespace neocog::binding {

namespace {

// Enqueues `kernel` on the stream of `out`'s device, keeping every operand alive until it ran.
template <typename Kernel>
Napi::Value submit(Napi::Env env, Addon& addon, const char* op, const TensorArg& out,
                   const std::vector<const TensorArg*>& inputs, Kernel kernel,
                   const std::vector<const TensorArg*>& moreOutputs = {}) {
  const Device device = out.storage->device();
  Task task;
  task.op = op;
  task.outputs = {out.storage};
  for (const TensorArg* extra : moreOutputs) {
    if (extra->storage->device() != device) fail(ErrorKind::Device, std::string(op) + ": outputs on different devices");
    task.outputs.push_back(extra->storage);
  }
  for (const TensorArg* input : inputs) {
    if (input->storage->device() != device) {
      fail(ErrorKind::Device, std::string(op) + ": expected all tensors on " + device.str() + ", got one on " +
                                  input->storage->device().str());
    }
    task.inputs.push_back(input->storage);
  }
  Backend* backend = out.storage->context().backend.get();
  task.run = [backend, kernel = std::move(kernel)] { kernel(*backend); };
  addon.runtime().submit(out.storage->context(), std::move(task));
  return env.Undefined();
}

}  // namespace

void Addon::defineOps(Napi::Object exports) {
  DefineProperties(exports, {
                                InstanceMethod("arange", &Addon::Arange),
                                InstanceMethod("argsort", &Addon::Argsort),
                                InstanceMethod("batchNormBackward", &Addon::BatchNormBackward),
                                InstanceMethod("batchNormForward", &Addon::BatchNormForward),
                                InstanceMethod("binary", &Addon::Binary),
                                InstanceMethod("boxIou", &Addon::BoxIou),
                                InstanceMethod("compare", &Addon::Compare),
                                InstanceMethod("convBackwardData", &Addon::ConvBackwardData),
                                InstanceMethod("convBackwardWeight", &Addon::ConvBackwardWeight),
                                InstanceMethod("convForward", &Addon::ConvForward),
                                InstanceMethod("copy", &Addon::Copy),
                                InstanceMethod("crossEntropyBackward", &Addon::CrossEntropyBackward),
                                InstanceMethod("crossEntropyForward", &Addon::CrossEntropyForward),
                                InstanceMethod("fill", &Addon::Fill),
                                InstanceMethod("gather", &Addon::Gather),
                                InstanceMethod("indexAdd", &Addon::IndexAdd),
                                InstanceMethod("indexSelect", &Addon::IndexSelect),
                                InstanceMethod("matmul", &Addon::Matmul),
                                InstanceMethod("nms", &Addon::Nms),
                                InstanceMethod("optimizerStep", &Addon::OptimizerStep),
                                InstanceMethod("poolBackward", &Addon::PoolBackward),
                                InstanceMethod("poolForward", &Addon::PoolForward),
                                InstanceMethod("random", &Addon::Random),
                                InstanceMethod("reduce", &Addon::Reduce),
                                InstanceMethod("roiAlignBackward", &Addon::RoiAlignBackward),
                                InstanceMethod("roiAlignForward", &Addon::RoiAlignForward),
                                InstanceMethod("scan", &Addon::Scan),
                                InstanceMethod("scatterAdd", &Addon::ScatterAdd),
                                InstanceMethod("transfer", &Addon::Transfer),
                                InstanceMethod("unary", &Addon::Unary),
                                InstanceMethod("unaryBackward", &Addon::UnaryBackward),
                                InstanceMethod("unscaleGradients", &Addon::UnscaleGradients),
                                InstanceMethod("where", &Addon::Where),
                            });
}

Napi::Value Addon::Arange(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    const TensorArg out = tensorArg(info[0], "arange", "out");
    const double start = numberArg(info, 1, "arange", "start"), step = numberArg(info, 2, "arange", "step");
    const TensorRef o = out.ref;
    return submit(info.Env(), *this, "arange", out, {}, [o, start, step](Backend& b) { b.arange(o, start, step); });
  });
}

namespace {

// Backstop: statistics and parameters are [C] float32 vectors; data tensors match input.
void checkBatchNorm(const char* op, const TensorRef& input, std::initializer_list<const TensorRef*> sameAsInput,
                    std::initializer_list<const TensorRef*> perChannel) {
  bool ok = input.layout.ndim >= 2 && input.dtype == DType::Float32;
  for (const TensorRef* t : sameAsInput) {
    ok = ok && t->dtype == DType::Float32 && t->layout.ndim == input.layout.ndim;
    for (int d = 0; ok && d < input.layout.ndim; ++d) {
      ok = t->layout.shape[d] == input.layout.shape[d] && t->layout.strides[d] == input.layout.strides[d];
    }
  }
  for (const TensorRef* t : perChannel) {
    if (t->data == nullptr) continue;
    ok = ok && t->dtype == DType::Float32 && t->layout.ndim == 1 && t->layout.shape[0] == input.layout.shape[1] &&
         t->layout.strides[0] == 1;
  }
  if (!ok) fail(ErrorKind::Internal, std::string(op) + ": native batch-norm operands do not fit together");
}

}  // namespace

Napi::Value Addon::Argsort(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    const TensorArg indices = tensorArg(info[0], "sort", "indices");
    const TensorArg input = tensorArg(info[1], "sort", "input");
    const bool descending = info[2].ToBoolean().Value();
    bool ok = indices.ref.dtype == DType::Int32 && input.ref.layout.isContiguous() && indices.ref.layout.isContiguous() &&
              indices.ref.numel() == input.ref.numel() &&
              (input.ref.dtype == DType::Float32 || input.ref.dtype == DType::Int32);
    if (!ok) fail(ErrorKind::Internal, "sort: native argsort needs contiguous float32/int32 input and int32 indices");
    const TensorRef idx = indices.ref, x = input.ref;
    return submit(info.Env(), *this, "sort", indices, {&input}, [idx, x, descending](Backend& b) { b.argsort(idx, x, descending); });
  });
}

Napi::Value Addon::BatchNormBackward(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    const char* op = "batchNorm backward";
    const TensorArg gradInput = tensorArg(info[0], op, "gradInput");
    const TensorArg gradWeight = optionalTensorArg(info[1], op, "gradWeight");
    const TensorArg gradBias = optionalTensorArg(info[2], op, "gradBias");
    const TensorArg gradOutput = tensorArg(info[3], op, "gradOutput");
    const TensorArg input = tensorArg(info[4], op, "input");
    const TensorArg weight = optionalTensorArg(info[5], op, "weight");
    const TensorArg mean = tensorArg(info[6], op, "mean");
    const TensorArg var = tensorArg(info[7], op, "var");
    const double eps = numberArg(info, 8, op, "eps");
    checkBatchNorm(op, input.ref, {&gradInput.ref, &gradOutput.ref}, {&gradWeight.ref, &gradBias.ref, &weight.ref, &mean.ref, &var.ref});
    if ((weight.storage != nullptr) != (gradWeight.storage != nullptr) || (gradWeight.storage != nullptr) != (gradBias.storage != nullptr)) {
      fail(ErrorKind::Internal, "batchNorm backward: weight, gradWeight and gradBias go together");
    }
    const TensorRef gi = gradInput.ref, gw = gradWeight.ref, gb = gradBias.ref, go = gradOutput.ref, x = input.ref,
                    w = weight.ref, m = mean.ref, v = var.ref;
    std::vector<const TensorArg*> inputs{&gradOutput, &input, &mean, &var};
    std::vector<const TensorArg*> outputs;
    if (weight.storage) {
      inputs.push_back(&weight);
      outputs = {&gradWeight, &gradBias};
    }
    return submit(
        info.Env(), *this, op, gradInput, inputs,
        [gi, gw, gb, go, x, w, m, v, eps](Backend& b) { b.batchNormBackward(gi, gw, gb, go, x, w, m, v, eps); }, outputs);
  });
}

Napi::Value Addon::BatchNormForward(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    const char* op = "batchNorm";
    const TensorArg out = tensorArg(info[0], op, "out");
    const TensorArg input = tensorArg(info[1], op, "input");
    const TensorArg weight = optionalTensorArg(info[2], op, "weight");
    const TensorArg bias = optionalTensorArg(info[3], op, "bias");
    const TensorArg mean = tensorArg(info[4], op, "mean");
    const TensorArg var = tensorArg(info[5], op, "var");
    const bool training = info[6].ToBoolean().Value();
    const double eps = numberArg(info, 7, op, "eps");
    checkBatchNorm(op, input.ref, {&out.ref}, {&weight.ref, &bias.ref, &mean.ref, &var.ref});
    if ((weight.storage != nullptr) != (bias.storage != nullptr)) fail(ErrorKind::Internal, "batchNorm: weight and bias go together");
    const TensorRef o = out.ref, x = input.ref, w = weight.ref, bi = bias.ref, m = mean.ref, v = var.ref;
    std::vector<const TensorArg*> inputs{&input};
    if (weight.storage) inputs.insert(inputs.end(), {&weight, &bias});
    std::vector<const TensorArg*> outputs;
    if (training) outputs = {&mean, &var};  // written with the batch statistics
    else inputs.insert(inputs.end(), {&mean, &var});
    return submit(
        info.Env(), *this, op, out, inputs,
        [o, x, w, bi, m, v, training, eps](Backend& b) { b.batchNormForward(o, x, w, bi, m, v, training, eps); }, outputs);
  });
}

namespace {

// Backstop: boxes reach the kernels as contiguous float32 [K, 4].
void checkBoxes(const char* op, const TensorArg& t) {
  const Layout& l = t.ref.layout;
  if (t.ref.dtype != DType::Float32 || l.ndim != 2 || l.shape[1] != 4 || !l.isContiguous()) {
    fail(ErrorKind::Internal, std::string(op) + ": native boxes must be contiguous float32 [K, 4]");
  }
}

}  // namespace

Napi::Value Addon::BoxIou(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    const TensorArg out = tensorArg(info[0], "boxIou", "out");
    const TensorArg a = tensorArg(info[1], "boxIou", "boxes1");
    const TensorArg b = tensorArg(info[2], "boxIou", "boxes2");
    checkBoxes("boxIou", a);
    checkBoxes("boxIou", b);
    const Layout& o = out.ref.layout;
    if (out.ref.dtype != DType::Float32 || o.ndim != 2 || !o.isContiguous() || o.shape[0] != a.ref.layout.shape[0] ||
        o.shape[1] != b.ref.layout.shape[0]) {
      fail(ErrorKind::Internal, "boxIou: native out must be contiguous float32 [N, M]");
    }
    const TensorRef ro = out.ref, ra = a.ref, rb = b.ref;
    return submit(info.Env(), *this, "boxIou", out, {&a, &b}, [ro, ra, rb](Backend& be) { be.boxIou(ro, ra, rb); });
  });
}

Napi::Value Addon::Nms(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    const TensorArg keep = tensorArg(info[0], "nms", "keep");
    const TensorArg boxes = tensorArg(info[1], "nms", "boxes");
    const double threshold = numberArg(info, 2, "nms", "iouThreshold");
    checkBoxes("nms", boxes);
    const Layout& k = keep.ref.layout;
    if (keep.ref.dtype != DType::UInt8 || k.ndim != 1 || !k.isContiguous() || k.shape[0] != boxes.ref.layout.shape[0]) {
      fail(ErrorKind::Internal, "nms: native keep must be a contiguous uint8 [N]");
    }
    const TensorRef rk = keep.ref, rb = boxes.ref;
    return submit(info.Env(), *this, "nms", keep, {&boxes}, [rk, rb, threshold](Backend& be) { be.nms(rk, rb, threshold); });
  });
}

Napi::Value Addon::Binary(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    const std::string name = stringArg(info, 0, "binary", "op");
    const auto op = static_cast<BinaryOp>(numberArg(info, 1, "binary", "code"));
    const TensorArg out = tensorArg(info[2], name.c_str(), "out");
    const TensorArg a = tensorArg(info[3], name.c_str(), "input");
    const TensorArg b = tensorArg(info[4], name.c_str(), "other");
    const TensorRef o = out.ref, x = a.ref, y = b.ref;
    return submit(info.Env(), *this, name.c_str(), out, {&a, &b},
                  [op, o, x, y](Backend& backend) { backend.binary(op, o, x, y); });
  });
}

Napi::Value Addon::Compare(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    const std::string name = stringArg(info, 0, "compare", "op");
    const auto op = static_cast<CompareOp>(numberArg(info, 1, "compare", "code"));
    const TensorArg out = tensorArg(info[2], name.c_str(), "out");
    const TensorArg a = tensorArg(info[3], name.c_str(), "input");
    const TensorArg b = tensorArg(info[4], name.c_str(), "other");
    if (out.ref.dtype != DType::Bool || a.ref.dtype != b.ref.dtype) {
      fail(ErrorKind::Internal, name + ": native compare needs a bool out and operands of one dtype");
    }
    const TensorRef o = out.ref, x = a.ref, y = b.ref;
    return submit(info.Env(), *this, name.c_str(), out, {&a, &b},
                  [op, o, x, y](Backend& backend) { backend.compare(op, o, x, y); });
  });
}

namespace {

// Backstop for the shapes lib/ops/conv.ts already checked: a mismatch here would make a
// library read outside a buffer.
void checkConvShapes(const char* op, const ConvParams& p, const TensorRef& output, const TensorRef& input,
                     const TensorRef& weight) {
  const Layout &o = output.layout, &i = input.layout, &w = weight.layout;
  bool ok = o.ndim == p.spatial + 2 && i.ndim == o.ndim && w.ndim == o.ndim && o.shape[0] == i.shape[0] &&
            o.shape[1] == w.shape[0] && i.shape[1] == w.shape[1] * p.groups && w.shape[0] % p.groups == 0;
  for (int d = 0; ok && d < p.spatial; ++d) {
    ok = o.shape[2 + d] == kernels::convOutputSize(i.shape[2 + d], w.shape[2 + d], p.stride[d], p.padBegin[d],
                                                   p.padEnd[d], p.dilation[d]);
  }
  ok = ok && isFloatingDType(output.dtype);  // float32, or float16/bfloat16 (mixed precision)
  for (const TensorRef* t : {&input, &weight}) ok = ok && t->dtype == output.dtype;
  if (!ok) fail(ErrorKind::Internal, std::string(op) + ": native convolution operands do not fit together");
}

}  // namespace

Napi::Value Addon::ConvBackwardData(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    const ConvParams p = convParamsArg(info[0], "conv backward");
    const TensorArg gradInput = tensorArg(info[1], "conv backward", "gradInput");
    const TensorArg gradOutput = tensorArg(info[2], "conv backward", "gradOutput");
    const TensorArg weight = tensorArg(info[3], "conv backward", "weight");
    checkConvShapes("conv backward", p, gradOutput.ref, gradInput.ref, weight.ref);
    const TensorRef gi = gradInput.ref, go = gradOutput.ref, w = weight.ref;
    return submit(info.Env(), *this, "conv backward", gradInput, {&gradOutput, &weight},
                  [p, gi, go, w](Backend& b) { b.convBackwardData(p, gi, go, w); });
  });
}

Napi::Value Addon::ConvBackwardWeight(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    const ConvParams p = convParamsArg(info[0], "conv backward");
    const TensorArg gradWeight = tensorArg(info[1], "conv backward", "gradWeight");
    const TensorArg gradBias = optionalTensorArg(info[2], "conv backward", "gradBias");
    const TensorArg gradOutput = tensorArg(info[3], "conv backward", "gradOutput");
    const TensorArg input = tensorArg(info[4], "conv backward", "input");
    checkConvShapes("conv backward", p, gradOutput.ref, input.ref, gradWeight.ref);
    if (gradBias.storage && (gradBias.ref.numel() != gradWeight.ref.layout.shape[0] || gradBias.ref.dtype != gradWeight.ref.dtype)) {
      fail(ErrorKind::Internal, "conv backward: native gradBias has the wrong size or dtype");
    }
    const TensorRef gw = gradWeight.ref, gb = gradBias.ref, go = gradOutput.ref, x = input.ref;
    std::vector<const TensorArg*> outputs;
    if (gradBias.storage) outputs.push_back(&gradBias);
    return submit(
        info.Env(), *this, "conv backward", gradWeight, {&gradOutput, &input},
        [p, gw, gb, go, x](Backend& b) { b.convBackwardWeight(p, gw, gb, go, x); }, outputs);
  });
}

Napi::Value Addon::ConvForward(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    const ConvParams p = convParamsArg(info[0], "conv");
    const TensorArg out = tensorArg(info[1], "conv", "out");
    const TensorArg input = tensorArg(info[2], "conv", "input");
    const TensorArg weight = tensorArg(info[3], "conv", "weight");
    const TensorArg bias = optionalTensorArg(info[4], "conv", "bias");
    checkConvShapes("conv", p, out.ref, input.ref, weight.ref);
    if (bias.storage && (bias.ref.numel() != out.ref.layout.shape[1] || bias.ref.dtype != out.ref.dtype)) {
      fail(ErrorKind::Internal, "conv: native bias has the wrong size or dtype");
    }
    const TensorRef o = out.ref, x = input.ref, w = weight.ref, b = bias.ref;
    std::vector<const TensorArg*> inputs{&input, &weight};
    if (bias.storage) inputs.push_back(&bias);
    return submit(info.Env(), *this, "conv", out, inputs, [p, o, x, w, b](Backend& backend) { backend.convForward(p, o, x, w, b); });
  });
}

Napi::Value Addon::Copy(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    const std::string name = stringArg(info, 0, "copy", "op");
    const TensorArg out = tensorArg(info[1], name.c_str(), "out");
    const TensorArg in = tensorArg(info[2], name.c_str(), "input");
    const TensorRef o = out.ref, i = in.ref;
    return submit(info.Env(), *this, name.c_str(), out, {&in}, [o, i](Backend& b) { b.copy(o, i); });
  });
}

namespace {

// Backstop: logits [N, C, *] float32, per-position tensors [N, *], weight [C].
void checkCrossEntropy(const TensorRef& logits, const TensorRef& target, std::initializer_list<const TensorRef*> perPosition,
                       const TensorRef& weight) {
  const Layout &z = logits.layout, &t = target.layout;
  bool ok = logits.dtype == DType::Float32 && target.dtype == DType::Int32 && z.ndim >= 2 && t.ndim == z.ndim - 1 &&
            z.shape[1] > 0 && t.shape[0] == z.shape[0];
  for (int d = 1; ok && d < t.ndim; ++d) ok = t.shape[d] == z.shape[d + 1];
  for (const TensorRef* p : perPosition) {
    ok = ok && p->dtype == DType::Float32 && p->layout.ndim == t.ndim;
    for (int d = 0; ok && d < t.ndim; ++d) ok = p->layout.shape[d] == t.shape[d];
  }
  if (weight.data) ok = ok && weight.dtype == DType::Float32 && weight.layout.ndim == 1 && weight.layout.shape[0] == z.shape[1];
  if (!ok) fail(ErrorKind::Internal, "crossEntropy: native operands do not fit together");
}

}  // namespace

Napi::Value Addon::CrossEntropyBackward(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    const char* op = "crossEntropy backward";
    const TensorArg gradLogits = tensorArg(info[0], op, "gradLogits");
    const TensorArg gradLosses = tensorArg(info[1], op, "gradLosses");
    const TensorArg logits = tensorArg(info[2], op, "logits");
    const TensorArg target = tensorArg(info[3], op, "target");
    const TensorArg weight = optionalTensorArg(info[4], op, "weight");
    const auto ignore = static_cast<int64_t>(numberArg(info, 5, op, "ignoreIndex"));
    const double smoothing = numberArg(info, 6, op, "labelSmoothing");
    checkCrossEntropy(logits.ref, target.ref, {&gradLosses.ref}, weight.ref);
    bool sameShape = gradLogits.ref.layout.ndim == logits.ref.layout.ndim;
    for (int d = 0; sameShape && d < logits.ref.layout.ndim; ++d) sameShape = gradLogits.ref.layout.shape[d] == logits.ref.layout.shape[d];
    if (!sameShape) fail(ErrorKind::Internal, "crossEntropy backward: gradLogits must have the logits' shape");
    const TensorRef gz = gradLogits.ref, gl = gradLosses.ref, z = logits.ref, t = target.ref, w = weight.ref;
    std::vector<const TensorArg*> inputs{&gradLosses, &logits, &target};
    if (weight.storage) inputs.push_back(&weight);
    return submit(info.Env(), *this, op, gradLogits, inputs,
                  [gz, gl, z, t, w, ignore, smoothing](Backend& b) { b.crossEntropyBackward(gz, gl, z, t, w, ignore, smoothing); });
  });
}

Napi::Value Addon::CrossEntropyForward(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    const char* op = "crossEntropy";
    const TensorArg losses = tensorArg(info[0], op, "losses");
    const TensorArg weights = tensorArg(info[1], op, "weights");
    const TensorArg logits = tensorArg(info[2], op, "logits");
    const TensorArg target = tensorArg(info[3], op, "target");
    const TensorArg weight = optionalTensorArg(info[4], op, "weight");
    const auto ignore = static_cast<int64_t>(numberArg(info, 5, op, "ignoreIndex"));
    const double smoothing = numberArg(info, 6, op, "labelSmoothing");
    checkCrossEntropy(logits.ref, target.ref, {&losses.ref, &weights.ref}, weight.ref);
    const TensorRef l = losses.ref, ws = weights.ref, z = logits.ref, t = target.ref, w = weight.ref;
    std::vector<const TensorArg*> inputs{&logits, &target};
    if (weight.storage) inputs.push_back(&weight);
    return submit(
        info.Env(), *this, op, losses, inputs,
        [l, ws, z, t, w, ignore, smoothing](Backend& b) { b.crossEntropyForward(l, ws, z, t, w, ignore, smoothing); },
        {&weights});
  });
}

Napi::Value Addon::Fill(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    const TensorArg out = tensorArg(info[0], "fill", "out");
    const double value = numberArg(info, 1, "fill", "value");
    const TensorRef o = out.ref;
    return submit(info.Env(), *this, "fill", out, {}, [o, value](Backend& b) { b.fill(o, value); });
  });
}

namespace {

// Backstop for gather/scatterAdd: one rank, index int32, index no larger than the data
// outside `dim` (PyTorch's rule), value operands of one dtype.
void checkGather(const char* op, const TensorRef& data, int dim, const TensorRef& index, const TensorRef& values) {
  bool ok = dim >= 0 && dim < data.layout.ndim && index.dtype == DType::Int32 && index.layout.ndim == data.layout.ndim &&
            values.layout.ndim == data.layout.ndim && values.dtype == data.dtype;
  for (int d = 0; ok && d < data.layout.ndim; ++d) {
    ok = values.layout.shape[d] == index.layout.shape[d] && (d == dim || index.layout.shape[d] <= data.layout.shape[d]);
  }
  if (!ok) fail(ErrorKind::Internal, std::string(op) + ": native operands do not fit together");
}

}  // namespace

Napi::Value Addon::Gather(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    const TensorArg out = tensorArg(info[0], "gather", "out");
    const TensorArg input = tensorArg(info[1], "gather", "input");
    const int dim = static_cast<int>(numberArg(info, 2, "gather", "dim"));
    const TensorArg index = tensorArg(info[3], "gather", "index");
    checkGather("gather", input.ref, dim, index.ref, out.ref);
    const TensorRef o = out.ref, x = input.ref, idx = index.ref;
    return submit(info.Env(), *this, "gather", out, {&input, &index}, [o, x, dim, idx](Backend& b) { b.gather(o, x, dim, idx); });
  });
}

namespace {

// {pooledH, pooledW, spatialScale, samplingRatio, aligned} (lib/native.ts: NativeRoiAlignParams).
RoiAlignParams roiAlignParamsArg(const Napi::Value& value) {
  if (!value.IsObject()) fail(ErrorKind::Internal, "roiAlign: native params must be an object");
  const Napi::Object o = value.As<Napi::Object>();
  RoiAlignParams p;
  p.pooledH = o.Get("pooledH").ToNumber().Int64Value();
  p.pooledW = o.Get("pooledW").ToNumber().Int64Value();
  p.spatialScale = o.Get("spatialScale").ToNumber().FloatValue();
  p.samplingRatio = o.Get("samplingRatio").ToNumber().Int64Value();
  p.aligned = o.Get("aligned").ToBoolean().Value();
  if (p.pooledH < 1 || p.pooledW < 1) fail(ErrorKind::Internal, "roiAlign: native output size must be >= 1");
  return p;
}

// Backstop: rois contiguous float32 [K, 5]; maps float32 rank 4; out/gradOutput [K, C, ph, pw].
void checkRoiAlign(const RoiAlignParams& p, const TensorArg& image, const TensorArg& pooled, const TensorArg& rois) {
  const Layout &x = image.ref.layout, &y = pooled.ref.layout, &r = rois.ref.layout;
  const bool ok = image.ref.dtype == DType::Float32 && pooled.ref.dtype == DType::Float32 && rois.ref.dtype == DType::Float32 &&
                  x.ndim == 4 && y.ndim == 4 && r.ndim == 2 && r.shape[1] == 5 && r.isContiguous() && y.shape[0] == r.shape[0] &&
                  y.shape[1] == x.shape[1] && y.shape[2] == p.pooledH && y.shape[3] == p.pooledW;
  if (!ok) fail(ErrorKind::Internal, "roiAlign: native operands have inconsistent shapes or dtypes");
}

}  // namespace

Napi::Value Addon::RoiAlignForward(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    const RoiAlignParams p = roiAlignParamsArg(info[0]);
    const TensorArg out = tensorArg(info[1], "roiAlign", "out");
    const TensorArg input = tensorArg(info[2], "roiAlign", "input");
    const TensorArg rois = tensorArg(info[3], "roiAlign", "boxes");
    checkRoiAlign(p, input, out, rois);
    if (!out.ref.layout.isContiguous()) fail(ErrorKind::Internal, "roiAlign: native out must be contiguous");
    const TensorRef o = out.ref, x = input.ref, r = rois.ref;
    return submit(info.Env(), *this, "roiAlign", out, {&input, &rois},
                  [p, o, x, r](Backend& b) { b.roiAlignForward(p, o, x, r); });
  });
}

Napi::Value Addon::RoiAlignBackward(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    const RoiAlignParams p = roiAlignParamsArg(info[0]);
    const TensorArg gradInput = tensorArg(info[1], "roiAlign backward", "gradInput");
    const TensorArg gradOutput = tensorArg(info[2], "roiAlign backward", "gradOutput");
    const TensorArg rois = tensorArg(info[3], "roiAlign backward", "boxes");
    checkRoiAlign(p, gradInput, gradOutput, rois);
    if (!gradInput.ref.layout.isContiguous()) fail(ErrorKind::Internal, "roiAlign backward: native gradInput must be contiguous");
    const TensorRef gi = gradInput.ref, go = gradOutput.ref, r = rois.ref;
    return submit(info.Env(), *this, "roiAlign backward", gradInput, {&gradOutput, &rois},
                  [p, gi, go, r](Backend& b) { b.roiAlignBackward(p, gi, go, r); });
  });
}

Napi::Value Addon::ScatterAdd(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    const TensorArg out = tensorArg(info[0], "scatterAdd", "out");
    const int dim = static_cast<int>(numberArg(info, 1, "scatterAdd", "dim"));
    const TensorArg index = tensorArg(info[2], "scatterAdd", "index");
    const TensorArg source = tensorArg(info[3], "scatterAdd", "source");
    checkGather("scatterAdd", out.ref, dim, index.ref, source.ref);
    const TensorRef o = out.ref, idx = index.ref, src = source.ref;
    return submit(info.Env(), *this, "scatterAdd", out, {&index, &source},
                  [o, dim, idx, src](Backend& b) { b.scatterAdd(o, dim, idx, src); });
  });
}

Napi::Value Addon::IndexAdd(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    const TensorArg out = tensorArg(info[0], "indexAdd", "out");
    const int dim = static_cast<int>(numberArg(info, 1, "indexAdd", "dim"));
    const TensorArg index = tensorArg(info[2], "indexAdd", "index");
    const TensorArg source = tensorArg(info[3], "indexAdd", "source");
    if (dim < 0 || dim >= out.ref.layout.ndim || index.ref.dtype != DType::Int32 || out.ref.dtype != source.ref.dtype ||
        source.ref.layout.ndim != out.ref.layout.ndim || source.ref.layout.shape[dim] != index.ref.numel()) {
      fail(ErrorKind::Internal, "indexAdd: native arguments dim/index/source are invalid");
    }
    const TensorRef o = out.ref, x = index.ref, src = source.ref;
    return submit(info.Env(), *this, "indexAdd", out, {&index, &source},
                  [o, dim, x, src](Backend& b) { b.indexAdd(o, dim, x, src); });
  });
}

Napi::Value Addon::IndexSelect(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    const TensorArg out = tensorArg(info[0], "indexSelect", "out");
    const TensorArg in = tensorArg(info[1], "indexSelect", "input");
    const int dim = static_cast<int>(numberArg(info, 2, "indexSelect", "dim"));
    const TensorArg index = tensorArg(info[3], "indexSelect", "index");
    if (dim < 0 || dim >= in.ref.layout.ndim || index.ref.dtype != DType::Int32) {
      fail(ErrorKind::Internal, "indexSelect: native arguments dim/index are invalid");
    }
    const TensorRef o = out.ref, i = in.ref, x = index.ref;
    return submit(info.Env(), *this, "indexSelect", out, {&in, &index},
                  [o, i, dim, x](Backend& b) { b.indexSelect(o, i, dim, x); });
  });
}

Napi::Value Addon::Matmul(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    const TensorArg out = tensorArg(info[0], "matmul", "out");
    const TensorArg a = tensorArg(info[1], "matmul", "input");
    const TensorArg b = tensorArg(info[2], "matmul", "other");
    for (const TensorArg* t : {&out, &a, &b}) {
      if (t->ref.layout.ndim != 3 || !isFloatingDType(t->ref.dtype) || t->ref.dtype != out.ref.dtype) {
        fail(ErrorKind::Internal, "matmul: native operands must share one float dtype, [B, M, K] x [B, K, N]");
      }
    }
    MathOptions math;
    math.allowTf32 = info[3].ToBoolean().Value();
    const TensorRef o = out.ref, x = a.ref, y = b.ref;
    return submit(info.Env(), *this, "matmul", out, {&a, &b},
                  [o, x, y, math](Backend& backend) { backend.matmul(o, x, y, math); });
  });
}

namespace {

// Backstop: operands of one pooling call must agree on N, C and rank.
void checkPoolShapes(const char* op, const PoolParams& p, const TensorRef& input, const TensorRef& output,
                     const TensorRef& indices) {
  const Layout &i = input.layout, &o = output.layout;
  bool ok = i.ndim == p.spatial + 2 && o.ndim == i.ndim && i.shape[0] == o.shape[0] && i.shape[1] == o.shape[1] &&
            input.dtype == DType::Float32 && output.dtype == DType::Float32;
  for (int d = 0; ok && d < p.spatial; ++d) ok = i.shape[2 + d] > 0 || o.shape[2 + d] == 0;
  if (indices.data) {
    ok = ok && indices.dtype == DType::Int32 && indices.layout.ndim == o.ndim;
    for (int d = 0; ok && d < o.ndim; ++d) ok = indices.layout.shape[d] == o.shape[d];
  }
  if (!ok) fail(ErrorKind::Internal, std::string(op) + ": native pooling operands do not fit together");
}

}  // namespace

namespace {

float floatProperty(const Napi::Object& object, const char* key) {
  const Napi::Value value = object.Get(key);
  if (!value.IsNumber()) fail(ErrorKind::Internal, std::string("optimizerStep: step.") + key + " must be a number");
  return value.As<Napi::Number>().FloatValue();
}

// {kind, lr, weightDecay, decoupledWeightDecay, momentum, dampening, nesterov, firstStep,
// beta1, beta2, biasCorrection1, biasCorrection2Sqrt, alpha, centered, eps}
// (lib/native.ts: NativeOptimizerStep).
OptimizerStep optimizerStepArg(const Napi::Value& value) {
  if (!value.IsObject()) fail(ErrorKind::Internal, "optimizerStep: expected a step object");
  const Napi::Object o = value.As<Napi::Object>();
  OptimizerStep s;
  const float kind = floatProperty(o, "kind");
  if (kind != 0.0f && kind != 1.0f && kind != 2.0f) fail(ErrorKind::Internal, "optimizerStep: step.kind must be 0, 1 or 2");
  s.kind = static_cast<OptimizerKind>(static_cast<int>(kind));
  s.lr = floatProperty(o, "lr");
  s.weightDecay = floatProperty(o, "weightDecay");
  s.decoupledWeightDecay = o.Get("decoupledWeightDecay").ToBoolean().Value();
  s.momentum = floatProperty(o, "momentum");
  s.dampening = floatProperty(o, "dampening");
  s.nesterov = o.Get("nesterov").ToBoolean().Value();
  s.firstStep = o.Get("firstStep").ToBoolean().Value();
  s.beta1 = floatProperty(o, "beta1");
  s.beta2 = floatProperty(o, "beta2");
  s.biasCorrection1 = floatProperty(o, "biasCorrection1");
  s.biasCorrection2Sqrt = floatProperty(o, "biasCorrection2Sqrt");
  s.alpha = floatProperty(o, "alpha");
  s.centered = o.Get("centered").ToBoolean().Value();
  s.eps = floatProperty(o, "eps");
  return s;
}

bool sameLayout(const Layout& a, const Layout& b) {
  if (a.ndim != b.ndim) return false;
  for (int d = 0; d < a.ndim; ++d) {
    if (a.shape[d] != b.shape[d] || (a.shape[d] != 1 && a.strides[d] != b.strides[d])) return false;
  }
  return true;
}

}  // namespace

// tensors: [[param, grad, state0 | null, state1 | null, state2 | null], ...]
Napi::Value Addon::OptimizerStep(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    const char* op = "optimizerStep";
    const neocog::OptimizerStep step = optimizerStepArg(info[0]);
    if (!info[1].IsArray()) fail(ErrorKind::Internal, "optimizerStep: expected an array of parameter entries");
    const Napi::Array entries = info[1].As<Napi::Array>();
    std::vector<TensorArg> args;  // param, grad, 3 states per entry
    std::vector<OptimizerTensors> tensors;
    for (uint32_t i = 0; i < entries.Length(); ++i) {
      const Napi::Value entry = entries.Get(i);
      if (!entry.IsArray() || entry.As<Napi::Array>().Length() != 5) {
        fail(ErrorKind::Internal, "optimizerStep: each entry is [param, grad, state0, state1, state2]");
      }
      const Napi::Array e = entry.As<Napi::Array>();
      OptimizerTensors t;
      args.push_back(tensorArg(e.Get(0u), op, "param"));
      t.param = args.back().ref;
      args.push_back(tensorArg(e.Get(1u), op, "grad"));
      t.grad = args.back().ref;
      for (uint32_t k = 0; k < 3; ++k) {
        args.push_back(optionalTensorArg(e.Get(k + 2), op, "state"));
        t.state[k] = args.back().ref;
      }
      // Backstop: the kernels walk all five as one flat float array.
      if (t.param.dtype != DType::Float32 || !t.param.layout.isDense()) {
        fail(ErrorKind::Internal, "optimizerStep: parameters must be dense float32 tensors");
      }
      for (const TensorRef* other : {&t.grad, &t.state[0], &t.state[1], &t.state[2]}) {
        if (other->data != nullptr && (other->dtype != DType::Float32 || !sameLayout(other->layout, t.param.layout))) {
          fail(ErrorKind::Internal, "optimizerStep: gradients and state need the parameter's dtype and layout");
        }
      }
      tensors.push_back(t);
    }
    if (tensors.empty()) return info.Env().Undefined();
    std::vector<const TensorArg*> grads, written;
    for (size_t i = 0; i < args.size(); ++i) {
      if (i % 5 == 1) grads.push_back(&args[i]);
      else if (i > 0 && args[i].storage) written.push_back(&args[i]);
    }
    return submit(info.Env(), *this, op, args[0], grads,
                  [step, tensors](Backend& b) { b.optimizerStep(step, tensors); }, written);
  });
}

// grads: every gradient to unscale in place; foundInf: one float32 the kernels set to 1.
Napi::Value Addon::UnscaleGradients(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    const char* op = "GradScaler.unscale_";
    if (!info[0].IsArray()) fail(ErrorKind::Internal, "unscaleGradients: expected an array of gradients");
    const Napi::Array list = info[0].As<Napi::Array>();
    const float inverseScale = static_cast<float>(numberArg(info, 1, op, "inverseScale"));
    const TensorArg foundInf = tensorArg(info[2], op, "foundInf");
    if (foundInf.ref.dtype != DType::Float32 || foundInf.ref.numel() != 1) {
      fail(ErrorKind::Internal, "unscaleGradients: foundInf must be one float32");
    }
    std::vector<TensorArg> args;
    std::vector<TensorRef> grads;
    for (uint32_t i = 0; i < list.Length(); ++i) {
      args.push_back(tensorArg(list.Get(i), op, "grad"));
      const TensorRef& g = args.back().ref;
      // Backstop: the kernels walk each gradient as one flat float array.
      if (g.dtype != DType::Float32 || !g.layout.isDense()) {
        fail(ErrorKind::Internal, "unscaleGradients: gradients must be dense float32 tensors");
      }
      grads.push_back(g);
    }
    std::vector<const TensorArg*> written;
    for (const TensorArg& a : args) written.push_back(&a);
    return submit(info.Env(), *this, op, foundInf, {},
                  [grads, inverseScale, f = foundInf.ref](Backend& b) { b.unscaleGradients(grads, inverseScale, f); },
                  written);
  });
}

Napi::Value Addon::PoolBackward(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    const PoolParams p = poolParamsArg(info[0], "pool backward");
    const TensorArg gradInput = tensorArg(info[1], "pool backward", "gradInput");
    const TensorArg gradOutput = tensorArg(info[2], "pool backward", "gradOutput");
    const TensorArg indices = optionalTensorArg(info[3], "pool backward", "indices");
    checkPoolShapes("pool backward", p, gradInput.ref, gradOutput.ref, indices.ref);
    if (p.mode == PoolMode::Max && !indices.storage) fail(ErrorKind::Internal, "pool backward: max pooling needs indices");
    const TensorRef gi = gradInput.ref, go = gradOutput.ref, idx = indices.ref;
    std::vector<const TensorArg*> inputs{&gradOutput};
    if (indices.storage) inputs.push_back(&indices);
    return submit(info.Env(), *this, "pool backward", gradInput, inputs,
                  [p, gi, go, idx](Backend& b) { b.poolBackward(p, gi, go, idx); });
  });
}

Napi::Value Addon::PoolForward(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    const PoolParams p = poolParamsArg(info[0], "pool");
    const TensorArg out = tensorArg(info[1], "pool", "out");
    const TensorArg indices = optionalTensorArg(info[2], "pool", "indices");
    const TensorArg input = tensorArg(info[3], "pool", "input");
    checkPoolShapes("pool", p, input.ref, out.ref, indices.ref);
    const TensorRef o = out.ref, idx = indices.ref, x = input.ref;
    std::vector<const TensorArg*> outputs;
    if (indices.storage) outputs.push_back(&indices);
    return submit(
        info.Env(), *this, "pool", out, {&input}, [p, o, idx, x](Backend& b) { b.poolForward(p, o, idx, x); }, outputs);
  });
}

Napi::Value Addon::Random(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    // "rand" (uniform in [a, b)) or "randn" (normal with mean a, std b).
    const std::string op = stringArg(info, 0, "random", "distribution");
    const bool uniform = op == "rand";
    const TensorArg out = tensorArg(info[1], op.c_str(), "out");
    const RandomState rng{static_cast<uint64_t>(numberArg(info, 2, op.c_str(), "seed")),
                          static_cast<uint64_t>(numberArg(info, 3, op.c_str(), "offset"))};
    const double a = numberArg(info, 4, op.c_str(), "a"), b = numberArg(info, 5, op.c_str(), "b");
    const TensorRef o = out.ref;
    return submit(info.Env(), *this, op.c_str(), out, {}, [o, rng, a, b, uniform](Backend& backend) {
      if (uniform) backend.uniform(o, rng, a, b);
      else backend.normal(o, rng, a, b);
    });
  });
}

Napi::Value Addon::Reduce(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    const std::string name = stringArg(info, 0, "reduce", "op");
    const auto op = static_cast<ReduceOp>(numberArg(info, 1, "reduce", "code"));
    const TensorArg out = tensorArg(info[2], name.c_str(), "out");
    const TensorArg in = tensorArg(info[3], name.c_str(), "input");
    if (out.ref.layout.ndim != in.ref.layout.ndim || out.ref.dtype != in.ref.dtype) {
      fail(ErrorKind::Internal, name + ": native reduce needs out of the input's rank and dtype");
    }
    for (int d = 0; d < in.ref.layout.ndim; ++d) {
      if (out.ref.layout.shape[d] != 1 && out.ref.layout.shape[d] != in.ref.layout.shape[d]) {
        fail(ErrorKind::Internal, name + ": native reduce output shape does not match the input");
      }
    }
    const TensorRef o = out.ref, i = in.ref;
    return submit(info.Env(), *this, name.c_str(), out, {&in}, [op, o, i](Backend& b) { b.reduce(op, o, i); });
  });
}

Napi::Value Addon::Scan(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    const std::string name = stringArg(info, 0, "scan", "op");
    const auto op = static_cast<ScanOp>(numberArg(info, 1, "scan", "code"));
    const TensorArg out = tensorArg(info[2], name.c_str(), "out");
    const TensorArg in = tensorArg(info[3], name.c_str(), "input");
    const int dim = static_cast<int>(numberArg(info, 4, name.c_str(), "dim"));
    const bool reverse = info[5].ToBoolean().Value();
    const Layout &o = out.ref.layout, &i = in.ref.layout;
    bool ok = (op == ScanOp::Sum || op == ScanOp::Prod) && o.ndim == i.ndim && out.ref.dtype == in.ref.dtype &&
              dim >= 0 && dim < i.ndim;
    for (int d = 0; ok && d < i.ndim; ++d) ok = o.shape[d] == i.shape[d];
    if (!ok) fail(ErrorKind::Internal, name + ": native scan needs out of the input's shape and dtype and a dim in range");
    const TensorRef ro = out.ref, ri = in.ref;
    return submit(info.Env(), *this, name.c_str(), out, {&in},
                  [op, ro, ri, dim, reverse](Backend& b) { b.scan(op, ro, ri, dim, reverse); });
  });
}

Napi::Value Addon::Transfer(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    const TensorArg out = tensorArg(info[0], "to", "out");
    const TensorArg in = tensorArg(info[1], "to", "input");
    if (out.ref.dtype != in.ref.dtype || !out.ref.layout.isContiguous() || !in.ref.layout.isContiguous() ||
        out.ref.numel() != in.ref.numel()) {
      fail(ErrorKind::Internal, "to: native transfer needs contiguous operands of one dtype and size");
    }
    const size_t elementSize = dtypeSize(out.ref.dtype);
    const auto offsetOf = [&](const TensorArg& t) {
      return static_cast<size_t>(static_cast<char*>(t.ref.data) - static_cast<char*>(t.storage->data()));
    };
    runtime().throwPendingError();
    runtime().transfer(out.storage, offsetOf(out), in.storage, offsetOf(in),
                       static_cast<size_t>(out.ref.numel()) * elementSize);
    return info.Env().Undefined();
  });
}

Napi::Value Addon::Unary(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    const std::string name = stringArg(info, 0, "unary", "op");
    const auto op = static_cast<UnaryOp>(numberArg(info, 1, "unary", "code"));
    const TensorArg out = tensorArg(info[2], name.c_str(), "out");
    const TensorArg in = tensorArg(info[3], name.c_str(), "input");
    const double alpha = numberArg(info, 4, name.c_str(), "alpha");
    const TensorRef o = out.ref, i = in.ref;
    return submit(info.Env(), *this, name.c_str(), out, {&in}, [op, o, i, alpha](Backend& b) { b.unary(op, o, i, alpha); });
  });
}

Napi::Value Addon::UnaryBackward(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    const std::string name = stringArg(info, 0, "unaryBackward", "op");
    const auto op = static_cast<UnaryOp>(numberArg(info, 1, "unaryBackward", "code"));
    const TensorArg gradIn = tensorArg(info[2], name.c_str(), "gradInput");
    const TensorArg gradOut = tensorArg(info[3], name.c_str(), "gradOutput");
    const TensorArg input = tensorArg(info[4], name.c_str(), "input");
    const double alpha = numberArg(info, 5, name.c_str(), "alpha");
    for (const TensorArg* t : {&gradIn, &gradOut, &input}) {
      if (t->ref.dtype != DType::Float32) fail(ErrorKind::Internal, name + ": native backward needs float32 operands");
    }
    const TensorRef gi = gradIn.ref, go = gradOut.ref, x = input.ref;
    return submit(info.Env(), *this, name.c_str(), gradIn, {&gradOut, &input},
                  [op, gi, go, x, alpha](Backend& b) { b.unaryBackward(op, gi, go, x, alpha); });
  });
}

Napi::Value Addon::Where(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    const TensorArg out = tensorArg(info[0], "where", "out");
    const TensorArg cond = tensorArg(info[1], "where", "condition");
    const TensorArg a = tensorArg(info[2], "where", "input");
    const TensorArg b = tensorArg(info[3], "where", "other");
    if (cond.ref.dtype != DType::Bool || a.ref.dtype != out.ref.dtype || b.ref.dtype != out.ref.dtype) {
      fail(ErrorKind::Internal, "where: native operands need a bool condition and one value dtype");
    }
    const TensorRef o = out.ref, c = cond.ref, x = a.ref, y = b.ref;
    return submit(info.Env(), *this, "where", out, {&cond, &a, &b},
                  [o, c, x, y](Backend& backend) { backend.where(o, c, x, y); });
  });
}

}  // namespace neocog::binding
