#include "tests/unit/controller/fake.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"
#include "controller/cintern.h"
#include "controller/cstore.h"
#include "controller/gview.h"
#include "controller/pvc_pin.h"
#include "kube/kclient.h"
#include "kube/kinformer.h"
#include "tests/lib/harness.h"

static void logf_(struct fake *f, const char *fmt, ...) SC_PRINTF(2, 3);

static void
logf_(struct fake *f, const char *fmt, ...)
{
    enum { LINE_MAX_ = 1 << 16 }; /* a 1024-volume content body fits */
    char *line = malloc(LINE_MAX_);
    va_list ap;

    if (line == NULL)
        abort();
    va_start(ap, fmt);
    vsnprintf(line, LINE_MAX_, fmt, ap);
    va_end(ap);
    if (buf_adds(&f->log, line) != 0 || buf_adds(&f->log, "\n") != 0)
        abort();
    free(line);
}

static char *
dump(const json_t *j)
{
    return json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
}

static void
okey(char *out, size_t cap, enum kind k, const char *ns, const char *name)
{
    snprintf(out, cap, "%s %s/%s", kind_name(k), ns != NULL ? ns : "", name);
}

static int
f_get(void *ctx, enum kind k, const char *ns, const char *name, json_t **out, struct sc_err *err)
{
    struct fake *f = ctx;
    char key[512];
    const json_t *o;

    if (k == KIND_PV) {
        logf_(f, "GET pv %s", name);
        o = json_object_get(f->pvs, name);
        if (o == NULL)
            return sc_err_set(err, SC_ENOTFOUND, "persistentvolumes \"%s\" not found", name);
    } else {
        okey(key, sizeof(key), k, ns, name);
        logf_(f, "GET %s", key);
        o = json_object_get(f->objs, key);
        if (o == NULL)
            return sc_err_set(err, SC_ENOTFOUND, "not found");
    }
    *out = json_deep_copy(o);
    return 0;
}

static int
f_list(void *ctx, enum kind k, const char *ns, const char *selector, json_t **out,
       struct sc_err *err)
{
    struct fake *f = ctx;
    json_t *items;
    const json_t *p;
    size_t i;

    if (k == KIND_NODE)
        logf_(f, "LIST nodes");
    else
        logf_(f, "LIST %ss %s %s", kind_name(k), ns, selector);
    if (f->fail_list != 0)
        return sc_err_set(err, f->fail_list, "mock list error");
    if (k == KIND_NODE) {
        *out = json_incref(f->nodes);
        return 0;
    }
    /* every PVC of the namespace: the sync code must apply the selector too */
    items = json_array();
    json_array_foreach (f->pvcs, i, p) {
        const char *pns =
            json_string_value(json_object_get(json_object_get(p, "metadata"), "namespace"));

        if (pns != NULL && strcmp(pns, ns) == 0)
            json_array_append(items, (json_t *)p);
    }
    *out = items;
    return 0;
}

static int
f_create(void *ctx, enum kind k, const char *ns, const json_t *body, json_t **out,
         struct sc_err *err)
{
    struct fake *f = ctx;
    const char *name =
        json_string_value(json_object_get(json_object_get(body, "metadata"), "name"));
    char key[512], uid[64];
    char *s = dump(body);
    json_t *o;

    logf_(f, "CREATE %s %s", kind_name(k), s);
    free(s);
    if (f->fail_create != 0)
        return sc_err_set(err, f->fail_create, "mock create error");
    okey(key, sizeof(key), k, ns, name);
    if (json_object_get(f->objs, key) != NULL)
        return sc_err_set(err, SC_EEXIST, "already exists");
    o = json_deep_copy(body);
    snprintf(uid, sizeof(uid), "uid-%d", ++f->uidn);
    json_object_set_new(json_object_get(o, "metadata"), "uid", json_string(uid));
    json_object_set_new(json_object_get(o, "metadata"), "resourceVersion", json_string("1000"));
    json_object_set(f->objs, key, o);
    if (out != NULL)
        *out = o;
    else
        json_decref(o);
    return 0;
}

/* "ns/name" or "name" of an object reference. */
#define REF_NS(o)   ((o)->m->ns != NULL ? (o)->m->ns : "")
#define REF_SEP(o)  ((o)->m->ns != NULL ? "/" : "")
#define REF_NAME(o) ((o)->m->name)

static int
f_patch(void *ctx, const struct sync_ref *o, bool status, enum sync_patch type, const json_t *patch,
        struct sc_err *err)
{
    struct fake *f = ctx;
    char *s = dump(patch);
    int rc = f->fail_patch;

    logf_(f, "PATCH %s %s%s%s%s %s %s", kind_name(o->kind), REF_NS(o), REF_SEP(o), REF_NAME(o),
          status ? " status" : "", type == SYNC_PATCH_JSON ? "json" : "merge", s);
    free(s);
    f->fail_patch = 0;
    if (rc != 0)
        return sc_err_set(err, rc, "mock patch error");
    return 0;
}

static int
f_del(void *ctx, enum kind k, const char *ns, const char *name, struct sc_err *err)
{
    struct fake *f = ctx;

    logf_(f, "DELETE %s %s%s%s", kind_name(k), ns != NULL ? ns : "", ns != NULL ? "/" : "", name);
    if (f->fail_delete != 0)
        return sc_err_set(err, f->fail_delete, "mock delete error");
    return 0;
}

static void
f_event(void *ctx, const struct sync_ref *o, const char *type, const char *reason, const char *msg)
{
    logf_(ctx, "EVENT %s %s%s%s %s %s %s", kind_name(o->kind), REF_NS(o), REF_SEP(o), REF_NAME(o),
          type, reason, msg);
}

static void
f_enqueue(void *ctx, enum kind k, const char *key)
{
    logf_(ctx, "ENQUEUE %s %s", kind_name(k), key);
}

/* The snapshots' informer callbacks, as ctrl.c's (no LIST ever runs). */
static int
fk_parse(void *ctx, const json_t *obj, void **view, struct sc_err *err)
{
    (void)ctx;
    (void)obj;
    (void)view;
    return sc_err_set(err, SC_EINVALID, "fake: no server");
}

static void
fk_free(void *ctx, void *view)
{
    cstore_free_stored(ctx, view);
}

static const char *
fk_key(void *ctx, const void *view, const char **rv)
{
    return cstore_stored_key(ctx, view, rv);
}

static size_t
fk_bytes(void *ctx, const void *view)
{
    return cstore_stored_flat(ctx, view);
}

static void
fake_attach_snapshots(struct fake *f)
{
    struct kconfig cfg = {.server = "https://127.0.0.1:1"};
    struct kinformer_opts o = {.name = "volumesnapshots",
                               .path = "/apis/snapshot.storage.k8s.io/v1/volumesnapshots",
                               .parse = fk_parse,
                               .free_view = fk_free,
                               .view_key = fk_key,
                               .view_bytes = fk_bytes,
                               .parse_ctx = f->env.snapshots,
                               .keep_newer = true};

    f->kc = kclient_new(&cfg, NULL, NULL);
    f->inf = f->kc != NULL ? kinformer_new(f->kc, &o, NULL) : NULL;
    if (f->inf == NULL || cstore_attach(f->env.snapshots, f->inf) != 0 ||
        pvc_pin_add_index(f->inf, f->env.snapshots, NULL) != 0)
        abort();
}

void
fake_init(struct fake *f)
{
    bool indexed = f->indexed;

    memset(f, 0, sizeof(*f));
    f->indexed = indexed;
    buf_init(&f->log, 4u << 20);
    f->pvs = json_object();
    f->nodes = json_array();
    f->pvcs = json_array();
    f->objs = json_object();
    f->fixtures = FIXTURES;
    f->clock.ms = 1763776800000; /* 2025-11-22T02:00:00Z */
    f->metrics = cmetrics_new(clock_fake(&f->clock));
    f->act = (struct sync_actions){f, f_get, f_list, f_create, f_patch, f_del, f_event, f_enqueue};
    f->env.snapshots = cstore_new();
    f->env.contents = cstore_new();
    /* as in the controller: snapshots and contents kept as records */
    f->intern = cintern_new();
    if (f->intern == NULL || cstore_use_records(f->env.snapshots, CREC_VS, f->intern) != 0 ||
        cstore_use_records(f->env.contents, CREC_VSC, f->intern) != 0)
        abort();
    if (f->indexed)
        fake_attach_snapshots(f);
    f->env.classes = cstore_new();
    f->env.claims = cstore_new();
    f->env.act = &f->act;
    f->env.metrics = f->metrics;
    f->env.clock = clock_fake(&f->clock);
    f->env.opts.prevent_volume_mode_conversion = true;
}

void
fake_init_groups(struct fake *f)
{
    fake_init(f);
    f->fixtures = GROUP_FIXTURES;
    f->clock.ms = 1795312800000; /* 2026-11-22T02:00:00Z */
    f->env.groups = cstore_new();
    f->env.group_contents = cstore_new();
    f->env.group_classes = cstore_new();
}

void
fake_release(struct fake *f)
{
    buf_release(&f->log);
    json_decref(f->pvs);
    json_decref(f->nodes);
    json_decref(f->pvcs);
    json_decref(f->objs);
    kinformer_free(f->inf); /* its items' records go through the store: first */
    kclient_free(f->kc);
    cstore_free(f->env.snapshots);
    cstore_free(f->env.contents);
    cstore_free(f->env.classes);
    cstore_free(f->env.claims);
    cstore_free(f->env.groups);
    cstore_free(f->env.group_contents);
    cstore_free(f->env.group_classes);
    cintern_free(f->intern); /* after the stores */
    cmetrics_free(f->metrics);
}

json_t *
fixture_from(const char *file, const char *name)
{
    static struct {
        const char *file;
        json_t *all;
    } cache[4];
    char path[1024];
    json_error_t e;
    json_t *o;
    size_t i;

    for (i = 0; i < SC_ARRAY_LEN(cache) && cache[i].file != NULL; i++)
        if (strcmp(cache[i].file, file) == 0)
            break;
    if (i == SC_ARRAY_LEN(cache))
        abort();
    if (cache[i].file == NULL) {
        snprintf(path, sizeof(path), "%s/controller/%s", harness_data_dir(), file);
        cache[i].all = json_load_file(path, 0, &e);
        if (cache[i].all == NULL) {
            fprintf(stderr, "%s: %s (line %d)\n", path, e.text, e.line);
            abort();
        }
        cache[i].file = file;
    }
    o = json_object_get(cache[i].all, name);
    if (o == NULL) {
        fprintf(stderr, "no fixture %s\n", name);
        abort();
    }
    return json_deep_copy(o);
}

json_t *
fixture(const char *name)
{
    return fixture_from(FIXTURES, name);
}

/* The store a kind's views go to, NULL for none. */
static struct cstore *
store_of(struct fake *f, enum kind k)
{
    struct cstore *s[N_WATCHED] = {f->env.snapshots,    f->env.contents, f->env.classes,
                                   f->env.claims,       f->env.groups,   f->env.group_contents,
                                   f->env.group_classes};

    return k < N_WATCHED ? s[k] : NULL;
}

/* Parse obj as kind k into its store: 0 or an error. */
static int
add_view(struct fake *f, enum kind k, const json_t *obj, struct sc_err *err)
{
    struct cmeta *m = NULL;
    int rc;

    switch (k) {
    case KIND_VS:
        rc = cvs_parse(obj, (struct cvs **)&m, err);
        break;
    case KIND_VSC:
        rc = cvsc_parse(obj, (struct cvsc **)&m, err);
        break;
    case KIND_CLASS:
        rc = cclass_parse(obj, (struct cclass **)&m, err);
        break;
    case KIND_PVC:
        json_array_append(f->pvcs, (json_t *)obj);
        rc = cpvc_parse(obj, (struct cpvc **)&m, err);
        break;
    case KIND_VGS:
        rc = gvgs_parse(obj, (struct gvgs **)&m, err);
        break;
    case KIND_VGSC:
        rc = gvgsc_parse(obj, (struct gvgsc **)&m, err);
        break;
    default:
        rc = gclass_parse(obj, (struct gclass **)&m, err);
        break;
    }
    if (rc == 0 && (store_of(f, k) == NULL || cstore_put(store_of(f, k), m, true) < 0))
        rc = sc_err_set(err, SC_EINVALID, "no store for %s", kind_name(k));
    return rc;
}

void
fake_add(struct fake *f, const json_t *obj)
{
    static const char *const kinds[N_WATCHED] = {
        "VolumeSnapshot",          "VolumeSnapshotContent", "VolumeSnapshotClass",
        "PersistentVolumeClaim",   "VolumeGroupSnapshot",   "VolumeGroupSnapshotContent",
        "VolumeGroupSnapshotClass"};
    const char *kind = json_string_value(json_object_get(obj, "kind"));
    struct sc_err err = {0};
    int rc = -1, k;

    sc_err_clear(&err);
    for (k = 0; k < N_WATCHED; k++)
        if (strcmp(kind, kinds[k]) == 0)
            rc = add_view(f, (enum kind)k, obj, &err);
    if (strcmp(kind, "PersistentVolume") == 0)
        rc = json_object_set(
            f->pvs, json_string_value(json_object_get(json_object_get(obj, "metadata"), "name")),
            (json_t *)obj);
    else if (strcmp(kind, "Node") == 0)
        rc = json_array_append(f->nodes, (json_t *)obj);
    if (rc != 0) {
        fprintf(stderr, "fake_add %s: %s\n", kind, err.msg);
        abort();
    }
}

void
fake_add_fixture(struct fake *f, const char *name)
{
    json_t *o = fixture_from(f->fixtures, name);

    fake_add(f, o);
    json_decref(o);
}

void
jset(json_t *obj, const char *path, json_t *value)
{
    char seg[256];
    const char *dot;

    while ((dot = strchr(path, '.')) != NULL) {
        json_t *next;

        snprintf(seg, sizeof(seg), "%.*s", (int)(dot - path), path);
        next = json_object_get(obj, seg);
        if (!json_is_object(next)) {
            next = json_object();
            json_object_set_new(obj, seg, next);
        }
        obj = next;
        path = dot + 1;
    }
    json_object_set_new(obj, path, value);
}

void
fake_put(struct fake *f, json_t *obj)
{
    fake_add(f, obj);
    json_decref(obj);
}

void
fake_add_fixtures(struct fake *f, ...)
{
    const char *name;
    va_list ap;

    va_start(ap, f);
    while ((name = va_arg(ap, const char *)) != NULL)
        fake_add_fixture(f, name);
    va_end(ap);
}

void
jfin(json_t *obj, const char *fin)
{
    json_t *m = json_object_get(obj, "metadata");
    json_t *l = json_object_get(m, "finalizers");

    if (l == NULL) {
        l = json_array();
        json_object_set_new(m, "finalizers", l);
    }
    json_array_append_new(l, json_string(fin));
}

static void
jedit1(json_t *obj, const char *e)
{
    const char *eq = strchr(e, '=');
    char path[256];
    json_t *v;

    if (e[0] == '-') {
        jdel(obj, e + 1);
        return;
    }
    if (e[0] == '+') {
        jfin(obj, e + 1);
        return;
    }
    if (eq == NULL)
        abort();
    if (eq > e && eq[-1] == ':') {
        snprintf(path, sizeof(path), "%.*s", (int)(eq - 1 - e), e);
        v = json_loads(eq + 1, JSON_DECODE_ANY, NULL);
        if (v == NULL)
            abort();
    } else {
        snprintf(path, sizeof(path), "%.*s", (int)(eq - e), e);
        v = json_string(eq + 1);
    }
    jset(obj, path, v);
}

json_t *
jedit(json_t *obj, ...)
{
    const char *e;
    va_list ap;

    va_start(ap, obj);
    while ((e = va_arg(ap, const char *)) != NULL)
        jedit1(obj, e);
    va_end(ap);
    return obj;
}

void
jdel(json_t *obj, const char *path)
{
    char seg[256];
    const char *dot;

    while ((dot = strchr(path, '.')) != NULL) {
        snprintf(seg, sizeof(seg), "%.*s", (int)(dot - path), path);
        obj = json_object_get(obj, seg);
        if (obj == NULL)
            return;
        path = dot + 1;
    }
    json_object_del(obj, path);
}

const char *
fake_log(struct fake *f)
{
    return buf_str(&f->log);
}

void
fake_reset_log(struct fake *f)
{
    buf_reset(&f->log);
}

const char *
fake_lines(struct fake *f, const char *prefix, struct buf *tmp)
{
    const char *p = buf_str(&f->log);
    size_t plen = strlen(prefix);

    buf_reset(tmp);
    while (*p != '\0') {
        const char *nl = strchr(p, '\n');
        size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);

        if (n >= plen && strncmp(p, prefix, plen) == 0) {
            if (tmp->len > 0 && buf_add(tmp, "\n", 1) != 0)
                abort();
            if (buf_add(tmp, p, n) != 0)
                abort();
        }
        p += n + (nl != NULL ? 1 : 0);
    }
    return buf_str(tmp);
}
