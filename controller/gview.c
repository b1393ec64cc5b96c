/* controller/gview.c -- group snapshot views.  See gview.h.
 *
 * Layout: one allocation holds the struct and its arrays (volume handle
 * pointers, infos); m.extra is a trimmed deep copy of the object (the
 * metadata fields read here, spec, status) that every string borrows from;
 * no strings follow the struct (m.block_len 0).  cview_unref() frees both. */
#include "controller/gview.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/karena.h"
#include "kube/kjson.h"

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

    gfin_idx[0] = gfin_idx[1] = -1;
    cview_meta_read(r, x, m, namespaced);
    fins = kjson_arr_at(r, x, "metadata.finalizers");
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

static int
finish(struct kjson *r, struct cmeta *m, json_t *x, size_t size)
{
    if (kjson_error(r) != 0) {
        json_decref(x);
        free(m);
        return kjson_error(r);
    }
    m->refs = 1;
    m->block_len = 0;
    m->size = (unsigned)size;
    m->extra = x;
    return 0;
}

/* The trimmed copy of obj (*x) and a zeroed view of size bytes, with r
 * reading the copy; NULL, with the error in r, when obj is not an object or
 * out of memory. */
static void *
view_begin(struct kjson *r, const json_t *obj, const char *const *keep_ann,
           const char *const *keep_top, size_t size, json_t **x, struct sc_err *err)
{
    void *v;

    kjson_init(r, NULL, err);
    if (!json_is_object(obj)) {
        kjson_fail(r, SC_EPROTO, "object: expected object");
        return NULL;
    }
    struct karena *scope = karena_suspend(); /* the view keeps the copy: on the heap */
    *x = trimmed_copy(obj, keep_ann, keep_top);
    karena_resume(scope);
    v = calloc(1, size);
    if (*x == NULL || v == NULL) {
        json_decref(*x);
        free(v);
        kjson_fail(r, SC_ENOMEM, "out of memory");
        return NULL;
    }
    kjson_init(r, *x, err);
    return v;
}

int
gvgs_parse(const json_t *obj, struct gvgs **out, struct sc_err *err)
{
    struct kjson r = {0};
    json_t *x = NULL;
    struct gvgs *v = view_begin(&r, obj, NULL, NULL, sizeof(*v), &x, err);

    if (v == NULL)
        return kjson_error(&r);
    meta_read(&r, x, &v->m, &v->gfins, v->gfin_idx, true);
    v->selector = kjson_obj_at(&r, x, "spec.source.selector");
    v->has_selector = v->selector != NULL;
    v->content = kjson_str_at(&r, x, "spec.source.volumeGroupSnapshotContentName");
    v->has_content = v->content != NULL;
    v->class_name = kjson_str_at(&r, x, "spec.volumeGroupSnapshotClassName");
    v->has_status = kjson_obj_at(&r, x, "status") != NULL;
    v->bound = kjson_str_at(&r, x, "status.boundVolumeGroupSnapshotContentName");
    v->creation_time = kjson_str_at(&r, x, "status.creationTime");
    v->ready = cview_tri_at(&r, x, "status.readyToUse");
    v->has_error = kjson_obj_at(&r, x, "status.error") != NULL;
    v->error_msg = kjson_str_at(&r, x, "status.error.message");
    v->error_time = kjson_str_at(&r, x, "status.error.time");
    if (finish(&r, &v->m, x, sizeof(*v)) != 0)
        return kjson_error(&r);
    *out = v;
    return 0;
}

/* spec.source.volumeHandles into v->volume_handles (room for all). */
static void
read_handles(struct kjson *r, const json_t *vh, struct gvgsc *v)
{
    size_t i, n = json_array_size(vh);

    for (i = 0; i < n && kjson_error(r) == 0; i++)
        v->volume_handles[i] = kjson_elem_str(r, vh, "spec.source.volumeHandles", i);
    v->n_volume_handles = kjson_error(r) == 0 ? n : 0;
}

/* status.volumeSnapshotInfoList into v->infos (room for all). */
static void
read_infos(struct kjson *r, const json_t *infos, struct gvgsc *v)
{
    size_t i, n = json_array_size(infos);

    for (i = 0; i < n && kjson_error(r) == 0; i++) {
        const json_t *e = kjson_elem_obj(r, infos, "status.volumeSnapshotInfoList", i);
        struct gvinfo *g = &v->infos[i];

        if (e == NULL)
            break;
        g->volume_handle = kjson_str_at(r, e, "volumeHandle");
        g->snapshot_handle = kjson_str_at(r, e, "snapshotHandle");
        g->has_creation_time = kjson_time_ns_at(r, e, "creationTime", &g->creation_time_ns);
        g->ready = cview_tri_at(r, e, "readyToUse");
        g->has_restore_size = kjson_integer_at(r, e, "restoreSize", &g->restore_size);
        if (kjson_error(r) != 0)
            sc_err_wrap(r->err, kjson_error(r), "status.volumeSnapshotInfoList[%zu]", i);
    }
    v->n_infos = kjson_error(r) == 0 ? n : 0;
}

static void
read_vgsc_spec(struct kjson *r, const json_t *x, const json_t *vh, struct gvgsc *v)
{
    v->ref_name = kjson_str_at(r, x, "spec.volumeGroupSnapshotRef.name");
    v->ref_ns = kjson_str_at(r, x, "spec.volumeGroupSnapshotRef.namespace");
    v->ref_uid = kjson_str_at(r, x, "spec.volumeGroupSnapshotRef.uid");
    v->ref_kind = kjson_str_at(r, x, "spec.volumeGroupSnapshotRef.kind");
    v->ref_api = kjson_str_at(r, x, "spec.volumeGroupSnapshotRef.apiVersion");
    v->class_name = kjson_str_at(r, x, "spec.volumeGroupSnapshotClassName");
    v->policy_str = kjson_str_at(r, x, "spec.deletionPolicy");
    v->policy = cview_policy(v->policy_str);
    v->driver = kjson_str_at(r, x, "spec.driver");
    read_handles(r, vh, v);
    v->has_group_handles = kjson_obj_at(r, x, "spec.source.groupSnapshotHandles") != NULL;
    v->src_group_handle =
        kjson_str_at(r, x, "spec.source.groupSnapshotHandles.volumeGroupSnapshotHandle");
    v->n_snapshot_handles = json_array_size(
        kjson_arr_at(r, x, "spec.source.groupSnapshotHandles.volumeSnapshotHandles"));
}

static void
read_vgsc_status(struct kjson *r, const json_t *x, struct gvgsc *v)
{
    v->has_status = kjson_obj_at(r, x, "status") != NULL;
    v->group_handle = kjson_str_at(r, x, "status.volumeGroupSnapshotHandle");
    v->has_creation_time = kjson_time_ns_at(r, x, "status.creationTime", &v->creation_time_ns);
    v->ready = cview_tri_at(r, x, "status.readyToUse");
    v->has_error = kjson_obj_at(r, x, "status.error") != NULL;
    v->error_msg = kjson_str_at(r, x, "status.error.message");
    v->error_time = kjson_str_at(r, x, "status.error.time");
}

int
gvgsc_parse(const json_t *obj, struct gvgsc **out, struct sc_err *err)
{
    static const char *const anns[] = {ANN_GROUP_BEING_DELETED, NULL};
    struct kjson r = {0};
    struct gvgsc *v = NULL;
    json_t *x;
    const json_t *vh, *infos;
    size_t nvh, ninf, size;

    if (!json_is_object(obj))
        return sc_err_set(err, SC_EPROTO, "object: expected object");
    x = trimmed_copy(obj, anns, NULL);
    if (x == NULL)
        return sc_err_set(err, SC_ENOMEM, "out of memory");
    kjson_init(&r, x, err);
    vh = kjson_arr_at(&r, x, "spec.source.volumeHandles");
    infos = kjson_arr_at(&r, x, "status.volumeSnapshotInfoList");
    if (kjson_error(&r) != 0) {
        json_decref(x);
        return kjson_error(&r);
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
    (void)kjson_map_str_at(&r, x, "metadata.annotations", ANN_GROUP_BEING_DELETED,
                           &v->being_deleted_ann);
    read_vgsc_spec(&r, x, vh, v);
    read_vgsc_status(&r, x, v);
    read_infos(&r, infos, v);
    if (finish(&r, &v->m, x, size) != 0)
        return kjson_error(&r);
    *out = v;
    return 0;
}

int
gclass_parse(const json_t *obj, struct gclass **out, struct sc_err *err)
{
    static const char *const anns[] = {ANN_GROUP_DEFAULT_CLASS, NULL};
    static const char *const top[] = {"driver", "deletionPolicy", "parameters", NULL};
    struct kjson r = {0};
    json_t *x = NULL;
    struct gclass *v = view_begin(&r, obj, anns, top, sizeof(*v), &x, err);
    const char *def;
    int unused[2];
    unsigned unused_fins = 0;

    if (v == NULL)
        return kjson_error(&r);
    meta_read(&r, x, &v->m, &unused_fins, unused, false);
    v->driver = kjson_str_at(&r, x, "driver");
    v->policy_str = kjson_str_at(&r, x, "deletionPolicy");
    v->policy = cview_policy(v->policy_str);
    def = kjson_map_str_at(&r, x, "metadata.annotations", ANN_GROUP_DEFAULT_CLASS, NULL);
    v->is_default = def != NULL && strcmp(def, "true") == 0;
    v->secret_name =
        kjson_map_str_at(&r, x, "parameters", PARAM_GROUP_SECRET_NAME, &v->has_secret_name);
    v->secret_ns = kjson_map_str_at(&r, x, "parameters", PARAM_GROUP_SECRET_NS, &v->has_secret_ns);
    if (finish(&r, &v->m, x, sizeof(*v)) != 0)
        return kjson_error(&r);
    *out = v;
    return 0;
}
