/* The HTTPS server on loopback: TLS, certificate rotation through a
 * Kubernetes-style "..data" symlink swap, a broken rotation, body cap and
 * slow clients.  Uses the certificates in tests/data/webhook/certs. */
#include "webhook/whserver.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/limits.h"
#include "tests/unit/webhook/fixtures.h"
#include "tests/unit/webhook/slowclient.h"

/* A client-side timeout that only stops a hung test: never an expectation
 * (under valgrind a TLS handshake alone takes seconds). */
#define HANG_GUARD_MS 60000L

struct env {
    char dir[256];
    char cert[300], key[300];
    struct fx_lookup fx;
    struct whmetrics m;
    struct whroute rt;
    struct whserver *srv;
    int port;
};

static void
sh(const char *cmd)
{
    if (system(cmd) != 0)
        fprintf(stderr, "command failed: %s\n", cmd);
}

/* Make dir/<gen>/{tls.crt,tls.key} from certs crt/key and point ..data at it. */
static void
publish(struct env *e, const char *gen, const char *crt, const char *key)
{
    char a[300], b[300], cmd[2048];

    fx_cert_path(a, sizeof(a), crt);
    fx_cert_path(b, sizeof(b), key);
    snprintf(cmd, sizeof(cmd),
             "cd %s && mkdir -p %s && cp %s %s/tls.crt && cp %s %s/tls.key && "
             "ln -sfn %s ..data_tmp && mv -T ..data_tmp ..data",
             e->dir, gen, a, gen, b, gen, gen);
    sh(cmd);
}

static void
env_start_slots(struct env *e, unsigned idle_s, int64_t read_ms, unsigned max_conns,
                int64_t header_ms)
{
    struct whserver_opts o = {0};
    struct sc_err err = {0};
    char cmd[600];

    snprintf(e->dir, sizeof(e->dir), "/tmp/whserver_test.XXXXXX");
    CHECK(mkdtemp(e->dir) != NULL);
    publish(e, "..gen_a", "a.crt", "a.key");
    snprintf(cmd, sizeof(cmd),
             "cd %s && ln -s ..data/tls.crt tls.crt && ln -s ..data/tls.key tls.key", e->dir);
    sh(cmd);
    snprintf(e->cert, sizeof(e->cert), "%s/tls.crt", e->dir);
    snprintf(e->key, sizeof(e->key), "%s/tls.key", e->dir);
    e->rt.lookup = fx_lookup_init(&e->fx);
    whmetrics_init(&e->m);
    e->rt.metrics = &e->m;
    whserver_opts_default(&o);
    o.bind_address = "127.0.0.1";
    o.port = 0;
    o.cert_file = e->cert;
    o.key_file = e->key;
    o.threads = 2;
    o.idle_timeout_s = idle_s;
    o.read_timeout_ms = read_ms;
    o.cert_poll_ms = 100;
    o.max_conns = max_conns;
    o.header_timeout_ms = header_ms;
    o.route = &e->rt;
    CHECK_INT(whserver_start(&o, &e->srv, &err), SC_OK);
    if (err.msg[0])
        fprintf(stderr, "start: %s\n", err.msg);
    e->port = e->srv ? whserver_port(e->srv) : 0;
}

static void
env_start(struct env *e, unsigned idle_s, int64_t read_ms)
{
    /* No header deadline: under valgrind a TLS handshake alone takes
     * seconds; test_header_deadline tests it. */
    env_start_slots(e, idle_s, read_ms, 1000, 0);
}

static void
env_stop(struct env *e)
{
    char cmd[300];

    whserver_stop(e->srv);
    fx_lookup_release(&e->fx);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", e->dir);
    sh(cmd);
}

static size_t
sink(char *p, size_t sz, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return sz * n;
}

/* GET url with the CA bundle ca (a file name in certs/); returns the HTTP
 * status or -curl error. */
static long
get(CURL *c, int port, const char *path, const char *ca, int fresh)
{
    char url[256], capath[300];
    long status = 0;
    CURLcode rc;

    fx_cert_path(capath, sizeof(capath), ca);
    snprintf(url, sizeof(url), "https://127.0.0.1:%d%s", port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CAINFO, capath);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, (long)fresh);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, HANG_GUARD_MS);
    rc = curl_easy_perform(c);
    if (rc != CURLE_OK)
        return -(long)rc;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

/* Application-data records the client received (TLS 1.3: the inner
 * content type of each record). */
static void
count_records(int write_p, int version, int content_type, const void *buf, size_t len, SSL *ssl,
              void *arg)
{
    (void)version;
    (void)ssl;
    if (!write_p && content_type == SSL3_RT_INNER_CONTENT_TYPE && len == 1 &&
        ((const unsigned char *)buf)[0] == SSL3_RT_APPLICATION_DATA)
        (*(int *)arg)++;
}

static CURLcode
install_counter(CURL *c, void *ctx, void *arg)
{
    (void)c;
    SSL_CTX_set_msg_callback(ctx, count_records);
    SSL_CTX_set_msg_callback_arg(ctx, arg);
    return CURLE_OK;
}

/* A reply's header and body arrive in one TLS record with our libmicrohttpd
 * (scripts/patches/libmicrohttpd/tls-one-record-reply.patch); Debian's sends
 * two (MHD=system). */
static void
test_reply_in_one_record(void)
{
    struct env e = {0};
    CURL *c = curl_easy_init();
    int records = 0;

    env_start(&e, 15, 10000);
    curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_3);
    curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, install_counter);
    curl_easy_setopt(c, CURLOPT_SSL_CTX_DATA, &records);
    CHECK_INT(get(c, e.port, "/healthz", "a.crt", 1), 200);
#ifdef SC_MHD_BUNDLED
    CHECK_INT(records, 1);
#else
    CHECK_INT(records, 2);
#endif
    records = 0; /* and again on the kept-alive connection */
    CHECK_INT(get(c, e.port, "/readyz", "a.crt", 0), 200);
#ifdef SC_MHD_BUNDLED
    CHECK_INT(records, 1);
#else
    CHECK_INT(records, 2);
#endif
    curl_easy_cleanup(c);
    env_stop(&e);
}

/* Count the responses (status lines) read from ssl until want arrived or
 * the hang guard passed. */
static int
read_responses(SSL *ssl, int fd, int want)
{
    char buf[8192];
    size_t have = 0;
    int got = 0;
    int64_t end = slow_now_us() + HANG_GUARD_MS * 1000;

    /* a few short answers: the buffer never fills, and a full one ends
     * the count rather than losing a status line cut at its edge */
    while (got < want && have < sizeof(buf) - 1 && slow_now_us() < end) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n;

        if (SSL_pending(ssl) == 0 && poll(&p, 1, 100) <= 0)
            continue;
        n = SSL_read(ssl, buf + have, (int)(sizeof(buf) - 1 - have));
        if (n <= 0) {
            int e = SSL_get_error(ssl, n);

            if (e == SSL_ERROR_WANT_READ)
                continue;
            break;
        }
        have += (size_t)n;
        buf[have] = '\0';
        got = 0;
        for (const char *q = buf; (q = strstr(q, "HTTP/1.1 200")) != NULL; q++)
            got++;
    }
    return got;
}

/* Two requests in two TLS records that reach the server together: the
 * second sits in the connection's read-ahead once the first is answered
 * (scripts/patches/libmicrohttpd/tls-read-ahead.patch), with no epoll edge
 * left to announce it; it is answered all the same.  Then a third alone,
 * after the socket was drained, on the same connection. */
static void
test_pipelined_records(void)
{
    static const char req[] = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    struct env e = {0};
    SSL_CTX *ctx = slow_ctx();
    SSL *ssl = NULL;
    int fd, on = 1, off = 0;

    env_start(&e, 15, 10000);
    fd = slow_tcp(e.port);
    CHECK(fd >= 0);
    ssl = SSL_new(ctx);
    CHECK(ssl != NULL && SSL_set_fd(ssl, fd) == 1 && SSL_connect(ssl) == 1);
    for (int round = 0; round < 3; round++) {
        /* cork: both records leave in one segment, so one recv reads both */
        CHECK_INT(setsockopt(fd, IPPROTO_TCP, TCP_CORK, &on, sizeof(on)), 0);
        CHECK_INT(SSL_write(ssl, req, (int)sizeof(req) - 1), (int)sizeof(req) - 1);
        CHECK_INT(SSL_write(ssl, req, (int)sizeof(req) - 1), (int)sizeof(req) - 1);
        CHECK_INT(setsockopt(fd, IPPROTO_TCP, TCP_CORK, &off, sizeof(off)), 0);
        CHECK_INT(read_responses(ssl, fd, 2), 2);
        CHECK_INT(SSL_write(ssl, req, (int)sizeof(req) - 1), (int)sizeof(req) - 1);
        CHECK_INT(read_responses(ssl, fd, 1), 1);
    }
    SSL_free(ssl);
    close(fd);
    SSL_CTX_free(ctx);
    env_stop(&e);
}

static void
test_serves_tls(void)
{
    struct env e = {0};
    CURL *c = curl_easy_init();

    env_start(&e, 15, 10000);
    CHECK_INT(get(c, e.port, "/healthz", "a.crt", 1), 200);
    CHECK_INT(get(c, e.port, "/readyz", "a.crt", 0), 200);
    CHECK_INT(get(c, e.port, "/nowhere", "a.crt", 0), 404);
    /* A client that trusts only b cannot talk to a. */
    CHECK(get(c, e.port, "/healthz", "b.crt", 1) < 0);
    curl_easy_cleanup(c);
    env_stop(&e);
}

static void
test_rotation_via_symlink_swap(void)
{
    struct env e = {0};
    CURL *keep = curl_easy_init(), *fresh = curl_easy_init();
    char both[300], cmd[1024], a[300], b[300];
    int switched = 0, failures = 0;

    env_start(&e, 15, 10000);
    fx_cert_path(a, sizeof(a), "a.crt");
    fx_cert_path(b, sizeof(b), "b.crt");
    snprintf(both, sizeof(both), "%s/both.crt", e.dir);
    snprintf(cmd, sizeof(cmd), "cat %s %s > %s", a, b, both);
    sh(cmd);
    /* A keep-alive client trusting both keeps working across the swap. */
    CHECK_INT(get(keep, e.port, "/healthz", "a.crt", 1), 200);
    publish(&e, "..gen_b", "b.crt", "b.key");
    for (int i = 0; i < 60 && !switched; i++) {
        char capath[300];
        long st;

        snprintf(capath, sizeof(capath), "%s", both);
        curl_easy_setopt(keep, CURLOPT_CAINFO, capath);
        st = get(keep, e.port, "/healthz", "a.crt", 0);
        if (st != 200)
            failures++;
        if (get(fresh, e.port, "/healthz", "b.crt", 1) == 200)
            switched = 1;
        else
            usleep(100000);
    }
    CHECK(switched);
    CHECK_INT(failures, 0); /* the keep-alive client never saw an error */
    /* The old keep-alive connection was told to close; a new one works. */
    for (int i = 0; i < 20; i++)
        if (get(fresh, e.port, "/healthz", "b.crt", i % 2) != 200)
            failures++;
    CHECK_INT(failures, 0);
    /* counted by the watcher after the new generation is published: it may
     * not have run since the fresh client's first 200 */
    for (int i = 0; i < HANG_GUARD_MS / 100 && atomic_load(&e.m.cert_reloads[0]) == 0; i++)
        usleep(100000);
    CHECK_INT(atomic_load(&e.m.cert_reloads[0]), 1);

    /* A broken pair (key of a with cert of b) is refused; b keeps serving. */
    {
        char cmd2[1024], bc[300], ak[300];

        fx_cert_path(bc, sizeof(bc), "b.crt");
        fx_cert_path(ak, sizeof(ak), "a.key");
        snprintf(cmd2, sizeof(cmd2),
                 "cd %s && mkdir ..gen_bad && cp %s ..gen_bad/tls.crt && cp %s ..gen_bad/tls.key "
                 "&& ln -sfn ..gen_bad ..data_tmp && mv -T ..data_tmp ..data",
                 e.dir, bc, ak);
        sh(cmd2);
    }
    for (int i = 0; i < HANG_GUARD_MS / 100 && atomic_load(&e.m.cert_reloads[1]) == 0; i++)
        usleep(100000);
    CHECK_INT(atomic_load(&e.m.cert_reloads[1]), 1);
    CHECK_INT(get(fresh, e.port, "/healthz", "b.crt", 1), 200);
    curl_easy_cleanup(keep);
    curl_easy_cleanup(fresh);
    env_stop(&e);
}

/* A retired generation is stopped as soon as its last connection is gone,
 * not at drain_ms (30 s by default): the watcher counts each generation's
 * connections from its own thread, by counters the workers keep
 * (worker_conns), never through libmicrohttpd, whose count for a daemon in
 * external mode also frees connections on the caller's thread. */
static void
test_retired_generation_stops_when_drained(void)
{
    struct env e = {0};
    struct whserver_stats st = {0};
    struct sc_err err = {0};
    CURL *keep = curl_easy_init();
    int gens = 0;

    env_start(&e, 15, 10000);
    CHECK_INT(get(keep, e.port, "/healthz", "a.crt", 1), 200);
    CHECK_INT(whserver_reload(e.srv, &err), SC_OK);
    /* The keep-alive connection holds the old generation. */
    usleep(300000);
    whserver_stats(e.srv, &st);
    CHECK_INT(st.generations, 2);
    /* Its next request is answered with "Connection: close", and then it
     * is gone. */
    CHECK_INT(get(keep, e.port, "/healthz", "a.crt", 0), 200);
    curl_easy_cleanup(keep);
    /* up to 20 s (valgrind is slow), still well before the 30 s drain */
    for (int i = 0; i < 200; i++) {
        whserver_stats(e.srv, &st);
        gens = (int)st.generations;
        if (gens == 1)
            break;
        usleep(100000);
    }
    CHECK_INT(gens, 1);
    env_stop(&e);
}

/* Clients for test_rotation_storm: fresh connections, each one request. */
struct storm {
    int port;
    atomic_int stop;
    atomic_int ok, failed;
};

static void *
storm_client(void *arg)
{
    struct storm *st = arg;
    CURL *c = curl_easy_init();

    while (!atomic_load(&st->stop)) {
        if (get(c, st->port, "/healthz", "a.crt", 1) == 200)
            atomic_fetch_add(&st->ok, 1);
        else
            atomic_fetch_add(&st->failed, 1);
    }
    curl_easy_cleanup(c);
    return NULL;
}

/* Generations started and retired back to back while clients connect: a
 * retired generation stops accepting while its workers are busy.  With
 * libmicrohttpd's thread pool quiesced from the reloading thread (before
 * the workers quiesced their own daemons) this aborted the process: MHD_PANIC
 * "Failed to remove listen FD from epoll set", the crash of the e2e
 * rotation test.  A race, so not every run: 3 of 4 runs of 3,000 rotations
 * aborted here, 5 of 12 runs of 1,000.  Run it with more
 * (SC_STORM_ROTATIONS=N whserver_test test_rotation_storm) to look for it. */
static void
test_rotation_storm(void)
{
    struct env e = {0};
    struct storm st = {0};
    pthread_t t[3];
    struct sc_err err = {0};
    int reloaded = 0;
    /* Under valgrind (SC_TEST_NO_TIMING), which runs one thread at a time
     * and so cannot race, a tenth: the same paths for its memory checks. */
    int rotations = getenv("SC_TEST_NO_TIMING") != NULL ? 30 : 300;

    const char *want = getenv("SC_STORM_ROTATIONS");

    if (want != NULL)
        rotations = (int)strtol(want, NULL, 10);
    CURL *c = curl_easy_init();

    env_start(&e, 15, 10000);
    st.port = e.port;
    for (int i = 0; i < 3; i++)
        CHECK_INT(pthread_create(&t[i], NULL, storm_client, &st), 0);
    for (int i = 0; i < rotations; i++)
        reloaded += whserver_reload(e.srv, &err) == SC_OK;
    atomic_store(&st.stop, 1);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    CHECK_INT(reloaded, rotations);
    CHECK_INT(atomic_load(&e.m.cert_reloads[0]), rotations);
    CHECK(atomic_load(&st.ok) > 0);
    /* Requests cut when the oldest of MAX_GENERATIONS undrained generations
     * is stopped are allowed here; the server serves on afterwards. */
    fprintf(stderr, "    %d requests answered, %d cut during %d rotations\n", atomic_load(&st.ok),
            atomic_load(&st.failed), rotations);
    CHECK_INT(get(c, e.port, "/healthz", "a.crt", 1), 200);
    curl_easy_cleanup(c);
    env_stop(&e);
}

/* c set up to POST size bytes, read by fn(data), to e's /validate-class
 * (trusting a.crt) with the headers h (the caller's), giving up after
 * timeout_ms. */
static void
post_setup(CURL *c, const struct env *e, struct curl_slist *h, curl_read_callback fn, void *data,
           curl_off_t size, long timeout_ms)
{
    char url[128], ca[300];

    fx_cert_path(ca, sizeof(ca), "a.crt");
    snprintf(url, sizeof(url), "https://127.0.0.1:%d/validate-class", e->port);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CAINFO, ca);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "POST");
    curl_easy_setopt(c, CURLOPT_READFUNCTION, fn);
    curl_easy_setopt(c, CURLOPT_READDATA, data);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, size);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
}

/* A fresh client gets /healthz (200). */
static void
still_answers(const struct env *e)
{
    CURL *c = curl_easy_init();

    CHECK_INT(get(c, e->port, "/healthz", "a.crt", 1), 200);
    curl_easy_cleanup(c);
}

static size_t
read_zeros(char *p, size_t sz, size_t n, void *arg)
{
    (void)arg;
    memset(p, '0', sz * n);
    return sz * n;
}

static void
test_body_cap(void)
{
    struct env e = {0};
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    long status = 0;

    env_start(&e, 15, 10000);
    post_setup(c, &e, h, read_zeros, NULL, (curl_off_t)LIM_ADMISSION_BODY + 1, HANG_GUARD_MS);
    /* Wait for the server's answer to "Expect: 100-continue" (the 413)
     * however slow it is (valgrind): without this curl starts sending the
     * body after 1 s and may see the connection closed under it. */
    curl_easy_setopt(c, CURLOPT_EXPECT_100_TIMEOUT_MS, HANG_GUARD_MS);
    curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    CHECK_INT(status, 413);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    /* The server still answers. */
    still_answers(&e);
    env_stop(&e);
}

static size_t
read_slowly(char *p, size_t sz, size_t n, void *arg)
{
    int *sent = arg;

    (void)sz;
    (void)n;
    if (*sent >= 40)
        return 0;
    usleep(200000);
    p[0] = ' ';
    (*sent)++;
    return 1;
}

static size_t
read_fast(char *p, size_t sz, size_t n, void *arg)
{
    int *sent = arg;
    size_t k = 0;

    while (k < sz * n && *sent < 40) {
        p[k++] = ' ';
        (*sent)++;
    }
    return k;
}

static void
test_slow_clients_are_dropped(void)
{
    struct env e = {0};
    struct sockaddr_in sin = {0};
    struct pollfd pfd = {0};
    char byte;
    int fd, sent = 0;
    time_t t0;
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    CURLcode rc;

    env_start(&e, 1, 1000);
    /* A TCP client that never speaks is closed after the idle timeout. */
    fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)e.port);
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    CHECK_INT(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    t0 = time(NULL);
    pfd.fd = fd;
    pfd.events = POLLIN;
    /* Wait for EOF (GnuTLS may send an alert first). */
    for (;;) {
        if (poll(&pfd, 1, 5000) != 1 || read(fd, &byte, 1) <= 0)
            break;
    }
    CHECK(time(NULL) - t0 <= 4);
    close(fd);

    /* A body that trickles in (1 byte / 200 ms, 40 bytes) is cut at ~1 s. */
    post_setup(c, &e, h, read_slowly, &sent, (curl_off_t)40, 20000L);
    /* The same request sent at full speed is answered (400: not JSON), so
     * the failure below is the timeout's doing. */
    {
        int fast = 0;
        long status = 0;

        curl_easy_setopt(c, CURLOPT_READFUNCTION, read_fast);
        curl_easy_setopt(c, CURLOPT_READDATA, &fast);
        CHECK_INT(curl_easy_perform(c), CURLE_OK);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        CHECK_INT(status, 400);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, read_slowly);
        curl_easy_setopt(c, CURLOPT_READDATA, &sent);
    }
    t0 = time(NULL);
    rc = curl_easy_perform(c);
    CHECK(rc != CURLE_OK);
    CHECK(sent < 40);
    CHECK(time(NULL) - t0 <= 5);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    still_answers(&e);
    env_stop(&e);
}

/* Wait (poll) until the server closes c; 1 if it did within wait_ms. */
static int
closed_within(struct slow_conn *c, int wait_ms)
{
    for (int waited = 0; waited <= wait_ms; waited += 50) {
        if (slow_closed(c))
            return 1;
        usleep(50000);
    }
    return 0;
}

/* Wait (poll) until the server has closed at least `want` of the n
 * connections; returns how many it had closed when the wait ended.  Which
 * holder is "oldest" is the server's accept order, which its polling threads
 * may take in any order: the test counts, it does not name the victim. */
static int
closed_reaches(struct slow_conn *held, int n, int want, int wait_ms)
{
    int closed = 0;

    for (int waited = 0; waited <= wait_ms; waited += 50) {
        closed = 0;
        for (int i = 0; i < n; i++)
            closed += slow_closed(&held[i]);
        if (closed >= want)
            break;
        usleep(50000);
    }
    return closed;
}

#define HOLDERS 48

/* The slow-client finding: one client holds every connection slot with
 * unfinished headers (half stuck in the TLS handshake, half in the HTTP
 * headers), and no timeout can free a slot (idle, read and header timeouts
 * all 10 minutes).  A legitimate review is still answered: the server closes
 * the oldest unfinished connection for it, and only that one. */
/* Wait until the server counts n live connections (a closed client's slot
 * is given back when its MHD thread processes the close). */
static int
live_reaches(struct whserver *srv, unsigned n)
{
    struct whserver_stats st = {0};

    for (int i = 0; i < 6000; i++) {
        whserver_stats(srv, &st);
        if (st.live == n)
            return 1;
        usleep(10000);
    }
    fprintf(stderr, "live connections: %u, want %u\n", st.live, n);
    return 0;
}

static void
test_slot_holder_cannot_starve_a_review(void)
{
    struct env e = {0};
    struct slow_conn held[HOLDERS + 1] = {0};
    struct whserver_stats st = {0};
    SSL_CTX *ctx = slow_ctx();
    char ca[300];
    char *body = fx_text("admission/vsclass-create.json", NULL);
    int opened = 0, still_open = 0;

    env_start_slots(&e, 600, 600000, HOLDERS, 600000);
    fx_cert_path(ca, sizeof(ca), "a.crt");
    for (int i = 0; i < HOLDERS; i++)
        opened += slow_open(&held[i], ctx, e.port, i % 2 ? SLOW_HTTP_HEADER : SLOW_TLS_HELLO) == 0;
    CHECK_INT(opened, HOLDERS);
    CHECK(live_reaches(e.srv, HOLDERS));
    whserver_stats(e.srv, &st);
    CHECK_INT(st.evictions, 0);
    for (int round = 0; round < 2; round++) {
        int64_t us = 0;

        if (round > 0) {
            /* The first review's connection is gone; the client takes its
             * slot back, so every slot is held again. */
            CHECK(live_reaches(e.srv, HOLDERS - 1));
            CHECK_INT(slow_open(&held[HOLDERS], ctx, e.port, SLOW_TLS_HELLO), 0);
            CHECK(live_reaches(e.srv, HOLDERS));
        }
        /* 60 s: far beyond any scheduling delay, far below the 10 minutes
         * after which a timeout would have freed a slot anyway. */
        CHECK_INT(slow_review(e.port, ca, body, 60000, &us), 200);
        fprintf(stderr, "review %d with all %d slots held: %.1f ms\n", round + 1, HOLDERS,
                (double)us / 1000.0);
        whserver_stats(e.srv, &st);
        CHECK_INT(st.evictions, round + 1);
        CHECK_INT(st.header_timeouts, 0);
        /* One holder paid per review (60 s: a hang guard, not a bound). */
        CHECK_INT(closed_reaches(held, HOLDERS + round, round + 1, 60000), round + 1);
    }
    for (int i = 0; i <= HOLDERS; i++)
        still_open += !slow_closed(&held[i]);
    CHECK_INT(still_open, HOLDERS - 1);
    for (int i = 0; i <= HOLDERS; i++)
        slow_close(&held[i]);
    SSL_CTX_free(ctx);
    free(body);
    env_stop(&e);
}

/* A connection that has not finished its first headers within the header
 * deadline is closed, whether stuck in the TLS handshake or in the headers;
 * a keep-alive connection idle between requests is not. */
static void
test_header_deadline(void)
{
    struct env e = {0};
    struct slow_conn hello = {0}, head = {0};
    struct whserver_stats st = {0};
    SSL_CTX *ctx = slow_ctx();
    CURL *c = curl_easy_init();
    long reused = -1;

    env_start_slots(&e, 600, 600000, 100, 300);
    CHECK_INT(slow_open(&hello, ctx, e.port, SLOW_TLS_HELLO), 0);
    CHECK_INT(slow_open(&head, ctx, e.port, SLOW_HTTP_HEADER), 0);
    CHECK_INT(get(c, e.port, "/healthz", "a.crt", 1), 200);
    CHECK(closed_within(&hello, 20000));
    CHECK(closed_within(&head, 20000));
    /* The keep-alive connection outlived the deadline and is reused. */
    CHECK_INT(get(c, e.port, "/healthz", "a.crt", 0), 200);
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &reused);
    CHECK_INT(reused, 0);
    whserver_stats(e.srv, &st);
    CHECK_INT(st.header_timeouts, 2);
    CHECK_INT(st.evictions, 0);
    slow_close(&hello);
    slow_close(&head);
    curl_easy_cleanup(c);
    SSL_CTX_free(ctx);
    env_stop(&e);
}

TEST_MAIN(TEST(test_serves_tls), TEST(test_reply_in_one_record), TEST(test_pipelined_records),
          TEST(test_rotation_via_symlink_swap), TEST(test_retired_generation_stops_when_drained),
          TEST(test_rotation_storm), TEST(test_body_cap), TEST_TIMED(test_slow_clients_are_dropped),
          TEST(test_slot_holder_cannot_starve_a_review), TEST_TIMED(test_header_deadline))
