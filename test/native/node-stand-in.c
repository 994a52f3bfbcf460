/* A stand-in for node, for the libcs no node runs on here (musl: Debian ships no musl node and
 * the npm registry has none). It implements the Node-API functions native/mmap.c calls,
 * dlopen()s an addon with the dynamic loader of the libc it was linked with, registers it, and
 * calls map() as src/store/backends/native.ts does, printing what it sees.
 * Build it with the target's C compiler and -rdynamic, so that the addon's napi_* references
 * resolve against this executable as they do against node:
 *   musl-gcc -rdynamic -I<node>/include/node -o stand-in test/native/node-stand-in.c
 * usage: stand-in ADDON.node SCRATCH_FILE   (exit 0 when every check passed) */
#define _POSIX_C_SOURCE 200809L
#define NAPI_VERSION 8
#include <node_api.h>

#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct napi_env__ {
  bool pending;
  char thrown[4200]; /* "Kind: message" of the pending exception */
  int thrown_errno;  /* its `errno` property, -1 when it has none */
};

/* Every JS value the addon can see or make: a number, a string, a function, an object with
 * at most one named property (exports.map, error.errno) or an external ArrayBuffer. */
struct napi_value__ {
  napi_valuetype type;
  double number;
  char text[4200];
  napi_callback callback;
  void *data;
  size_t length;
  napi_finalize finalize;
  void *hint;
  char property_name[32];
  napi_value property;
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
  snprintf(object->property_name, sizeof object->property_name, "%s", name);
  object->property = value;
  return napi_ok;
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
  if (error->property != NULL) env->thrown_errno = (int)error->property->number;
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

/* map(fd, length, path) as JS calls it; NULL when it threw. */
static napi_value call_map(napi_env env, napi_value map, double fd, double length, const char *path) {
  napi_value argv[3] = {new_value(napi_number), new_value(napi_number), new_value(napi_string)};
  argv[0]->number = fd;
  argv[1]->number = length;
  snprintf(argv[2]->text, sizeof argv[2]->text, "%s", path);
  struct napi_callback_info__ info = {3, argv};
  env->pending = false;
  napi_value result = map->callback(env, &info);
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
  if (init(&env, exports) != exports || exports->property == NULL || strcmp(exports->property_name, "map") != 0) {
    printf("registering exported no map()\n");
    return 1;
  }
  printf("loaded: Node-API %d, exports %s()\n", api_version(), exports->property_name);

  int fd = open(argv[2], O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || ftruncate(fd, 4096) != 0) {
    perror(argv[2]);
    return 1;
  }
  napi_value buffer = call_map(&env, exports->property, fd, 4096, argv[2]);
  if (buffer == NULL || buffer->length != 4096) {
    printf("map(fd, 4096) failed: %s\n", env.thrown);
    return 1;
  }
  ((double *)buffer->data)[3] = 2.5;
  buffer->finalize(&env, buffer->data, buffer->hint); /* what V8 does when it collects the buffer */
  double stored = 0;
  if (pread(fd, &stored, sizeof stored, 24) != (ssize_t)sizeof stored) perror("pread");
  printf("map(fd, 4096): a store through the mapping reads back from the file as %.1f\n", stored);

  call_map(&env, exports->property, -1, 4096, "/some/counter_1.db");
  printf("map(-1, 4096): %s (errno %d)\n", env.thrown, env.thrown_errno);
  call_map(&env, exports->property, fd, 1.5, "f");
  printf("map(fd, 1.5): %s\n", env.thrown);
  close(fd);
  return 0;
}
