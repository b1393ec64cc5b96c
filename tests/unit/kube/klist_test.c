/* Unit tests of the streamed LIST (kclient_list, klist_split) and of the
 * informer's relist after an expired continue token.
 *   - klist_split on two pages recorded from a real API server (a custom
 *     resource list: items before metadata; a built-in one: metadata first),
 *     fed whole, cut at every byte and one byte at a time: the same items as
 *     jansson's parse of the whole page, the skeleton keeps the metadata;
 *   - malformed pages, nested "items", escaped quotes, the caps
 *     (LIM_LIST_ITEM, LIM_LIST_SKELETON) and fn's stop;
 *   - kclient_list and a started informer against a loopback socket that
 *     replays canned pages (and a 410 Expired on a continue) and records the
 *     request lines: limit/continue are sent, rv is the first page's, a 410
 *     on page 2 makes the informer list again from page 1, and only the
 *     complete second list reaches the cache and the handlers. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/limits.h"
#include "kube/kclient.h"
#include "kube/kinformer.h"
#include "kube/kjson.h"
#include "tests/fuzz/fuzz_json.h"
#include "tests/lib/harness.h"

/* Recorded with limit=2 from the test cluster (tests/cluster/up). */
static const char VSC_PAGE[] =
    "{\"apiVersion\":\"snapshot.storage.k8s.io/v1\",\"items\":[{\"apiVersion\":\"snap"
    "shot.storage.k8s.io/v1\",\"kind\":\"VolumeSnapshotContent\",\"metadata\":{\"crea"
    "tionTimestamp\":\"2026-12-03T20:24:28Z\",\"finalizers\":[\"snapshot.storage.kube"
    "rnetes.io/volumesnapshotcontent-bound-protection\"],\"generation\":1,\"managedFi"
    "elds\":[{\"apiVersion\":\"snapshot.storage.k8s.io/v1\",\"fieldsType\":\"FieldsV1"
    "\",\"fieldsV1\":{\"f:metadata\":{\"f:finalizers\":{\".\":{},\"v:\\\"snapshot.sto"
    "rage.kubernetes.io/volumesnapshotcontent-bound-protection\\\"\":{}}},\"f:spec\":"
    "{\".\":{},\"f:deletionPolicy\":{},\"f:driver\":{},\"f:source\":{\".\":{},\"f:vol"
    "umeHandle\":{}},\"f:sourceVolumeMode\":{},\"f:volumeSnapshotClassName\":{},\"f:v"
    "olumeSnapshotRef\":{}}},\"manager\":\"unknown\",\"operation\":\"Update\",\"time\""
    ":\"2026-12-03T20:24:28Z\"},{\"apiVersion\":\"snapshot.storage.k8s.io/v1\",\"fiel"
    "dsType\":\"FieldsV1\",\"fieldsV1\":{\"f:status\":{\".\":{},\"f:creationTime\":{}"
    ",\"f:readyToUse\":{},\"f:restoreSize\":{},\"f:snapshotHandle\":{}}},\"manager\":"
    "\"unknown\",\"operation\":\"Update\",\"subresource\":\"status\",\"time\":\"2026-"
    "12-03T20:24:28Z\"}],\"name\":\"snapcontent-001e078b-b8b5-43bf-89ac-726ae8471ed6\""
    ",\"resourceVersion\":\"4436\",\"uid\":\"29e86b22-7bc8-49b1-bb8c-8107816d52f2\"},"
    "\"spec\":{\"deletionPolicy\":\"Retain\",\"driver\":\"bench.csi.example.com\",\"s"
    "ource\":{\"volumeHandle\":\"bench-volume-1045\"},\"sourceVolumeMode\":\"Filesyst"
    "em\",\"volumeSnapshotClassName\":\"csi-test-snapclass\",\"volumeSnapshotRef\":{\""
    "apiVersion\":\"snapshot.storage.k8s.io/v1\",\"kind\":\"VolumeSnapshot\",\"name\""
    ":\"cached-1045\",\"namespace\":\"bench-cache\",\"uid\":\"001e078b-b8b5-43bf-89ac"
    "-726ae8471ed6\"}},\"status\":{\"creationTime\":1796329468899313664,\"readyToUse\""
    ":true,\"restoreSize\":1073741824,\"snapshotHandle\":\"bench-snap-1045\"}},{\"api"
    "Version\":\"snapshot.storage.k8s.io/v1\",\"kind\":\"VolumeSnapshotContent\",\"me"
    "tadata\":{\"creationTimestamp\":\"2026-12-03T20:24:20Z\",\"finalizers\":[\"snaps"
    "hot.storage.kubernetes.io/volumesnapshotcontent-bound-protection\"],\"generation"
    "\":1,\"managedFields\":[{\"apiVersion\":\"snapshot.storage.k8s.io/v1\",\"fieldsT"
    "ype\":\"FieldsV1\",\"fieldsV1\":{\"f:metadata\":{\"f:finalizers\":{\".\":{},\"v:"
    "\\\"snapshot.storage.kubernetes.io/volumesnapshotcontent-bound-protection\\\"\":"
    "{}}},\"f:spec\":{\".\":{},\"f:deletionPolicy\":{},\"f:driver\":{},\"f:source\":{"
    "\".\":{},\"f:volumeHandle\":{}},\"f:sourceVolumeMode\":{},\"f:volumeSnapshotClas"
    "sName\":{},\"f:volumeSnapshotRef\":{}}},\"manager\":\"unknown\",\"operation\":\""
    "Update\",\"time\":\"2026-12-03T20:24:20Z\"},{\"apiVersion\":\"snapshot.storage.k"
    "8s.io/v1\",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:status\":{\".\":{},\"f:"
    "creationTime\":{},\"f:readyToUse\":{},\"f:restoreSize\":{},\"f:snapshotHandle\":"
    "{}}},\"manager\":\"unknown\",\"operation\":\"Update\",\"subresource\":\"status\""
    ",\"time\":\"2026-12-03T20:24:21Z\"}],\"name\":\"snapcontent-0052daf8-3e89-4002-a"
    "5ac-993ad31613ef\",\"resourceVersion\":\"2891\",\"uid\":\"393316bf-b72b-4104-98a"
    "9-d81a96be00cd\"},\"spec\":{\"deletionPolicy\":\"Retain\",\"driver\":\"bench.csi"
    ".example.com\",\"source\":{\"volumeHandle\":\"bench-volume-655\"},\"sourceVolume"
    "Mode\":\"Filesystem\",\"volumeSnapshotClassName\":\"csi-test-snapclass\",\"volum"
    "eSnapshotRef\":{\"apiVersion\":\"snapshot.storage.k8s.io/v1\",\"kind\":\"VolumeS"
    "napshot\",\"name\":\"cached-655\",\"namespace\":\"bench-cache\",\"uid\":\"0052da"
    "f8-3e89-4002-a5ac-993ad31613ef\"}},\"status\":{\"creationTime\":1796329461024768"
    "256,\"readyToUse\":true,\"restoreSize\":1073741824,\"snapshotHandle\":\"bench-sn"
    "ap-655\"}}],\"kind\":\"VolumeSnapshotContentList\",\"metadata\":{\"continue\":\""
    "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MTE2NzYsInN0YXJ0IjoiL3NuYXBjb250ZW50LTAwNTJk"
    "YWY4LTNlODktNDAwMi1hNWFjLTk5M2FkMzE2MTNlZlx1MDAwMCJ9\",\"remainingItemCount\":19"
    "98,\"resourceVersion\":\"11676\"}}";

static const char NS_PAGE[] =
    "{\"kind\":\"NamespaceList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersio"
    "n\":\"11676\",\"continue\":\"eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MTE2NzYsInN0YXJ"
    "0IjoiL2RlZmF1bHRcdTAwMDAifQ\",\"remainingItemCount\":3},\"items\":[{\"metadata\""
    ":{\"name\":\"bench-cache\",\"uid\":\"17a2d64d-6396-4da7-b07a-d74bd1be5a28\",\"re"
    "sourceVersion\":\"206\",\"creationTimestamp\":\"2026-12-03T20:23:55Z\",\"labels\""
    ":{\"kubernetes.io/metadata.name\":\"bench-cache\"},\"managedFields\":[{\"manager"
    "\":\"unknown\",\"operation\":\"Update\",\"apiVersion\":\"v1\",\"time\":\"2026-12"
    "-03T20:23:55Z\",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:metadata\":{\"f:la"
    "bels\":{\".\":{},\"f:kubernetes.io/metadata.name\":{}}}}}]},\"spec\":{\"finalize"
    "rs\":[\"kubernetes\"]},\"status\":{\"phase\":\"Active\"}},{\"metadata\":{\"name\""
    ":\"default\",\"uid\":\"137fd756-5972-4d4a-a42e-88b014640b52\",\"resourceVersion\""
    ":\"42\",\"creationTimestamp\":\"2026-12-03T20:23:32Z\",\"labels\":{\"kubernetes."
    "io/metadata.name\":\"default\"},\"managedFields\":[{\"manager\":\"kube-apiserver"
    "\",\"operation\":\"Update\",\"apiVersion\":\"v1\",\"time\":\"2026-12-03T20:23:32"
    "Z\",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:metadata\":{\"f:labels\":{\".\""
    ":{},\"f:kubernetes.io/metadata.name\":{}}}}}]},\"spec\":{\"finalizers\":[\"kuber"
    "netes\"]},\"status\":{\"phase\":\"Active\"}}]}";

/* ---- klist_split --------------------------------------------------------------------- */

struct got {
    json_t *items;  /* array of copies */
    int stop_after; /* > 0: fn returns SC_ECONFLICT at this item */
};

static int
collect(void *ctx, const json_t *item)
{
    struct got *g = ctx;
    json_array_append_new(g->items, json_deep_copy(item));
    if (g->stop_after > 0 && json_array_size(g->items) == (size_t)g->stop_after)
        return SC_ECONFLICT;
    return 0;
}

/* Split page in chunks of step bytes (0 = cut once at cut); return the rc
 * of the first failing call, with the items in g and *skel on success. */
static int
split(const char *page, size_t len, size_t cut, size_t step, struct got *g, json_t **skel)
{
    struct klist_split s = {0};
    struct sc_err e = {0};
    int rc = 0;

    g->items = json_array();
    klist_split_init(&s, collect, g, &e);
    if (step == 0) {
        rc = klist_split_feed(&s, page, cut);
        if (rc == 0)
            rc = klist_split_feed(&s, page + cut, len - cut);
    }
    for (size_t off = 0; step > 0 && rc == 0 && off < len; off += step)
        rc = klist_split_feed(&s, page + off, len - off < step ? len - off : step);
    if (rc == 0)
        rc = klist_split_finish(&s, skel);
    else
        CHECK_INT(klist_split_feed(&s, "x", 1), rc); /* sticky */
    klist_split_release(&s);
    return rc;
}

/* Every way of cutting page gives jansson's items (less their managedFields,
 * which kskim_parse() skips) and a skeleton with the page's metadata and an
 * empty items array. */
static void
check_recorded(const char *page, const char *rv, size_t nitems)
{
    size_t len = strlen(page);
    json_t *whole = json_loads(page, 0, NULL);
    const json_t *want = json_object_get(whole, "items");
    int bad = 0;

    fuzz_json_drop_managed(whole);
    CHECK(whole != NULL && json_array_size(want) == nitems);
    for (size_t cut = 0; cut <= len + 1; cut++) {
        struct got g = {0};
        json_t *skel = NULL;
        int rc = cut <= len ? split(page, len, cut, 0, &g, &skel)
                            : split(page, len, 0, 1, &g, &skel); /* byte by byte */
        if (rc != 0 || !json_equal(g.items, want) ||
            json_array_size(json_object_get(skel, "items")) != 0 ||
            !json_is_array(json_object_get(skel, "items")) ||
            strcmp(json_string_value(
                       json_object_get(json_object_get(skel, "metadata"), "resourceVersion")),
                   rv) != 0)
            bad++;
        json_decref(g.items);
        json_decref(skel);
    }
    CHECK_INT(bad, 0);
    json_decref(whole);
}

static void
test_split_recorded_pages(void)
{
    check_recorded(VSC_PAGE, "11676", 2); /* apiVersion, items, kind, metadata */
    check_recorded(NS_PAGE, "11676", 2);  /* kind, apiVersion, metadata, items */
}

static int
split_str(const char *page, struct got *g, json_t **skel)
{
    return split(page, strlen(page), strlen(page) / 2, 0, g, skel);
}

static void
test_split_shapes(void)
{
    struct got g = {0};
    json_t *skel = NULL;

    /* "items" below the top level is not the list's: it stays in the skeleton */
    CHECK_INT(split_str("{\"metadata\":{\"items\":[{\"x\":1}]},\"items\":[ ]}", &g, &skel), 0);
    CHECK_INT(json_array_size(g.items), 0);
    CHECK_INT(json_array_size(json_object_get(json_object_get(skel, "metadata"), "items")), 1);
    json_decref(g.items);
    json_decref(skel);
    skel = NULL;
    /* quotes, brackets and a key named items inside an item's strings */
    CHECK_INT(split_str("{\"items\":[{\"a\":\"x\\\"}],\\\\\",\"items\":[{}]} , {\"b\":\"]\"}\n]}",
                        &g, &skel),
              0);
    CHECK_INT(json_array_size(g.items), 2);
    CHECK_STR(json_string_value(json_object_get(json_array_get(g.items, 0), "a")), "x\"}],\\");
    CHECK_STR(json_string_value(json_object_get(json_array_get(g.items, 1), "b")), "]");
    json_decref(g.items);
    json_decref(skel);
    skel = NULL;
    /* no items key at all: the skeleton has none (kclient_list rejects it) */
    CHECK_INT(split_str("{\"kind\":\"List\",\"metadata\":{}}", &g, &skel), 0);
    CHECK(json_object_get(skel, "items") == NULL);
    json_decref(g.items);
    json_decref(skel);
}

static void
test_split_malformed(void)
{
    static const char *bad[] = {
        "{\"items\":[1]}",
        "{\"items\":[{}{}]}",
        "{\"items\":[{},]}",
        "{\"items\":[,{}]}",
        "{\"items\":[{\"a\":1}",
        "{\"items\":[]}]",
        "{\"items\":[],\"items\":[]}",
        "{\"items\":[{\"a\":}]}",
        "[{\"items\":[]}]",
        "{\"items\":[]} x",
        "",
        "{\"items\":[{\"a\":\"x}]}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct got g = {0};
        json_t *skel = NULL;
        int rc = split_str(bad[i], &g, &skel);
        if (rc != SC_EPROTO)
            fprintf(stderr, "case %zu (%s): rc %d\n", i, bad[i], rc);
        CHECK_INT(rc, SC_EPROTO);
        CHECK(skel == NULL);
        json_decref(g.items);
    }
}

/* A page of one item of n bytes (a string member padded to size). */
static char *
page_with_item(size_t n, const char *meta_pad)
{
    size_t pad = n - strlen("{\"s\":\"\"}");
    char *p = malloc(n + strlen(meta_pad) + 64);
    int off = sprintf(p, "{\"metadata\":{\"p\":\"%s\"},\"items\":[{\"s\":\"", meta_pad);
    memset(p + off, 'a', pad);
    strcpy(p + off + pad, "\"}]}");
    return p;
}

static void
test_split_caps_and_stop(void)
{
    struct got g = {0};
    json_t *skel = NULL;
    char *p = page_with_item(LIM_LIST_ITEM, "");

    CHECK_INT(split(p, strlen(p), 0, 65536, &g, &skel), 0); /* exactly the cap */
    CHECK_INT(json_array_size(g.items), 1);
    json_decref(g.items);
    json_decref(skel);
    skel = NULL;
    free(p);
    p = page_with_item(LIM_LIST_ITEM + 1, "");
    CHECK_INT(split(p, strlen(p), 0, 65536, &g, &skel), SC_ETOOBIG);
    json_decref(g.items);
    free(p);
    char *pad = malloc(LIM_LIST_SKELETON + 1);
    memset(pad, 'm', LIM_LIST_SKELETON);
    pad[LIM_LIST_SKELETON] = '\0';
    p = page_with_item(16, pad);
    CHECK_INT(split(p, strlen(p), 0, 4096, &g, &skel), SC_ETOOBIG);
    json_decref(g.items);
    free(p);
    free(pad);
    /* fn's non-zero return stops the split and is returned */
    g.stop_after = 1;
    CHECK_INT(split(VSC_PAGE, strlen(VSC_PAGE), 100, 0, &g, &skel), SC_ECONFLICT);
    CHECK_INT(json_array_size(g.items), 1);
    json_decref(g.items);
}

/* ---- canned server ------------------------------------------------------------------- */

#define CANNED_MAX 8

struct canned {
    int fd, port, n;
    const char *bodies[CANNED_MAX]; /* 200 with this body, or a 410 when it starts with "410 " */
    char lines[CANNED_MAX][512];    /* request lines received */
    atomic_int served;              /* requests read and about to be answered */
};

static void
answer(struct canned *c, int s, int i)
{
    char head[256], req[4096];
    ssize_t got = 0, r;
    const char *body = c->bodies[i];
    int gone = strncmp(body, "410 ", 4) == 0;

    while (got < (ssize_t)sizeof(req) - 1 &&
           (r = read(s, req + got, sizeof(req) - 1 - (size_t)got)) > 0) {
        got += r;
        req[got] = '\0';
        if (strstr(req, "\r\n\r\n") != NULL)
            break;
    }
    req[got > 0 ? got : 0] = '\0';
    snprintf(c->lines[i], sizeof(c->lines[i]), "%.*s", (int)strcspn(req, "\r"), req);
    if (gone)
        body += 4;
    snprintf(head, sizeof(head),
             "HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
             "Connection: close\r\n\r\n",
             gone ? "410 Gone" : "200 OK", strlen(body));
    /* Counted before the answer goes out: the client can act on an answer (and the
     * test check the count) as soon as it is written, before this thread runs again. */
    atomic_fetch_add(&c->served, 1);
    if (write(s, head, strlen(head)) < 0 || write(s, body, strlen(body)) < 0)
        return; /* the client then fails on a short answer, and its test with it */
}

static void *
canned_run(void *arg)
{
    struct canned *c = arg;
    for (int i = 0; i < c->n; i++) {
        int s = accept(c->fd, NULL, NULL);
        if (s < 0)
            return NULL;
        answer(c, s, i);
        close(s);
    }
    return NULL;
}

static struct kclient *
canned_start(struct canned *c, pthread_t *t)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    struct kconfig cfg = {0};
    struct kclient_opts o = {0};
    char url[64];

    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK_INT(bind(c->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    CHECK_INT(listen(c->fd, 8), 0);
    getsockname(c->fd, (struct sockaddr *)&a, &al);
    c->port = ntohs(a.sin_port);
    pthread_create(t, NULL, canned_run, c);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", c->port);
    cfg.server = url;
    kclient_opts_default(&o);
    o.qps = -1;
    return kclient_new(&cfg, &o, NULL);
}

static void
canned_stop(struct canned *c, pthread_t t)
{
    shutdown(c->fd, SHUT_RDWR);
    close(c->fd);
    pthread_join(t, NULL);
}

#define PAGE1                                                                              \
    "{\"kind\":\"WList\",\"metadata\":{\"resourceVersion\":\"50\",\"continue\":\"tok1\"}," \
    "\"items\":[{\"metadata\":{\"name\":\"a\",\"namespace\":\"n\",\"uid\":\"u-a\","        \
    "\"resourceVersion\":\"10\"}},{\"metadata\":{\"name\":\"b\",\"namespace\":\"n\","      \
    "\"uid\":\"u-b\",\"resourceVersion\":\"11\"}}]}"
#define PAGE2                                                                           \
    "{\"kind\":\"WList\",\"items\":[{\"metadata\":{\"name\":\"c\",\"namespace\":\"n\"," \
    "\"uid\":\"u-c\",\"resourceVersion\":\"12\"}}],\"metadata\":{\"resourceVersion\":\"50\"}}"
#define EXPIRED                                                                          \
    "410 {\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":" \
    "\"The provided continue parameter is too old\",\"reason\":\"Expired\",\"code\":410}"

static int
count_names(void *ctx, const json_t *item)
{
    char *names = ctx;
    strcat(names, json_string_value(json_object_get(json_object_get(item, "metadata"), "name")));
    return 0;
}

static void
test_list_pages_and_expired_continue(void)
{
    struct canned c = {.n = 4, .bodies = {PAGE1, PAGE2, PAGE1, EXPIRED}};
    pthread_t t;
    struct kclient *k = canned_start(&c, &t);
    struct klist_opts lo = {.limit = 2, .label_selector = "x=y"};
    struct sc_err e = {0};
    char rv[64] = "", names[16] = "";

    CHECK_INT(kclient_list(k, "/apis/g/v1/widgets", &lo, count_names, names, rv, sizeof(rv), &e),
              0);
    CHECK_STR(names, "abc");
    CHECK_STR(rv, "50");
    CHECK_STR(c.lines[0], "GET /apis/g/v1/widgets?limit=2&labelSelector=x%3Dy HTTP/1.1");
    CHECK_STR(c.lines[1],
              "GET /apis/g/v1/widgets?limit=2&labelSelector=x%3Dy&continue=tok1 HTTP/1.1");
    names[0] = '\0';
    CHECK_INT(kclient_list(k, "/apis/g/v1/widgets", &lo, count_names, names, rv, sizeof(rv), &e),
              SC_EGONE);
    CHECK_STR(names, "ab"); /* page 1 was handed out before the 410 */
    CHECK(strstr(e.msg, "too old") != NULL);
    kclient_free(k);
    canned_stop(&c, t);
}

struct counts {
    atomic_int adds, deletes, errors, expired;
};

static void
on_add(void *ctx, const struct kitem *it)
{
    (void)it;
    atomic_fetch_add(&((struct counts *)ctx)->adds, 1);
}

static void
on_delete(void *ctx, const struct kitem *it)
{
    (void)it;
    atomic_fetch_add(&((struct counts *)ctx)->deletes, 1);
}

static void
on_error(void *ctx, const char *informer, const struct sc_err *err)
{
    struct counts *n = ctx;
    (void)informer;
    atomic_fetch_add(&n->errors, 1);
    if (strstr(err->msg, "continue token expired, listing again") != NULL)
        atomic_fetch_add(&n->expired, 1);
}

static int
parse_nothing(void *ctx, const json_t *obj, void **view, struct sc_err *err)
{
    (void)ctx;
    (void)obj;
    (void)err;
    *view = malloc(1);
    return *view ? 0 : SC_ENOMEM;
}

static void
test_informer_relists_after_expired_continue(void)
{
    struct canned c = {.n = 4, .bodies = {PAGE1, EXPIRED, PAGE1, PAGE2}};
    struct counts n = {0};
    pthread_t t;
    struct kclient *k = canned_start(&c, &t);
    struct kinformer_opts o = {
        .name = "widgets",
        .path = "/apis/g/v1/widgets",
        .parse = parse_nothing,
        .list_page = 2,
        .handlers = {.ctx = &n, .on_add = on_add, .on_delete = on_delete},
        .on_error = on_error,
        .error_ctx = &n,
    };
    struct sc_err e = {0};
    struct kinformer *inf = kinformer_new(k, &o, &e);
    char rv[64];

    CHECK_INT(kinformer_start(inf, &e), 0);
    CHECK_INT(kinformer_wait_synced(inf, 20000), 0);
    CHECK_INT(atomic_load(&c.served), 4);
    CHECK_INT(atomic_load(&n.expired), 1);
    CHECK_INT(kinformer_len(inf), 3);
    CHECK_INT(atomic_load(&n.adds), 3); /* nothing of the expired list was published */
    CHECK_INT(atomic_load(&n.deletes), 0);
    CHECK(strstr(c.lines[1], "continue=tok1") != NULL);
    CHECK(strstr(c.lines[2], "continue=") == NULL); /* from the first page again */
    kinformer_rv(inf, rv, sizeof(rv));
    CHECK_STR(rv, "50");
    kinformer_free(inf);
    kclient_free(k);
    canned_stop(&c, t);
}

TEST_MAIN(TEST(test_split_recorded_pages), TEST(test_split_shapes), TEST(test_split_malformed),
          TEST(test_split_caps_and_stop), TEST(test_list_pages_and_expired_continue),
          TEST(test_informer_relists_after_expired_continue))
