#include <string>

#include "core/backstops.h"
#include "neocog/error.h"

namespace neocog::backstop {

void reject(const char* op, const char* what) { fail(ErrorKind::Internal, std::string(op) + ": native " + what); }

bool sameShape(const TensorRef& a, const TensorRef& b) {
  if (a.layout.ndim != b.layout.ndim) return false;
  for (int d = 0; d < a.layout.ndim; ++d) {
    if (a.layout.shape[d] != b.layout.shape[d]) return false;
  }
  return true;
}

}  // namespace neocog::backstop
