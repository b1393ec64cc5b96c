/* webhook/wh_warn.c -- admission warnings for snapshot and group snapshot CREATE. */
#include "webhook/wh_warn.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define NAME_LEN    254 /* a DNS subdomain name (253) and its NUL */
#define WH_SEL_REQS 64  /* requirements of one selector we evaluate */
#define GROUP_SNAP  "groupsnapshot.storage.k8s.io"
#define SNAP        "snapshot.storage.k8s.io"

static const char *const kind_names[WH_WARN_KIND_N] = {
    "class-missing", "no-default",   "many-defaults", "driver-mismatch", "pvc-missing",
    "pvc-unbound",   "pvc-deleting", "content-taken", "selector-empty",  "mixed-drivers"};

const char *
wh_warn_kind_name(enum wh_warn_kind k)
{
    return k < WH_WARN_KIND_N ? kind_names[k] : "unknown";
}

static void add(struct wh_warnings *w, enum wh_warn_kind k, const char *fmt, ...) SC_PRINTF(3, 4);

static void
add(struct wh_warnings *w, enum wh_warn_kind k, const char *fmt, ...)
{
    va_list ap;

    if (w->n >= WH_WARN_MAX)
        return;
    va_start(ap, fmt);
    (void)vsnprintf(w->msg[w->n], WH_WARN_LEN, fmt, ap);
    va_end(ap);
    w->kind[w->n++] = k;
}

static void
copy(char *dst, const char *src)
{
    (void)snprintf(dst, NAME_LEN, "%s", src ? src : "");
}

static const char *
str_at(const json_t *o, const char *a, const char *b, const char *c)
{
    const json_t *v = json_object_get(o, a);

    if (b != NULL)
        v = json_object_get(v, b);
    if (c != NULL)
        v = json_object_get(v, c);
    return json_string_value(v);
}

/* ---- the driver behind a PVC ------------------------------------------------------ */

struct pvc_info {
    bool bound, deleting;
    char volume[NAME_LEN]; /* "" when unset */
    char sc[NAME_LEN];     /* "" when unset */
};

static int
take_pvc(void *arg, const void *view)
{
    struct pvc_info *i = arg;
    const struct wh_pvc *p = view;

    i->bound = p->bound;
    i->deleting = p->deleting;
    copy(i->volume, p->volume);
    copy(i->sc, p->sc);
    return 1;
}

/* A driver and where it was read: "PersistentVolume pv-1" / "StorageClass x". */
struct drv {
    char name[NAME_LEN]; /* "" when unknown */
    char via[NAME_LEN + 32];
};

static int
take_pv(void *arg, const void *view)
{
    const struct wh_pv *pv = view;
    struct drv *d = arg;

    copy(d->name, pv->driver);
    (void)snprintf(d->via, sizeof(d->via), "PersistentVolume %s", pv->name);
    return 1;
}

static int
take_sc(void *arg, const void *view)
{
    const struct wh_sc *sc = view;
    struct drv *d = arg;

    copy(d->name, sc->provisioner);
    (void)snprintf(d->via, sizeof(d->via), "StorageClass %s", sc->name);
    return 1;
}

/* The PV's CSI driver when the PVC is bound to a cached PV, else its
 * StorageClass's provisioner; d->name stays "" when neither is known. */
static void
pvc_driver(const struct wh_warn_lookup *lk, const struct pvc_info *p, struct drv *d)
{
    memset(d, 0, sizeof(*d));
    if (p->volume[0] != '\0' && lk->get(lk->ctx, WH_OBJ_PV, p->volume, take_pv, d, NULL) == SC_OK)
        return;
    if (p->sc[0] != '\0')
        (void)lk->get(lk->ctx, WH_OBJ_SC, p->sc, take_sc, d, NULL);
}

/* ---- classes ------------------------------------------------------------------------ */

struct class_scan {
    const char *want;   /* the named class, or NULL */
    const char *driver; /* count defaults of this driver ("" = don't) */
    bool found;
    char found_driver[NAME_LEN];
    int n_defaults;
    char def[2][NAME_LEN];
};

static int
scan_class(void *arg, const char *name, const char *driver, bool is_default)
{
    struct class_scan *s = arg;

    if (s->want != NULL && strcmp(name, s->want) == 0) {
        s->found = true;
        copy(s->found_driver, driver);
    }
    if (is_default && s->driver[0] != '\0' && strcmp(driver, s->driver) == 0) {
        if (s->n_defaults < 2)
            copy(s->def[s->n_defaults], name);
        s->n_defaults++;
    }
    return 0;
}

/* The class warnings.  class_name: the named class or NULL; drv: the source's
 * driver (name "" when unknown); need_default: a default class would be
 * used (PVC or selector source); what: "PVC ns/x" for messages. */
static void
class_checks(const struct wh_warn_lookup *lk, enum wh_class_kind kind, const char *class_name,
             const struct drv *drv, bool need_default, const char *what, struct wh_warnings *w)
{
    const char *k = kind == WH_CLASS_GROUP ? "VolumeGroupSnapshotClass" : "VolumeSnapshotClass";
    const char *field = kind == WH_CLASS_GROUP ? "spec.volumeGroupSnapshotClassName"
                                               : "spec.volumeSnapshotClassName";
    struct class_scan s = {0};

    s.want = class_name;
    s.driver = class_name == NULL && need_default ? drv->name : "";
    if (lk->classes.classes == NULL ||
        lk->classes.classes(lk->classes.ctx, kind, scan_class, &s, NULL) != SC_OK)
        return; /* the cache cannot answer: no warning rather than a wrong one */
    if (class_name != NULL && !s.found) {
        add(w, WH_WARN_CLASS_MISSING,
            "%s \"%s\" does not exist: this object stays unready until it does; create it or "
            "set %s to an existing class",
            k, class_name, field);
    } else if (class_name != NULL && drv->name[0] != '\0' &&
               strcmp(s.found_driver, drv->name) != 0) {
        add(w, WH_WARN_DRIVER_MISMATCH,
            "%s \"%s\" is for driver %s, but %s is on %s (%s): it will fail; set %s to a class "
            "of driver %s",
            k, class_name, s.found_driver, what, drv->name, drv->via, field, drv->name);
    } else if (class_name == NULL && need_default && drv->name[0] != '\0' && s.n_defaults == 0) {
        add(w, WH_WARN_NO_DEFAULT,
            "no default %s for driver %s (%s): it will fail; set %s, or mark one %s of that "
            "driver default",
            k, drv->name, what, field, k);
    } else if (class_name == NULL && need_default && drv->name[0] != '\0' && s.n_defaults > 1) {
        add(w, WH_WARN_MANY_DEFAULTS,
            "%d default %ses for driver %s (%s, %s%s): it will fail; set %s, or keep one default",
            s.n_defaults, k, drv->name, s.def[0], s.def[1], s.n_defaults > 2 ? ", ..." : "", field);
    }
}

/* ---- VolumeSnapshot ------------------------------------------------------------------ */

struct content_info {
    char ref_ns[NAME_LEN], ref_name[NAME_LEN];
};

static int
take_content(void *arg, const void *view)
{
    const struct wh_content *c = view;
    struct content_info *i = arg;

    copy(i->ref_ns, c->ref_ns);
    copy(i->ref_name, c->ref_name);
    return 1;
}

static void
pvc_checks(const struct wh_warn_lookup *lk, const char *ns, const char *pvc, struct drv *drv,
           struct wh_warnings *w)
{
    struct pvc_info p = {0};
    char key[2 * NAME_LEN + 1];
    int rc;

    (void)snprintf(key, sizeof(key), "%s/%s", ns, pvc);
    rc = lk->get(lk->ctx, WH_OBJ_PVC, key, take_pvc, &p, NULL);
    if (rc == SC_ENOTFOUND) {
        add(w, WH_WARN_PVC_MISSING,
            "PersistentVolumeClaim %s/%s does not exist: the snapshot waits until it does; check "
            "spec.source.persistentVolumeClaimName",
            ns, pvc);
        return;
    }
    if (rc != SC_OK)
        return;
    if (p.deleting)
        add(w, WH_WARN_PVC_DELETING,
            "PersistentVolumeClaim %s/%s is being deleted: the snapshot will not be taken; "
            "snapshot a PVC that is not being deleted",
            ns, pvc);
    else if (!p.bound)
        add(w, WH_WARN_PVC_UNBOUND,
            "PersistentVolumeClaim %s/%s is not bound yet: the snapshot waits until it is; see "
            "kubectl describe pvc -n %s %s if it stays Pending",
            ns, pvc, ns, pvc);
    pvc_driver(lk, &p, drv);
}

static void
content_checks(const struct wh_warn_lookup *lk, const char *ns, const char *name,
               const char *content, struct wh_warnings *w)
{
    struct content_info c = {0};

    if (lk->get(lk->ctx, WH_OBJ_CONTENT, content, take_content, &c, NULL) != SC_OK)
        return;
    if (c.ref_name[0] == '\0' || (strcmp(c.ref_ns, ns) == 0 && strcmp(c.ref_name, name) == 0))
        return;
    add(w, WH_WARN_CONTENT_TAKEN,
        "VolumeSnapshotContent %s is bound to VolumeSnapshot %s/%s: this snapshot will fail; name "
        "a content whose spec.volumeSnapshotRef is %s/%s",
        content, c.ref_ns, c.ref_name, ns, name[0] ? name : "<this snapshot>");
}

static void
snapshot_warnings(const struct wh_warn_lookup *lk, const char *ns, const char *name,
                  const json_t *obj, struct wh_warnings *w)
{
    const char *class_name = str_at(obj, "spec", "volumeSnapshotClassName", NULL);
    const char *pvc = str_at(obj, "spec", "source", "persistentVolumeClaimName");
    const char *content = str_at(obj, "spec", "source", "volumeSnapshotContentName");
    struct drv drv = {0};
    char what[2 * NAME_LEN + 8];

    if (pvc != NULL && content != NULL)
        return; /* invalid: the controller reports it */
    if (pvc != NULL) {
        pvc_checks(lk, ns, pvc, &drv, w);
        (void)snprintf(what, sizeof(what), "PVC %s/%s", ns, pvc);
        class_checks(lk, WH_CLASS_SNAPSHOT, class_name, &drv, true, what, w);
    } else if (content != NULL) {
        content_checks(lk, ns, name, content, w);
        (void)snprintf(what, sizeof(what), "content %s", content);
        class_checks(lk, WH_CLASS_SNAPSHOT, class_name, &drv, false, what, w);
    }
}

/* ---- VolumeGroupSnapshot: a LabelSelector over the cached PVCs ----------------------- */

enum sel_op { SEL_EQ, SEL_IN, SEL_NOTIN, SEL_EXISTS, SEL_NOTEXISTS };

struct sel_req {
    const char *key;
    enum sel_op op;
    const char *value;    /* SEL_EQ */
    const json_t *values; /* SEL_IN / SEL_NOTIN: array of strings */
};

struct selector {
    size_t n;
    struct sel_req req[WH_SEL_REQS];
};

static int
sel_op(const char *s, enum sel_op *op)
{
    static const char *const names[] = {"In", "NotIn", "Exists", "DoesNotExist"};

    for (int i = 0; s != NULL && i < 4; i++)
        if (strcmp(s, names[i]) == 0) {
            *op = (enum sel_op)(SEL_IN + i);
            return 0;
        }
    return -1;
}

/* 0, or -1 when the selector is malformed or too big (then no warning). */
static int
sel_parse(const json_t *sel, struct selector *s)
{
    const json_t *ml = json_object_get(sel, "matchLabels");
    const json_t *me = json_object_get(sel, "matchExpressions");
    const char *key;
    const json_t *v;
    size_t i;

    memset(s, 0, sizeof(*s));
    json_object_foreach ((json_t *)ml, key, v) {
        if (!json_is_string(v) || s->n >= WH_SEL_REQS)
            return -1;
        s->req[s->n++] = (struct sel_req){.key = key, .op = SEL_EQ, .value = json_string_value(v)};
    }
    json_array_foreach (me, i, v) {
        struct sel_req r = {0};

        r.key = json_string_value(json_object_get(v, "key"));
        r.values = json_object_get(v, "values");
        if (r.key == NULL || s->n >= WH_SEL_REQS ||
            sel_op(json_string_value(json_object_get(v, "operator")), &r.op) != 0)
            return -1;
        if ((r.op == SEL_IN || r.op == SEL_NOTIN) &&
            (!json_is_array(r.values) || json_array_size(r.values) == 0))
            return -1;
        s->req[s->n++] = r;
    }
    return 0;
}

static bool
in_values(const json_t *values, const char *v)
{
    size_t i;
    const json_t *e;

    json_array_foreach (values, i, e)
        if (json_is_string(e) && strcmp(json_string_value(e), v) == 0)
            return true;
    return false;
}

static bool
sel_match(const struct selector *s, const struct wh_pvc *p)
{
    for (size_t i = 0; i < s->n; i++) {
        const struct sel_req *r = &s->req[i];
        const char *v = wh_pvc_label(p, r->key);
        bool ok = false;

        switch (r->op) {
        case SEL_EQ:
            ok = v != NULL && strcmp(v, r->value) == 0;
            break;
        case SEL_IN:
            ok = v != NULL && in_values(r->values, v);
            break;
        case SEL_NOTIN:
            ok = v == NULL || !in_values(r->values, v);
            break;
        case SEL_EXISTS:
            ok = v != NULL;
            break;
        case SEL_NOTEXISTS:
            ok = v == NULL;
            break;
        }
        if (!ok)
            return false;
    }
    return true;
}

struct group_scan {
    const struct wh_warn_lookup *lk;
    const struct selector *sel;
    size_t matched;
    char first_pvc[NAME_LEN], other_pvc[NAME_LEN];
    struct drv first, other; /* other: the first PVC whose driver differs */
};

static int
scan_pvc(void *arg, const void *view)
{
    struct group_scan *g = arg;
    const struct wh_pvc *p = view;
    struct pvc_info info = {0};
    struct drv d = {0};

    if (!sel_match(g->sel, p))
        return 0;
    g->matched++;
    take_pvc(&info, p);
    pvc_driver(g->lk, &info, &d);
    if (d.name[0] == '\0' || g->other.name[0] != '\0')
        return 0;
    if (g->first.name[0] == '\0') {
        g->first = d;
        copy(g->first_pvc, p->name);
    } else if (strcmp(g->first.name, d.name) != 0) {
        g->other = d;
        copy(g->other_pvc, p->name);
    }
    return 0;
}

static void
group_warnings(const struct wh_warn_lookup *lk, const char *ns, const json_t *obj,
               struct wh_warnings *w)
{
    const char *class_name = str_at(obj, "spec", "volumeGroupSnapshotClassName", NULL);
    const json_t *sel =
        json_object_get(json_object_get(json_object_get(obj, "spec"), "source"), "selector");
    struct selector s = {0};
    struct group_scan g = {0};
    char what[NAME_LEN + 64];

    if (!json_is_object(sel) || sel_parse(sel, &s) != 0)
        return;
    g.lk = lk;
    g.sel = &s;
    if (lk->pvcs(lk->ctx, ns, scan_pvc, &g, NULL) != SC_OK)
        return;
    if (g.matched == 0) {
        add(w, WH_WARN_SELECTOR_EMPTY,
            "spec.source.selector matches no PersistentVolumeClaim in namespace %s: the group "
            "snapshot cannot be taken until one matches; label the PVCs or fix the selector",
            ns);
        return;
    }
    if (g.other.name[0] != '\0') {
        add(w, WH_WARN_MIXED_DRIVERS,
            "spec.source.selector matches PVCs of different drivers (%s on %s, %s on %s): a group "
            "snapshot needs one driver; narrow the selector",
            g.first_pvc, g.first.name, g.other_pvc, g.other.name);
        return;
    }
    (void)snprintf(what, sizeof(what), "PVC %s/%s", ns, g.first_pvc);
    class_checks(lk, WH_CLASS_GROUP, class_name, &g.first, true, what, w);
}

/* ---- entry ------------------------------------------------------------------------------ */

void
wh_warn_review(const struct review_admission *r, const struct wh_warn_lookup *lk,
               struct wh_warnings *w)
{
    const struct review_gvr *gvr = &r->resource;
    const char *ns, *name;

    memset(w, 0, sizeof(*w));
    if (strcmp(r->operation, "CREATE") != 0 || !json_is_object(r->object))
        return;
    ns = r->ns[0] ? r->ns : str_at(r->object, "metadata", "namespace", NULL);
    name = str_at(r->object, "metadata", "name", NULL);
    if (ns == NULL || ns[0] == '\0')
        return;
    if (strcmp(gvr->group, SNAP) == 0 && strcmp(gvr->resource, "volumesnapshots") == 0)
        snapshot_warnings(lk, ns, name ? name : "", r->object, w);
    else if (strcmp(gvr->group, GROUP_SNAP) == 0 &&
             strcmp(gvr->resource, "volumegroupsnapshots") == 0)
        group_warnings(lk, ns, r->object, w);
}
