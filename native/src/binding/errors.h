// Native errors become JavaScript Errors carrying `kind` (lib/native.ts maps it to the
// typed class); no C++ exception crosses into Node-API.
#pragma once

#include <napi.h>

#include <exception>
#include <new>

#include "neocog/error.h"

namespace neocog::binding {

Napi::Error toJsError(Napi::Env env, ErrorKind kind, const std::string& message);

template <typename Fn>
Napi::Value guarded(Napi::Env env, Fn&& fn) {
  try {
    return fn();
  } catch (const Napi::Error&) {
    throw;
  } catch (const Error& e) {
    throw toJsError(env, e.kind(), e.what());
  } catch (const std::bad_alloc&) {
    throw toJsError(env, ErrorKind::OutOfMemory, "out of host memory");
  } catch (const std::exception& e) {
    throw toJsError(env, ErrorKind::Internal, e.what());
  } catch (...) {
    throw toJsError(env, ErrorKind::Internal, "unknown native exception");
  }
}

}  // namespace neocog::binding
