#include "controller/cview.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/limits.h"
#include "controller/cpack.h"
#include "kube/karena.h"
#include "kube/kjson.h"

/* A view being parsed: the reader over the object and the strings that
 * cpack copies into the view's block at the end. */
struct vread {
    struct kjson r;
    struct cpack p;
};

/* Read the string at path into *slot and register it for packing. */
static void
str_in(struct vread *vr, const char **slot, const char *path)
{
    *slot = kjson_str(&vr->r, path);
    cpack_add(&vr->p, slot);
}

/* The same for a string many views repeat (cpack_add_shared). */
static void
str_shared(struct vread *vr, const char **slot, const char *path)
{
    *slot = kjson_str(&vr->r, path);
    cpack_add_shared(&vr->p, slot);
}

static const struct {
    unsigned bit;
    const char *name;
} known_fins[] = {
    {CFIN_VS_SOURCE, FIN_VS_SOURCE},   {CFIN_VS_BOUND, FIN_VS_BOUND},
    {CFIN_VS_INGROUP, FIN_VS_INGROUP}, {CFIN_VSC_BOUND, FIN_VSC_BOUND},
    {CFIN_PVC_SOURCE, FIN_PVC_SOURCE},
};

int
cview_fin_slot(unsigned bit)
{
    int i;

    for (i = 0; i < (int)SC_ARRAY_LEN(known_fins); i++)
        if (known_fins[i].bit == bit)
            return i;
    return -1;
}

int
cview_fin_index(const struct cmeta *m, unsigned bit)
{
    int s = cview_fin_slot(bit);

    if (s < 0 || (m->fins & bit) == 0)
        return -1;
    return m->fin_idx[s];
}

void
cview_meta_read(struct kjson *r, const json_t *from, struct cmeta *m, bool namespaced)
{
    const char *del;

    memset(m->fin_idx, -1, sizeof(m->fin_idx));
    m->ns = namespaced ? kjson_str_at(r, from, "metadata.namespace") : NULL;
    m->name = kjson_str_at(r, from, "metadata.name");
    m->uid = kjson_str_at(r, from, "metadata.uid");
    m->rv = kjson_str_at(r, from, "metadata.resourceVersion");
    del = kjson_str_at(r, from, "metadata.deletionTimestamp");
    m->deleting = del != NULL;
    m->created_ms = clock_parse_rfc3339(kjson_str_at(r, from, "metadata.creationTimestamp"));
    m->deleting_ms = clock_parse_rfc3339(del); /* issue 16 */
    if (m->name == NULL || m->name[0] == '\0')
        kjson_fail(r, SC_EPROTO, "metadata.name: required field is missing");
    if (namespaced && m->ns == NULL)
        kjson_fail(r, SC_EPROTO, "metadata.namespace: required field is missing");
    if (m->uid == NULL)
        m->uid = "";
    if (m->rv == NULL)
        m->rv = "";
}

enum tri
cview_tri_at(struct kjson *r, const json_t *from, const char *path)
{
    return (enum tri)kjson_tri_at(r, from, path);
}

enum cpolicy
cview_policy(const char *s)
{
    if (s == NULL)
        return POLICY_UNSET;
    if (strcmp(s, "Delete") == 0)
        return POLICY_DELETE;
    if (strcmp(s, "Retain") == 0)
        return POLICY_RETAIN;
    return POLICY_OTHER;
}

void
cview_fin_note(struct cmeta *m, const char *f, size_t i)
{
    size_t k;

    for (k = 0; f != NULL && k < SC_ARRAY_LEN(known_fins); k++) {
        if (strcmp(f, known_fins[k].name) == 0 && (m->fins & known_fins[k].bit) == 0 && i < 127) {
            m->fins |= known_fins[k].bit;
            m->fin_idx[k] = (signed char)i;
        }
    }
}

/* The known finalizers' bits and their first index in metadata.finalizers. */
static void
fins_read(struct kjson *r, struct cmeta *m)
{
    const json_t *fins = kjson_arr(r, "metadata.finalizers");
    size_t i;

    m->n_fins = (unsigned)json_array_size(fins);
    for (i = 0; i < json_array_size(fins); i++)
        cview_fin_note(m, json_string_value(json_array_get(fins, i)), i);
}

/* Start a view of size bytes (its struct cmeta first) over obj and read the
 * metadata; NULL, with the error in vr->r, out of memory or when obj is not
 * an object. */
static void *
view_begin(struct vread *vr, const json_t *obj, size_t size, bool namespaced, struct sc_err *err)
{
    struct cmeta *m = calloc(1, size);

    kjson_init(&vr->r, obj, err);
    kjson_cache_parents(&vr->r); /* nothing changes obj while a view is read */
    if (m == NULL) {
        kjson_fail(&vr->r, SC_ENOMEM, "out of memory");
        return NULL;
    }
    if (!json_is_object(obj)) {
        free(m);
        kjson_fail(&vr->r, SC_EPROTO, "object: expected object");
        return NULL;
    }
    m->size = (unsigned)size;
    cview_meta_read(&vr->r, obj, m, namespaced);
    fins_read(&vr->r, m);
    cpack_add_shared(&vr->p, &m->ns);
    cpack_add(&vr->p, &m->name);
    cpack_add(&vr->p, &m->uid);
    cpack_add(&vr->p, &m->rv);
    return m;
}

/* End a view (its struct cmeta first): after a read error, or if packing its
 * strings fails, free it, set *rc and return NULL; else *rc = 0 and the view
 * (it may have moved: the strings now follow it) holds one reference. */
static void *
view_end(struct vread *vr, void *view, int *rc)
{
    struct cmeta *m = view;
    unsigned size = m->size, block_len = 0;

    *rc = kjson_error(&vr->r);
    if (*rc == 0)
        *rc = cpack_commit(&vr->p, &view, size, &block_len, vr->r.err);
    if (*rc != 0) {
        free(view);
        return NULL;
    }
    m = view;
    m->block_len = block_len;
    m->refs = 1;
    return view;
}

bool
cview_quantity_zero(const char *q)
{
    const char *p = q;

    if (*p == '+' || *p == '-')
        p++;
    if (*p < '0' || *p > '9')
        return false;
    for (; *p == '0' || *p == '.'; p++)
        ;
    return *p == '\0' || (*p >= 'A' && *p <= 'z' && (*p < '1' || *p > '9'));
}

static const char *
vgs_owner_of(struct kjson *r)
{
    const json_t *refs = kjson_arr(r, "metadata.ownerReferences");
    size_t i;

    for (i = 0; i < json_array_size(refs); i++) {
        const json_t *o = json_array_get(refs, i);
        const char *kind = kjson_peek_str(o, "kind");
        const char *api = kjson_peek_str(o, "apiVersion");
        const char *name = kjson_peek_str(o, "name");

        if (kind != NULL && api != NULL && name != NULL &&
            strcmp(kind, "VolumeGroupSnapshot") == 0 && strcmp(api, VGS_API_VERSION) == 0)
            return name;
    }
    return NULL;
}

/* status.restoreSize, int-or-string: numbuf (ncap bytes) holds an integer
 * as its decimal text until the view is packed. */
static void
restore_size_read(struct vread *vr, struct cvs *v, char *numbuf, size_t ncap)
{
    const json_t *rs = kjson_get(&vr->r, vr->r.root, "status.restoreSize");

    if (rs != NULL && json_is_string(rs)) {
        v->restore_size = json_string_value(rs);
        v->restore_zero = cview_quantity_zero(v->restore_size);
    } else if (rs != NULL && json_is_integer(rs)) {
        snprintf(numbuf, ncap, "%lld", (long long)json_integer_value(rs));
        v->restore_size = numbuf;
        v->restore_zero = json_integer_value(rs) == 0;
    } else if (rs != NULL) {
        kjson_fail(&vr->r, SC_EPROTO, "status.restoreSize: expected string, got %s",
                   kjson_type_name(rs));
    }
    cpack_add(&vr->p, &v->restore_size);
}

/* Spec and status of a VolumeSnapshot. */
static void
cvs_read(struct vread *vr, struct cvs *v, char *numbuf, size_t ncap)
{
    struct kjson *r = &vr->r;

    v->vgs_owner = vgs_owner_of(r);
    cpack_add(&vr->p, &v->vgs_owner);
    str_in(vr, &v->pvc, "spec.source.persistentVolumeClaimName");
    v->has_pvc = v->pvc != NULL;
    str_in(vr, &v->content, "spec.source.volumeSnapshotContentName");
    v->has_content = v->content != NULL;
    str_shared(vr, &v->class_name, "spec.volumeSnapshotClassName");
    v->has_status = kjson_obj(r, "status") != NULL;
    str_in(vr, &v->bound, "status.boundVolumeSnapshotContentName");
    v->has_creation_time = kjson_str(r, "status.creationTime") != NULL;
    v->ready = cview_tri_at(r, r->root, "status.readyToUse");
    restore_size_read(vr, v, numbuf, ncap);
    v->has_error = kjson_obj(r, "status.error") != NULL;
    str_in(vr, &v->error_msg, "status.error.message");
    str_in(vr, &v->error_time, "status.error.time");
    str_in(vr, &v->vgs_name, "status.volumeGroupSnapshotName");
}

int
cvs_parse(const json_t *obj, struct cvs **out, struct sc_err *err)
{
    return cvs_parse_shared(obj, NULL, out, err);
}

int
cvs_parse_shared(const json_t *obj, struct cintern *shared, struct cvs **out, struct sc_err *err)
{
    struct vread vr = {.p.shared = shared};
    struct cvs *v = view_begin(&vr, obj, sizeof(*v), true, err);
    char numbuf[32];
    int rc;

    if (v == NULL)
        return kjson_error(&vr.r);
    cvs_read(&vr, v, numbuf, sizeof(numbuf));
    v = view_end(&vr, v, &rc);
    if (rc == 0)
        *out = v;
    return rc;
}

/* Annotations, spec and status of a VolumeSnapshotContent. */
static void
cvsc_read(struct vread *vr, struct cvsc *v)
{
    struct kjson *r = &vr->r;

    (void)kjson_map_str_at(r, r->root, "metadata.annotations", ANN_BEING_DELETED,
                           &v->being_deleted_ann);
    str_in(vr, &v->ref_name, "spec.volumeSnapshotRef.name");
    str_shared(vr, &v->ref_ns, "spec.volumeSnapshotRef.namespace");
    str_in(vr, &v->ref_uid, "spec.volumeSnapshotRef.uid");
    str_in(vr, &v->ref_kind, "spec.volumeSnapshotRef.kind");
    str_in(vr, &v->ref_api, "spec.volumeSnapshotRef.apiVersion");
    str_shared(vr, &v->class_name, "spec.volumeSnapshotClassName");
    v->policy = cview_policy(kjson_str(r, "spec.deletionPolicy"));
    str_shared(vr, &v->driver, "spec.driver");
    str_in(vr, &v->volume_handle, "spec.source.volumeHandle");
    str_in(vr, &v->snapshot_handle, "spec.source.snapshotHandle");
    str_in(vr, &v->source_volume_mode, "spec.sourceVolumeMode");
    v->has_status = kjson_obj(r, "status") != NULL;
    v->has_creation_time =
        kjson_integer_at(r, r->root, "status.creationTime", &v->creation_time_ns);
    v->ready = cview_tri_at(r, r->root, "status.readyToUse");
    v->has_restore_size = kjson_integer_at(r, r->root, "status.restoreSize", &v->restore_size);
    v->has_error = kjson_obj(r, "status.error") != NULL;
    str_in(vr, &v->error_msg, "status.error.message");
    str_in(vr, &v->error_time, "status.error.time");
    str_in(vr, &v->status_snapshot_handle, "status.snapshotHandle");
    str_in(vr, &v->vgs_handle, "status.volumeGroupSnapshotHandle");
}

int
cvsc_parse(const json_t *obj, struct cvsc **out, struct sc_err *err)
{
    return cvsc_parse_shared(obj, NULL, out, err);
}

int
cvsc_parse_shared(const json_t *obj, struct cintern *shared, struct cvsc **out, struct sc_err *err)
{
    struct vread vr = {.p.shared = shared};
    struct cvsc *v = view_begin(&vr, obj, sizeof(*v), false, err);
    int rc;

    if (v == NULL)
        return kjson_error(&vr.r);
    cvsc_read(&vr, v);
    v = view_end(&vr, v, &rc);
    if (rc == 0)
        *out = v;
    return rc;
}

/* A string parameter of a class: read and registered for packing. */
static void
param_in(struct vread *vr, const char **slot, const char *key, bool *present)
{
    *slot = kjson_map_str_at(&vr->r, vr->r.root, "parameters", key, present);
    cpack_add(&vr->p, slot);
}

int
cclass_parse(const json_t *obj, struct cclass **out, struct sc_err *err)
{
    struct vread vr = {0};
    struct cclass *v = view_begin(&vr, obj, sizeof(*v), false, err);
    const char *def;
    int rc;

    if (v == NULL)
        return kjson_error(&vr.r);
    str_in(&vr, &v->driver, "driver");
    str_in(&vr, &v->policy_str, "deletionPolicy");
    v->policy = cview_policy(v->policy_str);
    def = kjson_map_str_at(&vr.r, obj, "metadata.annotations", ANN_DEFAULT_CLASS, NULL);
    v->is_default = def != NULL && strcmp(def, "true") == 0;
    param_in(&vr, &v->secret_name, PARAM_SECRET_NAME, &v->has_secret_name);
    param_in(&vr, &v->secret_ns, PARAM_SECRET_NS, &v->has_secret_ns);
    v = view_end(&vr, v, &rc);
    if (rc == 0)
        *out = v;
    return rc;
}

int
cpvc_parse(const json_t *obj, struct cpvc **out, struct sc_err *err)
{
    return cpvc_parse_shared(obj, NULL, out, err);
}

int
cpvc_parse_shared(const json_t *obj, struct cintern *shared, struct cpvc **out, struct sc_err *err)
{
    struct vread vr = {.p.shared = shared};
    struct cpvc *v = view_begin(&vr, obj, sizeof(*v), true, err);
    int rc;

    if (v == NULL)
        return kjson_error(&vr.r);
    str_in(&vr, &v->phase, "status.phase");
    str_in(&vr, &v->volume_name, "spec.volumeName");
    str_in(&vr, &v->ds_kind, "spec.dataSource.kind");
    str_in(&vr, &v->ds_api_group, "spec.dataSource.apiGroup");
    str_in(&vr, &v->ds_name, "spec.dataSource.name");
    v = view_end(&vr, v, &rc);
    if (rc == 0)
        *out = v;
    return rc;
}

int
cpv_parse(const json_t *obj, struct cpv **out, struct sc_err *err)
{
    struct vread vr = {0};
    struct cpv *v = view_begin(&vr, obj, sizeof(*v), false, err);
    const json_t *aff;
    int rc;

    if (v == NULL)
        return kjson_error(&vr.r);
    str_in(&vr, &v->csi_driver, "spec.csi.driver");
    str_in(&vr, &v->csi_handle, "spec.csi.volumeHandle");
    if (kjson_obj(&vr.r, "spec.csi") != NULL && v->csi_driver == NULL)
        v->csi_driver = "";
    str_in(&vr, &v->claim_ns, "spec.claimRef.namespace");
    str_in(&vr, &v->claim_name, "spec.claimRef.name");
    str_in(&vr, &v->claim_uid, "spec.claimRef.uid");
    str_in(&vr, &v->volume_mode, "spec.volumeMode");
    aff = kjson_obj(&vr.r, "spec.nodeAffinity.required");
    v = view_end(&vr, v, &rc);
    if (rc != 0)
        return rc;
    if (aff != NULL) {
        struct karena *scope = karena_suspend(); /* the view keeps the copy: on the heap */
        v->m.extra = json_deep_copy(aff);
        karena_resume(scope);
        v->node_affinity = v->m.extra;
    }
    *out = v;
    return 0;
}

void *
cview_ref(struct cmeta *m)
{
    if (m != NULL)
        __atomic_add_fetch(&m->refs, 1, __ATOMIC_RELAXED);
    return m;
}

void
cview_unref(struct cmeta *m)
{
    if (m == NULL)
        return;
    if (__atomic_sub_fetch(&m->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    json_decref(m->extra);
    free(m);
}

bool
cview_rv_num(const char *rv, int64_t *out)
{
    int64_t v = 0;

    if (rv == NULL || *rv == '\0')
        return false;
    for (; *rv != '\0'; rv++) {
        if (*rv < '0' || *rv > '9' || v > (INT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (*rv - '0');
    }
    *out = v;
    return true;
}

size_t
cview_bytes(const struct cmeta *m)
{
    return m == NULL ? 0 : (size_t)m->size + m->block_len;
}
