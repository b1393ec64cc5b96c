/* The --http-endpoint server over a real loopback socket. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/limits.h"
#include "controller/httpsrv.h"
#include "tests/lib/harness.h"

struct state {
    bool ready;
    bool leader_ok;
};

static int
metrics(void *ctx, struct buf *out)
{
    (void)ctx;
    return buf_adds(out, "# TYPE x gauge\nx 1\n");
}

static bool
ready(void *ctx, char *why, size_t cap)
{
    struct state *s = ctx;

    snprintf(why, cap, "caches not synced yet");
    return s->ready;
}

static bool
leader(void *ctx, char *why, size_t cap)
{
    struct state *s = ctx;

    snprintf(why, cap, "failed election to renew leadership on lease snapshot-controller-leader");
    return s->leader_ok;
}

/* Raw request text in, whole response out (head included). */
static int
raw(int port, const char *req, size_t len, char *out, size_t cap)
{
    struct sockaddr_in a = {0};
    size_t n = 0;
    ssize_t r;
    int fd = socket(AF_INET, SOCK_STREAM, 0), code = -1;

    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || write(fd, req, len) < 0) {
        close(fd);
        return -1;
    }
    while (n + 1 < cap && (r = read(fd, out + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = '\0';
    close(fd);
    if (strncmp(out, "HTTP/1.", 7) == 0 && n > 9)
        code = (int)strtol(out + 9, NULL, 10);
    return code;
}

/* METHOD path; returns the status code, body in out. */
static int
get(int port, const char *method, const char *path, char *out, size_t cap)
{
    char req[256];
    int n = snprintf(req, sizeof(req), "%s %s HTTP/1.0\r\nHost: x\r\n\r\n", method, path);
    int code = raw(port, req, (size_t)n, out, cap);
    const char *body = code >= 0 ? strstr(out, "\r\n\r\n") : NULL;

    if (body != NULL)
        memmove(out, body + 4, strlen(body + 4) + 1);
    return code;
}

static void
test_endpoints(void)
{
    struct state s = {false, true};
    struct httpsrv_handlers h = {&s, metrics, ready, leader};
    struct sc_err err = {0};
    struct httpsrv *srv = httpsrv_start("127.0.0.1:0", "/metrics", &h, &err);
    char out[4096];
    int port;

    CHECK(srv != NULL);
    if (srv == NULL)
        return;
    port = httpsrv_port(srv);
    CHECK(port > 0);
    CHECK_INT(get(port, "GET", "/metrics", out, sizeof(out)), 200);
    CHECK_STR(out, "# TYPE x gauge\nx 1\n");
    CHECK_INT(get(port, "GET", "/healthz", out, sizeof(out)), 200);
    CHECK_STR(out, "ok");
    CHECK_INT(get(port, "GET", "/readyz", out, sizeof(out)), 503);
    CHECK_STR(out, "not ready: caches not synced yet\n");
    s.ready = true;
    CHECK_INT(get(port, "GET", "/readyz", out, sizeof(out)), 200);
    CHECK_INT(get(port, "GET", "/healthz/leader-election", out, sizeof(out)), 200);
    s.leader_ok = false;
    CHECK_INT(get(port, "GET", "/healthz/leader-election", out, sizeof(out)), 500);
    CHECK_STR(out, "internal server error: failed election to renew leadership on lease "
                   "snapshot-controller-leader");
    CHECK_INT(get(port, "GET", "/nope", out, sizeof(out)), 404);
    CHECK_INT(get(port, "POST", "/metrics", out, sizeof(out)), 405);
    httpsrv_stop(srv);
}

static void
test_no_leader_endpoint_without_le(void)
{
    struct state s = {true, true};
    struct httpsrv_handlers h = {&s, metrics, ready, NULL};
    struct httpsrv *srv = httpsrv_start(":0", "/custom-metrics", &h, NULL);
    char out[4096];

    CHECK(srv != NULL);
    if (srv == NULL)
        return;
    CHECK_INT(get(httpsrv_port(srv), "GET", "/healthz/leader-election", out, sizeof(out)), 404);
    CHECK_INT(get(httpsrv_port(srv), "GET", "/custom-metrics", out, sizeof(out)), 200);
    CHECK_INT(get(httpsrv_port(srv), "GET", "/metrics", out, sizeof(out)), 404);
    httpsrv_stop(srv);
}

static void
test_bad_endpoint(void)
{
    struct state s = {true, true};
    struct httpsrv_handlers h = {&s, metrics, ready, NULL};
    struct sc_err err = {0};

    CHECK(httpsrv_start("8080", "/metrics", &h, &err) == NULL);
    CHECK_STR(err.msg, "listen tcp 8080: missing port in address");
}

/* HEAD, query strings, an oversized head and a silent client. */
static void
test_protocol_edges(void)
{
    struct state s = {true, true};
    struct httpsrv_handlers h = {&s, metrics, ready, NULL};
    struct httpsrv *srv = httpsrv_start("127.0.0.1:0", "/metrics", &h, NULL);
    static char big[LIM_HTTP_REQUEST_HEAD + 64];
    char out[4096];
    struct sockaddr_in a = {0};
    int port, idle;

    CHECK(srv != NULL);
    if (srv == NULL)
        return;
    port = httpsrv_port(srv);
    /* a client that connects and says nothing holds no one else up */
    idle = socket(AF_INET, SOCK_STREAM, 0);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK_INT(connect(idle, (struct sockaddr *)&a, sizeof(a)), 0);
    CHECK_INT(get(port, "HEAD", "/metrics", out, sizeof(out)), 200);
    CHECK_STR(out, "");
    CHECK_INT(raw(port, "HEAD /metrics HTTP/1.1\r\n\r\n", 27, out, sizeof(out)), 200);
    CHECK(strstr(out, "Content-Length: 19\r\n") != NULL);
    CHECK(strstr(out, "Connection: close\r\n") != NULL);
    CHECK_INT(get(port, "GET", "/readyz?verbose=1", out, sizeof(out)), 200);
    CHECK_STR(out, "ok");
    memset(big, 'a', sizeof(big));
    memcpy(big, "GET /metrics HTTP/1.1\r\nX: ", 27);
    CHECK_INT(raw(port, big, sizeof(big), out, sizeof(out)), 431);
    CHECK_INT(raw(port, "BLAH\r\n\r\n", 8, out, sizeof(out)), 400);
    httpsrv_stop(srv); /* with the silent client still connected */
    close(idle);
}

TEST_MAIN(TEST(test_endpoints), TEST(test_no_leader_endpoint_without_le), TEST(test_bad_endpoint),
          TEST(test_protocol_edges))
