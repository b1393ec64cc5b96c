#include "tests/unit/controller/fake.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"
#include "tests/lib/harness.h"

static void logf_(struct fake *f, const char *fmt, ...) SC_PRINTF(2, 3);

static void
logf_(struct fake *f, const char *fmt, ...)
{
    char line[8192];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (buf_adds(&f->log, line) != 0 || buf_adds(&f->log, "\n") != 0)
        abort();
}

static char *
dump(const json_t *j)
{
    return json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
}

static int
f_get_pv(void *ctx, const char *name, struct cpv **out, struct sc_err *err)
{
    struct fake *f = ctx;
    const json_t *pv = json_object_get(f->pvs, name);

    logf_(f, "GET pv %s", name);
    if (pv == NULL)
        return sc_err_set(err, SC_ENOTFOUND, "persistentvolumes \"%s\" not found", name);
    return cpv_parse(pv, out, err);
}

static int
f_list_nodes(void *ctx, json_t **out, struct sc_err *err)
{
    struct fake *f = ctx;

    (void)err;
    logf_(f, "LIST nodes");
    *out = json_incref(f->nodes);
    return 0;
}

static int
f_create(void *ctx, const json_t *body, struct sc_err *err)
{
    struct fake *f = ctx;
    char *s = dump(body);

    logf_(f, "CREATE vsc %s", s);
    free(s);
    if (f->fail_create != 0)
        return sc_err_set(err, f->fail_create, "mock create error");
    return 0;
}

static const char *
kind_name(enum sync_kind k)
{
    return k == SYNC_VS ? "vs" : k == SYNC_VSC ? "vsc" : "pvc";
}

static int
f_patch(void *ctx, const struct sync_obj *o, bool status, enum sync_patch type, const json_t *patch,
        struct sc_err *err)
{
    struct fake *f = ctx;
    char *s = dump(patch);
    int rc = f->fail_patch;

    logf_(f, "PATCH %s %s%s%s%s %s %s", kind_name(o->kind), o->ns != NULL ? o->ns : "",
          o->ns != NULL ? "/" : "", o->name, status ? " status" : "",
          type == SYNC_PATCH_JSON ? "json" : "merge", s);
    free(s);
    f->fail_patch = 0;
    if (rc != 0)
        return sc_err_set(err, rc, "mock patch error");
    return 0;
}

static int
f_delete(void *ctx, const char *name, struct sc_err *err)
{
    struct fake *f = ctx;

    logf_(f, "DELETE vsc %s", name);
    if (f->fail_delete != 0)
        return sc_err_set(err, f->fail_delete, "mock delete error");
    return 0;
}

static void
f_event(void *ctx, const struct sync_obj *o, const char *type, const char *reason, const char *msg)
{
    struct fake *f = ctx;

    logf_(f, "EVENT %s %s%s%s %s %s %s", kind_name(o->kind), o->ns != NULL ? o->ns : "",
          o->ns != NULL ? "/" : "", o->name, type, reason, msg);
}

static void
f_enq_vs(void *ctx, const char *key)
{
    logf_(ctx, "ENQUEUE vs %s", key);
}

static void
f_enq_vsc(void *ctx, const char *key)
{
    logf_(ctx, "ENQUEUE vsc %s", key);
}

void
fake_init(struct fake *f)
{
    memset(f, 0, sizeof(*f));
    buf_init(&f->log, 1u << 20);
    f->pvs = json_object();
    f->nodes = json_array();
    f->clock.ms = 1763776800000; /* 2025-11-22T02:00:00Z */
    f->metrics = cmetrics_new(clock_fake(&f->clock));
    f->act = (struct sync_actions){f,        f_get_pv, f_list_nodes, f_create, f_patch,
                                   f_delete, f_event,  f_enq_vs,     f_enq_vsc};
    f->env.snapshots = cstore_new();
    f->env.contents = cstore_new();
    f->env.classes = cstore_new();
    f->env.claims = cstore_new();
    f->env.act = &f->act;
    f->env.metrics = f->metrics;
    f->env.clock = clock_fake(&f->clock);
    f->env.opts.prevent_volume_mode_conversion = true;
}

void
fake_release(struct fake *f)
{
    buf_release(&f->log);
    json_decref(f->pvs);
    json_decref(f->nodes);
    cstore_free(f->env.snapshots);
    cstore_free(f->env.contents);
    cstore_free(f->env.classes);
    cstore_free(f->env.claims);
    cmetrics_free(f->metrics);
}

json_t *
fixture(const char *name)
{
    static json_t *all;
    char path[1024];
    json_error_t e;
    json_t *o;

    if (all == NULL) {
        snprintf(path, sizeof(path), "%s/controller/objects.json", harness_data_dir());
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

void
fake_add(struct fake *f, const json_t *obj)
{
    const char *kind = json_string_value(json_object_get(obj, "kind"));
    struct sc_err err = {0};
    int rc = -1;

    if (strcmp(kind, "VolumeSnapshot") == 0) {
        struct cvs *v = NULL;

        rc = cvs_parse(obj, &v, &err);
        if (rc == 0)
            rc = cstore_put(f->env.snapshots, &v->m, true) < 0;
    } else if (strcmp(kind, "VolumeSnapshotContent") == 0) {
        struct cvsc *v = NULL;

        rc = cvsc_parse(obj, &v, &err);
        if (rc == 0)
            rc = cstore_put(f->env.contents, &v->m, true) < 0;
    } else if (strcmp(kind, "VolumeSnapshotClass") == 0) {
        struct cclass *v = NULL;

        rc = cclass_parse(obj, &v, &err);
        if (rc == 0)
            rc = cstore_put(f->env.classes, &v->m, true) < 0;
    } else if (strcmp(kind, "PersistentVolumeClaim") == 0) {
        struct cpvc *v = NULL;

        rc = cpvc_parse(obj, &v, &err);
        if (rc == 0)
            rc = cstore_put(f->env.claims, &v->m, true) < 0;
    } else if (strcmp(kind, "PersistentVolume") == 0) {
        rc = json_object_set(
            f->pvs, json_string_value(json_object_get(json_object_get(obj, "metadata"), "name")),
            (json_t *)obj);
    } else if (strcmp(kind, "Node") == 0) {
        rc = json_array_append(f->nodes, (json_t *)obj);
    }
    if (rc != 0) {
        fprintf(stderr, "fake_add %s: %s\n", kind, err.msg);
        abort();
    }
}

void
fake_add_fixture(struct fake *f, const char *name)
{
    json_t *o = fixture(name);

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
