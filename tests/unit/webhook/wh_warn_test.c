/* tests/unit/webhook/wh_warn_test.c -- admission warnings (webhook/wh_warn.c),
 * the compact views (webhook/wh_objs.c) and the /warn-snapshot route, over a
 * lookup backed by tests/data/webhook/warn/cluster.json. */
#include "webhook/wh_warn.h"

#include "tests/unit/webhook/fixtures.h"
#include "webhook/wh_objs.h"
#include "webhook/whroute.h"

/* A lookup over the recorded cluster: every call parses the objects with the
 * same parsers the watch caches use. */
struct wx {
    json_t *c;
    int fail; /* non-zero: every cache answers this error (not synced) */
    int get_calls;
};

static int
wx_classes(void *ctx, enum wh_class_kind kind, wh_class_visit_fn *fn, void *arg, struct sc_err *err)
{
    struct wx *x = ctx;
    json_t *list =
        json_object_get(x->c, kind == WH_CLASS_GROUP ? "groupclasses" : "snapshotclasses");
    json_t *o;
    size_t i;

    if (x->fail)
        return sc_err_set(err, x->fail, "not synced");
    json_array_foreach (list, i, o) {
        const char *driver;
        bool def;

        CHECK_INT(wh_classes_parse(o, kind, &driver, &def, err), SC_OK);
        if (fn(arg, json_string_value(json_object_get(json_object_get(o, "metadata"), "name")),
               driver, def))
            break;
    }
    return SC_OK;
}

static const char *const lists[WH_OBJ_N] = {"pvcs", "pvs", "storageclasses", "contents"};

static void *
wx_parse(enum wh_obj kind, const json_t *o)
{
    void *v = NULL;
    int rc = SC_EINVALID;

    switch (kind) {
    case WH_OBJ_PVC:
        rc = wh_pvc_parse(o, (struct wh_pvc **)&v, NULL);
        break;
    case WH_OBJ_PV:
        rc = wh_pv_parse(o, (struct wh_pv **)&v, NULL);
        break;
    case WH_OBJ_SC:
        rc = wh_sc_parse(o, (struct wh_sc **)&v, NULL);
        break;
    case WH_OBJ_CONTENT:
        rc = wh_content_parse(o, (struct wh_content **)&v, NULL);
        break;
    case WH_OBJ_N:
        break;
    }
    CHECK_INT(rc, SC_OK);
    return v;
}

static int
wx_get(void *ctx, enum wh_obj kind, const char *key, wh_obj_visit_fn *fn, void *arg,
       struct sc_err *err)
{
    struct wx *x = ctx;
    json_t *o;
    size_t i;

    x->get_calls++;
    if (x->fail)
        return sc_err_set(err, x->fail, "not synced");
    json_array_foreach (json_object_get(x->c, lists[kind]), i, o) {
        const json_t *m = json_object_get(o, "metadata");
        char k[600];

        if (kind == WH_OBJ_PVC)
            snprintf(k, sizeof(k), "%s/%s", json_string_value(json_object_get(m, "namespace")),
                     json_string_value(json_object_get(m, "name")));
        else
            snprintf(k, sizeof(k), "%s", json_string_value(json_object_get(m, "name")));
        if (strcmp(k, key) == 0) {
            void *v = wx_parse(kind, o);

            fn(arg, v);
            free(v);
            return SC_OK;
        }
    }
    return sc_err_set(err, SC_ENOTFOUND, "%s not found", key);
}

static int
wx_pvcs(void *ctx, const char *ns, wh_obj_visit_fn *fn, void *arg, struct sc_err *err)
{
    struct wx *x = ctx;
    json_t *o;
    size_t i;

    if (x->fail)
        return sc_err_set(err, x->fail, "not synced");
    json_array_foreach (json_object_get(x->c, "pvcs"), i, o) {
        struct wh_pvc *p = wx_parse(WH_OBJ_PVC, o);
        int stop = strcmp(p->ns, ns) == 0 ? fn(arg, p) : 0;

        free(p);
        if (stop)
            break;
    }
    return SC_OK;
}

static struct wh_warn_lookup
wx_init(struct wx *x)
{
    struct wh_warn_lookup lk = {0};

    memset(x, 0, sizeof(*x));
    x->c = fx_load("warn/cluster.json");
    CHECK(x->c != NULL);
    lk.classes.classes = wx_classes;
    lk.classes.ctx = x;
    lk.get = wx_get;
    lk.pvcs = wx_pvcs;
    lk.ctx = x;
    return lk;
}

/* Warnings for a VolumeSnapshot app/<name> with this class (NULL = none) and
 * source (pvc or content, the other NULL). */
static void
snap(const struct wh_warn_lookup *lk, const char *name, const char *cls, const char *pvc,
     const char *content, struct wh_warnings *w)
{
    struct review_admission r = {0};
    json_t *src = json_object();
    json_t *o;

    if (pvc != NULL)
        json_object_set_new(src, "persistentVolumeClaimName", json_string(pvc));
    if (content != NULL)
        json_object_set_new(src, "volumeSnapshotContentName", json_string(content));
    o = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:o}}", "apiVersion", "snapshot.storage.k8s.io/v1",
                  "kind", "VolumeSnapshot", "metadata", "name", name, "namespace", "app", "spec",
                  "source", src);
    if (cls != NULL)
        json_object_set_new(json_object_get(o, "spec"), "volumeSnapshotClassName",
                            json_string(cls));
    CHECK_INT(
        fx_review(&r, "CREATE", "snapshot.storage.k8s.io", "v1", "volumesnapshots", "app", o, NULL),
        SC_OK);
    wh_warn_review(&r, lk, w);
    review_admission_release(&r);
}

/* Warnings for a VolumeGroupSnapshot in ns with selector sel (stolen). */
static void
group(const struct wh_warn_lookup *lk, const char *ns, const char *cls, json_t *sel,
      struct wh_warnings *w)
{
    struct review_admission r = {0};
    json_t *o =
        json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:{s:o}}}", "apiVersion",
                  "groupsnapshot.storage.k8s.io/v1beta2", "kind", "VolumeGroupSnapshot", "metadata",
                  "name", "g", "namespace", ns, "spec", "source", "selector", sel);

    if (cls != NULL)
        json_object_set_new(json_object_get(o, "spec"), "volumeGroupSnapshotClassName",
                            json_string(cls));
    CHECK_INT(fx_review(&r, "CREATE", "groupsnapshot.storage.k8s.io", "v1beta2",
                        "volumegroupsnapshots", ns, o, NULL),
              SC_OK);
    wh_warn_review(&r, lk, w);
    review_admission_release(&r);
}

static void
one(const struct wh_warnings *w, enum wh_warn_kind k, const char *msg)
{
    CHECK_INT(w->n, 1);
    if (w->n != 1)
        return;
    CHECK_STR(wh_warn_kind_name(w->kind[0]), wh_warn_kind_name(k));
    CHECK_STR(w->msg[0], msg);
}

static void
test_clean_snapshots_get_nothing(void)
{
    struct wx x = {0};
    struct wh_warn_lookup lk = wx_init(&x);
    struct wh_warnings w = {0};

    snap(&lk, "s", NULL, "data", NULL, &w); /* default snap-a for a.csi */
    CHECK_INT(w.n, 0);
    snap(&lk, "s", "snap-a2", "data", NULL, &w);
    CHECK_INT(w.n, 0);
    snap(&lk, "s", "snap-b", "logs", NULL, &w);
    CHECK_INT(w.n, 0);
    snap(&lk, "mine", NULL, NULL, "content-mine", &w); /* its own content */
    CHECK_INT(w.n, 0);
    snap(&lk, "s", NULL, NULL, "content-free", &w);
    CHECK_INT(w.n, 0);
    snap(&lk, "s", NULL, "nfs", NULL, &w); /* not CSI: driver unknown, no class advice */
    CHECK_INT(w.n, 0);
    json_decref(x.c);
}

static void
test_each_snapshot_warning(void)
{
    struct wx x = {0};
    struct wh_warn_lookup lk = wx_init(&x);
    struct wh_warnings w = {0};

    snap(&lk, "s", "nope", "data", NULL, &w);
    one(&w, WH_WARN_CLASS_MISSING,
        "VolumeSnapshotClass \"nope\" does not exist: this object stays unready until it does; "
        "create it or set spec.volumeSnapshotClassName to an existing class");
    snap(&lk, "s", NULL, "c-vol", NULL, &w);
    CHECK_INT(w.n, 2); /* unbound, and no default for c.csi */
    CHECK_INT(w.kind[0], WH_WARN_PVC_UNBOUND);
    CHECK_INT(w.kind[1], WH_WARN_NO_DEFAULT);
    CHECK_STR(w.msg[1], "no default VolumeSnapshotClass for driver c.csi (PVC app/c-vol): it will "
                        "fail; set spec.volumeSnapshotClassName, or mark one VolumeSnapshotClass "
                        "of that driver default");
    snap(&lk, "s", NULL, "d-vol", NULL, &w);
    CHECK_INT(w.n, 2);
    CHECK_INT(w.kind[1], WH_WARN_MANY_DEFAULTS);
    CHECK_STR(w.msg[1], "2 default VolumeSnapshotClasses for driver d.csi (snap-d1, snap-d2): it "
                        "will fail; set spec.volumeSnapshotClassName, or keep one default");
    snap(&lk, "s", "snap-b", "data", NULL, &w);
    one(&w, WH_WARN_DRIVER_MISMATCH,
        "VolumeSnapshotClass \"snap-b\" is for driver b.csi, but PVC app/data is on a.csi "
        "(PersistentVolume pv-a): it will fail; set spec.volumeSnapshotClassName to a class of "
        "driver a.csi");
    /* Unbound: the StorageClass tells the driver (the beta annotation too). */
    snap(&lk, "s", "snap-a", "legacy", NULL, &w);
    CHECK_INT(w.n, 2);
    CHECK_INT(w.kind[1], WH_WARN_DRIVER_MISMATCH);
    CHECK(strstr(w.msg[1], "(StorageClass slow)") != NULL);
    snap(&lk, "s", NULL, "missing", NULL, &w);
    one(&w, WH_WARN_PVC_MISSING,
        "PersistentVolumeClaim app/missing does not exist: the snapshot waits until it does; "
        "check spec.source.persistentVolumeClaimName");
    snap(&lk, "s", NULL, "pending", NULL, &w);
    one(&w, WH_WARN_PVC_UNBOUND,
        "PersistentVolumeClaim app/pending is not bound yet: the snapshot waits until it is; see "
        "kubectl describe pvc -n app pending if it stays Pending");
    snap(&lk, "s", NULL, "gone", NULL, &w);
    one(&w, WH_WARN_PVC_DELETING,
        "PersistentVolumeClaim app/gone is being deleted: the snapshot will not be taken; "
        "snapshot a PVC that is not being deleted");
    snap(&lk, "mine", NULL, NULL, "content-taken", &w);
    one(&w, WH_WARN_CONTENT_TAKEN,
        "VolumeSnapshotContent content-taken is bound to VolumeSnapshot app/other: this snapshot "
        "will fail; name a content whose spec.volumeSnapshotRef is app/mine");
    snap(&lk, "mine", "nope", NULL, "content-free", &w);
    one(&w, WH_WARN_CLASS_MISSING,
        "VolumeSnapshotClass \"nope\" does not exist: this object stays unready until it does; "
        "create it or set spec.volumeSnapshotClassName to an existing class");
    json_decref(x.c);
}

static void
test_group_warnings(void)
{
    struct wx x = {0};
    struct wh_warn_lookup lk = wx_init(&x);
    struct wh_warnings w = {0};

    group(&lk, "app", NULL, json_pack("{s:{s:s, s:s}}", "matchLabels", "app", "db", "tier", "1"),
          &w);
    CHECK_INT(w.n, 0); /* data on a.csi, default group-a */
    group(&lk, "app", NULL, json_pack("{s:{s:s}}", "matchLabels", "app", "none"), &w);
    one(&w, WH_WARN_SELECTOR_EMPTY,
        "spec.source.selector matches no PersistentVolumeClaim in namespace app: the group "
        "snapshot cannot be taken until one matches; label the PVCs or fix the selector");
    group(&lk, "app", NULL,
          json_pack("{s:[{s:s, s:s, s:[s, s]}]}", "matchExpressions", "key", "app", "operator",
                    "In", "values", "db", "web"),
          &w);
    one(&w, WH_WARN_MIXED_DRIVERS,
        "spec.source.selector matches PVCs of different drivers (data on a.csi, logs on b.csi): a "
        "group snapshot needs one driver; narrow the selector");
    /* NotIn excludes web; Exists needs tier: data and pending, both a.csi. */
    group(&lk, "app", NULL,
          json_pack("{s:[{s:s, s:s, s:[s]}, {s:s, s:s}]}", "matchExpressions", "key", "app",
                    "operator", "NotIn", "values", "web", "key", "tier", "operator", "Exists"),
          &w);
    CHECK_INT(w.n, 0);
    /* DoesNotExist tier, app in (web): logs only, b.csi has no default group class. */
    group(&lk, "app", NULL,
          json_pack("{s:{s:s}, s:[{s:s, s:s}]}", "matchLabels", "app", "web", "matchExpressions",
                    "key", "tier", "operator", "DoesNotExist"),
          &w);
    one(&w, WH_WARN_NO_DEFAULT,
        "no default VolumeGroupSnapshotClass for driver b.csi (PVC app/logs): it will fail; set "
        "spec.volumeGroupSnapshotClassName, or mark one VolumeGroupSnapshotClass of that driver "
        "default");
    group(&lk, "app", "nope", json_pack("{s:{s:s}}", "matchLabels", "tier", "1"), &w);
    CHECK_INT(w.n, 1);
    CHECK_INT(w.kind[0], WH_WARN_CLASS_MISSING);
    CHECK(strstr(w.msg[0], "VolumeGroupSnapshotClass \"nope\" does not exist") != NULL);
    /* The namespace counts: in "other", app=db is one PVC on b.csi. */
    group(&lk, "other", "group-a", json_pack("{s:{s:s}}", "matchLabels", "app", "db"), &w);
    CHECK_INT(w.n, 1);
    CHECK_INT(w.kind[0], WH_WARN_DRIVER_MISMATCH);
    /* {} selects every PVC of the namespace (mixed here). */
    group(&lk, "app", NULL, json_object(), &w);
    CHECK_INT(w.n, 1);
    CHECK_INT(w.kind[0], WH_WARN_MIXED_DRIVERS);
    /* A malformed selector gets no advice (the API server's schema rejects it). */
    group(&lk, "app", NULL,
          json_pack("{s:[{s:s, s:s}]}", "matchExpressions", "key", "app", "operator", "In"), &w);
    CHECK_INT(w.n, 0);
    group(&lk, "app", NULL,
          json_pack("{s:[{s:s, s:s}]}", "matchExpressions", "key", "app", "operator", "Near"), &w);
    CHECK_INT(w.n, 0);
    group(&lk, "app", NULL, json_pack("{s:{s:i}}", "matchLabels", "app", 1), &w);
    CHECK_INT(w.n, 0);
    json_decref(x.c);
}

static void
test_no_advice_without_caches_or_create(void)
{
    struct wx x = {0};
    struct wh_warn_lookup lk = wx_init(&x);
    struct review_admission r = {0};
    struct wh_warnings w = {0};

    x.fail = SC_EIO;
    snap(&lk, "s", "nope", "missing", NULL, &w);
    CHECK_INT(w.n, 0);
    group(&lk, "app", NULL, json_pack("{s:{s:s}}", "matchLabels", "app", "none"), &w);
    CHECK_INT(w.n, 0);
    x.fail = 0;
    x.get_calls = 0;
    CHECK_INT(fx_review(&r, "UPDATE", "snapshot.storage.k8s.io", "v1", "volumesnapshots", "app",
                        json_pack("{s:{s:s}}", "spec", "volumeSnapshotClassName", "nope"), NULL),
              SC_OK);
    wh_warn_review(&r, &lk, &w);
    CHECK_INT(w.n, 0);
    review_admission_release(&r);
    CHECK_INT(fx_review(&r, "CREATE", "", "v1", "persistentvolumeclaims", "app",
                        json_pack("{s:{s:s}}", "spec", "volumeSnapshotClassName", "nope"), NULL),
              SC_OK);
    wh_warn_review(&r, &lk, &w);
    CHECK_INT(w.n, 0);
    review_admission_release(&r);
    /* Wrong types in the object: no crash, no advice from them. */
    CHECK_INT(
        fx_review(&r, "CREATE", "snapshot.storage.k8s.io", "v1", "volumesnapshots", "app",
                  json_pack("{s:{s:i, s:[]}}", "spec", "volumeSnapshotClassName", 3, "source"),
                  NULL),
        SC_OK);
    wh_warn_review(&r, &lk, &w);
    CHECK_INT(w.n, 0);
    review_admission_release(&r);
    CHECK_INT(x.get_calls, 0);
    json_decref(x.c);
}

static void
test_views(void)
{
    json_t *c = fx_load("warn/cluster.json");
    struct wh_pvc *p = NULL;
    struct wh_pv *pv = NULL;
    struct wh_content *ct = NULL;
    json_t *o, *labels;
    char key[32];

    CHECK_INT(wh_pvc_parse(json_array_get(json_object_get(c, "pvcs"), 0), &p, NULL), SC_OK);
    CHECK_STR(p->ns, "app");
    CHECK_STR(p->name, "data");
    CHECK_STR(p->volume, "pv-a");
    CHECK_STR(p->sc, "fast");
    CHECK(p->bound && !p->deleting);
    CHECK_STR(wh_pvc_label(p, "tier"), "1");
    CHECK(wh_pvc_label(p, "nope") == NULL);
    free(p);
    CHECK_INT(wh_pvc_parse(json_array_get(json_object_get(c, "pvcs"), 4), &p, NULL), SC_OK);
    CHECK_STR(p->sc, "slow"); /* from the beta annotation */
    CHECK(p->volume == NULL && !p->bound && p->n_labels == 0);
    free(p);
    CHECK_INT(wh_pv_parse(json_array_get(json_object_get(c, "pvs"), 2), &pv, NULL), SC_OK);
    CHECK(pv->driver == NULL); /* nfs */
    free(pv);
    CHECK_INT(wh_content_parse(json_array_get(json_object_get(c, "contents"), 1), &ct, NULL),
              SC_OK);
    CHECK_STR(ct->ref_ns, "app");
    CHECK_STR(ct->ref_name, "other");
    free(ct);
    /* Wrong types are refused with the field named. */
    o = json_pack("{s:{s:s, s:s, s:{s:i}}}", "metadata", "name", "x", "namespace", "n", "labels",
                  "a", 1);
    {
        struct sc_err err = {0};

        CHECK(wh_pvc_parse(o, &p, &err) != SC_OK);
        CHECK(p == NULL);
        CHECK(strstr(err.msg, "metadata.labels.a") != NULL);
    }
    json_decref(o);
    o = json_pack("{s:{s:s}, s:{s:i}}", "metadata", "name", "x", "spec", "volumeName", 4);
    CHECK(wh_pvc_parse(o, &p, NULL) != SC_OK);
    json_decref(o);
    o = json_pack("{s:{s:i}}", "metadata", "name", 4);
    CHECK(wh_pv_parse(o, &pv, NULL) != SC_OK);
    CHECK(wh_content_parse(o, &ct, NULL) != SC_OK);
    json_decref(o);
    o = json_pack("{s:{s:s}, s:[]}", "metadata", "name", "x", "provisioner");
    {
        struct wh_sc *s = NULL;

        CHECK(wh_sc_parse(o, &s, NULL) != SC_OK);
    }
    json_decref(o);
    /* More labels than WH_OBJ_MAX_LABELS: SC_ETOOBIG. */
    labels = json_object();
    for (int i = 0; i <= WH_OBJ_MAX_LABELS; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        json_object_set_new(labels, key, json_string("v"));
    }
    o = json_pack("{s:{s:s, s:s, s:o}}", "metadata", "name", "x", "namespace", "n", "labels",
                  labels);
    CHECK_INT(wh_pvc_parse(o, &p, NULL), SC_ETOOBIG);
    json_decref(o);
    json_decref(c);
}

/* The route: allowed, the warnings in response.warnings, counted. */
static void
test_route(void)
{
    struct wx x = {0};
    struct whmetrics m = {0};
    struct whroute rt = {0};
    struct whroute_resp out = {0};
    json_t *req, *root, *resp, *got;
    char *body;

    whmetrics_init(&m);
    rt.warn = wx_init(&x);
    rt.metrics = &m;
    req = json_pack("{s:s, s:s, s:{s:s, s:s, s:s}, s:s, s:s, s:{s:{s:s, s:s}, s:{s:s, s:{s:s}}}}",
                    "uid", "u-7", "operation", "CREATE", "resource", "group",
                    "snapshot.storage.k8s.io", "version", "v1", "resource", "volumesnapshots",
                    "namespace", "app", "name", "s", "object", "metadata", "name", "s", "namespace",
                    "app", "spec", "volumeSnapshotClassName", "nope", "source",
                    "persistentVolumeClaimName", "gone");
    root = json_pack("{s:s, s:s, s:o}", "apiVersion", "admission.k8s.io/v1", "kind",
                     "AdmissionReview", "request", req);
    body = json_dumps(root, JSON_COMPACT);
    whroute_handle(&rt, "POST", "/warn-snapshot", "application/json", body, strlen(body), &out);
    CHECK_INT(out.status, 200);
    got = json_loads(out.body, 0, NULL);
    resp = json_object_get(got, "response");
    CHECK(json_is_true(json_object_get(resp, "allowed")));
    CHECK_STR(json_string_value(json_object_get(resp, "uid")), "u-7");
    CHECK_INT(json_array_size(json_object_get(resp, "warnings")), 2);
    CHECK(strstr(json_string_value(json_array_get(json_object_get(resp, "warnings"), 0)),
                 "is being deleted") != NULL);
    CHECK(json_object_get(resp, "status") == NULL);
    json_decref(got);
    free(out.body);
    CHECK_INT(atomic_load(&m.warnings[WH_WARN_PVC_DELETING]), 1);
    CHECK_INT(atomic_load(&m.warnings[WH_WARN_CLASS_MISSING]), 1);
    CHECK_INT(atomic_load(&m.decisions[WHM_RULE_WARNINGS][WHM_ALLOWED]), 1);
    CHECK_INT(whroute_path("/warn-snapshot"), WHM_PATH_WARN);
    /* No warnings: the field is left out.  No lookup at all: the same. */
    rt.warn.get = NULL;
    whroute_handle(&rt, "POST", "/warn-snapshot", "application/json", body, strlen(body), &out);
    CHECK_INT(out.status, 200);
    CHECK(strstr(out.body, "warnings") == NULL);
    CHECK(strstr(out.body, "\"allowed\":true") != NULL);
    free(out.body);
    whroute_handle(&rt, "GET", "/metrics", NULL, NULL, 0, &out);
    CHECK(strstr(out.body,
                 "snapshot_webhook_admission_warnings_total{warning=\"pvc-deleting\"} 1") != NULL);
    CHECK(strstr(out.body, "snapshot_webhook_cached_objects{kind=\"PersistentVolumeClaim\"} 0") !=
          NULL);
    CHECK(strstr(out.body, "snapshot_webhook_admission_decisions_total{rule=\"snapshot-warnings\","
                           "result=\"allowed\"} 2") != NULL);
    free(out.body);
    whroute_handle(&rt, "POST", "/warn-snapshot", "application/json", "{", 1, &out);
    CHECK_INT(out.status, 400);
    free(out.body);
    free(body);
    json_decref(root);
    json_decref(x.c);
}

TEST_MAIN(TEST(test_clean_snapshots_get_nothing), TEST(test_each_snapshot_warning),
          TEST(test_group_warnings), TEST(test_no_advice_without_caches_or_create),
          TEST(test_views), TEST(test_route))
