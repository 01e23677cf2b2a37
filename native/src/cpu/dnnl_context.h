// oneDNN's engine and stream for one CPU backend (one per runtime, used by its stream thread).
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

namespace neocog::cpu {

struct DnnlContext {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
};

}  // namespace neocog::cpu
