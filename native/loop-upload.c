/*
 * Small uploads stored from Node's own event loop, without the transfer engine's thread.
 *
 *   loopStart(onEnd)                                     -> 0, or -errno
 *   loopUpload(id, socketFd, fileFd, offset, limit)      -> 0, or -errno
 *   loopCancel(id)                                       -> 1 if the job was still running
 *
 * onEnd(id, code, bytes) runs on the main thread once per job: code 0 the peer ended the
 * stream and every byte is stored, LOOP_HANDOFF (-2) `limit` bytes are stored and the rest is
 * the caller's (it hands it to the engine), -1 cancelled (what was readable is stored first),
 * errno a socket failure, FILE_ERROR_BASE + errno a file failure. `bytes` were stored in all.
 * A job still running a second after it started or last said so also calls
 * onEnd(id, LOOP_PROGRESS (-4), bytes stored so far), not its end: the stall timeout
 * (src/ftp/data/stall-watch.ts) must see a slow upload move, and one that never reaches
 * `limit` (a byte a second, say) would otherwise show no progress at all until its end.
 *
 * Why: a 4 KB STOR on the engine costs two thread handoffs (the engine's epoll wakes for the
 * data, then a thread-safe call wakes the event loop for the end) plus two dup()s, two
 * close()s and an epoll registration on the engine's side. Here libuv's own epoll watches the
 * bare data connection (uv_poll), and recv + pwrite store the bytes when they come. The
 * descriptors stay the caller's: it closes them only after onEnd.
 *
 * Node's headers are not needed: the few libuv and Node-API functions used are declared here
 * (the node binary exports them), and a uv_poll_t is allocated with uv_handle_size.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
#include "napi-decl.h"

typedef struct uv_loop_s uv_loop_t;
typedef struct uv_handle_s uv_handle_t;
typedef struct uv_poll_s uv_poll_t;
typedef void (*uv_poll_cb)(uv_poll_t *handle, int status, int events);
typedef void (*uv_close_cb)(uv_handle_t *handle);
extern size_t uv_handle_size(int type);
extern int uv_poll_init(uv_loop_t *loop, uv_poll_t *handle, int fd);
extern int uv_poll_start(uv_poll_t *handle, int events, uv_poll_cb cb);
extern int uv_poll_stop(uv_poll_t *handle);
extern void uv_close(uv_handle_t *handle, uv_close_cb cb);
#define UV_POLL_HANDLE 8 /* uv_handle_type UV_POLL */
#define UV_READABLE 1

typedef struct napi_ref__ *napi_ref;
typedef struct napi_async_context__ *napi_async_context;
typedef struct napi_handle_scope__ *napi_handle_scope;
extern napi_status napi_get_uv_event_loop(napi_env, uv_loop_t **);
extern napi_status napi_create_reference(napi_env, napi_value, uint32_t, napi_ref *);
extern napi_status napi_get_reference_value(napi_env, napi_ref, napi_value *);
extern napi_status napi_create_object(napi_env, napi_value *);
extern napi_status napi_create_string_utf8(napi_env, const char *, size_t, napi_value *);
extern napi_status napi_async_init(napi_env, napi_value, napi_value, napi_async_context *);
extern napi_status napi_make_callback(napi_env, napi_async_context, napi_value, napi_value, size_t, const napi_value *, napi_value *);
extern napi_status napi_open_handle_scope(napi_env, napi_handle_scope *);
extern napi_status napi_close_handle_scope(napi_env, napi_handle_scope);
extern napi_status napi_get_global(napi_env, napi_value *);
extern napi_status napi_is_exception_pending(napi_env, bool *);
extern napi_status napi_get_and_clear_last_exception(napi_env, napi_value *);
extern napi_status napi_fatal_exception(napi_env, napi_value);

#define CODE_HANDOFF (-2)
#define WAIT (-3)
#define CODE_PROGRESS (-4)

typedef struct loop_job {
  void *handle; /* a uv_poll_t; its first field (data) points back here */
  int32_t id;
  int sock, file;
  int64_t offset, moved, limit;
  int64_t reported;  /* moved as of the last progress call */
  int64_t report_at; /* monotonic ns: no progress call before this */
  struct loop_job *next;
} loop_job_t;

static loop_job_t *jobs; /* main thread only, like everything here */
static napi_env js_env;
static napi_ref on_end;
static napi_async_context async_context;
static uv_loop_t *event_loop;
/* One read buffer for every job: they all run on the main thread, one at a time. */
static char buffer[64 << 10];

static void free_handle(uv_handle_t *handle) { free(handle); }

/* onEnd(id, code, bytes), as any other callback from the event loop. */
static void call_js(int32_t id, int code, double bytes) {
  napi_env env = js_env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != 0) return;
  napi_value fn, recv, argv[3];
  if (napi_get_reference_value(env, on_end, &fn) == 0 && napi_get_global(env, &recv) == 0) {
    argv[0] = number(env, id);
    argv[1] = number(env, code);
    argv[2] = number(env, bytes);
    napi_make_callback(env, async_context, recv, fn, 3, argv, NULL);
    bool pending = false;
    napi_value error;
    if (napi_is_exception_pending(env, &pending) == 0 && pending && napi_get_and_clear_last_exception(env, &error) == 0)
      napi_fatal_exception(env, error); /* an uncaught exception, as from any other callback */
  }
  napi_close_handle_scope(env, scope);
}

/* Writes n bytes of `buffer` at the job's offset: 0, or the errno. */
static int store(loop_job_t *j, size_t n) {
  size_t done = 0;
  while (done < n) {
    ssize_t w = pwrite(j->file, buffer + done, n - done, (off_t)(j->offset + (int64_t)done));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return w == 0 ? EIO : errno;
    done += (size_t)w;
  }
  j->offset += (int64_t)n;
  j->moved += (int64_t)n;
  return 0;
}

/* Stores what is readable: 0 at the end of stream, HANDOFF at the limit, WAIT, or a failure code. */
static int pump(loop_job_t *j) {
  for (;;) {
    if (j->moved >= j->limit) return CODE_HANDOFF;
    int64_t room = j->limit - j->moved;
    size_t want = room < (int64_t)sizeof buffer ? (size_t)room : sizeof buffer;
    ssize_t n = recv(j->sock, buffer, want, MSG_DONTWAIT);
    if (n > 0) {
      int err = store(j, (size_t)n);
      if (err) return FILE_ERROR_BASE + err;
      continue;
    }
    if (n == 0) return 0;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return WAIT;
    return errno;
  }
}

/* Unlinks and releases the job, then tells JavaScript how it ended. */
static void finish(loop_job_t *j, int code) {
  for (loop_job_t **p = &jobs; *p; p = &(*p)->next) {
    if (*p == j) {
      *p = j->next;
      break;
    }
  }
  uv_poll_stop((uv_poll_t *)j->handle);
  uv_close((uv_handle_t *)j->handle, free_handle); /* takes the descriptor out of libuv's epoll now */
  int32_t id = j->id;
  double bytes = (double)j->moved;
  free(j);
  call_js(id, code, bytes);
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  (void)events;
  loop_job_t *j = *(loop_job_t **)handle;
  if (status < 0) return finish(j, -status);
  int code = pump(j);
  if (code != WAIT) return finish(j, code);
  if (progress_due(j->moved, &j->reported, &j->report_at)) call_js(j->id, CODE_PROGRESS, (double)j->moved);
}

static napi_value js_loop_start(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], resource, name;
  if (on_end) return number(env, -EALREADY);
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != 0 || argc < 1) return number(env, -EINVAL);
  if (napi_get_uv_event_loop(env, &event_loop) != 0 || !event_loop) return number(env, -ENOSYS);
  if (napi_create_object(env, &resource) != 0 || napi_create_string_utf8(env, "wharf-loop-upload", (size_t)-1, &name) != 0 ||
      napi_async_init(env, resource, name, &async_context) != 0 || napi_create_reference(env, argv[0], 1, &on_end) != 0)
    return number(env, -ENOMEM);
  js_env = env;
  return number(env, 0);
}

static napi_value js_loop_upload(napi_env env, napi_callback_info info) {
  int64_t a[5];
  if (!on_end) return number(env, -ENOTCONN);
  if (int_args(env, info, 5, a) != 0) return number(env, -EINVAL);
  loop_job_t *j = calloc(1, sizeof *j);
  void *handle = malloc(uv_handle_size(UV_POLL_HANDLE));
  if (!j || !handle) {
    free(j);
    free(handle);
    return number(env, -ENOMEM);
  }
  j->handle = handle;
  j->id = (int32_t)a[0];
  j->sock = (int)a[1];
  j->file = (int)a[2];
  j->offset = a[3];
  j->limit = a[4] > 0 ? a[4] : 1;
  j->report_at = now_ns() + PROGRESS_NS;
  int err = uv_poll_init(event_loop, (uv_poll_t *)handle, j->sock);
  if (err) {
    free(handle);
    free(j);
    return number(env, err);
  }
  *(loop_job_t **)handle = j; /* the handle's `data`, set once libuv has initialised it */
  err = uv_poll_start((uv_poll_t *)handle, UV_READABLE, on_readable);
  if (err) {
    uv_close((uv_handle_t *)handle, free_handle);
    free(j);
    return number(env, err);
  }
  j->next = jobs;
  jobs = j;
  return number(env, 0);
}

static napi_value js_loop_cancel(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t id;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != 0 || argc < 1 || napi_get_value_int32(env, argv[0], &id) != 0) return number(env, 0);
  for (loop_job_t *j = jobs; j; j = j->next) {
    if (j->id != id) continue;
    /* What the client sent before it went away or aborted is kept (REST can resume it). */
    (void)pump(j);
    finish(j, CODE_CANCELLED);
    return number(env, 1);
  }
  return number(env, 0);
}

void wharf_register_loop_upload(napi_env env, napi_value exports) {
  export_function(env, exports, "loopStart", js_loop_start);
  export_function(env, exports, "loopUpload", js_loop_upload);
  export_function(env, exports, "loopCancel", js_loop_cancel);
}
