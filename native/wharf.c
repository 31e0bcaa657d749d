/*
 * Wharf's optional native fast path: zero-copy bodies for plain (unencrypted) transfers.
 *
 *   sendfile(socketFd, fileFd, offset, count)  -> bytes sent, or -errno
 *   pipe()                                     -> [readFd, writeFd], or -errno
 *   trimMemory()                               -> 1 if memory went back to the system
 *   releaseFilePages()                         -> KiB of unused executable pages unmapped (native/file-pages.c)
 *   lowMemory()                                -> 1 (V8's reduce-memory collection; absent when node lacks it)
 *   sendNow(socketFd, buffer)                  -> bytes sent, or -errno (a control reply)
 *   spliceToFile(socketFd, pipeRead, pipeWrite, fileFd, offset, max)
 *                                              -> bytes stored, or -errno (socket side)
 *                                                 or -(FILE_ERROR_BASE + errno) (file side)
 *
 * Node has no sendfile(2)/splice(2); without them every byte of a download is copied from
 * the page cache into a JavaScript buffer and back into the kernel, and every byte of an
 * upload the other way round. Both calls only move what the non-blocking socket allows
 * right now and return: the caller (src/core/native.ts) owns waiting, ordering and errors,
 * so the event loop is never blocked for longer than `count`/`max` bytes take to copy.
 *
 * The N-API declarations are written out instead of including node_api.h, so building needs
 * only a C compiler, not Node's headers. The signatures are Node-API's stable ABI (v1).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>
#include <dlfcn.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "napi-decl.h"

/* Directory listings formatted in C: native/listing.c. */
void wharf_register_listing(napi_env env, napi_value exports);
void wharf_register_file_pages(napi_env env, napi_value exports);
/* The transfer engine (worker thread, own epoll): native/engine.c. */
void wharf_register_engine(napi_env env, napi_value exports);
/* Passive data connections on bare descriptors: native/datapath.c. */
void wharf_register_datapath(napi_env env, napi_value exports);
void wharf_register_loop_upload(napi_env env, napi_value exports);
void wharf_register_tls(napi_env env, napi_value exports);

#define PIPE_SIZE (1 << 20)
#define MAX_SENDFILE_CHUNK 0x7ffff000

/* Four integer arguments: two descriptors and two 64-bit counts. Returns 0 when they are valid. */
static int read_args(napi_env env, napi_callback_info info, int32_t *fd_a, int32_t *fd_b, int64_t *x, int64_t *y) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != 0 || argc < 4) return -1;
  if (napi_get_value_int32(env, argv[0], fd_a) != 0 || napi_get_value_int32(env, argv[1], fd_b) != 0) return -1;
  if (napi_get_value_int64(env, argv[2], x) != 0 || napi_get_value_int64(env, argv[3], y) != 0) return -1;
  if (*fd_a < 0 || *fd_b < 0 || *x < 0 || *y < 0) return -1;
  return 0;
}

static napi_value sendfile_range(napi_env env, int32_t socket_fd, int32_t file_fd, int64_t offset, int64_t count) {
  off_t position = (off_t)offset;
  int64_t total = 0;
  while (total < count) {
    int64_t left = count - total;
    ssize_t n = sendfile(socket_fd, file_fd, &position, left > MAX_SENDFILE_CHUNK ? MAX_SENDFILE_CHUNK : (size_t)left);
    if (n > 0) {
      total += n;
      continue;
    }
    if (n == 0) break; /* end of file */
    if (errno == EINTR) continue;
    /* Bytes already sent are reported first; the error (or EAGAIN) shows again on the next call. */
    if (total > 0) break;
    return number(env, -errno);
  }
  return number(env, (double)total);
}

static napi_value js_sendfile(napi_env env, napi_callback_info info) {
  int32_t socket_fd, file_fd;
  int64_t offset, count;
  if (read_args(env, info, &socket_fd, &file_fd, &offset, &count) != 0) return number(env, -EINVAL);
  return sendfile_range(env, socket_fd, file_fd, offset, count);
}

/*
 * sendfileLast(socketFd, fileFd, offset, count): sendfile for a download that ends with this
 * call, on a socket closed right after. TCP_CORK first, so the close sends the last piece and
 * the FIN in one segment: a small file reaches the client as one packet and one wakeup
 * instead of two. (Closing releases the cork; it holds partial segments 200 ms at most.)
 */
static napi_value js_sendfile_last(napi_env env, napi_callback_info info) {
  int32_t socket_fd, file_fd;
  int64_t offset, count;
  if (read_args(env, info, &socket_fd, &file_fd, &offset, &count) != 0) return number(env, -EINVAL);
  int on = 1;
  (void)setsockopt(socket_fd, IPPROTO_TCP, TCP_CORK, &on, sizeof on);
  return sendfile_range(env, socket_fd, file_fd, offset, count);
}

/* pipe() -> [readFd, writeFd] (non-blocking, close-on-exec, 1 MiB when allowed), or -errno. One per upload. */
static napi_value js_pipe(napi_env env, napi_callback_info info) {
  (void)info;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return number(env, -errno);
  (void)fcntl(fds[1], F_SETPIPE_SZ, PIPE_SIZE); /* best effort: the default 64 KiB also works */
  napi_value pair = NULL;
  if (napi_create_array_with_length(env, 2, &pair) != 0 ||
      napi_set_element(env, pair, 0, number(env, fds[0])) != 0 ||
      napi_set_element(env, pair, 1, number(env, fds[1])) != 0) {
    close(fds[0]);
    close(fds[1]);
    return number(env, -ENOMEM);
  }
  return pair;
}

/*
 * spliceToFile(socketFd, pipeRead, pipeWrite, fileFd, offset, max): socket -> pipe -> file, no
 * copy through user space. The pipe is empty on return unless a file error is returned (the
 * upload has failed then, and its pipe is closed with it).
 */
static napi_value js_splice_to_file(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  int32_t socket_fd, pipe_read, pipe_write, file_fd;
  int64_t offset, max;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != 0 || argc < 6 ||
      napi_get_value_int32(env, argv[0], &socket_fd) != 0 || napi_get_value_int32(env, argv[1], &pipe_read) != 0 ||
      napi_get_value_int32(env, argv[2], &pipe_write) != 0 || napi_get_value_int32(env, argv[3], &file_fd) != 0 ||
      napi_get_value_int64(env, argv[4], &offset) != 0 || napi_get_value_int64(env, argv[5], &max) != 0 ||
      socket_fd < 0 || pipe_read < 0 || pipe_write < 0 || file_fd < 0 || offset < 0 || max < 0)
    return number(env, -EINVAL);
  loff_t position = (loff_t)offset;
  int64_t total = 0;
  while (total < max) {
    int64_t want = max - total > PIPE_SIZE ? PIPE_SIZE : max - total;
    ssize_t n = splice(socket_fd, NULL, pipe_write, NULL, (size_t)want, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n == 0) break; /* the peer finished sending: libuv reports the end as usual */
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      if (total > 0) break; /* the error shows again on the next call */
      return number(env, -errno);
    }
    ssize_t left = n;
    while (left > 0) {
      ssize_t k = splice(pipe_read, NULL, file_fd, &position, (size_t)left, SPLICE_F_MOVE);
      if (k > 0) {
        left -= k;
        continue;
      }
      if (k < 0 && errno == EINTR) continue;
      return number(env, -(double)(FILE_ERROR_BASE + (k == 0 ? EIO : errno)));
    }
    total += n;
  }
  return number(env, (double)total);
}

/*
 * glibc keeps freed heap memory (OpenSSL's buffers after FTPS transfers, for instance: tens of
 * MiB) for reuse instead of returning it; an idle server should give it back.
 */
static napi_value js_trim_memory(napi_env env, napi_callback_info info) {
  (void)info;
#ifdef __GLIBC__
  return number(env, malloc_trim(0));
#else
  return number(env, 0);
#endif
}

/*
 * lowMemory(): Node's public node::LowMemoryNotification() (node.h), which has V8 collect
 * everything it can in "reduce memory" mode: at least two compacting full collections, the
 * young generation shrunk to its start-up size with its spare semi-space uncommitted, and the
 * pages V8 keeps pooled for reuse handed back. A JavaScript gc() can do none of the last
 * three: V8 shrinks the young generation in an ordinary collection only after seconds of low
 * allocation, and keeps its page pool. Measured, 1 000 idle sessions after a quiet server's
 * logins: private dirty memory 15.2 -> 13.1 MiB (see src/cli/v8-memory.ts).
 * Node's headers are not needed: the function takes nothing and returns nothing, and is found
 * by its C++ (Itanium ABI) name in the running node binary. A node that does not export it
 * (none known) gets no lowMemory and Wharf falls back to a compacting gc().
 */
static void (*low_memory_notification)(void);

static napi_value js_low_memory(napi_env env, napi_callback_info info) {
  (void)info;
  low_memory_notification();
  return number(env, 1);
}

/*
 * Fixed malloc thresholds, set once when the module loads. malloc_trim (above) gives back the
 * main arena and free chunks inside the others, but never the top of a thread's arena: that
 * shrinks only on a free() in it, once the top exceeds M_TRIM_THRESHOLD. glibc raises that
 * threshold to twice the largest mmap'd block freed so far (a 1 MiB transfer buffer: 2 MiB; a
 * 3 MiB one: 6 MiB), and V8's four background threads compile optimized code into zones of a
 * few MiB in their own arenas, so after a busy period each kept 1-3 MiB of free memory for good
 * (measured after the bench's rows: 5.5 MiB in all; 0.8 MiB with the default threshold fixed).
 * Setting the thresholds explicitly turns glibc's raising off. 4 MiB keeps transfer buffers
 * (1 MiB) out of mmap, as the raised threshold did; scrypt's 32 MiB is mmap'd either way.
 */
static void fix_malloc_thresholds(void) {
#ifdef __GLIBC__
  (void)mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
  (void)mallopt(M_TRIM_THRESHOLD, 128 * 1024);
#endif
}

/*
 * sendNow(socketFd, buffer) -> bytes sent, or -errno (-EAGAIN: the socket is full).
 * One non-blocking send(2) of a control reply, the same call libuv's uv_try_write makes when
 * nothing is queued, without the stream machinery around it (write request, callbacks,
 * ticks): a login's four replies cost that much again in JavaScript. The caller
 * (src/ftp/control/direct-write.ts) uses it only when nothing else is waiting to be written.
 * MSG_NOSIGNAL: a peer that is gone gives EPIPE, never SIGPIPE.
 */
static napi_value js_send_now(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd;
  void *data = NULL;
  size_t length = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != 0 || argc < 2) return number(env, -EINVAL);
  if (napi_get_value_int32(env, argv[0], &fd) != 0 || fd < 0) return number(env, -EINVAL);
  if (napi_get_buffer_info(env, argv[1], &data, &length) != 0) return number(env, -EINVAL);
  if (length == 0) return number(env, 0);
  ssize_t n;
  do n = send(fd, data, length, MSG_DONTWAIT | MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return number(env, n < 0 ? -(double)errno : (double)n);
}

__attribute__((visibility("default"))) napi_value napi_register_module_v1(napi_env env, napi_value exports) {
  fix_malloc_thresholds();
  export_function(env, exports, "sendfile", js_sendfile);
  export_function(env, exports, "sendfileLast", js_sendfile_last);
  export_function(env, exports, "sendNow", js_send_now);
  export_function(env, exports, "pipe", js_pipe);
  export_function(env, exports, "trimMemory", js_trim_memory);
  low_memory_notification = (void (*)(void))dlsym(RTLD_DEFAULT, "_ZN4node21LowMemoryNotificationEv");
  if (low_memory_notification) export_function(env, exports, "lowMemory", js_low_memory);
  export_function(env, exports, "spliceToFile", js_splice_to_file);
  wharf_register_listing(env, exports);
  wharf_register_engine(env, exports);
  wharf_register_datapath(env, exports);
  wharf_register_loop_upload(env, exports);
  wharf_register_tls(env, exports);
  wharf_register_file_pages(env, exports);
  napi_value base = number(env, FILE_ERROR_BASE);
  napi_set_named_property(env, exports, "FILE_ERROR_BASE", base);
  return exports;
}
