/* tests/unit/controller/stuck_metrics_test.c -- the stuck-state gauges
 * (controller/stuck_metrics.c) over cstores of parsed views. */
#include "controller/stuck_metrics.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "controller/cview.h"
#include "controller/gview.h"
#include "tests/lib/harness.h"

#define NOW "2026-12-01T12:00:00Z"

/* metadata for name, created at created, deleting since del (NULL = not), with
 * finalizers fins (comma-separated, NULL = none). */
static json_t *
meta(const char *ns, const char *name, const char *created, const char *del, const char *fins)
{
    json_t *m = json_pack("{s:s, s:s, s:s, s:s}", "name", name, "uid", name, "resourceVersion", "1",
                          "creationTimestamp", created);
    json_t *arr = json_array();

    if (ns != NULL)
        json_object_set_new(m, "namespace", json_string(ns));
    if (del != NULL)
        json_object_set_new(m, "deletionTimestamp", json_string(del));
    while (fins != NULL && *fins) {
        const char *comma = strchr(fins, ',');
        size_t n = comma ? (size_t)(comma - fins) : strlen(fins);

        json_array_append_new(arr, json_stringn(fins, n));
        fins += n + (comma ? 1 : 0);
    }
    json_object_set_new(m, "finalizers", arr);
    return m;
}

static void
put_vs(struct cstore *s, json_t *m, int ready, const char *error)
{
    json_t *o = json_pack("{s:o, s:{s:{s:s}}}", "metadata", m, "spec", "source",
                          "persistentVolumeClaimName", "p");
    struct cvs *v = NULL;

    if (ready >= 0 || error != NULL) {
        json_t *st = json_object();

        if (ready >= 0)
            json_object_set_new(st, "readyToUse", json_boolean(ready));
        if (error != NULL)
            json_object_set_new(st, "error", json_pack("{s:s}", "message", error));
        json_object_set_new(o, "status", st);
    }
    CHECK_INT(cvs_parse(o, &v, NULL), 0);
    CHECK_INT(cstore_put(s, &v->m, true) < 0, 0);
    json_decref(o);
}

static void
put_pvc(struct cstore *s, json_t *m)
{
    json_t *o =
        json_pack("{s:o, s:{}, s:{s:s}}", "metadata", m, "spec", "status", "phase", "Bound");
    struct cpvc *v = NULL;

    CHECK_INT(cpvc_parse(o, &v, NULL), 0);
    CHECK_INT(cstore_put(s, &v->m, true) < 0, 0);
    json_decref(o);
}

static void
put_vgs(struct cstore *s, json_t *m, int ready)
{
    json_t *o = json_pack("{s:o, s:{s:{s:{}}}, s:{s:b}}", "metadata", m, "spec", "source",
                          "selector", "status", "readyToUse", ready);
    struct gvgs *v = NULL;

    CHECK_INT(gvgs_parse(o, &v, NULL), 0);
    CHECK_INT(cstore_put(s, &v->m, true) < 0, 0);
    json_decref(o);
}

static char *
render(struct stuck_src *src)
{
    struct buf b = {0};

    buf_init(&b, 1 << 16);
    CHECK_INT(stuck_metrics_render(src, &b), 0);
    return buf_detach(&b);
}

static void
has(const char *text, const char *line)
{
    char want[512];

    snprintf(want, sizeof(want), "\n%s\n", line);
    if (strstr(text, want) == NULL)
        fprintf(stderr, "missing line: %s\n", line);
    CHECK(strstr(text, want) != NULL);
}

static void
test_states_ages_and_stuck_deletions(void)
{
    struct cstore *vs = cstore_new(), *pvc = cstore_new(), *vgs = cstore_new(),
                  *vgsc = cstore_new();
    struct stuck_src src = {0};
    char *t;

    put_vs(vs, meta("a", "ready-1", "2026-12-01T11:00:00Z", NULL, FIN_VS_BOUND), 1, NULL);
    put_vs(vs, meta("a", "pend-1", "2026-12-01T11:50:00Z", NULL, NULL), -1, NULL);
    put_vs(vs, meta("a", "pend-2", "2026-12-01T11:40:00Z", NULL, NULL), 0, NULL);
    /* status.error but not ready: error; ready wins over an old error. */
    put_vs(vs, meta("a", "err-1", "2026-12-01T10:00:00Z", NULL, NULL), 0, "no class");
    put_vs(vs, meta("a", "ready-err", "2026-12-01T11:59:00Z", NULL, NULL), 1, "old");
    /* Deleting for 20 min with two known finalizers and an unknown one; and
     * one deleting for 1 min (under the threshold). */
    put_vs(vs,
           meta("a", "del-old", "2026-12-01T09:00:00Z", "2026-12-01T11:40:00Z",
                FIN_VS_SOURCE "," FIN_VS_BOUND ",example.com/x"),
           1, NULL);
    put_vs(vs, meta("a", "del-new", "2026-12-01T09:00:00Z", "2026-12-01T11:59:00Z", FIN_VS_BOUND),
           1, NULL);
    put_pvc(pvc, meta("a", "pinned", "2026-12-01T08:00:00Z", "2026-12-01T11:00:00Z",
                      FIN_PVC_SOURCE ",kubernetes.io/pvc-protection"));
    put_pvc(pvc, meta("a", "fine", "2026-12-01T08:00:00Z", NULL, FIN_PVC_SOURCE));
    put_vgs(vgs, meta("a", "g", "2026-12-01T11:59:30Z", NULL, NULL), 0);
    src.snapshots = vs;
    src.pvcs = pvc;
    src.groups = vgs;
    src.group_contents = vgsc;
    src.now_ms = clock_parse_rfc3339(NOW);
    src.threshold_ms = STUCK_DELETION_THRESHOLD_MS;
    t = render(&src);
    has(t, "snapshot_controller_objects{kind=\"VolumeSnapshot\",state=\"pending\"} 2");
    has(t, "snapshot_controller_objects{kind=\"VolumeSnapshot\",state=\"ready\"} 2");
    has(t, "snapshot_controller_objects{kind=\"VolumeSnapshot\",state=\"error\"} 1");
    has(t, "snapshot_controller_objects{kind=\"VolumeSnapshot\",state=\"deleting\"} 2");
    has(t, "snapshot_controller_oldest_object_age_seconds{kind=\"VolumeSnapshot\","
           "state=\"pending\"} 1200");
    has(t, "snapshot_controller_oldest_object_age_seconds{kind=\"VolumeSnapshot\","
           "state=\"error\"} 7200");
    has(t, "snapshot_controller_oldest_object_age_seconds{kind=\"VolumeSnapshot\","
           "state=\"deleting\"} 1200");
    has(t, "snapshot_controller_stuck_deletions{kind=\"VolumeSnapshot\",finalizer=\"" FIN_VS_BOUND
           "\"} 1");
    has(t, "snapshot_controller_stuck_deletions{kind=\"VolumeSnapshot\",finalizer=\"" FIN_VS_SOURCE
           "\"} 1");
    has(t, "snapshot_controller_stuck_deletions{kind=\"VolumeSnapshot\",finalizer=\"other\"} 1");
    has(t,
        "snapshot_controller_stuck_deletions{kind=\"PersistentVolumeClaim\",finalizer=\"" FIN_PVC_SOURCE
        "\"} 1");
    has(t,
        "snapshot_controller_stuck_deletions{kind=\"PersistentVolumeClaim\",finalizer=\"other\"} 1");
    /* Empty kinds and states are present with 0. */
    has(t, "snapshot_controller_objects{kind=\"VolumeSnapshotContent\",state=\"ready\"} 0");
    has(t, "snapshot_controller_oldest_object_age_seconds{kind=\"VolumeSnapshotContent\","
           "state=\"pending\"} 0");
    has(t, "snapshot_controller_objects{kind=\"VolumeGroupSnapshot\",state=\"pending\"} 1");
    has(t, "snapshot_controller_oldest_object_age_seconds{kind=\"VolumeGroupSnapshot\","
           "state=\"pending\"} 30");
    has(t,
        "snapshot_controller_stuck_deletions{kind=\"VolumeGroupSnapshotContent\",finalizer=\"" FIN_VGSC_BOUND
        "\"} 0");
    CHECK(strstr(t, "kind=\"PersistentVolumeClaim\",state=") == NULL);
    free(t);
    /* A lower threshold (--stuck-deletion-threshold=30s): del-new, deleting
     * for 1 min, now counts too. */
    src.threshold_ms = 30000;
    t = render(&src);
    has(t, "snapshot_controller_stuck_deletions{kind=\"VolumeSnapshot\",finalizer=\"" FIN_VS_BOUND
           "\"} 2");
    free(t);
    src.threshold_ms = STUCK_DELETION_THRESHOLD_MS;
    /* Groups off: no group series at all. */
    src.groups = src.group_contents = NULL;
    t = render(&src);
    CHECK(strstr(t, "VolumeGroupSnapshot") == NULL);
    free(t);
    cstore_free(vs);
    cstore_free(pvc);
    cstore_free(vgs);
    cstore_free(vgsc);
}

TEST_MAIN(TEST(test_states_ages_and_stuck_deletions))
