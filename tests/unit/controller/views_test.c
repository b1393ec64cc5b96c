/* Go-compatible formatting, compact views, the RV-monotonic store, metric
 * number formatting and secret templates. */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "controller/cmetrics.h"
#include "controller/cstore.h"
#include "controller/cview.h"
#include "controller/gostr.h"
#include "controller/sync.h"
#include "kube/kclient.h"
#include "kube/kinformer.h"
#include "tests/lib/harness.h"

static const char *
q(const char *s, struct buf *b)
{
    buf_reset(b);
    if (gostr_quote(b, s) != 0)
        return "<error>";
    return buf_str(b);
}

static void
test_go_quote(void)
{
    struct buf b = {0};

    buf_init(&b, 4096);
    CHECK_STR(q("plain", &b), "\"plain\"");
    CHECK_STR(q("a \"b\" \\c", &b), "\"a \\\"b\\\" \\\\c\"");
    CHECK_STR(q("tab\there\nnl\r\a\b\f\v", &b), "\"tab\\there\\nnl\\r\\a\\b\\f\\v\"");
    CHECK_STR(q("\x01\x7f", &b), "\"\\x01\\x7f\"");
    CHECK_STR(q("caf\xc3\xa9", &b), "\"caf\xc3\xa9\""); /* printable UTF-8 kept */
    CHECK_STR(q("bad\xff", &b), "\"bad\\xff\"");        /* invalid UTF-8 */
    CHECK_STR(q("\xc2\x85", &b), "\"\\u0085\"");        /* C1 control */
    CHECK_STR(q("\xe2\x80\xa8", &b), "\"\\u2028\"");    /* line separator */
    CHECK_STR(q("", &b), "\"\"");
    buf_release(&b);
}

static void
test_go_quote_cap(void)
{
    struct buf b = {0};

    buf_init(&b, 8);
    CHECK(gostr_quote(&b, "much too long for eight") == SC_ETOOBIG);
    CHECK_INT(b.len, 0);
    buf_release(&b);
}

static const char *
qty(int64_t v, struct buf *b)
{
    buf_reset(b);
    if (gostr_quantity_binsi(b, v) != 0)
        return "<error>";
    return buf_str(b);
}

static void
test_quantity(void)
{
    struct buf b = {0};

    buf_init(&b, 64);
    CHECK_STR(qty(1073741824, &b), "1Gi");
    CHECK_STR(qty(1000, &b), "1000");
    CHECK_STR(qty(1536, &b), "1536");
    CHECK_STR(qty(0, &b), "0");
    CHECK_STR(qty(1024, &b), "1Ki");
    CHECK_STR(qty(5 * 1048576LL, &b), "5Mi");
    CHECK_STR(qty(1099511627776LL * 3, &b), "3Ti");
    buf_release(&b);
}

static void
test_parse_wrong_types(void)
{
    json_t *o = json_pack("{s:s,s:{s:s,s:s,s:s},s:{s:{s:i}}}", "kind", "VolumeSnapshot", "metadata",
                          "name", "a", "namespace", "ns", "uid", "u", "spec", "source",
                          "persistentVolumeClaimName", 7);
    struct cvs *v = NULL;
    struct sc_err err = {0};

    CHECK(cvs_parse(o, &v, &err) == SC_EPROTO);
    CHECK_STR(err.msg, "spec.source.persistentVolumeClaimName: expected string, got integer");
    CHECK(v == NULL);
    json_decref(o);
    o = json_pack("{s:{s:s,s:s},s:s}", "metadata", "name", "a", "namespace", "ns", "spec", "x");
    CHECK(cvs_parse(o, &v, &err) == SC_EPROTO);
    CHECK_STR(err.msg, "spec: expected object, got string");
    json_decref(o);
    o = json_pack("{s:{s:s}}", "metadata", "namespace", "ns");
    CHECK(cvs_parse(o, &v, &err) == SC_EPROTO);
    CHECK_STR(err.msg, "metadata.name: required field is missing");
    json_decref(o);
    o = json_pack("[]");
    CHECK(cvs_parse(o, &v, &err) == SC_EPROTO);
    json_decref(o);
}

static void
test_parse_nulls_and_finalizers(void)
{
    json_t *o = json_pack("{s:{s:s,s:s,s:s,s:s,s:[s,s,s]},s:{s:{s:s,s:n},s:n},s:{s:b,s:s}}",
                          "metadata", "name", "a", "namespace", "ns", "uid", "u", "resourceVersion",
                          "12", "finalizers", "x/other", FIN_VS_BOUND, FIN_VS_SOURCE, "spec",
                          "source", "persistentVolumeClaimName", "pvc", "volumeSnapshotContentName",
                          "volumeSnapshotClassName", "status", "readyToUse", 0, "restoreSize", "0");
    struct cvs *v = NULL;

    CHECK_INT(cvs_parse(o, &v, NULL), 0);
    CHECK(v->has_pvc && !v->has_content && v->class_name == NULL);
    CHECK_INT(v->ready, TRI_FALSE);
    CHECK(v->restore_zero);
    CHECK_INT(v->m.n_fins, 3);
    CHECK_INT(cview_fin_index(&v->m, CFIN_VS_BOUND), 1);
    CHECK_INT(cview_fin_index(&v->m, CFIN_VS_SOURCE), 2);
    CHECK_INT(cview_fin_index(&v->m, CFIN_VS_INGROUP), -1);
    CHECK(cview_bytes(&v->m) < 400);
    json_decref(o); /* the view owns copies */
    CHECK_STR(v->pvc, "pvc");
    CVIEW_UNREF(v);
}

static struct cmeta *
vs_rv(const char *rv)
{
    json_t *o = json_pack("{s:{s:s,s:s,s:s}}", "metadata", "name", "a", "namespace", "ns",
                          "resourceVersion", rv);
    struct cvs *v = NULL;

    if (cvs_parse(o, &v, NULL) != 0)
        abort();
    json_decref(o);
    return &v->m;
}

/* The store's rule, the same standalone and over an informer. */
static void
check_rv_rule(struct cstore *s)
{
    struct cmeta *m = NULL;

    CHECK_INT(cstore_put(s, vs_rv("2"), false), CSTORE_ADDED);
    CHECK_INT(cstore_put(s, vs_rv("10"), false), CSTORE_REPLACED); /* numeric, not lexical */
    CHECK_INT(cstore_put(s, vs_rv("9"), false), CSTORE_STALE);
    CHECK_INT(cstore_put(s, vs_rv("10"), false), CSTORE_REPLACED); /* same RV passes */
    CHECK_INT(cstore_put(s, vs_rv("x1"), false), CSTORE_STALE);    /* non-numeric skipped */
    m = cstore_get(s, "ns/a");
    CHECK(m != NULL && strcmp(m->rv, "10") == 0);
    cview_unref(m);
    CHECK_INT(cstore_len(s), 1);
    m = cstore_del(s, "ns/a");
    CHECK(m != NULL);
    cview_unref(m);
    CHECK(cstore_get(s, "ns/a") == NULL);
}

static void
test_store_rv_rule(void)
{
    struct cstore *s = cstore_new();

    check_rv_rule(s);
    cstore_free(s);
}

static int
count_view(const struct cmeta *m, void *arg)
{
    *(int *)arg += strcmp(m->name, "a") == 0;
    return 0;
}

/* One store per kind: an attached store keeps its views in the informer's
 * table, under the same rule. */
static void
test_store_attached(void)
{
    struct kconfig cfg = {.server = "https://127.0.0.1:1"};
    struct kinformer_opts o = {0};
    struct kclient *c = kclient_new(&cfg, NULL, NULL);
    struct kinformer *inf = NULL;
    struct cstore *s = cstore_new();
    struct kitem *it = NULL;
    int n = 0;

    o.path = "/apis/snapshot.storage.k8s.io/v1/volumesnapshots";
    o.parse = cstore_parse_vs;
    o.free_view = cstore_free_view;
    o.keep_newer = true;
    inf = kinformer_new(c, &o, NULL);
    CHECK(inf != NULL);
    CHECK(cstore_informer(s) == NULL);
    CHECK_INT(cstore_attach(s, inf), 0);
    CHECK_INT(cstore_attach(s, inf), SC_EINVALID);
    CHECK(cstore_informer(s) == inf);
    check_rv_rule(s);
    CHECK_INT(kinformer_len(inf), 0);
    CHECK_INT(cstore_put(s, vs_rv("7"), false), CSTORE_ADDED);
    it = kinformer_get(inf, "ns/a"); /* the same view, cached once */
    CHECK(it != NULL && kitem_local(it) &&
          strcmp(((const struct cmeta *)kitem_view(it))->rv, "7") == 0);
    kitem_release(it);
    cstore_each(s, count_view, &n);
    CHECK_INT(n, 1);
    CHECK(cstore_bytes(s) > kinformer_bytes(inf)); /* the items plus the views */
    cstore_free(s);                                /* the views stay the informer's */
    CHECK_INT(kinformer_len(inf), 1);
    kinformer_free(inf);
    kclient_free(c);
}

static void
test_store_many(void)
{
    struct cstore *s = cstore_new();
    char name[32];
    int i;

    for (i = 0; i < 5000; i++) {
        json_t *o;
        struct cvs *v = NULL;

        snprintf(name, sizeof(name), "s%d", i);
        o = json_pack("{s:{s:s,s:s,s:s}}", "metadata", "name", name, "namespace", "ns",
                      "resourceVersion", "1");
        if (cvs_parse(o, &v, NULL) != 0)
            abort();
        json_decref(o);
        CHECK_INT(cstore_put(s, &v->m, false), CSTORE_ADDED);
    }
    CHECK_INT(cstore_len(s), 5000);
    for (i = 0; i < 5000; i += 499) {
        struct cmeta *m = NULL;

        snprintf(name, sizeof(name), "ns/s%d", i);
        m = cstore_get(s, name);
        CHECK(m != NULL);
        cview_unref(m);
    }
    cstore_free(s);
}

static const char *
ff(double v, char *b)
{
    cmetrics_fmt_float(v, b, 40);
    return b;
}

static void
test_metric_floats(void)
{
    char b[40];

    CHECK_STR(ff(0.1, b), "0.1");
    CHECK_STR(ff(2.5, b), "2.5");
    CHECK_STR(ff(600, b), "600");
    CHECK_STR(ff(0, b), "0");
    CHECK_STR(ff(1763776800.5, b), "1.7637768005e+09");
    CHECK_STR(ff(123456, b), "123456");
    CHECK_STR(ff(1234567, b), "1.234567e+06");
    CHECK_STR(ff(0.00001, b), "1e-05");
}

static void
test_metrics_cancel_on_delete(void)
{
    struct fake_clock fc = {1000};
    struct cmetrics *m = cmetrics_new(clock_fake(&fc));
    struct buf out = {0};

    cmetrics_start(m, OP_CREATE_SNAPSHOT, "u1", "drv", SNAP_TYPE_DYNAMIC);
    cmetrics_start(m, OP_CREATE_SNAPSHOT_AND_READY, "u1", "drv", SNAP_TYPE_DYNAMIC);
    fc.ms += 500;
    cmetrics_start(m, OP_DELETE_SNAPSHOT, "u1", "drv", SNAP_TYPE_DYNAMIC);
    cmetrics_start(m, OP_DELETE_SNAPSHOT, "u1", "drv", SNAP_TYPE_DYNAMIC); /* keeps the first */
    CHECK_INT(cmetrics_in_flight(m), 3);
    fc.ms += 3000;
    cmetrics_record(m, OP_DELETE_SNAPSHOT, "u1", OP_STATUS_SUCCESS, NULL);
    CHECK_INT(cmetrics_in_flight(m), 0);
    buf_init(&out, 1 << 20);
    CHECK_INT(cmetrics_render(m, &out, NULL, NULL), 0);
    CHECK(strstr(buf_str(&out), "operation_name=\"CreateSnapshot\",operation_status=\"cancel\","
                                "snapshot_type=\"dynamic\",le=\"5\"} 1") != NULL);
    CHECK(strstr(buf_str(&out), "operation_name=\"DeleteSnapshot\",operation_status=\"success\","
                                "snapshot_type=\"dynamic\",le=\"2.5\"} 0") != NULL);
    CHECK(strstr(buf_str(&out), "# HELP snapshot_controller_operations_in_flight [ALPHA] Total "
                                "number of operations in flight\n") != NULL);
    CHECK(strstr(buf_str(&out), "snapshot_controller_operations_in_flight 0\n") != NULL);
    buf_release(&out);
    cmetrics_free(m);
}

static int
secret(const char *name_t, const char *ns_t, char *name, char *ns, struct sc_err *err, bool *has)
{
    struct cclass c = {0};

    memset(&c, 0, sizeof(c));
    c.has_secret_name = name_t != NULL;
    c.has_secret_ns = ns_t != NULL;
    c.secret_name = name_t;
    c.secret_ns = ns_t;
    return sync_secret_ref(&c, "snapcontent-1", "ns1", "snap1", has, name, ns, 256, err);
}

static void
test_secret_templates(void)
{
    char name[256], ns[256];
    struct sc_err err = {0};
    bool has;

    CHECK_INT(secret(NULL, NULL, name, ns, &err, &has), 0);
    CHECK(!has);
    /* os.Expand: "$volumesnapshot" is a name, ".namespace" stays literal */
    CHECK(secret("${volumesnapshotcontent.name}", "$volumesnapshot.namespace", name, ns, &err,
                 &has) < 0);
    CHECK_STR(err.msg, "error resolving value \"$volumesnapshot.namespace\": invalid tokens: "
                       "[\"volumesnapshot\"]");
    CHECK_INT(secret("s", "${volumesnapshot.namespace}", name, ns, &err, &has), 0);
    CHECK(has);
    CHECK_STR(ns, "ns1");
    CHECK_STR(name, "s");
    CHECK(secret("${volumesnapshot.annotations['akey']}", "ns", name, ns, &err, &has) < 0);
    CHECK_STR(err.msg, "error resolving value \"${volumesnapshot.annotations['akey']}\": invalid "
                       "tokens: [\"volumesnapshot.annotations['akey']\"]");
    CHECK(secret("x", "${b}${a}${b}", name, ns, &err, &has) < 0);
    CHECK_STR(err.msg, "error resolving value \"${b}${a}${b}\": invalid tokens: [\"a\" \"b\"]");
    CHECK(secret("Bad_Name", "ns", name, ns, &err, &has) < 0);
    CHECK_STR(err.msg, "\"Bad_Name\" is not a valid secret name");
    CHECK(secret("x", "${volumesnapshotcontent.name}.x", name, ns, &err, &has) < 0);
    CHECK_STR(err.msg, "\"${volumesnapshotcontent.name}.x\" resolved to \"snapcontent-1.x\" which "
                       "is not a valid namespace name");
    CHECK(secret("", "ns", name, ns, &err, &has) < 0);
    CHECK_STR(err.msg, "failed to get name and namespace template from params: Snapshotter secrets "
                       "specified in parameters but value of either namespace or name is empty");
    CHECK(secret("x", NULL, name, ns, &err, &has) < 0);
    CHECK_INT(secret("a$$b", "ns", name, ns, &err, &has) < 0, 1); /* $$ is a special name */
    CHECK_INT(secret("ab${}c", "ns", name, ns, &err, &has), 0);   /* "${}" is eaten */
    CHECK_STR(name, "abc");
}

TEST_MAIN(TEST(test_go_quote), TEST(test_go_quote_cap), TEST(test_quantity),
          TEST(test_parse_wrong_types), TEST(test_parse_nulls_and_finalizers),
          TEST(test_store_rv_rule), TEST(test_store_attached), TEST(test_store_many),
          TEST(test_metric_floats), TEST(test_metrics_cancel_on_delete),
          TEST(test_secret_templates))
