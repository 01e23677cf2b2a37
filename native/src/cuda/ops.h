// The CUDA implementations behind CudaBackend, one file per topic (same names as cpu/ops.h).
#pragma once

#include "cuda/conv_plan.h"
#include "cuda/handles.h"
#include "neocog/backend.h"

namespace neocog::cuda {

void fill(DeviceHandles& h, const TensorRef& out, double value);
void arange(DeviceHandles& h, const TensorRef& out, double start, double step);
void uniform(DeviceHandles& h, const TensorRef& out, RandomState rng, double low, double high);
void normal(DeviceHandles& h, const TensorRef& out, RandomState rng, double mean, double stddev);
void copy(DeviceHandles& h, const TensorRef& out, const TensorRef& in);
void binary(DeviceHandles& h, BinaryOp op, const TensorRef& out, const TensorRef& a, const TensorRef& b);
void compare(DeviceHandles& h, CompareOp op, const TensorRef& out, const TensorRef& a, const TensorRef& b);
void where(DeviceHandles& h, const TensorRef& out, const TensorRef& cond, const TensorRef& a, const TensorRef& b);
void unary(DeviceHandles& h, UnaryOp op, const TensorRef& out, const TensorRef& in, double alpha);
void unaryBackward(DeviceHandles& h, UnaryOp op, const TensorRef& gradIn, const TensorRef& gradOut,
                   const TensorRef& input, double alpha);
void reduce(DeviceHandles& h, ReduceOp op, const TensorRef& out, const TensorRef& in);
void scan(DeviceHandles& h, ScanOp op, const TensorRef& out, const TensorRef& in, int dim, bool reverse);
void convForward(DeviceHandles& h, ConvPlanCache& cache, const ConvParams& p, const TensorRef& out,
                 const TensorRef& input, const TensorRef& weight, const TensorRef& bias);
void convBackwardData(DeviceHandles& h, ConvPlanCache& cache, const ConvParams& p, const TensorRef& gradInput,
                      const TensorRef& gradOutput, const TensorRef& weight);
void convBackwardWeight(DeviceHandles& h, ConvPlanCache& cache, const ConvParams& p, const TensorRef& gradWeight,
                        const TensorRef& gradBias, const TensorRef& gradOutput, const TensorRef& input);
void poolForward(DeviceHandles& h, const PoolParams& p, const TensorRef& out, const TensorRef& indices,
                 const TensorRef& input);
void poolBackward(DeviceHandles& h, const PoolParams& p, const TensorRef& gradInput, const TensorRef& gradOutput,
                  const TensorRef& indices);
void batchNormForward(DeviceHandles& h, const TensorRef& out, const TensorRef& input, const TensorRef& weight,
                      const TensorRef& bias, const TensorRef& mean, const TensorRef& var, bool training, double eps);
void batchNormBackward(DeviceHandles& h, const TensorRef& gradInput, const TensorRef& gradWeight,
                       const TensorRef& gradBias, const TensorRef& gradOutput, const TensorRef& input,
                       const TensorRef& weight, const TensorRef& mean, const TensorRef& var, double eps);
void crossEntropyForward(DeviceHandles& h, const TensorRef& losses, const TensorRef& weights, const TensorRef& logits,
                         const TensorRef& target, const TensorRef& weight, int64_t ignoreIndex, double smoothing);
void crossEntropyBackward(DeviceHandles& h, const TensorRef& gradLogits, const TensorRef& gradLosses,
                          const TensorRef& logits, const TensorRef& target, const TensorRef& weight, int64_t ignoreIndex,
                          double smoothing);
void matmul(DeviceHandles& h, const TensorRef& out, const TensorRef& a, const TensorRef& b, const MathOptions& math);
void indexSelect(DeviceHandles& h, const TensorRef& out, const TensorRef& in, int dim, const TensorRef& index);
void indexAdd(DeviceHandles& h, const TensorRef& out, int dim, const TensorRef& index, const TensorRef& source);
void gather(DeviceHandles& h, const TensorRef& out, const TensorRef& input, int dim, const TensorRef& index);
void argsort(DeviceHandles& h, const TensorRef& indices, const TensorRef& input, bool descending);
void scatterAdd(DeviceHandles& h, const TensorRef& out, int dim, const TensorRef& index, const TensorRef& source);

void optimizerStep(DeviceHandles& h, const OptimizerStep& step, const std::vector<OptimizerTensors>& tensors);
void unscaleGradients(DeviceHandles& h, const std::vector<TensorRef>& grads, float inverseScale, const TensorRef& foundInf);

void boxIou(DeviceHandles& h, const TensorRef& out, const TensorRef& a, const TensorRef& b);
void nms(DeviceHandles& h, const TensorRef& keep, const TensorRef& boxes, double iouThreshold);

void roiAlignForward(DeviceHandles& h, const RoiAlignParams& p, const TensorRef& out, const TensorRef& input,
                     const TensorRef& rois);
void roiAlignBackward(DeviceHandles& h, const RoiAlignParams& p, const TensorRef& gradInput,
                      const TensorRef& gradOutput, const TensorRef& rois);

}  // namespace neocog::cuda
