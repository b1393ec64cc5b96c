/* tests/unit/kube/khttp_test.c -- our HTTP/1.1 client (kube/khttp.c): the
 * response parser over recorded responses split at every byte, malformed
 * responses refused with a clear error, and exchanges with a scripted peer
 * on loopback (a kept connection the peer closed is retried once on a new
 * one; a silent peer times out; a blocked read wakes for the stop flag).  TLS and the real API
 * server are tests/integration/kube/kclient_it.c's. */
#include "kube/khttp.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/buf.h"
#include "tests/lib/harness.h"

static bool
starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int
collect(void *ctx, int status, const char *p, size_t n)
{
    (void)status;
    return buf_add(ctx, p, n) != 0 ? SC_ETOOBIG : 0;
}

struct good {
    const char *method, *in, *body, *retry_after;
    int status;
    bool reusable;
};

static const struct good goods[] = {
    {"GET",
     "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n"
     "{\"a\":\"bcd\"}",
     "{\"a\":\"bcd\"}", "", 200, true},
    {"GET",
     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n6;ext=1\r\npedia "
     "\r\nE\r\nin \r\n\r\nchunks.\r\n0\r\nX-Trailer: 1\r\n\r\n",
     "Wikipedia in \r\n\r\nchunks.", "", 200, true},
    {"POST", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}",
     "{}", "", 201, true},
    {"GET",
     "HTTP/1.1 429 Too Many Requests\r\nRetry-After:  3 \r\nConnection: close\r\n"
     "Content-Length: 2\r\n\r\n{}",
     "{}", "3", 429, false},
    {"GET", "HTTP/1.0 200 OK\r\n\r\nto the end", "to the end", "", 200, false},
    {"GET", "HTTP/1.1 200 OK\r\n\r\nto the end", "to the end", "", 200, false},
    {"HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", "", "", 200, true},
    {"DELETE", "HTTP/1.1 204 No Content\r\n\r\n", "", "", 204, true},
    {"GET", "HTTP/1.1 200 OK\nContent-Length: 2\n\nok", "ok", "", 200, true},
    {"GET", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA", "ok", "", 200, false},
    {"GET",
     "HTTP/1.1 200 OK\r\nTRANSFER-ENCODING: Chunked\r\nConnection: keep-alive\r\n\r\n"
     "A\r\n0123456789\r\n0\r\n\r\n",
     "0123456789", "", 200, true},
};

/* Every response parsed with the bytes handed out 1, 2, ... at a time:
 * the same status, body, Retry-After and reuse whatever the split. */
static void
test_good_responses_any_split(void)
{
    for (size_t i = 0; i < sizeof(goods) / sizeof(goods[0]); i++) {
        const struct good *g = &goods[i];
        size_t n = strlen(g->in);

        for (size_t chunk = 1; chunk <= n + 1; chunk++) {
            struct khttp_resp rs = {0};
            struct sc_err e = {0};
            struct buf b = {0};
            bool reusable = !g->reusable;

            buf_init(&b, 1 << 16);
            CHECK_INT(
                khttp_parse_bytes(g->in, n, chunk, g->method, collect, &b, &rs, &reusable, &e), 0);
            CHECK_INT(rs.status, g->status);
            CHECK_STR(buf_str(&b), g->body);
            CHECK_STR(rs.retry_after, g->retry_after);
            CHECK_INT(reusable, g->reusable);
            if (e.code != 0)
                fprintf(stderr, "case %zu chunk %zu: %s\n", i, chunk, e.msg);
            buf_release(&b);
        }
    }
}

struct bad {
    const char *in, *why;
};

static const struct bad bads[] = {
    {"", "connection closed before a response"},
    {"HTTP/1.1 200 OK\r\nContent-Le", "connection closed inside the headers"},
    {"HTTP/2 200\r\n\r\n", "not an HTTP/1.x status line"},
    {"HTTP/1.1 2x0 OK\r\n\r\n", "not an HTTP/1.x status line"},
    {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc", "connection closed inside the body"},
    {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", "a bad Content-Length"},
    {"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "a bad Content-Length"},
    {"HTTP/1.1 200 OK\r\nContent-Length: 12ab\r\n\r\n", "a bad Content-Length"},
    {"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n", "a bad Content-Length"},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "a bad chunk size"},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", "a bad chunk size"},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
     "a chunk longer than its size"},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", "inside the body"},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
     "a transfer encoding other than chunked"},
    {"HTTP/1.1 200 OK\r\nbadheader\r\n\r\n", "a header line without a name"},
    {"HTTP/1.1 200 OK\r\n: empty name\r\n\r\n", "a header line without a name"},
    {"HTTP/1.1 101 Switching Protocols\r\n\r\n", "an upgrade nobody asked for"},
};

static void
test_malformed_is_a_clear_error(void)
{
    for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
        for (size_t chunk = 1; chunk <= 7; chunk += 6) {
            struct khttp_resp rs = {0};
            struct sc_err e = {0};
            struct buf b = {0};
            bool reusable = true;

            buf_init(&b, 1 << 16);
            CHECK_INT(khttp_parse_bytes(bads[i].in, strlen(bads[i].in), chunk, "GET", collect, &b,
                                        &rs, &reusable, &e),
                      SC_EIO);
            CHECK(!reusable);
            if (strstr(e.msg, bads[i].why) == NULL)
                fprintf(stderr, "case %zu: got \"%s\", want \"%s\"\n", i, e.msg, bads[i].why);
            CHECK(strstr(e.msg, bads[i].why) != NULL);
            CHECK(starts_with(e.msg, "response from peer: "));
            buf_release(&b);
        }
    }
}

/* Lines past the limits: a chunk-size line, and the headers as a whole. */
static void
test_limits(void)
{
    struct buf in = {0}, b = {0};
    struct khttp_resp rs = {0};
    struct sc_err e = {0};
    bool reusable;

    buf_init(&in, 1 << 20);
    buf_init(&b, 1 << 16);
    CHECK_INT(buf_adds(&in, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;"), 0);
    for (int i = 0; i < KHTTP_LINE_MAX; i++)
        CHECK_INT(buf_adds(&in, "a"), 0);
    CHECK_INT(khttp_parse_bytes(buf_str(&in), in.len, 4096, "GET", collect, &b, &rs, &reusable, &e),
              SC_EIO);
    CHECK(strstr(e.msg, "line too long") != NULL);
    buf_reset(&in);
    CHECK_INT(buf_adds(&in, "HTTP/1.1 200 OK\r\n"), 0);
    while (in.len <= KHTTP_HEAD_MAX)
        CHECK_INT(buf_adds(&in, "X-Filler: 0123456789012345678901234567890123456789\r\n"), 0);
    CHECK_INT(buf_adds(&in, "\r\n"), 0);
    CHECK_INT(khttp_parse_bytes(buf_str(&in), in.len, 4096, "GET", collect, &b, &rs, &reusable, &e),
              SC_EIO);
    CHECK(strstr(e.msg, "headers longer than the limit") != NULL);
    buf_release(&in);
    buf_release(&b);
}

/* The body's sink refuses: its code ends the exchange, the connection is
 * not reused. */
static int
refuse(void *ctx, int status, const char *p, size_t n)
{
    (void)p;
    (void)n;
    CHECK_INT(status, 200);
    (*(int *)ctx)++;
    return SC_ETOOBIG;
}

static void
test_sink_refusal_ends_it(void)
{
    static const char in[] = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789";
    struct khttp_resp rs = {0};
    struct sc_err e = {0};
    bool reusable = true;
    int calls = 0;

    CHECK_INT(khttp_parse_bytes(in, sizeof(in) - 1, 3, "GET", refuse, &calls, &rs, &reusable, &e),
              SC_ETOOBIG);
    CHECK_INT(calls, 1);
    CHECK(!reusable);
}

/* ---- a scripted peer on loopback (plain HTTP) ---- */

struct peer {
    int lfd, port;
    char req[3][4096]; /* each request as read */
    int nreq;
};

/* One request's bytes (head, and a body of Content-Length). */
static void
read_request(int fd, char *out, size_t cap)
{
    size_t len = 0;
    char *he = NULL;

    out[0] = '\0';
    while (len + 1 < cap) {
        ssize_t r = recv(fd, out + len, cap - 1 - len, 0);
        if (r <= 0)
            break;
        len += (size_t)r;
        out[len] = '\0';
        he = strstr(out, "\r\n\r\n");
        if (he != NULL) {
            const char *cl = strstr(out, "Content-Length: ");
            size_t want = (size_t)(he + 4 - out) + (cl ? strtoul(cl + 16, NULL, 10) : 0);
            if (len >= want)
                break;
        }
    }
}

/* A listening socket on a free loopback port, and the base URL that names
 * it (with path) in base; -1 when it cannot listen. */
static int
listen_loopback(const char *path, char *base, size_t cap)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 4) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    snprintf(base, cap, "http://127.0.0.1:%d%s", ntohs(a.sin_port), path);
    return fd;
}

static void *
peer_main(void *arg)
{
    struct peer *p = arg;
    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    static const char created[] = "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}";
    int fd;

    /* 1: answer one request, then close as an idle server would */
    fd = accept(p->lfd, NULL, NULL);
    read_request(fd, p->req[p->nreq++], sizeof(p->req[0]));
    (void)!send(fd, ok, sizeof(ok) - 1, MSG_NOSIGNAL);
    usleep(50 * 1000);
    close(fd);
    /* 2: the retried request on a new connection; 3 on it: no answer */
    fd = accept(p->lfd, NULL, NULL);
    read_request(fd, p->req[p->nreq++], sizeof(p->req[0]));
    (void)!send(fd, created, sizeof(created) - 1, MSG_NOSIGNAL);
    read_request(fd, p->req[p->nreq++], sizeof(p->req[0]));
    usleep(500 * 1000);
    close(fd);
    return NULL;
}

static void
test_exchanges_with_a_peer(void)
{
    struct peer p = {0};
    struct khttp *h = NULL;
    struct khttp_resp rs = {0};
    struct sc_err e = {0};
    struct buf b = {0};
    char base[64];
    pthread_t t;
    static const char *const hdrs[] = {"Accept: application/json",
                                       "Expect:", "User-Agent: khttp-test"};

    p.lfd = listen_loopback("/prefix/", base, sizeof(base));
    CHECK(p.lfd >= 0);
    CHECK_INT(khttp_new(base, NULL, NULL, false, &h, &e), 0);
    if (h == NULL)
        return;
    pthread_create(&t, NULL, peer_main, &p);
    buf_init(&b, 1 << 16);
    struct khttp_req rq = {.method = "GET",
                           .target = "/api/v1/namespaces?limit=1",
                           .headers = hdrs,
                           .nheaders = 3,
                           .timeout_ms = 5000,
                           .body_fn = collect,
                           .body_ctx = &b};
    CHECK_INT(khttp_exchange(h, &rq, &rs, &e), 0);
    CHECK_INT(rs.status, 200);
    CHECK(rs.connected);
    CHECK_STR(buf_str(&b), "ok");
    usleep(200 * 1000); /* the peer has closed the kept connection */
    buf_reset(&b);
    rq.method = "POST";
    rq.target = "/apis/x/v1/widgets";
    rq.body = "{\"k\":1}";
    rq.body_len = 7;
    CHECK_INT(khttp_exchange(h, &rq, &rs, &e), 0);
    CHECK_INT(rs.status, 201);
    CHECK(rs.connected); /* not the dead one: a new connection */
    CHECK_STR(buf_str(&b), "{}");
    rq.method = "GET";
    rq.body = NULL;
    rq.body_len = 0;
    rq.timeout_ms = 200;
    CHECK_INT(khttp_exchange(h, &rq, &rs, &e), SC_ETIMEOUT);
    CHECK(!rs.connected); /* the kept one */
    CHECK(strstr(e.msg, "timed out") != NULL);
    pthread_join(t, NULL);
    CHECK_INT(p.nreq, 3);
    CHECK(starts_with(p.req[0], "GET /prefix/api/v1/namespaces?limit=1 HTTP/1.1\r\n"));
    CHECK(strstr(p.req[0], "\r\nHost: 127.0.0.1:") != NULL);
    CHECK(strstr(p.req[0], "\r\nAccept: application/json\r\n") != NULL);
    CHECK(strstr(p.req[0], "Expect") == NULL); /* a header without a value is not sent */
    CHECK(strstr(p.req[0], "Content-Length") == NULL);
    CHECK(starts_with(p.req[1], "POST /prefix/apis/x/v1/widgets HTTP/1.1\r\n"));
    CHECK(strstr(p.req[1], "\r\nContent-Length: 7\r\n\r\n{\"k\":1}") != NULL);
    buf_release(&b);
    khttp_free(h);
    close(p.lfd);
}

/* A peer that reads one request, then answers after slow_ms with a body
 * in two parts slow_ms apart (slow_ms < 0: never answers), and holds the
 * connection until the test closes hold[1]. */
struct slow_peer {
    int lfd, slow_ms, hold[2];
};

static void *
slow_peer_main(void *arg)
{
    struct slow_peer *p = arg;
    static const char head[] = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nfirst";
    char req[4096], c;
    int fd = accept(p->lfd, NULL, NULL);

    read_request(fd, req, sizeof(req));
    if (p->slow_ms >= 0) {
        usleep((useconds_t)p->slow_ms * 1000);
        (void)!send(fd, head, sizeof(head) - 1, MSG_NOSIGNAL);
        usleep((useconds_t)p->slow_ms * 1000);
        (void)!send(fd, "_last", 5, MSG_NOSIGNAL);
    }
    (void)!read(p->hold[0], &c, 1); /* until the test closes hold[1] */
    close(fd);
    return NULL;
}

static void *
set_stop_later(void *arg)
{
    usleep(300 * 1000);
    __atomic_store_n((int *)arg, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* A connection's socket blocks in recv() with a timeout of KHTTP_TICK_MS
 * at most: a body that comes in parts further apart than a tick is read
 * whole, and a read that waits for a silent peer ends with SC_ESHUTDOWN
 * once the stop flag is set, well before its own deadline. */
static void
test_blocked_reads_wake_for_stop(void)
{
    struct khttp *h = NULL;
    struct khttp_resp rs = {0};
    struct sc_err e = {0};
    struct buf b = {0};
    char base[64];
    volatile int stop = 0;
    pthread_t t, s;

    for (int round = 0; round < 2; round++) {
        struct slow_peer p = {.slow_ms = round == 0 ? KHTTP_TICK_MS + 300 : -1};

        p.lfd = listen_loopback("", base, sizeof(base));
        CHECK(p.lfd >= 0 && pipe(p.hold) == 0);
        CHECK_INT(khttp_new(base, NULL, NULL, false, &h, &e), 0);
        if (h == NULL)
            return;
        pthread_create(&t, NULL, slow_peer_main, &p);
        buf_init(&b, 1 << 16);
        struct khttp_req rq = {.method = "GET",
                               .target = "/watch",
                               .timeout_ms = 30000,
                               .body_fn = collect,
                               .body_ctx = &b,
                               .stop = &stop};
        if (round == 0) {
            CHECK_INT(khttp_exchange(h, &rq, &rs, &e), 0);
            CHECK_INT(rs.status, 200);
            CHECK_STR(buf_str(&b), "first_last");
        } else {
            pthread_create(&s, NULL, set_stop_later, (void *)&stop);
            CHECK_INT(khttp_exchange(h, &rq, &rs, &e), SC_ESHUTDOWN);
            CHECK(strstr(e.msg, "stopped") != NULL);
            pthread_join(s, NULL);
        }
        close(p.hold[1]);
        pthread_join(t, NULL);
        close(p.hold[0]);
        buf_release(&b);
        khttp_free(h);
        h = NULL;
        close(p.lfd);
    }
}

/* Nothing listens: a clear error naming host and port; a URL it cannot
 * use is refused at once. */
static void
test_refused_and_bad_urls(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct khttp *h = NULL;
    struct khttp_resp rs = {0};
    struct sc_err e = {0};
    char base[64];
    static const char *const bad[] = {"ftp://x",      "https://",        "https://[::1",
                                      "https://h:0",  "https://h:70000", "https://u@h",
                                      "https://h:1x", "http://h/p?q=1",  "https://[::1]x"};

    CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
          getsockname(fd, (struct sockaddr *)&a, &al) == 0);
    close(fd); /* bound, then closed: nothing listens there */
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", ntohs(a.sin_port));
    CHECK_INT(khttp_new(base, NULL, NULL, false, &h, &e), 0);
    if (h != NULL) {
        struct khttp_req rq = {.method = "GET", .target = "/", .timeout_ms = 2000};
        CHECK_INT(khttp_exchange(h, &rq, &rs, &e), SC_EIO);
        CHECK(strstr(e.msg, "connect to 127.0.0.1 port ") != NULL);
        CHECK(strstr(e.msg, "refused") != NULL);
        rq.target = "no-slash";
        CHECK_INT(khttp_exchange(h, &rq, &rs, &e), SC_EINVALID);
        khttp_free(h);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        h = NULL;
        CHECK_INT(khttp_new(bad[i], NULL, NULL, false, &h, &e), SC_EINVALID);
        CHECK(h == NULL);
    }
    CHECK_INT(khttp_new("https://[::1]:6443", "api.example", NULL, true, &h, &e), 0);
    khttp_free(h);
}

TEST_MAIN(TEST(test_good_responses_any_split), TEST(test_malformed_is_a_clear_error),
          TEST(test_limits), TEST(test_sink_refusal_ends_it), TEST(test_exchanges_with_a_peer),
          TEST(test_refused_and_bad_urls), TEST(test_blocked_reads_wake_for_stop))
