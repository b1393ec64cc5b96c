/* tests/unit/controller/group_sync_test.c -- VolumeGroupSnapshot and
 * VolumeGroupSnapshotContent decisions on recorded objects
 * (tests/data/controller/group/objects.json) with a recording
 * gsync_actions: every write, event and enqueue becomes one log line. */
#include "controller/gsync.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "tests/lib/harness.h"

#define MEMBER1 "7e6fdcc50bb9dd171e2941d9fded1a0c726ddf36793f2d0f687e9d54a5536446"
#define MEMBER2 "f83dc6ebc002b866bc9ce2fdafa3fda49183572f8de43492478e582a8849603b"

struct gf {
    struct buf log;
    json_t *pvs;  /* name -> PV */
    json_t *pvcs; /* array of PVCs (what LIST returns, API order) */
    json_t *objs; /* "kind ns/name" -> object, for create/get */
    int fail_create, fail_patch, fail_del, fail_list;
    int uidn;
    struct gsync_actions act;
    struct gsync_env env;
    struct fake_clock clock;
    struct cmetrics *metrics;
};

static void glog(struct gf *f, const char *fmt, ...) SC_PRINTF(2, 3);

static void
glog(struct gf *f, const char *fmt, ...)
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

static const char *
kname(enum gsync_kind k)
{
    static const char *const n[] = {"vs", "vsc", "vgs", "vgsc"};

    return n[k];
}

static char *
dump(const json_t *j)
{
    return json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
}

static int
f_get_pv(void *ctx, const char *name, struct cpv **out, struct sc_err *err)
{
    struct gf *f = ctx;
    const json_t *pv = json_object_get(f->pvs, name);

    glog(f, "GET pv %s", name);
    if (pv == NULL)
        return sc_err_set(err, SC_ENOTFOUND, "persistentvolumes \"%s\" not found", name);
    return cpv_parse(pv, out, err);
}

static int
f_list_pvcs(void *ctx, const char *ns, const char *selector, json_t **out, struct sc_err *err)
{
    struct gf *f = ctx;
    json_t *items = json_array();
    const json_t *p;
    size_t i;

    glog(f, "LIST pvcs %s %s", ns, selector);
    if (f->fail_list != 0) {
        json_decref(items);
        return sc_err_set(err, f->fail_list, "mock list error");
    }
    /* the fake returns every PVC of the namespace: the selector must be
     * applied by the sync code itself too */
    json_array_foreach (f->pvcs, i, p) {
        const char *pns =
            json_string_value(json_object_get(json_object_get(p, "metadata"), "namespace"));

        if (pns != NULL && strcmp(pns, ns) == 0)
            json_array_append(items, (json_t *)p);
    }
    *out = items;
    return 0;
}

static void
okey(char *out, size_t cap, enum gsync_kind k, const char *ns, const char *name)
{
    snprintf(out, cap, "%s %s/%s", kname(k), ns != NULL ? ns : "", name);
}

static int
f_create(void *ctx, enum gsync_kind k, const char *ns, const json_t *body, json_t **out,
         struct sc_err *err)
{
    struct gf *f = ctx;
    const char *name =
        json_string_value(json_object_get(json_object_get(body, "metadata"), "name"));
    char key[512], uid[64];
    char *s = dump(body);
    json_t *o;

    glog(f, "CREATE %s %s", kname(k), s);
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

static int
f_get(void *ctx, enum gsync_kind k, const char *ns, const char *name, json_t **out,
      struct sc_err *err)
{
    struct gf *f = ctx;
    char key[512];
    json_t *o;

    okey(key, sizeof(key), k, ns, name);
    glog(f, "GET %s", key);
    o = json_object_get(f->objs, key);
    if (o == NULL)
        return sc_err_set(err, SC_ENOTFOUND, "not found");
    *out = json_deep_copy(o);
    return 0;
}

static int
f_patch(void *ctx, const struct gsync_obj *o, bool status, enum sync_patch type,
        const json_t *patch, struct sc_err *err)
{
    struct gf *f = ctx;
    char *s = dump(patch);
    int rc = f->fail_patch;

    glog(f, "PATCH %s %s%s%s%s %s %s", kname(o->kind), o->ns != NULL ? o->ns : "",
         o->ns != NULL ? "/" : "", o->name, status ? " status" : "",
         type == SYNC_PATCH_JSON ? "json" : "merge", s);
    free(s);
    f->fail_patch = 0;
    if (rc != 0)
        return sc_err_set(err, rc, "mock patch error");
    return 0;
}

static int
f_del(void *ctx, enum gsync_kind k, const char *ns, const char *name, struct sc_err *err)
{
    struct gf *f = ctx;

    glog(f, "DELETE %s %s%s%s", kname(k), ns != NULL ? ns : "", ns != NULL ? "/" : "", name);
    if (f->fail_del != 0)
        return sc_err_set(err, f->fail_del, "mock delete error");
    return 0;
}

static void
f_event(void *ctx, const struct gsync_obj *o, const char *type, const char *reason, const char *msg)
{
    glog(ctx, "EVENT %s %s%s%s %s %s %s", kname(o->kind), o->ns != NULL ? o->ns : "",
         o->ns != NULL ? "/" : "", o->name, type, reason, msg);
}

static void
f_enq_g(void *ctx, const char *key)
{
    glog(ctx, "ENQUEUE vgs %s", key);
}

static void
f_enq_gc(void *ctx, const char *key)
{
    glog(ctx, "ENQUEUE vgsc %s", key);
}

static void
f_enq_vs(void *ctx, const char *key)
{
    glog(ctx, "ENQUEUE vs %s", key);
}

static void
gf_init(struct gf *f)
{
    memset(f, 0, sizeof(*f));
    buf_init(&f->log, 4u << 20);
    f->pvs = json_object();
    f->pvcs = json_array();
    f->objs = json_object();
    f->clock.ms = 1795312800000; /* 2026-11-22T02:00:00Z */
    f->metrics = cmetrics_new(clock_fake(&f->clock));
    f->act = (struct gsync_actions){f,     f_get_pv, f_list_pvcs, f_create, f_get,   f_patch,
                                    f_del, f_event,  f_enq_g,     f_enq_gc, f_enq_vs};
    f->env.groups = cstore_new();
    f->env.group_contents = cstore_new();
    f->env.group_classes = cstore_new();
    f->env.snapshots = cstore_new();
    f->env.contents = cstore_new();
    f->env.claims = cstore_new();
    f->env.act = &f->act;
    f->env.metrics = f->metrics;
    f->env.clock = clock_fake(&f->clock);
}

static void
gf_release(struct gf *f)
{
    buf_release(&f->log);
    json_decref(f->pvs);
    json_decref(f->pvcs);
    json_decref(f->objs);
    cstore_free(f->env.groups);
    cstore_free(f->env.group_contents);
    cstore_free(f->env.group_classes);
    cstore_free(f->env.snapshots);
    cstore_free(f->env.contents);
    cstore_free(f->env.claims);
    cmetrics_free(f->metrics);
}

static json_t *
fx(const char *name)
{
    static json_t *all;
    char path[1024];
    json_error_t e;
    json_t *o;

    if (all == NULL) {
        snprintf(path, sizeof(path), "%s/controller/group/objects.json", harness_data_dir());
        all = json_load_file(path, 0, &e);
        if (all == NULL) {
            fprintf(stderr, "%s: %s (line %d)\n", path, e.text, e.line);
            abort();
        }
    }
    o = json_object_get(all, name);
    if (o == NULL) {
        fprintf(stderr, "no fixture %s\n", name);
        abort();
    }
    return json_deep_copy(o);
}

/* Set a dotted path (value stolen), creating objects. */
static void
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

static void
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

static void
put(struct cstore *s, struct cmeta *m)
{
    if (cstore_put(s, m, true) < 0)
        abort();
}

/* Put obj (borrowed) where its kind lives. */
static void
gf_add(struct gf *f, const json_t *obj)
{
    const char *kind = json_string_value(json_object_get(obj, "kind"));
    struct sc_err err = {0};
    int rc = 0;

    sc_err_clear(&err);
    if (strcmp(kind, "VolumeGroupSnapshot") == 0) {
        struct gvgs *v = NULL;

        rc = gvgs_parse(obj, &v, &err);
        if (rc == 0)
            put(f->env.groups, &v->m);
    } else if (strcmp(kind, "VolumeGroupSnapshotContent") == 0) {
        struct gvgsc *v = NULL;

        rc = gvgsc_parse(obj, &v, &err);
        if (rc == 0)
            put(f->env.group_contents, &v->m);
    } else if (strcmp(kind, "VolumeGroupSnapshotClass") == 0) {
        struct gclass *v = NULL;

        rc = gclass_parse(obj, &v, &err);
        if (rc == 0)
            put(f->env.group_classes, &v->m);
    } else if (strcmp(kind, "VolumeSnapshot") == 0) {
        struct cvs *v = NULL;

        rc = cvs_parse(obj, &v, &err);
        if (rc == 0)
            put(f->env.snapshots, &v->m);
    } else if (strcmp(kind, "VolumeSnapshotContent") == 0) {
        struct cvsc *v = NULL;

        rc = cvsc_parse(obj, &v, &err);
        if (rc == 0)
            put(f->env.contents, &v->m);
    } else if (strcmp(kind, "PersistentVolumeClaim") == 0) {
        struct cpvc *v = NULL;

        json_array_append(f->pvcs, (json_t *)obj);
        rc = cpvc_parse(obj, &v, &err);
        if (rc == 0)
            put(f->env.claims, &v->m);
    } else if (strcmp(kind, "PersistentVolume") == 0) {
        json_object_set(
            f->pvs, json_string_value(json_object_get(json_object_get(obj, "metadata"), "name")),
            (json_t *)obj);
    }
    if (rc != 0) {
        fprintf(stderr, "gf_add %s: %s\n", kind, err.msg);
        abort();
    }
}

static void
gf_fx(struct gf *f, const char *name)
{
    json_t *o = fx(name);

    gf_add(f, o);
    json_decref(o);
}

/* The standard world: class, two app=db PVCs, one unlabelled, their PVs. */
static void
gf_world(struct gf *f)
{
    static const char *const names[] = {"gclass", "pvc-db-1", "pvc-db-2", "pvc-other",
                                        "pv-1",   "pv-2",     "pv-3"};
    size_t i;

    for (i = 0; i < SC_ARRAY_LEN(names); i++)
        gf_fx(f, names[i]);
}

/* Lines of the log that start with prefix, joined by "\n". */
static const char *
lines(struct gf *f, const char *prefix, struct buf *tmp)
{
    const char *p = buf_str(&f->log);
    size_t plen = strlen(prefix);

    buf_reset(tmp);
    while (*p != '\0') {
        const char *nl = strchr(p, '\n');
        size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);

        if (n >= plen && strncmp(p, prefix, plen) == 0) {
            if ((tmp->len > 0 && buf_add(tmp, "\n", 1) != 0) || buf_add(tmp, p, n) != 0)
                abort();
        }
        p += n + (nl != NULL ? 1 : 0);
    }
    return buf_str(tmp);
}

static bool
has(struct gf *f, const char *needle)
{
    return strstr(buf_str(&f->log), needle) != NULL;
}

static int
count(struct gf *f, const char *needle)
{
    const char *p = buf_str(&f->log);
    int n = 0;

    while ((p = strstr(p, needle)) != NULL) {
        n++;
        p += strlen(needle);
    }
    return n;
}

static int
sync_group(struct gf *f, const char *key, struct sc_err *err)
{
    int rc = group_sync_key(&f->env, key, err);

    if (getenv("GROUP_TEST_LOG") != NULL)
        fprintf(stderr, "---- %s rc=%d %s\n%s", key, rc, err->msg, buf_str(&f->log));
    return rc;
}

/* ---- dynamic groups: selection and content creation ---- */

static void
dynamic_creates_content_for_selected_pvcs(void)
{
    struct gf f = {0};
    struct sc_err err = {0};
    struct buf t = {0};

    gf_init(&f);
    buf_init(&t, 1 << 16);
    gf_world(&f);
    gf_fx(&f, "vgs-selector");
    CHECK_INT(sync_group(&f, "default/db-group", &err), 0);
    CHECK_STR(lines(&f, "LIST", &t), "LIST pvcs default app=db");
    CHECK_STR(
        lines(&f, "CREATE", &t),
        "CREATE vgsc {\"apiVersion\":\"groupsnapshot.storage.k8s.io/v1\",\"kind\":"
        "\"VolumeGroupSnapshotContent\",\"metadata\":{\"name\":\"groupsnapcontent-vgs-uid-1\"},"
        "\"spec\":{\"deletionPolicy\":\"Delete\",\"driver\":\"testdriver.csi.k8s.io\","
        "\"source\":{\"volumeHandles\":[\"vol-h1\",\"vol-h2\"]},"
        "\"volumeGroupSnapshotClassName\":\"csi-test-groupclass\",\"volumeGroupSnapshotRef\":"
        "{\"apiVersion\":\"groupsnapshot.storage.k8s.io/v1\",\"kind\":\"VolumeGroupSnapshot\","
        "\"name\":\"db-group\",\"namespace\":\"default\",\"resourceVersion\":\"500\","
        "\"uid\":\"vgs-uid-1\"}}}");
    CHECK_STR(
        lines(&f, "EVENT", &t),
        "EVENT vgs default/db-group Normal CreatingGroupSnapshot Waiting for a group snapshot "
        "default/db-group to be created by the CSI driver.");
    CHECK_STR(lines(&f, "PATCH", &t),
              "PATCH vgs default/db-group status merge {\"status\":{"
              "\"boundVolumeGroupSnapshotContentName\":\"groupsnapcontent-vgs-uid-1\","
              "\"readyToUse\":false}}");
    CHECK(!has(&f, "pv-3"));
    buf_release(&t);
    gf_release(&f);
}

static void
dynamic_match_expressions_selector(void)
{
    struct gf f = {0};
    struct sc_err err = {0};
    struct buf t = {0};
    json_t *g = fx("vgs-selector");

    gf_init(&f);
    buf_init(&t, 1 << 16);
    gf_world(&f);
    jset(g, "spec.source.selector",
         json_pack("{s:[{s:s,s:s,s:[s,s]}]}", "matchExpressions", "key", "app", "operator", "In",
                   "values", "db", "cache"));
    gf_add(&f, g);
    CHECK_INT(sync_group(&f, "default/db-group", &err), 0);
    CHECK_STR(lines(&f, "LIST", &t), "LIST pvcs default app in (cache,db)");
    CHECK(has(&f, "\"volumeHandles\":[\"vol-h1\",\"vol-h2\"]"));
    CHECK(!has(&f, "vol-h3"));
    /* NotIn picks the other one only: upstream would select all three */
    buf_reset(&f.log);
    jset(g, "spec.source.selector",
         json_pack("{s:[{s:s,s:s,s:[s]}]}", "matchExpressions", "key", "app", "operator", "NotIn",
                   "values", "db"));
    jset(g, "metadata.resourceVersion", json_string("501"));
    json_object_clear(f.objs);
    gf_add(&f, g);
    CHECK_INT(sync_group(&f, "default/db-group", &err), 0);
    CHECK(has(&f, "\"volumeHandles\":[\"vol-h3\"]"));
    json_decref(g);
    buf_release(&t);
    gf_release(&f);
}

static void
dynamic_no_pvc_selected(void)
{
    struct gf f = {0};
    struct sc_err err = {0};
    struct buf t = {0};
    json_t *g = fx("vgs-selector");

    gf_init(&f);
    buf_init(&t, 1 << 16);
    gf_world(&f);
    jset(g, "spec.source.selector", json_pack("{s:{s:s}}", "matchLabels", "app", "nothing"));
    gf_add(&f, g);
    CHECK(sync_group(&f, "default/db-group", &err) != 0);
    CHECK_STR(lines(&f, "EVENT", &t),
              "EVENT vgs default/db-group Warning GroupSnapshotContentCreationFailed failed to "
              "create group snapshot content with error failed to get input parameters to create "
              "group snapshot db-group: \"label selector app=nothing for group snapshot not "
              "applied to any PVC\"");
    CHECK(!has(&f, "CREATE"));
    json_decref(g);
    buf_release(&t);
    gf_release(&f);
}

static void
dynamic_unbound_pvc(void)
{
    struct gf f = {0};
    struct sc_err err = {0};
    json_t *p = fx("pvc-db-2");

    gf_init(&f);
    gf_fx(&f, "gclass");
    gf_fx(&f, "pvc-db-1");
    gf_fx(&f, "pv-1");
    jset(p, "status.phase", json_string("Pending"));
    gf_add(&f, p);
    gf_fx(&f, "vgs-selector");
    CHECK(sync_group(&f, "default/db-group", &err) != 0);
    CHECK(has(&f, "the PVC db-data-2 is not yet bound to a PV, will not attempt to take a group "
                  "snapshot"));
    CHECK(!has(&f, "CREATE"));
    json_decref(p);
    gf_release(&f);
}

static void
dynamic_driver_mismatch(void)
{
    struct gf f = {0};
    struct sc_err err = {0};
    json_t *pv = fx("pv-2");

    gf_init(&f);
    gf_world(&f);
    jset(pv, "spec.csi.driver", json_string("other.csi.k8s.io"));
    gf_add(&f, pv);
    gf_fx(&f, "vgs-selector");
    CHECK(sync_group(&f, "default/db-group", &err) != 0);
    CHECK(has(&f, "EVENT vgs default/db-group Warning CreateGroupSnapshotContentFailed Volume CSI "
                  "driver (other.csi.k8s.io) mismatch with VolumeGroupSnapshotClass "
                  "(testdriver.csi.k8s.io) default/db-group: pv-2"));
    CHECK(has(&f, "Warning GroupSnapshotContentCreationFailed failed to create group snapshot "
                  "content with error Volume CSI driver (other.csi.k8s.io) mismatch"));
    CHECK(!has(&f, "CREATE"));
    json_decref(pv);
    gf_release(&f);
}

static void
dynamic_non_csi_volume(void)
{
    struct gf f = {0};
    struct sc_err err = {0};
    json_t *pv = fx("pv-1");

    gf_init(&f);
    gf_world(&f);
    jdel(pv, "spec.csi");
    gf_add(&f, pv);
    gf_fx(&f, "vgs-selector");
    CHECK(sync_group(&f, "default/db-group", &err) != 0);
    CHECK(has(&f, "Warning CreateGroupSnapshotContentFailed Cannot snapshot a non-CSI volume: "
                  "pv-1"));
    CHECK(has(&f, "cannot snapshot a non-CSI volume for group snapshot default/db-group: pv-1"));
    json_decref(pv);
    gf_release(&f);
}

static void
dynamic_create_is_idempotent(void)
{
    struct gf f = {0};
    struct sc_err err = {0};

    gf_init(&f);
    gf_world(&f);
    gf_fx(&f, "vgs-selector");
    CHECK_INT(sync_group(&f, "default/db-group", &err), 0);
    buf_reset(&f.log);
    /* a second pass before the informer saw the content: AlreadyExists */
    CHECK_INT(sync_group(&f, "default/db-group", &err), 0);
    CHECK_INT(count(&f, "CREATE vgsc"), 1);
    CHECK(has(&f, "CreatingGroupSnapshot"));
    CHECK_INT(count(&f, "CreateGroupSnapshotContentFailed"), 0);
    f.fail_create = SC_EFORBIDDEN;
    buf_reset(&f.log);
    CHECK_INT(sync_group(&f, "default/db-group", &err), SC_EFORBIDDEN);
    CHECK(has(&f, "Warning CreateGroupSnapshotContentFailed Error creating volume group snapshot "
                  "content object for group snapshot default/db-group: mock create error."));
    gf_release(&f);
}

static void
dynamic_secret_annotations(void)
{
    struct gf f = {0};
    struct sc_err err = {0};
    json_t *c = fx("gclass");

    gf_init(&f);
    gf_world(&f);
    jset(c, "parameters",
         json_pack("{s:s,s:s}", PARAM_GROUP_SECRET_NAME, "sec-${volumegroupsnapshot.name}",
                   PARAM_GROUP_SECRET_NS, "${volumegroupsnapshot.namespace}"));
    jset(c, "metadata.resourceVersion", json_string("101"));
    gf_add(&f, c);
    gf_fx(&f, "vgs-selector");
    CHECK_INT(sync_group(&f, "default/db-group", &err), 0);
    CHECK(has(&f, "\"metadata\":{\"annotations\":{\"" ANN_GROUP_DEL_SECRET_NAME
                  "\":\"sec-db-group\",\"" ANN_GROUP_DEL_SECRET_NS "\":\"default\"}"));
    json_decref(c);
    gf_release(&f);
}

static void
bad_selector_and_api_errors(void)
{
    struct gf f = {0};
    struct sc_err err = {0};
    json_t *g = fx("vgs-selector");

    gf_init(&f);
    gf_world(&f);
    jset(g, "spec.source.selector",
         json_pack("{s:[{s:s,s:s,s:[s]}]}", "matchExpressions", "key", "app", "operator", "Gt",
                   "values", "1"));
    gf_add(&f, g);
    CHECK_INT(sync_group(&f, "default/db-group", &err), SC_EINVALID);
    CHECK(has(&f, "invalid label selector of group snapshot default/db-group: \\\"Gt\\\" is not "
                  "a valid label selector operator"));
    CHECK(!has(&f, "LIST"));
    /* LIST refused by the API (403): a clear error, no content */
    json_decref(g);
    g = fx("vgs-selector");
    jset(g, "metadata.resourceVersion", json_string("501"));
    gf_add(&f, g);
    buf_reset(&f.log);
    f.fail_list = SC_EFORBIDDEN;
    CHECK_INT(sync_group(&f, "default/db-group", &err), SC_EFORBIDDEN);
    CHECK(has(&f, "failed to list PVCs with label selector app=db: mock list error"));
    CHECK(!has(&f, "CREATE"));
    /* a conflict on the status write is returned (requeue) */
    f.fail_list = 0;
    buf_reset(&f.log);
    json_object_set_new(f.objs, "vgsc /groupsnapcontent-vgs-uid-1", json_object());
    f.fail_patch = SC_ECONFLICT;
    CHECK_INT(sync_group(&f, "default/db-group", &err), SC_ECONFLICT);
    CHECK(has(&f, "Warning GroupSnapshotStatusUpdateFailed GroupSnapshot status update failed, "
                  "snapshot controller failed to update default/db-group on API server: mock "
                  "patch error"));
    json_decref(g);
    gf_release(&f);
}

/* A group of GVIEW_MAX_VOLUMES volumes: one content with every handle, in
 * PVC list order; one more PVC is refused (SC_ETOOBIG). */
static void
large_group_at_the_cap(void)
{
    struct gf f = {0};
    struct sc_err err = {0};
    json_t *g = fx("vgs-selector");
    char name[64], vol[64], uid[64], h[64];
    int i;

    gf_init(&f);
    gf_fx(&f, "gclass");
    for (i = 0; i <= GVIEW_MAX_VOLUMES; i++) {
        json_t *pvc = fx("pvc-db-1"), *pv = fx("pv-1");

        snprintf(name, sizeof(name), "data-%04d", i);
        snprintf(vol, sizeof(vol), "pv-%04d", i);
        snprintf(uid, sizeof(uid), "pvc-uid-%04d", i);
        snprintf(h, sizeof(h), "vol-%04d", i);
        jset(pvc, "metadata.name", json_string(name));
        jset(pvc, "metadata.uid", json_string(uid));
        jset(pvc, "spec.volumeName", json_string(vol));
        jset(pv, "metadata.name", json_string(vol));
        jset(pv, "spec.csi.volumeHandle", json_string(h));
        jset(pv, "spec.claimRef",
             json_pack("{s:s,s:s,s:s}", "name", name, "namespace", "default", "uid", uid));
        if (i < GVIEW_MAX_VOLUMES)
            gf_add(&f, pvc);
        gf_add(&f, pv);
        if (i == GVIEW_MAX_VOLUMES)
            json_array_append(f.pvcs, pvc); /* listed only in the second round */
        json_decref(pvc);
        json_decref(pv);
    }
    json_array_remove(f.pvcs, (size_t)GVIEW_MAX_VOLUMES);
    gf_add(&f, g);
    CHECK_INT(sync_group(&f, "default/db-group", &err), 0);
    CHECK_INT(count(&f, "GET pv "), GVIEW_MAX_VOLUMES);
    CHECK(has(&f, "[\"vol-0000\",\"vol-0001\","));
    CHECK(has(&f, ",\"vol-1023\"]"));
    {
        json_t *extra = fx("pvc-db-1");

        jset(extra, "metadata.name", json_string("data-1024"));
        jset(extra, "metadata.uid", json_string("pvc-uid-1024"));
        jset(extra, "spec.volumeName", json_string("pv-1024"));
        json_array_append_new(f.pvcs, extra);
    }
    json_object_clear(f.objs);
    jset(g, "metadata.resourceVersion", json_string("501"));
    gf_add(&f, g);
    buf_reset(&f.log);
    CHECK_INT(sync_group(&f, "default/db-group", &err), SC_ETOOBIG);
    CHECK(has(&f, "selects more than 1024 PVCs"));
    CHECK(!has(&f, "CREATE"));
    /* the driver reported all 1024: 1024 member pairs, each PVC named */
    json_array_remove(f.pvcs, (size_t)GVIEW_MAX_VOLUMES);
    {
        json_t *c = fx("vgsc-dynamic"), *infos = json_array(), *handles = json_array();

        for (i = 0; i < GVIEW_MAX_VOLUMES; i++) {
            snprintf(h, sizeof(h), "vol-%04d", i);
            snprintf(name, sizeof(name), "snap-%04d", i);
            json_array_append_new(handles, json_string(h));
            json_array_append_new(infos, json_pack("{s:s,s:s,s:b}", "volumeHandle", h,
                                                   "snapshotHandle", name, "readyToUse", 1));
        }
        jset(c, "spec.source.volumeHandles", handles);
        jset(c, "status.volumeSnapshotInfoList", infos);
        gf_add(&f, c);
        json_decref(c);
    }
    buf_reset(&f.log);
    CHECK_INT(sync_group(&f, "default/db-group", &err), 0);
    CHECK_INT(count(&f, "CREATE vs "), GVIEW_MAX_VOLUMES);
    CHECK_INT(count(&f, "CREATE vsc "), GVIEW_MAX_VOLUMES);
    CHECK(has(&f, "\"persistentVolumeClaimName\":\"data-1023\""));
    CHECK_INT(count(&f, "\"persistentVolumeClaimName\":\"\""), 0);
    json_decref(g);
    gf_release(&f);
}

/* ---- default class ---- */

static void
default_class_is_set(void)
{
    struct gf f = {0};
    struct sc_err err = {0};
    struct buf t = {0};
    json_t *g = fx("vgs-selector");

    gf_init(&f);
    buf_init(&t, 1 << 16);
    gf_world(&f);
    jdel(g, "spec.volumeGroupSnapshotClassName");
    gf_add(&f, g);
    CHECK_INT(sync_group(&f, "default/db-group", &err), 0);
    CHECK_STR(lines(&f, "PATCH", &t),
              "PATCH vgs default/db-group merge {\"spec\":{\"volumeGroupSnapshotClassName\":"
              "\"csi-test-groupclass\"}}");
    CHECK(!has(&f, "CREATE"));
    json_decref(g);
    buf_release(&t);
    gf_release(&f);
}

static void
default_class_two_defaults(void)
{
    struct gf f = {0};
    struct sc_err err = {0};
    struct buf t = {0};
    json_t *g = fx("vgs-selector"), *c2 = fx("gclass");

    gf_init(&f);
    buf_init(&t, 1 << 16);
    gf_world(&f);
    jset(c2, "metadata.name", json_string("second-groupclass"));
    gf_add(&f, c2);
    jdel(g, "spec.volumeGroupSnapshotClassName");
    gf_add(&f, g);
    CHECK_INT(sync_group(&f, "default/db-group", &err), SC_EINVALID);
    CHECK_STR(err.msg, "2 default snapshot classes were found");
    CHECK_STR(lines(&f, "EVENT", &t),
              "EVENT vgs default/db-group Warning SetDefaultGroupSnapshotClassFailed Failed to set "
              "default group snapshot class with error 2 default snapshot classes were found");
    CHECK(has(&f, "PATCH vgs default/db-group status merge {\"status\":{\"error\":{\"message\":"
                  "\"Failed to set default group snapshot class with error 2 default snapshot "
                  "classes were found\",\"time\":\"2026-11-22T02:00:00Z\"}}}"));
    json_decref(g);
    json_decref(c2);
    buf_release(&t);
    gf_release(&f);
}

static void
default_class_none_for_driver(void)
{
    struct gf f = {0};
    struct sc_err err = {0};
    json_t *g = fx("vgs-selector"), *c = fx("gclass");

    gf_init(&f);
    gf_world(&f);
    jset(c, "driver", json_string("other.csi.k8s.io"));
    gf_add(&f, c);
    jdel(g, "spec.volumeGroupSnapshotClassName");
    gf_add(&f, g);
    CHECK_INT(sync_group(&f, "default/db-group", &err), SC_EINVALID);
    CHECK_STR(err.msg, "cannot find default group snapshot class");
    json_decref(g);
    json_decref(c);
    gf_release(&f);
}

static void
explicit_class_missing(void)
{
    struct gf f = {0};
    struct sc_err err = {0};
    json_t *g = fx("vgs-selector");

    gf_init(&f);
    gf_fx(&f, "pvc-db-1");
    jset(g, "spec.volumeGroupSnapshotClassName", json_string("gone"));
    gf_add(&f, g);
    CHECK_INT(sync_group(&f, "default/db-group", &err), SC_ENOTFOUND);
    CHECK(has(&f,
              "Warning GetGroupSnapshotClassFailed failed to get group snapshot class with "
              "error volumegroupsnapshotclass.groupsnapshot.storage.k8s.io \"gone\" not found"));
    json_decref(g);
    gf_release(&f);
}

static void
validation_error(void)
{
    struct gf f = {0};
    struct sc_err err = {0};
    json_t *g = fx("vgs-selector");

    gf_init(&f);
    gf_world(&f);
    jset(g, "spec.source.volumeGroupSnapshotContentName", json_string("x"));
    gf_add(&f, g);
    CHECK_INT(sync_group(&f, "default/db-group", &err), SC_EINVALID);
    CHECK(has(&f, "Warning GroupSnapshotValidationError Exactly one of Selector and "
                  "VolumeGroupSnapshotContentName should be specified"));
    CHECK(has(&f, "\"readyToUse\":false"));
    json_decref(g);
    gf_release(&f);
}

/* ---- members ---- */

static void
members_created_when_group_reported(void)
{
    struct gf f = {0};
    struct sc_err err = {0};
    struct buf t = {0};

    gf_init(&f);
    buf_init(&t, 1 << 16);
    gf_world(&f);
    gf_fx(&f, "vgs-selector");
    gf_fx(&f, "vgsc-dynamic");
    CHECK_INT(sync_group(&f, "default/db-group", &err), 0);
    CHECK_STR(
        lines(&f, "CREATE", &t),
        "CREATE vsc {\"apiVersion\":\"snapshot.storage.k8s.io/v1\",\"kind\":"
        "\"VolumeSnapshotContent\",\"metadata\":{\"annotations\":{"
        "\"groupsnapshot.storage.k8s.io/volumeGroupSnapshotHandle\":\"group-handle-1\"},"
        "\"name\":\"snapcontent-" MEMBER1 "\"},\"spec\":{\"deletionPolicy\":\"Delete\","
        "\"driver\":\"testdriver.csi.k8s.io\",\"source\":{\"volumeHandle\":\"vol-h1\"},"
        "\"sourceVolumeMode\":\"Filesystem\",\"volumeSnapshotRef\":{\"kind\":"
        "\"VolumeSnapshot\",\"name\":\"snapshot-" MEMBER1 "\",\"namespace\":\"default\"}}}\n"
        "CREATE vs {\"apiVersion\":\"snapshot.storage.k8s.io/v1\",\"kind\":\"VolumeSnapshot\","
        "\"metadata\":{\"finalizers\":[\"snapshot.storage.kubernetes.io/"
        "volumesnapshot-in-group-protection\"],\"name\":\"snapshot-" MEMBER1 "\","
        "\"namespace\":\"default\",\"ownerReferences\":[{\"apiVersion\":"
        "\"groupsnapshot.storage.k8s.io/v1\",\"kind\":\"VolumeGroupSnapshot\",\"name\":"
        "\"db-group\",\"uid\":\"vgs-uid-1\"}]},\"spec\":{\"source\":{"
        "\"persistentVolumeClaimName\":\"db-data-1\"}}}\n"
        "CREATE vsc {\"apiVersion\":\"snapshot.storage.k8s.io/v1\",\"kind\":"
        "\"VolumeSnapshotContent\",\"metadata\":{\"annotations\":{"
        "\"groupsnapshot.storage.k8s.io/volumeGroupSnapshotHandle\":\"group-handle-1\"},"
        "\"name\":\"snapcontent-" MEMBER2 "\"},\"spec\":{\"deletionPolicy\":\"Delete\","
        "\"driver\":\"testdriver.csi.k8s.io\",\"source\":{\"volumeHandle\":\"vol-h2\"},"
        "\"sourceVolumeMode\":\"Block\",\"volumeSnapshotRef\":{\"kind\":"
        "\"VolumeSnapshot\",\"name\":\"snapshot-" MEMBER2 "\",\"namespace\":\"default\"}}}\n"
        "CREATE vs {\"apiVersion\":\"snapshot.storage.k8s.io/v1\",\"kind\":\"VolumeSnapshot\","
        "\"metadata\":{\"finalizers\":[\"snapshot.storage.kubernetes.io/"
        "volumesnapshot-in-group-protection\"],\"name\":\"snapshot-" MEMBER2 "\","
        "\"namespace\":\"default\",\"ownerReferences\":[{\"apiVersion\":"
        "\"groupsnapshot.storage.k8s.io/v1\",\"kind\":\"VolumeGroupSnapshot\",\"name\":"
        "\"db-group\",\"uid\":\"vgs-uid-1\"}]},\"spec\":{\"source\":{"
        "\"persistentVolumeClaimName\":\"db-data-2\"}}}");
    CHECK_STR(lines(&f, "PATCH vsc snapcontent-" MEMBER1, &t),
              "PATCH vsc snapcontent-" MEMBER1 " merge {\"spec\":{\"volumeSnapshotRef\":{\"uid\":"
              "\"uid-2\"}}}\n"
              "PATCH vsc snapcontent-" MEMBER1 " status merge {\"status\":{\"creationTime\":"
              "1795312805000000000,\"readyToUse\":true,\"restoreSize\":1073741824,"
              "\"snapshotHandle\":\"snap-h1\",\"volumeGroupSnapshotHandle\":\"group-handle-1\"}}");
    CHECK_STR(lines(&f, "PATCH vs default/snapshot-" MEMBER2, &t),
              "PATCH vs default/snapshot-" MEMBER2 " status merge {\"status\":{"
              "\"boundVolumeSnapshotContentName\":\"snapcontent-" MEMBER2 "\","
              "\"volumeGroupSnapshotName\":\"db-group\"}}");
    /* then the group status: bound, created, ready */
    CHECK_STR(lines(&f, "PATCH vgs", &t),
              "PATCH vgs default/db-group status merge {\"status\":{"
              "\"boundVolumeGroupSnapshotContentName\":\"groupsnapcontent-vgs-uid-1\","
              "\"creationTime\":\"2026-11-22T02:00:05Z\",\"readyToUse\":true}}");
    CHECK_STR(lines(&f, "EVENT", &t),
              "EVENT vgs default/db-group Normal GroupSnapshotCreated GroupSnapshot "
              "default/db-group was successfully created by the CSI driver.\n"
              "EVENT vgs default/db-group Normal GroupSnapshotReady GroupSnapshot default/db-group "
              "is ready to use.");
    /* the order: members before the group's readiness */
    CHECK(strstr(buf_str(&f.log), "CREATE vs") < strstr(buf_str(&f.log), "PATCH vgs"));
    buf_release(&t);
    gf_release(&f);
}

static void
members_not_created_before_report(void)
{
    struct gf f = {0};
    struct sc_err err = {0};
    json_t *c = fx("vgsc-dynamic");

    gf_init(&f);
    gf_world(&f);
    gf_fx(&f, "vgs-selector");
    jdel(c, "status");
    gf_add(&f, c);
    CHECK_INT(sync_group(&f, "default/db-group", &err), 0);
    CHECK(!has(&f, "CREATE"));
    CHECK(has(&f, "\"readyToUse\":false"));
    json_decref(c);
    gf_release(&f);
}

/* A pass that stopped after the members were created (a crash or restart)
 * runs again: AlreadyExists adopts them, nothing is created twice, and no
 * binding write repeats for objects already bound. */
static void
members_rerun_adopts_existing(void)
{
    struct gf f = {0};
    struct sc_err err = {0};
    json_t *vs, *vsc;
    char key[256];

    gf_init(&f);
    gf_world(&f);
    gf_fx(&f, "vgs-selector");
    gf_fx(&f, "vgsc-dynamic");
    CHECK_INT(sync_group(&f, "default/db-group", &err), 0);
    /* make the created objects look bound, as the API would after the patches */
    snprintf(key, sizeof(key), "vs default/snapshot-%s", MEMBER1);
    vs = json_object_get(f.objs, key);
    jset(vs, "status.boundVolumeSnapshotContentName", json_string("snapcontent-" MEMBER1));
    jset(vs, "status.volumeGroupSnapshotName", json_string("db-group"));
    snprintf(key, sizeof(key), "vsc /snapcontent-%s", MEMBER1);
    vsc = json_object_get(f.objs, key);
    jset(vsc, "spec.volumeSnapshotRef.uid", json_string("uid-2"));
    jset(vsc, "status",
         json_pack("{s:s,s:s,s:I,s:b,s:I}", "snapshotHandle", "snap-h1",
                   "volumeGroupSnapshotHandle", "group-handle-1", "creationTime",
                   (json_int_t)1795312805000000000, "readyToUse", 1, "restoreSize",
                   (json_int_t)1073741824));
    buf_reset(&f.log);
    CHECK_INT(sync_group(&f, "default/db-group", &err), 0);
    CHECK_INT(count(&f, "CREATE vs "), 2);               /* attempted ... */
    CHECK_INT(count(&f, "GET vs default/snapshot-"), 2); /* ... and adopted */
    CHECK_INT(count(&f, "GET vsc /snapcontent-"), 2);
    CHECK_INT(count(&f, "PATCH vsc snapcontent-" MEMBER1), 0);
    CHECK_INT(count(&f, "PATCH vs default/snapshot-" MEMBER1), 0);
    CHECK_INT(count(&f, "PATCH vsc snapcontent-" MEMBER2), 2); /* still unbound in the fake */
    CHECK_INT(json_object_size(f.objs), 4);                    /* exactly two members */
    gf_release(&f);
}

/* The group is ready and bound, but its members are not in the caches (the
 * controller stopped between readiness and member creation in an older
 * version, or a member was removed): the ready path makes them. */
static void
members_recreated_on_ready_group(void)
{
    struct gf f = {0};
    struct sc_err err = {0};
    json_t *g = fx("vgs-selector");

    gf_init(&f);
    gf_world(&f);
    jset(g, "status",
         json_pack("{s:s,s:b,s:s}", "boundVolumeGroupSnapshotContentName",
                   "groupsnapcontent-vgs-uid-1", "readyToUse", 1, "creationTime",
                   "2026-11-22T02:00:05Z"));
    jset(g, "metadata.finalizers", json_pack("[s]", FIN_VGS_BOUND));
    gf_add(&f, g);
    gf_fx(&f, "vgsc-dynamic");
    CHECK_INT(sync_group(&f, "default/db-group", &err), 0);
    CHECK_INT(count(&f, "CREATE vs "), 2);
    CHECK_INT(count(&f, "CREATE vsc "), 2);
    CHECK(!has(&f, "PATCH vgs"));
    json_decref(g);
    gf_release(&f);
}

static void
members_create_error_wrapped(void)
{
    struct gf f = {0};
    struct sc_err err = {0};

    gf_init(&f);
    gf_world(&f);
    gf_fx(&f, "vgs-selector");
    gf_fx(&f, "vgsc-dynamic");
    f.fail_create = SC_ESERVER;
    CHECK_INT(sync_group(&f, "default/db-group", &err), SC_ESERVER);
    CHECK_STR(err.msg, "createIndividualSnapshotForGroupSnapshot: creating volumesnapshotcontent "
                       "mock create error");
    CHECK(!has(&f, "PATCH vgs")); /* not ready before its members exist */
    gf_release(&f);
}

static void
bound_finalizer_added(void)
{
    struct gf f = {0};
    struct sc_err err = {0};
    struct buf t = {0};
    json_t *g = fx("vgs-selector");

    gf_init(&f);
    buf_init(&t, 1 << 16);
    gf_world(&f);
    jset(g, "status",
         json_pack("{s:s,s:b}", "boundVolumeGroupSnapshotContentName", "groupsnapcontent-vgs-uid-1",
                   "readyToUse", 0));
    gf_add(&f, g);
    gf_fx(&f, "vgsc-dynamic");
    CHECK_INT(sync_group(&f, "default/db-group", &err), 0);
    CHECK_STR(buf_str(&f.log),
              "PATCH vgs default/db-group json [{\"op\":\"test\",\"path\":"
              "\"/metadata/resourceVersion\",\"value\":\"500\"},{\"op\":\"add\",\"path\":"
              "\"/metadata/finalizers\",\"value\":[\"" FIN_VGS_BOUND "\"]}]\n");
    json_decref(g);
    buf_release(&t);
    gf_release(&f);
}

static void
content_misbound(void)
{
    struct gf f = {0};
    struct sc_err err = {0};
    json_t *c = fx("vgsc-dynamic");

    gf_init(&f);
    gf_world(&f);
    gf_fx(&f, "vgs-selector");
    jset(c, "spec.volumeGroupSnapshotRef.uid", json_string("someone-else"));
    gf_add(&f, c);
    CHECK(sync_group(&f, "default/db-group", &err) != 0);
    CHECK(has(&f, "Warning GroupSnapshotContentMisbound VolumeGroupSnapshotContent "
                  "[groupsnapcontent-vgs-uid-1] is bound to a different group snapshot"));
    CHECK(has(&f, "Warning GroupSnapshotFinalizerError Failed to check and update group "
                  "snapshot: "));
    json_decref(c);
    gf_release(&f);
}

/* ---- deletion ---- */

static json_t *
member_vs(const char *hash, bool deleting)
{
    char name[128], content[128];
    json_t *vs;

    snprintf(name, sizeof(name), "snapshot-%s", hash);
    snprintf(content, sizeof(content), "snapcontent-%s", hash);
    vs = json_pack("{s:s,s:s,s:{s:s,s:s,s:s,s:s,s:[{s:s,s:s,s:s,s:s}],s:[s,s]},"
                   "s:{s:{s:s}},s:{s:s,s:s,s:b}}",
                   "apiVersion", "snapshot.storage.k8s.io/v1", "kind", "VolumeSnapshot", "metadata",
                   "name", name, "namespace", "default", "uid", hash, "resourceVersion", "700",
                   "ownerReferences", "apiVersion", "groupsnapshot.storage.k8s.io/v1", "kind",
                   "VolumeGroupSnapshot", "name", "db-group", "uid", "vgs-uid-1", "finalizers",
                   FIN_VS_INGROUP, FIN_VS_SOURCE, "spec", "source", "persistentVolumeClaimName",
                   "db-data-1", "status", "boundVolumeSnapshotContentName", content,
                   "volumeGroupSnapshotName", "db-group", "readyToUse", 1);
    if (deleting)
        jset(vs, "metadata.deletionTimestamp", json_string("2026-11-22T02:10:00Z"));
    return vs;
}

static void
deleting_world(struct gf *f, const char *policy)
{
    json_t *g = fx("vgs-selector"), *c = fx("vgsc-dynamic"), *m1 = member_vs(MEMBER1, false),
           *m2 = member_vs(MEMBER2, false);

    gf_world(f);
    jset(g, "metadata.deletionTimestamp", json_string("2026-11-22T02:10:00Z"));
    jset(g, "metadata.finalizers", json_pack("[s,s]", "other/finalizer", FIN_VGS_BOUND));
    jset(g, "status",
         json_pack("{s:s,s:b}", "boundVolumeGroupSnapshotContentName", "groupsnapcontent-vgs-uid-1",
                   "readyToUse", 1));
    jset(c, "spec.deletionPolicy", json_string(policy));
    gf_add(f, g);
    gf_add(f, c);
    gf_add(f, m1);
    gf_add(f, m2);
    json_decref(g);
    json_decref(c);
    json_decref(m1);
    json_decref(m2);
}

static void
delete_policy_delete(void)
{
    struct gf f = {0};
    struct sc_err err = {0};
    struct buf t = {0};

    gf_init(&f);
    buf_init(&t, 1 << 16);
    deleting_world(&f, "Delete");
    CHECK_INT(sync_group(&f, "default/db-group", &err), 0);
    CHECK_STR(lines(&f, "PATCH", &t),
              "PATCH vgsc groupsnapcontent-vgs-uid-1 merge {\"metadata\":{\"annotations\":{"
              "\"" ANN_GROUP_BEING_DELETED "\":\"yes\"}}}");
    CHECK_STR(lines(&f, "DELETE", &t), "DELETE vgsc groupsnapcontent-vgs-uid-1\n"
                                       "DELETE vs default/snapshot-" MEMBER1 "\n"
                                       "DELETE vs default/snapshot-" MEMBER2);
    /* the finalizer stays until the content is gone */
    CHECK(!has(&f, "remove"));
    /* the content leaves: its delete event requeues the group, which now
     * lets go of its finalizer (index 1, guarded by a test) */
    {
        struct gvgsc *c =
            (struct gvgsc *)cstore_get(f.env.group_contents, "groupsnapcontent-vgs-uid-1");

        buf_reset(&f.log);
        group_content_deleted(&f.env, c);
        CVIEW_UNREF(c);
    }
    CHECK_STR(buf_str(&f.log), "ENQUEUE vgs default/db-group\n");
    buf_reset(&f.log);
    CHECK_INT(sync_group(&f, "default/db-group", &err), 0);
    CHECK_STR(
        lines(&f, "PATCH", &t),
        "PATCH vgs default/db-group json [{\"op\":\"test\",\"path\":\"/metadata/finalizers/1\","
        "\"value\":\"" FIN_VGS_BOUND "\"},{\"op\":\"remove\",\"path\":"
        "\"/metadata/finalizers/1\"}]");
    buf_release(&t);
    gf_release(&f);
}

static void
delete_policy_retain(void)
{
    struct gf f = {0};
    struct sc_err err = {0};
    struct buf t = {0};

    gf_init(&f);
    buf_init(&t, 1 << 16);
    deleting_world(&f, "Retain");
    CHECK_INT(sync_group(&f, "default/db-group", &err), 0);
    CHECK_STR(lines(&f, "DELETE", &t),
              "DELETE vs default/snapshot-" MEMBER1 "\nDELETE vs default/snapshot-" MEMBER2);
    CHECK(has(&f, "\"" ANN_GROUP_BEING_DELETED "\":\"yes\""));
    CHECK(has(&f, "{\"op\":\"remove\",\"path\":\"/metadata/finalizers/1\"}"));
    buf_release(&t);
    gf_release(&f);
}

static void
delete_blocked_by_restore(void)
{
    struct gf f = {0};
    struct sc_err err = {0};
    json_t *p = fx("pvc-other");

    gf_init(&f);
    deleting_world(&f, "Delete");
    jset(p, "metadata.name", json_string("restoring"));
    jset(p, "status.phase", json_string("Pending"));
    jset(p, "spec.dataSource",
         json_pack("{s:s,s:s,s:s}", "kind", "VolumeSnapshot", "apiGroup", "snapshot.storage.k8s.io",
                   "name", "snapshot-" MEMBER2));
    gf_add(&f, p);
    CHECK_INT(sync_group(&f, "default/db-group", &err), SC_EINVALID);
    CHECK(has(&f, "EVENT vgs default/db-group Warning SnapshotDeletePending Snapshot "
                  "default/snapshot-" MEMBER2 " belonging to VolumeGroupSnapshot default/db-group "
                  "is being used to restore a PVC"));
    CHECK(!has(&f, "DELETE"));
    json_decref(p);
    gf_release(&f);
}

static void
delete_member_error(void)
{
    struct gf f = {0};
    struct sc_err err = {0};

    gf_init(&f);
    deleting_world(&f, "Retain");
    f.fail_del = SC_EFORBIDDEN;
    CHECK_INT(sync_group(&f, "default/db-group", &err), SC_EFORBIDDEN);
    CHECK(has(&f, "Warning SnapshotDeleteError failed to delete snapshot API object "
                  "default/snapshot-" MEMBER1 " part of group snapshot default/db-group: mock "
                  "delete error"));
    CHECK(!has(&f, "remove"));
    gf_release(&f);
}

static void
delete_content_error(void)
{
    struct gf f = {0};
    struct sc_err err = {0};

    gf_init(&f);
    deleting_world(&f, "Delete");
    f.fail_del = SC_ESERVER;
    CHECK_INT(sync_group(&f, "default/db-group", &err), SC_ESERVER);
    CHECK(has(&f, "Warning GroupSnapshotContentObjectDeleteError Failed to delete group snapshot "
                  "content API object"));
    gf_release(&f);
}

static void
delete_without_finalizer_does_nothing(void)
{
    struct gf f = {0};
    struct sc_err err = {0};
    json_t *g = fx("vgs-selector");

    gf_init(&f);
    gf_world(&f);
    jset(g, "metadata.deletionTimestamp", json_string("2026-11-22T02:10:00Z"));
    jset(g, "metadata.finalizers", json_pack("[s]", "other/finalizer"));
    gf_add(&f, g);
    CHECK_INT(sync_group(&f, "default/db-group", &err), 0);
    CHECK_STR(buf_str(&f.log), "");
    json_decref(g);
    gf_release(&f);
}

static void
group_deleted_releases_members(void)
{
    struct gf f = {0};
    struct gvgs *g = NULL;
    struct buf t = {0};

    gf_init(&f);
    buf_init(&t, 1 << 16);
    deleting_world(&f, "Delete");
    g = (struct gvgs *)cstore_get(f.env.groups, "default/db-group");
    cmetrics_start(f.metrics, OP_CREATE_GROUP_SNAPSHOT, "vgs-uid-1", "d", "dynamic");
    cmetrics_start(f.metrics, OP_DELETE_GROUP_SNAPSHOT, "vgs-uid-1", "d", "dynamic");
    CHECK_INT(cmetrics_in_flight(f.metrics), 2);
    group_deleted(&f.env, g);
    CHECK(cstore_get(f.env.groups, "default/db-group") == NULL);
    CHECK_INT(cmetrics_in_flight(f.metrics), 0);
    CHECK_STR(lines(&f, "ENQUEUE vgsc", &t), "ENQUEUE vgsc groupsnapcontent-vgs-uid-1");
    CHECK_INT(count(&f, "ENQUEUE vs default/snapshot-"), 2);
    CVIEW_UNREF(g);
    buf_release(&t);
    gf_release(&f);
}

/* ---- pre-provisioned ---- */

static void
static_content_missing(void)
{
    struct gf f = {0};
    struct sc_err err = {0};

    gf_init(&f);
    gf_fx(&f, "vgs-static");
    CHECK_INT(sync_group(&f, "default/static-group", &err), SC_ENOTFOUND);
    CHECK_STR(err.msg, "group snapshot default/static-group requests an non-existing group "
                       "snapshot content static-groupcontent");
    CHECK(has(&f, "Warning GroupSnapshotContentMissing VolumeGroupSnapshotContent is missing"));
    gf_release(&f);
}

static void
static_binds_and_links_members(void)
{
    struct gf f = {0};
    struct sc_err err = {0};
    struct buf t = {0};
    json_t *c = fx("vgsc-static"), *vs, *vsc;

    gf_init(&f);
    buf_init(&t, 1 << 16);
    gf_fx(&f, "vgs-static");
    jset(c, "status",
         json_pack("{s:s,s:b,s:s}", "volumeGroupSnapshotHandle", "group-handle-2", "readyToUse", 1,
                   "creationTime", "2026-11-22T02:00:07Z"));
    gf_add(&f, c);
    /* a user-made member pair whose content reports the group handle */
    vs = json_pack("{s:s,s:s,s:{s:s,s:s,s:s,s:s},s:{s:{s:s}}}", "apiVersion",
                   "snapshot.storage.k8s.io/v1", "kind", "VolumeSnapshot", "metadata", "name",
                   "static-1", "namespace", "default", "uid", "svs-1", "resourceVersion", "800",
                   "spec", "source", "volumeSnapshotContentName", "static-content-1");
    vsc = json_pack("{s:s,s:s,s:{s:s,s:s,s:s},s:{s:{s:s,s:s,s:s},s:s,s:s,s:{s:s}},s:{s:s,s:s}}",
                    "apiVersion", "snapshot.storage.k8s.io/v1", "kind", "VolumeSnapshotContent",
                    "metadata", "name", "static-content-1", "uid", "svsc-1", "resourceVersion",
                    "801", "spec", "volumeSnapshotRef", "name", "static-1", "namespace", "default",
                    "uid", "svs-1", "deletionPolicy", "Retain", "driver", "testdriver.csi.k8s.io",
                    "source", "snapshotHandle", "snap-s1", "status", "snapshotHandle", "snap-s1",
                    "volumeGroupSnapshotHandle", "group-handle-2");
    gf_add(&f, vs);
    gf_add(&f, vsc);
    json_object_set(f.objs, "vs default/static-1", vs);
    CHECK_INT(sync_group(&f, "default/static-group", &err), 0);
    CHECK_STR(lines(&f, "PATCH", &t),
              "PATCH vgsc static-groupcontent merge {\"spec\":{\"volumeGroupSnapshotRef\":{\"uid\":"
              "\"vgs-uid-2\"}}}\n"
              "PATCH vs default/static-1 status merge {\"status\":{\"volumeGroupSnapshotName\":"
              "\"static-group\"}}\n"
              "PATCH vs default/static-1 json [{\"op\":\"test\",\"path\":"
              "\"/metadata/resourceVersion\",\"value\":\"800\"},{\"op\":\"add\",\"path\":"
              "\"/metadata/ownerReferences\",\"value\":[{\"apiVersion\":"
              "\"groupsnapshot.storage.k8s.io/v1\",\"kind\":\"VolumeGroupSnapshot\",\"name\":"
              "\"static-group\",\"uid\":\"vgs-uid-2\"}]}]\n"
              "PATCH vgs default/static-group status merge {\"status\":{"
              "\"boundVolumeGroupSnapshotContentName\":\"static-groupcontent\",\"creationTime\":"
              "\"2026-11-22T02:00:07Z\",\"readyToUse\":true}}");
    json_decref(c);
    json_decref(vs);
    json_decref(vsc);
    buf_release(&t);
    gf_release(&f);
}

static void
static_content_dynamic_mismatch(void)
{
    struct gf f = {0};
    struct sc_err err = {0};
    json_t *g = fx("vgs-static");

    gf_init(&f);
    jset(g, "spec.source.volumeGroupSnapshotContentName",
         json_string("groupsnapcontent-vgs-uid-1"));
    gf_add(&f, g);
    gf_fx(&f, "vgsc-dynamic");
    CHECK(sync_group(&f, "default/static-group", &err) != 0);
    CHECK(has(&f, "Warning GroupSnapshotContentMismatch VolumeGroupSnapshotContent is dynamically "
                  "provisioned while expecting a pre-provisioned one"));
    json_decref(g);
    gf_release(&f);
}

/* ---- group content sync ---- */

static void
content_sync_validation_and_finalizer(void)
{
    struct gf f = {0};
    struct sc_err err = {0};
    json_t *c = fx("vgsc-dynamic");

    gf_init(&f);
    jset(c, "spec.source.groupSnapshotHandles",
         json_pack("{s:s,s:[s]}", "volumeGroupSnapshotHandle", "x", "volumeSnapshotHandles", "y"));
    gf_add(&f, c);
    CHECK_INT(group_content_sync_key(&f.env, "groupsnapcontent-vgs-uid-1", &err), SC_EINVALID);
    CHECK_STR(buf_str(&f.log),
              "EVENT vgsc groupsnapcontent-vgs-uid-1 Warning GroupContentValidationError Exactly "
              "one of GroupSnapshotHandles and VolumeHandles should be specified\n");
    json_decref(c);
    c = fx("vgsc-dynamic");
    jdel(c, "metadata.finalizers");
    jset(c, "metadata.resourceVersion", json_string("521"));
    gf_add(&f, c);
    buf_reset(&f.log);
    CHECK_INT(group_content_sync_key(&f.env, "groupsnapcontent-vgs-uid-1", &err), 0);
    CHECK_STR(buf_str(&f.log),
              "PATCH vgsc groupsnapcontent-vgs-uid-1 json [{\"op\":\"test\",\"path\":"
              "\"/metadata/resourceVersion\",\"value\":\"521\"},{\"op\":\"add\",\"path\":"
              "\"/metadata/finalizers\",\"value\":[\"" FIN_VGSC_BOUND "\"]}]\n");
    json_decref(c);
    gf_release(&f);
}

static void
content_sync_enqueues_group(void)
{
    struct gf f = {0};
    struct sc_err err = {0};
    json_t *c = fx("vgsc-dynamic");

    gf_init(&f);
    gf_fx(&f, "vgs-selector");
    gf_fx(&f, "vgsc-dynamic");
    CHECK_INT(group_content_sync_key(&f.env, "groupsnapcontent-vgs-uid-1", &err), 0);
    CHECK_STR(buf_str(&f.log), "ENQUEUE vgs default/db-group\n");
    /* pre-bound (no uid): nothing */
    jdel(c, "spec.volumeGroupSnapshotRef.uid");
    jset(c, "metadata.resourceVersion", json_string("522"));
    gf_add(&f, c);
    buf_reset(&f.log);
    CHECK_INT(group_content_sync_key(&f.env, "groupsnapcontent-vgs-uid-1", &err), 0);
    CHECK_STR(buf_str(&f.log), "");
    CHECK_INT(group_content_sync_key(&f.env, "absent", &err), 0);
    json_decref(c);
    gf_release(&f);
}

/* ---- helpers ---- */

static void
member_names_are_sha256(void)
{
    char vs[GSYNC_MEMBER_NAME_LEN], vsc[GSYNC_MEMBER_NAME_LEN];

    CHECK_INT(gsync_member_names("vgs-uid-1", "vol-h1", vs, vsc, sizeof(vs)), 0);
    CHECK_STR(vs, "snapshot-" MEMBER1);
    CHECK_STR(vsc, "snapcontent-" MEMBER1);
    CHECK_INT(gsync_member_names("vgs-uid-1", "vol-h1", vs, vsc, 10), SC_ETOOBIG);
}

static void
secret_templates(void)
{
    struct gclass c = {0};
    char name[256], ns[256];
    bool has_ref;
    struct sc_err err = {0};

    memset(&c, 0, sizeof(c));
    CHECK_INT(gsync_secret_ref(&c, "gc", "ns1", "g1", &has_ref, name, ns, sizeof(name), &err), 0);
    CHECK(!has_ref);
    c.has_secret_name = c.has_secret_ns = true;
    c.secret_name = "${volumegroupsnapshotcontent.name}-$volumegroupsnapshot";
    c.secret_ns = "${volumegroupsnapshot.namespace}";
    /* $name without braces stops at the dot (os.Expand) */
    CHECK_INT(gsync_secret_ref(&c, "gc", "ns1", "g1", &has_ref, name, ns, sizeof(name), &err),
              SC_EINVALID);
    CHECK_STR(err.msg, "error resolving value \"${volumegroupsnapshotcontent.name}-"
                       "$volumegroupsnapshot\": invalid tokens: [\"volumegroupsnapshot\"]");
    c.secret_name = "s-${volumegroupsnapshot.name}";
    CHECK_INT(gsync_secret_ref(&c, "gc", "ns1", "g1", &has_ref, name, ns, sizeof(name), &err), 0);
    CHECK(has_ref);
    CHECK_STR(name, "s-g1");
    CHECK_STR(ns, "ns1");
    /* members: no group snapshot, only the content name resolves */
    CHECK_INT(gsync_secret_ref(&c, "gc", NULL, NULL, &has_ref, name, ns, sizeof(name), &err),
              SC_EINVALID);
    CHECK_STR(err.msg, "error resolving value \"${volumegroupsnapshot.namespace}\": invalid "
                       "tokens: [\"volumegroupsnapshot.namespace\"]");
    c.secret_ns = "Bad_NS";
    CHECK_INT(gsync_secret_ref(&c, "gc", "ns1", "g1", &has_ref, name, ns, sizeof(name), &err),
              SC_EINVALID);
    CHECK_STR(err.msg, "\"Bad_NS\" is not a valid namespace name");
    c.has_secret_ns = false;
    CHECK_INT(gsync_secret_ref(&c, "gc", "ns1", "g1", &has_ref, name, ns, sizeof(name), &err),
              SC_EINVALID);
}

static void
hooks_for_snapshot_side(void)
{
    struct gf f = {0};
    char out[256], msg[1024];

    gf_init(&f);
    gf_fx(&f, "vgs-selector");
    gf_fx(&f, "vgsc-dynamic");
    CHECK(gsync_group_exists(f.env.groups, "default", "db-group"));
    CHECK(!gsync_group_exists(f.env.groups, "other", "db-group"));
    CHECK(!gsync_group_exists(NULL, "default", "db-group"));
    {
        /* deleting with no finalizer left: already gone at the API server */
        json_t *g = fx("vgs-selector");

        jset(g, "metadata.deletionTimestamp", json_string("2026-11-22T02:10:00Z"));
        jset(g, "metadata.resourceVersion", json_string("600"));
        gf_add(&f, g);
        CHECK(!gsync_group_exists(f.env.groups, "default", "db-group"));
        jset(g, "metadata.finalizers", json_pack("[s]", FIN_VGS_BOUND));
        gf_add(&f, g);
        CHECK(gsync_group_exists(f.env.groups, "default", "db-group"));
        json_decref(g);
    }
    CHECK(gsync_group_name_for_handle(f.env.group_contents, "group-handle-1", out, sizeof(out)));
    CHECK_STR(out, "db-group");
    CHECK(!gsync_group_name_for_handle(f.env.group_contents, "nope", out, sizeof(out)));
    CHECK(!gsync_group_name_for_handle(NULL, "group-handle-1", out, sizeof(out)));
    gsync_member_delete_msg("default", "snapshot-x", "db-group", msg, sizeof(msg));
    CHECK_STR(msg,
              "deletion of the individual volume snapshot default/snapshot-x is not allowed as "
              "it belongs to group snapshot default/db-group. Deleting the group snapshot "
              "will trigger the deletion of all the individual volume snapshots that are "
              "part of the group.");
    gf_release(&f);
}

TEST_MAIN(TEST(dynamic_creates_content_for_selected_pvcs), TEST(dynamic_match_expressions_selector),
          TEST(dynamic_no_pvc_selected), TEST(dynamic_unbound_pvc), TEST(dynamic_driver_mismatch),
          TEST(dynamic_non_csi_volume), TEST(dynamic_create_is_idempotent),
          TEST(dynamic_secret_annotations), TEST(bad_selector_and_api_errors),
          TEST(large_group_at_the_cap), TEST(default_class_is_set),
          TEST(default_class_two_defaults), TEST(default_class_none_for_driver),
          TEST(explicit_class_missing), TEST(validation_error),
          TEST(members_created_when_group_reported), TEST(members_not_created_before_report),
          TEST(members_rerun_adopts_existing), TEST(members_recreated_on_ready_group),
          TEST(members_create_error_wrapped), TEST(bound_finalizer_added), TEST(content_misbound),
          TEST(delete_policy_delete), TEST(delete_policy_retain), TEST(delete_blocked_by_restore),
          TEST(delete_member_error), TEST(delete_content_error),
          TEST(delete_without_finalizer_does_nothing), TEST(group_deleted_releases_members),
          TEST(static_content_missing), TEST(static_binds_and_links_members),
          TEST(static_content_dynamic_mismatch), TEST(content_sync_validation_and_finalizer),
          TEST(content_sync_enqueues_group), TEST(member_names_are_sha256), TEST(secret_templates),
          TEST(hooks_for_snapshot_side))
