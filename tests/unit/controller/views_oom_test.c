/* Our own allocations failing in the controller's parsers: the snapshot
 * views (cvs, cvsc, cclass, cpvc, cpv: the view by calloc, its strings by
 * cpack), the group views (gvgs, gvgsc, gclass), cpack itself and the label
 * selector (strdup / calloc per requirement).  Each runs with the 1st, 2nd,
 * ... of its allocations failing (tests/lib/failalloc.h): a failing run must
 * return an error code with a message and leave *out NULL, never crash or
 * leak (the ASan run); a run that succeeds must give exactly what a run
 * without injection gives.  jansson's allocations: alloc_fail_test.c.
 * Objects: tests/data/controller. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "controller/cpack.h"
#include "controller/crec.h"
#include "controller/cstore.h"
#include "controller/cview.h"
#include "controller/gview.h"
#include "controller/labelsel.h"
#include "tests/lib/failalloc.h"
#include "tests/lib/harness.h"

#define FP_MAX (1u << 20) /* fingerprint of one view */

enum kind { K_CVS, K_CVSC, K_CCLASS, K_CPVC, K_CPV, K_GVGS, K_GVGSC, K_GCLASS };

struct view_ctx {
    const char *what;
    enum kind kind;
    const json_t *obj;
    struct sc_err err;
    struct cmeta *m; /* the view a run gave, or NULL */
    struct buf want; /* fingerprint of the run without injection */
    int bad_out;     /* a failing run set the view */
};

/* Each parser as one signature: the view comes back as its cmeta. */
typedef int parse_fn(const json_t *obj, struct cmeta **m, struct sc_err *err);

#define PARSE_AS(fn, type)                                                     \
    static int p_##fn(const json_t *obj, struct cmeta **m, struct sc_err *err) \
    {                                                                          \
        struct type *v = NULL;                                                 \
        int rc = fn(obj, &v, err);                                             \
                                                                               \
        *m = v != NULL ? &v->m : NULL;                                         \
        return rc;                                                             \
    }
PARSE_AS(cvs_parse, cvs)
PARSE_AS(cvsc_parse, cvsc)
PARSE_AS(cclass_parse, cclass)
PARSE_AS(cpvc_parse, cpvc)
PARSE_AS(cpv_parse, cpv)
PARSE_AS(gvgs_parse, gvgs)
PARSE_AS(gvgsc_parse, gvgsc)
PARSE_AS(gclass_parse, gclass)

static parse_fn *const parsers[] = {
    [K_CVS] = p_cvs_parse,     [K_CVSC] = p_cvsc_parse,     [K_CCLASS] = p_cclass_parse,
    [K_CPVC] = p_cpvc_parse,   [K_CPV] = p_cpv_parse,       [K_GVGS] = p_gvgs_parse,
    [K_GVGSC] = p_gvgsc_parse, [K_GCLASS] = p_gclass_parse,
};

/* What a view holds: its metadata, every string of its block, the JSON it
 * keeps (group views) and its size. */
static void
fingerprint(const struct cmeta *m, struct buf *out)
{
    char *extra = m->extra != NULL ? json_dumps(m->extra, JSON_SORT_KEYS) : NULL;
    int rc = buf_addf(out, "%s/%s uid=%s rv=%s del=%d fins=%u/%u size=%u extra=%s block=",
                      m->ns ? m->ns : "-", m->name, m->uid ? m->uid : "-", m->rv ? m->rv : "-",
                      m->deleting, m->fins, m->n_fins, m->size, extra ? extra : "-");

    if (rc == SC_OK && m->block_len > 0) /* the strings after the struct */
        rc = buf_add(out, (const char *)m + m->size, m->block_len);
    CHECK_INT(rc, SC_OK);
    free(extra);
}

static int
view_run(void *p)
{
    struct view_ctx *c = p;

    memset(&c->err, 0, sizeof(c->err));
    return parsers[c->kind](c->obj, &c->m, &c->err);
}

static void
view_check(void *p, int rc, bool failed)
{
    struct view_ctx *c = p;
    struct buf got = {0};

    if (rc == SC_OK) {
        /* a success, even one that absorbed a failure, must be exact */
        buf_init(&got, FP_MAX);
        CHECK(c->m != NULL);
        if (c->m != NULL)
            fingerprint(c->m, &got);
        CHECK(got.len == c->want.len && memcmp(buf_str(&got), buf_str(&c->want), got.len) == 0);
        buf_release(&got);
    } else {
        CHECK(failed && rc < 0);
        if (c->err.msg[0] == '\0')
            fprintf(stderr, "%s: error %d without a message\n", c->what, rc);
        CHECK(c->err.msg[0] != '\0');
        if (c->m != NULL)
            c->bad_out++;
    }
    cview_unref(c->m);
    c->m = NULL;
}

static long
sweep_view(const char *file, const char *key, enum kind k)
{
    char path[1024];
    json_t *all;
    struct view_ctx c = {0};
    struct failalloc_case fc = {key, view_run, view_check, &c};
    long points = 0;

    snprintf(path, sizeof(path), "%s/controller/%s", harness_data_dir(), file);
    all = json_load_file(path, 0, NULL);
    CHECK(all != NULL);
    c.what = key;
    c.kind = k;
    c.obj = json_object_get(all, key);
    CHECK(c.obj != NULL);
    buf_init(&c.want, FP_MAX);
    if (c.obj != NULL && view_run(&c) == SC_OK && c.m != NULL) {
        fingerprint(c.m, &c.want);
        cview_unref(c.m);
        c.m = NULL;
        points = failalloc_sweep(&fc);
    } else {
        CHECK(false);
    }
    CHECK_INT(c.bad_out, 0);
    fprintf(stderr, "%s: %ld failure points\n", key, points);
    buf_release(&c.want);
    json_decref(all);
    return points;
}

static void
test_snapshot_views(void)
{
    static const struct {
        const char *key;
        enum kind k;
    } cases[] = {{"vs-dynamic", K_CVS}, {"vsc-dynamic-ready", K_CVSC}, {"class-default", K_CCLASS},
                 {"pvc-bound", K_CPVC}, {"pvc-pending", K_CPVC},       {"pv-csi", K_CPV}};

    for (size_t i = 0; i < SC_ARRAY_LEN(cases); i++)
        /* the view itself, then its string block: two allocations each */
        CHECK_INT(sweep_view("objects.json", cases[i].key, cases[i].k), 2);
}

static void
test_group_views(void)
{
    static const struct {
        const char *key;
        enum kind k;
    } cases[] = {{"vgs-selector", K_GVGS},
                 {"vgs-static", K_GVGS},
                 {"vgsc-dynamic", K_GVGSC},
                 {"vgsc-static", K_GVGSC},
                 {"gclass", K_GCLASS}};

    for (size_t i = 0; i < SC_ARRAY_LEN(cases); i++)
        CHECK(sweep_view("group/objects.json", cases[i].key, cases[i].k) >= 1);
}

/* cpack_commit: a failure leaves the view where it was and every field on
 * its borrowed string. */
struct pack_view {
    const char *a, *b, *c;
};

struct pack_ctx {
    struct pack_view *v;
    unsigned len;
    struct sc_err err;
};

static int
pack_run(void *p)
{
    struct pack_ctx *x = p;
    struct cpack pk = {0};
    void *base = NULL;
    int rc;

    memset(&x->err, 0, sizeof(x->err));
    x->len = 0;
    x->v = calloc(1, sizeof(*x->v));
    if (x->v == NULL)
        return sc_err_set(&x->err, SC_ENOMEM, "out of memory");
    x->v->a = "alpha";
    x->v->c = "gamma";
    cpack_add(&pk, &x->v->a);
    cpack_add(&pk, &x->v->b);
    cpack_add(&pk, &x->v->c);
    base = x->v;
    rc = cpack_commit(&pk, &base, sizeof(*x->v), &x->len, &x->err);
    x->v = base; /* moved on success, unchanged on failure */
    return rc;
}

static void
pack_check(void *p, int rc, bool failed)
{
    struct pack_ctx *x = p;
    const char *block = (const char *)x->v + sizeof(*x->v);

    if (x->v != NULL) {
        CHECK_STR(x->v->a, "alpha");
        CHECK(x->v->b == NULL);
        CHECK_STR(x->v->c, "gamma");
    }
    if (rc == SC_OK) {
        CHECK(x->v != NULL && x->len == 12 && x->v->a == block && x->v->c == block + 6);
    } else {
        CHECK(failed && rc == SC_ENOMEM && x->len == 0);
        CHECK(x->err.msg[0] != '\0');
    }
    free(x->v);
    x->v = NULL;
}

static void
test_cpack(void)
{
    struct pack_ctx x = {0};
    struct failalloc_case fc = {"cpack", pack_run, pack_check, &x};

    CHECK_INT(failalloc_sweep(&fc), 2); /* the view, then its growth */
}

/* The label selector: a parse that succeeds renders and matches exactly as
 * without injection. */
struct sel_ctx {
    json_t *sel;
    json_t *labels[3];
    struct labelsel *s;
    struct sc_err err;
    char want[LABELSEL_MAX_TEXT];
    bool want_match[3];
};

static int
sel_run(void *p)
{
    struct sel_ctx *c = p;

    memset(&c->err, 0, sizeof(c->err));
    return labelsel_parse(c->sel, &c->s, &c->err);
}

/* The rendering of c->s, and whether it matches each label set. */
static void
sel_render(struct sel_ctx *c, char *text, bool *match)
{
    struct buf b = {0};

    buf_init(&b, LABELSEL_MAX_TEXT);
    CHECK_INT(labelsel_query(c->s, &b), SC_OK);
    snprintf(text, LABELSEL_MAX_TEXT, "%s", buf_str(&b));
    buf_release(&b);
    for (size_t i = 0; i < SC_ARRAY_LEN(c->labels); i++)
        match[i] = labelsel_match(c->s, c->labels[i]);
}

static void
sel_check(void *p, int rc, bool failed)
{
    struct sel_ctx *c = p;
    char text[LABELSEL_MAX_TEXT];
    bool match[3] = {false, false, false};

    if (rc == SC_OK) {
        CHECK(c->s != NULL);
        if (c->s != NULL)
            sel_render(c, text, match);
        CHECK_STR(text, c->want);
        CHECK(memcmp(match, c->want_match, sizeof(match)) == 0);
    } else {
        CHECK(failed && rc == SC_ENOMEM && c->s == NULL);
        CHECK(c->err.msg[0] != '\0');
    }
    labelsel_free(c->s);
    c->s = NULL;
}

/* labelsel_query into a buffer whose growth fails: SC_ENOMEM or the text. */
static int
query_run(void *p)
{
    struct sel_ctx *c = p;
    struct buf b = {0};
    int rc;

    buf_init(&b, LABELSEL_MAX_TEXT);
    rc = labelsel_query(c->s, &b);
    if (rc == SC_OK && strcmp(buf_str(&b), c->want) != 0)
        rc = SC_EPROTO; /* a wrong rendering */
    buf_release(&b);
    return rc;
}

static void
query_check(void *p, int rc, bool failed)
{
    (void)p;
    CHECK(rc == SC_OK || (failed && rc == SC_ENOMEM));
}

static void
test_label_selector(void)
{
    struct sel_ctx c = {0};
    struct failalloc_case fc = {"labelsel_parse", sel_run, sel_check, &c};
    struct failalloc_case fq = {"labelsel_query", query_run, query_check, &c};
    long points;

    c.sel = json_loads("{\"matchLabels\":{\"app\":\"db\",\"tier\":\"data\"},"
                       "\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"In\","
                       "\"values\":[\"b\",\"a\",\"b\"]},{\"key\":\"x\",\"operator\":\"Exists\"},"
                       "{\"key\":\"env\",\"operator\":\"NotIn\",\"values\":[\"dev\"]},"
                       "{\"key\":\"old\",\"operator\":\"DoesNotExist\"}]}",
                       0, NULL);
    c.labels[0] =
        json_loads("{\"app\":\"db\",\"tier\":\"data\",\"zone\":\"a\",\"x\":\"\"}", 0, NULL);
    c.labels[1] =
        json_loads("{\"app\":\"db\",\"tier\":\"data\",\"zone\":\"c\",\"x\":\"\"}", 0, NULL);
    c.labels[2] = json_loads("{\"app\":\"db\",\"tier\":\"data\",\"zone\":\"b\",\"x\":\"1\","
                             "\"env\":\"dev\"}",
                             0, NULL);
    CHECK(c.sel != NULL && c.labels[0] != NULL && c.labels[1] != NULL && c.labels[2] != NULL);
    CHECK_INT(sel_run(&c), SC_OK);
    if (c.s == NULL)
        return;
    sel_render(&c, c.want, c.want_match);
    CHECK_STR(c.want, "app=db,env notin (dev),!old,tier=data,x,zone in (a,b)");
    CHECK(c.want_match[0] && !c.want_match[1] && !c.want_match[2]);
    points = failalloc_sweep(&fq);
    fprintf(stderr, "labelsel_query: %ld failure points\n", points);
    CHECK(points >= 1);
    labelsel_free(c.s);
    c.s = NULL;
    points = failalloc_sweep(&fc);
    fprintf(stderr, "labelsel_parse: %ld failure points\n", points);
    /* the selector, its requirements, and per requirement a key, a value
     * array and each value (6 in all) */
    CHECK_INT(points, 2 + 6 * 2 + 6);
    json_decref(c.sel);
    for (size_t i = 0; i < SC_ARRAY_LEN(c.labels); i++)
        json_decref(c.labels[i]);
}

/* Records (controller/crec.h): making one fails with SC_ENOMEM and nothing
 * made; a store read whose view cannot be made returns NULL and is counted
 * (cstore_failures), and the record stays for the next read. */
struct rec_ctx {
    struct cvs *v;
    void *rec;
    struct sc_err err;
};

static int
rec_run(void *p)
{
    struct rec_ctx *x = p;

    memset(&x->err, 0, sizeof(x->err));
    return crec_make(&x->v->m, CREC_VS, NULL, &x->rec, &x->err);
}

static void
rec_check(void *p, int rc, bool failed)
{
    struct rec_ctx *x = p;

    if (!failed) {
        CHECK_INT(rc, 0);
        CHECK(x->rec != NULL && crec_bytes(x->rec) > 0);
    } else {
        CHECK(rc == SC_ENOMEM && x->rec == NULL && x->err.msg[0] != '\0');
    }
    free(x->rec);
    x->rec = NULL;
}

static void
test_records(void)
{
    json_t *o = json_pack("{s:{s:s,s:s,s:s,s:s},s:{s:{s:s}}}", "metadata", "name", "snap-1",
                          "namespace", "ns-1", "uid", "u-1", "resourceVersion", "12", "spec",
                          "source", "persistentVolumeClaimName", "claim-1");
    struct rec_ctx x = {0};
    struct failalloc_case fc = {"crec_make", rec_run, rec_check, &x};
    struct cstore *s = cstore_new();
    struct cmeta *m = NULL;

    CHECK(o != NULL && s != NULL);
    CHECK_INT(cvs_parse(o, &x.v, NULL), 0);
    if (x.v == NULL || s == NULL)
        goto out;
    CHECK_INT(failalloc_sweep(&fc), 1);
    CHECK_INT(cstore_use_records(s, CREC_VS, NULL), 0);
    CHECK_INT(cstore_put(s, cview_ref(&x.v->m), true), CSTORE_ADDED);
    failalloc_arm(0, false);
    m = cstore_get(s, "ns-1/snap-1");
    CHECK_INT(failalloc_disarm(), 1);
    CHECK(m == NULL);
    CHECK_INT((long long)cstore_failures(s), 1);
    m = cstore_get(s, "ns-1/snap-1");
    CHECK(m != NULL && strcmp(((const struct cvs *)m)->pvc, "claim-1") == 0);
    cview_unref(m);
    CHECK_INT((long long)cstore_failures(s), 1);
out:
    CVIEW_UNREF(x.v);
    cstore_free(s);
    json_decref(o);
}

TEST_MAIN(TEST(test_snapshot_views), TEST(test_group_views), TEST(test_cpack), TEST(test_records),
          TEST(test_label_selector))
