#include "binding/errors.h"

namespace neocog::binding {

Napi::Error toJsError(Napi::Env env, ErrorKind kind, const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("kind", Napi::String::New(env, errorKindName(kind)));
  return error;
}

}  // namespace neocog::binding
