/* controller/stuck_metrics.c -- stuck states as gauges, from the caches. */
#include "controller/stuck_metrics.h"

#include <string.h>

#include "common/sc_err.h"
#include "controller/cview.h"
#include "controller/gview.h"

enum st_state { ST_PENDING, ST_READY, ST_ERROR, ST_DELETING, ST_N };
static const char *const state_names[ST_N] = {"pending", "ready", "error", "deleting"};

/* The finalizers counted by name in stuck_deletions; anything else is "other". */
enum st_fin {
    SF_VS_SOURCE,
    SF_VS_BOUND,
    SF_VS_INGROUP,
    SF_VSC_BOUND,
    SF_PVC_SOURCE,
    SF_VGS_BOUND,
    SF_VGSC_BOUND,
    SF_OTHER,
    SF_N
};
static const char *const fin_names[SF_N] = {FIN_VS_SOURCE,  FIN_VS_BOUND,   FIN_VS_INGROUP,
                                            FIN_VSC_BOUND,  FIN_PVC_SOURCE, FIN_VGS_BOUND,
                                            FIN_VGSC_BOUND, "other"};

enum st_kind { SK_VS, SK_VSC, SK_VGS, SK_VGSC, SK_PVC, SK_N };
static const char *const kind_names[SK_N] = {"VolumeSnapshot", "VolumeSnapshotContent",
                                             "VolumeGroupSnapshot", "VolumeGroupSnapshotContent",
                                             "PersistentVolumeClaim"};
/* The finalizers each kind can carry (bit per enum st_fin, plus other). */
static const unsigned kind_fins[SK_N] = {
    (1u << SF_VS_SOURCE) | (1u << SF_VS_BOUND) | (1u << SF_VS_INGROUP) | (1u << SF_OTHER),
    (1u << SF_VSC_BOUND) | (1u << SF_OTHER),
    (1u << SF_VGS_BOUND) | (1u << SF_OTHER),
    (1u << SF_VGSC_BOUND) | (1u << SF_OTHER),
    (1u << SF_PVC_SOURCE) | (1u << SF_OTHER),
};

struct st_acc {
    enum st_kind kind;
    int64_t now_ms, threshold_ms;
    uint64_t n[ST_N];
    int64_t oldest_ms[ST_N]; /* earliest start time seen, INT64_MAX when none */
    uint64_t stuck[SF_N];
};

static enum st_state
state_of(enum tri ready, bool has_error)
{
    if (ready == TRI_TRUE)
        return ST_READY;
    return has_error ? ST_ERROR : ST_PENDING;
}

/* The known finalizers of m as enum st_fin bits; *n_known how many. */
static unsigned
fin_bits(enum st_kind kind, const struct cmeta *m, unsigned *n_known)
{
    static const struct {
        unsigned cbit;
        enum st_fin f;
    } cmap[] = {{CFIN_VS_SOURCE, SF_VS_SOURCE},
                {CFIN_VS_BOUND, SF_VS_BOUND},
                {CFIN_VS_INGROUP, SF_VS_INGROUP},
                {CFIN_VSC_BOUND, SF_VSC_BOUND},
                {CFIN_PVC_SOURCE, SF_PVC_SOURCE}};
    unsigned bits = 0, n = 0;

    for (size_t i = 0; i < SC_ARRAY_LEN(cmap); i++)
        if ((m->fins & cmap[i].cbit) != 0) {
            bits |= 1u << cmap[i].f;
            n++;
        }
    if (kind == SK_VGS && (((const struct gvgs *)m)->gfins & GFIN_VGS_BOUND) != 0) {
        bits |= 1u << SF_VGS_BOUND;
        n++;
    }
    if (kind == SK_VGSC && (((const struct gvgsc *)m)->gfins & GFIN_VGSC_BOUND) != 0) {
        bits |= 1u << SF_VGSC_BOUND;
        n++;
    }
    *n_known = n;
    return bits;
}

static void
count_stuck(struct st_acc *a, const struct cmeta *m)
{
    unsigned n_known = 0;
    unsigned bits;

    if (m->deleting_ms < 0 || a->now_ms - m->deleting_ms < a->threshold_ms)
        return;
    bits = fin_bits(a->kind, m, &n_known);
    if (m->n_fins > n_known)
        bits |= 1u << SF_OTHER;
    for (int f = 0; f < SF_N; f++)
        if ((bits & (1u << f)) != 0)
            a->stuck[f]++;
}

static int
visit(const struct cmeta *m, void *arg)
{
    struct st_acc *a = arg;
    enum st_state s = ST_PENDING;
    int64_t since;

    if (m->deleting) {
        s = ST_DELETING;
        count_stuck(a, m);
    } else if (a->kind == SK_VS) {
        s = state_of(((const struct cvs *)m)->ready, ((const struct cvs *)m)->has_error);
    } else if (a->kind == SK_VSC) {
        s = state_of(((const struct cvsc *)m)->ready, ((const struct cvsc *)m)->has_error);
    } else if (a->kind == SK_VGS) {
        s = state_of(((const struct gvgs *)m)->ready, ((const struct gvgs *)m)->has_error);
    } else if (a->kind == SK_VGSC) {
        s = state_of(((const struct gvgsc *)m)->ready, ((const struct gvgsc *)m)->has_error);
    }
    if (a->kind == SK_PVC)
        return 0; /* PVCs only count in stuck_deletions */
    a->n[s]++;
    since = s == ST_DELETING ? m->deleting_ms : m->created_ms;
    if (since >= 0 && since < a->oldest_ms[s])
        a->oldest_ms[s] = since;
    return 0;
}

static void
scan(const struct stuck_src *s, enum st_kind kind, struct cstore *store, struct st_acc *a)
{
    memset(a, 0, sizeof(*a));
    a->kind = kind;
    a->now_ms = s->now_ms;
    a->threshold_ms = s->threshold_ms;
    for (int i = 0; i < ST_N; i++)
        a->oldest_ms[i] = INT64_MAX;
    if (store != NULL)
        cstore_each(store, visit, a);
}

static int
render_kind(const struct st_acc *a, struct buf *out, int part)
{
    int rc = SC_OK;

    for (int i = 0; i < ST_N && part < 2 && a->kind != SK_PVC; i++) {
        if (part == 0) {
            rc |= buf_addf(out, "snapshot_controller_objects{kind=\"%s\",state=\"%s\"} %llu\n",
                           kind_names[a->kind], state_names[i], (unsigned long long)a->n[i]);
        } else {
            int64_t age = a->oldest_ms[i] == INT64_MAX ? 0 : (a->now_ms - a->oldest_ms[i]) / 1000;

            rc |= buf_addf(out,
                           "snapshot_controller_oldest_object_age_seconds{kind=\"%s\","
                           "state=\"%s\"} %lld\n",
                           kind_names[a->kind], state_names[i], (long long)(age > 0 ? age : 0));
        }
    }
    for (int f = 0; f < SF_N && part == 2; f++)
        if ((kind_fins[a->kind] & (1u << f)) != 0)
            rc |= buf_addf(out,
                           "snapshot_controller_stuck_deletions{kind=\"%s\",finalizer=\"%s\"} "
                           "%llu\n",
                           kind_names[a->kind], fin_names[f], (unsigned long long)a->stuck[f]);
    return rc;
}

int
stuck_metrics_render(const struct stuck_src *s, struct buf *out)
{
    static const char *const heads[3] = {
        "# HELP snapshot_controller_objects Cached objects by state (pending, ready, error, "
        "deleting).\n# TYPE snapshot_controller_objects gauge\n",
        "# HELP snapshot_controller_oldest_object_age_seconds Age of the oldest object in each "
        "state (since creation; since the deletion request for deleting).\n"
        "# TYPE snapshot_controller_oldest_object_age_seconds gauge\n",
        "# HELP snapshot_controller_stuck_deletions Objects whose deletion has waited longer than "
        "the threshold, by finalizer still present.\n"
        "# TYPE snapshot_controller_stuck_deletions gauge\n"};
    struct st_acc acc[SK_N] = {0};
    int rc = SC_OK;
    int n = 0;

    memset(acc, 0, sizeof(acc));
    scan(s, SK_VS, s->snapshots, &acc[n++]);
    scan(s, SK_VSC, s->contents, &acc[n++]);
    if (s->groups != NULL && s->group_contents != NULL) {
        scan(s, SK_VGS, s->groups, &acc[n++]);
        scan(s, SK_VGSC, s->group_contents, &acc[n++]);
    }
    scan(s, SK_PVC, s->pvcs, &acc[n++]);
    for (int part = 0; part < 3; part++) {
        rc |= buf_adds(out, heads[part]);
        for (int k = 0; k < n; k++)
            rc |= render_kind(&acc[k], out, part);
    }
    return rc == SC_OK ? SC_OK : SC_ETOOBIG;
}
