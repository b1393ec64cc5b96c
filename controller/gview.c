/* controller/gview.c -- group snapshot views.  See gview.h.
 *
 * Layout: one allocation holds the struct and its arrays (volume handle
 * pointers, infos); m.extra is a trimmed deep copy of the object (the
 * metadata fields read here, spec, status) that every string borrows from;
 * m.block stays NULL.  cview_unref() frees all three. */
#include "controller/gview.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"

#include "common/clock.h"
#include "kube/kjson.h"

static const json_t *
rd_typed(struct kjson *r, const json_t *from, const char *path, json_type t, const char *tname)
{
    const json_t *v = kjson_get(r, from, path);

    if (v != NULL && json_typeof(v) != t && !(t == JSON_TRUE && json_is_boolean(v))) {
        r->rc = sc_err_set(r->err, SC_EPROTO, "%s: expected %s, got %s", path, tname,
                           kjson_type_name(v));
        return NULL;
    }
    return v;
}

static const char *
rd_str(struct kjson *r, const json_t *from, const char *path)
{
    return json_string_value(rd_typed(r, from, path, JSON_STRING, "string"));
}

static const json_t *
rd_obj(struct kjson *r, const json_t *from, const char *path)
{
    return rd_typed(r, from, path, JSON_OBJECT, "object");
}

static const json_t *
rd_arr(struct kjson *r, const json_t *from, const char *path)
{
    return rd_typed(r, from, path, JSON_ARRAY, "array");
}

static enum tri
rd_tri(struct kjson *r, const json_t *from, const char *path)
{
    const json_t *v = rd_typed(r, from, path, JSON_TRUE, "boolean");

    return v == NULL ? TRI_UNSET : json_is_true(v) ? TRI_TRUE : TRI_FALSE;
}

static bool
rd_int(struct kjson *r, const json_t *from, const char *path, int64_t *out)
{
    const json_t *v = rd_typed(r, from, path, JSON_INTEGER, "integer");

    if (v == NULL)
        return false;
    *out = (int64_t)json_integer_value(v);
    return true;
}

/* metav1.Time (RFC 3339) or v1beta1's int64 nanoseconds. */
static bool
rd_time_ns(struct kjson *r, const json_t *from, const char *path, int64_t *out)
{
    const json_t *v = kjson_get(r, from, path);

    if (v == NULL)
        return false;
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return true;
    }
    if (json_is_string(v)) {
        int64_t ms = clock_parse_rfc3339(json_string_value(v));

        if (ms < 0) {
            r->rc = sc_err_set(r->err, SC_EPROTO, "%s: not an RFC 3339 time", path);
            return false;
        }
        if (ms > INT64_MAX / 1000000) { /* after 2262: no int64 nanoseconds */
            r->rc = sc_err_set(r->err, SC_EPROTO, "%s: time out of range", path);
            return false;
        }
        *out = ms * 1000000;
        return true;
    }
    r->rc = sc_err_set(r->err, SC_EPROTO, "%s: expected string, got %s", path, kjson_type_name(v));
    return false;
}

/* Map value of a key that may contain dots; *present tells whether the key
 * exists. */
static const char *
rd_map_str(struct kjson *r, const json_t *from, const char *map_path, const char *key,
           bool *present)
{
    const json_t *m = rd_obj(r, from, map_path);
    const json_t *v;

    if (present != NULL)
        *present = false;
    if (m == NULL)
        return NULL;
    v = json_object_get(m, key);
    if (v == NULL)
        return NULL;
    if (present != NULL)
        *present = true;
    if (json_is_null(v))
        return NULL;
    if (!json_is_string(v)) {
        r->rc = sc_err_set(r->err, SC_EPROTO, "%s[%s]: expected string, got %s", map_path, key,
                           kjson_type_name(v));
        return NULL;
    }
    return json_string_value(v);
}

/* The trimmed copy: metadata (name, namespace, uid, resourceVersion,
 * deletionTimestamp, finalizers, the annotations in keep_ann), spec,
 * status, and the top-level fields in keep_top (class kinds). */
/* Copy the keys listed in keys (NULL-terminated) from src to dst. */
static void
copy_keys(json_t *dst, const json_t *src, const char *const *keys)
{
    size_t i;

    for (i = 0; keys != NULL && keys[i] != NULL; i++) {
        json_t *v = json_object_get(src, keys[i]);

        if (v != NULL)
            json_object_set_new(dst, keys[i], json_deep_copy(v));
    }
}

/* The trimmed metadata: the fields read here and the annotations in
 * keep_ann.  A non-object metadata / annotations is copied as is, so the
 * reader reports the type error. */
static json_t *
trimmed_meta(const json_t *meta, const char *const *keep_ann)
{
    static const char *const meta_keys[] = {
        "name",       "namespace",         "uid", "resourceVersion", "deletionTimestamp",
        "finalizers", "creationTimestamp", NULL};
    const json_t *anns = json_object_get(meta, "annotations");
    json_t *m, *a;

    if (!json_is_object(meta))
        return json_deep_copy(meta);
    m = json_object();
    a = json_is_object(anns) || anns == NULL ? json_object() : json_deep_copy(anns);
    if (m == NULL || a == NULL) {
        json_decref(m);
        json_decref(a);
        return NULL;
    }
    copy_keys(m, meta, meta_keys);
    if (json_is_object(anns))
        copy_keys(a, anns, keep_ann);
    json_object_set_new(m, "annotations", a);
    return m;
}

/* The trimmed copy: metadata (trimmed_meta), spec, status, and the
 * top-level fields in keep_top (class kinds). */
static json_t *
trimmed_copy(const json_t *obj, const char *const *keep_ann, const char *const *keep_top)
{
    static const char *const parts[] = {"spec", "status", NULL};
    const json_t *meta = json_object_get(obj, "metadata");
    json_t *out = json_object();

    if (out == NULL)
        return NULL;
    if (meta != NULL) {
        json_t *m = trimmed_meta(meta, keep_ann);

        if (m == NULL) {
            json_decref(out);
            return NULL;
        }
        json_object_set_new(out, "metadata", m);
    }
    copy_keys(out, obj, parts);
    copy_keys(out, obj, keep_top);
    return out;
}

static const struct {
    unsigned bit;
    const char *name;
} group_fins[] = {{GFIN_VGS_BOUND, FIN_VGS_BOUND}, {GFIN_VGSC_BOUND, FIN_VGSC_BOUND}};

static void
meta_read(struct kjson *r, const json_t *x, struct cmeta *m, unsigned *gfins, int *gfin_idx,
          bool namespaced)
{
    const json_t *fins;
    size_t i, k;

    memset(m->fin_idx, -1, sizeof(m->fin_idx));
    gfin_idx[0] = gfin_idx[1] = -1;
    m->ns = namespaced ? rd_str(r, x, "metadata.namespace") : NULL;
    m->name = rd_str(r, x, "metadata.name");
    m->uid = rd_str(r, x, "metadata.uid");
    m->rv = rd_str(r, x, "metadata.resourceVersion");
    m->deleting = rd_str(r, x, "metadata.deletionTimestamp") != NULL;
    m->created_ms = clock_parse_rfc3339(rd_str(r, x, "metadata.creationTimestamp")); /* issue 16 */
    m->deleting_ms = clock_parse_rfc3339(rd_str(r, x, "metadata.deletionTimestamp"));
    if (r->rc == 0 && (m->name == NULL || m->name[0] == '\0'))
        r->rc = sc_err_set(r->err, SC_EPROTO, "metadata.name: required field is missing");
    if (r->rc == 0 && namespaced && m->ns == NULL)
        r->rc = sc_err_set(r->err, SC_EPROTO, "metadata.namespace: required field is missing");
    if (m->uid == NULL)
        m->uid = "";
    if (m->rv == NULL)
        m->rv = "";
    fins = rd_arr(r, x, "metadata.finalizers");
    m->n_fins = (unsigned)json_array_size(fins);
    for (i = 0; i < json_array_size(fins); i++) {
        const char *f = json_string_value(json_array_get(fins, i));

        for (k = 0; f != NULL && k < SC_ARRAY_LEN(group_fins); k++) {
            if (strcmp(f, group_fins[k].name) == 0 && (*gfins & group_fins[k].bit) == 0) {
                *gfins |= group_fins[k].bit;
                gfin_idx[k] = (int)i;
            }
        }
    }
}

int
gview_fin_index(const unsigned gfins, const int *gfin_idx, unsigned bit)
{
    size_t k;

    for (k = 0; k < SC_ARRAY_LEN(group_fins); k++)
        if (group_fins[k].bit == bit)
            return (gfins & bit) != 0 ? gfin_idx[k] : -1;
    return -1;
}

static enum cpolicy
policy_of(const char *s)
{
    if (s == NULL)
        return POLICY_UNSET;
    if (strcmp(s, "Delete") == 0)
        return POLICY_DELETE;
    if (strcmp(s, "Retain") == 0)
        return POLICY_RETAIN;
    return POLICY_OTHER;
}

static int
finish(struct kjson *r, struct cmeta *m, json_t *x, size_t size)
{
    if (r->rc != 0) {
        json_decref(x);
        free(m);
        return r->rc;
    }
    m->refs = 1;
    m->block = NULL;
    m->block_len = 0;
    m->size = (unsigned)size;
    m->extra = x;
    return 0;
}

int
gvgs_parse(const json_t *obj, struct gvgs **out, struct sc_err *err)
{
    struct kjson r = {NULL, err, 0};
    struct gvgs *v = NULL;
    json_t *x;
    const json_t *src;

    if (!json_is_object(obj))
        return sc_err_set(err, SC_EPROTO, "object: expected object");
    x = trimmed_copy(obj, NULL, NULL);
    v = calloc(1, sizeof(*v));
    if (x == NULL || v == NULL) {
        json_decref(x);
        free(v);
        return sc_err_set(err, SC_ENOMEM, "out of memory");
    }
    meta_read(&r, x, &v->m, &v->gfins, v->gfin_idx, true);
    src = rd_obj(&r, x, "spec.source");
    v->selector = rd_obj(&r, x, "spec.source.selector");
    v->has_selector = v->selector != NULL;
    v->has_content = src != NULL &&
                     json_object_get(src, "volumeGroupSnapshotContentName") != NULL &&
                     !json_is_null(json_object_get(src, "volumeGroupSnapshotContentName"));
    v->content = rd_str(&r, x, "spec.source.volumeGroupSnapshotContentName");
    v->class_name = rd_str(&r, x, "spec.volumeGroupSnapshotClassName");
    v->has_status = rd_obj(&r, x, "status") != NULL;
    v->bound = rd_str(&r, x, "status.boundVolumeGroupSnapshotContentName");
    v->creation_time = rd_str(&r, x, "status.creationTime");
    v->ready = rd_tri(&r, x, "status.readyToUse");
    v->has_error = rd_obj(&r, x, "status.error") != NULL;
    v->error_msg = rd_str(&r, x, "status.error.message");
    v->error_time = rd_str(&r, x, "status.error.time");
    if (finish(&r, &v->m, x, sizeof(*v)) != 0)
        return r.rc;
    *out = v;
    return 0;
}

/* spec.source.volumeHandles into v->volume_handles (room for all). */
static void
read_handles(struct kjson *r, const json_t *vh, struct gvgsc *v)
{
    size_t i, n = json_array_size(vh);

    for (i = 0; i < n && r->rc == 0; i++) {
        const json_t *h = json_array_get(vh, i);

        if (!json_is_string(h))
            r->rc = sc_err_set(r->err, SC_EPROTO,
                               "spec.source.volumeHandles[%zu]: expected string, got %s", i,
                               kjson_type_name(h));
        else
            v->volume_handles[i] = json_string_value(h);
    }
    v->n_volume_handles = r->rc == 0 ? n : 0;
}

/* status.volumeSnapshotInfoList into v->infos (room for all). */
static void
read_infos(struct kjson *r, const json_t *infos, struct gvgsc *v)
{
    size_t i, n = json_array_size(infos);

    for (i = 0; i < n && r->rc == 0; i++) {
        const json_t *e = json_array_get(infos, i);
        struct gvinfo *g = &v->infos[i];

        if (!json_is_object(e)) {
            r->rc = sc_err_set(r->err, SC_EPROTO,
                               "status.volumeSnapshotInfoList[%zu]: expected object, got %s", i,
                               kjson_type_name(e));
            break;
        }
        g->volume_handle = rd_str(r, e, "volumeHandle");
        g->snapshot_handle = rd_str(r, e, "snapshotHandle");
        g->has_creation_time = rd_time_ns(r, e, "creationTime", &g->creation_time_ns);
        g->ready = rd_tri(r, e, "readyToUse");
        g->has_restore_size = rd_int(r, e, "restoreSize", &g->restore_size);
        if (r->rc != 0)
            sc_err_wrap(r->err, r->rc, "status.volumeSnapshotInfoList[%zu]", i);
    }
    v->n_infos = r->rc == 0 ? n : 0;
}

static void
read_vgsc_spec(struct kjson *r, const json_t *x, const json_t *vh, struct gvgsc *v)
{
    v->ref_name = rd_str(r, x, "spec.volumeGroupSnapshotRef.name");
    v->ref_ns = rd_str(r, x, "spec.volumeGroupSnapshotRef.namespace");
    v->ref_uid = rd_str(r, x, "spec.volumeGroupSnapshotRef.uid");
    v->ref_kind = rd_str(r, x, "spec.volumeGroupSnapshotRef.kind");
    v->ref_api = rd_str(r, x, "spec.volumeGroupSnapshotRef.apiVersion");
    v->class_name = rd_str(r, x, "spec.volumeGroupSnapshotClassName");
    v->policy_str = rd_str(r, x, "spec.deletionPolicy");
    v->policy = policy_of(v->policy_str);
    v->driver = rd_str(r, x, "spec.driver");
    read_handles(r, vh, v);
    v->has_group_handles = rd_obj(r, x, "spec.source.groupSnapshotHandles") != NULL;
    v->src_group_handle =
        rd_str(r, x, "spec.source.groupSnapshotHandles.volumeGroupSnapshotHandle");
    v->n_snapshot_handles =
        json_array_size(rd_arr(r, x, "spec.source.groupSnapshotHandles.volumeSnapshotHandles"));
}

static void
read_vgsc_status(struct kjson *r, const json_t *x, struct gvgsc *v)
{
    v->has_status = rd_obj(r, x, "status") != NULL;
    v->group_handle = rd_str(r, x, "status.volumeGroupSnapshotHandle");
    v->has_creation_time = rd_time_ns(r, x, "status.creationTime", &v->creation_time_ns);
    v->ready = rd_tri(r, x, "status.readyToUse");
    v->has_error = rd_obj(r, x, "status.error") != NULL;
    v->error_msg = rd_str(r, x, "status.error.message");
    v->error_time = rd_str(r, x, "status.error.time");
}

int
gvgsc_parse(const json_t *obj, struct gvgsc **out, struct sc_err *err)
{
    static const char *const anns[] = {ANN_GROUP_BEING_DELETED, NULL};
    struct kjson r = {NULL, err, 0};
    struct gvgsc *v = NULL;
    json_t *x;
    const json_t *vh, *infos;
    size_t nvh, ninf, size;
    bool present = false;

    if (!json_is_object(obj))
        return sc_err_set(err, SC_EPROTO, "object: expected object");
    x = trimmed_copy(obj, anns, NULL);
    if (x == NULL)
        return sc_err_set(err, SC_ENOMEM, "out of memory");
    vh = rd_arr(&r, x, "spec.source.volumeHandles");
    infos = rd_arr(&r, x, "status.volumeSnapshotInfoList");
    if (r.rc != 0) {
        json_decref(x);
        return r.rc;
    }
    nvh = json_array_size(vh);
    ninf = json_array_size(infos);
    if (nvh > GVIEW_MAX_VOLUMES || ninf > GVIEW_MAX_VOLUMES) {
        json_decref(x);
        return sc_err_set(err, SC_ETOOBIG, "group snapshot content has more than %d volumes",
                          GVIEW_MAX_VOLUMES);
    }
    size = sizeof(*v) + ninf * sizeof(struct gvinfo) + nvh * sizeof(char *);
    v = calloc(1, size);
    if (v == NULL) {
        json_decref(x);
        return sc_err_set(err, SC_ENOMEM, "out of memory");
    }
    v->infos = (struct gvinfo *)(void *)(v + 1);
    v->volume_handles = (const char **)(void *)(v->infos + ninf);
    meta_read(&r, x, &v->m, &v->gfins, v->gfin_idx, false);
    (void)rd_map_str(&r, x, "metadata.annotations", ANN_GROUP_BEING_DELETED, &present);
    v->being_deleted_ann = present;
    read_vgsc_spec(&r, x, vh, v);
    read_vgsc_status(&r, x, v);
    read_infos(&r, infos, v);
    if (finish(&r, &v->m, x, size) != 0)
        return r.rc;
    *out = v;
    return 0;
}

int
gclass_parse(const json_t *obj, struct gclass **out, struct sc_err *err)
{
    static const char *const anns[] = {ANN_GROUP_DEFAULT_CLASS, NULL};
    static const char *const top[] = {"driver", "deletionPolicy", "parameters", NULL};
    struct kjson r = {NULL, err, 0};
    struct gclass *v = NULL;
    json_t *x;
    const char *def;
    int unused[2];
    unsigned unused_fins = 0;

    if (!json_is_object(obj))
        return sc_err_set(err, SC_EPROTO, "object: expected object");
    x = trimmed_copy(obj, anns, top);
    v = calloc(1, sizeof(*v));
    if (x == NULL || v == NULL) {
        json_decref(x);
        free(v);
        return sc_err_set(err, SC_ENOMEM, "out of memory");
    }
    meta_read(&r, x, &v->m, &unused_fins, unused, false);
    v->driver = rd_str(&r, x, "driver");
    v->policy_str = rd_str(&r, x, "deletionPolicy");
    v->policy = policy_of(v->policy_str);
    def = rd_map_str(&r, x, "metadata.annotations", ANN_GROUP_DEFAULT_CLASS, NULL);
    v->is_default = def != NULL && strcmp(def, "true") == 0;
    v->secret_name = rd_map_str(&r, x, "parameters", PARAM_GROUP_SECRET_NAME, &v->has_secret_name);
    v->secret_ns = rd_map_str(&r, x, "parameters", PARAM_GROUP_SECRET_NS, &v->has_secret_ns);
    if (finish(&r, &v->m, x, sizeof(*v)) != 0)
        return r.rc;
    *out = v;
    return 0;
}
