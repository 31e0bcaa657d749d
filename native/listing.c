/*
 * Directory listings formatted in C (LIST `ls -l` lines and MLSD fact lines).
 *
 *   listOpen(path, format, nowMs, facts, permFile, permDir, permOther)
 *                                   -> handle (an external), or -errno
 *   listFill(handle, out, offset)   -> end * 4 + status, or -errno (readdir failed)
 *   listName(handle)                -> Buffer: the raw name of the entry that status 2 handed back
 *                                      (ask before the next listFill, which moves past it)
 *   listClose(handle)               -> 0 (closing twice is harmless; a forgotten handle is
 *                                      closed when it is garbage collected)
 *
 * listFill appends CRLF-terminated lines to `out` from `offset` and stops with status
 *   0  fewer than LINE_ROOM bytes of room are left (no entry is read and then dropped),
 *   1  the directory has no more entries,
 *   2  the next entry must be formatted by JavaScript (listName gives its name): symlinks,
 *      whose description needs the root-containment check, and the rare entries whose
 *      JavaScript form is not simply their bytes and numbers (see needs_javascript).
 * `end` is the offset just past the last byte written.
 *
 * Why: per entry, the JavaScript path pays a readdir call, a full-path lstat, a FileStat
 * object with a Date and a string per line; cold (before V8 optimizes it), the first listing
 * after start costs several times more. Here each entry is one readdir step, one fstatat
 * relative to the directory's descriptor, and a few bytes written in place.
 *
 * Entries are read in batches of up to BATCH names, then stat'ed, then formatted in
 * directory order. The fstatat calls are most of a big listing's time (the kernel's name
 * lookup: 64% of the CPU of a 10 000-entry MLSD here, readdir 16%), so in a batch of PARALLEL_MIN names
 * or more a helper thread stats the second half while the calling thread stats the first.
 * On this 2-core machine that took the stat calls of 10 000 entries from 7.5 to 4.8 ms and a
 * whole 10 000-entry MLSD from ~10 to ~8 ms when the other core was free (readdir and the
 * formatting stay on one thread), for ~20% more CPU in all.
 * Helpers are few (MAX_HELPERS at once, none on one core); a listing that finds none free
 * stats alone, as small directories always do.
 *
 * The output must be byte-identical to ListLineFormatter.line / FactsFormatter.line in
 * src/ftp/listing.ts (test/e2e/native-listing.test.ts compares the two paths).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "napi-decl.h"

#define LIST_MAGIC 0x4c495354u
/* A line is at most ~550 bytes (255-byte name, 20-digit numbers, every fact). */
#define LINE_ROOM 1024
#define STATUS_FULL 0
#define STATUS_END 1
#define STATUS_JAVASCRIPT 2

/* Fact bits, as src/core/storage/native-listing.ts passes them. */
#define FACT_TYPE 1u
#define FACT_SIZE 2u
#define FACT_MODIFY 4u
#define FACT_PERM 8u
#define FACT_UNIQUE 16u
#define FACT_UNIX_MODE 32u

#define MAX_SAFE_INTEGER 9007199254740992.0 /* 2^53: above it a JavaScript number is not exact */
#define MAX_DATE_MS 8.64e15                 /* beyond it a JavaScript Date is invalid */
#define SIX_MONTHS_MS (182.5 * 24 * 3600 * 1000)
#define DAY_MS 86400000LL

enum { PERM_FILE, PERM_DIR, PERM_OTHER };

/* Names read ahead per batch: 512 x (256 + ~150) bytes, ~0.2 MiB while a listing is open. */
#define BATCH 512
/* Fewer names than this are stat'ed by the calling thread alone (a helper's wakeup would cost more than it saves). */
#define PARALLEL_MIN 256
#define MAX_HELPERS 4

typedef struct {
  char name[256];
  unsigned short name_len;
  int ok; /* fstatat succeeded: vanished or unreadable entries are skipped, as in JavaScript */
  struct stat st;
} batch_entry;

/* A thread that stats the upper part of a batch while the caller stats the lower part. */
typedef struct {
  pthread_t thread;
  sem_t go, done;
  int quit;
  int dir_fd;
  batch_entry *from, *to;
} stat_helper;

/* Helpers running in the process, against MAX_HELPERS. */
static atomic_int helpers_running;

typedef struct {
  uint32_t magic;
  DIR *dir;
  batch_entry *batch; /* allocated on the first fill */
  size_t batch_len, batch_next;
  int read_errno;  /* readdir failed after the entries of the batch: reported once they are sent */
  int at_end;      /* readdir said there is no more */
  stat_helper *helper; /* started by the first batch of PARALLEL_MIN names, if one may */
  int facts_format; /* 0: LIST lines, 1: MLSD fact lines */
  double now;
  uint32_t facts;
  char perm[3][24]; /* "perm=...;" per entry type, or "" */
  size_t perm_len[3];
} listing;

static const char MONTHS[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static void stat_range(int dir_fd, batch_entry *from, batch_entry *to) {
  for (batch_entry *e = from; e < to; e++) e->ok = fstatat(dir_fd, e->name, &e->st, AT_SYMLINK_NOFOLLOW) == 0;
}

static void *helper_main(void *arg) {
  stat_helper *h = arg;
  for (;;) {
    while (sem_wait(&h->go) != 0) {
    } /* EINTR */
    if (h->quit) return NULL;
    stat_range(h->dir_fd, h->from, h->to);
    sem_post(&h->done);
  }
}

/* How many helpers the process may run: none on one core, at most one fewer than the cores. */
static int helper_limit(void) {
  static int limit = -1;
  if (limit < 0) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    limit = cores <= 1 ? 0 : cores - 1 < MAX_HELPERS ? (int)cores - 1 : MAX_HELPERS;
  }
  return limit;
}

/* A helper for this listing, or NULL (none free, or the thread could not start). */
static stat_helper *start_helper(int dir_fd) {
  if (atomic_fetch_add(&helpers_running, 1) >= helper_limit()) {
    atomic_fetch_sub(&helpers_running, 1);
    return NULL;
  }
  stat_helper *h = calloc(1, sizeof *h);
  if (h && sem_init(&h->go, 0, 0) == 0) {
    if (sem_init(&h->done, 0, 0) == 0) {
      h->dir_fd = dir_fd;
      pthread_attr_t attr;
      pthread_attr_init(&attr);
      pthread_attr_setstacksize(&attr, 256 * 1024);
      int err = pthread_create(&h->thread, &attr, helper_main, h);
      pthread_attr_destroy(&attr);
      if (err == 0) return h;
      sem_destroy(&h->done);
    }
    sem_destroy(&h->go);
  }
  free(h);
  atomic_fetch_sub(&helpers_running, 1);
  return NULL;
}

static void stop_helper(stat_helper *h) {
  h->quit = 1;
  sem_post(&h->go);
  pthread_join(h->thread, NULL);
  sem_destroy(&h->go);
  sem_destroy(&h->done);
  free(h);
  atomic_fetch_sub(&helpers_running, 1);
}

/* Closes the directory and lets go of everything a listing holds (close and finalize both). */
static void release_listing(listing *l) {
  if (l->helper) stop_helper(l->helper);
  l->helper = NULL;
  if (l->dir) closedir(l->dir);
  l->dir = NULL;
  free(l->batch);
  l->batch = NULL;
}

static void finalize_listing(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  listing *l = data;
  release_listing(l);
  l->magic = 0;
  free(l);
}

static listing *listing_of(napi_env env, napi_value value) {
  void *data = NULL;
  if (napi_get_value_external(env, value, &data) != 0 || data == NULL) return NULL;
  listing *l = data;
  return l->magic == LIST_MAGIC ? l : NULL;
}

/* ---- small writers: each returns the new write position ---- */

static char *put(char *p, const char *s, size_t n) {
  memcpy(p, s, n);
  return p + n;
}

#define PUT_LITERAL(p, s) put((p), (s), sizeof(s) - 1)

static size_t digits_of(uint64_t v, char *tmp) {
  size_t n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  return n; /* reversed */
}

/* Decimal, right-aligned in `width` with spaces (JavaScript padStart with spaces). */
static char *put_padded(char *p, uint64_t v, size_t width) {
  char tmp[24];
  size_t n = digits_of(v, tmp);
  while (width > n) {
    *p++ = ' ';
    width--;
  }
  while (n) *p++ = tmp[--n];
  return p;
}

static char *put_int(char *p, int64_t v) {
  if (v < 0) {
    *p++ = '-';
    return put_padded(p, (uint64_t)(-(v + 1)) + 1, 0);
  }
  return put_padded(p, (uint64_t)v, 0);
}

static char *put_hex(char *p, uint64_t v) {
  char tmp[20];
  size_t n = 0;
  do {
    tmp[n++] = "0123456789abcdef"[v & 15];
    v >>= 4;
  } while (v);
  while (n) *p++ = tmp[--n];
  return p;
}

static char *put_octal(char *p, unsigned v) {
  char tmp[8];
  size_t n = 0;
  do {
    tmp[n++] = (char)('0' + (v & 7));
    v >>= 3;
  } while (v);
  while (n) *p++ = tmp[--n];
  return p;
}

static char *put2(char *p, int v) {
  *p++ = (char)('0' + v / 10);
  *p++ = (char)('0' + v % 10);
  return p;
}

/* ---- dates: JavaScript's proleptic Gregorian UTC calendar, from whole milliseconds ---- */

typedef struct {
  int64_t year;
  int month; /* 0-11 */
  int day, hour, minute, second;
} utc_time;

/* Days since 1970-01-01 to a civil date (H. Hinnant's algorithm; exact for every Date). */
static utc_time utc_of(int64_t ms) {
  utc_time t;
  int64_t days = ms / DAY_MS, rest = ms % DAY_MS;
  if (rest < 0) {
    rest += DAY_MS;
    days -= 1;
  }
  t.hour = (int)(rest / 3600000);
  t.minute = (int)(rest / 60000 % 60);
  t.second = (int)(rest / 1000 % 60);
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  t.day = (int)(doy - (153 * mp + 2) / 5 + 1);
  int m = (int)(mp < 10 ? mp + 3 : mp - 9);
  t.year = yoe + era * 400 + (m <= 2);
  t.month = m - 1;
  return t;
}

/* Math.round as JavaScript defines it: halves go up (towards +Infinity). */
static double js_round(double x) {
  double f = floor(x);
  return x - f >= 0.5 ? f + 1 : f;
}

/* ---- one line ---- */

/*
 * Entries whose line JavaScript must write: a symlink (described through the containment
 * check), numbers a JavaScript number would round (size, inode, device beyond 2^53), a
 * modification time no Date can hold. Names need no check: core/bytes.ts round-trips every
 * byte sequence, so the JavaScript path sends a name's bytes as they are, as C does.
 */
static int needs_javascript(const struct stat *st, double ms) {
  if (S_ISLNK(st->st_mode)) return 1;
  if ((double)st->st_size > MAX_SAFE_INTEGER || (double)st->st_ino > MAX_SAFE_INTEGER || (double)st->st_dev > MAX_SAFE_INTEGER) return 1;
  if (!(fabs(ms) <= MAX_DATE_MS)) return 1;
  return 0;
}

static char *put_mode_string(char *p, const struct stat *st) {
  unsigned mode = st->st_mode & 07777;
  *p++ = S_ISREG(st->st_mode) ? '-' : S_ISDIR(st->st_mode) ? 'd' : '?';
  const char *bits = "rwxrwxrwx";
  char *perms = p;
  for (int i = 0; i < 9; i++) *p++ = mode & (1u << (8 - i)) ? bits[i] : '-';
  if (mode & 04000) perms[2] = mode & 0100 ? 's' : 'S';
  if (mode & 02000) perms[5] = mode & 0010 ? 's' : 'S';
  if (mode & 01000) perms[8] = mode & 0001 ? 't' : 'T';
  return p;
}

/* `-rw-r--r--    1 ftp      ftp               12 Mar 04 10:15 name` (ListLineFormatter.line). */
static char *put_ls_line(char *p, const listing *l, const struct stat *st, double ms) {
  p = put_mode_string(p, st);
  *p++ = ' ';
  p = put_padded(p, (uint64_t)st->st_nlink, 4);
  p = PUT_LITERAL(p, " ftp      ftp      ");
  p = put_padded(p, (uint64_t)st->st_size, 12);
  *p++ = ' ';
  utc_time t = utc_of((int64_t)ms);
  p = put(p, MONTHS[t.month], 3);
  *p++ = ' ';
  p = put2(p, t.day);
  *p++ = ' ';
  double age = l->now - ms;
  if (age < SIX_MONTHS_MS && age > -SIX_MONTHS_MS) {
    p = put2(p, t.hour);
    *p++ = ':';
    p = put2(p, t.minute);
  } else {
    *p++ = ' ';
    p = put_int(p, t.year);
  }
  return p;
}

/* `type=file;size=12;modify=20240304101500;perm=adfrw;unique=803g1a2b;unix.mode=0644;` (FactsFormatter.line). */
static char *put_facts(char *p, const listing *l, const struct stat *st, double ms) {
  int is_dir = S_ISDIR(st->st_mode), is_file = S_ISREG(st->st_mode);
  if (l->facts & FACT_TYPE) {
    if (is_dir) p = PUT_LITERAL(p, "type=dir;");
    else if (is_file) p = PUT_LITERAL(p, "type=file;");
    else p = PUT_LITERAL(p, "type=OS.unix=special;");
  }
  if ((l->facts & FACT_SIZE) && !is_dir) {
    p = PUT_LITERAL(p, "size=");
    p = put_padded(p, (uint64_t)st->st_size, 0);
    *p++ = ';';
  }
  if (l->facts & FACT_MODIFY) {
    utc_time t = utc_of((int64_t)floor(ms / 1000) * 1000);
    p = PUT_LITERAL(p, "modify=");
    p = put_int(p, t.year);
    p = put2(p, t.month + 1);
    p = put2(p, t.day);
    p = put2(p, t.hour);
    p = put2(p, t.minute);
    p = put2(p, t.second);
    *p++ = ';';
  }
  int kind = is_dir ? PERM_DIR : is_file ? PERM_FILE : PERM_OTHER;
  p = put(p, l->perm[kind], l->perm_len[kind]);
  if (l->facts & FACT_UNIQUE) {
    p = PUT_LITERAL(p, "unique=");
    p = put_hex(p, (uint64_t)st->st_dev);
    *p++ = 'g';
    p = put_hex(p, (uint64_t)st->st_ino);
    *p++ = ';';
  }
  if (l->facts & FACT_UNIX_MODE) {
    p = PUT_LITERAL(p, "unix.mode=0");
    p = put_octal(p, st->st_mode & 07777);
    *p++ = ';';
  }
  return p;
}

/* ---- the exported functions ---- */

static napi_value js_list_open(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  void *path_data = NULL;
  size_t path_len = 0;
  int32_t format = 0;
  double now = 0;
  uint32_t facts = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != 0 || argc < 7 ||
      napi_get_buffer_info(env, argv[0], &path_data, &path_len) != 0 || napi_get_value_int32(env, argv[1], &format) != 0 ||
      napi_get_value_double(env, argv[2], &now) != 0 || napi_get_value_uint32(env, argv[3], &facts) != 0 || path_len == 0 ||
      memchr(path_data, 0, path_len) != NULL)
    return number(env, -EINVAL);
  listing *l = calloc(1, sizeof *l);
  char *path = malloc(path_len + 1);
  if (!l || !path) {
    free(l);
    free(path);
    return number(env, -ENOMEM);
  }
  for (int i = 0; i < 3; i++) {
    char letters[16];
    size_t n = 0;
    if (napi_get_value_string_latin1(env, argv[4 + i], letters, sizeof letters, &n) != 0) {
      free(l);
      free(path);
      return number(env, -EINVAL);
    }
    if (facts & FACT_PERM) {
      char *p = PUT_LITERAL(l->perm[i], "perm=");
      p = put(p, letters, n);
      *p++ = ';';
      l->perm_len[i] = (size_t)(p - l->perm[i]);
    }
  }
  memcpy(path, path_data, path_len);
  path[path_len] = 0;
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int err = errno;
  free(path);
  if (fd < 0) {
    free(l);
    return number(env, -err);
  }
  l->dir = fdopendir(fd);
  if (!l->dir) {
    err = errno;
    close(fd);
    free(l);
    return number(env, -err);
  }
  l->magic = LIST_MAGIC;
  l->facts_format = format == 1;
  l->now = now;
  l->facts = facts;
  napi_value handle = NULL;
  if (napi_create_external(env, l, finalize_listing, NULL, &handle) != 0) {
    closedir(l->dir);
    free(l);
    return number(env, -ENOMEM);
  }
  return handle;
}

/*
 * Reads the next batch of names and stats them. False when there is nothing left to send
 * (the end, or a readdir error, which is then in read_errno).
 */
static int refill(listing *l) {
  l->batch_len = l->batch_next = 0;
  if (l->at_end) return 0;
  if (!l->batch && !(l->batch = malloc(BATCH * sizeof *l->batch))) {
    l->read_errno = ENOMEM;
    l->at_end = 1;
    return 0;
  }
  size_t n = 0;
  while (n < BATCH) {
    errno = 0;
    struct dirent *entry = readdir(l->dir);
    if (!entry) {
      l->read_errno = errno;
      l->at_end = 1;
      break;
    }
    const char *name = entry->d_name;
    if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0))) continue;
    size_t len = strlen(name);
    if (len > 255) continue; /* not on Linux (NAME_MAX) */
    memcpy(l->batch[n].name, name, len + 1);
    l->batch[n].name_len = (unsigned short)len;
    n++;
  }
  int dir_fd = dirfd(l->dir);
  batch_entry *b = l->batch;
  if (n >= PARALLEL_MIN && !l->helper) l->helper = start_helper(dir_fd);
  if (n >= PARALLEL_MIN && l->helper) {
    stat_helper *h = l->helper;
    h->from = b + n / 2;
    h->to = b + n;
    sem_post(&h->go);
    stat_range(dir_fd, b, b + n / 2);
    while (sem_wait(&h->done) != 0) {
    } /* EINTR */
  } else stat_range(dir_fd, b, b + n);
  l->batch_len = n;
  return n > 0;
}

static napi_value js_list_fill(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  void *data = NULL;
  size_t length = 0;
  uint32_t offset = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != 0 || argc < 3) return number(env, -EINVAL);
  listing *l = listing_of(env, argv[0]);
  if (!l || !l->dir) return number(env, -EBADF);
  if (napi_get_buffer_info(env, argv[1], &data, &length) != 0 || napi_get_value_uint32(env, argv[2], &offset) != 0 || offset > length)
    return number(env, -EINVAL);
  char *start = data, *p = start + offset, *end = start + length;
  for (;;) {
    if ((size_t)(end - p) < LINE_ROOM) return number(env, (double)(p - start) * 4 + STATUS_FULL);
    if (l->batch_next == l->batch_len && !refill(l)) {
      if (!l->read_errno) return number(env, (double)(p - start) * 4 + STATUS_END);
      /* The lines before a readdir error go out first; the next call reports it. */
      if (p > start + offset) return number(env, (double)(p - start) * 4 + STATUS_FULL);
      int err = l->read_errno;
      l->read_errno = 0;
      return number(env, -err);
    }
    batch_entry *e = &l->batch[l->batch_next++];
    if (!e->ok) continue;
    /* As lstatEntry computes mtimeMs, then new Date(Math.round(...)). */
    double ms = js_round((double)e->st.st_mtim.tv_sec * 1e3 + (double)e->st.st_mtim.tv_nsec / 1e6);
    if (needs_javascript(&e->st, ms)) return number(env, (double)(p - start) * 4 + STATUS_JAVASCRIPT); /* listName: e */
    p = l->facts_format ? put_facts(p, l, &e->st, ms) : put_ls_line(p, l, &e->st, ms);
    *p++ = ' ';
    p = put(p, e->name, e->name_len);
    *p++ = '\r';
    *p++ = '\n';
  }
}

static napi_value js_list_name(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_value result = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != 0 || argc < 1) return number(env, -EINVAL);
  listing *l = listing_of(env, argv[0]);
  if (!l || !l->batch || l->batch_next == 0) return number(env, -EBADF);
  const batch_entry *e = &l->batch[l->batch_next - 1]; /* the entry listFill last handed back */
  if (napi_create_buffer_copy(env, e->name_len, e->name, NULL, &result) != 0) return number(env, -ENOMEM);
  return result;
}

static napi_value js_list_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != 0 || argc < 1) return number(env, -EINVAL);
  listing *l = listing_of(env, argv[0]);
  if (l) release_listing(l);
  return number(env, 0);
}

__attribute__((visibility("hidden"))) void wharf_register_listing(napi_env env, napi_value exports) {
  export_function(env, exports, "listOpen", js_list_open);
  export_function(env, exports, "listFill", js_list_fill);
  export_function(env, exports, "listName", js_list_name);
  export_function(env, exports, "listClose", js_list_close);
}
