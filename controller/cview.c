#include "controller/cview.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/limits.h"
#include "controller/cpack.h"
#include "kube/kjson.h"

/* A typed reader with a sticky error, local to the view parsers. */
static const char *
jr_str_at(struct kjson *r, const json_t *from, const char *path)
{
    const json_t *v = kjson_get(r, from, path);

    if (v == NULL)
        return NULL;
    if (!json_is_string(v)) {
        r->rc =
            sc_err_set(r->err, SC_EPROTO, "%s: expected string, got %s", path, kjson_type_name(v));
        return NULL;
    }
    return json_string_value(v);
}

static const char *
jr_str(struct kjson *r, const char *path)
{
    return jr_str_at(r, r->root, path);
}

static enum tri
jr_tri(struct kjson *r, const char *path)
{
    const json_t *v = kjson_get(r, r->root, path);

    if (v == NULL)
        return TRI_UNSET;
    if (!json_is_boolean(v)) {
        r->rc =
            sc_err_set(r->err, SC_EPROTO, "%s: expected boolean, got %s", path, kjson_type_name(v));
        return TRI_UNSET;
    }
    return json_is_true(v) ? TRI_TRUE : TRI_FALSE;
}

static bool
jr_int(struct kjson *r, const char *path, int64_t *out)
{
    const json_t *v = kjson_get(r, r->root, path);

    if (v == NULL)
        return false;
    if (!json_is_integer(v)) {
        r->rc =
            sc_err_set(r->err, SC_EPROTO, "%s: expected integer, got %s", path, kjson_type_name(v));
        return false;
    }
    *out = (int64_t)json_integer_value(v);
    return true;
}

static const json_t *
jr_obj(struct kjson *r, const char *path)
{
    const json_t *v = kjson_get(r, r->root, path);

    if (v != NULL && !json_is_object(v)) {
        r->rc =
            sc_err_set(r->err, SC_EPROTO, "%s: expected object, got %s", path, kjson_type_name(v));
        return NULL;
    }
    return v;
}

static const json_t *
jr_arr(struct kjson *r, const char *path)
{
    const json_t *v = kjson_get(r, r->root, path);

    if (v != NULL && !json_is_array(v)) {
        r->rc =
            sc_err_set(r->err, SC_EPROTO, "%s: expected array, got %s", path, kjson_type_name(v));
        return NULL;
    }
    return v;
}

/* Value of a map entry whose key may contain dots (annotations, params). */
static const char *
jr_map_str(struct kjson *r, const char *map_path, const char *key, bool *present)
{
    const json_t *m = jr_obj(r, map_path);
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

/* ---- packing (controller/cpack.h) ---- */

static int
pack_commit(struct cpack *p, struct cmeta *m, struct sc_err *err)
{
    int rc = cpack_commit(p, &m->block, &m->block_len, err);

    if (rc == 0)
        m->refs = 1;
    return rc;
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

static void
meta_read(struct kjson *r, struct cmeta *m, struct cpack *p, bool namespaced)
{
    const json_t *fins;
    size_t i;

    memset(m->fin_idx, -1, sizeof(m->fin_idx));
    m->ns = namespaced ? jr_str(r, "metadata.namespace") : NULL;
    m->name = jr_str(r, "metadata.name");
    m->uid = jr_str(r, "metadata.uid");
    m->rv = jr_str(r, "metadata.resourceVersion");
    m->deleting = jr_str(r, "metadata.deletionTimestamp") != NULL;
    m->created_ms = clock_parse_rfc3339(jr_str(r, "metadata.creationTimestamp")); /* issue 16 */
    m->deleting_ms = clock_parse_rfc3339(jr_str(r, "metadata.deletionTimestamp"));
    if (r->rc == 0 && (m->name == NULL || m->name[0] == '\0'))
        r->rc = sc_err_set(r->err, SC_EPROTO, "metadata.name: required field is missing");
    if (r->rc == 0 && namespaced && m->ns == NULL)
        r->rc = sc_err_set(r->err, SC_EPROTO, "metadata.namespace: required field is missing");
    if (m->uid == NULL)
        m->uid = "";
    if (m->rv == NULL)
        m->rv = "";
    fins = jr_arr(r, "metadata.finalizers");
    if (fins != NULL) {
        m->n_fins = (unsigned)json_array_size(fins);
        for (i = 0; i < json_array_size(fins); i++) {
            const char *f = json_string_value(json_array_get(fins, i));
            size_t k;

            if (f == NULL)
                continue;
            for (k = 0; k < SC_ARRAY_LEN(known_fins); k++) {
                if (strcmp(f, known_fins[k].name) == 0 && (m->fins & known_fins[k].bit) == 0 &&
                    i < 127) {
                    m->fins |= known_fins[k].bit;
                    m->fin_idx[k] = (signed char)i;
                }
            }
        }
    }
    cpack_add(p, &m->ns);
    cpack_add(p, &m->name);
    cpack_add(p, &m->uid);
    cpack_add(p, &m->rv);
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

/* True if a quantity string denotes zero ("0", "0Gi", "0.0", "+0"). */
static bool
quantity_is_zero(const char *q)
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
    const json_t *refs = jr_arr(r, "metadata.ownerReferences");
    size_t i;

    if (refs == NULL)
        return NULL;
    for (i = 0; i < json_array_size(refs); i++) {
        const json_t *o = json_array_get(refs, i);
        const char *kind = json_string_value(json_object_get(o, "kind"));
        const char *api = json_string_value(json_object_get(o, "apiVersion"));
        const char *name = json_string_value(json_object_get(o, "name"));

        if (kind != NULL && api != NULL && name != NULL &&
            strcmp(kind, "VolumeGroupSnapshot") == 0 && strcmp(api, VGS_API_VERSION) == 0)
            return name;
    }
    return NULL;
}

/* Spec and status of a VolumeSnapshot; numbuf (ncap bytes) holds an
 * integer restoreSize as text until the view is packed. */
static void
cvs_read(struct kjson *r, const json_t *obj, struct cvs *v, char *numbuf, size_t ncap)
{
    const json_t *src, *rs;

    v->vgs_owner = vgs_owner_of(r);
    src = jr_obj(r, "spec.source");
    v->has_pvc = src != NULL && json_object_get(src, "persistentVolumeClaimName") != NULL &&
                 !json_is_null(json_object_get(src, "persistentVolumeClaimName"));
    v->pvc = jr_str(r, "spec.source.persistentVolumeClaimName");
    v->has_content = src != NULL && json_object_get(src, "volumeSnapshotContentName") != NULL &&
                     !json_is_null(json_object_get(src, "volumeSnapshotContentName"));
    v->content = jr_str(r, "spec.source.volumeSnapshotContentName");
    v->class_name = jr_str(r, "spec.volumeSnapshotClassName");
    v->has_status = jr_obj(r, "status") != NULL;
    v->bound = jr_str(r, "status.boundVolumeSnapshotContentName");
    v->creation_time = jr_str(r, "status.creationTime");
    v->ready = jr_tri(r, "status.readyToUse");
    rs = kjson_get(r, obj, "status.restoreSize");
    if (rs != NULL && json_is_string(rs)) {
        v->restore_size = json_string_value(rs);
        v->restore_zero = quantity_is_zero(v->restore_size);
    } else if (rs != NULL && json_is_integer(rs)) {
        /* int-or-string: keep an integer as its decimal text */
        snprintf(numbuf, ncap, "%lld", (long long)json_integer_value(rs));
        v->restore_size = numbuf;
        v->restore_zero = json_integer_value(rs) == 0;
    } else if (rs != NULL) {
        r->rc = sc_err_set(r->err, SC_EPROTO, "status.restoreSize: expected string, got %s",
                           kjson_type_name(rs));
    }
    v->has_error = jr_obj(r, "status.error") != NULL;
    v->error_msg = jr_str(r, "status.error.message");
    v->error_time = jr_str(r, "status.error.time");
    v->vgs_name = jr_str(r, "status.volumeGroupSnapshotName");
}

int
cvs_parse(const json_t *obj, struct cvs **out, struct sc_err *err)
{
    struct kjson r = {obj, err, 0};
    struct cpack p = {0};
    struct cvs *v = calloc(1, sizeof(*v));
    char numbuf[32];

    if (v == NULL)
        return sc_err_set(err, SC_ENOMEM, "out of memory");
    if (!json_is_object(obj)) {
        free(v);
        return sc_err_set(err, SC_EPROTO, "object: expected object");
    }
    v->m.size = (unsigned)sizeof(*v);
    meta_read(&r, &v->m, &p, true);
    cvs_read(&r, obj, v, numbuf, sizeof(numbuf));
    if (r.rc != 0) {
        free(v);
        return r.rc;
    }
    cpack_add(&p, &v->vgs_owner);
    cpack_add(&p, &v->pvc);
    cpack_add(&p, &v->content);
    cpack_add(&p, &v->class_name);
    cpack_add(&p, &v->bound);
    cpack_add(&p, &v->creation_time);
    cpack_add(&p, &v->restore_size);
    cpack_add(&p, &v->error_msg);
    cpack_add(&p, &v->error_time);
    cpack_add(&p, &v->vgs_name);
    r.rc = pack_commit(&p, &v->m, err);
    if (r.rc != 0) {
        free(v);
        return r.rc;
    }
    *out = v;
    return 0;
}

/* Annotations, spec and status of a VolumeSnapshotContent. */
static void
cvsc_read(struct kjson *r, struct cvsc *v)
{
    bool present = false;

    (void)jr_map_str(r, "metadata.annotations", ANN_BEING_DELETED, &present);
    v->being_deleted_ann = present;
    v->ref_name = jr_str(r, "spec.volumeSnapshotRef.name");
    v->ref_ns = jr_str(r, "spec.volumeSnapshotRef.namespace");
    v->ref_uid = jr_str(r, "spec.volumeSnapshotRef.uid");
    v->ref_kind = jr_str(r, "spec.volumeSnapshotRef.kind");
    v->ref_api = jr_str(r, "spec.volumeSnapshotRef.apiVersion");
    v->class_name = jr_str(r, "spec.volumeSnapshotClassName");
    v->policy = policy_of(jr_str(r, "spec.deletionPolicy"));
    v->driver = jr_str(r, "spec.driver");
    v->volume_handle = jr_str(r, "spec.source.volumeHandle");
    v->snapshot_handle = jr_str(r, "spec.source.snapshotHandle");
    v->source_volume_mode = jr_str(r, "spec.sourceVolumeMode");
    v->has_status = jr_obj(r, "status") != NULL;
    v->has_creation_time = jr_int(r, "status.creationTime", &v->creation_time_ns);
    v->ready = jr_tri(r, "status.readyToUse");
    v->has_restore_size = jr_int(r, "status.restoreSize", &v->restore_size);
    v->has_error = jr_obj(r, "status.error") != NULL;
    v->error_msg = jr_str(r, "status.error.message");
    v->error_time = jr_str(r, "status.error.time");
    v->status_snapshot_handle = jr_str(r, "status.snapshotHandle");
    v->vgs_handle = jr_str(r, "status.volumeGroupSnapshotHandle");
}

int
cvsc_parse(const json_t *obj, struct cvsc **out, struct sc_err *err)
{
    struct kjson r = {obj, err, 0};
    struct cpack p = {0};
    struct cvsc *v = calloc(1, sizeof(*v));

    if (v == NULL)
        return sc_err_set(err, SC_ENOMEM, "out of memory");
    if (!json_is_object(obj)) {
        free(v);
        return sc_err_set(err, SC_EPROTO, "object: expected object");
    }
    v->m.size = (unsigned)sizeof(*v);
    meta_read(&r, &v->m, &p, false);
    cvsc_read(&r, v);
    if (r.rc != 0) {
        free(v);
        return r.rc;
    }
    cpack_add(&p, &v->ref_name);
    cpack_add(&p, &v->ref_ns);
    cpack_add(&p, &v->ref_uid);
    cpack_add(&p, &v->ref_kind);
    cpack_add(&p, &v->ref_api);
    cpack_add(&p, &v->class_name);
    cpack_add(&p, &v->driver);
    cpack_add(&p, &v->volume_handle);
    cpack_add(&p, &v->snapshot_handle);
    cpack_add(&p, &v->source_volume_mode);
    cpack_add(&p, &v->error_msg);
    cpack_add(&p, &v->error_time);
    cpack_add(&p, &v->status_snapshot_handle);
    cpack_add(&p, &v->vgs_handle);
    r.rc = pack_commit(&p, &v->m, err);
    if (r.rc != 0) {
        free(v);
        return r.rc;
    }
    *out = v;
    return 0;
}

int
cclass_parse(const json_t *obj, struct cclass **out, struct sc_err *err)
{
    struct kjson r = {obj, err, 0};
    struct cpack p = {0};
    struct cclass *v = calloc(1, sizeof(*v));
    const char *def;

    if (v == NULL)
        return sc_err_set(err, SC_ENOMEM, "out of memory");
    if (!json_is_object(obj)) {
        free(v);
        return sc_err_set(err, SC_EPROTO, "object: expected object");
    }
    v->m.size = (unsigned)sizeof(*v);
    meta_read(&r, &v->m, &p, false);
    v->driver = jr_str(&r, "driver");
    v->policy_str = jr_str(&r, "deletionPolicy");
    v->policy = policy_of(v->policy_str);
    def = jr_map_str(&r, "metadata.annotations", ANN_DEFAULT_CLASS, NULL);
    v->is_default = def != NULL && strcmp(def, "true") == 0;
    v->secret_name = jr_map_str(&r, "parameters", PARAM_SECRET_NAME, &v->has_secret_name);
    v->secret_ns = jr_map_str(&r, "parameters", PARAM_SECRET_NS, &v->has_secret_ns);
    if (r.rc != 0) {
        free(v);
        return r.rc;
    }
    cpack_add(&p, &v->driver);
    cpack_add(&p, &v->policy_str);
    cpack_add(&p, &v->secret_name);
    cpack_add(&p, &v->secret_ns);
    r.rc = pack_commit(&p, &v->m, err);
    if (r.rc != 0) {
        free(v);
        return r.rc;
    }
    *out = v;
    return 0;
}

int
cpvc_parse(const json_t *obj, struct cpvc **out, struct sc_err *err)
{
    struct kjson r = {obj, err, 0};
    struct cpack p = {0};
    struct cpvc *v = calloc(1, sizeof(*v));

    if (v == NULL)
        return sc_err_set(err, SC_ENOMEM, "out of memory");
    if (!json_is_object(obj)) {
        free(v);
        return sc_err_set(err, SC_EPROTO, "object: expected object");
    }
    v->m.size = (unsigned)sizeof(*v);
    meta_read(&r, &v->m, &p, true);
    v->phase = jr_str(&r, "status.phase");
    v->volume_name = jr_str(&r, "spec.volumeName");
    v->ds_kind = jr_str(&r, "spec.dataSource.kind");
    v->ds_api_group = jr_str(&r, "spec.dataSource.apiGroup");
    v->ds_name = jr_str(&r, "spec.dataSource.name");
    if (r.rc != 0) {
        free(v);
        return r.rc;
    }
    cpack_add(&p, &v->phase);
    cpack_add(&p, &v->volume_name);
    cpack_add(&p, &v->ds_kind);
    cpack_add(&p, &v->ds_api_group);
    cpack_add(&p, &v->ds_name);
    r.rc = pack_commit(&p, &v->m, err);
    if (r.rc != 0) {
        free(v);
        return r.rc;
    }
    *out = v;
    return 0;
}

int
cpv_parse(const json_t *obj, struct cpv **out, struct sc_err *err)
{
    struct kjson r = {obj, err, 0};
    struct cpack p = {0};
    struct cpv *v = calloc(1, sizeof(*v));
    const json_t *aff;

    if (v == NULL)
        return sc_err_set(err, SC_ENOMEM, "out of memory");
    if (!json_is_object(obj)) {
        free(v);
        return sc_err_set(err, SC_EPROTO, "object: expected object");
    }
    v->m.size = (unsigned)sizeof(*v);
    meta_read(&r, &v->m, &p, false);
    v->csi_driver = jr_str(&r, "spec.csi.driver");
    v->csi_handle = jr_str(&r, "spec.csi.volumeHandle");
    if (r.rc == 0 && jr_obj(&r, "spec.csi") != NULL && v->csi_driver == NULL)
        v->csi_driver = "";
    v->claim_ns = jr_str(&r, "spec.claimRef.namespace");
    v->claim_name = jr_str(&r, "spec.claimRef.name");
    v->claim_uid = jr_str(&r, "spec.claimRef.uid");
    v->volume_mode = jr_str(&r, "spec.volumeMode");
    aff = jr_obj(&r, "spec.nodeAffinity.required");
    if (r.rc != 0) {
        free(v);
        return r.rc;
    }
    cpack_add(&p, &v->csi_driver);
    cpack_add(&p, &v->csi_handle);
    cpack_add(&p, &v->claim_ns);
    cpack_add(&p, &v->claim_name);
    cpack_add(&p, &v->claim_uid);
    cpack_add(&p, &v->volume_mode);
    r.rc = pack_commit(&p, &v->m, err);
    if (r.rc != 0) {
        free(v);
        return r.rc;
    }
    if (aff != NULL) {
        v->m.extra = json_deep_copy(aff);
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
    free(m->block);
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
