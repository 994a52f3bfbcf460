// Maps a metric file into memory and hands JS an ArrayBuffer over the mapping: the one thing
// Node's fs cannot do. Opening, sizing and growing the file stay in JS (src/store/backends).

#include <napi.h>

#include <sys/mman.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <string>

namespace {

// Unmapping happens only here, when V8 collects the ArrayBuffer: no JS view can outlive the
// mapping it points into. A grown file is mapped again, and the old mapping stays until then.
void Unmap(Napi::Env /*env*/, void* data, size_t* length) {
  munmap(data, *length);
  delete length;
}

Napi::Error SystemError(Napi::Env env, int error, const std::string& what) {
  Napi::Error result = Napi::Error::New(env, what + ": " + std::strerror(error));
  result.Set("errno", Napi::Number::New(env, error));
  return result;
}

// map(fd, length, path): bytes [0, length) of `fd`, read-write, MAP_SHARED. `path` names the
// file in errors. The caller has already sized the file to at least `length` bytes.
Napi::Value Map(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 3 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsString()) {
    Napi::TypeError::New(env, "map(fd: number, length: number, path: string)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const int fd = info[0].As<Napi::Number>().Int32Value();
  const double requested = info[1].As<Napi::Number>().DoubleValue();
  const std::string path = info[2].As<Napi::String>().Utf8Value();
  if (!(requested >= 1 && requested <= 9007199254740991.0) || std::floor(requested) != requested) {
    Napi::RangeError::New(env, "map \"" + path + "\": length must be a positive integer")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const size_t length = static_cast<size_t>(requested);
  void* data = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (data == MAP_FAILED) {
    const int error = errno;
    SystemError(env, error, "mmap \"" + path + "\" (" + std::to_string(length) + " bytes)")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  size_t* hint = new size_t(length);
  Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, data, length, Unmap, hint);
  if (env.IsExceptionPending()) {
    // Runtimes that forbid external buffers (Electron's sandbox) fail here: JS falls back to pwrite.
    munmap(data, length);
    delete hint;
    return env.Undefined();
  }
  return buffer;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("map", Napi::Function::New(env, Map, "map"));
  return exports;
}

}  // namespace

NODE_API_MODULE(pm2_prom_multiproc, Init)
