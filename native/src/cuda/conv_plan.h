// Per-geometry cuDNN state: descriptors and the algorithms cudnnFind chose.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "cuda/cudnn_desc.h"

namespace neocog::cuda {

struct ConvPlan {
  TensorDescriptor x, y;
  FilterDescriptor w;
  ConvolutionDescriptor conv;
  cudnnConvolutionFwdAlgo_t forwardAlgo{};
  cudnnConvolutionBwdDataAlgo_t backwardDataAlgo{};
  cudnnConvolutionBwdFilterAlgo_t backwardFilterAlgo{};
  size_t workspaceBytes = 0;
};

// Owned by one device's backend and used only from its stream thread.
class ConvPlanCache {
 public:
  ConvPlan& get(const std::string& key, const std::function<std::unique_ptr<ConvPlan>()>& make);

 private:
  static constexpr size_t kCapacity = 1024;
  std::map<std::string, std::unique_ptr<ConvPlan>> plans_;
};

}  // namespace neocog::cuda
