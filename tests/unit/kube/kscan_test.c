/* Unit tests for kscan(): chosen members of an object read from its bytes,
 * checked against the values written out and against jansson's walk of the
 * same paths; every decline of kscan.h; kscan_member(), kscan_next(). */
#include "kube/kscan.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/kskim.h"
#include "tests/fuzz/kscan_eq.h"
#include "tests/lib/harness.h"

/* The paths of the fuzz target (tests/fuzz/kube_scan_fuzz.c): what the
 * controller's views read of a VolumeSnapshot and a content. */
static const char *const vsc_paths[] = {
    "metadata.name",                         /* 0 */
    "metadata.namespace",                    /* 1 */
    "metadata.uid",                          /* 2 */
    "metadata.resourceVersion",              /* 3 */
    "metadata.deletionTimestamp",            /* 4 */
    "metadata.creationTimestamp",            /* 5 */
    "metadata.finalizers",                   /* 6 */
    "metadata.ownerReferences",              /* 7 */
    "metadata.annotations",                  /* 8 */
    "spec.source.persistentVolumeClaimName", /* 9 */
    "spec.source.volumeSnapshotContentName", /* 10 */
    "spec.volumeSnapshotClassName",          /* 11 */
    "spec.volumeSnapshotRef.name",           /* 12 */
    "spec.volumeSnapshotRef.namespace",      /* 13 */
    "spec.volumeSnapshotRef.uid",            /* 14 */
    "spec.deletionPolicy",                   /* 15 */
    "spec.driver",                           /* 16 */
    "spec.source.volumeHandle",              /* 17 */
    "spec.source.snapshotHandle",            /* 18 */
    "spec.sourceVolumeMode",                 /* 19 */
    "status",                                /* 20 */
    "status.boundVolumeSnapshotContentName", /* 21 */
    "status.creationTime",                   /* 22 */
    "status.readyToUse",                     /* 23 */
    "status.restoreSize",                    /* 24 */
    "status.error",                          /* 25 */
    "status.error.message",                  /* 26 */
    "status.error.time",                     /* 27 */
    "status.volumeGroupSnapshotName",        /* 28 */
    "status.snapshotHandle",                 /* 29 */
};
#define N_VSC (sizeof(vsc_paths) / sizeof(vsc_paths[0]))

/* A VolumeSnapshotContent as the API server sends it (from the e2e
 * cluster's, tests/data/kube/skim/vsc-modified.json, with annotations). */
static const char vsc[] =
    "{\"apiVersion\":\"snapshot.storage.k8s.io/v1\",\"kind\":\"VolumeSnapshotContent\","
    "\"metadata\":{\"annotations\":{\"snapshot.storage.kubernetes.io/deletion-secret-name\":"
    "\"csi-secret\",\"snapshot.storage.kubernetes.io/deletion-secret-namespace\":\"default\"},"
    "\"creationTimestamp\":\"2026-12-04T10:12:54Z\",\"finalizers\":[\"snapshot.storage."
    "kubernetes.io/volumesnapshotcontent-bound-protection\"],\"generation\":1,"
    "\"managedFields\":[{\"apiVersion\":\"snapshot.storage.k8s.io/v1\",\"fieldsType\":"
    "\"FieldsV1\",\"fieldsV1\":{\"f:status\":{\".\":{},\"f:creationTime\":{},\"f:readyToUse\":"
    "{},\"f:restoreSize\":{},\"f:snapshotHandle\":{}}},\"manager\":\"csi-snapshotter\","
    "\"operation\":\"Update\",\"subresource\":\"status\",\"time\":\"2026-12-04T10:12:54Z\"},"
    "{\"apiVersion\":\"snapshot.storage.k8s.io/v1\",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":"
    "{\"f:metadata\":{\"f:annotations\":{\".\":{},\"f:snapshot.storage.kubernetes.io/"
    "deletion-secret-name\":{},\"f:snapshot.storage.kubernetes.io/deletion-secret-namespace\":"
    "{}},\"f:finalizers\":{\".\":{},\"v:\\\"snapshot.storage.kubernetes.io/"
    "volumesnapshotcontent-bound-protection\\\"\":{}}},\"f:spec\":{\".\":{},"
    "\"f:deletionPolicy\":{},\"f:driver\":{},\"f:source\":{\".\":{},\"f:volumeHandle\":{}},"
    "\"f:sourceVolumeMode\":{},\"f:volumeSnapshotClassName\":{},\"f:volumeSnapshotRef\":{}}},"
    "\"manager\":\"snapshot-controller\",\"operation\":\"Update\",\"time\":"
    "\"2026-12-04T10:12:54Z\"}],\"name\":\"snapcontent-d17067ff-9103-48f2-ba8a-7d0d42f1b999\","
    "\"resourceVersion\":\"260\",\"uid\":\"f4cb0892-a8df-4b87-9053-3e752998c70f\"},"
    "\"spec\":{\"deletionPolicy\":\"Delete\",\"driver\":\"testdriver.csi.k8s.io\",\"source\":"
    "{\"volumeHandle\":\"4\"},\"sourceVolumeMode\":\"Filesystem\",\"volumeSnapshotClassName\":"
    "\"csi-test-snapclass\",\"volumeSnapshotRef\":{\"apiVersion\":\"snapshot.storage.k8s.io/v1\","
    "\"kind\":\"VolumeSnapshot\",\"name\":\"snap1\",\"namespace\":\"default\","
    "\"resourceVersion\":\"255\",\"uid\":\"d17067ff-9103-48f2-ba8a-7d0d42f1b999\"}},"
    "\"status\":{\"creationTime\":1796379174284947114,\"readyToUse\":true,"
    "\"restoreSize\":1073741824,\"snapshotHandle\":\"4\"}}";

static struct kscan_spec *
vsc_spec(void)
{
    static struct kscan_spec spec;
    static bool done;

    if (!done) {
        CHECK_INT(kscan_compile(&spec, vsc_paths, N_VSC), 0);
        done = true;
    }
    return &spec;
}

/* kscan() of doc with the VSC paths into out. */
static int
scan_vsc(const char *doc, struct kscan_val out[N_VSC], struct kscan_buf *sb)
{
    return kscan(doc, strlen(doc), vsc_spec(), out, sb);
}

/* Does v report what j (NULL: absent) holds? */
static bool
same_value(const struct kscan_val *v, const json_t *j)
{
    return kscan_same_value(v, j, JSON_REJECT_DUPLICATES);
}

/* jansson's walk of a dotted path: NULL when a member is missing or a
 * prefix is null; *bad when a prefix is another type. */
static const json_t *
walk(const json_t *root, const char *path, bool *bad)
{
    const json_t *cur = root;

    *bad = false;
    for (;;) {
        const char *dot = strchr(path, '.');
        size_t len = dot != NULL ? (size_t)(dot - path) : strlen(path);

        if (cur == NULL || json_is_null(cur))
            return NULL;
        if (!json_is_object(cur)) {
            *bad = true;
            return NULL;
        }
        cur = json_object_getn(cur, path, len);
        if (dot == NULL)
            return cur;
        path = dot + 1;
    }
}

/* kscan() of doc with paths reports, path by path, what jansson's walk of
 * its tree finds. */
static void
same_as_jansson(const char *doc, const char *const *paths, size_t n)
{
    struct kscan_spec spec = {0};
    struct kscan_val out[KSCAN_MAX_PATHS] = {0};
    static char buf[1 << 16];
    struct kscan_buf sb = {.p = buf, .cap = sizeof(buf)};
    json_t *root = json_loadb(doc, strlen(doc), JSON_REJECT_DUPLICATES, NULL);

    CHECK(root != NULL);
    CHECK_INT(kscan_compile(&spec, paths, n), 0);
    CHECK_INT(kscan(doc, strlen(doc), &spec, out, &sb), 0);
    for (size_t i = 0; root != NULL && i < n; i++) {
        bool bad = false;
        const json_t *j = walk(root, paths[i], &bad);

        CHECK(!bad);
        if (!same_value(&out[i], j)) {
            fprintf(stderr, "    %s differs (type %d)\n", paths[i], (int)out[i].type);
            CHECK(false);
        }
    }
    json_decref(root);
}

/* node's child keyed key in spec, or NULL. */
static const struct kscan_node *
child(const struct kscan_spec *spec, const struct kscan_node *node, const char *key)
{
    for (size_t j = 0; node != NULL && j < node->count; j++) {
        const struct kscan_node *c = &spec->nodes[node->first + j];
        if (c->klen == strlen(key) && memcmp(c->key, key, c->klen) == 0)
            return c;
    }
    return NULL;
}

static void
test_compile_errors(void)
{
    static const char *const empty[] = {""};
    static const char *const empty_seg[] = {"a..b"};
    static const char *const lead[] = {".a"};
    static const char *const trail[] = {"a."};
    static const char *const dup[] = {"a.b", "c", "a.b"};
    static const char *const null[] = {"a", NULL};
    struct kscan_spec spec = {0};
    const char *many[KSCAN_MAX_PATHS + 1] = {0};
    char names[KSCAN_MAX_NODES + 1][8] = {{0}};

    CHECK_INT(kscan_compile(&spec, empty, 1), -1);
    CHECK_INT(kscan_compile(&spec, empty_seg, 1), -1);
    CHECK_INT(kscan_compile(&spec, lead, 1), -1);
    CHECK_INT(kscan_compile(&spec, trail, 1), -1);
    CHECK_INT(kscan_compile(&spec, dup, 3), -1);
    CHECK_INT(kscan_compile(&spec, null, 2), -1);
    CHECK_INT(kscan_compile(&spec, NULL, 1), -1);
    CHECK_INT(kscan_compile(&spec, NULL, 0), 0); /* no path: the object is only checked */
    for (size_t i = 0; i <= KSCAN_MAX_NODES; i++) {
        snprintf(names[i], sizeof(names[i]), "k%zu", i);
        if (i <= KSCAN_MAX_PATHS)
            many[i] = names[i];
    }
    CHECK_INT(kscan_compile(&spec, many, KSCAN_MAX_PATHS), 0);
    CHECK_INT(kscan_compile(&spec, many, KSCAN_MAX_PATHS + 1), -1); /* too many paths */
    /* too many nodes: "a.k0.k1...." is one path of KSCAN_MAX_NODES segments */
    char deep[KSCAN_MAX_NODES * 4 + 8] = {0};
    size_t len = 0;
    for (size_t i = 0; i < KSCAN_MAX_NODES - 1; i++)
        len += (size_t)snprintf(deep + len, sizeof(deep) - len, "%s%zu", i ? ".k" : "k", i);
    const char *one[] = {deep};
    CHECK_INT(kscan_compile(&spec, one, 1), 0); /* the root and 63 */
    snprintf(deep + len, sizeof(deep) - len, ".x");
    CHECK_INT(kscan_compile(&spec, one, 1), -1);
}

/* The trie of a path both reported and on others' way; children
 * contiguous. */
static void
test_compile_trie(void)
{
    static const char *const ok[] = {"status.error.message", "status", "spec.driver",
                                     "status.readyToUse"};
    struct kscan_spec spec = {0};

    CHECK_INT(kscan_compile(&spec, ok, 4), 0);
    CHECK_INT(spec.n_paths, 4);
    CHECK_INT(spec.n_nodes, 7); /* root, status, spec, error, readyToUse, driver, message */
    const struct kscan_node *root = &spec.nodes[0];
    CHECK_INT(root->count, 2);
    CHECK_INT(root->slot, -1);
    const struct kscan_node *status = child(&spec, root, "status");
    CHECK(status != NULL && status->slot == 1 && status->count == 2);
    const struct kscan_node *err = child(&spec, status, "error");
    CHECK(err != NULL && err->slot == -1 && err->count == 1);
    const struct kscan_node *ready = child(&spec, status, "readyToUse");
    CHECK(ready != NULL && ready->slot == 3 && ready->count == 0);
    const struct kscan_node *msg = child(&spec, err, "message");
    CHECK(msg != NULL && msg->slot == 0 && msg->count == 0);
    const struct kscan_node *drv = child(&spec, child(&spec, root, "spec"), "driver");
    CHECK(drv != NULL && drv->slot == 2 && drv->count == 0);
    /* every node but the root is the child of one node */
    int parents[KSCAN_MAX_NODES] = {0};
    for (size_t i = 0; i < spec.n_nodes; i++)
        for (size_t j = spec.nodes[i].first; j < spec.nodes[i].first + spec.nodes[i].count; j++)
            parents[j]++;
    CHECK_INT(parents[0], 0);
    for (size_t i = 1; i < spec.n_nodes; i++)
        CHECK_INT(parents[i], 1);
}

static void
check_str_val(const struct kscan_val *v, const char *want)
{
    CHECK_INT(v->type, KSCAN_STRING);
    if (v->type == KSCAN_STRING) {
        CHECK_STR(v->s, want);
        CHECK_INT(v->n, strlen(want));
    }
}

static void
test_vsc(void)
{
    struct kscan_val out[N_VSC] = {{0}};
    char buf[1024] = {0};
    const char *st = strstr(vsc, "\"status\":{") + 9;

    struct kscan_buf sb = {.p = buf, .cap = sizeof(buf)};

    CHECK_INT(scan_vsc(vsc, out, &sb), 0);
    check_str_val(&out[0], "snapcontent-d17067ff-9103-48f2-ba8a-7d0d42f1b999");
    CHECK_INT(out[1].type, KSCAN_ABSENT); /* cluster-scoped */
    check_str_val(&out[2], "f4cb0892-a8df-4b87-9053-3e752998c70f");
    check_str_val(&out[3], "260");
    CHECK_INT(out[4].type, KSCAN_ABSENT);
    check_str_val(&out[5], "2026-12-04T10:12:54Z");
    CHECK_INT(out[6].type, KSCAN_ARRAY);
    CHECK_INT(out[7].type, KSCAN_ABSENT);
    CHECK_INT(out[8].type, KSCAN_OBJECT);
    CHECK(out[8].s[0] == '{' && out[8].s[out[8].n - 1] == '}');
    CHECK_INT(out[9].type, KSCAN_ABSENT);
    check_str_val(&out[11], "csi-test-snapclass");
    check_str_val(&out[12], "snap1");
    check_str_val(&out[13], "default");
    check_str_val(&out[14], "d17067ff-9103-48f2-ba8a-7d0d42f1b999");
    check_str_val(&out[15], "Delete");
    check_str_val(&out[16], "testdriver.csi.k8s.io");
    check_str_val(&out[17], "4");
    CHECK_INT(out[18].type, KSCAN_ABSENT);
    check_str_val(&out[19], "Filesystem");
    CHECK_INT(out[20].type, KSCAN_OBJECT);
    CHECK(out[20].s == st);
    CHECK_INT(out[20].n, strlen(st) - 1); /* to the status's '}', not the object's */
    CHECK_INT(out[21].type, KSCAN_ABSENT);
    CHECK_INT(out[22].type, KSCAN_INTEGER);
    CHECK_INT(out[22].i, 1796379174284947114LL);
    CHECK_INT(out[23].type, KSCAN_TRUE);
    CHECK_INT(out[24].type, KSCAN_INTEGER);
    CHECK_INT(out[24].i, 1073741824);
    CHECK_INT(out[25].type, KSCAN_ABSENT);
    CHECK_INT(out[26].type, KSCAN_ABSENT);
    check_str_val(&out[29], "4");
    same_as_jansson(vsc, vsc_paths, N_VSC);

    /* the finalizers, through kscan_next() */
    struct kscan_iter it = {0};
    struct kscan_val e = {0};
    kscan_iter_init(&it, &out[6]);
    CHECK_INT(kscan_next(&it, &e, &sb), 1);
    check_str_val(&e, "snapshot.storage.kubernetes.io/volumesnapshotcontent-bound-protection");
    CHECK_INT(kscan_next(&it, &e, &sb), 0);
}

/* The recorded watch events, read through their "object" member. */
static void
test_recorded_events(void)
{
    static const char *const paths[] = {
        "type",
        "object.metadata.name",
        "object.metadata.namespace",
        "object.metadata.uid",
        "object.metadata.resourceVersion",
        "object.metadata.finalizers",
        "object.metadata.labels",
        "object.spec",
        "object.spec.source.persistentVolumeClaimName",
        "object.spec.volumeSnapshotRef.uid",
        "object.spec.resources.requests.storage",
        "object.status",
        "object.status.readyToUse",
        "object.status.restoreSize",
        "object.status.creationTime",
        "object.status.phase",
    };

    for (size_t i = 0; i < HARNESS_N_RECORDED; i++) {
        size_t len = 0;
        char *d = harness_recorded(i, &len);

        if (d != NULL)
            same_as_jansson(d, paths, sizeof(paths) / sizeof(paths[0]));
        free(d);
    }
}

/* Absent, null, and a null prefix. */
static void
test_absent_and_null(void)
{
    static const char *const paths[] = {"status", "status.error.message", "status.error",
                                        "spec.driver", "metadata.name"};
    struct kscan_spec spec = {0};
    struct kscan_val out[5] = {{0}};
    char buf[64] = {0};
    struct kscan_buf sb = {.p = buf, .cap = sizeof(buf)};
    const char *doc = NULL;

    CHECK_INT(kscan_compile(&spec, paths, 5), 0);
    doc = "{}";
    CHECK_INT(kscan(doc, strlen(doc), &spec, out, &sb), 0);
    for (size_t i = 0; i < 5; i++)
        CHECK_INT(out[i].type, KSCAN_ABSENT);
    doc = "{\"status\":null,\"spec\":null,\"metadata\":{\"name\":null}}";
    CHECK_INT(kscan(doc, strlen(doc), &spec, out, &sb), 0);
    CHECK_INT(out[0].type, KSCAN_NULL);
    CHECK_INT(out[1].type, KSCAN_ABSENT);
    CHECK_INT(out[2].type, KSCAN_ABSENT);
    CHECK_INT(out[3].type, KSCAN_ABSENT);
    CHECK_INT(out[4].type, KSCAN_NULL);
    doc = " { \"status\" : { \"error\" : null } , \"metadata\" : { } } \n";
    CHECK_INT(kscan(doc, strlen(doc), &spec, out, &sb), 0);
    CHECK_INT(out[0].type, KSCAN_OBJECT);
    CHECK(out[0].n == 18 && memcmp(out[0].s, "{ \"error\" : null }", 18) == 0);
    CHECK_INT(out[1].type, KSCAN_ABSENT);
    CHECK_INT(out[2].type, KSCAN_NULL);
    CHECK_INT(out[4].type, KSCAN_ABSENT);
    doc = "{\"status\":{\"error\":{\"message\":\"m\"}}}";
    CHECK_INT(kscan(doc, strlen(doc), &spec, out, &sb), 0);
    CHECK_INT(out[2].type, KSCAN_OBJECT);
    check_str_val(&out[1], "m");
    same_as_jansson(doc, paths, 5);
}

/* Each kind of value on a path. */
static void
test_values(void)
{
    static const char *const paths[] = {"a", "b", "c", "d", "e", "f", "g"};

    same_as_jansson("{\"a\":0,\"b\":-0,\"c\":-1,\"d\":9223372036854775807,"
                    "\"e\":-9223372036854775808,\"f\":10,\"g\":-1234567890123}",
                    paths, 7);
    same_as_jansson("{\"a\":true,\"b\":false,\"c\":null,\"d\":[],\"e\":{},"
                    "\"f\":[1,[2,{\"x\":\"\\\"\"}]],\"g\":{\"x\":{\"y\":[]}}}",
                    paths, 7);
    same_as_jansson("{\"a\":\"\",\"b\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\","
                    "\"c\":\"\x7f/'\",\"x\":\"\\u0041\",\"y\":1.5e3}",
                    paths, 7);
    same_as_jansson("\t{\r\n\"a\" :\n1 ,\"b\"\t:\t\"x\"\r}\n\t ", paths, 7);
}

/* kscan() declines doc (with the VSC paths, enough scratch). */
static void
declines(const char *doc, size_t n)
{
    struct kscan_val out[N_VSC] = {{0}};
    char buf[512] = {0};
    struct kscan_buf sb = {.p = buf, .cap = sizeof(buf)};

    if (kscan(doc, n, vsc_spec(), out, &sb) != KSCAN_DECLINE) {
        fprintf(stderr, "    taken: %.*s\n", (int)n, doc);
        CHECK(false);
    }
}

static void
declines_str(const char *doc)
{
    declines(doc, strlen(doc));
}

/* ... and takes it (the leniencies of kscan.h). */
static void
takes(const char *doc)
{
    struct kscan_val out[N_VSC] = {{0}};
    char buf[512] = {0};
    struct kscan_buf sb = {.p = buf, .cap = sizeof(buf)};

    if (scan_vsc(doc, out, &sb) != 0) {
        fprintf(stderr, "    declined: %s\n", doc);
        CHECK(false);
    }
}

/* head, depth '[', as many ']', tail: arrays nested in a value. */
static void
nested(char *doc, size_t cap, const char *head, int depth, const char *tail)
{
    size_t len = (size_t)snprintf(doc, cap, "%s", head);

    for (int i = 0; i < depth && len + 1 < cap; i++)
        doc[len++] = '[';
    for (int i = 0; i < depth && len + 1 < cap; i++)
        doc[len++] = ']';
    snprintf(doc + len, cap - len, "%s", tail);
}

static void
test_declines_structure(void)
{
    char doc[256] = {0};

    /* not one object */
    declines_str("");
    declines_str(" \n");
    declines_str("[]");
    declines_str("\"x\"");
    declines_str("null");
    declines_str("{} x");
    declines_str("{}{}");
    declines("{}\0", 3);
    /* nesting deeper than KSKIM_DEPTH (the top level is one) */
    nested(doc, sizeof(doc), "{\"x\":", KSKIM_DEPTH - 1, "}");
    takes(doc);
    nested(doc, sizeof(doc), "{\"x\":", KSKIM_DEPTH, "}");
    declines_str(doc);
    nested(doc, sizeof(doc), "{\"metadata\":{\"finalizers\":", KSKIM_DEPTH - 2, "}}");
    takes(doc);
    nested(doc, sizeof(doc), "{\"metadata\":{\"finalizers\":", KSKIM_DEPTH - 1, "}}");
    declines_str(doc);
    /* a structure the scan refuses */
    declines_str("{");
    declines_str("{\"metadata\":{\"name\":\"a\"}");
    declines_str("{\"a\" 1}");
    declines_str("{\"a\":}");
    declines_str("{\"a\":1,}");
    declines_str("{,}");
    declines_str("{\"a\":1 \"b\":2}");
    declines_str("{\"a\":[1,]}");
    declines_str("{\"a\":[1 2]}");
    declines_str("{\"a\":\"unterminated}");
    declines_str("{a:1}");
}

static void
test_declines_keys(void)
{
    /* a key with an escape or a control character at a level the walk reads */
    declines_str("{\"\\u006detadata\":{\"name\":\"a\"}}");
    declines_str("{\"x\\\"y\":1}");
    declines_str("{\"metadata\":{\"a\\\\\":1}}");
    declines_str("{\"a\tb\":1}");
    declines_str("{\"spec\":{\"source\":{\"x\\u0041\":1}}}");
    /* a member on a path, or on a path's way, twice */
    declines_str("{\"metadata\":{\"name\":\"a\",\"name\":\"a\"}}");
    declines_str("{\"spec\":{},\"spec\":{}}");
    declines_str("{\"status\":null,\"status\":{}}");
    declines_str("{\"status\":{\"error\":{},\"error\":null}}");
}

static void
test_declines_values(void)
{
    /* a string on a path with an escape, a control character, bad UTF-8 */
    declines_str("{\"metadata\":{\"name\":\"a\\nb\"}}");
    declines_str("{\"metadata\":{\"name\":\"a\\\"\"}}");
    declines_str("{\"metadata\":{\"name\":\"\\u0041\"}}");
    declines_str("{\"metadata\":{\"name\":\"a\tb\"}}");
    declines_str("{\"metadata\":{\"name\":\"\x01\"}}");
    declines_str("{\"metadata\":{\"name\":\"\xff\"}}");
    declines_str("{\"metadata\":{\"name\":\"\xc0\x80\"}}");     /* overlong */
    declines_str("{\"metadata\":{\"name\":\"\xed\xa0\x80\"}}"); /* a surrogate */
    declines_str("{\"metadata\":{\"name\":\"\xe2\x82\"}}");     /* cut short */
    static const char nul_in[] = "{\"metadata\":{\"name\":\"a\0b\"}}";
    declines(nul_in, sizeof(nul_in) - 1);
    /* a number on a path that is not an int64 integer */
    declines_str("{\"status\":{\"restoreSize\":1.5}}");
    declines_str("{\"status\":{\"restoreSize\":1e3}}");
    declines_str("{\"status\":{\"restoreSize\":1E3}}");
    declines_str("{\"status\":{\"restoreSize\":0.0}}");
    declines_str("{\"status\":{\"restoreSize\":01}}");
    declines_str("{\"status\":{\"restoreSize\":-01}}");
    declines_str("{\"status\":{\"restoreSize\":9223372036854775808}}");
    declines_str("{\"status\":{\"restoreSize\":-9223372036854775809}}");
    declines_str("{\"status\":{\"restoreSize\":18446744073709551616}}");
    declines_str("{\"status\":{\"restoreSize\":99999999999999999999999}}");
    declines_str("{\"status\":{\"restoreSize\":-}}");
    declines_str("{\"status\":{\"restoreSize\":+1}}");
    declines_str("{\"status\":{\"restoreSize\":.5}}");
    declines_str("{\"status\":{\"restoreSize\":1x}}");
    declines_str("{\"status\":{\"readyToUse\":tru}}");
    declines_str("{\"status\":{\"readyToUse\":truex}}");
    declines_str("{\"status\":{\"readyToUse\":nul}}");
}

static void
test_declines_prefixes(void)
{
    /* a value on a path's way that is neither an object nor null */
    declines_str("{\"spec\":\"x\"}");
    declines_str("{\"spec\":[]}");
    declines_str("{\"spec\":1}");
    declines_str("{\"spec\":true}");
    declines_str("{\"status\":\"x\"}"); /* reported, and on the way of status.error */
    declines_str("{\"spec\":{\"source\":[{\"volumeHandle\":\"h\"}]}}");
}

static void
test_leniency(void)
{
    /* what the scan does not look for: inside values on no path, and among
     * members on no path, as the structure scan reads them */
    takes("{\"x\":{\"a\":1,\"a\":2},\"y\":1,\"y\":[01,\"\\q\",\"\xff\"],\"z\":1.5e999}");
    takes("{\"metadata\":{\"managedFields\":[{\"k\":tru}],\"labels\":{\"\\u0041\":1}}}");
    takes("{\"status\":{\"x\":[\"\\u00\"]}}"); /* status is reported: its span, unread */
}

static void
test_scratch(void)
{
    static const char *const paths[] = {"a", "b"};
    const char *doc = "{\"a\":\"xyz\",\"b\":\"\"}";
    struct kscan_spec spec = {0};
    struct kscan_val out[2] = {{0}};
    char buf[8] = {0};
    struct kscan_buf sb = {.p = buf, .cap = 4};

    CHECK_INT(kscan_compile(&spec, paths, 2), 0);
    CHECK_INT(kscan(doc, strlen(doc), &spec, out, &sb), KSCAN_DECLINE); /* "xyz\0" and "\0" */
    sb.len = 0;
    sb.cap = 5;
    CHECK_INT(kscan(doc, strlen(doc), &spec, out, &sb), 0);
    CHECK_INT(sb.len, 5);
    CHECK(out[0].s == buf && out[1].s == buf + 4);
    CHECK_STR(out[1].s, "");
    sb.len = 1; /* appended to what is there */
    sb.cap = 6;
    CHECK_INT(kscan(doc, strlen(doc), &spec, out, &sb), 0);
    CHECK(out[0].s == buf + 1);
    CHECK_INT(kscan(doc, strlen(doc), &spec, out, NULL), KSCAN_DECLINE); /* no scratch */
    doc = "{\"a\":1,\"b\":{}}";
    CHECK_INT(kscan(doc, strlen(doc), &spec, out, NULL), 0); /* none needed */
}

/* kscan_member() of key in text as an object's span. */
static int
member(const char *text, const char *key, struct kscan_val *v, struct kscan_buf *sb)
{
    struct kscan_val obj = {.type = KSCAN_OBJECT, .s = text, .n = strlen(text)};

    return kscan_member(&obj, key, v, sb);
}

/* kscan_member() on an object's span. */
static void
test_member(void)
{
    static const char *const paths[] = {"metadata.annotations"};
    static const char key[] = "snapshot.storage.kubernetes.io/deletion-secret-name";
    struct kscan_spec spec = {0};
    struct kscan_val ann = {0}, v = {0};
    char buf[256] = {0};
    struct kscan_buf sb = {.p = buf, .cap = sizeof(buf)};

    CHECK_INT(kscan_compile(&spec, paths, 1), 0);
    CHECK_INT(kscan(vsc, strlen(vsc), &spec, &ann, &sb), 0);
    CHECK_INT(ann.type, KSCAN_OBJECT);
    CHECK_INT(kscan_member(&ann, key, &v, &sb), 0);
    check_str_val(&v, "csi-secret");
    CHECK_INT(kscan_member(&ann, "snapshot.storage.kubernetes.io/deletion-secret", &v, &sb), 0);
    CHECK_INT(v.type, KSCAN_ABSENT);
    CHECK_INT(kscan_member(&ann, "", &v, &sb), 0);
    CHECK_INT(v.type, KSCAN_ABSENT);

    CHECK_INT(member("{\"a.b/c\":null,\"x\":1}", "a.b/c", &v, &sb), 0);
    CHECK_INT(v.type, KSCAN_NULL);
    CHECK_INT(member("{ }", "a", &v, &sb), 0);
    CHECK_INT(v.type, KSCAN_ABSENT);
    CHECK_INT(member("{\"\":7}", "", &v, &sb), 0);
    CHECK_INT(v.type, KSCAN_INTEGER);
    CHECK_INT(v.i, 7);
    CHECK_INT(member("{\"a\":{\"b\":[1]},\"c\":[]}", "a", &v, &sb), 0);
    CHECK_INT(v.type, KSCAN_OBJECT);
    CHECK(v.n == 9 && memcmp(v.s, "{\"b\":[1]}", 9) == 0);
    CHECK_INT(member("{\"x\":{\"a\":1,\"a\":2}}", "a", &v, &sb), 0); /* a value of another member */
    CHECK_INT(v.type, KSCAN_ABSENT);
    CHECK_INT(member("{\"a\":1,\"b\":2,\"a\":1}", "a", &v, &sb), KSCAN_DECLINE); /* twice */
    /* a key with an escape (it spells "a.b") */
    CHECK_INT(member("{\"a\\u002eb\":1}", "a.b", &v, &sb), KSCAN_DECLINE);
    CHECK_INT(member("{\"a\":\"\\n\"}", "a", &v, &sb), KSCAN_DECLINE);
    CHECK_INT(member("{\"a\":1.0}", "a", &v, &sb), KSCAN_DECLINE);
    CHECK_INT(member("{\"a\":1,}", "b", &v, &sb), KSCAN_DECLINE);
    CHECK_INT(member("{\"a\":1} ", "a", &v, &sb), KSCAN_DECLINE); /* not a span */
    CHECK_INT(member("{\"a\":1", "a", &v, &sb), KSCAN_DECLINE);
    CHECK_INT(member("[]", "a", &v, &sb), KSCAN_DECLINE);
    struct kscan_val arr = {.type = KSCAN_ARRAY, .s = "{}", .n = 2};
    CHECK_INT(kscan_member(&arr, "a", &v, &sb), KSCAN_DECLINE);
}

/* kscan_next() over text as an array: the results in turn (1, 0 or -1)
 * and the types of the elements read. */
static void
elements(const char *text, const int *rcs, const enum kscan_type *types, size_t n)
{
    struct kscan_val arr = {.type = KSCAN_ARRAY, .s = text, .n = strlen(text)};
    struct kscan_iter it = {0};
    struct kscan_val v = {0};
    char buf[64] = {0};
    struct kscan_buf sb = {.p = buf, .cap = sizeof(buf)};

    kscan_iter_init(&it, &arr);
    for (size_t i = 0; i < n; i++) {
        int rc = kscan_next(&it, &v, &sb);
        CHECK_INT(rc, rcs[i]);
        if (rc == 1)
            CHECK_INT(v.type, types[i]);
    }
}

static void
test_next(void)
{
    struct kscan_val arr = {.type = KSCAN_ARRAY, .s = "[\"a\", \"b\"]", .n = 10};
    struct kscan_iter it = {0};
    struct kscan_val v = {0};
    char buf[16] = {0};
    struct kscan_buf sb = {.p = buf, .cap = sizeof(buf)};

    kscan_iter_init(&it, &arr);
    CHECK_INT(kscan_next(&it, &v, &sb), 1);
    check_str_val(&v, "a");
    CHECK_INT(kscan_next(&it, &v, &sb), 1);
    check_str_val(&v, "b");
    CHECK_INT(kscan_next(&it, &v, &sb), 0);
    CHECK_INT(kscan_next(&it, &v, &sb), 0); /* stays at the end */

    static const int end[] = {0, 0};
    static const enum kscan_type none[] = {KSCAN_ABSENT, KSCAN_ABSENT};
    elements("[]", end, none, 2);
    elements("[ \n ]", end, none, 2);
    static const int three[] = {1, 1, 1, 0};
    static const enum kscan_type mixed[] = {KSCAN_INTEGER, KSCAN_OBJECT, KSCAN_NULL, KSCAN_ABSENT};
    elements("[1,{\"x\":1},null]", three, mixed, 4);
    elements("[ 1 , {\"x\" : 1} , null ]", three, mixed, 4);
    static const enum kscan_type nest[] = {KSCAN_ARRAY, KSCAN_TRUE, KSCAN_STRING, KSCAN_ABSENT};
    elements("[[1,[2]],true,\"\"]", three, nest, 4);

    /* broken arrays: -1 where it breaks, and from then on */
    static const int one_bad[] = {1, -1, -1};
    static const enum kscan_type ints[] = {KSCAN_INTEGER, KSCAN_ABSENT, KSCAN_ABSENT};
    elements("[1,]", one_bad, ints, 3);
    elements("[1 2]", one_bad, ints, 3);
    elements("[1,\"\\n\"]", one_bad, ints, 3);
    elements("[1,2.5]", one_bad, ints, 3);
    elements("[1,{]", one_bad, ints, 3);
    elements("[1,", one_bad, ints, 3);
    elements("[1] ", one_bad, ints, 3); /* not a span: past its ']' */
    static const int bad[] = {-1, -1};
    elements("[,1]", bad, none, 2);
    elements("[", bad, none, 2);
    elements("{}", bad, none, 2);
    arr.type = KSCAN_OBJECT;
    kscan_iter_init(&it, &arr);
    CHECK_INT(kscan_next(&it, &v, &sb), -1);
}

TEST_MAIN(TEST(test_compile_errors), TEST(test_compile_trie), TEST(test_vsc),
          TEST(test_recorded_events), TEST(test_absent_and_null), TEST(test_values),
          TEST(test_declines_structure), TEST(test_declines_keys), TEST(test_declines_values),
          TEST(test_declines_prefixes), TEST(test_leniency), TEST(test_scratch), TEST(test_member),
          TEST(test_next))
