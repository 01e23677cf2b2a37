#pragma once

#include <memory>

#include "neocog/backend.h"

namespace neocog::cuda {

std::unique_ptr<Backend> makeCudaBackend(int device);

}  // namespace neocog::cuda
