/* Sync decisions on recorded objects (tests/data/controller/objects.json,
 * recorded from the local control plane with the real csi-provisioner and
 * csi-snapshotter), with a fake clock and a recording sync_actions.  Each
 * test names the upstream behaviour it pins (reference §3/§4). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "controller/gview.h"
#include "controller/sync_int.h"
#include "tests/lib/harness.h"
#include "tests/unit/controller/fake.c"

#define VS_UID  "9e26aa11-0336-40a1-9721-4c992b27fa15"
#define VSC     "snapcontent-" VS_UID
#define PV_NAME "pvc-2306b53c-ff9e-419f-bfa5-59315c078f5d"
#define NOW     "2025-11-22T02:00:00Z"

/* jedit() lines of the snapshot tests */
#define NO_CLASS     "-spec.volumeSnapshotClassName"
#define FIN_SOURCE   "+" FIN_VS_SOURCE
#define FIN_BOUND    "+" FIN_VS_BOUND
#define BOUND_TO_VSC "status.boundVolumeSnapshotContentName=" VSC
#define READY        "status.readyToUse:=true"
#define UNREADY      "status.readyToUse:=false"
#define DELETING     "metadata.deletionTimestamp=2025-11-22T01:59:00Z"
#define PVC_NAMED(n) "spec.source.persistentVolumeClaimName=" n

/* vs-dynamic stored with the edits (jedit()) given. */
#define PUT_VS(...) fake_put(&F, jedit(fixture("vs-dynamic"), __VA_ARGS__, NULL))
/* A recorded object stored with the edits given. */
#define PUT_FIXTURE(n, ...) fake_put(&F, jedit(fixture(n), __VA_ARGS__, NULL))

static struct fake F;
static struct buf T;

/* A fresh fake with the fixtures named, up to a NULL, stored. */
static void
setup(const char *fixture, ...)
{
    va_list ap;

    fake_init(&F);
    buf_init(&T, 1u << 20);
    va_start(ap, fixture);
    for (; fixture != NULL; fixture = va_arg(ap, const char *))
        fake_add_fixture(&F, fixture);
    va_end(ap);
}

static void
teardown(void)
{
    fake_release(&F);
    buf_release(&T);
}

/* The world of a dynamic snapshot before anything ran: class, bound PVC,
 * CSI PV, and the snapshot with the finalizers given. */
static void
world(bool with_source_fin, bool with_pvc_fin)
{
    json_t *pvc = fixture("pvc-bound");
    json_t *vs = fixture("vs-dynamic");

    setup("class-default", "pv-csi", NULL);
    if (with_pvc_fin)
        jfin(pvc, FIN_PVC_SOURCE);
    fake_put(&F, pvc);
    if (with_source_fin)
        jfin(vs, FIN_VS_SOURCE);
    fake_put(&F, vs);
}

/* world(false, true) with snap1 bound to its content vsc-dynamic-ready,
 * readyToUse as ready says (READY or UNREADY). */
static void
bound_world(const char *ready)
{
    world(false, true);
    PUT_VS(FIN_SOURCE, FIN_BOUND, BOUND_TO_VSC, ready);
    fake_add_fixture(&F, "vsc-dynamic-ready");
}

static int
sync_vs(void)
{
    struct sc_err err = {0};

    return snapshot_sync_key(&F.env, "default/snap1", &err);
}

static int
sync_vs_err(struct sc_err *err)
{
    return snapshot_sync_key(&F.env, "default/snap1", err);
}

/* The log holds needle. */
static bool
logged(const char *needle)
{
    return strstr(fake_log(&F), needle) != NULL;
}

/* What a pass answers: 0, or FAILS (any error code). */
#define FAILS (-1)

static void
check_rc(int rc, int want)
{
    if (want == FAILS)
        CHECK(rc < 0);
    else
        CHECK_INT(rc, want);
}

/* One pass over default/snap1 that fails with the Events want (all of the
 * EVENT lines, joined by "\n"). */
static void
fails_with_events(const char *want)
{
    check_rc(sync_vs(), FAILS);
    CHECK_STR(fake_lines(&F, "EVENT", &T), want);
}

/* One pass over default/snap1 that answers rc (0 or FAILS) and writes the
 * log want. */
static void
logs(int rc, const char *want)
{
    check_rc(sync_vs(), rc);
    CHECK_STR(fake_log(&F), want);
}

/* A first sync only adds finalizers and stops: as-source (added to every
 * VS) and, since the class's policy is Delete, bound-protection in the same
 * patch (upstream: a second patch once bound); the list is created under a
 * resourceVersion test. */
static void
test_dynamic_adds_source_finalizer(void)
{
    world(false, false);
    logs(0, "PATCH vs default/snap1 json [{\"op\":\"test\",\"path\":\"/metadata/resourceVersion\","
            "\"value\":\"247\"},{\"op\":\"add\",\"path\":\"/metadata/finalizers\",\"value\":["
            "\"snapshot.storage.kubernetes.io/volumesnapshot-as-source-protection\","
            "\"snapshot.storage.kubernetes.io/volumesnapshot-bound-protection\"]}]\n");
    teardown();
}

/* A class of policy Retain: as-source alone (no content of that class
 * would ever need bound-protection); nor is it added once bound. */
static void
test_dynamic_retain_adds_source_only(void)
{
    setup("pv-csi", "pvc-bound", NULL);
    PUT_FIXTURE("class-default", "deletionPolicy=Retain");
    fake_put(&F, fixture("vs-dynamic"));
    logs(0, "PATCH vs default/snap1 json [{\"op\":\"test\",\"path\":\"/metadata/resourceVersion\","
            "\"value\":\"247\"},{\"op\":\"add\",\"path\":\"/metadata/finalizers\",\"value\":["
            "\"snapshot.storage.kubernetes.io/volumesnapshot-as-source-protection\"]}]\n");
    PUT_FIXTURE("vsc-dynamic-ready", "spec.deletionPolicy=Retain");
    PUT_VS(FIN_SOURCE, BOUND_TO_VSC, READY);
    fake_reset_log(&F);
    CHECK_INT(sync_vs(), 0);
    CHECK(!logged("bound-protection"));
    teardown();
}

/* With the finalizer: PVC finalizer first (guarded by the PVC's
 * resourceVersion: other snapshots' passes may add it at the same time), then
 * the content, the CreatingSnapshot event, and the status {bound,
 * readyToUse=false}. */
static void
test_dynamic_creates_content(void)
{
    world(true, false);
    logs(0,
         "PATCH pvc default/claim1 json [{\"op\":\"test\",\"path\":\"/metadata/"
         "resourceVersion\",\"value\":\"252\"},{\"op\":\"add\",\"path\":\"/metadata/"
         "finalizers/-\",\"value\":\"snapshot.storage.kubernetes.io/pvc-as-source-protection\"}]\n"
         "GET pv " PV_NAME "\n"
         "CREATE vsc {\"apiVersion\":\"snapshot.storage.k8s.io/v1\",\"kind\":"
         "\"VolumeSnapshotContent\",\"metadata\":{\"finalizers\":[\"snapshot.storage."
         "kubernetes.io/volumesnapshotcontent-bound-protection\"],\"name\":\"" VSC "\"},"
         "\"spec\":{\"deletionPolicy\":\"Delete\",\"driver\":\"testdriver.csi.k8s.io\","
         "\"source\":{\"volumeHandle\":\"4\"},\"sourceVolumeMode\":\"Filesystem\","
         "\"volumeSnapshotClassName\":\"csi-test-snapclass\",\"volumeSnapshotRef\":{"
         "\"apiVersion\":\"snapshot.storage.k8s.io/v1\",\"kind\":\"VolumeSnapshot\",\"name\":"
         "\"snap1\",\"namespace\":\"default\",\"resourceVersion\":\"247\",\"uid\":\"" VS_UID
         "\"}}}\n"
         "EVENT vs default/snap1 Normal CreatingSnapshot Waiting for a snapshot default/snap1 "
         "to be created by the CSI driver.\n"
         "PATCH vs default/snap1 status merge {\"status\":{\"boundVolumeSnapshotContentName\":"
         "\"" VSC "\",\"readyToUse\":false}}\n");
    CHECK_INT(cmetrics_in_flight(F.metrics), 2); /* CreateSnapshot, CreateSnapshotAndReady */
    teardown();
}

/* AlreadyExists on create is success (idempotent snapcontent-<uid>). */
static void
test_dynamic_create_already_exists(void)
{
    world(true, true);
    F.fail_create = SC_EEXIST;
    CHECK_INT(sync_vs(), 0);
    CHECK_STR(fake_lines(&F, "EVENT", &T),
              "EVENT vs default/snap1 Normal CreatingSnapshot Waiting for a snapshot default/snap1 "
              "to be created by the CSI driver.");
    CHECK(logged("PATCH vs default/snap1 status merge"));
    teardown();
}

/* A create failure: CreateSnapshotContentFailed event, then the status
 * error SnapshotContentCreationFailed (upstream test 7-11's message). */
static void
test_dynamic_create_fails(void)
{
    struct sc_err err = {0};

    world(true, true);
    F.fail_create = SC_ESERVER;
    CHECK(sync_vs_err(&err) < 0);
    CHECK_STR(
        err.msg,
        "snapshot controller failed to update default/snap1 on API server: mock create error");
    CHECK_STR(fake_lines(&F, "EVENT", &T),
              "EVENT vs default/snap1 Warning CreateSnapshotContentFailed Error creating volume "
              "snapshot content object for snapshot default/snap1: mock create error.\n"
              "EVENT vs default/snap1 Warning SnapshotContentCreationFailed Failed to create "
              "snapshot content with error snapshot controller failed to update default/snap1 on "
              "API server: mock create error");
    CHECK_STR(fake_lines(&F, "PATCH vs", &T),
              "PATCH vs default/snap1 status merge {\"status\":{\"error\":{\"message\":\"Failed to "
              "create snapshot content with error snapshot controller failed to update "
              "default/snap1 on API server: mock create error\",\"time\":\"" NOW "\"},"
              "\"readyToUse\":false}}");
    teardown();
}

/* PVC not bound, class set: PVC finalizer added first, then the %q-wrapped
 * input error (reference §3.17 row 1). */
static void
test_pvc_pending_with_class(void)
{
    setup("class-default", NULL);
    PUT_VS(PVC_NAMED("claim-pending"), FIN_SOURCE);
    fake_add_fixture(&F, "pvc-pending");
    fails_with_events("EVENT vs default/snap1 Warning SnapshotContentCreationFailed Failed to "
                      "create snapshot content with error failed to get input parameters to "
                      "create snapshot snap1: \"the PVC claim-pending is not yet bound to a PV, "
                      "will not attempt to take a snapshot\"");
    CHECK(strncmp(fake_log(&F), "PATCH pvc default/claim-pending json", 36) == 0);
    teardown();
}

/* No class and a pending PVC: SetDefaultSnapshotClassFailed, readyToUse
 * untouched, no finalizers yet. */
static void
test_pvc_pending_no_class(void)
{
    setup("class-default", "pvc-pending", NULL);
    PUT_VS(NO_CLASS, PVC_NAMED("claim-pending"));
    logs(FAILS,
         "PATCH vs default/snap1 status merge {\"status\":{\"error\":{\"message\":\"Failed to "
         "set default snapshot class with error the PVC claim-pending is not yet bound to a "
         "PV, will not attempt to take a snapshot\",\"time\":\"" NOW "\"}}}\n"
         "EVENT vs default/snap1 Warning SetDefaultSnapshotClassFailed Failed to set default "
         "snapshot class with error the PVC claim-pending is not yet bound to a PV, will not "
         "attempt to take a snapshot\n");
    teardown();
}

/* The same error already in status: no write and no event (dedup). */
static void
test_error_status_dedup(void)
{
    setup("pvc-pending", NULL);
    PUT_VS(NO_CLASS, PVC_NAMED("claim-pending"),
           "status.error.message=Failed to set default snapshot class with error the PVC "
           "claim-pending is not yet bound to a PV, will not attempt to take a snapshot",
           "status.error.time=2025-11-22T01:00:00Z");
    logs(FAILS, "");
    teardown();
}

/* Default class picked by the PV's driver, written with the as-source and
 * bound-protection finalizers in one JSON patch (upstream: an update, then
 * a finalizer patch, then another once bound); the next pass adds no
 * finalizer. */
static void
test_default_class_picked(void)
{
    setup(NULL);
    PUT_FIXTURE("class-default", "metadata.name=other-driver-default",
                "driver=other.csi.example.com");
    fake_add_fixtures(&F, "class-default", "pvc-bound", "pv-csi", NULL);
    PUT_VS(NO_CLASS);
    logs(0, "GET pv " PV_NAME "\n"
            "PATCH vs default/snap1 json [{\"op\":\"test\",\"path\":\"/metadata/resourceVersion\","
            "\"value\":\"247\"},{\"op\":\"add\",\"path\":\"/metadata/finalizers\",\"value\":["
            "\"snapshot.storage.kubernetes.io/volumesnapshot-as-source-protection\","
            "\"snapshot.storage.kubernetes.io/volumesnapshot-bound-protection\"]},{\"op\":"
            "\"add\",\"path\":\"/spec/volumeSnapshotClassName\",\"value\":\"csi-test-snapclass\"}]"
            "\n");
    PUT_VS(FIN_SOURCE, FIN_BOUND);
    fake_reset_log(&F);
    CHECK_INT(sync_vs(), 0);
    CHECK(!logged("PATCH vs default/snap1 json"));
    teardown();
}

/* As-source already there: the class alone, as a merge patch. */
static void
test_default_class_only(void)
{
    setup("class-default", "pvc-bound", "pv-csi", NULL);
    PUT_VS(NO_CLASS, FIN_SOURCE);
    logs(0, "GET pv " PV_NAME "\n"
            "PATCH vs default/snap1 merge {\"spec\":{\"volumeSnapshotClassName\":"
            "\"csi-test-snapclass\"}}\n");
    teardown();
}

/* Two defaults for the driver: upstream's "2 default snapshot classes were
 * found" status and event. */
static void
test_two_default_classes(void)
{
    setup(NULL);
    PUT_FIXTURE("class-default", "metadata.name=second-default");
    fake_add_fixtures(&F, "class-default", "pvc-bound", "pv-csi", NULL);
    PUT_VS(NO_CLASS);
    fails_with_events("EVENT vs default/snap1 Warning SetDefaultSnapshotClassFailed Failed to set "
                      "default snapshot class with error 2 default snapshot classes were found");
    teardown();
}

static void
test_no_default_class(void)
{
    setup(NULL);
    PUT_FIXTURE("class-default", "-metadata.annotations");
    fake_add_fixtures(&F, "pvc-bound", "pv-csi", NULL);
    PUT_VS(NO_CLASS);
    fails_with_events("EVENT vs default/snap1 Warning SetDefaultSnapshotClassFailed Failed to set "
                      "default snapshot class with error cannot find default snapshot class");
    teardown();
}

/* Missing PVC and no class: the lister NotFound text, %q-quoted. */
static void
test_missing_pvc_no_class(void)
{
    setup("class-default", NULL);
    PUT_VS(NO_CLASS, PVC_NAMED("nope"));
    fails_with_events("EVENT vs default/snap1 Warning SetDefaultSnapshotClassFailed Failed to set "
                      "default snapshot class with error failed to retrieve PVC nope from the "
                      "lister: \"persistentvolumeclaim \\\"nope\\\" not found\"");
    teardown();
}

/* Missing PVC, class set: ensurePVCFinalizer's error (upstream 7-4). */
static void
test_missing_pvc_with_class(void)
{
    setup("class-default", NULL);
    PUT_VS(PVC_NAMED("nope"), FIN_SOURCE);
    fails_with_events("EVENT vs default/snap1 Warning SnapshotContentCreationFailed Failed to "
                      "create snapshot content with error snapshot controller failed to update "
                      "snap1 on API server: cannot get claim from snapshot");
    teardown();
}

/* Missing class: GetSnapshotClassFailed, readyToUse untouched. */
static void
test_missing_class(void)
{
    setup(NULL);
    PUT_VS("spec.volumeSnapshotClassName=non-existing");
    logs(FAILS,
         "PATCH vs default/snap1 status merge {\"status\":{\"error\":{\"message\":\"Failed to "
         "get snapshot class with error volumesnapshotclass.snapshot.storage.k8s.io "
         "\\\"non-existing\\\" not found\",\"time\":\"" NOW "\"}}}\n"
         "EVENT vs default/snap1 Warning GetSnapshotClassFailed Failed to get snapshot class "
         "with error volumesnapshotclass.snapshot.storage.k8s.io \"non-existing\" not found\n");
    teardown();
}

/* Non-CSI PV: default path vs explicit class path messages. */
static void
test_non_csi_volume(void)
{
    setup(NULL);
    PUT_FIXTURE("pv-csi", "-spec.csi", "spec.hostPath.path=/tmp/x");
    fake_add_fixtures(&F, "class-default", "pvc-bound", NULL);
    PUT_VS(NO_CLASS);
    fails_with_events("EVENT vs default/snap1 Warning SetDefaultSnapshotClassFailed Failed to set "
                      "default snapshot class with error snapshotting non-CSI volumes is not "
                      "supported, snapshot:default/snap1");
    teardown();

    setup(NULL);
    PUT_FIXTURE("pv-csi", "-spec.csi");
    fake_add_fixtures(&F, "class-default", "pvc-bound", NULL);
    PUT_VS(FIN_SOURCE);
    fails_with_events("EVENT vs default/snap1 Warning SnapshotContentCreationFailed Failed to "
                      "create snapshot content with error cannot find CSI "
                      "PersistentVolumeSource for volume " PV_NAME);
    teardown();
}

/* Validation: both sources set. */
static void
test_validation_error(void)
{
    setup("class-default", NULL);
    PUT_VS("spec.source.volumeSnapshotContentName=x");
    fails_with_events("EVENT vs default/snap1 Warning SnapshotValidationError Exactly one of "
                      "PersistentVolumeClaimName and VolumeSnapshotContentName should be "
                      "specified");
    CHECK(logged("\"readyToUse\":false"));
    teardown();
}

/* The content became ready: status copied by the §3.8 rules, creationTime
 * in RFC 3339 seconds, restoreSize as a BinarySI quantity, both Normal
 * events, and the two create metrics observed. */
static void
test_status_from_ready_content(void)
{
    bound_world(UNREADY);
    cmetrics_start(F.metrics, OP_CREATE_SNAPSHOT, VS_UID, "testdriver.csi.k8s.io", "dynamic");
    F.clock.ms += 1500;
    logs(0, "EVENT vs default/snap1 Normal SnapshotCreated Snapshot default/snap1 was "
            "successfully created by the CSI driver.\n"
            "EVENT vs default/snap1 Normal SnapshotReady Snapshot default/snap1 is ready to use.\n"
            "PATCH vs default/snap1 status merge {\"status\":{\"creationTime\":"
            "\"2026-11-22T01:50:30Z\",\"readyToUse\":true,\"restoreSize\":\"1Gi\"}}\n");
    CHECK_INT(cmetrics_in_flight(F.metrics), 0);
    buf_reset(&T);
    CHECK_INT(cmetrics_render(F.metrics, &T, NULL, NULL), 0);
    CHECK(strstr(buf_str(&T),
                 "snapshot_controller_operation_total_seconds_bucket{driver_name=\"testdriver.csi."
                 "k8s.io\",operation_name=\"CreateSnapshot\",operation_status=\"success\","
                 "snapshot_type=\"dynamic\",le=\"2.5\"} 1\n") != NULL);
    CHECK(strstr(buf_str(&T), "snapshot_type=\"dynamic\",le=\"1\"} 0\n") != NULL);
    teardown();
}

/* The guarded PVC finalizer add lost a race (another snapshot's pass added
 * it first): a GET that shows the finalizer lets the pass go on; one that
 * does not fails it as any other write error. */
static void
test_pvc_finalizer_race(void)
{
    for (int added = 1; added >= 0; added--) {
        json_t *pvc = fixture("pvc-bound");
        const char *log;

        world(true, false);
        if (added)
            jfin(pvc, FIN_PVC_SOURCE);
        json_object_set_new(F.objs, "pvc default/claim1", pvc);
        F.fail_patch = SC_ECONFLICT;
        (void)sync_vs();
        log = fake_log(&F);
        CHECK(strstr(log, "GET pvc default/claim1\n") != NULL);
        CHECK((strstr(log, "CREATE vsc") != NULL) == (added != 0));
        CHECK((strstr(log, "SnapshotContentCreationFailed") != NULL) == (added == 0));
        teardown();
    }
}

/* Ready and bound with a Delete content: bound-protection is added (one
 * "add /-" op since the list exists), and nothing else that pass. */
static void
test_bound_finalizer_added(void)
{
    setup("class-default", "vsc-dynamic-ready", NULL);
    PUT_VS(FIN_SOURCE, BOUND_TO_VSC, READY);
    logs(0, "PATCH vs default/snap1 json [{\"op\":\"add\",\"path\":\"/metadata/finalizers/-\","
            "\"value\":\"snapshot.storage.kubernetes.io/volumesnapshot-bound-protection\"}]\n");
    teardown();
}

/* Ready VS whose content vanished: SnapshotContentMissing, ready=false, and
 * no requeue (the status write succeeded). */
static void
test_ready_content_missing(void)
{
    setup("class-default", NULL);
    PUT_VS(FIN_SOURCE, BOUND_TO_VSC, READY);
    logs(0, "PATCH vs default/snap1 status merge {\"status\":{\"error\":{\"message\":"
            "\"VolumeSnapshotContent is missing\",\"time\":\"" NOW "\"},\"readyToUse\":false}}\n"
            "EVENT vs default/snap1 Warning SnapshotContentMissing VolumeSnapshotContent is "
            "missing\n");
    teardown();
}

/* Content bound to another uid: SnapshotContentMisbound from the
 * finalizer step, plus SnapshotFinalizerError. */
static void
test_content_misbound(void)
{
    setup("class-default", NULL);
    PUT_FIXTURE("vsc-dynamic-ready", "spec.volumeSnapshotRef.uid=someone-else");
    PUT_VS(FIN_SOURCE);
    fails_with_events("EVENT vs default/snap1 Warning SnapshotContentMisbound "
                      "VolumeSnapshotContent [" VSC "] is bound to a different snapshot\n"
                      "EVENT vs default/snap1 Warning SnapshotFinalizerError Failed to check and "
                      "update snapshot: snapshot default/snap1 is bound to a different "
                      "content " VSC);
    teardown();
}

/* The log lines of a deletion: the content's being-deleted annotation; one
 * VS patch removing bound-protection (index 1), then as-source (index 0). */
#define BEING_DELETED                                                             \
    "PATCH vsc " VSC " merge {\"metadata\":{\"annotations\":{\"snapshot.storage." \
    "kubernetes.io/volumesnapshot-being-deleted\":\"yes\"}}}\n"
#define REMOVE_BOTH_FINS                                                                 \
    "PATCH vs default/snap1 json [{\"op\":\"test\",\"path\":\"/metadata/finalizers/1\"," \
    "\"value\":\"snapshot.storage.kubernetes.io/volumesnapshot-bound-protection\"},"     \
    "{\"op\":\"remove\",\"path\":\"/metadata/finalizers/1\"},{\"op\":\"test\",\"path\":" \
    "\"/metadata/finalizers/0\",\"value\":\"snapshot.storage.kubernetes.io/"             \
    "volumesnapshot-as-source-protection\"},{\"op\":\"remove\",\"path\":"                \
    "\"/metadata/finalizers/0\"}]\n"

/* vs-dynamic being deleted, ready and bound to VSC, with the as-source
 * finalizer and, if bound_fin, bound-protection. */
static json_t *
deleting_vs(bool bound_fin)
{
    json_t *vs = jedit(fixture("vs-dynamic"), FIN_SOURCE, NULL);

    if (bound_fin)
        jfin(vs, FIN_VS_BOUND);
    return jedit(vs, DELETING, BOUND_TO_VSC, READY, NULL);
}

/* Delete policy: being-deleted annotation FIRST, then DELETE of the
 * content; no finalizer goes while the content is there (bound-protection
 * holds the snapshot anyway).  Once the content is gone, one patch removes
 * both, bound-protection (index 1) first: one VS write where upstream makes
 * two (docs/performance.md). */
static void
test_delete_policy_delete(void)
{
    setup("class-default", "vsc-dynamic-ready", "pvc-bound", NULL);
    fake_put(&F, deleting_vs(true));
    logs(0, BEING_DELETED "DELETE vsc " VSC "\n");
    cview_unref(cstore_del(F.env.contents, VSC));
    fake_reset_log(&F);
    logs(0, REMOVE_BOTH_FINS);
    teardown();
}

/* While the content is being deleted the PVC finalizer is still checked:
 * with no other snapshot of the claim it goes, the snapshot's stay. */
static void
test_delete_policy_delete_releases_pvc(void)
{
    setup("class-default", "vsc-dynamic-ready", NULL);
    PUT_FIXTURE("pvc-bound", "+" FIN_PVC_SOURCE);
    fake_put(&F, deleting_vs(true));
    CHECK_INT(sync_vs(), 0);
    CHECK(logged("PATCH pvc default/claim1 json"));
    CHECK(logged("DELETE vsc " VSC "\n"));
    CHECK(!logged("PATCH vs "));
    teardown();
}

/* Without bound-protection nothing holds the snapshot: as-source goes in
 * the pass that deletes the content (upstream's order). */
static void
test_delete_policy_delete_no_bound_fin(void)
{
    setup("class-default", "vsc-dynamic-ready", NULL);
    fake_put(&F, deleting_vs(false));
    CHECK_INT(sync_vs(), 0);
    CHECK_STR(fake_lines(&F, "PATCH vs ", &T),
              "PATCH vs default/snap1 json [{\"op\":\"test\",\"path\":\"/metadata/finalizers/0\","
              "\"value\":\"snapshot.storage.kubernetes.io/volumesnapshot-as-source-protection\"},"
              "{\"op\":\"remove\",\"path\":\"/metadata/finalizers/0\"}]");
    CHECK(logged("DELETE vsc " VSC "\n"));
    teardown();
}

/* Once the content is gone from the store, bound-protection goes too. */
static void
test_delete_policy_delete_content_gone(void)
{
    setup("class-default", NULL);
    PUT_VS(FIN_BOUND, DELETING, BOUND_TO_VSC);
    logs(0, "PATCH vs default/snap1 json [{\"op\":\"test\",\"path\":\"/metadata/finalizers/0\","
            "\"value\":\"snapshot.storage.kubernetes.io/volumesnapshot-bound-protection\"},"
            "{\"op\":\"remove\",\"path\":\"/metadata/finalizers/0\"}]\n");
    teardown();
}

/* Deleted with both first finalizers before its status names a content:
 * the content made under the dynamic name (policy Delete) is found and
 * deleted, and bound-protection holds the snapshot until it is gone, as for
 * a bound one (upstream, which has not added bound-protection yet, lets
 * the snapshot go at once: docs/compat.md).  With no content made, both
 * go at once. */
static void
test_delete_unbound_with_first_finalizers(void)
{
    setup("class-default", "vsc-dynamic-ready", "pvc-bound", NULL);
    PUT_VS(FIN_SOURCE, FIN_BOUND, DELETING);
    logs(0, BEING_DELETED "DELETE vsc " VSC "\n");
    cview_unref(cstore_del(F.env.contents, VSC));
    fake_reset_log(&F);
    logs(0, REMOVE_BOTH_FINS);
    teardown();

    setup("class-default", "pvc-bound", NULL);
    PUT_VS(FIN_SOURCE, FIN_BOUND, DELETING);
    logs(0, REMOVE_BOTH_FINS);
    teardown();
}

/* Retain: annotation set anyway, no DELETE, both finalizers removed (from
 * the highest index down). */
static void
test_delete_policy_retain(void)
{
    setup("class-default", NULL);
    PUT_FIXTURE("vsc-dynamic-ready", "spec.deletionPolicy=Retain");
    fake_put(&F, deleting_vs(true));
    logs(0, BEING_DELETED REMOVE_BOTH_FINS);
    teardown();
}

/* The annotation patch failing stops the pass before any finalizer goes:
 * no removal path can run ahead of being-deleted. */
static void
test_delete_annotation_failure_blocks(void)
{
    setup("class-default", "vsc-dynamic-ready", NULL);
    fake_put(&F, deleting_vs(true));
    F.fail_patch = SC_ECONFLICT;
    CHECK(sync_vs() < 0);
    CHECK(logged("volumesnapshot-being-deleted"));
    CHECK(!logged("DELETE"));
    CHECK(!logged("PATCH vs "));
    teardown();
}

/* A Pending PVC restoring from the snapshot blocks deletion (3-1a). */
static void
test_delete_blocked_by_restore(void)
{
    struct sc_err err = {0};

    setup("class-default", "vsc-dynamic-ready", NULL);
    PUT_FIXTURE("pvc-pending", "spec.dataSource.kind=VolumeSnapshot",
                "spec.dataSource.apiGroup=snapshot.storage.k8s.io", "spec.dataSource.name=snap1");
    fake_put(&F, deleting_vs(true));
    CHECK(sync_vs_err(&err) < 0);
    CHECK_STR(err.msg, "snapshot default/snap1 is being used to restore a PVC");
    CHECK_STR(fake_log(&F), "EVENT vs default/snap1 Warning SnapshotDeletePending Snapshot is "
                            "being used to restore a PVC\n");
    teardown();
}

/* A deleting snapshot whose class is gone still gets deleted (9-1/§11.7). */
static void
test_delete_with_class_notfound(void)
{
    setup(NULL);
    PUT_FIXTURE("vsc-dynamic-ready", "spec.deletionPolicy=Retain");
    fake_put(&F, deleting_vs(false));
    CHECK_INT(sync_vs(), 0);
    CHECK(logged("GetSnapshotClassFailed"));
    CHECK(logged("volumesnapshot-being-deleted"));
    CHECK(logged("{\"op\":\"remove\",\"path\":\"/metadata/finalizers/0\"}"));
    teardown();
}

/* PVC finalizer: removed once no unready snapshot names the PVC; kept while
 * one does (PVC deletion waits for an unready snapshot). */
static void
test_pvc_finalizer_removed_when_ready(void)
{
    bound_world(READY);
    logs(0, "PATCH pvc default/claim1 json [{\"op\":\"test\",\"path\":\"/metadata/finalizers/1\","
            "\"value\":\"snapshot.storage.kubernetes.io/pvc-as-source-protection\"},{\"op\":"
            "\"remove\",\"path\":\"/metadata/finalizers/1\"}]\n");
    teardown();
}

/* The removal's "test" failed (another worker removed it first): no
 * Warning, the pass goes on.  Any other error still warns, as upstream. */
static void
test_pvc_finalizer_conflict_is_quiet(void)
{
    bound_world(READY);
    F.fail_patch = SC_ECONFLICT;
    CHECK_INT(sync_vs(), 0);
    CHECK(logged("PATCH pvc default/claim1"));
    CHECK(!logged("ErrorPVCFinalizer"));
    teardown();

    bound_world(READY);
    F.fail_patch = SC_EFORBIDDEN;
    CHECK_INT(sync_vs(), 0);
    CHECK(logged("EVENT vs default/snap1 Warning ErrorPVCFinalizer Error check and remove PVC "
                 "Finalizer for VolumeSnapshot"));
    teardown();
}

static void
test_pvc_finalizer_kept_while_unready(void)
{
    bound_world(READY);
    /* taken on by the controller: it holds (ES#1305, pvc_pin.c) */
    PUT_VS("metadata.name=snap-unready", "metadata.uid=u2", FIN_SOURCE);
    CHECK_INT(sync_vs(), 0);
    CHECK(!logged("PATCH pvc"));
    teardown();
}

/* Pre-provisioned: binding patch (uid and the VS class), then status. */
#define PUT_PREPROV_CONTENT()                                                                  \
    PUT_FIXTURE("vsc-dynamic-ready", "metadata.name=pre-content", "-spec.source.volumeHandle", \
                "spec.source.snapshotHandle=4", "spec.volumeSnapshotRef.name=snap1",           \
                "spec.volumeSnapshotRef.uid=", "-spec.volumeSnapshotClassName", "-status")
#define PUT_PREPROV_VS()                             \
    PUT_VS("-spec.source.persistentVolumeClaimName", \
           "spec.source.volumeSnapshotContentName=pre-content", FIN_SOURCE)

static void
test_preprovisioned_binds(void)
{
    setup("class-default", NULL);
    PUT_PREPROV_CONTENT();
    PUT_PREPROV_VS();
    logs(0, "PATCH vsc pre-content merge {\"spec\":{\"volumeSnapshotClassName\":"
            "\"csi-test-snapclass\",\"volumeSnapshotRef\":{\"uid\":\"" VS_UID "\"}}}\n"
            "PATCH vs default/snap1 status merge {\"status\":{\"boundVolumeSnapshotContentName\":"
            "\"pre-content\",\"readyToUse\":false}}\n");
    teardown();
}

static void
test_preprovisioned_missing(void)
{
    struct sc_err err = {0};

    setup("class-default", NULL);
    PUT_PREPROV_VS();
    CHECK(sync_vs_err(&err) < 0);
    CHECK_STR(err.msg, "snapshot default/snap1 requests an non-existing content pre-content");
    CHECK_STR(fake_lines(&F, "EVENT", &T),
              "EVENT vs default/snap1 Warning SnapshotContentMissing VolumeSnapshotContent is "
              "missing");
    teardown();
}

static void
test_preprovisioned_dynamic_mismatch(void)
{
    setup("class-default", NULL);
    PUT_FIXTURE("vsc-dynamic-ready", "metadata.name=pre-content");
    PUT_PREPROV_VS();
    CHECK(sync_vs() < 0);
    CHECK(logged("Warning SnapshotContentMismatch VolumeSnapshotContent is "
                 "dynamically provisioned while expecting a pre-provisioned one"));
    teardown();
}

/* --prevent-volume-mode-conversion=false: no sourceVolumeMode. */
static void
test_volume_mode_flag(void)
{
    world(true, true);
    F.env.opts.prevent_volume_mode_conversion = false;
    CHECK_INT(sync_vs(), 0);
    CHECK(logged("CREATE vsc"));
    CHECK(!logged("sourceVolumeMode"));
    teardown();
}

/* --enable-distributed-snapshotting: managed-by from node affinity. */
static void
test_distributed_label(void)
{
    setup(NULL);
    F.env.opts.distributed_snapshotting = true;
    PUT_FIXTURE("pv-csi", "spec.nodeAffinity.required:={\"nodeSelectorTerms\":[{"
                          "\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"In\","
                          "\"values\":[\"b\"]}]}]}");
    fake_put(&F, json_pack("{s:s,s:{s:s,s:{s:s}}}", "kind", "Node", "metadata", "name", "node-a",
                           "labels", "zone", "a"));
    fake_put(&F, json_pack("{s:s,s:{s:s,s:{s:s}}}", "kind", "Node", "metadata", "name", "node-b",
                           "labels", "zone", "b"));
    fake_add_fixtures(&F, "class-default", "pvc-bound", NULL);
    PUT_VS(FIN_SOURCE);
    CHECK_INT(sync_vs(), 0);
    CHECK(logged("\"labels\":{\"snapshot.storage.kubernetes.io/managed-by\":"
                 "\"node-b\"}"));
    teardown();
}

/* Deletion-secret annotations from the class templates. */
static void
test_secret_annotations(void)
{
    setup(NULL);
    PUT_FIXTURE("class-default", "parameters:={\"" PARAM_SECRET_NAME "\":\"${volumesnapshot.name}"
                                 "-key\",\"" PARAM_SECRET_NS "\":\"${volumesnapshot.namespace}\"}");
    fake_add_fixtures(&F, "pvc-bound", "pv-csi", NULL);
    PUT_VS(FIN_SOURCE);
    CHECK_INT(sync_vs(), 0);
    CHECK(logged("\"annotations\":{\"snapshot.storage.kubernetes.io/deletion-secret-"
                 "name\":\"snap1-key\",\"snapshot.storage.kubernetes.io/deletion-"
                 "secret-namespace\":\"default\"}"));
    teardown();
}

static void
test_secret_only_name(void)
{
    setup(NULL);
    PUT_FIXTURE("class-default", "parameters:={\"" PARAM_SECRET_NAME "\":\"x\"}");
    fake_add_fixtures(&F, "pvc-bound", "pv-csi", NULL);
    PUT_VS(FIN_SOURCE);
    fails_with_events("EVENT vs default/snap1 Warning SnapshotContentCreationFailed Failed to "
                      "create snapshot content with error failed to get input parameters to "
                      "create snapshot snap1: \"failed to get name and namespace template from "
                      "params: either name and namespace for Snapshotter secrets specified, Both "
                      "must be specified\"");
    teardown();
}

/* ---- content sync (§4) ---- */

/* One content pass over VSC: answers rc (0 or FAILS), writes the log want. */
static void
vsc_logs(int rc, const char *want)
{
    struct sc_err err = {0};

    check_rc(content_sync_key(&F.env, VSC, &err), rc);
    CHECK_STR(fake_log(&F), want);
}

static void
test_content_adds_finalizer(void)
{
    setup("vsc-dynamic-ready", NULL);
    vsc_logs(0, "PATCH vsc " VSC " json [{\"op\":\"test\",\"path\":\"/metadata/resourceVersion\","
                "\"value\":\"261\"},{\"op\":\"add\",\"path\":\"/metadata/finalizers\",\"value\":["
                "\"snapshot.storage.kubernetes.io/volumesnapshotcontent-bound-protection\"]}]\n");
    teardown();
}

static void
test_content_enqueues_snapshot(void)
{
    setup(NULL);
    PUT_FIXTURE("vsc-dynamic-ready", "+" FIN_VSC_BOUND);
    fake_add_fixture(&F, "vs-dynamic");
    vsc_logs(0, "ENQUEUE vs default/snap1\n");
    teardown();
}

static void
test_content_marks_being_deleted(void)
{
    setup(NULL);
    PUT_FIXTURE("vsc-dynamic-ready", "+" FIN_VSC_BOUND);
    fake_put(&F, deleting_vs(true));
    vsc_logs(0, "ENQUEUE vs default/snap1\n"
                "PATCH vsc " VSC " merge {\"metadata\":{\"annotations\":{\"snapshot.storage."
                "kubernetes.io/volumesnapshot-being-deleted\":\"yes\"}}}\n");
    teardown();
}

/* Orphans are never deleted: VS gone or another uid. */
static void
test_content_orphan_untouched(void)
{
    setup(NULL);
    PUT_FIXTURE("vsc-dynamic-ready", "+" FIN_VSC_BOUND);
    vsc_logs(0, "");
    teardown();
}

static void
test_content_validation(void)
{
    setup(NULL);
    PUT_FIXTURE("vsc-dynamic-ready", "spec.source.snapshotHandle=7");
    vsc_logs(FAILS, "EVENT vsc " VSC " Warning ContentValidationError Exactly one of "
                    "VolumeHandle and SnapshotHandle should be specified\n");
    teardown();
}

/* Informer delete events (deleteSnapshot / deleteContent). */
static void
test_deleted_handlers(void)
{
    json_t *vs = jedit(fixture("vs-dynamic"), BOUND_TO_VSC, NULL);
    struct cvs *v = NULL;
    struct cvsc *c = NULL;
    json_t *cj = fixture("vsc-dynamic-ready");

    setup(NULL);
    CHECK_INT(cvs_parse(vs, &v, NULL), 0);
    CHECK_INT(cvsc_parse(cj, &c, NULL), 0);
    cmetrics_start(F.metrics, OP_DELETE_SNAPSHOT, VS_UID, "d", "dynamic");
    cmetrics_start(F.metrics, OP_CREATE_SNAPSHOT, VS_UID, "d", "dynamic");
    snapshot_deleted(&F.env, v);
    content_deleted(&F.env, c);
    CHECK_STR(fake_log(&F), "ENQUEUE vsc " VSC "\nENQUEUE vs default/snap1\n");
    CHECK_INT(cmetrics_in_flight(F.metrics), 0);
    CVIEW_UNREF(v);
    CVIEW_UNREF(c);
    json_decref(vs);
    json_decref(cj);
    teardown();
}

/* ---- group hooks (§3.8, §3.11 step 5) ---- */

static void
add_group_stores(void)
{
    F.env.groups = cstore_new();
    F.env.group_contents = cstore_new();
}

static void
drop_group_stores(void)
{
    cstore_free(F.env.groups);
    cstore_free(F.env.group_contents);
    F.env.groups = F.env.group_contents = NULL;
}

/* A member of a live group cannot be deleted alone: SnapshotDeletePending
 * with upstream's message, nothing written. */
static void
test_member_delete_blocked_by_group(void)
{
    json_t *g = json_pack("{s:s,s:s,s:{s:s,s:s,s:s,s:s},s:{s:{s:{}}}}", "apiVersion",
                          "groupsnapshot.storage.k8s.io/v1", "kind", "VolumeGroupSnapshot",
                          "metadata", "name", "group1", "namespace", "default", "uid", "g-uid",
                          "resourceVersion", "5", "spec", "source", "selector");
    struct gvgs *gv = NULL;

    setup(NULL);
    add_group_stores();
    CHECK_INT(gvgs_parse(g, &gv, NULL), 0);
    if (gv != NULL)
        cstore_put(F.env.groups, &gv->m, true);
    json_decref(g);
    fake_add_fixture(&F, "class-default");
    fake_put(&F, jedit(deleting_vs(false), "status.volumeGroupSnapshotName=group1", NULL));
    logs(FAILS, "EVENT vs default/snap1 Warning SnapshotDeletePending deletion of the individual "
                "volume snapshot default/snap1 is not allowed as it belongs to group snapshot "
                "default/group1. Deleting the group snapshot will trigger the deletion of all "
                "the individual volume snapshots that are part of the group.\n");
    drop_group_stores();
    teardown();
}

/* Once the group is gone, in-group goes with as-source. */
static void
test_member_delete_after_group_gone(void)
{
    setup("class-default", NULL);
    add_group_stores();
    fake_put(&F, jedit(deleting_vs(false), "+" FIN_VS_INGROUP,
                       "status.volumeGroupSnapshotName=group1", NULL));
    CHECK_INT(sync_vs(), 0);
    CHECK(logged("\"value\":\"snapshot.storage.kubernetes.io/volumesnapshot-in-group-"
                 "protection\"},{\"op\":\"remove\",\"path\":\"/metadata/finalizers/1\"}"));
    CHECK(logged("{\"op\":\"remove\",\"path\":\"/metadata/finalizers/0\"}"));
    drop_group_stores();
    teardown();
}

/* A content carrying a group handle whose group content is unknown: the
 * status is not written (upstream's error); groups off: status is copied. */
static void
test_group_handle_status(void)
{
    struct sc_err err = {0};

    setup("class-default", NULL);
    add_group_stores();
    PUT_FIXTURE("vsc-dynamic-ready", "status.volumeGroupSnapshotHandle=gh-1");
    PUT_VS(FIN_SOURCE, FIN_BOUND, BOUND_TO_VSC, UNREADY);
    CHECK(sync_vs_err(&err) < 0);
    CHECK(logged("Snapshot status update failed, updateSnapshotStatus: cannot find "
                 "the group snapshot for VolumeSnapshot [default/snap1], will not "
                 "update snapshot status"));
    drop_group_stores();
    fake_reset_log(&F);
    CHECK_INT(sync_vs(), 0);
    CHECK(logged("\"readyToUse\":true"));
    CHECK(!logged("volumeGroupSnapshotName"));
    teardown();
}

/* A patch the builder could not make (NULL, out of memory) is SC_ENOMEM
 * and nothing is sent: the worker requeues the key. */
static void
test_unbuilt_patch_is_enomem(void)
{
    struct sc_err err = {0};
    struct cvs *vs = NULL;

    world(false, false);
    vs = (struct cvs *)cstore_get(F.env.snapshots, "default/snap1");
    CHECK(vs != NULL);
    if (vs != NULL)
        CHECK_INT(sync_patch(&F.env, KIND_VS, &vs->m, false, SYNC_PATCH_JSON, NULL, &err),
                  SC_ENOMEM);
    CHECK_INT(err.code, SC_ENOMEM);
    CHECK_STR(fake_log(&F), "");
    CVIEW_UNREF(vs);
    teardown();
}

TEST_MAIN(TEST(test_dynamic_adds_source_finalizer), TEST(test_dynamic_creates_content),
          TEST(test_pvc_finalizer_race), TEST(test_dynamic_create_already_exists),
          TEST(test_dynamic_create_fails), TEST(test_pvc_pending_with_class),
          TEST(test_pvc_pending_no_class), TEST(test_error_status_dedup),
          TEST(test_default_class_picked), TEST(test_default_class_only),
          TEST(test_dynamic_retain_adds_source_only),
          TEST(test_delete_unbound_with_first_finalizers), TEST(test_two_default_classes),
          TEST(test_no_default_class), TEST(test_missing_pvc_no_class),
          TEST(test_missing_pvc_with_class), TEST(test_missing_class), TEST(test_non_csi_volume),
          TEST(test_validation_error), TEST(test_status_from_ready_content),
          TEST(test_bound_finalizer_added), TEST(test_ready_content_missing),
          TEST(test_content_misbound), TEST(test_delete_policy_delete),
          TEST(test_delete_policy_delete_releases_pvc),
          TEST(test_delete_policy_delete_no_bound_fin),
          TEST(test_delete_policy_delete_content_gone), TEST(test_delete_policy_retain),
          TEST(test_delete_annotation_failure_blocks), TEST(test_delete_blocked_by_restore),
          TEST(test_delete_with_class_notfound), TEST(test_pvc_finalizer_removed_when_ready),
          TEST(test_pvc_finalizer_kept_while_unready), TEST(test_pvc_finalizer_conflict_is_quiet),
          TEST(test_preprovisioned_binds), TEST(test_preprovisioned_missing),
          TEST(test_preprovisioned_dynamic_mismatch), TEST(test_volume_mode_flag),
          TEST(test_distributed_label), TEST(test_secret_annotations), TEST(test_secret_only_name),
          TEST(test_content_adds_finalizer), TEST(test_content_enqueues_snapshot),
          TEST(test_content_marks_being_deleted), TEST(test_content_orphan_untouched),
          TEST(test_content_validation), TEST(test_deleted_handlers),
          TEST(test_member_delete_blocked_by_group), TEST(test_member_delete_after_group_gone),
          TEST(test_group_handle_status), TEST(test_unbuilt_patch_is_enomem))
