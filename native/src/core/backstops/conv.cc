// Convolution operands must fit the geometry: a mismatch would make oneDNN or cuDNN read
// outside a buffer.
#include "core/backstops.h"
#include "kernels/conv.h"

namespace neocog::backstop {

namespace {

void checkConvShapes(const char* op, const ConvParams& p, const TensorRef& output, const TensorRef& input,
                     const TensorRef& weight) {
  bool valid = p.spatial >= 1 && p.spatial <= 3 && p.groups >= 1;
  for (int d = 0; valid && d < p.spatial; ++d) {
    valid = p.stride[d] >= 1 && p.dilation[d] >= 1 && p.padBegin[d] >= 0 && p.padEnd[d] >= 0;
  }
  if (!valid) reject(op, "convolution geometry needs 1 to 3 spatial dims, groups, strides and dilations >= 1");
  if (p.activation != ConvActivation::None && p.activation != ConvActivation::Relu && p.activation != ConvActivation::Relu6 &&
      p.activation != ConvActivation::Silu) {
    reject(op, "unknown convolution activation");
  }
  const Layout &o = output.layout, &i = input.layout, &w = weight.layout;
  bool ok = o.ndim == p.spatial + 2 && i.ndim == o.ndim && w.ndim == o.ndim && o.shape[0] == i.shape[0] &&
            o.shape[1] == w.shape[0] && i.shape[1] == w.shape[1] * p.groups && w.shape[0] % p.groups == 0;
  for (int d = 0; ok && d < p.spatial; ++d) {
    ok = o.shape[2 + d] == kernels::convOutputSize(i.shape[2 + d], w.shape[2 + d], p.stride[d], p.padBegin[d],
                                                   p.padEnd[d], p.dilation[d]);
  }
  ok = ok && isFloatingDType(output.dtype);  // float32, or float16/bfloat16 (mixed precision)
  for (const TensorRef* t : {&input, &weight}) ok = ok && t->dtype == output.dtype;
  if (!ok) reject(op, "convolution operands do not fit together");
}

void checkBias(const char* op, const TensorRef& bias, const TensorRef& weight) {
  if (bias.data && (bias.numel() != weight.layout.shape[0] || bias.dtype != weight.dtype)) {
    reject(op, "convolution bias has the wrong size or dtype");
  }
}

}  // namespace

void convForward(const char* op, const ConvParams& params, Out out, In input, In weight, OptIn bias, const MathOptions&) {
  checkConvShapes(op, params, out, input, weight);
  checkBias(op, bias, weight);
}

void convBackwardInput(const char* op, const ConvParams& params, Out gradInput, In gradOutput, In weight,
                       const MathOptions&) {
  checkConvShapes(op, params, gradOutput, gradInput, weight);
  if (params.activation != ConvActivation::None) reject(op, "a convolution's backward takes no activation");
}

void convBackwardWeight(const char* op, const ConvParams& params, Out gradWeight, OptOut gradBias, In gradOutput,
                        In input, const MathOptions&) {
  checkConvShapes(op, params, gradOutput, input, gradWeight);
  checkBias(op, gradBias, gradWeight);
  if (params.activation != ConvActivation::None) reject(op, "a convolution's backward takes no activation");
}

void convDepthwiseBlock(const char* op, const ConvParams& first, const ConvParams& depthwise, const ConvParams& project,
                        Out out, In input, In weight, OptIn bias, In depthwiseWeight, OptIn depthwiseBias,
                        OptIn projectWeight, OptIn projectBias, OptIn residual, const MathOptions&) {
  if (first.spatial != 2 || first.groups != 1 || weight.layout.ndim != 4 || input.layout.ndim != 4) {
    reject(op, "the first convolution must be 2-d without groups");
  }
  // The first convolution's output, [N, C, H', W']: the depthwise input.
  TensorRef middle{nullptr, out.dtype,
                   kernels::convOutputLayout(input.layout, weight.layout.shape[0], first, weight.layout.shape[2],
                                             weight.layout.shape[3])};
  checkConvShapes(op, first, middle, input, weight);
  if (depthwise.groups != middle.layout.shape[1] || depthwiseWeight.layout.ndim != 4 ||
      depthwiseWeight.layout.shape[0] != depthwise.groups) {
    reject(op, "the second convolution must be depthwise: one filter per channel");
  }
  checkBias(op, bias, weight);
  checkBias(op, depthwiseBias, depthwiseWeight);
  bool silu = first.activation == ConvActivation::Silu || depthwise.activation == ConvActivation::Silu;
  if (!projectWeight.data) {
    if (projectBias.data || residual.data) reject(op, "a projection bias or residual needs a projection weight");
    checkConvShapes(op, depthwise, out, middle, depthwiseWeight);
  } else {
    const int64_t* d = depthwiseWeight.layout.shape;
    TensorRef dw{nullptr, out.dtype, kernels::convOutputLayout(middle.layout, middle.layout.shape[1], depthwise, d[2], d[3])};
    checkConvShapes(op, depthwise, dw, middle, depthwiseWeight);
    bool pointwise = project.spatial == 2 && project.groups == 1 && projectWeight.layout.ndim == 4 &&
                     projectWeight.layout.shape[2] == 1 && projectWeight.layout.shape[3] == 1;
    for (int d = 0; pointwise && d < 2; ++d) {
      pointwise = project.stride[d] == 1 && project.dilation[d] == 1 && project.padBegin[d] == 0 && project.padEnd[d] == 0;
    }
    if (!pointwise) reject(op, "the projection must be 2-d, 1x1, of stride 1, without padding or groups");
    checkConvShapes(op, project, out, dw, projectWeight);
    checkBias(op, projectBias, projectWeight);
    if (residual.data && (residual.dtype != out.dtype || !sameShape(residual, out))) {
      reject(op, "the residual must have the output's shape and dtype");
    }
    silu = silu || project.activation == ConvActivation::Silu;
  }
  if (silu) reject(op, "the fused convolutions take ReLU, ReLU6 or no activation");
}

}  // namespace neocog::backstop
