/*
 * One FTPS data connection terminated by the transfer engine (native/tls-link.c): TLS on the
 * client's socket, plaintext on a socketpair whose other end JavaScript reads and writes as
 * an ordinary socket. engine.c owns the descriptors' place in its epoll and the job's life;
 * this file owns the TLS.
 */
#ifndef WHARF_TLS_LINK_H
#define WHARF_TLS_LINK_H
#include <stdint.h>
#include "napi-decl.h"

typedef struct tls_link tls_link_t;

/* A link that failed in OpenSSL (handshake or record): the reason is in tls_link_reason(). */
#define CODE_TLS_FAILED (-3)

/*
 * Creates a link for the connected TCP socket `sock` (the engine's own descriptor) with the
 * context from tls_context_of(`context`). On success returns the link and stores in *js_fd
 * JavaScript's end of the plaintext socketpair; NULL with errno set otherwise.
 */
tls_link_t *tls_link_new(void *context, int sock, int *js_fd);

/* The SSL_CTX in a tlsContext() value, or NULL. */
void *tls_context_of(napi_env env, napi_value value);

/* The engine's end of the plaintext socketpair (watched beside the TCP socket). */
int tls_link_plain_fd(const tls_link_t *link);

/*
 * Moves what can move. `plain_event` tells which descriptor woke the job and `events` what
 * epoll said about it. Returns CODE_WAIT (wait: *sock_interest and *plain_interest say for what) or
 * how the link ended: 0, CODE_CANCELLED (JavaScript's end is gone), an errno or
 * CODE_TLS_FAILED. *handshake is set to 1 (the session was resumed) or 2 (a full handshake)
 * in the step that completes the handshake, else left alone. *notified is set to 1 in the
 * step that handed our close_notify, after every record, and our FIN to the kernel (the
 * client's own close_notify may still be on its way), else left alone.
 */
int tls_link_step(tls_link_t *link, int plain_event, uint32_t events, uint32_t *sock_interest, uint32_t *plain_interest, int *handshake, int *notified);

/*
 * From now on decrypted bytes go to `file` (owned by the link from here) at `offset` instead
 * of JavaScript's end, starting with those JavaScript's end holds unread (JavaScript stopped
 * reading it) and those decrypted but not yet passed on. An upload stored without a hop.
 */
void tls_link_store(tls_link_t *link, int file, int64_t offset);

/*
 * From now on the link sends `count` bytes of `file` (owned by the link from here) from
 * `offset` itself, read straight into its record buffer, instead of what JavaScript writes to
 * its end: a download sent without a hop. JavaScript must not have written to its end; once
 * the send is over (tls_link_sent), the link goes back to JavaScript's end, whose end of
 * stream then closes the link as usual. 0, or ENOMEM.
 */
int tls_link_send(tls_link_t *link, int file, int64_t offset, int64_t count);

/* Bytes sent so far; *end is CODE_WAIT while sending goes on, then 0 (all sent, or the file ended early) or FILE_ERROR_BASE + errno. */
int64_t tls_link_sent(const tls_link_t *link, int *end);

/* Bytes stored so far; *end is CODE_WAIT while storing goes on, then 0 (the client's stream ended) or FILE_ERROR_BASE + errno. */
int64_t tls_link_stored(const tls_link_t *link, int *end);

/* OpenSSL's reason for CODE_TLS_FAILED (a static string), or NULL. */
const char *tls_link_reason(const tls_link_t *link);

/*
 * Frees the link and closes its plaintext end. Ending with `code` other than 0, JavaScript's
 * end reads ECONNRESET after the plaintext already delivered, never a clean end of stream: a
 * broken upload must not look complete. The TCP socket is the engine's to close.
 */
void tls_link_free(tls_link_t *link, int code);

void wharf_register_tls(napi_env env, napi_value exports);

#endif
