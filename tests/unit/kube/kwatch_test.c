/* Unit tests for watch-stream framing and decoding (kinformer.h), typed
 * JSON reads (kjson.h) and compact view packing (kpack). */
#include "kube/kinformer.h"
#include "kube/kjson.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"
#include "kube/kinternal.h"
#include "tests/lib/harness.h"

struct lines {
    int n;
    char got[16][4096];
    enum kwatch_type types[16];
    int bad;
};

static int
collect(void *ctx, const char *line, size_t len)
{
    struct lines *l = ctx;
    if (l->n < 16) {
        snprintf(l->got[l->n], sizeof(l->got[0]), "%.*s", (int)len, line);
        json_t *obj = NULL;
        if (kwatch_decode(line, len, &l->types[l->n], &obj, NULL) != 0)
            l->bad++;
        json_decref(obj);
    }
    l->n++;
    return 0;
}

static char *
read_fixture(const char *name, size_t *len)
{
    char path[512];
    char *d = NULL;
    snprintf(path, sizeof(path), "%s/kube/watch/%s", harness_data_dir(), name);
    CHECK_INT(kfile_read(path, 1 << 20, &d, len, NULL), 0);
    return d;
}

static void
test_several_events_in_one_chunk(void)
{
    size_t len;
    char *d = read_fixture("events.jsonl", &len);
    struct kwatch_framer f = {0};
    struct lines l = {0};

    kwatch_framer_init(&f, LIM_WATCH_LINE);
    CHECK_INT(kwatch_framer_feed(&f, d, len, collect, &l), 0);
    CHECK_INT(l.n, 5);
    CHECK_INT(l.bad, 0);
    CHECK_INT(l.types[0], KW_ADDED);
    CHECK_INT(l.types[1], KW_MODIFIED);
    CHECK_INT(l.types[2], KW_BOOKMARK);
    CHECK_INT(l.types[3], KW_DELETED);
    CHECK_INT(l.types[4], KW_ERROR);
    CHECK_INT(f.len, 0);
    kwatch_framer_release(&f);
    free(d);
}

static void
test_events_split_across_chunks(void)
{
    size_t len;
    char *d = read_fixture("events.jsonl", &len);

    /* Every chunk size from 1 byte up: the same 5 events come out whole. */
    for (size_t chunk = 1; chunk < 700; chunk += (chunk < 20 ? 1 : 37)) {
        struct kwatch_framer f = {0};
        struct lines l = {0};
        kwatch_framer_init(&f, LIM_WATCH_LINE);
        for (size_t off = 0; off < len; off += chunk) {
            size_t n = len - off < chunk ? len - off : chunk;
            CHECK_INT(kwatch_framer_feed(&f, d + off, n, collect, &l), 0);
        }
        CHECK_INT(l.n, 5);
        CHECK_INT(l.bad, 0);
        CHECK_INT(l.types[3], KW_DELETED);
        kwatch_framer_release(&f);
    }
    free(d);
}

static void
test_partial_tail_and_blank_lines(void)
{
    struct kwatch_framer f = {0};
    struct lines l = {0};
    const char *a = "\n\r\n{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"x\"}}}\n{\"ty";
    const char *b = "pe\":\"DELETED\",\"object\":{}}\r\n";

    kwatch_framer_init(&f, 1024);
    CHECK_INT(kwatch_framer_feed(&f, a, strlen(a), collect, &l), 0);
    CHECK_INT(l.n, 1);
    CHECK_INT(f.len, 4); /* the partial tail "{\"ty" is kept */
    CHECK_INT(kwatch_framer_feed(&f, b, strlen(b), collect, &l), 0);
    CHECK_INT(l.n, 2);
    CHECK_INT(l.types[1], KW_DELETED);
    CHECK_INT(l.bad, 0);
    kwatch_framer_release(&f);
}

static void
test_oversized_line(void)
{
    struct kwatch_framer f = {0};
    struct lines l = {0};
    char big[300];

    memset(big, 'x', sizeof(big));
    kwatch_framer_init(&f, 256);
    /* in one chunk without newline */
    CHECK_INT(kwatch_framer_feed(&f, big, sizeof(big), collect, &l), SC_ETOOBIG);
    /* accumulated over chunks */
    kwatch_framer_release(&f);
    kwatch_framer_init(&f, 256);
    CHECK_INT(kwatch_framer_feed(&f, big, 200, collect, &l), 0);
    CHECK_INT(kwatch_framer_feed(&f, big, 100, collect, &l), SC_ETOOBIG);
    /* a whole long line inside a single chunk */
    big[299] = '\n';
    kwatch_framer_release(&f);
    kwatch_framer_init(&f, 256);
    CHECK_INT(kwatch_framer_feed(&f, big, sizeof(big), collect, &l), SC_ETOOBIG);
    CHECK_INT(l.n, 0);
    kwatch_framer_release(&f);
}

static void
test_decode_bad_shapes(void)
{
    const char *bad[] = {
        "not json",
        "[1,2]",
        "{\"type\":\"ADDED\"}",
        "{\"type\":7,\"object\":{}}",
        "{\"type\":\"ADDED\",\"object\":\"str\"}",
        "{\"type\":\"WHATEVER\",\"object\":{}}",
        "{\"type\":\"ADDED\",\"object\":{},\"type\":\"DELETED\"}", /* duplicate key */
        "{\"type\":\"ADDED\",\"object\":{\"a\":",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        enum kwatch_type t;
        json_t *o = NULL;
        struct sc_err e = {0};
        CHECK(kwatch_decode(bad[i], strlen(bad[i]), &t, &o, &e) != 0);
        CHECK(o == NULL);
        CHECK(e.msg[0] != '\0');
    }
}

static void
test_kjson_typed_reads(void)
{
    const char *doc =
        "{\"metadata\":{\"name\":\"n\",\"namespace\":null,\"generation\":3,\"labels\":"
        "{\"a.b/c\":\"v\"},\"finalizers\":[\"f1\",\"f2\"]},\"spec\":{\"ready\":true,\"n\":7}}";
    json_t *root = NULL;
    struct sc_err e = {0};
    struct kjson r = {0};

    CHECK_INT(kjson_parse(doc, strlen(doc), 4096, &root, &e), 0);
    kjson_init(&r, root, &e);
    CHECK_STR(kjson_str(&r, "metadata.name"), "n");
    CHECK(kjson_str(&r, "metadata.namespace") == NULL); /* null = not set */
    CHECK(kjson_str(&r, "metadata.absent.deeper") == NULL);
    CHECK_INT(kjson_int(&r, "metadata.generation", -1), 3);
    CHECK_INT(kjson_int(&r, "metadata.missing", -1), -1);
    CHECK(kjson_bool(&r, "spec.ready"));
    CHECK_STR(kjson_key_str(&r, kjson_obj(&r, "metadata.labels"), "metadata.labels", "a.b/c"), "v");
    CHECK(kjson_arr_has_str(&r, "metadata.finalizers", "f2"));
    CHECK(!kjson_arr_has_str(&r, "metadata.finalizers", "f3"));
    CHECK_INT(kjson_error(&r), 0);
    /* wrong type: sticky, names the field */
    CHECK(kjson_str(&r, "spec.n") == NULL);
    CHECK_INT(kjson_error(&r), SC_EPROTO);
    CHECK_STR(e.msg, "spec.n: expected string, got integer");
    CHECK(kjson_str(&r, "metadata.name") == NULL); /* sticky */
    CHECK_STR(e.msg, "spec.n: expected string, got integer");
    /* missing required / walking through a non-object */
    kjson_init(&r, root, &e);
    CHECK(kjson_str_req(&r, "spec.absent") == NULL);
    CHECK_STR(e.msg, "spec.absent: missing");
    kjson_init(&r, root, &e);
    CHECK(kjson_str(&r, "spec.n.deeper") == NULL);
    CHECK_STR(e.msg, "spec.n: expected object, got integer");
    json_decref(root);
    /* parse limits */
    CHECK_INT(kjson_parse(doc, strlen(doc), 10, &root, &e), SC_ETOOBIG);
    CHECK_INT(kjson_parse("{\"a\":1,\"a\":2}", 13, 100, &root, &e), SC_EPROTO);
    CHECK_INT(kjson_parse("{", 1, 100, &root, &e), SC_EPROTO);
    /* dump into a capped buffer */
    struct buf b = {0};
    json_t *v = json_pack("{s:s}", "k", "0123456789");
    buf_init(&b, 10);
    CHECK_INT(kjson_dumpb(v, &b, &e), SC_ETOOBIG);
    buf_release(&b);
    buf_init(&b, 100);
    CHECK_INT(kjson_dumpb(v, &b, &e), 0);
    CHECK_STR(buf_str(&b), "{\"k\":\"0123456789\"}");
    buf_release(&b);
    json_decref(v);
}

struct view {
    const char *name, *uid, *pvc;
    int ready;
};

static void
test_kpack(void)
{
    struct kpack p = {0};
    struct view *v = NULL;

    kpack_init(&p, sizeof(struct view));
    kpack_reserve(&p, "snap-1");
    kpack_reserve(&p, NULL);
    kpack_reserve(&p, "pvc-1");
    v = kpack_alloc(&p);
    CHECK(v != NULL);
    v->name = kpack_str(&p, "snap-1");
    v->uid = kpack_str(&p, NULL);
    v->pvc = kpack_str(&p, "pvc-1");
    CHECK_STR(v->name, "snap-1");
    CHECK(v->uid == NULL);
    CHECK_STR(v->pvc, "pvc-1");
    CHECK(kpack_str(&p, "overflow") == NULL); /* more than reserved: refused */
    free(v);
}

TEST_MAIN(TEST(test_several_events_in_one_chunk), TEST(test_events_split_across_chunks),
          TEST(test_partial_tail_and_blank_lines), TEST(test_oversized_line),
          TEST(test_decode_bad_shapes), TEST(test_kjson_typed_reads), TEST(test_kpack))
