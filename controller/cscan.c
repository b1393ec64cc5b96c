/* controller/cscan.c -- views of snapshots and contents read straight from
 * their JSON bytes (cview.h, "straight from their bytes"): the fields
 * cvs_read() and cvsc_read() in cview.c take from a tree, taken from
 * kscan()'s reports, registered for packing in the same order, so that the
 * two paths give equal views.  Any doubt declines (CVIEW_DECLINED) and the
 * caller takes the tree path, whose errors stand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "controller/cpack.h"
#include "controller/cview.h"

/* Paths of the metadata both kinds read; a snapshot also reads its
 * namespace, a content (cluster-scoped) never does. */
#define META_PATHS                                                                             \
    "metadata.name", "metadata.uid", "metadata.resourceVersion", "metadata.deletionTimestamp", \
        "metadata.creationTimestamp", "metadata.finalizers"
enum { S_NAME, S_UID, S_RV, S_DEL, S_CREATED, S_FINS, S_META_END };

static const char *const vs_paths[] = {
    META_PATHS,
    "metadata.namespace",
    "metadata.ownerReferences",
    "spec.source.persistentVolumeClaimName",
    "spec.source.volumeSnapshotContentName",
    "spec.volumeSnapshotClassName",
    "status",
    "status.boundVolumeSnapshotContentName",
    "status.creationTime",
    "status.readyToUse",
    "status.restoreSize",
    "status.error",
    "status.error.message",
    "status.error.time",
    "status.volumeGroupSnapshotName",
};
enum {
    VS_NS = S_META_END,
    VS_OWNERS,
    VS_PVC,
    VS_CONTENT,
    VS_CLASS,
    VS_STATUS,
    VS_BOUND,
    VS_CREATION,
    VS_READY,
    VS_RESTORE,
    VS_ERROR,
    VS_ERROR_MSG,
    VS_ERROR_TIME,
    VS_VGS,
    VS_N
};

static const char *const vsc_paths[] = {
    META_PATHS,
    "metadata.annotations",
    "spec.volumeSnapshotRef.name",
    "spec.volumeSnapshotRef.namespace",
    "spec.volumeSnapshotRef.uid",
    "spec.volumeSnapshotRef.kind",
    "spec.volumeSnapshotRef.apiVersion",
    "spec.volumeSnapshotClassName",
    "spec.deletionPolicy",
    "spec.driver",
    "spec.source.volumeHandle",
    "spec.source.snapshotHandle",
    "spec.sourceVolumeMode",
    "status",
    "status.creationTime",
    "status.readyToUse",
    "status.restoreSize",
    "status.error",
    "status.error.message",
    "status.error.time",
    "status.snapshotHandle",
    "status.volumeGroupSnapshotHandle",
};
enum {
    VSC_ANN = S_META_END,
    VSC_REF_NAME,
    VSC_REF_NS,
    VSC_REF_UID,
    VSC_REF_KIND,
    VSC_REF_API,
    VSC_CLASS,
    VSC_POLICY,
    VSC_DRIVER,
    VSC_VOLUME,
    VSC_SNAPSHOT,
    VSC_MODE,
    VSC_STATUS,
    VSC_CREATION,
    VSC_READY,
    VSC_RESTORE,
    VSC_ERROR,
    VSC_ERROR_MSG,
    VSC_ERROR_TIME,
    VSC_ST_HANDLE,
    VSC_VGS_HANDLE,
    VSC_N
};

static const char *const owner_paths[] = {"kind", "apiVersion", "name"};
enum { OW_KIND, OW_API, OW_NAME };

_Static_assert(SC_ARRAY_LEN(vs_paths) == VS_N, "vs_paths and its enum");
_Static_assert(SC_ARRAY_LEN(vsc_paths) == VSC_N, "vsc_paths and its enum");

int
cview_scan_init(struct cview_scan *sc)
{
    if (kscan_compile(&sc->vs, vs_paths, SC_ARRAY_LEN(vs_paths)) != 0 ||
        kscan_compile(&sc->vsc, vsc_paths, SC_ARRAY_LEN(vsc_paths)) != 0 ||
        kscan_compile(&sc->owner, owner_paths, SC_ARRAY_LEN(owner_paths)) != 0)
        return -1;
    return 0;
}

/* A view being read from kscan() reports. */
struct sread {
    struct kscan_val v[KSCAN_MAX_PATHS];
    struct kscan_buf sb;
    struct cpack p;
    bool no; /* declined: the tree path decides */
};

/* The string at report i: NULL when absent or null; another type declines
 * (the tree path's "expected string"). */
static const char *
s_str(struct sread *s, int i)
{
    if (s->v[i].type == KSCAN_STRING)
        return s->v[i].s;
    if (s->v[i].type != KSCAN_ABSENT && s->v[i].type != KSCAN_NULL)
        s->no = true;
    return NULL;
}

/* Read the string at report i into *slot and register it for packing. */
static void
s_in(struct sread *s, const char **slot, int i, bool shared)
{
    *slot = s_str(s, i);
    if (shared)
        cpack_add_shared(&s->p, slot);
    else
        cpack_add(&s->p, slot);
}

/* Whether report i is an object (absent or null: false). */
static bool
s_obj(struct sread *s, int i)
{
    if (s->v[i].type == KSCAN_OBJECT)
        return true;
    if (s->v[i].type != KSCAN_ABSENT && s->v[i].type != KSCAN_NULL)
        s->no = true;
    return false;
}

static enum tri
s_tri(struct sread *s, int i)
{
    switch (s->v[i].type) {
    case KSCAN_TRUE:
        return TRI_TRUE;
    case KSCAN_FALSE:
        return TRI_FALSE;
    case KSCAN_ABSENT:
    case KSCAN_NULL:
        return TRI_UNSET;
    default:
        s->no = true;
        return TRI_UNSET;
    }
}

/* A strict integer (kscan() declines reals): true with *out set. */
static bool
s_int(struct sread *s, int i, int64_t *out)
{
    if (s->v[i].type == KSCAN_INTEGER) {
        *out = s->v[i].i;
        return true;
    }
    if (s->v[i].type != KSCAN_ABSENT && s->v[i].type != KSCAN_NULL)
        s->no = true;
    return false;
}

/* metadata.finalizers: the count and the known ones (cview.c fins_read). */
static void
s_fins(struct sread *s, struct cmeta *m)
{
    struct kscan_iter it = {0};
    struct kscan_val e = {0};
    size_t i = 0;
    int r;

    if (s->v[S_FINS].type != KSCAN_ARRAY) {
        s->no |= s->v[S_FINS].type != KSCAN_ABSENT && s->v[S_FINS].type != KSCAN_NULL;
        return;
    }
    kscan_iter_init(&it, &s->v[S_FINS]);
    while ((r = kscan_next(&it, &e, &s->sb)) == 1) {
        cview_fin_note(m, e.type == KSCAN_STRING ? e.s : NULL, i);
        i++;
    }
    s->no |= r < 0;
    m->n_fins = (unsigned)i;
}

/* Scan data with spec and start a view of size bytes (its struct cmeta
 * first) from the metadata, as cview.c's view_begin(); NULL when declined. */
static struct cmeta *
s_begin(struct sread *s, const struct kscan_spec *spec, const char *data, size_t n, size_t size,
        int ns_slot)
{
    struct cmeta *m = NULL;
    const char *del = NULL;

    if (kscan(data, n, spec, s->v, &s->sb) != 0 || (m = calloc(1, size)) == NULL) {
        s->no = true;
        return NULL;
    }
    memset(m->fin_idx, -1, sizeof(m->fin_idx));
    m->size = (unsigned)size;
    m->ns = ns_slot >= 0 ? s_str(s, ns_slot) : NULL;
    m->name = s_str(s, S_NAME);
    m->uid = s_str(s, S_UID);
    m->rv = s_str(s, S_RV);
    del = s_str(s, S_DEL);
    m->deleting = del != NULL;
    m->created_ms = clock_parse_rfc3339(s_str(s, S_CREATED));
    m->deleting_ms = clock_parse_rfc3339(del);
    if (m->name == NULL || m->name[0] == '\0' || (ns_slot >= 0 && m->ns == NULL))
        s->no = true; /* the tree path's "required field is missing" */
    if (m->uid == NULL)
        m->uid = "";
    if (m->rv == NULL)
        m->rv = "";
    s_fins(s, m);
    cpack_add_shared(&s->p, &m->ns);
    cpack_add(&s->p, &m->name);
    cpack_add(&s->p, &m->uid);
    cpack_add(&s->p, &m->rv);
    return m;
}

/* Pack the view's strings (cview.c view_end()) and hand it over: 0 and
 * *out; CVIEW_DECLINED, the view freed, when declined or when packing
 * fails. */
static int
s_end(struct sread *s, void *view, void **out)
{
    struct cmeta *m = view;
    struct sc_err err = {0};
    unsigned size = m->size, block_len = 0;

    if (s->no || cpack_commit(&s->p, &view, size, &block_len, &err) != 0) {
        free(view);
        return CVIEW_DECLINED;
    }
    m = view;
    m->block_len = block_len;
    m->refs = 1;
    *out = view;
    return 0;
}

/* The name of the first groupsnapshot.storage.k8s.io/v1 VolumeGroupSnapshot
 * owner (cview.c vgs_owner_of()). */
static const char *
s_vgs_owner(struct sread *s, const struct kscan_spec *owner)
{
    struct kscan_iter it = {0};
    struct kscan_val e = {0}, o[SC_ARRAY_LEN(owner_paths)] = {0};
    int r;

    if (s->v[VS_OWNERS].type != KSCAN_ARRAY) {
        s->no |= s->v[VS_OWNERS].type != KSCAN_ABSENT && s->v[VS_OWNERS].type != KSCAN_NULL;
        return NULL;
    }
    kscan_iter_init(&it, &s->v[VS_OWNERS]);
    while ((r = kscan_next(&it, &e, &s->sb)) == 1) {
        if (e.type != KSCAN_OBJECT)
            continue;
        if (kscan(e.s, e.n, owner, o, &s->sb) != 0) {
            s->no = true;
            return NULL;
        }
        if (o[OW_KIND].type == KSCAN_STRING && o[OW_API].type == KSCAN_STRING &&
            o[OW_NAME].type == KSCAN_STRING && strcmp(o[OW_KIND].s, "VolumeGroupSnapshot") == 0 &&
            strcmp(o[OW_API].s, VGS_API_VERSION) == 0)
            return o[OW_NAME].s;
    }
    s->no |= r < 0;
    return NULL;
}

/* status.restoreSize, int-or-string (cview.c restore_size_read()). */
static void
s_restore_size(struct sread *s, struct cvs *v, char *numbuf, size_t ncap)
{
    const struct kscan_val *rs = &s->v[VS_RESTORE];

    if (rs->type == KSCAN_STRING) {
        v->restore_size = rs->s;
        v->restore_zero = cview_quantity_zero(v->restore_size);
    } else if (rs->type == KSCAN_INTEGER) {
        snprintf(numbuf, ncap, "%lld", (long long)rs->i);
        v->restore_size = numbuf;
        v->restore_zero = rs->i == 0;
    } else if (rs->type != KSCAN_ABSENT && rs->type != KSCAN_NULL) {
        s->no = true;
    }
    cpack_add(&s->p, &v->restore_size);
}

int
cvs_scan(const struct cview_scan *sc, const char *data, size_t n, struct cintern *shared,
         struct cvs **out)
{
    char scratch[CSCAN_SCRATCH], numbuf[32];
    struct sread s = {.sb = {scratch, 0, sizeof(scratch)}, .p.shared = shared};
    struct cvs *v = (struct cvs *)s_begin(&s, &sc->vs, data, n, sizeof(*v), VS_NS);

    if (v == NULL)
        return CVIEW_DECLINED;
    v->vgs_owner = s_vgs_owner(&s, &sc->owner);
    cpack_add(&s.p, &v->vgs_owner);
    s_in(&s, &v->pvc, VS_PVC, false);
    v->has_pvc = v->pvc != NULL;
    s_in(&s, &v->content, VS_CONTENT, false);
    v->has_content = v->content != NULL;
    s_in(&s, &v->class_name, VS_CLASS, true);
    v->has_status = s_obj(&s, VS_STATUS);
    s_in(&s, &v->bound, VS_BOUND, false);
    v->has_creation_time = s_str(&s, VS_CREATION) != NULL;
    v->ready = s_tri(&s, VS_READY);
    s_restore_size(&s, v, numbuf, sizeof(numbuf));
    v->has_error = s_obj(&s, VS_ERROR);
    s_in(&s, &v->error_msg, VS_ERROR_MSG, false);
    s_in(&s, &v->error_time, VS_ERROR_TIME, false);
    s_in(&s, &v->vgs_name, VS_VGS, false);
    return s_end(&s, v, (void **)out);
}

/* metadata.annotations holds ANN_BEING_DELETED (any value, null included);
 * a value that is not a string or null declines, as the tree path's
 * kjson_map_str_at() refuses it. */
static bool
s_being_deleted(struct sread *s)
{
    struct kscan_val a = {0};

    if (!s_obj(s, VSC_ANN))
        return false;
    if (kscan_member(&s->v[VSC_ANN], ANN_BEING_DELETED, &a, &s->sb) != 0 ||
        (a.type != KSCAN_ABSENT && a.type != KSCAN_NULL && a.type != KSCAN_STRING)) {
        s->no = true;
        return false;
    }
    return a.type != KSCAN_ABSENT;
}

int
cvsc_scan(const struct cview_scan *sc, const char *data, size_t n, struct cintern *shared,
          struct cvsc **out)
{
    char scratch[CSCAN_SCRATCH];
    struct sread s = {.sb = {scratch, 0, sizeof(scratch)}, .p.shared = shared};
    struct cvsc *v = (struct cvsc *)s_begin(&s, &sc->vsc, data, n, sizeof(*v), -1);

    if (v == NULL)
        return CVIEW_DECLINED;
    v->being_deleted_ann = s_being_deleted(&s);
    s_in(&s, &v->ref_name, VSC_REF_NAME, false);
    s_in(&s, &v->ref_ns, VSC_REF_NS, true);
    s_in(&s, &v->ref_uid, VSC_REF_UID, false);
    s_in(&s, &v->ref_kind, VSC_REF_KIND, false);
    s_in(&s, &v->ref_api, VSC_REF_API, false);
    s_in(&s, &v->class_name, VSC_CLASS, true);
    v->policy = cview_policy(s_str(&s, VSC_POLICY));
    s_in(&s, &v->driver, VSC_DRIVER, true);
    s_in(&s, &v->volume_handle, VSC_VOLUME, false);
    s_in(&s, &v->snapshot_handle, VSC_SNAPSHOT, false);
    s_in(&s, &v->source_volume_mode, VSC_MODE, false);
    v->has_status = s_obj(&s, VSC_STATUS);
    v->has_creation_time = s_int(&s, VSC_CREATION, &v->creation_time_ns);
    v->ready = s_tri(&s, VSC_READY);
    v->has_restore_size = s_int(&s, VSC_RESTORE, &v->restore_size);
    v->has_error = s_obj(&s, VSC_ERROR);
    s_in(&s, &v->error_msg, VSC_ERROR_MSG, false);
    s_in(&s, &v->error_time, VSC_ERROR_TIME, false);
    s_in(&s, &v->status_snapshot_handle, VSC_ST_HANDLE, false);
    s_in(&s, &v->vgs_handle, VSC_VGS_HANDLE, false);
    return s_end(&s, v, (void **)out);
}
