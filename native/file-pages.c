/*
 * releaseFilePages() -> KiB of file-backed pages unmapped from this process, or -errno
 *
 * Why: most of an idle Wharf's resident memory is not its data but the node executable's
 * pages. Starting up runs a lot of code once (module loading, compiling, V8's and ICU's
 * initialisation), and the kernel maps every page it faults in plus its neighbours
 * (fault-around, read-around): an idle server held 38 MiB of /usr/bin/node mapped against
 * 14 MiB of its own data. Those pages stay mapped, and counted in its RSS, for as long as the
 * process lives, though an idle server never runs most of that code again.
 *
 * MADV_DONTNEED on a private file mapping that was never written drops this process's page
 * table entries only: the pages stay in the page cache (shared with every other process), and
 * the next access maps them back with a minor fault, identical content, since they come
 * from the same file. What the server does run (a login, a listing) is mapped again as it
 * runs; the rest becomes ordinary unmapped page cache that the kernel can reclaim first.
 *
 * Only a mapping that is safe to drop is touched: a private (p), read-only (no w) mapping of
 * a file on disk whose smaps shows "Anonymous: 0 kB". A copy-on-write page (relocations in
 * .data.rel.ro, written before it was made read-only) is anonymous: dropping it would bring
 * back the file's unrelocated bytes, so a mapping holding any is left alone. A read-only
 * mapping cannot gain such a page between the check and the madvise (that would need an
 * mprotect first, which Node does not do to its executable or libraries).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "napi-decl.h"

typedef struct {
  uintptr_t start, end;
  long rss_kb;
} region_t;

#define MAX_REGIONS 512

static napi_value js_release_file_pages(napi_env env, napi_callback_info info) {
  (void)info;
  FILE *smaps = fopen("/proc/self/smaps", "re");
  if (!smaps) return number(env, -(double)errno);
  static region_t regions[MAX_REGIONS]; /* main thread only (every call comes from JavaScript) */
  int count = 0;
  int candidate = 0; /* the current mapping qualifies so far */
  region_t current = {0, 0, 0};
  char *line = NULL;
  size_t capacity = 0;
  while (getline(&line, &capacity, smaps) > 0) {
    uintptr_t start, end;
    char perms[5];
    int path_at = 0;
    if (sscanf(line, "%lx-%lx %4s %*s %*s %*s %n", &start, &end, perms, &path_at) == 3 && path_at > 0) {
      candidate = perms[0] == 'r' && perms[1] == '-' && perms[3] == 'p' && line[path_at] == '/' && !strstr(line + path_at, " (deleted)");
      current = (region_t){start, end, 0};
      continue;
    }
    if (!candidate) continue;
    long kb = 0;
    if (sscanf(line, "Rss: %ld kB", &kb) == 1) {
      current.rss_kb = kb;
      if (kb == 0) candidate = 0; /* nothing mapped: nothing to drop */
    } else if (sscanf(line, "Anonymous: %ld kB", &kb) == 1) {
      if (kb == 0 && count < MAX_REGIONS) regions[count++] = current;
      candidate = 0; /* decided */
    }
  }
  free(line);
  fclose(smaps);
  long released = 0;
  for (int i = 0; i < count; i++)
    if (madvise((void *)regions[i].start, regions[i].end - regions[i].start, MADV_DONTNEED) == 0) released += regions[i].rss_kb;
  return number(env, (double)released);
}

__attribute__((visibility("hidden"))) void wharf_register_file_pages(napi_env env, napi_value exports) {
  export_function(env, exports, "releaseFilePages", js_release_file_pages);
}
