/*
 * The few Node-API declarations Wharf's native module uses, written out instead of including
 * node_api.h so that building needs only a C compiler, not Node's headers. The signatures are
 * Node-API's stable ABI. Shared by every native/*.c file, with the helpers their exported
 * functions use and the transfer end codes they report.
 */
#ifndef WHARF_NAPI_DECL_H
#define WHARF_NAPI_DECL_H
#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef struct napi_env__ *napi_env;
typedef struct napi_value__ *napi_value;
typedef struct napi_callback_info__ *napi_callback_info;
typedef int napi_status; /* 0 is napi_ok */
typedef napi_value (*napi_callback)(napi_env env, napi_callback_info info);
typedef void (*napi_finalize)(napi_env env, void *finalize_data, void *finalize_hint);

extern napi_status napi_get_cb_info(napi_env, napi_callback_info, size_t *, napi_value *, napi_value *, void **);
extern napi_status napi_get_value_int32(napi_env, napi_value, int32_t *);
extern napi_status napi_get_value_uint32(napi_env, napi_value, uint32_t *);
extern napi_status napi_get_value_double(napi_env, napi_value, double *);
extern napi_status napi_get_value_string_latin1(napi_env, napi_value, char *, size_t, size_t *);
extern napi_status napi_create_double(napi_env, double, napi_value *);
extern napi_status napi_create_function(napi_env, const char *, size_t, napi_callback, void *, napi_value *);
extern napi_status napi_set_named_property(napi_env, napi_value, const char *, napi_value);
extern napi_status napi_get_buffer_info(napi_env, napi_value, void **, size_t *);
extern napi_status napi_create_buffer_copy(napi_env, size_t, const void *, void **, napi_value *);
extern napi_status napi_create_external(napi_env, void *, napi_finalize, void *, napi_value *);
extern napi_status napi_get_value_external(napi_env, napi_value, void **);
extern napi_status napi_get_value_int64(napi_env, napi_value, int64_t *);
extern napi_status napi_create_array_with_length(napi_env, size_t, napi_value *);
extern napi_status napi_set_element(napi_env, napi_value, uint32_t, napi_value);

/* A JavaScript number (NULL, which JavaScript sees as undefined, if even that fails). */
static inline napi_value number(napi_env env, double value) {
  napi_value result = NULL;
  napi_create_double(env, value, &result);
  return result;
}

/* Reads `count` (at most 5) integer arguments, all >= 0: 0, or -1 when one is missing or not such a number. */
static inline int int_args(napi_env env, napi_callback_info info, size_t count, int64_t *out) {
  size_t argc = 5;
  napi_value argv[5];
  if (count > 5 || napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != 0 || argc < count) return -1;
  for (size_t i = 0; i < count; i++)
    if (napi_get_value_int64(env, argv[i], &out[i]) != 0 || out[i] < 0) return -1;
  return 0;
}

/*
 * How a transfer ended, as native/engine.c and native/loop-upload.c report it to JavaScript
 * (and as wharf.c's spliceToFile tells a file failure from a socket one): -1 cancelled, an
 * errno for a socket failure, FILE_ERROR_BASE + errno for a file failure.
 */
#define FILE_ERROR_BASE 100000
#define CODE_CANCELLED (-1)
/* Not an end: the engine's step functions (engine.c, tls-link.c) wait for their descriptors. */
#define CODE_WAIT (-2)

/*
 * Progress (for STAT and the stall timeout) goes to JavaScript at most once a second per job
 * (engine.c, loop-upload.c): each report is a call into JavaScript on the main thread, and
 * reporting every 4 MiB made 400 of them per round of 200 x 10 MiB transfers.
 */
#define PROGRESS_NS 1000000000LL

/* Monotonic nanoseconds, coarse: a vDSO read, no system call. */
static inline int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/*
 * The bytes a job that has moved `moved` in all should report now: 0 when nothing is new or
 * its last report is less than PROGRESS_NS old. A non-zero answer counts as reported.
 */
static inline int64_t progress_due(int64_t moved, int64_t *reported, int64_t *report_at) {
  if (moved == *reported) return 0;
  int64_t now = now_ns();
  if (now < *report_at) return 0;
  int64_t fresh = moved - *reported;
  *reported = moved;
  *report_at = now + PROGRESS_NS;
  return fresh;
}

/* exports[name] = cb; (size_t)-1 is NAPI_AUTO_LENGTH: the name is NUL-terminated. */
static inline void export_function(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value fn;
  if (napi_create_function(env, name, (size_t)-1, cb, NULL, &fn) == 0) napi_set_named_property(env, exports, name, fn);
}

#endif
