/* Maps a metric file into memory and hands JS an ArrayBuffer over the mapping: the one thing
 * Node's fs cannot do. Opening, sizing and growing the file stay in JS (src/store/backends).
 * Plain C against node_api.h, with no C++ wrapper: any C compiler builds it (musl-gcc for
 * Alpine, Debian's cross gcc for arm64), and the binary depends on nothing but libc. */
#define _POSIX_C_SOURCE 200809L
#define NAPI_VERSION 8
#include <node_api.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

/* Longer paths are cut in error messages only; the file itself is already open. */
#define PATH_TEXT_MAX 4096

/* Unmapping happens only here, when V8 collects the ArrayBuffer: no JS view can outlive the
 * mapping it points into. A grown file is mapped again, and the old mapping stays until then.
 * The hint carries the mapping's length. */
static void unmap(napi_env env, void *data, void *hint) {
  (void)env;
  munmap(data, (size_t)(uintptr_t)hint);
}

/* Throws Error("OPERATION \"PATH\" (LENGTH bytes): <strerror>") with an `errno` property. */
static void throw_system_error(napi_env env, const char *operation, int error, const char *path, size_t length) {
  char message[PATH_TEXT_MAX + 256];
  snprintf(message, sizeof message, "%s \"%s\" (%zu bytes): %s", operation, path, length, strerror(error));
  napi_value text, exception, code;
  if (napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &text) != napi_ok ||
      napi_create_error(env, NULL, text, &exception) != napi_ok ||
      napi_create_int32(env, error, &code) != napi_ok ||
      napi_set_named_property(env, exception, "errno", code) != napi_ok) {
    napi_throw_error(env, NULL, message);
    return;
  }
  napi_throw(env, exception);
}

static bool is_type(napi_env env, napi_value value, napi_valuetype expected) {
  napi_valuetype type;
  return napi_typeof(env, value, &type) == napi_ok && type == expected;
}

/* map(fd, length, path): bytes [0, length) of `fd`, read-write, MAP_SHARED. `path` names the
 * file in errors. The caller has already sized the file to at least `length` bytes. */
static napi_value map(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t fd;
  double requested;
  char path[PATH_TEXT_MAX];
  size_t path_length;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc != 3 || !is_type(env, argv[0], napi_number) || !is_type(env, argv[1], napi_number) ||
      !is_type(env, argv[2], napi_string)) {
    napi_throw_type_error(env, NULL, "map(fd: number, length: number, path: string)");
    return NULL;
  }
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_get_value_double(env, argv[1], &requested) != napi_ok ||
      napi_get_value_string_utf8(env, argv[2], path, sizeof path, &path_length) != napi_ok) {
    return NULL;
  }
  /* Whole and in 1 .. 2^53 - 1 (NaN fails the first comparison); the cast back tests wholeness
   * without libm. */
  if (!(requested >= 1 && requested <= 9007199254740991.0) || (double)(uint64_t)requested != requested) {
    char message[PATH_TEXT_MAX + 64];
    snprintf(message, sizeof message, "map \"%s\": length must be a positive integer", path);
    napi_throw_range_error(env, NULL, message);
    return NULL;
  }
  const size_t length = (size_t)requested;
  void *data = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (data == MAP_FAILED) {
    throw_system_error(env, "mmap", errno, path, length);
    return NULL;
  }
  napi_value buffer;
  if (napi_create_external_arraybuffer(env, data, length, unmap, (void *)(uintptr_t)length, &buffer) != napi_ok) {
    /* Runtimes that forbid external buffers (Electron's sandbox) fail here, without an
     * exception: the JS side then falls back to pwrite. */
    munmap(data, length);
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (!pending) napi_throw_error(env, NULL, "map: this runtime refuses external ArrayBuffers");
    return NULL;
  }
  return buffer;
}

NAPI_MODULE_INIT() {
  napi_value function;
  if (napi_create_function(env, "map", NAPI_AUTO_LENGTH, map, NULL, &function) != napi_ok ||
      napi_set_named_property(env, exports, "map", function) != napi_ok) {
    return NULL;
  }
  return exports;
}
