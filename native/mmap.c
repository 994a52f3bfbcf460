/* The two things Node's fs cannot do for a metric file: map it into memory as an ArrayBuffer,
 * and reserve its disk space. Opening, sizing, growing and retrying stay in JS
 * (src/store/backends). Plain C against node_api.h, with no C++ wrapper: any C compiler builds it
 * (musl-gcc for Alpine, Debian's cross gcc for arm64), and the binary depends on nothing but libc. */
#define _POSIX_C_SOURCE 200809L
/* MAP_ANONYMOUS is not POSIX (before 2024): glibc and musl show it with _DEFAULT_SOURCE. */
#define _DEFAULT_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

/* Longer paths are cut in error messages only; the file itself is already open. */
#define PATH_TEXT_MAX 4096

/* Unmapping happens only here, when V8 collects the ArrayBuffer: no JS view can outlive the
 * mapping it points into. A grown file is mapped again, and the old mapping stays until then.
 * The hint carries the mapping's length. */
static void unmap(napi_env env, void *data, void *hint) {
  (void)env;
  munmap(data, (size_t)(uintptr_t)hint);
}

/* Throws Error("OPERATION \"PATH\" (DETAIL): <strerror>") with an `errno` property. */
static void throw_system_error(napi_env env, const char *operation, int error, const char *path, const char *detail) {
  char message[PATH_TEXT_MAX + 256];
  snprintf(message, sizeof message, "%s \"%s\" (%s): %s", operation, path, detail, strerror(error));
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

/* Reads the arguments (number, number, number, string) of map() and reserve(), or throws a
 * TypeError naming the signature. */
static bool get_arguments(napi_env env, napi_callback_info info, const char *signature, int32_t *fd, double numbers[2],
                          char path[PATH_TEXT_MAX]) {
  size_t argc = 4;
  napi_value argv[4];
  size_t path_length;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return false;
  if (argc != 4 || !is_type(env, argv[0], napi_number) || !is_type(env, argv[1], napi_number) ||
      !is_type(env, argv[2], napi_number) || !is_type(env, argv[3], napi_string)) {
    napi_throw_type_error(env, NULL, signature);
    return false;
  }
  return napi_get_value_int32(env, argv[0], fd) == napi_ok && napi_get_value_double(env, argv[1], &numbers[0]) == napi_ok &&
         napi_get_value_double(env, argv[2], &numbers[1]) == napi_ok &&
         napi_get_value_string_utf8(env, argv[3], path, PATH_TEXT_MAX, &path_length) == napi_ok;
}

/* `value` as a byte count (whole, in 0 .. 2^53 - 1; NaN fails the first comparison; the cast
 * back tests wholeness without libm), or a RangeError "OPERATION \"PATH\": NAME must be ...". */
static bool byte_count(napi_env env, double value, const char *operation, const char *path, const char *name, size_t *out) {
  if (!(value >= 0 && value <= 9007199254740991.0) || (double)(uint64_t)value != value) {
    char message[PATH_TEXT_MAX + 64];
    snprintf(message, sizeof message, "%s \"%s\": %s must be a non-negative integer", operation, path, name);
    napi_throw_range_error(env, NULL, message);
    return false;
  }
  *out = (size_t)value;
  return true;
}

/* map(fd, fileLength, length, path): `length` bytes of memory, read-write, whose first
 * `fileLength` bytes (a multiple of the page size) are the file `fd` mapped MAP_SHARED and the rest
 * private anonymous memory. The caller reserves the file's first `fileLength` bytes beforehand,
 * so no store into the mapping can meet a missing block (SIGBUS); series that do not fit the
 * reservation live in the anonymous part until the file can grow. `path` names the file in
 * errors. */
static napi_value map(napi_env env, napi_callback_info info) {
  int32_t fd;
  double numbers[2];
  char path[PATH_TEXT_MAX];
  size_t file_length, length;
  if (!get_arguments(env, info, "map(fd: number, fileLength: number, length: number, path: string)", &fd, numbers, path) ||
      !byte_count(env, numbers[0], "map", path, "fileLength", &file_length) ||
      !byte_count(env, numbers[1], "map", path, "length", &length)) {
    return NULL;
  }
  const long page = sysconf(_SC_PAGESIZE);
  if (length == 0 || file_length > length || page <= 0 || file_length % (size_t)page != 0) {
    char message[PATH_TEXT_MAX + 96];
    snprintf(message, sizeof message, "map \"%s\": need 0 < length, and fileLength <= length a multiple of the page size", path);
    napi_throw_range_error(env, NULL, message);
    return NULL;
  }
  char detail[64];
  void *data = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (data == MAP_FAILED) {
    snprintf(detail, sizeof detail, "%zu bytes", length);
    throw_system_error(env, "mmap", errno, path, detail);
    return NULL;
  }
  if (file_length > 0 && mmap(data, file_length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED) {
    const int error = errno;
    munmap(data, length);
    snprintf(detail, sizeof detail, "%zu bytes", file_length);
    throw_system_error(env, "mmap", error, path, detail);
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

/* reserve(fd, offset, length, path): allocates the blocks of bytes [offset, offset + length) of
 * `fd`, growing the file when needed (posix_fallocate). A full disk or a file size limit fails
 * here, with its errno, instead of as a SIGBUS at the first store into a page of a sparse file. */
static napi_value reserve(napi_env env, napi_callback_info info) {
  int32_t fd;
  double numbers[2];
  char path[PATH_TEXT_MAX];
  size_t offset, length;
  if (!get_arguments(env, info, "reserve(fd: number, offset: number, length: number, path: string)", &fd, numbers, path) ||
      !byte_count(env, numbers[0], "reserve", path, "offset", &offset) ||
      !byte_count(env, numbers[1], "reserve", path, "length", &length)) {
    return NULL;
  }
#ifdef __APPLE__
  /* macOS has no posix_fallocate: the JS side writes zeros instead. */
  (void)fd;
  const int error = ENOTSUP;
#else
  int error;
  do {
    error = posix_fallocate(fd, (off_t)offset, (off_t)length);
  } while (error == EINTR);
#endif
  if (error != 0) {
    char detail[96];
    snprintf(detail, sizeof detail, "%zu bytes at %zu", length, offset);
    throw_system_error(env, "reserve", error, path, detail);
  }
  return NULL;
}

static bool export_function(napi_env env, napi_value exports, const char *name, napi_callback callback) {
  napi_value function;
  return napi_create_function(env, name, NAPI_AUTO_LENGTH, callback, NULL, &function) == napi_ok &&
         napi_set_named_property(env, exports, name, function) == napi_ok;
}

NAPI_MODULE_INIT() {
  if (!export_function(env, exports, "map", map) || !export_function(env, exports, "reserve", reserve)) return NULL;
  return exports;
}
