/* Unit tests of kclient's retry decisions.  A loopback socket replays
 * canned HTTP responses (bodies from tests/data/kube/status/), so the
 * client's real transport runs: 429 with Retry-After is retried after the
 * stated delay; a Retry-After beyond KCLIENT_MAX_RETRY_AFTER_S, or a 5xx
 * without one, is returned at once with retry_after filled; max_retries is
 * honoured; an oversized body is SC_ETOOBIG; a non-JSON 2xx is SC_EPROTO.
 * This is not an API server: it answers with fixed bytes, whatever is asked. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "kube/kclient.h"
#include "kube/kinternal.h"
#include "tests/lib/harness.h"

struct canned {
    int fd;
    int port;
    const char *replies[8]; /* full HTTP responses, one per connection/request */
    int n, served;
};

static void *
serve(void *arg)
{
    struct canned *c = arg;
    for (int i = 0; i < c->n; i++) {
        int s = accept(c->fd, NULL, NULL);
        if (s < 0)
            return NULL;
        char buf[8192];
        ssize_t got = 0, r;
        /* read the request head (we answer without looking at it) */
        while ((r = read(s, buf + got, sizeof(buf) - 1 - (size_t)got)) > 0) {
            got += r;
            buf[got] = '\0';
            if (strstr(buf, "\r\n\r\n"))
                break;
        }
        const char *rep = c->replies[i];
        if (write(s, rep, strlen(rep)) < 0) {
            close(s);
            return NULL;
        }
        c->served++;
        close(s); /* "Connection: close": one request per connection */
    }
    return NULL;
}

static void
start(struct canned *c, pthread_t *t)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(c->fd >= 0);
    CHECK_INT(bind(c->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    CHECK_INT(listen(c->fd, 8), 0);
    getsockname(c->fd, (struct sockaddr *)&a, &al);
    c->port = ntohs(a.sin_port);
    pthread_create(t, NULL, serve, c);
}

static char *
reply(int status, const char *reason, const char *extra_hdr, const char *fixture)
{
    char path[512], *body = NULL, *out;
    size_t len = 0;
    if (fixture != NULL) {
        snprintf(path, sizeof(path), "%s/kube/status/%s", harness_data_dir(), fixture);
        CHECK_INT(kfile_read(path, 1 << 20, &body, &len, NULL), 0);
    }
    if (asprintf(&out,
                 "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                 "Connection: close\r\n%s\r\n%s",
                 status, reason, len, extra_hdr ? extra_hdr : "", body ? body : "") < 0)
        out = NULL;
    free(body);
    return out;
}

static int64_t
now_ms(void)
{
    struct timespec ts = {0};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct kclient *
client_for(const struct canned *c, int max_retries, size_t max_body)
{
    char url[64];
    struct kconfig cfg = {0};
    struct kclient_opts o = {0};
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", c->port);
    cfg.server = url;
    kclient_opts_default(&o);
    o.qps = -1;
    o.max_retries = max_retries;
    o.max_body = max_body;
    return kclient_new(&cfg, &o, NULL);
}

static void
finish(struct canned *c, pthread_t t, char **r, int n)
{
    shutdown(c->fd, SHUT_RDWR);
    close(c->fd);
    pthread_join(t, NULL);
    for (int i = 0; i < n; i++)
        free(r[i]);
}

static void
test_429_retry_after_then_ok(void)
{
    struct canned c = {0};
    pthread_t t;
    char *r[2] = {reply(429, "Too Many Requests", "Retry-After: 1\r\n", "429-toomany.json"),
                  reply(200, "OK", NULL, "404-notfound.json")};
    c.replies[0] = r[0];
    c.replies[1] = r[1];
    c.n = 2;
    start(&c, &t);
    struct kclient *k = client_for(&c, 0, 0);
    struct sc_err e = {0};
    json_t *out = NULL;
    int64_t t0 = now_ms();
    CHECK_INT(kclient_get(k, "/api/v1/namespaces/x", &out, &e), 0);
    int64_t dt = now_ms() - t0;
    CHECK(dt >= 1000); /* waited the stated second (no upper bound: load varies) */
    CHECK(out != NULL);
    json_decref(out);
    struct kclient_stats st = {0};
    kclient_get_stats(k, &st);
    CHECK_INT(st.retries, 1);
    CHECK_INT(st.requests, 2);
    kclient_free(k);
    finish(&c, t, r, 2);
    CHECK_INT(c.served, 2); /* read after the server thread was joined */
}

static void
test_long_retry_after_and_plain_5xx_returned(void)
{
    struct canned c = {0};
    pthread_t t;
    char *r[3] = {reply(429, "Too Many Requests", "Retry-After: 60\r\n", "429-toomany.json"),
                  reply(500, "Internal Server Error", NULL, "500-internal.json"),
                  reply(503, "Service Unavailable", "Retry-After: 1\r\n", "503-html.txt")};
    for (int i = 0; i < 3; i++)
        c.replies[i] = r[i];
    c.n = 3;
    start(&c, &t);
    struct kclient *k = client_for(&c, -1, 0); /* no retries at all */
    struct sc_err e = {0};
    CHECK_INT(kclient_get(k, "/x", NULL, &e), SC_ETOOMANY);
    CHECK_INT(e.retry_after, 60); /* for the caller's requeue */
    CHECK_INT(kclient_get(k, "/x", NULL, &e), SC_ESERVER);
    CHECK_INT(e.retry_after, 0);
    CHECK(strstr(e.msg, "etcdserver: request timed out") != NULL);
    CHECK_INT(kclient_get(k, "/x", NULL, &e), SC_ESERVER); /* max_retries = none */
    CHECK_INT(e.retry_after, 1);
    CHECK_STR(e.msg, "HTTP 503");
    struct kclient_stats st = {0};
    kclient_get_stats(k, &st);
    CHECK_INT(st.retries, 0); /* nothing slept */
    kclient_free(k);
    finish(&c, t, r, 3);
}

static void
test_max_retries_honoured(void)
{
    struct canned c = {0};
    pthread_t t;
    char *r[3];
    for (int i = 0; i < 3; i++) {
        r[i] = reply(429, "Too Many Requests", "Retry-After: 1\r\n", "429-toomany.json");
        c.replies[i] = r[i];
    }
    c.n = 3;
    start(&c, &t);
    struct kclient *k = client_for(&c, 2, 0);
    struct sc_err e = {0};
    CHECK_INT(kclient_get(k, "/x", NULL, &e), SC_ETOOMANY);
    struct kclient_stats st = {0};
    kclient_get_stats(k, &st);
    CHECK_INT(st.requests, 3); /* 1 + 2 retries */
    CHECK_INT(st.retries, 2);
    kclient_free(k);
    finish(&c, t, r, 3);
}

static void
test_body_cap_and_bad_json(void)
{
    struct canned c = {0};
    pthread_t t;
    char *r[2] = {reply(200, "OK", NULL, "422-invalid.json"),
                  reply(200, "OK", NULL, "503-html.txt")};
    c.replies[0] = r[0];
    c.replies[1] = r[1];
    c.n = 2;
    start(&c, &t);
    struct kclient *k = client_for(&c, 0, 100); /* 422-invalid.json is larger */
    struct sc_err e = {0};
    json_t *out = NULL;
    CHECK_INT(kclient_get(k, "/x", &out, &e), SC_ETOOBIG);
    CHECK(strstr(e.msg, "exceeds the 100 byte limit") != NULL);
    CHECK(out == NULL);
    CHECK_INT(kclient_get(k, "/x", &out, &e), SC_EPROTO); /* HTML where JSON was promised */
    CHECK(strstr(e.msg, "malformed json") != NULL);
    CHECK(out == NULL);
    kclient_free(k);
    finish(&c, t, r, 2);
}

TEST_MAIN(TEST(test_429_retry_after_then_ok), TEST(test_long_retry_after_and_plain_5xx_returned),
          TEST(test_max_retries_honoured), TEST(test_body_cap_and_bad_json))
