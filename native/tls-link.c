/*
 * FTPS data connections terminated by the transfer engine's threads instead of Node's TLS.
 *
 *   tlsContext(cert, key, ticketKeys, sessionIdContext, minVersion, cipherList, cipherSuites, options)
 *       -> a context (external), or a string saying what is wrong
 *   tlsAddSession(context, der)  -> 1 when the session was added to the context's cache
 *
 * (engineTls in engine.c starts a link on a connected socket with such a context.)
 *
 * Why: Node decrypts on the main thread and hands JavaScript one freshly allocated buffer per
 * 16 KiB record, so an FTPS upload cost a JavaScript callback, a write request and a young-
 * generation allocation per record, all on the one thread that also serves every session:
 * 1 GiB STOR over FTPS took 1.56 CPU s/GB against pyftpdlib's 1.31. Here the engine's thread
 * does the TLS (read ahead 64 KiB at a time, records decrypted into one 64 KiB buffer) and
 * JavaScript sees a plain socket (one end of a socketpair), so every path the plain data
 * connection has (the engine's splice and sendfile, listings, TYPE A) serves FTPS unchanged.
 *
 * Session reuse (PROTOCOL.md §6): the data connection must resume the control connection's
 * session, which Node's TLS made. So this context shares what resumption needs with Node's:
 * the session id context, Node's ticket format and keys (the callback below is Node's
 * SecureContext::TicketCompatibilityCallback: AES-128-CBC and HMAC-SHA256 with the three 16
 * byte parts of `ticketKeys`), and for TLS 1.2 session ids the sessions Node's 'newSession'
 * reports (tlsAddSession). It issues no TLS 1.3 tickets of its own: the client keeps resuming
 * the control connection's session, as it does with Node's data connections.
 *
 * OpenSSL comes from the node binary, which exports it (Node's own OpenSSL 3); it is declared
 * below like napi-decl.h declares Node-API, so no headers are needed to build.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include "napi-decl.h"
#include "tls-link.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;
typedef struct ssl_method_st SSL_METHOD;
typedef struct ssl_session_st SSL_SESSION;
typedef struct bio_st BIO;
typedef struct x509_st X509;
typedef struct evp_pkey_st EVP_PKEY;
typedef struct evp_cipher_ctx_st EVP_CIPHER_CTX;
typedef struct evp_cipher_st EVP_CIPHER;
typedef struct evp_md_st EVP_MD;
typedef struct hmac_ctx_st HMAC_CTX;
typedef struct engine_st ENGINE;
typedef struct crypto_ex_data_st CRYPTO_EX_DATA;
typedef void crypto_ex_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp);

extern const SSL_METHOD *TLS_server_method(void);
extern SSL_CTX *SSL_CTX_new(const SSL_METHOD *);
extern void SSL_CTX_free(SSL_CTX *);
extern long SSL_CTX_ctrl(SSL_CTX *, int, long, void *);
extern long SSL_CTX_callback_ctrl(SSL_CTX *, int, void (*)(void));
extern uint64_t SSL_CTX_set_options(SSL_CTX *, uint64_t);
extern int SSL_CTX_set_cipher_list(SSL_CTX *, const char *);
extern int SSL_CTX_set_ciphersuites(SSL_CTX *, const char *);
extern int SSL_CTX_set_session_id_context(SSL_CTX *, const unsigned char *, unsigned int);
extern long SSL_CTX_set_timeout(SSL_CTX *, long);
extern int SSL_CTX_set_num_tickets(SSL_CTX *, size_t);
extern void SSL_CTX_set_default_read_buffer_len(SSL_CTX *, size_t);
extern int SSL_CTX_use_certificate(SSL_CTX *, X509 *);
extern int SSL_CTX_use_PrivateKey(SSL_CTX *, EVP_PKEY *);
extern int SSL_CTX_check_private_key(const SSL_CTX *);
extern int SSL_CTX_add_session(SSL_CTX *, SSL_SESSION *);
extern int SSL_CTX_set_ex_data(SSL_CTX *, int, void *);
extern void *SSL_CTX_get_ex_data(const SSL_CTX *, int);
extern int CRYPTO_get_ex_new_index(int, long, void *, void *, void *, crypto_ex_free *);
extern SSL *SSL_new(SSL_CTX *);
extern void SSL_free(SSL *);
extern SSL_CTX *SSL_get_SSL_CTX(const SSL *);
extern long SSL_ctrl(SSL *, int, long, void *);
extern void SSL_set_bio(SSL *, BIO *, BIO *);
extern BIO *BIO_new_socket(int, int);
extern const struct bio_method_st *BIO_f_buffer(void);
extern BIO *BIO_new(const struct bio_method_st *);
extern BIO *BIO_push(BIO *, BIO *);
extern int BIO_up_ref(BIO *);
extern long BIO_ctrl(BIO *, int, long, void *);
extern long BIO_int_ctrl(BIO *, int, long, int);
extern int BIO_test_flags(const BIO *, int);
extern void SSL_set_accept_state(SSL *);
extern int SSL_do_handshake(SSL *);
extern int SSL_read_ex(SSL *, void *, size_t, size_t *);
extern int SSL_write_ex(SSL *, const void *, size_t, size_t *);
extern int SSL_shutdown(SSL *);
extern int SSL_get_error(const SSL *, int);
extern int SSL_session_reused(const SSL *);
extern SSL_SESSION *d2i_SSL_SESSION(SSL_SESSION **, const unsigned char **, long);
extern void SSL_SESSION_free(SSL_SESSION *);
extern BIO *BIO_new_mem_buf(const void *, int);
extern int BIO_free(BIO *);
extern X509 *PEM_read_bio_X509(BIO *, X509 **, void *, void *);
extern void X509_free(X509 *);
extern EVP_PKEY *PEM_read_bio_PrivateKey(BIO *, EVP_PKEY **, void *, void *);
extern void EVP_PKEY_free(EVP_PKEY *);
extern unsigned long ERR_get_error(void);
extern unsigned long ERR_peek_error(void);
extern void ERR_clear_error(void);
extern const char *ERR_reason_error_string(unsigned long);
extern int RAND_bytes(unsigned char *, int);
extern const EVP_MD *EVP_sha256(void);
extern const EVP_CIPHER *EVP_aes_128_cbc(void);
extern int EVP_EncryptInit_ex(EVP_CIPHER_CTX *, const EVP_CIPHER *, ENGINE *, const unsigned char *, const unsigned char *);
extern int EVP_DecryptInit_ex(EVP_CIPHER_CTX *, const EVP_CIPHER *, ENGINE *, const unsigned char *, const unsigned char *);
extern int HMAC_Init_ex(HMAC_CTX *, const void *, int, const EVP_MD *, ENGINE *);

extern napi_status napi_create_string_utf8(napi_env, const char *, size_t, napi_value *);
extern napi_status napi_get_value_string_utf8(napi_env, napi_value, char *, size_t, size_t *);
extern napi_status napi_create_int32(napi_env, int32_t, napi_value *);

/* OpenSSL 3.0's ABI constants (ssl.h, tls1.h, crypto.h). */
#define SSL_CTRL_EXTRA_CHAIN_CERT 14
#define SSL_CTRL_MODE 33
#define SSL_CTRL_SET_READ_AHEAD 41
#define SSL_CTRL_SET_SESS_CACHE_SIZE 42
#define SSL_CTRL_SET_TLSEXT_TICKET_KEY_CB 72
#define SSL_CTRL_SET_MIN_PROTO_VERSION 123
#define SSL_MODE_ENABLE_PARTIAL_WRITE 0x1L
#define SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER 0x2L
#define SSL_MODE_RELEASE_BUFFERS 0x10L
#define SSL_OP_IGNORE_UNEXPECTED_EOF ((uint64_t)1 << 7)
#define SSL_OP_NO_RENEGOTIATION ((uint64_t)1 << 30)
#define BIO_NOCLOSE 0x00
#define BIO_CTRL_FLUSH 11
#define BIO_CTRL_WPENDING 13
#define BIO_C_SET_BUFF_SIZE 117
#define BIO_FLAGS_SHOULD_RETRY 0x08
#define SSL_ERROR_WANT_READ 2
#define SSL_ERROR_WANT_WRITE 3
#define SSL_ERROR_SYSCALL 5
#define SSL_ERROR_ZERO_RETURN 6
#define CRYPTO_EX_INDEX_SSL_CTX 1

/* Decrypted bytes gathered before one write to JavaScript's end, and plaintext taken from it per read. */
#define LINK_BUFFER (64 << 10)
/*
 * Records gathered before one write to the client's socket. OpenSSL writes each record (at
 * most 16 KiB) with its own write(2) to the socket BIO: 65 536 system calls, and as many
 * trips through loopback's TCP stack, per GiB sent. A buffering BIO in front of the socket
 * sends them 128 KiB at a time; the link flushes it before it waits for anything.
 * 1 GiB FTPS RETR with curl, 8 interleaved reps: 128 KiB and 256 KiB (for this and
 * SEND_BUFFER) measured alike (1.12 against 1.21 GB/s, 0.73 against 0.80 CPU s/GB), so the
 * smaller: a download's link holds LINK_BUFFER + both of these.
 */
#define WRITE_BUFFER (128 << 10)
/* Bytes read from the file per pread when the link sends a file itself (tls_link_send). */
#define SEND_BUFFER (128 << 10)
/* The socketpair's buffers: a few writes' worth, so neither side waits on the other's every wakeup. */
#define PAIR_BUFFER (512 << 10)
/* As Node's FtpTls (src/ftp/tls.ts): a data connection may resume a session made hours ago. */
#define SESSION_LIFETIME_S (24 * 3600)
#define SESSION_CACHE_MAX 20000

enum { WAIT = CODE_WAIT };

/* The ticket keys a context uses, in Node's layout: name, HMAC secret, AES key. Freed with the SSL_CTX. */
typedef struct {
  unsigned char name[16], hmac[16], aes[16];
} ticket_keys_t;

static int keys_index = -1;

static void free_keys(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp) {
  (void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
  free(ptr);
}

/* Node's SecureContext::TicketCompatibilityCallback, so that either side opens the other's tickets. */
static int ticket_callback(SSL *ssl, unsigned char *name, unsigned char *iv, EVP_CIPHER_CTX *ectx, HMAC_CTX *hctx, int enc) {
  ticket_keys_t *keys = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), keys_index);
  if (!keys) return -1;
  if (enc) {
    memcpy(name, keys->name, 16);
    if (RAND_bytes(iv, 16) <= 0 || EVP_EncryptInit_ex(ectx, EVP_aes_128_cbc(), NULL, keys->aes, iv) <= 0 ||
        HMAC_Init_ex(hctx, keys->hmac, 16, EVP_sha256(), NULL) <= 0)
      return -1;
    return 1;
  }
  if (memcmp(name, keys->name, 16) != 0) return 0; /* not ours: a full handshake */
  if (EVP_DecryptInit_ex(ectx, EVP_aes_128_cbc(), NULL, keys->aes, iv) <= 0 || HMAC_Init_ex(hctx, keys->hmac, 16, EVP_sha256(), NULL) <= 0)
    return -1;
  return 1;
}

static void finalize_context(napi_env env, void *data, void *hint) {
  (void)env, (void)hint;
  SSL_CTX_free(data); /* links still running hold their own reference */
}

static napi_value text(napi_env env, const char *message) {
  napi_value result = NULL;
  napi_create_string_utf8(env, message, (size_t)-1, &result);
  return result;
}

/* The last OpenSSL reason on this thread, with `what` failed. */
static napi_value openssl_failure(napi_env env, const char *what) {
  char message[256];
  const char *reason = ERR_reason_error_string(ERR_peek_error());
  snprintf(message, sizeof message, "%s%s%s", what, reason ? ": " : "", reason ? reason : "");
  ERR_clear_error();
  return text(env, message);
}

/* Loads the PEM chain (leaf first) and key into `ctx`; NULL, or what failed. */
static const char *load_identity(SSL_CTX *ctx, const void *cert, size_t cert_len, const void *key, size_t key_len) {
  BIO *bio = BIO_new_mem_buf(cert, (int)cert_len);
  if (!bio) return "out of memory";
  X509 *leaf = PEM_read_bio_X509(bio, NULL, NULL, NULL);
  int ok = leaf && SSL_CTX_use_certificate(ctx, leaf) == 1;
  X509_free(leaf);
  X509 *extra;
  while (ok && (extra = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
    if (SSL_CTX_ctrl(ctx, SSL_CTRL_EXTRA_CHAIN_CERT, 0, extra) != 1) {
      X509_free(extra);
      ok = 0;
    }
  }
  BIO_free(bio);
  if (!ok) return "certificate";
  ERR_clear_error(); /* the chain loop ends on "no start line" */
  bio = BIO_new_mem_buf(key, (int)key_len);
  if (!bio) return "out of memory";
  EVP_PKEY *pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
  BIO_free(bio);
  ok = pkey && SSL_CTX_use_PrivateKey(ctx, pkey) == 1 && SSL_CTX_check_private_key(ctx) == 1;
  EVP_PKEY_free(pkey);
  return ok ? NULL : "private key";
}

static int string_arg(napi_env env, napi_value value, char *out, size_t size) {
  size_t len = 0;
  return napi_get_value_string_utf8(env, value, out, size, &len) == 0 && len + 1 < size ? 0 : -1;
}

static napi_value js_tls_context(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  void *cert, *key, *tickets, *sid;
  size_t cert_len, key_len, tickets_len, sid_len;
  int32_t min_version;
  double options;
  static char cipher_list[4096], suites[1024]; /* main thread only */
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != 0 || argc < 8 || napi_get_buffer_info(env, argv[0], &cert, &cert_len) != 0 ||
      napi_get_buffer_info(env, argv[1], &key, &key_len) != 0 || napi_get_buffer_info(env, argv[2], &tickets, &tickets_len) != 0 ||
      tickets_len != 48 || napi_get_buffer_info(env, argv[3], &sid, &sid_len) != 0 || sid_len == 0 || sid_len > 32 ||
      napi_get_value_int32(env, argv[4], &min_version) != 0 || string_arg(env, argv[5], cipher_list, sizeof cipher_list) != 0 ||
      string_arg(env, argv[6], suites, sizeof suites) != 0 || napi_get_value_double(env, argv[7], &options) != 0)
    return text(env, "bad arguments");
  if (keys_index < 0) keys_index = CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_SSL_CTX, 0, NULL, NULL, NULL, free_keys);
  ticket_keys_t *keys = malloc(sizeof *keys);
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx || !keys || keys_index < 0) {
    free(keys);
    if (ctx) SSL_CTX_free(ctx);
    return openssl_failure(env, "cannot create a TLS context");
  }
  memcpy(keys, tickets, 48);
  SSL_CTX_set_ex_data(ctx, keys_index, keys);
  const char *bad = load_identity(ctx, cert, cert_len, key, key_len);
  if (!bad && SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, min_version, NULL) != 1) bad = "minimum version";
  if (!bad && cipher_list[0] && SSL_CTX_set_cipher_list(ctx, cipher_list) != 1) bad = "cipher list";
  if (!bad && SSL_CTX_set_ciphersuites(ctx, suites) != 1) bad = "cipher suites";
  if (!bad && SSL_CTX_set_session_id_context(ctx, sid, (unsigned int)sid_len) != 1) bad = "session id context";
  if (bad) {
    napi_value failure = openssl_failure(env, bad);
    SSL_CTX_free(ctx);
    return failure;
  }
  /* Renegotiation only ever served attacks on a data connection; a TCP end without close_notify
   * ends the stream as Node's TLSSocket ends it, so both paths treat a client alike. */
  SSL_CTX_set_options(ctx, (uint64_t)options | SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF);
  SSL_CTX_ctrl(ctx, SSL_CTRL_MODE, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS, NULL);
  /* One recv per 64 KiB of records instead of two per record (header, then body). */
  SSL_CTX_ctrl(ctx, SSL_CTRL_SET_READ_AHEAD, 1, NULL);
  SSL_CTX_set_default_read_buffer_len(ctx, LINK_BUFFER);
  SSL_CTX_callback_ctrl(ctx, SSL_CTRL_SET_TLSEXT_TICKET_KEY_CB, (void (*)(void))ticket_callback);
  SSL_CTX_set_timeout(ctx, SESSION_LIFETIME_S);
  SSL_CTX_ctrl(ctx, SSL_CTRL_SET_SESS_CACHE_SIZE, SESSION_CACHE_MAX, NULL);
  SSL_CTX_set_num_tickets(ctx, 0);
  napi_value external;
  if (napi_create_external(env, ctx, finalize_context, NULL, &external) != 0) {
    SSL_CTX_free(ctx);
    return text(env, "out of memory");
  }
  return external;
}

static napi_value js_tls_add_session(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result = NULL;
  void *ctx, *der;
  size_t der_len;
  int added = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == 0 && argc >= 2 && napi_get_value_external(env, argv[0], &ctx) == 0 &&
      napi_get_buffer_info(env, argv[1], &der, &der_len) == 0) {
    const unsigned char *p = der;
    SSL_SESSION *session = d2i_SSL_SESSION(NULL, &p, (long)der_len);
    if (session) {
      added = SSL_CTX_add_session(ctx, session) == 1;
      SSL_SESSION_free(session); /* the cache holds its own reference */
    }
    ERR_clear_error();
  }
  napi_create_int32(env, added, &result);
  return result;
}

void *tls_context_of(napi_env env, napi_value value) {
  void *ctx = NULL;
  return napi_get_value_external(env, value, &ctx) == 0 ? ctx : NULL;
}

struct tls_link {
  SSL *ssl;
  int sock;       /* the engine's TCP descriptor (not ours to close) */
  int plain;      /* our end of the socketpair */
  int js_peer;    /* a duplicate of JavaScript's end: lets a failure reach it as ECONNRESET */
  int handshaken;
  int peer_done;  /* the client's close_notify (or end of stream) was read */
  int plain_shut; /* ... and passed on to JavaScript as the end of its stream */
  int local_done; /* JavaScript ended its side */
  int notify_queued; /* our close_notify is in the write buffer */
  int notify_sent;
  BIO *wbio;        /* the write buffer in front of the socket (OpenSSL owns it) */
  int plain_gone; /* JavaScript's end hung up */
  const char *reason;
  int file;          /* storing: decrypted bytes go to this file (the engine's own descriptor), else -1 */
  int64_t offset;    /* storing: where the next byte goes */
  int64_t stored;    /* storing: bytes written so far */
  int store_end;     /* storing: WAIT, then how it ended (0, or FILE_ERROR_BASE + errno) */
  int source;          /* sending: the file read into `out` instead of JavaScript's end (the engine's own descriptor), else -1 */
  int64_t source_offset, source_left; /* sending: the next byte to read, and how many are left */
  int64_t sent;        /* sending: bytes handed to OpenSSL (and so to the socket) so far */
  int send_end;        /* sending: WAIT, then how it ended (0, or FILE_ERROR_BASE + errno) */
  size_t out_size;     /* the capacity of `out` */
  unsigned char *in, *out; /* client -> JavaScript, JavaScript -> client (allocated after the handshake) */
  size_t in_len, in_off, out_len, out_off;
};

/* Reads straight from `sock`, writes through the write buffer (WRITE_BUFFER); 0, or -1. */
static int attach_socket(tls_link_t *link, int sock) {
  BIO *socket_bio = BIO_new_socket(sock, BIO_NOCLOSE);
  BIO *buffer = socket_bio ? BIO_new(BIO_f_buffer()) : NULL;
  if (!buffer || BIO_int_ctrl(buffer, BIO_C_SET_BUFF_SIZE, WRITE_BUFFER, 1) != 1) {
    if (buffer) BIO_free(buffer);
    if (socket_bio) BIO_free(socket_bio);
    errno = ENOMEM;
    return -1;
  }
  BIO_push(buffer, socket_bio);
  BIO_up_ref(socket_bio); /* one reference for the read side, one for the chain */
  SSL_set_bio(link->ssl, socket_bio, buffer);
  link->wbio = buffer;
  return 0;
}

/* Writes out what the write buffer holds: 0 once it is empty, WAIT (for EPOLLOUT), or an errno. */
static int flush_out(tls_link_t *link, uint32_t *sock_interest) {
  if (BIO_ctrl(link->wbio, BIO_CTRL_WPENDING, 0, NULL) <= 0) return 0;
  errno = 0;
  if (BIO_ctrl(link->wbio, BIO_CTRL_FLUSH, 0, NULL) > 0) return 0;
  if (BIO_test_flags(link->wbio, BIO_FLAGS_SHOULD_RETRY)) {
    *sock_interest |= EPOLLOUT;
    return WAIT;
  }
  return errno ? errno : EIO;
}

tls_link_t *tls_link_new(void *context, int sock, int *js_fd) {
  tls_link_t *link = calloc(1, sizeof *link);
  int pair[2] = {-1, -1};
  if (!link) return NULL;
  link->sock = sock;
  link->file = -1;
  link->store_end = WAIT;
  link->source = -1;
  link->send_end = WAIT;
  link->ssl = SSL_new(context);
  if (!link->ssl || attach_socket(link, sock) != 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
    int err = errno ? errno : ENOMEM;
    if (link->ssl) SSL_free(link->ssl);
    ERR_clear_error();
    free(link);
    errno = err;
    return NULL;
  }
  SSL_set_accept_state(link->ssl);
  int size = PAIR_BUFFER;
  for (int i = 0; i < 2; i++) {
    (void)setsockopt(pair[i], SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    (void)setsockopt(pair[i], SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  }
  (void)fcntl(pair[0], F_SETFL, O_NONBLOCK);
  link->plain = pair[0];
  link->js_peer = fcntl(pair[1], F_DUPFD_CLOEXEC, 3);
  *js_fd = pair[1];
  return link;
}

int tls_link_plain_fd(const tls_link_t *link) {
  return link->plain;
}

const char *tls_link_reason(const tls_link_t *link) {
  return link->reason;
}

/* An OpenSSL call that did not succeed: WAIT with the interest it needs, or how the link ends. */
static int ssl_wait(tls_link_t *link, int ret, uint32_t *sock_interest) {
  int saved = errno;
  switch (SSL_get_error(link->ssl, ret)) {
  case SSL_ERROR_WANT_READ:
    *sock_interest |= EPOLLIN;
    return WAIT;
  case SSL_ERROR_WANT_WRITE:
    *sock_interest |= EPOLLOUT;
    return WAIT;
  case SSL_ERROR_SYSCALL:
    if (ERR_peek_error() == 0) return saved ? saved : ECONNRESET;
    /* fall through */
  default: {
    const char *reason = ERR_reason_error_string(ERR_peek_error());
    link->reason = reason ? reason : "TLS failure";
    ERR_clear_error();
    return CODE_TLS_FAILED;
  }
  }
}

/* Storing: `len` bytes at `data` into the file; 0, or FILE_ERROR_BASE + errno (then store_end says so). */
static int store_bytes(tls_link_t *link, const unsigned char *data, size_t len) {
  while (len > 0) {
    ssize_t n = pwrite(link->file, data, len, link->offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return link->store_end = FILE_ERROR_BASE + (n == 0 ? EIO : errno);
    data += n;
    len -= (size_t)n;
    link->offset += n;
    link->stored += n;
  }
  return 0;
}

void tls_link_store(tls_link_t *link, int file, int64_t offset) {
  link->file = file;
  link->offset = offset;
  /* Older bytes first: those written to JavaScript's end that it did not read (it stopped reading
   * before asking), then those decrypted and not yet written there. */
  unsigned char chunk[16384];
  for (;;) {
    ssize_t n = recv(link->js_peer, chunk, sizeof chunk, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || store_bytes(link, chunk, (size_t)n) != 0) break;
  }
  if (link->store_end == WAIT && store_bytes(link, link->in + link->in_off, link->in_len - link->in_off) == 0) link->in_off = link->in_len = 0;
}

int tls_link_send(tls_link_t *link, int file, int64_t offset, int64_t count) {
  /* Larger reads than JavaScript's writes: one pread per SEND_BUFFER, and OpenSSL cuts the
   * records from it. Before the handshake `out` does not exist yet: it is made at this size then. */
  if (link->out && link->out_size < SEND_BUFFER) {
    unsigned char *bigger = realloc(link->out, SEND_BUFFER);
    if (!bigger) return ENOMEM;
    link->out = bigger;
    link->out_size = SEND_BUFFER;
  }
  link->source = file;
  link->source_offset = offset;
  link->source_left = count;
  return 0;
}

int64_t tls_link_sent(const tls_link_t *link, int *end) {
  *end = link->send_end;
  return link->sent;
}

int64_t tls_link_stored(const tls_link_t *link, int *end) {
  *end = link->store_end;
  return link->stored;
}

/* Client -> JavaScript (or the file, when storing). Sets *progress when something moved; WAIT or how the link ends. */
static int pump_in(tls_link_t *link, uint32_t *sock_interest, uint32_t *plain_interest, int *progress) {
  if (link->file >= 0) {
    if (link->store_end != WAIT && link->store_end != 0) return WAIT; /* the file failed: JavaScript ends the link */
    if (store_bytes(link, link->in + link->in_off, link->in_len - link->in_off) != 0) return WAIT;
    link->in_off = link->in_len = 0;
  }
  while (link->in_off < link->in_len) {
    ssize_t n = write(link->plain, link->in + link->in_off, link->in_len - link->in_off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      *plain_interest |= EPOLLOUT;
      return WAIT;
    }
    if (n < 0) return CODE_CANCELLED; /* JavaScript closed its end: the transfer is over (ABOR, failure) */
    link->in_off += (size_t)n;
    *progress = 1;
  }
  link->in_off = link->in_len = 0;
  while (!link->peer_done && link->in_len < LINK_BUFFER) {
    size_t got = 0;
    ERR_clear_error();
    errno = 0;
    int ret = SSL_read_ex(link->ssl, link->in + link->in_len, LINK_BUFFER - link->in_len, &got);
    if (ret == 1) {
      link->in_len += got;
      *progress = 1;
      continue;
    }
    if (SSL_get_error(link->ssl, ret) == SSL_ERROR_ZERO_RETURN) {
      link->peer_done = 1;
      *progress = 1;
      break;
    }
    int code = ssl_wait(link, ret, sock_interest);
    if (code != WAIT && link->file >= 0) (void)store_bytes(link, link->in, link->in_len); /* what arrived is kept */
    if (code != WAIT) return code;
    break;
  }
  if (link->in_len > 0) *progress = 1; /* written on the next round */
  if (link->peer_done && link->in_len == 0 && link->file >= 0 && link->store_end == WAIT) link->store_end = 0;
  if (link->peer_done && link->in_len == 0 && !link->plain_shut) {
    shutdown(link->plain, SHUT_WR);
    link->plain_shut = 1;
    *progress = 1;
  }
  return WAIT;
}

/* Sending: the next piece of the file into `out`; 0 when there is none (send_end says why). */
static size_t read_source(tls_link_t *link) {
  while (link->source_left > 0) {
    size_t want = (size_t)link->source_left < link->out_size ? (size_t)link->source_left : link->out_size;
    ssize_t n = pread(link->source, link->out, want, link->source_offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      link->send_end = FILE_ERROR_BASE + errno;
      return 0;
    }
    if (n == 0) break; /* the file got shorter: what there was is sent, as a plain download does */
    link->source_offset += n;
    link->source_left -= n;
    return (size_t)n;
  }
  link->send_end = 0;
  return 0;
}

/* JavaScript (or the file, when sending) -> client, then our close_notify once JavaScript ended its side. */
static int pump_out(tls_link_t *link, uint32_t *sock_interest, uint32_t *plain_interest, int *progress) {
  for (;;) {
    while (link->out_off < link->out_len) {
      size_t sent = 0;
      ERR_clear_error();
      int ret = SSL_write_ex(link->ssl, link->out + link->out_off, link->out_len - link->out_off, &sent);
      if (ret != 1) return ssl_wait(link, ret, sock_interest);
      link->out_off += sent;
      if (link->source >= 0) link->sent += (int64_t)sent;
      *progress = 1;
    }
    link->out_off = link->out_len = 0;
    if (link->source < 0 || link->send_end != WAIT) break;
    link->out_len = read_source(link);
    if (link->out_len == 0) {
      *progress = 1; /* the send's end is reported; JavaScript's end comes next */
      break;
    }
  }
  if (link->source >= 0 && link->send_end == WAIT) return WAIT;
  if (!link->local_done) {
    ssize_t n = read(link->plain, link->out, link->out_size);
    if (n > 0) {
      link->out_len = (size_t)n;
      *progress = 1; /* sent on the next round */
      return WAIT;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      *plain_interest |= EPOLLIN;
      return WAIT;
    }
    if (n < 0) return CODE_CANCELLED;
    link->local_done = 1;
    *progress = 1;
  }
  if (!link->notify_sent) {
    if (!link->notify_queued) {
      ERR_clear_error();
      int ret = SSL_shutdown(link->ssl);
      if (ret < 0) {
        int code = ssl_wait(link, ret, sock_interest);
        /* The client already said goodbye and has every byte: our close_notify is a courtesy. */
        if (code == WAIT || !link->peer_done) return code;
      }
      link->notify_queued = 1;
    }
    /* Every record, close_notify last, goes out before the FIN. */
    int code = flush_out(link, sock_interest);
    if (code == WAIT) return WAIT;
    if (code != 0 && !link->peer_done) return code;
    shutdown(link->sock, SHUT_WR);
    link->notify_sent = 1;
    *progress = 1;
  }
  return WAIT;
}

int tls_link_step(tls_link_t *link, int plain_event, uint32_t events, uint32_t *sock_interest, uint32_t *plain_interest, int *handshake, int *notified) {
  if (plain_event && (events & (EPOLLHUP | EPOLLERR))) link->plain_gone = 1;
  for (int round = 0; round < 64; round++) {
    uint32_t want_sock = 0, want_plain = 0;
    int progress = 0;
    if (!link->handshaken) {
      ERR_clear_error();
      int ret = SSL_do_handshake(link->ssl);
      if (ret != 1) {
        int code = ssl_wait(link, ret, &want_sock);
        *sock_interest = want_sock;
        *plain_interest = 0;
        return code;
      }
      link->in = malloc(LINK_BUFFER);
      link->out_size = link->source >= 0 ? SEND_BUFFER : LINK_BUFFER;
      link->out = malloc(link->out_size);
      if (!link->in || !link->out) return ENOMEM;
      link->handshaken = 1;
      *handshake = SSL_session_reused(link->ssl) ? 1 : 2;
    }
    int was_sent = link->notify_sent;
    int code = pump_in(link, &want_sock, &want_plain, &progress);
    if (code == WAIT) code = pump_out(link, &want_sock, &want_plain, &progress);
    if (link->notify_sent && !was_sent) *notified = 1;
    if (code != WAIT) return code;
    if (link->plain_shut && link->notify_sent) return 0;
    if (progress) continue;
    /* Nothing more to do now: what the write buffer holds goes out before the link waits. */
    code = flush_out(link, &want_sock);
    if (code != WAIT && code != 0) return code;
    /* JavaScript's end is gone while we wait for the client (it gave up on a silent one). */
    if (link->plain_gone && want_plain == 0) return CODE_CANCELLED;
    *sock_interest = want_sock;
    *plain_interest = want_plain;
    return WAIT;
  }
  /* Still moving after 64 rounds: let the other jobs have a turn (level-triggered epoll brings us back). */
  *sock_interest = EPOLLIN | EPOLLOUT;
  *plain_interest = 0;
  return WAIT;
}

void tls_link_free(tls_link_t *link, int code) {
  if (code != 0 && link->js_peer >= 0) {
    /* Unread bytes in our end when it closes make JavaScript's next read fail with ECONNRESET. */
    (void)!send(link->js_peer, "", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
  }
  if (link->js_peer >= 0) close(link->js_peer);
  if (link->file >= 0) close(link->file);
  if (link->source >= 0) close(link->source);
  close(link->plain);
  SSL_free(link->ssl);
  ERR_clear_error();
  free(link->in);
  free(link->out);
  free(link);
}

void wharf_register_tls(napi_env env, napi_value exports) {
  export_function(env, exports, "tlsContext", js_tls_context);
  export_function(env, exports, "tlsAddSession", js_tls_add_session);
}
