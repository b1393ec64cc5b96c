/* Allocation-failure injection for the controller's JSON view parsers, the
 * label selector and the patch builders (controller/cpatch.h): jansson's allocator is
 * replaced (json_set_alloc_funcs) by one that fails the Nth allocation, and
 * each parser / builder runs with N = 1, 2, ... until it no longer hits a
 * failure.  Every failing run must return an error (parsers: a non-OK code,
 * *out untouched, a message; builders: NULL), never crash, and leak nothing
 * (the ASan run checks leaks); the run that succeeds must give exactly what
 * a run without injection gives.  Our own malloc calls (kpack) are not
 * covered here: only jansson's.  Objects: tests/data/controller. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "controller/cpatch.h"
#include "controller/cview.h"
#include "controller/gview.h"
#include "controller/labelsel.h"
#include "controller/sync_int.h"
#include "tests/lib/countdown.h"
#include "tests/lib/harness.h"
#include "tests/lib/jload.h"

/* The failing allocator (test-process state; each test runs in its own
 * child process). */
static struct countdown CD = COUNTDOWN_OFF;

static void *
fail_malloc(size_t n)
{
    return countdown_fails(&CD) ? NULL : malloc(n);
}

/* A parser as one callable: parse obj, return rc; on success *name is a
 * copy of the view's name (free it) and the view is released. */
typedef int parse_fn(const json_t *obj, char **name, struct sc_err *err);

#define PARSER(fn, type)                                                  \
    static int p_##fn(const json_t *obj, char **name, struct sc_err *err) \
    {                                                                     \
        struct type *v = NULL;                                            \
        int rc = fn(obj, &v, err);                                        \
                                                                          \
        if (rc == SC_OK) {                                                \
            *name = strdup(v->m.name ? v->m.name : "");                   \
            CVIEW_UNREF(v);                                               \
        } else if (v != NULL) {                                           \
            check(false, #fn " set *out on failure", __FILE__, __LINE__); \
        }                                                                 \
        return rc;                                                        \
    }
PARSER(cvs_parse, cvs)
PARSER(cvsc_parse, cvsc)
PARSER(cclass_parse, cclass)
PARSER(cpvc_parse, cpvc)
PARSER(cpv_parse, cpv)
PARSER(gvgs_parse, gvgs)
PARSER(gvgsc_parse, gvgsc)
PARSER(gclass_parse, gclass)

/* Run fn on obj failing allocation 1, 2, ...; returns the number of
 * failing runs. */
static int
parse_until_ok(parse_fn *fn, const json_t *obj, const char *what)
{
    struct sc_err err = {0};
    char *want = NULL, *got = NULL;
    int want_rc, rc, runs = 0;

    countdown_disarm(&CD);
    want_rc = fn(obj, &want, &err);
    for (long n = 0; n < 100000; n++) {
        struct sc_err e = {0};

        got = NULL;
        countdown_arm(&CD, n);
        rc = fn(obj, &got, &e);
        countdown_disarm(&CD);
        if (CD.hit == 0) {
            /* no failure reached: the normal result */
            CHECK_INT(rc, want_rc);
            if (rc == SC_OK && want != NULL && got != NULL)
                CHECK_STR(got, want);
            free(got);
            break;
        }
        runs++;
        if (rc == SC_OK) {
            /* a failure that the parser may legitimately absorb (none of
             * ours do): the result must still be right */
            CHECK(got != NULL && want != NULL && strcmp(got, want) == 0);
        } else {
            CHECK(rc < 0);
            if (e.msg[0] == '\0')
                fprintf(stderr, "%s: failing allocation %ld: error %d without a message\n", what, n,
                        rc);
            CHECK(e.msg[0] != '\0');
        }
        free(got);
    }
    free(want);
    return runs;
}

/* Every object named in keys (of the recorded file rel) through its
 * parser in fns, with jansson failing; the failures injected in all. */
static int
views_until_ok(const char *rel, const char *const *keys, parse_fn *const *fns, size_t n)
{
    json_t *all = jload(rel);
    int total = 0;

    CHECK(all != NULL);
    json_set_alloc_funcs(fail_malloc, free);
    for (size_t i = 0; i < n; i++) {
        const json_t *o = json_object_get(all, keys[i]);

        CHECK(o != NULL);
        total += parse_until_ok(fns[i], o, keys[i]);
    }
    json_set_alloc_funcs(malloc, free);
    json_decref(all);
    return total;
}

static void
test_snapshot_views(void)
{
    static const char *const keys[] = {"vs-dynamic", "vsc-dynamic-ready", "class-default",
                                       "pvc-bound", "pv-csi"};
    static parse_fn *const fns[] = {p_cvs_parse, p_cvsc_parse, p_cclass_parse, p_cpvc_parse,
                                    p_cpv_parse};
    int total = views_until_ok("controller/objects.json", keys, fns, SC_ARRAY_LEN(keys));

    /* These views copy strings with kpack (our malloc), not jansson: 0 is
     * the expected count today; the loop still proves a failure there
     * would be handled. */
    fprintf(stderr, "snapshot views: %d failing allocations injected\n", total);
}

static void
test_group_views(void)
{
    static const char *const keys[] = {"vgs-selector", "vgs-static", "vgsc-dynamic", "vgsc-static",
                                       "gclass"};
    static parse_fn *const fns[] = {p_gvgs_parse, p_gvgs_parse, p_gvgsc_parse, p_gvgsc_parse,
                                    p_gclass_parse};
    int total = views_until_ok("controller/group/objects.json", keys, fns, SC_ARRAY_LEN(keys));

    fprintf(stderr, "group views: %d failing allocations injected\n", total);
    CHECK(total > 0);
}

static int
p_labelsel(const json_t *obj, char **name, struct sc_err *err)
{
    struct labelsel *s = NULL;
    struct buf b = {0};
    int rc = labelsel_parse(obj, &s, err);

    if (rc != SC_OK)
        return rc;
    buf_init(&b, LABELSEL_MAX_TEXT);
    rc = labelsel_query(s, &b);
    if (rc == SC_OK)
        *name = strdup(buf_str(&b));
    else
        sc_err_set(err, rc, "query");
    buf_release(&b);
    labelsel_free(s);
    return rc;
}

static void
test_label_selector(void)
{
    json_t *sel = json_loads("{\"matchLabels\":{\"app\":\"db\",\"tier\":\"data\"},"
                             "\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"In\","
                             "\"values\":[\"b\",\"a\"]},{\"key\":\"x\",\"operator\":\"Exists\"}]}",
                             0, NULL);

    CHECK(sel != NULL);
    json_set_alloc_funcs(fail_malloc, free);
    /* The selector copies what it needs with our allocator, so jansson
     * failures may not be reached at all: either way nothing breaks. */
    fprintf(stderr, "label selector: %d failing allocations injected\n",
            parse_until_ok(p_labelsel, sel, "selector"));
    json_set_alloc_funcs(malloc, free);
    json_decref(sel);
}

/* The patch builders (controller/cpatch.h), each as one callable on the
 * recorded snapshot vs-dynamic. */
static json_t *
b_add_fins(const struct cvs *vs)
{
    static const char *const add[] = {FIN_VS_BOUND, FIN_VS_SOURCE};

    return cpatch_add_finalizers(&vs->m, add, 2);
}

static json_t *
b_add_fins_existing(const struct cvs *vs)
{
    static const char *const add[] = {FIN_VS_BOUND, FIN_VS_SOURCE};
    struct cmeta m = vs->m;

    m.n_fins = 1; /* one "add .../-" each */
    return cpatch_add_finalizers(&m, add, 2);
}

static json_t *
b_remove_fins(const struct cvs *vs)
{
    struct cmeta m = vs->m;

    /* as if metadata.finalizers were [other, source, bound] */
    m.fins = CFIN_VS_SOURCE | CFIN_VS_BOUND;
    m.n_fins = 3;
    m.fin_idx[0] = 1;
    m.fin_idx[1] = 2;
    return cpatch_remove_finalizers(&m, m.fins);
}

static json_t *
b_remove_at(const struct cvs *vs)
{
    (void)vs;
    return cpatch_remove_finalizer_at(1, FIN_VGS_BOUND);
}

/* The owner-reference patch of group_sync.c: test, then add a list. */
static json_t *
b_ops(const struct cvs *vs)
{
    struct cpatch p = {0};

    cpatch_begin(&p);
    cpatch_test(&p, "/metadata/resourceVersion", vs->m.rv);
    cpatch_add(&p, "/metadata/ownerReferences",
               json_pack("[{s:s,s:s}]", "kind", "VolumeGroupSnapshot", "uid", vs->m.uid));
    cpatch_remove(&p, "/metadata/labels");
    return cpatch_end(&p);
}

/* A status merge patch the way status_patch() builds one. */
static json_t *
b_merge(const struct cvs *vs)
{
    json_t *p = cpatch_merge("status.boundVolumeSnapshotContentName", json_string(vs->m.name));

    cpatch_set(&p, "status.readyToUse", json_true());
    cpatch_set(&p, "status.error.message", json_string("boom"));
    cpatch_set(&p, "status.error.time", json_string("2025-11-22T02:00:00Z"));
    cpatch_put(&p, json_object_get(p, "status"), "restoreSize", json_string("1Gi"));
    return p;
}

static json_t *
b_error_status(const struct cvs *vs)
{
    return cpatch_error_status(vs->m.name, "2025-11-22T02:00:00Z", true);
}

static json_t *
b_annotation(const struct cvs *vs)
{
    (void)vs;
    return cpatch_annotation(ANN_BEING_DELETED, "yes");
}

/* Run build with the Nth allocation failing, N = 0, 1, ...: NULL (the
 * caller requeues) until it no longer hits a failure, then exactly the
 * patch a run without injection gives.  Returns the failing runs. */
static int
build_until_ok(json_t *(*build)(const struct cvs *), const struct cvs *vs, const char *what)
{
    json_t *want = build(vs);
    int runs = 0;

    CHECK(want != NULL);
    json_set_alloc_funcs(fail_malloc, free);
    for (long n = 0; n < 100000; n++) {
        json_t *got;

        countdown_arm(&CD, n);
        got = build(vs);
        countdown_disarm(&CD);
        if (CD.hit == 0) {
            CHECK(got != NULL && json_equal(got, want));
            json_decref(got);
            break;
        }
        runs++;
        /* a patch built despite a failed allocation would be wrong */
        if (got != NULL)
            fprintf(stderr, "%s: a patch despite failed allocation %ld\n", what, n);
        CHECK(got == NULL);
        json_decref(got);
    }
    json_set_alloc_funcs(malloc, free);
    json_decref(want);
    fprintf(stderr, "%s: %d failing allocations injected\n", what, runs);
    return runs;
}

/* Every builder gives NULL or exactly the patch, never part of one. */
static void
test_patch_builders(void)
{
    static const struct {
        json_t *(*build)(const struct cvs *);
        const char *what;
    } builders[] = {
        {b_add_fins, "add finalizers (new list)"},
        {b_add_fins_existing, "add finalizers (append)"},
        {b_remove_fins, "remove finalizers"},
        {b_remove_at, "remove one finalizer"},
        {b_ops, "JSON patch ops"},
        {b_merge, "merge patch"},
        {b_error_status, "error status"},
        {b_annotation, "annotation"},
    };
    json_t *all = jload("controller/objects.json");
    struct cvs *vs = NULL;
    struct sc_err err = {0};
    size_t i;

    CHECK(all != NULL);
    CHECK_INT(cvs_parse(json_object_get(all, "vs-dynamic"), &vs, &err), SC_OK);
    if (vs == NULL) {
        json_decref(all);
        return;
    }
    for (i = 0; i < SC_ARRAY_LEN(builders); i++)
        CHECK(build_until_ok(builders[i].build, vs, builders[i].what) > 0);
    CVIEW_UNREF(vs);
    json_decref(all);
}

TEST_MAIN(TEST(test_snapshot_views), TEST(test_group_views), TEST(test_label_selector),
          TEST(test_patch_builders))
