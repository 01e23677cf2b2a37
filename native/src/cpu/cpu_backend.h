#pragma once

#include <memory>

#include "neocog/backend.h"

namespace neocog {

std::unique_ptr<Backend> makeCpuBackend();

}  // namespace neocog
