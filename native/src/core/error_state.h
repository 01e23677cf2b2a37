// A failed kernel's error, shared by the tensors it poisoned and the runtime's pending slot.
#pragma once

#include <memory>

#include "neocog/error.h"

namespace neocog {

using ErrorPtr = std::shared_ptr<const Error>;

}  // namespace neocog
