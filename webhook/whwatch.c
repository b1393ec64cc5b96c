/* webhook/whwatch.c -- the watch caches behind the admission rules. */
#include "webhook/whwatch.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "kube/kinformer.h"
#include "kube/kjson.h"
#include "webhook/wh_classes.h"
#include "webhook/wh_dataref.h"
#include "webhook/wh_objs.h"

struct class_view {
    const char *name;
    const char *driver;
    bool is_default;
};

struct whwatch {
    struct kinformer *classes[2]; /* by enum wh_class_kind */
    struct kinformer *grants;
    enum wh_class_kind kinds[2];      /* parse contexts */
    struct kinformer *objs[WH_OBJ_N]; /* by enum wh_obj: for the warnings only */
    enum wh_obj obj_kinds[WH_OBJ_N];  /* their parse contexts */
};

static int
parse_class(void *ctx, const json_t *obj, void **view, struct sc_err *err)
{
    const enum wh_class_kind *kind = ctx;
    const char *driver, *name;
    struct class_view *v = NULL;
    struct kjson j = {0};
    struct kpack p = {0};
    bool def;
    int rc;

    rc = wh_classes_parse(obj, *kind, &driver, &def, err);
    if (rc != SC_OK)
        return rc;
    kjson_init(&j, obj, NULL);
    name = kjson_str(&j, "metadata.name");
    if (name == NULL)
        return sc_err_set(err, SC_EPROTO, "class without metadata.name");
    kpack_init(&p, sizeof(*v));
    kpack_reserve(&p, name);
    kpack_reserve(&p, driver);
    v = kpack_alloc(&p);
    if (v == NULL)
        return sc_err_set(err, SC_ENOMEM, "cannot allocate");
    v->name = kpack_str(&p, name);
    v->driver = kpack_str(&p, driver);
    v->is_default = def;
    *view = v;
    return SC_OK;
}

static int
parse_grant(void *ctx, const json_t *obj, void **view, struct sc_err *err)
{
    struct wh_grant *g = NULL;
    int rc;

    (void)ctx;
    rc = wh_dataref_grant_parse(obj, &g, err);
    if (rc == SC_OK)
        *view = g;
    return rc;
}

static void
index_ns(void *ctx, const void *view, struct kindex_out *out)
{
    const struct wh_grant *g = view;

    (void)ctx;
    kindex_emit(out, g->ns);
}

/* ---- the compact views of the warnings' objects --------------------------------- */

/* One parser for the four kinds; ctx points at the enum wh_obj. */
static int
parse_obj(void *ctx, const json_t *obj, void **view, struct sc_err *err)
{
    switch (*(const enum wh_obj *)ctx) {
    case WH_OBJ_PVC:
        return wh_pvc_parse(obj, (struct wh_pvc **)view, err);
    case WH_OBJ_PV:
        return wh_pv_parse(obj, (struct wh_pv **)view, err);
    case WH_OBJ_SC:
        return wh_sc_parse(obj, (struct wh_sc **)view, err);
    case WH_OBJ_CONTENT:
        return wh_content_parse(obj, (struct wh_content **)view, err);
    default:
        return sc_err_set(err, SC_EINVALID, "no parser for object kind %d",
                          *(const enum wh_obj *)ctx);
    }
}

static void
index_pvc_ns(void *ctx, const void *view, struct kindex_out *out)
{
    const struct wh_pvc *p = view;

    (void)ctx;
    kindex_emit(out, p->ns);
}

static const char *const obj_names[WH_OBJ_N] = {"PersistentVolumeClaim", "PersistentVolume",
                                                "StorageClass", "VolumeSnapshotContent"};

/* SC_OK when the cache of kind can answer, else SC_EIO. */
static int
obj_ready(struct whwatch *w, enum wh_obj kind, struct sc_err *err)
{
    if (kind >= WH_OBJ_N || w->objs[kind] == NULL)
        return sc_err_set(err, SC_EINVALID, "no cache for object kind %d", (int)kind);
    if (!kinformer_synced(w->objs[kind]))
        return sc_err_set(err, SC_EIO, "the %s cache has not synced", obj_names[kind]);
    return SC_OK;
}

static int
lk_get(void *ctx, enum wh_obj kind, const char *key, wh_obj_visit_fn *fn, void *arg,
       struct sc_err *err)
{
    struct whwatch *w = ctx;
    struct kitem *it = NULL;
    int rc = obj_ready(w, kind, err);

    if (rc != SC_OK)
        return rc;
    it = kinformer_get(w->objs[kind], key);
    if (it == NULL)
        return sc_err_set(err, SC_ENOTFOUND, "%s %s not found", obj_names[kind], key);
    fn(arg, kitem_view(it));
    kitem_release(it);
    return SC_OK;
}

/* Visit the views of inf in namespace ns (its "ns" index) until fn says stop. */
static int
visit_ns(struct kinformer *inf, const char *ns, wh_obj_visit_fn *fn, void *arg, struct sc_err *err)
{
    struct kitem **items = NULL;
    size_t n = 0;
    int rc = kinformer_by_index(inf, "ns", ns, &items, &n, err);

    if (rc != SC_OK)
        return rc;
    for (size_t i = 0; i < n; i++)
        if (fn(arg, kitem_view(items[i])))
            break;
    kitem_release_all(items, n);
    return SC_OK;
}

static int
lk_pvcs(void *ctx, const char *ns, wh_obj_visit_fn *fn, void *arg, struct sc_err *err)
{
    struct whwatch *w = ctx;
    int rc = obj_ready(w, WH_OBJ_PVC, err);

    return rc != SC_OK ? rc : visit_ns(w->objs[WH_OBJ_PVC], ns, fn, arg, err);
}

/* Not served = the API server's last answer to a LIST was 404 (CRD absent or
 * deleted); an outage of the API server does not change it. */
static bool
not_served(struct kinformer *inf)
{
    return kinformer_served(inf) == 0;
}

static int
lk_classes(void *ctx, enum wh_class_kind kind, wh_class_visit_fn *fn, void *arg, struct sc_err *err)
{
    struct whwatch *w = ctx;
    struct kinformer *inf = w->classes[kind];
    struct kitem **items = NULL;
    struct sc_err st = {0};
    size_t n = 0;
    int rc;

    if (kind == WH_CLASS_GROUP && not_served(inf))
        return SC_OK; /* no VolumeGroupSnapshotClass CRD: nothing can collide */
    if (!kinformer_synced(inf)) {
        kinformer_status(inf, &st);
        return sc_err_set(err, SC_EIO, "the %s cache has not synced%s%s",
                          kind == WH_CLASS_GROUP ? "VolumeGroupSnapshotClass"
                                                 : "VolumeSnapshotClass",
                          st.msg[0] ? ": " : "", st.msg);
    }
    rc = kinformer_list(inf, &items, &n);
    if (rc != SC_OK)
        return sc_err_set(err, rc, "cannot list the class cache");
    for (size_t i = 0; i < n; i++) {
        const struct class_view *v = kitem_view(items[i]);

        if (fn(arg, v->name, v->driver, v->is_default))
            break;
    }
    kitem_release_all(items, n);
    return SC_OK;
}

/* A grant visitor called through visit_ns. */
struct grant_visit {
    wh_grant_visit_fn *fn;
    void *arg;
};

static int
visit_grant_view(void *arg, const void *view)
{
    const struct grant_visit *g = arg;

    return g->fn(g->arg, view);
}

static int
lk_grants(void *ctx, const char *ns, wh_grant_visit_fn *fn, void *arg, struct sc_err *err)
{
    struct whwatch *w = ctx;
    struct grant_visit gv = {.fn = fn, .arg = arg};
    struct sc_err st = {0};

    if (not_served(w->grants))
        return sc_err_set(err, SC_ENOTFOUND, "the ReferenceGrant CRD is not installed");
    if (!kinformer_synced(w->grants)) {
        kinformer_status(w->grants, &st);
        return sc_err_set(err, SC_EIO, "the ReferenceGrant cache has not synced%s%s",
                          st.msg[0] ? ": " : "", st.msg);
    }
    return visit_ns(w->grants, ns, visit_grant_view, &gv, err);
}

struct wh_lookup
whwatch_lookup(struct whwatch *w)
{
    return (struct wh_lookup){.classes = lk_classes, .grants = lk_grants, .ctx = w};
}

struct wh_warn_lookup
whwatch_warn_lookup(struct whwatch *w)
{
    struct wh_warn_lookup lk = {0};

    lk.classes = whwatch_lookup(w);
    lk.get = lk_get;
    lk.pvcs = lk_pvcs;
    lk.ctx = w;
    return lk;
}

void
whwatch_counts(struct whwatch *w, size_t out[WH_OBJ_N])
{
    for (int i = 0; i < WH_OBJ_N; i++)
        out[i] = w->objs[i] != NULL ? kinformer_len(w->objs[i]) : 0;
}

bool
whwatch_ready(void *ctx)
{
    struct whwatch *w = ctx;

    return kinformer_synced(w->classes[WH_CLASS_SNAPSHOT]) &&
           (kinformer_synced(w->classes[WH_CLASS_GROUP]) ||
            not_served(w->classes[WH_CLASS_GROUP])) &&
           (kinformer_synced(w->grants) || not_served(w->grants));
}

/* The first served version of group/resource among versions (NULL-ended);
 * the first one when none is (the informer then waits for the CRD). */
static const char *
pick_version(struct kclient *c, const char *group, const char *resource,
             const char *const *versions)
{
    struct sc_err err = {0};

    for (size_t i = 0; versions[i] != NULL; i++)
        if (kclient_served(c, group, versions[i], resource, &err) == 1)
            return versions[i];
    log_info("%s.%s is not served yet (%s); watching %s and waiting for it", resource, group,
             err.msg, versions[0]);
    return versions[0];
}

static struct kinformer *
start_one(struct kclient *c, const char *name, const char *group, const char *version,
          const char *resource, kinf_parse_fn *parse, void *parse_ctx, kindex_fn *ns_index,
          struct sc_err *err)
{
    struct kinformer_opts o = {0};
    struct kinformer *inf = NULL;
    char path[KPATH_MAX];

    if (kpath(path, sizeof(path), group, version, resource, NULL, NULL, NULL) != SC_OK) {
        sc_err_set(err, SC_EINVALID, "bad path for %s", resource);
        return NULL;
    }
    memset(&o, 0, sizeof(o));
    o.name = name;
    o.path = path;
    o.parse = parse;
    o.parse_ctx = parse_ctx;
    inf = kinformer_new(c, &o, err);
    if (inf == NULL)
        return NULL;
    if ((ns_index && kinformer_add_index(inf, "ns", ns_index, NULL, err) != SC_OK) ||
        kinformer_start(inf, err) != SC_OK) {
        kinformer_free(inf);
        return NULL;
    }
    log_info("watching %s at %s", name, path);
    return inf;
}

/* The caches of the warnings (docs/webhook.md): every PVC (indexed by
 * namespace), PV, StorageClass and VolumeSnapshotContent, as compact views.
 * Stops at the first that cannot start (err filled). */
static void
start_objs(struct kclient *c, struct whwatch *w, struct sc_err *err)
{
    static const struct {
        const char *group, *resource;
        kindex_fn *ns_index;
    } objs[WH_OBJ_N] = {
        [WH_OBJ_PVC] = {"", "persistentvolumeclaims", index_pvc_ns},
        [WH_OBJ_PV] = {"", "persistentvolumes", NULL},
        [WH_OBJ_SC] = {"storage.k8s.io", "storageclasses", NULL},
        [WH_OBJ_CONTENT] = {"snapshot.storage.k8s.io", "volumesnapshotcontents", NULL},
    };

    for (int i = 0; i < WH_OBJ_N; i++) {
        w->obj_kinds[i] = (enum wh_obj)i;
        w->objs[i] = start_one(c, objs[i].resource, objs[i].group, "v1", objs[i].resource,
                               parse_obj, &w->obj_kinds[i], objs[i].ns_index, err);
        if (w->objs[i] == NULL)
            return;
    }
}

int
whwatch_start(struct kclient *c, struct whwatch **out, struct sc_err *err)
{
    static const char *const group_versions[] = {"v1beta2", "v1", "v1beta1", NULL};
    static const char *const grant_versions[] = {"v1beta1", "v1", NULL};
    struct whwatch *w = calloc(1, sizeof(*w));

    *out = NULL;
    if (w == NULL)
        return sc_err_set(err, SC_ENOMEM, "cannot allocate");
    w->kinds[WH_CLASS_SNAPSHOT] = WH_CLASS_SNAPSHOT;
    w->kinds[WH_CLASS_GROUP] = WH_CLASS_GROUP;
    w->classes[WH_CLASS_SNAPSHOT] =
        start_one(c, "volumesnapshotclasses", "snapshot.storage.k8s.io", "v1",
                  "volumesnapshotclasses", parse_class, &w->kinds[WH_CLASS_SNAPSHOT], NULL, err);
    if (w->classes[WH_CLASS_SNAPSHOT] != NULL)
        w->classes[WH_CLASS_GROUP] = start_one(
            c, "volumegroupsnapshotclasses", "groupsnapshot.storage.k8s.io",
            pick_version(c, "groupsnapshot.storage.k8s.io", "volumegroupsnapshotclasses",
                         group_versions),
            "volumegroupsnapshotclasses", parse_class, &w->kinds[WH_CLASS_GROUP], NULL, err);
    if (w->classes[WH_CLASS_GROUP] != NULL)
        w->grants = start_one(
            c, "referencegrants", "gateway.networking.k8s.io",
            pick_version(c, "gateway.networking.k8s.io", "referencegrants", grant_versions),
            "referencegrants", parse_grant, NULL, index_ns, err);
    if (w->grants != NULL)
        start_objs(c, w, err);
    if (w->objs[WH_OBJ_CONTENT] == NULL) {
        whwatch_free(w);
        return err ? err->code : SC_EIO;
    }
    *out = w;
    return SC_OK;
}

void
whwatch_free(struct whwatch *w)
{
    if (w == NULL)
        return;
    for (int i = 0; i < WH_OBJ_N; i++) /* the watches end together, not one by one */
        kinformer_stop_begin(w->objs[i]);
    kinformer_stop_begin(w->grants);
    kinformer_stop_begin(w->classes[WH_CLASS_GROUP]);
    kinformer_stop_begin(w->classes[WH_CLASS_SNAPSHOT]);
    for (int i = WH_OBJ_N - 1; i >= 0; i--)
        kinformer_free(w->objs[i]);
    kinformer_free(w->grants);
    kinformer_free(w->classes[WH_CLASS_GROUP]);
    kinformer_free(w->classes[WH_CLASS_SNAPSHOT]);
    free(w);
}
