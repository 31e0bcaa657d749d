/*
 * Passive data connections without net.Server or net.Socket (src/ftp/data/native-endpoint.ts).
 *
 *   dataListen(host, port)  -> listening fd (non-blocking, close-on-exec, backlog 4), or -errno
 *   dataPort(fd)            -> the local port of a bound socket, or -errno
 *   dataAccept(fd)          -> [connectedFd, peerIp] (non-blocking, close-on-exec), or -errno
 *                              (-EAGAIN: nothing is queued)
 *   dataReset(fd)           -> 0: SO_LINGER 0 and close (a foreign peer gets RST, not a byte)
 *   dataEnd(fd)             -> 0 when closed; 1 when the peer sent bytes and may send more
 *                              (not closed: closing would answer them with RST, see below)
 *   dataClose(fd)           -> 0, or -errno
 *   dataUnlisten(fd)        -> 0, or -errno: stops a listener at once, then closes it
 *
 * Why: every passive transfer used to cost a net.Server (listen, its handle, its events) and
 * a net.Socket (handle, stream state, readable and writable machinery) on the event loop,
 * about a fifth of the CPU of a small-file transfer. A plain binary RETR or STOR needs none of
 * that: a listening descriptor, one accept4 and a descriptor that sendfile or the transfer
 * engine (native/engine.c) uses directly.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "napi-decl.h"

extern napi_status napi_create_string_latin1(napi_env, const char *, size_t, napi_value *);

#define BACKLOG 4 /* a passive port serves one client; a few extra are refused promptly */

static int fd_arg(napi_env env, napi_callback_info info, int32_t *fd) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != 0 || argc < 1) return -1;
  if (napi_get_value_int32(env, argv[0], fd) != 0 || *fd < 0) return -1;
  return 0;
}

/* host: an IPv4 or IPv6 literal (an IPv6 one may carry %zone). */
static int parse_host(const char *host, struct sockaddr_storage *ss, socklen_t *len, int port) {
  memset(ss, 0, sizeof *ss);
  struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
  if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
    *len = sizeof *v4;
    return 0;
  }
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
  char copy[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  size_t n = strlen(host);
  if (n >= sizeof copy) return -EINVAL;
  memcpy(copy, host, n + 1);
  char *zone = strchr(copy, '%');
  if (zone) *zone++ = 0;
  if (inet_pton(AF_INET6, copy, &v6->sin6_addr) != 1) return -EINVAL;
  if (zone) {
    v6->sin6_scope_id = if_nametoindex(zone);
    if (v6->sin6_scope_id == 0) return -EINVAL;
  }
  v6->sin6_family = AF_INET6;
  v6->sin6_port = htons((uint16_t)port);
  *len = sizeof *v6;
  return 0;
}

static napi_value js_data_listen(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  size_t host_len = 0;
  int32_t port;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != 0 || argc < 2 ||
      napi_get_value_string_latin1(env, argv[0], host, sizeof host, &host_len) != 0 ||
      napi_get_value_int32(env, argv[1], &port) != 0 || port < 0 || port > 65535)
    return number(env, -EINVAL);
  struct sockaddr_storage ss;
  socklen_t len;
  int err = parse_host(host, &ss, &len, port);
  if (err) return number(env, err);
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return number(env, -errno);
  /*
   * SO_REUSEADDR as libuv sets it on every TCP bind (net.Server did so here before): the data
   * connections this server closes first leave TIME_WAIT entries on their passive port, and
   * without it no new listener could bind that port for a minute. On Linux it never lets two
   * listeners share a port, so the bind stays the atomic test of freedom.
   */
  int on = 1;
  (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, BACKLOG) != 0) {
    err = errno;
    close(fd);
    return number(env, -err);
  }
  return number(env, fd);
}

static napi_value js_data_port(napi_env env, napi_callback_info info) {
  int32_t fd;
  if (fd_arg(env, info, &fd) != 0) return number(env, -EINVAL);
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return number(env, -errno);
  if (ss.ss_family == AF_INET) return number(env, ntohs(((struct sockaddr_in *)&ss)->sin_port));
  return number(env, ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
}

static napi_value js_data_accept(napi_env env, napi_callback_info info) {
  int32_t fd;
  if (fd_arg(env, info, &fd) != 0) return number(env, -EINVAL);
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  int c;
  do c = accept4(fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
  while (c < 0 && errno == EINTR);
  if (c < 0) return number(env, -errno);
  char ip[INET6_ADDRSTRLEN] = "";
  if (ss.ss_family == AF_INET) {
    inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, ip, sizeof ip);
  } else if (ss.ss_family == AF_INET6) {
    struct in6_addr *a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
    /* A v4-mapped peer is given in its plain IPv4 form, as everywhere else in Wharf. */
    if (IN6_IS_ADDR_V4MAPPED(a)) inet_ntop(AF_INET, &a->s6_addr[12], ip, sizeof ip);
    else inet_ntop(AF_INET6, a, ip, sizeof ip);
  }
  napi_value pair = NULL, text = NULL;
  if (napi_create_array_with_length(env, 2, &pair) != 0 || napi_create_string_latin1(env, ip, strlen(ip), &text) != 0 ||
      napi_set_element(env, pair, 0, number(env, c)) != 0 || napi_set_element(env, pair, 1, text) != 0) {
    close(c);
    return number(env, -ENOMEM);
  }
  return pair;
}

static napi_value js_data_reset(napi_env env, napi_callback_info info) {
  int32_t fd;
  if (fd_arg(env, info, &fd) != 0) return number(env, -EINVAL);
  struct linger lg = {.l_onoff = 1, .l_linger = 0};
  (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  close(fd);
  return number(env, 0);
}

/*
 * Closes a data connection whose last byte was handed to the kernel: the kernel still sends
 * every queued byte, then FIN (no need to wait for the peer's own FIN, as end-socket.ts
 * explains). Unread input would turn the close into RST, which discards what is still queued
 * for the peer: it is read and dropped first. When the peer did send bytes and has not ended,
 * more could follow at any moment, so the descriptor is left open (1) for the patient ending.
 */
static napi_value js_data_end(napi_env env, napi_callback_info info) {
  int32_t fd;
  if (fd_arg(env, info, &fd) != 0) return number(env, -EINVAL);
  char sink[4096];
  int64_t drained = 0;
  for (;;) {
    ssize_t n = recv(fd, sink, sizeof sink, MSG_DONTWAIT);
    if (n > 0) {
      drained += n;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN && drained > 0) return number(env, 1);
    break; /* end of stream, nothing sent, or a failure (a reset peer took what it wanted) */
  }
  close(fd);
  return number(env, 0);
}

static napi_value js_data_close(napi_env env, napi_callback_info info) {
  int32_t fd;
  if (fd_arg(env, info, &fd) != 0) return number(env, -EINVAL);
  return number(env, close(fd) == 0 ? 0 : -errno);
}

/*
 * The transfer engine may hold a duplicate of a listener while it waits for a connection
 * (engineWaitReadable); a plain close would leave the port listening until the engine lets
 * go. shutdown(SHUT_RD) on a listening socket stops it listening for every duplicate (Linux
 * disconnects it), so a connection after this is refused at once, as after net.Server.close().
 */
static napi_value js_data_unlisten(napi_env env, napi_callback_info info) {
  int32_t fd;
  if (fd_arg(env, info, &fd) != 0) return number(env, -EINVAL);
  (void)shutdown(fd, SHUT_RD);
  return number(env, close(fd) == 0 ? 0 : -errno);
}

void wharf_register_datapath(napi_env env, napi_value exports) {
  export_function(env, exports, "dataListen", js_data_listen);
  export_function(env, exports, "dataPort", js_data_port);
  export_function(env, exports, "dataAccept", js_data_accept);
  export_function(env, exports, "dataReset", js_data_reset);
  export_function(env, exports, "dataEnd", js_data_end);
  export_function(env, exports, "dataClose", js_data_close);
  export_function(env, exports, "dataUnlisten", js_data_unlisten);
}
