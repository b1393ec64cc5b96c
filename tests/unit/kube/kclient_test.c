/* Unit tests for kube/kclient.c pieces that need no server: the status
 * mapper (fed recorded API error bodies), paths, patch helpers and the token
 * bucket with a fake clock. */
#include "kube/kclient.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/limits.h"
#include "kube/kinternal.h"
#include "tests/lib/harness.h"

static int
map_file(long status, const char *file, const char *retry_hdr, struct sc_err *err)
{
    char path[512];
    char *data = NULL;
    size_t len = 0;
    int rc;

    snprintf(path, sizeof(path), "%s/kube/status/%s", harness_data_dir(), file);
    rc = kfile_read(path, 1 << 20, &data, &len, NULL);
    CHECK_INT(rc, 0);
    if (rc != 0)
        return 1;
    rc = kclient_map_status(status, data, len, retry_hdr, err);
    free(data);
    return rc;
}

static void
test_map_recorded_bodies(void)
{
    struct sc_err e = {0};

    CHECK_INT(map_file(404, "404-notfound.json", NULL, &e), SC_ENOTFOUND);
    CHECK_STR(e.reason, "NotFound");
    CHECK(strstr(e.msg, "\"snap-1\" not found") != NULL);
    CHECK_INT(e.http_status, 404);

    CHECK_INT(map_file(409, "409-alreadyexists.json", NULL, &e), SC_EEXIST);
    CHECK_STR(e.reason, "AlreadyExists");
    CHECK_INT(map_file(409, "409-conflict.json", NULL, &e), SC_ECONFLICT);
    CHECK_STR(e.reason, "Conflict");
    CHECK(strstr(e.msg, "the object has been modified") != NULL);
    CHECK_INT(map_file(410, "410-expired.json", NULL, &e), SC_EGONE);
    CHECK_STR(e.reason, "Expired");
    CHECK_INT(map_file(422, "422-invalid.json", NULL, &e), SC_EINVALID);
    CHECK(strstr(e.msg, "source is immutable") != NULL);
    CHECK_INT(map_file(403, "403-forbidden.json", NULL, &e), SC_EFORBIDDEN);
    CHECK(strstr(e.msg, "cannot list resource") != NULL);
    CHECK_INT(map_file(401, "401-unauthorized.json", NULL, &e), SC_EUNAUTHORIZED);
    CHECK_INT(map_file(429, "429-toomany.json", NULL, &e), SC_ETOOMANY);
    CHECK_INT(e.retry_after, 2);
    /* The header wins over the body. */
    CHECK_INT(map_file(429, "429-toomany.json", "7", &e), SC_ETOOMANY);
    CHECK_INT(e.retry_after, 7);
    CHECK_INT(map_file(500, "500-internal.json", NULL, &e), SC_ESERVER);
    CHECK_STR(e.reason, "InternalError");
    CHECK_INT(e.retry_after, 0);
    CHECK_INT(map_file(500, "500-internal.json", "3", &e), SC_ESERVER);
    CHECK_INT(e.retry_after, 3);
    /* What the server really answers to a failed JSON-patch "test": a bare
     * 422 (kclient_patch() then checks rv/uid itself). */
    CHECK_INT(map_file(422, "422-jsonpatch-test.json", NULL, &e), SC_EINVALID);
    CHECK_STR(e.msg, "the server rejected our request due to an error in our request");
    CHECK_INT(map_file(504, "504-timeout.json", NULL, &e), SC_ETIMEOUT);
    CHECK_STR(e.reason, "Timeout");
}

static void
test_map_non_status_bodies(void)
{
    struct sc_err e = {0};

    /* An HTML body from a proxy: the code comes from the status alone. */
    CHECK_INT(map_file(503, "503-html.txt", "5", &e), SC_ESERVER);
    CHECK_STR(e.msg, "HTTP 503");
    CHECK_INT(e.retry_after, 5);
    CHECK_STR(e.reason, "");
    /* Wrong shapes inside a Status never crash and never leak junk. */
    const char *weird = "{\"kind\":\"Status\",\"reason\":7,\"message\":[1]}";
    CHECK_INT(kclient_map_status(409, weird, strlen(weird), NULL, &e), SC_ECONFLICT);
    CHECK_STR(e.msg, "HTTP 409");
    const char *other = "{\"kind\":\"Pod\",\"message\":\"not a status\"}";
    CHECK_INT(kclient_map_status(400, other, strlen(other), NULL, &e), SC_EINVALID);
    CHECK_STR(e.msg, "HTTP 400");
    CHECK_INT(kclient_map_status(418, NULL, 0, NULL, &e), SC_EPROTO);
    CHECK_INT(kclient_map_status(200, NULL, 0, NULL, &e), 0);
    CHECK_INT(kclient_map_status(201, "junk", 4, NULL, NULL), 0);
    CHECK_INT(kclient_map_status(413, NULL, 0, NULL, &e), SC_ETOOBIG);
    CHECK_INT(kclient_map_status(502, "", 0, "garbage", &e), SC_ESERVER);
    CHECK_INT(e.retry_after, 0);
    /* A Retry-After given as an HTTP date is ignored (seconds only). */
    CHECK_INT(kclient_map_status(429, NULL, 0, "Wed, 21 Oct 2015 07:28:00 GMT", &e), SC_ETOOMANY);
    CHECK_INT(e.retry_after, 0);
    /* Negative or absurd retryAfterSeconds are dropped. */
    const char *neg = "{\"kind\":\"Status\",\"details\":{\"retryAfterSeconds\":-4}}";
    CHECK_INT(kclient_map_status(429, neg, strlen(neg), NULL, &e), SC_ETOOMANY);
    CHECK_INT(e.retry_after, 0);
    /* A very long message is truncated, not overflowed. */
    size_t n = 4000;
    char *big = malloc(n + 64);
    strcpy(big, "{\"kind\":\"Status\",\"message\":\"");
    size_t off = strlen(big);
    memset(big + off, 'x', n);
    strcpy(big + off + n, "\"}");
    CHECK_INT(kclient_map_status(500, big, strlen(big), NULL, &e), SC_ESERVER);
    CHECK_INT(strlen(e.msg), SC_ERR_MSG_LEN - 1);
    free(big);
}

static void
test_kpath(void)
{
    char p[KPATH_MAX];

    CHECK_INT(kpath(p, sizeof(p), "snapshot.storage.k8s.io", "v1", "volumesnapshots", "ns1", "snap",
                    NULL),
              0);
    CHECK_STR(p, "/apis/snapshot.storage.k8s.io/v1/namespaces/ns1/volumesnapshots/snap");
    CHECK_INT(kpath(p, sizeof(p), "snapshot.storage.k8s.io", "v1", "volumesnapshotcontents", NULL,
                    "c1", "status"),
              0);
    CHECK_STR(p, "/apis/snapshot.storage.k8s.io/v1/volumesnapshotcontents/c1/status");
    CHECK_INT(kpath(p, sizeof(p), NULL, "v1", "persistentvolumeclaims", "default", NULL, NULL), 0);
    CHECK_STR(p, "/api/v1/namespaces/default/persistentvolumeclaims");
    CHECK_INT(kpath(p, sizeof(p), "", "v1", "persistentvolumes", NULL, NULL, NULL), 0);
    CHECK_STR(p, "/api/v1/persistentvolumes");
    /* Odd characters are escaped, never passed raw into the URL. */
    CHECK_INT(kpath(p, sizeof(p), NULL, "v1", "pods", "a b", "x/y?z", NULL), 0);
    CHECK_STR(p, "/api/v1/namespaces/a%20b/pods/x%2Fy%3Fz");
    CHECK_INT(kpath(p, 10, NULL, "v1", "pods", NULL, NULL, NULL), SC_ETOOBIG);
    CHECK_INT(kpath(p, sizeof(p), NULL, "v1", "", NULL, NULL, NULL), SC_EINVALID);
    CHECK_INT(kpath(p, sizeof(p), NULL, "v1", "pods", NULL, NULL, "status"), SC_EINVALID);
    CHECK_INT(kpath(p, sizeof(p), NULL, "v1", "pods", "", "x", NULL), SC_EINVALID);
}

static void
test_patch_helpers(void)
{
    char seg[64];
    json_t *ops = json_array();

    CHECK_INT(kpatch_escape("snapshot.storage.kubernetes.io/pvc~x", seg, sizeof(seg)), 0);
    CHECK_STR(seg, "snapshot.storage.kubernetes.io~1pvc~0x");
    CHECK_INT(kpatch_escape("abcdef", seg, 4), SC_ETOOBIG);
    CHECK_INT(kpatch_add_op(ops, "test", "/metadata/resourceVersion", json_string("42")), 0);
    CHECK_INT(kpatch_add_op(ops, "remove", "/metadata/finalizers/0", NULL), 0);
    CHECK_INT(kpatch_add_op(NULL, "add", "/x", json_string("stolen even on failure")), SC_EINVALID);
    char *s = json_dumps(ops, JSON_COMPACT | JSON_SORT_KEYS);
    CHECK_STR(s, "[{\"op\":\"test\",\"path\":\"/metadata/resourceVersion\",\"value\":\"42\"},"
                 "{\"op\":\"remove\",\"path\":\"/metadata/finalizers/0\"}]");
    free(s);
    json_decref(ops);
}

static void
test_bucket_fake_clock(void)
{
    struct fake_clock fc = {.ms = 1000000};
    struct kbucket b = {0};

    kbucket_init(&b, 5, 10, clock_fake(&fc));
    /* The burst is free. */
    for (int i = 0; i < 10; i++)
        CHECK_INT(kbucket_reserve(&b), 0);
    /* Then one token every 200 ms: reservations queue up behind each other. */
    CHECK_INT(kbucket_reserve(&b), 200);
    CHECK_INT(kbucket_reserve(&b), 400);
    fc.ms += 400; /* both waits served */
    CHECK_INT(kbucket_reserve(&b), 200);
    fc.ms += 200;
    CHECK_INT(kbucket_reserve(&b), 200);
    /* A long idle refills only up to the burst. */
    fc.ms += 60000;
    for (int i = 0; i < 10; i++)
        CHECK_INT(kbucket_reserve(&b), 0);
    CHECK(kbucket_reserve(&b) > 0);
    /* qps <= 0: unlimited. */
    kbucket_init(&b, 0, 1, clock_fake(&fc));
    for (int i = 0; i < 1000; i++)
        CHECK_INT(kbucket_reserve(&b), 0);
    /* Fractional qps, burst < 1 means 1. */
    kbucket_init(&b, 0.5, 0, clock_fake(&fc));
    CHECK_INT(kbucket_reserve(&b), 0);
    CHECK_INT(kbucket_reserve(&b), 2000);
}

static void
test_client_new_errors(void)
{
    struct sc_err e = {0};
    struct kconfig cfg = {0};

    CHECK(kclient_new(&cfg, NULL, &e) == NULL);
    CHECK_INT(e.code, SC_EINVALID);
    cfg.server = "https://127.0.0.1:1";
    struct kclient *c = kclient_new(&cfg, NULL, &e);
    CHECK(c != NULL);
    /* Unreachable server: a transport error naming the request, quickly. */
    json_t *out = NULL;
    int rc = kclient_get(c, "/api/v1/namespaces", &out, &e);
    CHECK_INT(rc, SC_EIO);
    CHECK(strstr(e.msg, "GET /api/v1/namespaces") != NULL);
    CHECK(out == NULL);
    CHECK_INT(kclient_get(c, "no-slash", &out, &e), SC_EINVALID);
    kclient_free(c);
    kclient_free(NULL);
}

struct req {
    struct kclient *c;
    int rc;
};

static void *
request_thread(void *arg)
{
    struct req *r = arg;
    struct sc_err e = {0};
    json_t *out = NULL;

    r->rc = kclient_get(r->c, "/api/v1/namespaces", &out, &e);
    json_decref(out);
    return NULL;
}

/* A token file that blocks on read (a FIFO nobody writes yet) must not hold
 * the client lock: before the fix this test never ended, because
 * kclient_get_stats() waited for the lock the reading thread held. */
static void
test_token_read_outside_lock(void)
{
    char dir[] = "/tmp/kclient-test-XXXXXX", fifo[64];
    struct kconfig cfg = {0};
    struct kclient_stats st = {0};
    struct req r = {0};
    pthread_t th;
    int fd;

    CHECK(mkdtemp(dir) != NULL);
    snprintf(fifo, sizeof(fifo), "%s/token", dir);
    CHECK_INT(mkfifo(fifo, 0600), 0);
    cfg.server = "https://127.0.0.1:1";
    cfg.token = "old";
    cfg.token_file = fifo;
    r.c = kclient_new(&cfg, NULL, NULL);
    CHECK(r.c != NULL);
    if (r.c == NULL)
        return;
    CHECK_INT(pthread_create(&th, NULL, request_thread, &r), 0);
    /* Opening the write end waits for the reader: from here the request
     * thread sits in the token read until we write. */
    fd = open(fifo, O_WRONLY);
    CHECK(fd >= 0);
    kclient_get_stats(r.c, &st); /* takes the client lock */
    CHECK_INT(st.token_reloads, 0);
    CHECK(write(fd, "new\n", 4) == 4);
    close(fd);
    pthread_join(th, NULL);
    CHECK_INT(r.rc, SC_EIO); /* nothing listens on port 1 */
    kclient_get_stats(r.c, &st);
    CHECK_INT(st.token_reloads, 1);
    kclient_free(r.c);
    unlink(fifo);
    rmdir(dir);
}

TEST_MAIN(TEST(test_map_recorded_bodies), TEST(test_map_non_status_bodies), TEST(test_kpath),
          TEST(test_patch_helpers), TEST(test_bucket_fake_clock), TEST(test_client_new_errors),
          TEST(test_token_read_outside_lock))
