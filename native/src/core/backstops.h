// One backstop per primitive (neocog/primitives.def), run by the binding before it queues
// the primitive: TypeScript validated every argument with a user-facing message, so these
// only stop an internal mistake from letting a kernel read or write out of bounds. Each
// throws Error(Internal) naming `op`. Defined in backstops/<topic>.cc, next to the
// primitives they protect.
#pragma once

#include <vector>

#include "neocog/op_params.h"

namespace neocog::backstop {

#define NEOCOG_PRIMITIVE(name, ...) void name(const char* op, __VA_ARGS__);
#include "neocog/primitives.def"
#undef NEOCOG_PRIMITIVE

// Throws Error(Internal): "<op>: native <what>".
[[noreturn]] void reject(const char* op, const char* what);
// Same rank and sizes.
bool sameShape(const TensorRef& a, const TensorRef& b);

}  // namespace neocog::backstop
