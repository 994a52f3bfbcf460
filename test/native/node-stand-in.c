/* A stand-in for node, for the libcs no node runs on here (musl: Debian ships no musl node and
 * the npm registry has none). It implements the Node-API functions native/mmap.c calls,
 * dlopen()s an addon with the dynamic loader of the libc it was linked with, registers it, and
 * calls reserve() and map() as src/store/backends/native.ts does, printing what it sees.
 * Build it with the target's C compiler and -rdynamic, so that the addon's napi_* references
 * resolve against this executable as they do against node:
 *   musl-gcc -rdynamic -I<node>/include/node -o stand-in test/native/node-stand-in.c
 * usage: stand-in ADDON.node SCRATCH_FILE   (exit 0 when every check passed) */
#define _POSIX_C_SOURCE 200809L
#define NAPI_VERSION 8
#include <node_api.h>

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct napi_env__ {
  bool pending;
  char thrown[4200]; /* "Kind: message" of the pending exception */
  int thrown_errno;  /* its `errno` property, -1 when it has none */
};

/* Every JS value the addon can see or make: a number, a string, a function, an object with
 * a few named properties (exports.map and exports.reserve, error.errno) or an external
 * ArrayBuffer. */
#define PROPERTIES_MAX 4
struct napi_value__ {
  napi_valuetype type;
  double number;
  char text[4200];
  napi_callback callback;
  void *data;
  size_t length;
  napi_finalize finalize;
  void *hint;
  char property_names[PROPERTIES_MAX][32];
  napi_value properties[PROPERTIES_MAX];
  size_t property_count;
};

struct napi_callback_info__ {
  size_t argc;
  napi_value *argv;
};

static struct napi_value__ values[64];
static size_t used;

static napi_value new_value(napi_valuetype type) {
  if (used == sizeof values / sizeof values[0]) {
    fprintf(stderr, "stand-in: out of values\n");
    _exit(3);
  }
  napi_value value = &values[used++];
  memset(value, 0, sizeof *value);
  value->type = type;
  return value;
}

static napi_status throw_kind(napi_env env, const char *kind, const char *message) {
  env->pending = true;
  env->thrown_errno = -1;
  snprintf(env->thrown, sizeof env->thrown, "%s: %s", kind, message);
  return napi_ok;
}

napi_status napi_create_function(napi_env env, const char *name, size_t length, napi_callback callback, void *data, napi_value *result) {
  (void)env, (void)name, (void)length, (void)data;
  *result = new_value(napi_function);
  (*result)->callback = callback;
  return napi_ok;
}

napi_status napi_set_named_property(napi_env env, napi_value object, const char *name, napi_value value) {
  (void)env;
  if (object->property_count == PROPERTIES_MAX) return napi_generic_failure;
  snprintf(object->property_names[object->property_count], sizeof object->property_names[0], "%s", name);
  object->properties[object->property_count++] = value;
  return napi_ok;
}

/* The property `name` of `object`, or NULL. */
static napi_value property_of(napi_value object, const char *name) {
  for (size_t i = 0; i < object->property_count; i++) {
    if (strcmp(object->property_names[i], name) == 0) return object->properties[i];
  }
  return NULL;
}

napi_status napi_get_cb_info(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv, napi_value *this_arg, void **data) {
  (void)env, (void)this_arg, (void)data;
  for (size_t i = 0; i < *argc; i++) argv[i] = i < info->argc ? info->argv[i] : new_value(napi_undefined);
  *argc = info->argc;
  return napi_ok;
}

napi_status napi_typeof(napi_env env, napi_value value, napi_valuetype *result) {
  (void)env;
  *result = value->type;
  return napi_ok;
}

napi_status napi_get_value_int32(napi_env env, napi_value value, int32_t *result) {
  (void)env;
  *result = (int32_t)value->number;
  return napi_ok;
}

napi_status napi_get_value_double(napi_env env, napi_value value, double *result) {
  (void)env;
  *result = value->number;
  return napi_ok;
}

napi_status napi_get_value_string_utf8(napi_env env, napi_value value, char *buffer, size_t size, size_t *result) {
  (void)env;
  size_t length = strlen(value->text);
  if (buffer != NULL) {
    if (length >= size) length = size - 1;
    memcpy(buffer, value->text, length);
    buffer[length] = '\0';
  }
  if (result != NULL) *result = length;
  return napi_ok;
}

napi_status napi_create_string_utf8(napi_env env, const char *text, size_t length, napi_value *result) {
  (void)env, (void)length;
  *result = new_value(napi_string);
  snprintf((*result)->text, sizeof (*result)->text, "%s", text);
  return napi_ok;
}

napi_status napi_create_int32(napi_env env, int32_t number, napi_value *result) {
  (void)env;
  *result = new_value(napi_number);
  (*result)->number = number;
  return napi_ok;
}

napi_status napi_create_error(napi_env env, napi_value code, napi_value message, napi_value *result) {
  (void)env, (void)code;
  *result = new_value(napi_object);
  snprintf((*result)->text, sizeof (*result)->text, "%s", message->text);
  return napi_ok;
}

napi_status napi_create_external_arraybuffer(napi_env env, void *data, size_t length, napi_finalize finalize, void *hint, napi_value *result) {
  (void)env;
  *result = new_value(napi_object);
  (*result)->data = data;
  (*result)->length = length;
  (*result)->finalize = finalize;
  (*result)->hint = hint;
  return napi_ok;
}

napi_status napi_throw(napi_env env, napi_value error) {
  throw_kind(env, "Error", error->text);
  napi_value code = property_of(error, "errno");
  if (code != NULL) env->thrown_errno = (int)code->number;
  return napi_ok;
}

napi_status napi_throw_error(napi_env env, const char *code, const char *message) {
  (void)code;
  return throw_kind(env, "Error", message);
}

napi_status napi_throw_type_error(napi_env env, const char *code, const char *message) {
  (void)code;
  return throw_kind(env, "TypeError", message);
}

napi_status napi_throw_range_error(napi_env env, const char *code, const char *message) {
  (void)code;
  return throw_kind(env, "RangeError", message);
}

napi_status napi_is_exception_pending(napi_env env, bool *result) {
  *result = env->pending;
  return napi_ok;
}

/* map() or reserve() as JS calls them, (fd, number, number, path); NULL when it threw. */
static napi_value call(napi_env env, napi_value function, double fd, double first, double second, const char *path) {
  napi_value argv[4] = {new_value(napi_number), new_value(napi_number), new_value(napi_number), new_value(napi_string)};
  argv[0]->number = fd;
  argv[1]->number = first;
  argv[2]->number = second;
  snprintf(argv[3]->text, sizeof argv[3]->text, "%s", path);
  struct napi_callback_info__ info = {4, argv};
  env->pending = false;
  napi_value result = function->callback(env, &info);
  return env->pending ? NULL : result;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s ADDON.node SCRATCH_FILE\n", argv[0]);
    return 2;
  }
  void *addon = dlopen(argv[1], RTLD_NOW);
  if (addon == NULL) {
    printf("dlopen failed: %s\n", dlerror());
    return 1;
  }
  napi_value (*init)(napi_env, napi_value) = (napi_value(*)(napi_env, napi_value))dlsym(addon, "napi_register_module_v1");
  int32_t (*api_version)(void) = (int32_t(*)(void))dlsym(addon, "node_api_module_get_api_version_v1");
  if (init == NULL || api_version == NULL) {
    printf("not a Node-API module\n");
    return 1;
  }
  struct napi_env__ env = {0};
  napi_value exports = new_value(napi_object);
  napi_value map = NULL, reserve = NULL;
  if (init(&env, exports) != exports || (map = property_of(exports, "map")) == NULL || (reserve = property_of(exports, "reserve")) == NULL) {
    printf("registering exported no map() and reserve()\n");
    return 1;
  }
  printf("loaded: Node-API %d, exports map() reserve()\n", api_version());

  const long page = sysconf(_SC_PAGESIZE);
  int fd = open(argv[2], O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || page <= 0) {
    perror(argv[2]);
    return 1;
  }
  struct stat stat_buffer;
  if (call(&env, reserve, fd, 0, (double)page, argv[2]) == NULL && env.pending) {
    printf("reserve(fd, 0, one page) failed: %s\n", env.thrown);
    return 1;
  }
  fstat(fd, &stat_buffer);
  printf("reserve(fd, 0, one page): the file is %s one page\n", stat_buffer.st_size == page ? "exactly" : "not");
  napi_value buffer = call(&env, map, fd, (double)page, 2.0 * (double)page, argv[2]);
  if (buffer == NULL || buffer->length != (size_t)(2 * page)) {
    printf("map(fd, one page, two pages) failed: %s\n", env.thrown);
    return 1;
  }
  double *values = buffer->data;
  values[3] = 2.5;
  values[page / 8 + 3] = 7; /* past the file: private memory */
  double in_file = 0, past = values[page / 8 + 3];
  buffer->finalize(&env, buffer->data, buffer->hint); /* what V8 does when it collects the buffer */
  if (pread(fd, &in_file, sizeof in_file, 24) != (ssize_t)sizeof in_file) perror("pread");
  fstat(fd, &stat_buffer);
  printf("map(fd, one page, two pages): the file part reads back from the file as %.1f, the rest held %.1f, the file is %s one page\n",
         in_file, past, stat_buffer.st_size == page ? "still" : "not");

  call(&env, reserve, -1, 0, 4096, "/some/counter_1.db");
  printf("reserve(-1, 0, 4096): %s (errno %d)\n", env.thrown, env.thrown_errno);
  call(&env, map, fd, 0, 1.5, "f");
  printf("map(fd, 0, 1.5): %s\n", env.thrown);
  close(fd);
  return 0;
}
