// The one exception type native code throws. `kind` selects the JavaScript error class
// (lib/errors.ts); the binding layer converts it, so no C++ exception crosses Node-API.
#pragma once

#include <stdexcept>
#include <string>

namespace neocog {

enum class ErrorKind : int {
  Internal = 0,
  Shape = 1,
  DType = 2,
  Device = 3,
  Format = 4,
  OutOfMemory = 5,
  Index = 6,
  Disposed = 7,
  Distributed = 8,  // a collective or the process group failed (a peer died, MPI/NCCL refused)
};

inline const char* errorKindName(ErrorKind k) {
  switch (k) {
    case ErrorKind::Shape: return "ShapeError";
    case ErrorKind::DType: return "DTypeError";
    case ErrorKind::Device: return "DeviceError";
    case ErrorKind::Format: return "FormatError";
    case ErrorKind::OutOfMemory: return "OutOfMemoryError";
    case ErrorKind::Index: return "IndexError";
    case ErrorKind::Disposed: return "DisposedError";
    case ErrorKind::Distributed: return "DistributedError";
    case ErrorKind::Internal: break;
  }
  return "NeocogError";
}

// Default visibility: the CUDA plugin throws these and the main addon catches them, so
// both shared objects must agree on the type.
class __attribute__((visibility("default"))) Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

[[noreturn]] inline void fail(ErrorKind kind, const std::string& message) { throw Error(kind, message); }

}  // namespace neocog
