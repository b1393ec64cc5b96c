/* kube/khttp.c -- HTTP/1.1 over kept-alive connections of our own (khttp.h). */
#include "kube/khttp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/limits.h"
#include "kube/ktls.h"

/* Once connected, a socket blocks, with SO_RCVTIMEO and SO_SNDTIMEO at
 * tmo_ms: a read waits in recv() itself, not in a poll() before it (one
 * system call a read instead of two), and wakes at least every
 * KHTTP_TICK_MS to look at the caller's stop flag and deadline. */
struct kconn {
    int fd;
    int tmo_ms; /* the socket's timeouts; 0: not set yet (arm() sets them first) */
    SSL *ssl;   /* NULL: plain TCP */
};

struct khttp {
    bool tls, verify, name_is_ip, default_port;
    char *host;   /* connect to (no brackets) */
    char *port;   /* decimal */
    char *name;   /* verified, SNI, Host */
    char *prefix; /* base's path, without a trailing '/' ("" when none) */
    char *host_line;
    SSL_CTX *ctx;
    BIO_METHOD *bio; /* sockets written with MSG_NOSIGNAL */

    pthread_mutex_t mu; /* the idle pool and sess */
    struct kconn *idle[KHTTP_POOL_MAX];
    int nidle;
    SSL_SESSION *sess; /* the server's latest resumable session (ours to free) */
};

static int64_t
now_ms(void)
{
    struct clock c = clock_system();

    return clock_mono_ms(&c);
}

/* ---- the socket BIO: send() with MSG_NOSIGNAL, so that a peer gone away is
 * an error and never a SIGPIPE, whatever the process does with signals ---- */

static int
bio_fd(BIO *b)
{
    const struct kconn *k = BIO_get_data(b);

    return k->fd;
}

static int
bio_write(BIO *b, const char *p, int n)
{
    int fd = bio_fd(b);
    ssize_t r = send(fd, p, (size_t)n, MSG_NOSIGNAL);

    BIO_clear_retry_flags(b);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        BIO_set_retry_write(b);
    return r < 0 ? -1 : (int)r;
}

static int
bio_read(BIO *b, char *p, int n)
{
    int fd = bio_fd(b);
    ssize_t r = recv(fd, p, (size_t)n, 0);

    BIO_clear_retry_flags(b);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        BIO_set_retry_read(b);
    return r < 0 ? -1 : (int)r;
}

static long
bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b;
    (void)num;
    (void)ptr;
    return cmd == BIO_CTRL_FLUSH || cmd == BIO_CTRL_DUP ? 1 : 0;
}

static int
bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static BIO_METHOD *
bio_method(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "khttp socket");

    if (m == NULL || !BIO_meth_set_write(m, bio_write) || !BIO_meth_set_read(m, bio_read) ||
        !BIO_meth_set_ctrl(m, bio_ctrl) || !BIO_meth_set_create(m, bio_create)) {
        BIO_meth_free(m);
        return NULL;
    }
    return m;
}

/* ---- the target --------------------------------------------------------- */

static bool
is_ip(const char *s)
{
    unsigned char a[sizeof(struct in6_addr)];

    return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

/* host and port of the authority p..end (IPv6 literal in brackets). */
static int
parse_authority(struct khttp *h, const char *p, const char *end)
{
    const char *hs = p, *he, *colon;
    char *ep;
    long port;

    if (memchr(p, '@', (size_t)(end - p)) != NULL)
        return SC_EINVALID; /* no user info in a server URL */
    if (*p == '[') {
        const char *rb = memchr(p, ']', (size_t)(end - p));
        if (rb == NULL || (rb + 1 < end && rb[1] != ':'))
            return SC_EINVALID;
        hs = p + 1;
        he = rb;
        colon = rb + 1 < end ? rb + 1 : NULL;
    } else {
        colon = memchr(p, ':', (size_t)(end - p));
        he = colon != NULL ? colon : end;
    }
    if (he == hs)
        return SC_EINVALID;
    port = h->tls ? 443 : 80;
    if (colon != NULL) {
        port = strtol(colon + 1, &ep, 10);
        if (ep != end || colon + 1 == end || port < 1 || port > 65535)
            return SC_EINVALID;
    }
    h->default_port = port == (h->tls ? 443 : 80);
    h->host = strndup(hs, (size_t)(he - hs));
    if (asprintf(&h->port, "%ld", port) < 0)
        h->port = NULL;
    return h->host && h->port ? 0 : SC_ENOMEM;
}

static int
parse_base(struct khttp *h, const char *base)
{
    const char *p, *end;
    size_t pl;
    int rc;

    if (strncmp(base, "https://", 8) == 0) {
        h->tls = true;
        p = base + 8;
    } else if (strncmp(base, "http://", 7) == 0) {
        p = base + 7;
    } else {
        return SC_EINVALID;
    }
    end = p + strcspn(p, "/?#");
    if (strpbrk(end, "?#") != NULL)
        return SC_EINVALID;
    if ((rc = parse_authority(h, p, end)) != 0)
        return rc;
    pl = strlen(end);
    while (pl > 0 && end[pl - 1] == '/')
        pl--;
    h->prefix = strndup(end, pl);
    return h->prefix ? 0 : SC_ENOMEM;
}

/* A session the server gave (a TLS 1.3 ticket comes after the handshake,
 * read with the first response): kept as the one the next new connection
 * offers.  A server that takes it skips the certificate exchange: no chain
 * to verify, no signature with the client's key. */
static int
new_session(SSL *ssl, SSL_SESSION *sess)
{
    struct khttp *h = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
    SSL_SESSION *old;

    if (h == NULL || !SSL_SESSION_is_resumable(sess))
        return 0;
    pthread_mutex_lock(&h->mu);
    old = h->sess;
    h->sess = sess;
    pthread_mutex_unlock(&h->mu);
    SSL_SESSION_free(old);
    return 1; /* the reference is ours now */
}

static int
setup_ctx(struct khttp *h, const struct ktls *tls, struct sc_err *err)
{
    static const unsigned char alpn[] = "\x08http/1.1";

    h->ctx = SSL_CTX_new(TLS_client_method());
    if (h->ctx == NULL)
        return sc_err_set(err, SC_ENOMEM, "khttp: SSL_CTX_new failed");
    SSL_CTX_set_min_proto_version(h->ctx, TLS1_2_VERSION);
    /* a read takes whatever the socket has (one recv per record, not two) */
    SSL_CTX_set_read_ahead(h->ctx, 1);
    SSL_CTX_set_mode(h->ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_options(h->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_alpn_protos(h->ctx, alpn, sizeof(alpn) - 1);
    SSL_CTX_set_app_data(h->ctx, h);
    SSL_CTX_set_session_cache_mode(h->ctx,
                                   SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(h->ctx, new_session);
    SSL_CTX_set_verify(h->ctx, h->verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
    if (tls != NULL && ktls_ctx_cb(NULL, h->ctx, (void *)tls) != CURLE_OK)
        return sc_err_set(err, SC_EINVALID, "khttp: the client certificate was refused");
    if (h->verify && !ktls_has_ca(tls) && SSL_CTX_set_default_verify_paths(h->ctx) != 1) {
        ERR_clear_error();
        return sc_err_set(err, SC_EINVALID, "khttp: no trust store");
    }
    return 0;
}

int
khttp_new(const char *base, const char *server_name, const struct ktls *tls, bool insecure,
          struct khttp **out, struct sc_err *err)
{
    struct khttp *h = calloc(1, sizeof(*h));
    const char *name;
    int rc;

    *out = NULL;
    if (h == NULL)
        return sc_err_set(err, SC_ENOMEM, "khttp: out of memory");
    pthread_mutex_init(&h->mu, NULL);
    h->verify = !insecure;
    rc = parse_base(h, base);
    if (rc != 0) {
        khttp_free(h);
        return sc_err_set(err, rc, "khttp: %s",
                          rc == SC_ENOMEM ? "out of memory" : "bad server URL");
    }
    name = server_name != NULL && server_name[0] ? server_name : h->host;
    h->name = strdup(name);
    h->name_is_ip = h->name != NULL && is_ip(h->name);
    if (h->name == NULL ||
        asprintf(&h->host_line, "Host: %s%s%s%s%s\r\n", strchr(name, ':') ? "[" : "", name,
                 strchr(name, ':') ? "]" : "", h->default_port ? "" : ":",
                 h->default_port ? "" : h->port) < 0) {
        h->host_line = NULL;
        khttp_free(h);
        return sc_err_set(err, SC_ENOMEM, "khttp: out of memory");
    }
    if (h->tls && ((rc = setup_ctx(h, tls, err)) != 0 || (h->bio = bio_method()) == NULL)) {
        khttp_free(h);
        return rc != 0 ? rc : sc_err_set(err, SC_ENOMEM, "khttp: BIO_meth_new failed");
    }
    *out = h;
    return 0;
}

static void
conn_close(struct kconn *k)
{
    if (k == NULL)
        return;
    /* Closed without a close_notify, OpenSSL would take the connection's
     * session (the server's latest ticket, which new_session() kept) for a
     * bad one and make it unresumable.  A session is bad only after a
     * fatal TLS alert, and OpenSSL drops it itself then. */
    if (k->ssl != NULL)
        SSL_set_shutdown(k->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(k->ssl); /* frees its BIO, which does not own the fd */
    if (k->fd >= 0)
        close(k->fd);
    free(k);
}

void
khttp_free(struct khttp *h)
{
    if (h == NULL)
        return;
    for (int i = 0; i < h->nidle; i++)
        conn_close(h->idle[i]);
    SSL_SESSION_free(h->sess);
    SSL_CTX_free(h->ctx);
    BIO_meth_free(h->bio);
    free(h->host);
    free(h->port);
    free(h->name);
    free(h->prefix);
    free(h->host_line);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

/* ---- waiting, connecting ---------------------------------------------------- */

/* Until fd is ready for ev: 0 (an error condition counts as ready: the
 * next read or write says what it is), SC_ETIMEOUT at deadline (0: none),
 * SC_ESHUTDOWN once *stop is set. */
static int
wait_fd(int fd, short ev, int64_t deadline, const volatile int *stop)
{
    for (;;) {
        int64_t ms = -1;
        struct pollfd p = {.fd = fd, .events = ev};
        int r;

        if (stop != NULL && __atomic_load_n(stop, __ATOMIC_ACQUIRE))
            return SC_ESHUTDOWN;
        if (deadline > 0 && (ms = deadline - now_ms()) <= 0)
            return SC_ETIMEOUT;
        if (stop != NULL && (ms < 0 || ms > KHTTP_TICK_MS))
            ms = KHTTP_TICK_MS;
        r = poll(&p, 1, (int)ms);
        if (r > 0)
            return 0;
        if (r < 0 && errno != EINTR && errno != EAGAIN)
            return SC_EIO;
    }
}

static int
wait_fail(const struct khttp *h, int rc, const char *what, struct sc_err *err)
{
    if (rc == SC_ESHUTDOWN)
        return sc_err_set(err, rc, "%s %s: stopped", what, h->name);
    if (rc == SC_ETIMEOUT)
        return sc_err_set(err, rc, "%s %s: timed out", what, h->name);
    return sc_err_set(err, SC_EIO, "%s %s: poll: %s", what, h->name, strerror(errno));
}

static int
tls_fail(const struct khttp *h, SSL *ssl, int r, const char *what, struct sc_err *err)
{
    int e = SSL_get_error(ssl, r), sys = errno;
    long v = SSL_get_verify_result(ssl);
    unsigned long q = ERR_peek_last_error();
    char eb[256] = "";

    if (q != 0)
        ERR_error_string_n(q, eb, sizeof(eb));
    ERR_clear_error();
    if (v != X509_V_OK)
        return sc_err_set(err, SC_EIO, "TLS %s with %s: certificate verify failed: %s", what,
                          h->name, X509_verify_cert_error_string(v));
    if (eb[0] != '\0')
        return sc_err_set(err, SC_EIO, "TLS %s with %s: %s", what, h->name, eb);
    if (e == SSL_ERROR_SYSCALL && sys != 0)
        return sc_err_set(err, SC_EIO, "TLS %s with %s: %s", what, h->name, strerror(sys));
    return sc_err_set(err, SC_EIO, "TLS %s with %s: connection closed", what, h->name);
}

static void
set_keepalive(int fd, int idle, int intvl)
{
    int one = 1;

    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    (void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
    (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
}

static int
tcp_connect(const struct khttp *h, int64_t deadline, const volatile int *stop, int *out,
            struct sc_err *err)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res, *ai;
    int g, fd = -1, last = ECONNREFUSED, rc;

    g = getaddrinfo(h->host, h->port, &hints, &res);
    if (g != 0)
        return sc_err_set(err, SC_EIO, "resolve %s: %s", h->host,
                          g == EAI_SYSTEM ? strerror(errno) : gai_strerror(g));
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            last = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        if (errno == EINPROGRESS) {
            int soerr = 0;
            socklen_t sl = sizeof(soerr);

            rc = wait_fd(fd, POLLOUT, deadline, stop);
            if (rc != 0) {
                close(fd);
                freeaddrinfo(res);
                return wait_fail(h, rc, "connect to", err);
            }
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
                break;
            last = soerr != 0 ? soerr : errno;
        } else {
            last = errno;
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return sc_err_set(err, SC_EIO, "connect to %s port %s: %s", h->host, h->port,
                          strerror(last));
    *out = fd;
    return 0;
}

static int
tls_handshake(struct khttp *h, struct kconn *k, int64_t deadline, const volatile int *stop,
              struct sc_err *err)
{
    BIO *b;
    int r, rc;

    k->ssl = SSL_new(h->ctx);
    b = BIO_new(h->bio);
    if (k->ssl == NULL || b == NULL) {
        BIO_free(b);
        ERR_clear_error();
        return sc_err_set(err, SC_ENOMEM, "TLS with %s: out of memory", h->name);
    }
    BIO_set_data(b, k);
    SSL_set_bio(k->ssl, b, b);
    if (!h->name_is_ip)
        SSL_set_tlsext_host_name(k->ssl, h->name);
    if (h->verify && (h->name_is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(k->ssl), h->name)
                                    : SSL_set1_host(k->ssl, h->name)) != 1) {
        ERR_clear_error();
        return sc_err_set(err, SC_ENOMEM, "TLS with %s: out of memory", h->name);
    }
    pthread_mutex_lock(&h->mu);
    if (h->sess != NULL && SSL_set_session(k->ssl, h->sess) != 1)
        ERR_clear_error(); /* a full handshake, then */
    pthread_mutex_unlock(&h->mu);
    while ((r = SSL_connect(k->ssl)) != 1) {
        int e = SSL_get_error(k->ssl, r);

        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
            return tls_fail(h, k->ssl, r, "handshake", err);
        rc = wait_fd(k->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline, stop);
        if (rc != 0)
            return wait_fail(h, rc, "TLS handshake with", err);
    }
    return 0;
}

static int
conn_open(struct khttp *h, const struct khttp_req *rq, int64_t deadline, struct kconn **out,
          struct sc_err *err)
{
    int64_t cd = now_ms() + KHTTP_CONNECT_MS;
    struct kconn *k = calloc(1, sizeof(*k));
    int rc;

    if (k == NULL)
        return sc_err_set(err, SC_ENOMEM, "connect to %s: out of memory", h->host);
    k->fd = -1;
    if (deadline > 0 && deadline < cd)
        cd = deadline;
    rc = tcp_connect(h, cd, rq->stop, &k->fd, err);
    if (rc == 0) {
        if (rq->watch_keepalive)
            set_keepalive(k->fd, 30, 10);
        else
            set_keepalive(k->fd, 60, 60); /* libcurl's defaults */
        if (h->tls)
            rc = tls_handshake(h, k, cd, rq->stop, err);
        if (rc == 0 && fcntl(k->fd, F_SETFL, 0) != 0)
            rc = sc_err_set(err, SC_EIO, "connect to %s: fcntl: %s", h->host, strerror(errno));
    }
    if (rc != 0) {
        conn_close(k);
        return rc;
    }
    *out = k;
    return 0;
}

static struct kconn *
pool_take(struct khttp *h)
{
    struct kconn *k = NULL;

    pthread_mutex_lock(&h->mu);
    if (h->nidle > 0)
        k = h->idle[--h->nidle];
    pthread_mutex_unlock(&h->mu);
    return k;
}

static void
pool_give(struct khttp *h, struct kconn *k)
{
    pthread_mutex_lock(&h->mu);
    if (h->nidle < KHTTP_POOL_MAX) {
        h->idle[h->nidle++] = k;
        k = NULL;
    }
    pthread_mutex_unlock(&h->mu);
    conn_close(k);
}

/* ---- reading and writing --------------------------------------------------- */

struct io {
    const struct khttp *h;
    struct kconn *k; /* NULL: the bytes in mem (khttp_parse_bytes) */
    int64_t deadline;
    const volatile int *stop;
    bool eof;
    const char *mem;
    size_t mem_len, mem_off, mem_chunk;
};

/* One read or write attempt on k: 0 with *moved bytes moved (0 on a read:
 * the end of the stream) or *again set (the socket's timeout ran out, or a
 * signal came); else an error code, err filled. */
static int
tls_once(const struct io *io, char *rp, const char *wp, size_t n, size_t *moved, bool *again,
         struct sc_err *err)
{
    int len = (int)(n > INT32_MAX ? INT32_MAX : n);
    int r = rp != NULL ? SSL_read(io->k->ssl, rp, len) : SSL_write(io->k->ssl, wp, len);
    int e;

    if (r > 0) {
        *moved = (size_t)r;
        return 0;
    }
    e = SSL_get_error(io->k->ssl, r);
    if (e == SSL_ERROR_ZERO_RETURN && rp != NULL) {
        ERR_clear_error();
        return 0;
    }
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        *again = true;
        return 0;
    }
    return tls_fail(io->h, io->k->ssl, r, rp != NULL ? "read" : "write", err);
}

static int
plain_once(const struct io *io, char *rp, const char *wp, size_t n, size_t *moved, bool *again,
           struct sc_err *err)
{
    ssize_t r = rp != NULL ? recv(io->k->fd, rp, n, 0) : send(io->k->fd, wp, n, MSG_NOSIGNAL);

    if (r >= 0) {
        *moved = (size_t)r;
        return 0;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        *again = true;
        return 0;
    }
    return sc_err_set(err, SC_EIO, "%s %s: %s", rp != NULL ? "read from" : "write to", io->h->name,
                      strerror(errno));
}

/* Before a blocking read or write on k: SC_ESHUTDOWN once *stop is set,
 * SC_ETIMEOUT at the deadline, else 0 with the socket's timeouts at the
 * time left, KHTTP_TICK_MS at most (a setsockopt only when that changes:
 * near a deadline). */
static int
arm(const struct io *io)
{
    int64_t ms = KHTTP_TICK_MS;

    if (io->stop != NULL && __atomic_load_n(io->stop, __ATOMIC_ACQUIRE))
        return SC_ESHUTDOWN;
    if (io->deadline > 0) {
        int64_t left = io->deadline - now_ms();
        if (left <= 0)
            return SC_ETIMEOUT;
        if (left < ms)
            ms = left;
    }
    if (io->k->tmo_ms != (int)ms) {
        struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
        if (setsockopt(io->k->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
            setsockopt(io->k->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0)
            return SC_EIO;
        io->k->tmo_ms = (int)ms;
    }
    return 0;
}

/* Until one attempt moves bytes: 0 with *moved (0 on a read: the peer
 * ended the stream), or an error code.  An attempt that timed out (the
 * socket's tick) or was interrupted is tried again once the stop flag and
 * the deadline have been looked at. */
static int
io_move(struct io *io, char *rp, const char *wp, size_t n, size_t *moved, struct sc_err *err)
{
    *moved = 0;
    for (;;) {
        bool again = false;
        int rc = arm(io);

        if (rc == SC_EIO)
            return sc_err_set(err, rc, "%s %s: setsockopt: %s",
                              rp != NULL ? "read from" : "write to", io->h->name, strerror(errno));
        if (rc != 0)
            return wait_fail(io->h, rc, rp != NULL ? "read from" : "write to", err);
        rc = io->k->ssl != NULL ? tls_once(io, rp, wp, n, moved, &again, err)
                                : plain_once(io, rp, wp, n, moved, &again, err);
        if (rc != 0 || !again)
            return rc;
    }
}

/* Up to cap bytes into p: *n > 0, or *n == 0 with io->eof set; else an
 * error (err filled). */
static int
io_read(struct io *io, char *p, size_t cap, size_t *n, struct sc_err *err)
{
    int rc;

    *n = 0;
    if (io->k == NULL) { /* khttp_parse_bytes */
        size_t take = io->mem_len - io->mem_off;
        if (take > io->mem_chunk)
            take = io->mem_chunk;
        if (take > cap)
            take = cap;
        if (take > 0)
            memcpy(p, io->mem + io->mem_off, take);
        io->mem_off += take;
        *n = take;
        io->eof = take == 0;
        return 0;
    }
    rc = io_move(io, p, NULL, cap, n, err);
    if (rc == 0 && *n == 0)
        io->eof = true;
    return rc;
}

static int
io_write(struct io *io, const char *p, size_t n, struct sc_err *err)
{
    while (n > 0) {
        size_t done = 0;
        int rc = io->k != NULL ? io_move(io, NULL, p, n, &done, err) : SC_EINVALID;

        if (rc != 0)
            return rc;
        p += done;
        n -= done;
    }
    return 0;
}

/* ---- the response ------------------------------------------------------------- */

enum body_mode { BODY_NONE, BODY_LENGTH, BODY_CHUNKED, BODY_TO_EOF };
enum chunk_state { CH_SIZE, CH_DATA, CH_DATA_END, CH_TRAILER };

struct resp {
    int status;
    bool close; /* the connection cannot be reused */
    enum body_mode mode;
    uint64_t left; /* BODY_LENGTH: bytes to come; CH_DATA: of this chunk */
    enum chunk_state cs;
    char line[KHTTP_LINE_MAX];
    size_t ll;
    bool done;
    khttp_body_fn *fn;
    void *ctx;
    int fn_rc;
};

static bool
token_in(const char *v, size_t n, const char *tok)
{
    size_t tl = strlen(tok);

    for (size_t i = 0; i + tl <= n; i++)
        if (strncasecmp(v + i, tok, tl) == 0 && (i == 0 || v[i - 1] == ',' || v[i - 1] == ' ') &&
            (i + tl == n || v[i + tl] == ',' || v[i + tl] == ' ' || v[i + tl] == ';'))
            return true;
    return false;
}

static int
bad_response(const struct io *io, const char *why, struct sc_err *err)
{
    return sc_err_set(err, SC_EIO, "response from %s: %s", io->h->name, why);
}

/* What the headers said about the body. */
struct framing {
    bool have_len, chunked;
    uint64_t len;
};

static int
content_length(const struct io *io, const char *v, size_t vl, struct framing *f, struct sc_err *err)
{
    char num[24], *ep;
    unsigned long long x;

    if (vl == 0 || vl >= sizeof(num))
        return bad_response(io, "a bad Content-Length", err);
    memcpy(num, v, vl);
    num[vl] = '\0';
    errno = 0;
    x = strtoull(num, &ep, 10);
    if (*ep != '\0' || num[0] < '0' || num[0] > '9' || errno == ERANGE ||
        (f->have_len && x != f->len))
        return bad_response(io, "a bad Content-Length", err);
    f->len = x;
    f->have_len = true;
    return 0;
}

static bool
name_is(const char *name, size_t nl, const char *want)
{
    return nl == strlen(want) && strncasecmp(name, want, nl) == 0;
}

/* One "Name: value" line (without its line end). */
static int
one_header(const struct io *io, const char *name, const char *ve, struct framing *f, struct resp *r,
           struct khttp_resp *rs, struct sc_err *err)
{
    const char *colon = memchr(name, ':', (size_t)(ve - name)), *v;
    size_t nl, vl;

    if (colon == NULL || colon == name)
        return bad_response(io, "a header line without a name", err);
    for (v = colon + 1; v < ve && (*v == ' ' || *v == '\t'); v++)
        ;
    while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
        ve--;
    nl = (size_t)(colon - name);
    vl = (size_t)(ve - v);
    if (name_is(name, nl, "content-length"))
        return content_length(io, v, vl, f, err);
    if (name_is(name, nl, "transfer-encoding")) {
        f->chunked = token_in(v, vl, "chunked");
        return f->chunked ? 0 : bad_response(io, "a transfer encoding other than chunked", err);
    }
    if (name_is(name, nl, "connection") && token_in(v, vl, "close"))
        r->close = true;
    if (name_is(name, nl, "retry-after")) {
        size_t k = vl < sizeof(rs->retry_after) - 1 ? vl : sizeof(rs->retry_after) - 1;
        memcpy(rs->retry_after, v, k);
        rs->retry_after[k] = '\0';
    }
    return 0;
}

/* How the body is framed, from the status and the headers. */
static void
set_framing(struct resp *r, const struct framing *f, bool head_req)
{
    if (head_req || r->status < 200 || r->status == 204 || r->status == 304) {
        r->mode = BODY_NONE;
    } else if (f->chunked) {
        r->mode = BODY_CHUNKED;
        r->cs = CH_SIZE;
    } else if (f->have_len) {
        r->mode = BODY_LENGTH;
        r->left = f->len;
    } else {
        r->mode = BODY_TO_EOF;
        r->close = true;
    }
    r->done = r->mode == BODY_NONE || (r->mode == BODY_LENGTH && f->len == 0);
}

/* The status line and headers in head (len bytes, without the blank line). */
static int
parse_head(const struct io *io, const char *head, size_t len, bool head_req, struct resp *r,
           struct khttp_resp *rs, struct sc_err *err)
{
    const char *p = head, *end = head + len, *eol;
    struct framing f = {0};
    int rc;

    if (len < 12 || strncmp(p, "HTTP/1.", 7) != 0 || p[8] != ' ' || p[9] < '1' || p[9] > '5' ||
        p[10] < '0' || p[10] > '9' || p[11] < '0' || p[11] > '9')
        return bad_response(io, "not an HTTP/1.x status line", err);
    r->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    r->close = p[7] != '1';
    for (p = memchr(p, '\n', len); p != NULL && p + 1 < end; p = eol) {
        const char *name = p + 1, *ve;

        eol = memchr(name, '\n', (size_t)(end - name));
        ve = eol != NULL ? eol : end;
        if (ve > name && ve[-1] == '\r')
            ve--;
        if ((rc = one_header(io, name, ve, &f, r, rs, err)) != 0)
            return rc;
        if (eol == NULL)
            break;
    }
    set_framing(r, &f, head_req);
    return 0;
}

static int
deliver(struct resp *r, const char *p, size_t n)
{
    if (n > 0 && r->fn != NULL && r->fn_rc == 0)
        r->fn_rc = r->fn(r->ctx, r->status, p, n);
    return r->fn_rc;
}

/* The chunk size at the start of line (n bytes): hex digits, then the
 * end, ';' (an extension) or a space; -1 when it is none. */
static int
chunk_size(const char *line, size_t n, uint64_t *out)
{
    uint64_t x = 0;
    size_t i = 0;

    for (; i < n && i < 16; i++) {
        char ch = line[i];
        int d = ch >= '0' && ch <= '9'   ? ch - '0'
                : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                         : -1;
        if (d < 0)
            break;
        x = x * 16 + (uint64_t)d;
    }
    if (i == 0 || (i < n && line[i] != ';' && line[i] != ' '))
        return -1;
    *out = x;
    return 0;
}

/* One line of the chunked framing is complete in r->line (without its
 * newline). */
static int
chunk_line(const struct io *io, struct resp *r, struct sc_err *err)
{
    size_t n = r->ll;

    if (n > 0 && r->line[n - 1] == '\r')
        n--;
    r->ll = 0;
    if (r->cs == CH_SIZE) {
        if (chunk_size(r->line, n, &r->left) != 0)
            return bad_response(io, "a bad chunk size", err);
        r->cs = r->left == 0 ? CH_TRAILER : CH_DATA;
    } else if (r->cs == CH_DATA_END) {
        if (n != 0)
            return bad_response(io, "a chunk longer than its size", err);
        r->cs = CH_SIZE;
    } else if (r->cs == CH_TRAILER && n == 0) {
        r->done = true; /* the blank line after the trailers */
    }
    return 0;
}

/* Body bytes that are data (not framing): as many as the body or the
 * chunk still has, delivered; *take says how many. */
static int
feed_data(struct resp *r, const char *p, size_t n, size_t *take)
{
    bool counted = r->mode != BODY_TO_EOF; /* BODY_LENGTH, or a chunk's data */
    int rc;

    *take = counted && n > r->left ? (size_t)r->left : n;
    if ((rc = deliver(r, p, *take)) != 0)
        return rc;
    if (counted && (r->left -= *take) == 0) {
        if (r->mode == BODY_LENGTH)
            r->done = true;
        else
            r->cs = CH_DATA_END;
    }
    return 0;
}

/* Body bytes p[0..n): delivered, and framing consumed.  *used: bytes
 * taken (fewer than n only once the body is done). */
static int
body_feed(const struct io *io, struct resp *r, const char *p, size_t n, size_t *used,
          struct sc_err *err)
{
    size_t i = 0, take;
    int rc;

    *used = 0;
    while (i < n && !r->done) {
        if (r->mode != BODY_CHUNKED || r->cs == CH_DATA) {
            if ((rc = feed_data(r, p + i, n - i, &take)) != 0)
                return rc;
            i += take;
            continue;
        }
        char ch = p[i++];
        if (ch == '\n') {
            if ((rc = chunk_line(io, r, err)) != 0)
                return rc;
        } else if (r->ll < sizeof(r->line)) {
            r->line[r->ll++] = ch;
        } else {
            return bad_response(io, "a chunk-size or trailer line too long", err);
        }
    }
    *used = i;
    return 0;
}

/* Find the blank line ending the head in b (searching from from). */
static const char *
head_end(const struct buf *b, size_t from, size_t *hl)
{
    const char *d = buf_str(b);

    for (size_t i = from; i < b->len; i++) {
        if (d[i] != '\n')
            continue;
        if (i >= 1 && d[i - 1] == '\n') {
            *hl = i - 1;
            return d + i + 1;
        }
        if (i >= 2 && d[i - 1] == '\r' && d[i - 2] == '\n') {
            *hl = i - 2;
            return d + i + 1;
        }
    }
    return NULL;
}

/* A complete head in head (hl bytes, rest: what follows it): parsed; a
 * final status feeds the rest to the body, an interim one (*interim) drops
 * the head so that the next can be read. */
static int
head_done(const struct io *io, struct buf *head, const char *rest, size_t hl, bool head_req,
          struct resp *r, struct khttp_resp *rs, bool *interim, struct sc_err *err)
{
    size_t tail = head->len - (size_t)(rest - buf_str(head)), used = 0;
    int rc;

    *interim = false;
    if ((rc = parse_head(io, buf_str(head), hl, head_req, r, rs, err)) != 0)
        return rc;
    if (r->status == 101)
        return bad_response(io, "an upgrade nobody asked for", err);
    if (r->status < 200) {
        *interim = true;
        buf_consume(head, head->len - tail);
        return 0;
    }
    rc = body_feed(io, r, rest, tail, &used, err);
    if (rc == 0 && used < tail)
        r->close = true; /* bytes after the response: do not trust the connection */
    return rc;
}

/* Read heads until a final status; the bytes after it go to the body.
 * *nothing: not one byte came back. */
static int
read_head(struct io *io, bool head_req, struct resp *r, struct khttp_resp *rs, bool *nothing,
          struct sc_err *err)
{
    char chunk[KHTTP_READ_BYTES];
    struct buf head = {0};
    size_t n, hl = 0, scanned = 0;
    const char *rest;
    bool interim;
    int rc = 0;

    buf_init(&head, KHTTP_HEAD_MAX);
    for (;;) {
        rest = head_end(&head, scanned, &hl);
        if (rest != NULL) {
            rc = head_done(io, &head, rest, hl, head_req, r, rs, &interim, err);
            if (rc != 0 || !interim)
                break;
            scanned = 0;
            continue;
        }
        scanned = head.len > 3 ? head.len - 3 : 0;
        if ((rc = io_read(io, chunk, sizeof(chunk), &n, err)) != 0)
            break;
        if (io->eof) {
            rc = bad_response(io,
                              head.len == 0 ? "connection closed before a response"
                                            : "connection closed inside the headers",
                              err);
            break;
        }
        *nothing = false;
        if (buf_add(&head, chunk, n) != 0) {
            rc = bad_response(io, "headers longer than the limit", err);
            break;
        }
    }
    buf_release(&head);
    return rc;
}

/* Read the response: heads until a final status, then the body.  *nothing:
 * not one byte came back (on a reused connection, the caller tries again). */
static int
read_response(struct io *io, const struct khttp_req *rq, struct resp *r, struct khttp_resp *rs,
              bool *nothing, struct sc_err *err)
{
    char chunk[KHTTP_READ_BYTES];
    size_t n, used;
    int rc;

    *nothing = true;
    rc = read_head(io, strcmp(rq->method, "HEAD") == 0, r, rs, nothing, err);
    if (rc != 0)
        return rc;
    *nothing = false;
    rs->status = r->status;
    while (!r->done) {
        if ((rc = io_read(io, chunk, sizeof(chunk), &n, err)) != 0)
            return rc;
        if (io->eof && r->mode != BODY_TO_EOF)
            return bad_response(io, "connection closed inside the body", err);
        if (io->eof) {
            r->done = true;
            break;
        }
        if ((rc = body_feed(io, r, chunk, n, &used, err)) != 0)
            return rc;
        if (used < n)
            r->close = true;
    }
    if (io->k != NULL && io->k->ssl != NULL && SSL_has_pending(io->k->ssl))
        r->close = true;
    return 0;
}

/* ---- the exchange ------------------------------------------------------------ */

/* The request's head and body in w, appended piece by piece: no printf
 * (it formatted each header twice, measuring and writing; docs/performance.md). */
static int
build_request(const struct khttp *h, const struct khttp_req *rq, struct buf *w)
{
    const char *const line[] = {rq->method,      " ",         h->prefix, rq->target,
                                " HTTP/1.1\r\n", h->host_line};
    char cl[48];
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < sizeof(line) / sizeof(line[0]); i++)
        rc = buf_adds(w, line[i]);
    for (size_t i = 0; rc == 0 && i < rq->nheaders; i++) {
        const char *l = rq->headers[i], *c = strchr(l, ':');
        if (c == NULL || c[1 + strspn(c + 1, " \t")] == '\0')
            continue; /* "Name:" alone: no such header (libcurl's rule) */
        rc = buf_adds(w, l);
        if (rc == 0)
            rc = buf_add(w, "\r\n", 2);
    }
    if (rc == 0 && rq->body != NULL) {
        snprintf(cl, sizeof(cl), "Content-Length: %zu\r\n", rq->body_len);
        rc = buf_adds(w, cl);
    }
    if (rc == 0)
        rc = buf_add(w, "\r\n", 2);
    if (rc == 0 && rq->body != NULL && rq->body_len > 0)
        rc = buf_add(w, rq->body, rq->body_len);
    return rc;
}

int
khttp_exchange(struct khttp *h, const struct khttp_req *rq, struct khttp_resp *rs,
               struct sc_err *err)
{
    struct buf w = {0};
    int64_t deadline = rq->timeout_ms > 0 ? now_ms() + rq->timeout_ms : 0;
    int rc = 0;

    memset(rs, 0, sizeof(*rs));
    if (rq->target == NULL || rq->target[0] != '/')
        return sc_err_set(err, SC_EINVALID, "khttp: a request target must start with '/'");
    buf_init(&w, LIM_REQUEST_BODY + KHTTP_HEAD_MAX);
    if (build_request(h, rq, &w) != 0) {
        buf_release(&w);
        return sc_err_set(err, SC_ETOOBIG, "%s %s: request too large", rq->method, rq->target);
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        struct kconn *k = attempt == 0 && !rq->watch_keepalive ? pool_take(h) : NULL;
        bool reused = k != NULL, nothing = false;
        struct resp r = {.fn = rq->body_fn, .ctx = rq->body_ctx};
        struct io io = {.h = h, .deadline = deadline, .stop = rq->stop};

        if (k == NULL) {
            rc = conn_open(h, rq, deadline, &k, err);
            if (rc != 0)
                break;
            rs->connected = true;
            rs->resumed = k != NULL && k->ssl != NULL && SSL_session_reused(k->ssl) == 1;
        }
        io.k = k;
        rc = io_write(&io, buf_str(&w), w.len, err);
        if (rc != 0)
            nothing = true;
        else
            rc = read_response(&io, rq, &r, rs, &nothing, err);
        if (rc == 0 && !r.close && !rq->watch_keepalive) /* a sink's refusal is rc too */
            pool_give(h, k);
        else
            conn_close(k);
        /* A kept connection the server had closed: once more, on a new one. */
        if (rc != 0 && reused && nothing && rc != SC_ESHUTDOWN && rc != SC_ETIMEOUT) {
            sc_err_clear(err);
            continue;
        }
        break;
    }
    buf_release(&w);
    return rc;
}

int
khttp_parse_bytes(const char *data, size_t n, size_t chunk, const char *method, khttp_body_fn *fn,
                  void *ctx, struct khttp_resp *rs, bool *reusable, struct sc_err *err)
{
    struct khttp peer = {.name = (char *)"peer"};
    struct io io = {.h = &peer, .mem = data, .mem_len = n, .mem_chunk = chunk ? chunk : 1};
    struct resp r = {.fn = fn, .ctx = ctx};
    struct khttp_req rq = {.method = method};
    bool nothing;
    int rc;

    memset(rs, 0, sizeof(*rs));
    rc = read_response(&io, &rq, &r, rs, &nothing, err);
    *reusable = rc == 0 && !r.close && io.mem_off == n;
    return rc;
}
