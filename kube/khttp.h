/* kube/khttp.h -- HTTP/1.1 exchanges with the API server over kept-alive
 * connections of our own (OpenSSL directly, no libcurl).
 *
 * kclient uses it for every request and watch when nothing asks for more
 * than one server, HTTP/1.1 and TLS with a known trust anchor can give: no
 * proxy variable set, and either a CA of the kubeconfig (parsed once, ktls)
 * or insecure-skip-tls-verify, or plain http.  Otherwise kclient keeps
 * libcurl (proxies, the system trust store).  Why: libcurl spent about two
 * thirds of a request's CPU around the exchange (state machine, connection
 * checks, four polls and two peeks per request); here a request is one
 * write and usually one read (docs/performance.md).  A connection's socket
 * blocks once connected, with send and receive timeouts of KHTTP_TICK_MS at
 * most: a read waits in recv() itself, and the stop flag and the deadline
 * are looked at before each attempt and whenever a timeout ends one.
 *
 * A struct khttp holds the target (connect host and port, the name that is
 * verified and sent as SNI and Host), one SSL_CTX and a LIFO pool of idle
 * connections (at most KHTTP_POOL_MAX kept).  It is thread-safe: each
 * exchange owns its connection from take to give-back.  A kept connection
 * the server closed while idle is found by the exchange itself (the write
 * fails, or the read ends before the first response byte), which then runs
 * once more on a new connection; nothing is probed beforehand.
 *
 * Limits: a response's status line and headers KHTTP_HEAD_MAX bytes, one
 * chunk-size line KHTTP_LINE_MAX; the body is the caller's to cap (its sink
 * refuses).  Errors: 0, or SC_EIO (resolve, connect, TLS, a broken or
 * malformed response: the message says which), SC_ETIMEOUT, SC_ESHUTDOWN
 * (*stop set), SC_ENOMEM, or the sink's own non-zero return.
 * Ownership: khttp_new() copies what it keeps; the SSL_CTX is its own. */
#ifndef SC_KHTTP_H
#define SC_KHTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sc_err.h"

#define KHTTP_POOL_MAX      16
#define KHTTP_HEAD_MAX      (64u << 10) /* status line + headers of one response */
#define KHTTP_LINE_MAX      256         /* one chunk-size line, one trailer line */
#define KHTTP_READ_BYTES    (16u << 10) /* one read from the connection */
#define KHTTP_CONNECT_MS    10000       /* resolve + connect + handshake, at most */
#define KHTTP_TICK_MS       1000        /* a blocked read or write looks at *stop this often */
#define KHTTP_RETRY_AFTER_N 32

struct khttp;
struct ktls;

/* base: "https://host[:port][/prefix]" or "http://..."; host may be an
 * IPv6 literal in brackets.  server_name (may be NULL): the name verified
 * and sent (kubeconfig tls-server-name), the connection still goes to
 * base's host.  tls (may be NULL) installs the CA and client pair;
 * insecure skips verification.  SC_EINVALID for a base it cannot parse. */
int khttp_new(const char *base, const char *server_name, const struct ktls *tls, bool insecure,
              struct khttp **out, struct sc_err *err);
/* Closes the idle connections; none may be in use.  NULL-safe. */
void khttp_free(struct khttp *h);

/* Where the response body goes, chunk by chunk, with the status known:
 * a non-zero return ends the exchange (the connection is closed) and is
 * returned by khttp_exchange(). */
typedef int khttp_body_fn(void *ctx, int status, const char *data, size_t n);

struct khttp_req {
    const char *method;
    const char *target;         /* path and query, from '/', without base's prefix */
    const char *const *headers; /* "Name: value" lines; a line without a value is skipped */
    size_t nheaders;
    const char *body; /* may be NULL */
    size_t body_len;
    int64_t timeout_ms;       /* whole exchange; 0: none */
    const volatile int *stop; /* checked at least every KHTTP_TICK_MS while waiting; may be NULL */
    bool watch_keepalive;     /* TCP keepalive 30 s idle, 10 s apart (watches) */
    khttp_body_fn *body_fn;
    void *body_ctx;
};

struct khttp_resp {
    int status;
    char retry_after[KHTTP_RETRY_AFTER_N]; /* the Retry-After header's value, or "" */
    bool connected;                        /* a new connection was opened */
    bool resumed;                          /* ... with the TLS session of an earlier one */
};

/* One exchange.  A timeout that passes once the body has started is
 * SC_ETIMEOUT as well (the caller decides whether that ends a watch
 * normally). */
int khttp_exchange(struct khttp *h, const struct khttp_req *rq, struct khttp_resp *rs,
                   struct sc_err *err);

/* The response parser alone, over n bytes handed out chunk bytes at a
 * time (the end of them is the peer closing): for tests and fuzzing.
 * *reusable: the connection could have served another exchange (no
 * Connection: close, the body framed, nothing after it). */
int khttp_parse_bytes(const char *data, size_t n, size_t chunk, const char *method,
                      khttp_body_fn *fn, void *ctx, struct khttp_resp *rs, bool *reusable,
                      struct sc_err *err);

#endif
