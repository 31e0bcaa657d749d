/*
 * The transfer engine: plain uploads and downloads run to completion on a worker thread
 * (WHARF_ENGINE_THREADS=2: two) with its own epoll, off Node's event loop.
 *
 *   engineStart(callback)                                   -> 0, or -errno
 *   engineUpload(id, socketFd, fileFd, offset)              -> 0, or -errno
 *   engineDownload(id, socketFd, fileFd, offset, count)     -> 0, or -errno
 *   engineWaitReadable(id, fd)                              -> 0, or -errno
 *   engineCancel(id)                                        -> 1 if the job was still running
 *   engineTls(id, tlsContext, socketFd)                     -> JavaScript's plaintext descriptor, or -errno
 *   engineTlsStore(linkId, storeId, fileFd, offset)         -> 0, or -errno
 *   engineTlsSend(linkId, sendId, fileFd, offset, count)    -> 0, or -errno
 *
 * callback(id, event, bytes, code) runs on the main thread: event 0 is progress (`bytes`
 * more were moved; at most once a second), event 1 the end of the job (the last `bytes`,
 * and `code`: 0 done, -1 cancelled, errno for a socket failure (downloads: sendfile cannot tell the side), or
 * FILE_ERROR_BASE + errno for a file failure). After event 1 the engine holds nothing of
 * the job.
 *
 * Why: with one event loop every byte of 200 concurrent transfers was moved by the main
 * thread, one libuv wakeup (and for uploads a 64 KiB copy into JavaScript) at a time, while
 * the C servers spread the copying over both cores. Here an upload is splice(socket -> pipe
 * -> file) until end of stream and a download sendfile until the count, with no JavaScript
 * per wakeup.
 *
 * engineTls runs an FTPS data connection's TLS (native/tls-link.c) as a job with two
 * descriptors in epoll: the client's socket and the engine's end of the plaintext socketpair.
 * Event 2 reports its handshake (code 1: resumed, 2: full); its end may carry OpenSSL's
 * reason (callback's fifth argument). Event 3 says that its close_notify and FIN are with the
 * kernel, behind every record: the transfer may be answered while the link waits for the
 * client's own close_notify. engineTlsStore has such a link write an upload to the
 * file itself, engineTlsSend read a download from it; either reports under its own id.
 *
 * engineWaitReadable ends (code 0) as soon as `fd` is readable: a native passive listener
 * (native/datapath.c) whose client has not connected yet waits here, on the engine's epoll,
 * instead of on a net.Server created for it.
 *
 * The engine works on its own duplicates of the two descriptors, so JavaScript may destroy
 * the socket at any moment (ABOR, shutdown): a cancel then releases the duplicates, and no
 * descriptor number can be reused under the engine's feet.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "napi-decl.h"
#include "tls-link.h"

typedef struct napi_threadsafe_function__ *napi_threadsafe_function;
typedef void (*napi_threadsafe_function_call_js)(napi_env env, napi_value js_callback, void *context, void *data);
extern napi_status napi_create_threadsafe_function(napi_env, napi_value, napi_value, napi_value, size_t, size_t, void *, napi_finalize, void *,
                                                   napi_threadsafe_function_call_js, napi_threadsafe_function *);
extern napi_status napi_call_threadsafe_function(napi_threadsafe_function, void *, int /* 0: non-blocking */);
extern napi_status napi_ref_threadsafe_function(napi_env, napi_threadsafe_function);
extern napi_status napi_unref_threadsafe_function(napi_env, napi_threadsafe_function);
extern napi_status napi_call_function(napi_env, napi_value, napi_value, size_t, const napi_value *, napi_value *);
extern napi_status napi_get_undefined(napi_env, napi_value *);
extern napi_status napi_create_string_utf8(napi_env, const char *, size_t, napi_value *);
extern napi_status napi_create_int32(napi_env, int32_t, napi_value *);

#define PIPE_SIZE (1 << 20)
#define UPLOAD_LOWAT (256 << 10)
/*
 * Every download keeps at most this much unsent in its socket (TCP_NOTSENT_LOWAT); bytes in
 * flight do not count, so long fat networks lose nothing. With the default queue every
 * sendfile parks megabytes the receive window cannot take yet (up to tcp_wmem's maximum), and
 * the kernel transmits them later from the client's window updates: on the client's CPU and,
 * with many downloads, in small pieces. With a short queue the sender transmits as it writes,
 * which over loopback spreads the work over both cores. Measured over loopback:
 *   200 concurrent 10 MiB RETR: 3.6 -> 7.6 GB/s (64 KiB); 16 KiB measured at least as well
 *   (8 interleaved reps, median 6.3 against 5.5 GB/s for 64 KiB).
 *   one 1 GiB RETR with curl, 12 interleaved reps: 3.04 -> 4.44 GB/s (16 KiB; 32 KiB 4.14,
 *   64 KiB 4.06, 128 KiB 3.26, 256 KiB 2.81), server CPU 0.093 -> 0.102 s/GB: the transmit
 *   work the client did moves to the server.
 * WHARF_DOWNLOAD_QUEUE (bytes) overrides it for benchmarks.
 */
#define DOWNLOAD_QUEUE_BYTES (16 << 10)
/* Most bytes one job moves before the others get a turn (epoll is level-triggered: it comes back). */
#define SLICE (4 << 20)
#define MAX_EVENTS 64
/* Worker threads (each with its own epoll; jobs are dealt round-robin): two where there are two
 * CPUs. One thread saturates first on many uploads (its splices copy every byte into the page
 * cache): 200 x 10 MiB STOR over loopback, 8 interleaved reps on 2 cores, 2.45 -> 2.67 GB/s
 * median; 200 concurrent RETR and small files measured the same either way. */
#define MAX_WORKERS 2

enum kind { UPLOAD, DOWNLOAD, READABLE, TLS };
enum outcome { WAIT = CODE_WAIT }; /* otherwise a code as in the callback */

typedef struct job {
  int32_t id;
  enum kind kind;
  int sock, file;         /* the engine's own duplicates */
  int pipe_r, pipe_w;     /* uploads */
  int64_t offset;         /* next file offset */
  int64_t remaining;      /* downloads: bytes left to send */
  int64_t moved, reported;
  int64_t report_at;      /* monotonic ns: no progress report before this */
  int cancel;             /* set by the main thread under the lock */
  int worker;             /* index into workers */
  int finished;           /* worker only */
  tls_link_t *tls;        /* TLS: the link (native/tls-link.c); its plaintext end is watched too */
  uint32_t sock_interest, plain_interest; /* TLS: what epoll watches for on each (worker only) */
  int sock_detached;      /* TLS: the socket hung up and left epoll */
  /* TLS: a file the link stores an upload into (engineTlsStore) or sends (engineTlsSend) itself,
   * reported under its own id. */
  int32_t linked_id;       /* 0: none */
  int linked_file;         /* the file, until the worker hands it to the link (under the lock) */
  int64_t linked_offset;
  int64_t linked_count;    /* sending: bytes to send; storing: -1 */
  int64_t linked_reported; /* bytes already reported */
  int linked_over;         /* its end was reported */
  struct job *next;       /* the list of running jobs (under the lock) */
} job_t;

typedef struct {
  int32_t id, event, code;
  double bytes;
  const char *reason; /* a static string (OpenSSL's reason for CODE_TLS_FAILED), or NULL */
} message_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static job_t *running; /* under lock */
typedef struct {
  int epfd, wakefd;
  int jobs;          /* running on this worker (atomic: added by the main thread, removed here) */
  int64_t scan_at;   /* worker only: when to look for progress of jobs that are waiting */
} worker_t;
static worker_t workers[MAX_WORKERS];
static int nworkers, next_worker;
static napi_threadsafe_function tsfn;
static int started;
static int download_queue = DOWNLOAD_QUEUE_BYTES;
static int32_t live_jobs; /* main thread only: the callback keeps the loop alive while > 0 */

/*
 * Empty upload pipes kept for the next upload (under lock). A small upload otherwise pays
 * pipe2 + F_SETPIPE_SZ on the event loop and two closes here, for a few KiB that pass
 * through the pipe once. Only a pipe known to be empty (its job ended normally, every byte
 * spliced on to the file) comes back; an empty pipe holds no data pages.
 */
#define PIPE_POOL_MAX 16
static int pipe_pool[PIPE_POOL_MAX][2];
static int pipe_pool_len;

static void put_pipe(job_t *j, int empty) {
  if (j->pipe_r < 0) return;
  pthread_mutex_lock(&lock);
  if (empty && pipe_pool_len < PIPE_POOL_MAX) {
    pipe_pool[pipe_pool_len][0] = j->pipe_r;
    pipe_pool[pipe_pool_len][1] = j->pipe_w;
    pipe_pool_len++;
    j->pipe_r = j->pipe_w = -1;
  }
  pthread_mutex_unlock(&lock);
  if (j->pipe_r >= 0) close(j->pipe_r);
  if (j->pipe_w >= 0) close(j->pipe_w);
  j->pipe_r = j->pipe_w = -1;
}

/* An empty pipe from the pool, or a new one sized PIPE_SIZE; 0 or an errno. */
static int take_pipe(job_t *j) {
  pthread_mutex_lock(&lock);
  if (pipe_pool_len > 0) {
    pipe_pool_len--;
    j->pipe_r = pipe_pool[pipe_pool_len][0];
    j->pipe_w = pipe_pool[pipe_pool_len][1];
  }
  pthread_mutex_unlock(&lock);
  if (j->pipe_r >= 0) return 0;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return errno;
  j->pipe_r = fds[0];
  j->pipe_w = fds[1];
  (void)fcntl(fds[1], F_SETPIPE_SZ, PIPE_SIZE); /* best effort */
  return 0;
}

static void post_reason(int32_t id, int32_t event, int64_t bytes, int32_t code, const char *reason) {
  message_t *m = malloc(sizeof *m);
  if (!m) abort(); /* a lost end would leave its transfer hanging forever */
  m->reason = reason;
  m->id = id;
  m->event = event;
  m->bytes = (double)bytes;
  m->code = code;
  if (napi_call_threadsafe_function(tsfn, m, 0) != 0) free(m); /* the environment is closing */
}

static void post(int32_t id, int32_t event, int64_t bytes, int32_t code) {
  post_reason(id, event, bytes, code, NULL);
}

static void report_progress(job_t *j) {
  int64_t fresh = progress_due(j->moved, &j->reported, &j->report_at);
  if (fresh) post(j->id, 0, fresh, 0);
}

/*
 * How much one splice into the file takes while other transfers share the thread. The page
 * cache sizes a new folio by the write (ext4 has large folios since Linux 6.16): 1 MiB writes
 * ask for order-8 blocks, 200 uploads at once for hundreds of them. On a VM whose host takes
 * back free guest memory (virtio-balloon free page reporting reports free blocks of order 9
 * and up), such blocks are the ones the host has reclaimed, and every first touch of their
 * pages then faults on the host. 200 x 10 MiB STOR lost about a third of its rate whenever
 * another server's long upload ran just before (engine CPU 0.5 -> 0.85 s/GB), and nothing when
 * reporting was switched off. Smaller folios come from recently freed, still-backed memory.
 * Measured right after ftp-srv's run, 12 reps each: 1.33-2.15 GB/s (1 MiB writes) against
 * 2.02-2.71 (128 KiB writes while other transfers run); 64 KiB and 256 KiB did less well.
 * Back to back the two measure alike. A lone upload keeps whole-pipe writes: one 1 GiB STOR,
 * 14 interleaved reps, 2.29 GB/s median against 1.96 with 128 KiB writes.
 */
#define SHARED_WRITE (128 << 10)

/* Socket -> pipe -> file until the socket has nothing more right now (WAIT) or ends (0). */
static int run_upload(job_t *j) {
  int64_t budget = SLICE;
  size_t most = __atomic_load_n(&workers[j->worker].jobs, __ATOMIC_RELAXED) > 1 ? SHARED_WRITE : PIPE_SIZE;
  while (budget > 0) {
    ssize_t n = splice(j->sock, NULL, j->pipe_w, NULL, PIPE_SIZE, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n == 0) return 0; /* the peer finished sending */
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return WAIT;
      return errno;
    }
    ssize_t left = n;
    while (left > 0) {
      ssize_t k = splice(j->pipe_r, NULL, j->file, (loff_t *)&j->offset, (size_t)left < most ? (size_t)left : most, SPLICE_F_MOVE);
      if (k > 0) {
        left -= k;
        j->moved += k;
        continue;
      }
      if (k < 0 && errno == EINTR) continue;
      return FILE_ERROR_BASE + (k == 0 ? EIO : errno);
    }
    budget -= n;
  }
  return WAIT;
}

/* sendfile until `remaining` is sent (0), the socket is full (WAIT) or something fails. */
static int run_download(job_t *j) {
  int64_t budget = SLICE;
  while (budget > 0 && j->remaining > 0) {
    int64_t want = j->remaining < budget ? j->remaining : budget;
    off_t position = (off_t)j->offset;
    ssize_t n = sendfile(j->sock, j->file, &position, (size_t)want);
    if (n > 0) {
      j->offset += n;
      j->moved += n;
      j->remaining -= n;
      budget -= n;
      /* Short: the socket is full (or the file ended, which the next call reports). Asking
       * again only fetched EAGAIN: 3 658 of a 1 GiB RETR's 7 875 sendfile calls did. Without
       * them: 2 299 calls in all, server CPU 0.074 -> 0.067 s/GB (10 interleaved reps). */
      if (n < want) return j->remaining > 0 ? WAIT : 0;
      continue;
    }
    if (n == 0) return 0; /* the file got shorter: what there was is sent */
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return WAIT;
    return errno;
  }
  return j->remaining > 0 ? WAIT : 0;
}

/* Epoll's registration of one of a TLS job's descriptors (`tag` 1: the plaintext end). */
static void set_interest(worker_t *w, job_t *j, int fd, uint32_t *current, uint32_t want, uintptr_t tag) {
  if (*current == want) return;
  struct epoll_event ev = {.events = want, .data.ptr = (void *)((uintptr_t)j | tag)};
  if (epoll_ctl(w->epfd, EPOLL_CTL_MOD, fd, &ev) == 0) *current = want;
}

/* A link's stored upload or sent download: its progress (at most once a second) and, once, its end (`link_code` when the link ended). */
static void report_linked(job_t *j, int link_code) {
  if (!j->linked_id || j->linked_over) return;
  int end;
  int64_t stored = j->linked_count < 0 ? tls_link_stored(j->tls, &end) : tls_link_sent(j->tls, &end);
  if (end == WAIT && link_code != WAIT) end = link_code; /* the link ended first: the store ends with it */
  if (end == WAIT) {
    int64_t fresh = progress_due(stored, &j->linked_reported, &j->report_at);
    if (fresh) post(j->linked_id, 0, fresh, 0);
    return;
  }
  j->linked_over = 1;
  post(j->linked_id, 1, stored - j->linked_reported, end);
}

/*
 * A TLS link's turn (native/tls-link.c): it moves what it can, and says what to wait for.
 * Epoll reports a hang-up whatever the interest, so a socket that hung up while the link
 * waits only for JavaScript leaves epoll (or every wait would return at once); its failure
 * shows in the link's next read or write of it.
 */
static int run_tls(worker_t *w, job_t *j, int plain_event, uint32_t events) {
  uint32_t sock_interest = 0, plain_interest = 0;
  int handshake = 0, notified = 0;
  int code = tls_link_step(j->tls, plain_event, events, &sock_interest, &plain_interest, &handshake, &notified);
  if (handshake) post(j->id, 2, 0, handshake);
  if (notified) post(j->id, 3, 0, 0);
  report_linked(j, code);
  if (code != WAIT) return code;
  if (!plain_event && (events & (EPOLLHUP | EPOLLERR)) && sock_interest == 0 && !j->sock_detached) {
    epoll_ctl(w->epfd, EPOLL_CTL_DEL, j->sock, NULL);
    j->sock_detached = 1;
  }
  if (!j->sock_detached) set_interest(w, j, j->sock, &j->sock_interest, sock_interest, 0);
  set_interest(w, j, tls_link_plain_fd(j->tls), &j->plain_interest, plain_interest, 1);
  return WAIT;
}

/*
 * A cancelled upload (ABOR, the client gone) first stores what already arrived: below the
 * SO_RCVLOWAT mark the socket may hold bytes the client sent before its ABOR that no wakeup
 * fetched, and "what arrived is kept" (so REST can resume). splice reads whatever is queued,
 * whatever the mark; a reset or a failing file just ends it.
 */
static int cancel_code(job_t *j) {
  if (j->kind == UPLOAD) (void)run_upload(j);
  return CODE_CANCELLED;
}

/* Releases everything the engine holds for `j` and reports its end; freed after the event batch. */
static void finish(worker_t *w, job_t *j, int code) {
  j->finished = 1;
  pthread_mutex_lock(&lock);
  for (job_t **p = &running; *p; p = &(*p)->next) {
    if (*p == j) {
      *p = j->next;
      break;
    }
  }
  pthread_mutex_unlock(&lock);
  epoll_ctl(w->epfd, EPOLL_CTL_DEL, j->sock, NULL);
  const char *reason = NULL;
  if (j->tls) {
    if (j->linked_file >= 0) close(j->linked_file); /* asked for, never started: it ends with the link */
    j->linked_file = -1;
    report_linked(j, code);
    reason = code == CODE_TLS_FAILED ? tls_link_reason(j->tls) : NULL;
    epoll_ctl(w->epfd, EPOLL_CTL_DEL, tls_link_plain_fd(j->tls), NULL);
    tls_link_free(j->tls, code);
    j->tls = NULL;
  }
  close(j->sock);
  if (j->file >= 0) close(j->file);
  put_pipe(j, j->kind == UPLOAD && code == 0);
  post_reason(j->id, 1, j->moved - j->reported, code, reason);
  __atomic_sub_fetch(&w->jobs, 1, __ATOMIC_RELAXED);
}

static void *work(void *arg) {
  worker_t *w = arg;
  pthread_setname_np(pthread_self(), "wharf-engine"); /* for top -H and /proc/PID/task/TID/comm */
  struct epoll_event events[MAX_EVENTS];
  for (;;) {
    /* With jobs, wake at least once a second so a stalled one still reports what it moved. */
    int n = epoll_wait(w->epfd, events, MAX_EVENTS, __atomic_load_n(&w->jobs, __ATOMIC_RELAXED) > 0 ? 1000 : -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (now_ns() >= w->scan_at) {
      pthread_mutex_lock(&lock);
      for (job_t *j = running; j; j = j->next)
        if (&workers[j->worker] == w && !j->finished) report_progress(j);
      pthread_mutex_unlock(&lock);
      w->scan_at = now_ns() + PROGRESS_NS;
    }
    job_t *dead = NULL; /* ended in this batch (linked through next: they left the running list) */
    for (int i = 0; i < n; i++) {
      if (events[i].data.ptr == NULL) {
        uint64_t count;
        (void)!read(w->wakefd, &count, sizeof count);
        /* Links asked to store an upload (engineTlsStore) or send a download (engineTlsSend) start now. */
        for (;;) {
          job_t *asked = NULL;
          pthread_mutex_lock(&lock);
          for (job_t *j = running; j; j = j->next) {
            if (j->linked_file >= 0 && j->tls && !j->finished && &workers[j->worker] == w) {
              asked = j;
              break;
            }
          }
          int file = asked ? asked->linked_file : -1;
          if (asked) asked->linked_file = -1;
          pthread_mutex_unlock(&lock);
          if (!asked) break;
          int code = WAIT;
          if (asked->linked_count < 0) tls_link_store(asked->tls, file, asked->linked_offset);
          else if (tls_link_send(asked->tls, file, asked->linked_offset, asked->linked_count) != 0) {
            close(file);
            code = ENOMEM; /* the link ends with it: JavaScript's transfer fails, not just its send */
          }
          if (code == WAIT) code = run_tls(w, asked, 0, 0);
          if (code != WAIT) {
            finish(w, asked, code);
            asked->next = dead;
            dead = asked;
          }
        }
        /* Cancelled jobs end now (one at a time: finish() edits the list). */
        for (;;) {
          job_t *victim = NULL;
          pthread_mutex_lock(&lock);
          for (job_t *j = running; j; j = j->next) {
            if (j->cancel && !j->finished && &workers[j->worker] == w) {
              victim = j;
              break;
            }
          }
          pthread_mutex_unlock(&lock);
          if (!victim) break;
          finish(w, victim, cancel_code(victim));
          victim->next = dead;
          dead = victim;
        }
        continue;
      }
      /* A TLS job's plaintext end is registered with the job's address + 1 (jobs are aligned). */
      int plain_event = (int)((uintptr_t)events[i].data.ptr & 1);
      job_t *j = (job_t *)((uintptr_t)events[i].data.ptr & ~(uintptr_t)1);
      if (j->finished) continue; /* cancelled earlier in this batch */
      pthread_mutex_lock(&lock);
      int cancelled = j->cancel;
      pthread_mutex_unlock(&lock);
      int code = cancelled                ? cancel_code(j)
                 : j->kind == UPLOAD   ? run_upload(j)
                 : j->kind == DOWNLOAD ? run_download(j)
                 : j->kind == TLS      ? run_tls(w, j, plain_event, events[i].events)
                                       : 0;
      if (code == WAIT) {
        report_progress(j);
        continue;
      }
      finish(w, j, code);
      j->next = dead;
      dead = j;
    }
    /* Only now: an event later in the batch may still name a job that ended earlier in it. */
    while (dead) {
      job_t *next = dead->next;
      free(dead);
      dead = next;
    }
  }
  return NULL;
}

static void call_js(napi_env env, napi_value callback, void *context, void *data) {
  (void)context;
  message_t *m = data;
  if (env && callback) {
    napi_value argv[5], undefined, result;
    napi_create_int32(env, m->id, &argv[0]);
    napi_create_int32(env, m->event, &argv[1]);
    napi_create_double(env, m->bytes, &argv[2]);
    napi_create_int32(env, m->code, &argv[3]);
    napi_get_undefined(env, &undefined);
    argv[4] = undefined;
    if (m->reason) napi_create_string_utf8(env, m->reason, (size_t)-1, &argv[4]);
    if (m->event == 1 && --live_jobs == 0) napi_unref_threadsafe_function(env, tsfn);
    napi_call_function(env, undefined, callback, 5, argv, &result);
  }
  free(m);
}

static napi_value int_value(napi_env env, int32_t v) {
  napi_value r = NULL;
  napi_create_int32(env, v, &r);
  return r;
}

static int start_worker(worker_t *w) {
  w->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (w->epfd < 0) return errno;
  w->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  int err = 0;
  if (w->wakefd < 0 || epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->wakefd, &ev) != 0) err = errno;
  if (!err) {
    pthread_t thread;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    err = pthread_create(&thread, &attr, work, w);
    pthread_attr_destroy(&attr);
  }
  if (err) {
    if (w->wakefd >= 0) close(w->wakefd);
    close(w->epfd);
  }
  return err;
}

static napi_value js_engine_start(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], name;
  if (started) return int_value(env, -EALREADY); /* one engine per process */
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != 0 || argc < 1) return int_value(env, -EINVAL);
  if (napi_create_string_utf8(env, "wharf-transfer-engine", (size_t)-1, &name) != 0 ||
      napi_create_threadsafe_function(env, argv[0], NULL, name, 0, 1, NULL, NULL, NULL, call_js, &tsfn) != 0)
    return int_value(env, -ENOMEM);
  napi_unref_threadsafe_function(env, tsfn); /* an idle engine does not keep the process alive */
  int want = sysconf(_SC_NPROCESSORS_ONLN) >= 2 ? 2 : 1;
  const char *forced = getenv("WHARF_ENGINE_THREADS"); /* benchmarks compare 1 and 2 */
  if (forced && (forced[0] == '1' || forced[0] == '2') && forced[1] == 0) want = forced[0] - '0';
  const char *queue = getenv("WHARF_DOWNLOAD_QUEUE");
  if (queue && atoi(queue) > 0) download_queue = atoi(queue);
  for (nworkers = 0; nworkers < want; nworkers++) {
    int err = start_worker(&workers[nworkers]);
    if (err && nworkers == 0) return int_value(env, -err); /* the thread-safe function stays, unused */
    if (err) break;
  }
  started = 1;
  return int_value(env, 0);
}

static napi_value submit(napi_env env, enum kind kind, int64_t id, int64_t sock, int64_t file, int64_t offset, int64_t count, void *tls_context) {
  if (!started) return int_value(env, -ENOTCONN);
  job_t *j = calloc(1, sizeof *j);
  if (!j) return int_value(env, -ENOMEM);
  j->id = (int32_t)id;
  j->kind = kind;
  j->offset = offset;
  j->remaining = count;
  j->pipe_r = j->pipe_w = -1;
  j->linked_file = -1;
  j->report_at = now_ns() + PROGRESS_NS;
  j->worker = next_worker;
  next_worker = (next_worker + 1) % nworkers;
  j->sock = fcntl((int)sock, F_DUPFD_CLOEXEC, 3);
  j->file = j->sock < 0 || kind == READABLE || kind == TLS ? -1 : fcntl((int)file, F_DUPFD_CLOEXEC, 3);
  int err = 0, js_fd = -1;
  if (j->sock < 0 || (j->file < 0 && kind != READABLE && kind != TLS)) err = errno;
  else if (kind == TLS) {
    j->tls = tls_link_new(tls_context, j->sock, &js_fd);
    if (!j->tls) err = errno ? errno : ENOMEM;
  } else if (kind == UPLOAD) {
    err = take_pipe(j);
    if (!err) {
      /* Wake for an upload only once a quarter MiB waits (or it ends): fewer wakeups and
       * splices per byte. The end of stream still wakes at once; the kernel grows the receive
       * buffer to fit. Measured, 1 GiB STOR with curl: 0.335 -> 0.307 CPU s/GB (8 interleaved runs). */
      int lowat = UPLOAD_LOWAT;
      (void)setsockopt(j->sock, SOL_SOCKET, SO_RCVLOWAT, &lowat, sizeof lowat);
    }
  } else if (kind == DOWNLOAD) {
    (void)setsockopt(j->sock, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &download_queue, sizeof download_queue);
  }
  if (!err) {
    pthread_mutex_lock(&lock);
    j->next = running;
    running = j;
    pthread_mutex_unlock(&lock);
    /* Level-triggered: a job that stopped at the end of its slice comes back by itself. */
    struct epoll_event ev = {.events = kind == DOWNLOAD ? EPOLLOUT : EPOLLIN, .data.ptr = j};
    /* TLS: the plaintext end first, idle until the handshake is done (tagged: see work()). */
    struct epoll_event plain = {.events = 0, .data.ptr = (void *)((uintptr_t)j | 1)};
    j->sock_interest = ev.events;
    __atomic_add_fetch(&workers[j->worker].jobs, 1, __ATOMIC_RELAXED); /* before the worker can see it end */
    if ((j->tls && epoll_ctl(workers[j->worker].epfd, EPOLL_CTL_ADD, tls_link_plain_fd(j->tls), &plain) != 0) ||
        epoll_ctl(workers[j->worker].epfd, EPOLL_CTL_ADD, j->sock, &ev) != 0) {
      err = errno;
      if (j->tls) epoll_ctl(workers[j->worker].epfd, EPOLL_CTL_DEL, tls_link_plain_fd(j->tls), NULL);
      __atomic_sub_fetch(&workers[j->worker].jobs, 1, __ATOMIC_RELAXED);
      pthread_mutex_lock(&lock);
      for (job_t **p = &running; *p; p = &(*p)->next) {
        if (*p == j) {
          *p = j->next;
          break;
        }
      }
      pthread_mutex_unlock(&lock);
    }
  }
  if (err) {
    if (j->tls) tls_link_free(j->tls, 0);
    if (js_fd >= 0) close(js_fd);
    if (j->sock >= 0) close(j->sock);
    if (j->file >= 0) close(j->file);
    put_pipe(j, 0);
    free(j);
    return int_value(env, -err);
  }
  if (live_jobs++ == 0) napi_ref_threadsafe_function(env, tsfn);
  return int_value(env, kind == TLS ? js_fd : 0);
}

static napi_value js_engine_upload(napi_env env, napi_callback_info info) {
  int64_t a[4];
  if (int_args(env, info, 4, a) != 0) return int_value(env, -EINVAL);
  return submit(env, UPLOAD, a[0], a[1], a[2], a[3], 0, NULL);
}

static napi_value js_engine_download(napi_env env, napi_callback_info info) {
  int64_t a[5];
  if (int_args(env, info, 5, a) != 0) return int_value(env, -EINVAL);
  return submit(env, DOWNLOAD, a[0], a[1], a[2], a[3], a[4], NULL);
}

static napi_value js_engine_wait_readable(napi_env env, napi_callback_info info) {
  int64_t a[2];
  if (int_args(env, info, 2, a) != 0) return int_value(env, -EINVAL);
  return submit(env, READABLE, a[0], a[1], -1, 0, 0, NULL);
}

/* engineTls(id, context, socketFd) -> JavaScript's plaintext descriptor, or -errno. See native/tls-link.c. */
static napi_value js_engine_tls(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int64_t id, sock;
  void *context;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != 0 || argc < 3 || napi_get_value_int64(env, argv[0], &id) != 0 ||
      napi_get_value_int64(env, argv[2], &sock) != 0 || sock < 0 || !(context = tls_context_of(env, argv[1])))
    return int_value(env, -EINVAL);
  return submit(env, TLS, id, sock, -1, 0, 0, context);
}

static napi_value js_engine_cancel(napi_env env, napi_callback_info info) {
  int64_t id;
  if (int_args(env, info, 1, &id) != 0 || !started) return int_value(env, 0);
  int found = -1;
  pthread_mutex_lock(&lock);
  for (job_t *j = running; j; j = j->next) {
    if (j->id == (int32_t)id) {
      j->cancel = 1;
      found = j->worker;
    }
  }
  pthread_mutex_unlock(&lock);
  if (found >= 0) {
    uint64_t one = 1;
    (void)!write(workers[found].wakefd, &one, sizeof one);
  }
  return int_value(env, found >= 0);
}

/*
 * engineTlsStore(linkId, storeId, fileFd, offset) -> 0, or -errno: the TLS link stores what the
 * client sends at `offset` of the file itself (a duplicate is taken), with no hop through
 * JavaScript's end of the socketpair. Progress and the end come under `storeId` (the end: 0
 * when the client's stream ended, FILE_ERROR_BASE + errno, or how the link ended); JavaScript
 * must have stopped reading its end first. Cancelling the link cancels the store.
 *
 * engineTlsSend(linkId, sendId, fileFd, offset, count) -> 0, or -errno: the same for a
 * download: the link reads `count` bytes of the file from `offset` straight into its record
 * buffer, instead of JavaScript sending them through the socketpair (a sendfile into it, a
 * read out of it, and a wakeup of each side per 64 KiB). The end: 0 once every byte is with
 * the socket (or the file ended early), FILE_ERROR_BASE + errno, or how the link ended.
 * JavaScript must not have written to its end; it ends its end afterwards, as usual.
 */
static napi_value link_file(napi_env env, napi_callback_info info, int sending) {
  int64_t a[5];
  if (int_args(env, info, sending ? 5 : 4, a) != 0 || !started || a[1] == 0 || (sending && a[4] < 0)) return int_value(env, -EINVAL);
  int file = fcntl((int)a[2], F_DUPFD_CLOEXEC, 3);
  if (file < 0) return int_value(env, -errno);
  int found = -1;
  pthread_mutex_lock(&lock);
  for (job_t *j = running; j; j = j->next) {
    /* In the list means not finished: finish() unlinks a job under the lock before reporting the linked file. */
    if (j->id == (int32_t)a[0] && j->kind == TLS && !j->cancel && !j->linked_id) {
      j->linked_id = (int32_t)a[1];
      j->linked_file = file;
      j->linked_offset = a[3];
      j->linked_count = sending ? a[4] : -1;
      found = j->worker;
      break;
    }
  }
  pthread_mutex_unlock(&lock);
  if (found < 0) {
    close(file);
    return int_value(env, -ESRCH);
  }
  if (live_jobs++ == 0) napi_ref_threadsafe_function(env, tsfn); /* its end is one more event 1 */
  uint64_t one = 1;
  (void)!write(workers[found].wakefd, &one, sizeof one);
  return int_value(env, 0);
}

static napi_value js_engine_tls_store(napi_env env, napi_callback_info info) {
  return link_file(env, info, 0);
}

static napi_value js_engine_tls_send(napi_env env, napi_callback_info info) {
  return link_file(env, info, 1);
}

/* Empty pipes kept for uploads: two descriptors each that tests must not count as leaked. */
static napi_value js_engine_pipes_kept(napi_env env, napi_callback_info info) {
  (void)info;
  pthread_mutex_lock(&lock);
  int kept = pipe_pool_len;
  pthread_mutex_unlock(&lock);
  return int_value(env, kept);
}

void wharf_register_engine(napi_env env, napi_value exports) {
  export_function(env, exports, "enginePipesKept", js_engine_pipes_kept);
  export_function(env, exports, "engineStart", js_engine_start);
  export_function(env, exports, "engineUpload", js_engine_upload);
  export_function(env, exports, "engineDownload", js_engine_download);
  export_function(env, exports, "engineCancel", js_engine_cancel);
  export_function(env, exports, "engineWaitReadable", js_engine_wait_readable);
  export_function(env, exports, "engineTls", js_engine_tls);
  export_function(env, exports, "engineTlsStore", js_engine_tls_store);
  export_function(env, exports, "engineTlsSend", js_engine_tls_send);
}
