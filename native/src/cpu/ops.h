// The CPU implementations behind CpuBackend, one file per topic.
#pragma once

#include "cpu/dnnl_context.h"
#include "neocog/backend.h"

namespace neocog::cpu {

void fill(const TensorRef& out, double value);
void arange(const TensorRef& out, double start, double step);
void uniform(const TensorRef& out, RandomState rng, double low, double high);
void normal(const TensorRef& out, RandomState rng, double mean, double stddev);
void copy(const TensorRef& out, const TensorRef& in);
void binary(BinaryOp op, const TensorRef& out, const TensorRef& a, const TensorRef& b);
void compare(CompareOp op, const TensorRef& out, const TensorRef& a, const TensorRef& b);
void where(const TensorRef& out, const TensorRef& cond, const TensorRef& a, const TensorRef& b);
void unary(DnnlContext& dnnl, UnaryOp op, const TensorRef& out, const TensorRef& in, double alpha);
void unaryBackward(DnnlContext& dnnl, UnaryOp op, const TensorRef& gradIn, const TensorRef& gradOut, const TensorRef& input, double alpha);
void reduce(ReduceOp op, const TensorRef& out, const TensorRef& in);
void scan(ScanOp op, const TensorRef& out, const TensorRef& in, int dim, bool reverse);
void convForward(DnnlContext& dnnl, const ConvParams& p, const TensorRef& out, const TensorRef& input,
                 const TensorRef& weight, const TensorRef& bias);
void convBackwardData(DnnlContext& dnnl, const ConvParams& p, const TensorRef& gradInput, const TensorRef& gradOutput,
                      const TensorRef& weight);
void convBackwardWeight(DnnlContext& dnnl, const ConvParams& p, const TensorRef& gradWeight, const TensorRef& gradBias,
                        const TensorRef& gradOutput, const TensorRef& input);
void poolForward(const PoolParams& p, const TensorRef& out, const TensorRef& indices, const TensorRef& input);
void poolBackward(const PoolParams& p, const TensorRef& gradInput, const TensorRef& gradOutput, const TensorRef& indices);
void batchNormForward(DnnlContext& dnnl, const TensorRef& out, const TensorRef& input, const TensorRef& weight,
                      const TensorRef& bias, const TensorRef& mean, const TensorRef& var, bool training, double eps);
void batchNormBackward(DnnlContext& dnnl, const TensorRef& gradInput, const TensorRef& gradWeight,
                       const TensorRef& gradBias, const TensorRef& gradOutput, const TensorRef& input,
                       const TensorRef& weight, const TensorRef& mean, const TensorRef& var, double eps);
void crossEntropyForward(const TensorRef& losses, const TensorRef& weights, const TensorRef& logits,
                         const TensorRef& target, const TensorRef& weight, int64_t ignoreIndex, double smoothing);
void crossEntropyBackward(const TensorRef& gradLogits, const TensorRef& gradLosses, const TensorRef& logits,
                          const TensorRef& target, const TensorRef& weight, int64_t ignoreIndex, double smoothing);
void matmul(DnnlContext& dnnl, const TensorRef& out, const TensorRef& a, const TensorRef& b);
void indexSelect(const TensorRef& out, const TensorRef& in, int dim, const TensorRef& index);
void indexAdd(const TensorRef& out, int dim, const TensorRef& index, const TensorRef& source);
void gather(const TensorRef& out, const TensorRef& input, int dim, const TensorRef& index);
void argsort(const TensorRef& indices, const TensorRef& input, bool descending);
void scatterAdd(const TensorRef& out, int dim, const TensorRef& index, const TensorRef& source);
void optimizerStep(const OptimizerStep& step, const std::vector<OptimizerTensors>& tensors);
void unscaleGradients(const std::vector<TensorRef>& grads, float inverseScale, const TensorRef& foundInf);
void boxIou(const TensorRef& out, const TensorRef& a, const TensorRef& b);
void nms(const TensorRef& keep, const TensorRef& boxes, double iouThreshold);
void roiAlignForward(const RoiAlignParams& p, const TensorRef& out, const TensorRef& input, const TensorRef& rois);
void roiAlignBackward(const RoiAlignParams& p, const TensorRef& gradInput, const TensorRef& gradOutput,
                      const TensorRef& rois);

}  // namespace neocog::cpu
