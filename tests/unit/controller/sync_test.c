/* Sync decisions on recorded objects (tests/data/controller/objects.json,
 * recorded from the local control plane with the real csi-provisioner and
 * csi-snapshotter), with a fake clock and a recording sync_actions.  Each
 * test names the upstream behaviour it pins (reference §3/§4). */
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

static struct fake F;
static struct buf T;

static void
setup(void)
{
    fake_init(&F);
    buf_init(&T, 1u << 20);
}

static void
teardown(void)
{
    fake_release(&F);
    buf_release(&T);
}

static json_t *
vs_fixture(void)
{
    return fixture("vs-dynamic");
}

static void
add_fin(json_t *obj, const char *fin)
{
    json_t *m = json_object_get(obj, "metadata");
    json_t *l = json_object_get(m, "finalizers");

    if (l == NULL) {
        l = json_array();
        json_object_set_new(m, "finalizers", l);
    }
    json_array_append_new(l, json_string(fin));
}

static void
add_vs(json_t *vs)
{
    fake_add(&F, vs);
    json_decref(vs);
}

/* The world of a dynamic snapshot before anything ran: class, bound PVC,
 * CSI PV, and the snapshot with the finalizers given. */
static void
world(bool with_source_fin, bool with_pvc_fin)
{
    json_t *vs = vs_fixture();
    json_t *pvc = fixture("pvc-bound");

    fake_add_fixture(&F, "class-default");
    fake_add_fixture(&F, "pv-csi");
    if (with_pvc_fin)
        add_fin(pvc, FIN_PVC_SOURCE);
    fake_add(&F, pvc);
    json_decref(pvc);
    if (with_source_fin)
        add_fin(vs, FIN_VS_SOURCE);
    add_vs(vs);
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

/* A first sync only adds the as-source finalizer (as-source is added to
 * every VS; the list is created under a resourceVersion test) and stops. */
static void
test_dynamic_adds_source_finalizer(void)
{
    setup();
    world(false, false);
    CHECK_INT(sync_vs(), 0);
    CHECK_STR(
        fake_log(&F),
        "PATCH vs default/snap1 json [{\"op\":\"test\",\"path\":\"/metadata/resourceVersion\","
        "\"value\":\"247\"},{\"op\":\"add\",\"path\":\"/metadata/finalizers\",\"value\":["
        "\"snapshot.storage.kubernetes.io/volumesnapshot-as-source-protection\"]}]\n");
    teardown();
}

/* With the finalizer: PVC finalizer first, then the content, the
 * CreatingSnapshot event, and the status {bound, readyToUse=false}. */
static void
test_dynamic_creates_content(void)
{
    setup();
    world(true, false);
    CHECK_INT(sync_vs(), 0);
    CHECK_STR(
        fake_log(&F),
        "PATCH pvc default/claim1 json [{\"op\":\"add\",\"path\":\"/metadata/finalizers/-\","
        "\"value\":\"snapshot.storage.kubernetes.io/pvc-as-source-protection\"}]\n"
        "GET pv " PV_NAME "\n"
        "CREATE vsc {\"apiVersion\":\"snapshot.storage.k8s.io/v1\",\"kind\":"
        "\"VolumeSnapshotContent\",\"metadata\":{\"finalizers\":[\"snapshot.storage.kubernetes.io/"
        "volumesnapshotcontent-bound-protection\"],\"name\":\"" VSC "\"},\"spec\":{"
        "\"deletionPolicy\":\"Delete\",\"driver\":\"testdriver.csi.k8s.io\",\"source\":{"
        "\"volumeHandle\":\"4\"},\"sourceVolumeMode\":\"Filesystem\","
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
    setup();
    world(true, true);
    F.fail_create = SC_EEXIST;
    CHECK_INT(sync_vs(), 0);
    CHECK_STR(fake_lines(&F, "EVENT", &T),
              "EVENT vs default/snap1 Normal CreatingSnapshot Waiting for a snapshot default/snap1 "
              "to be created by the CSI driver.");
    CHECK(strstr(fake_log(&F), "PATCH vs default/snap1 status merge") != NULL);
    teardown();
}

/* A create failure: CreateSnapshotContentFailed event, then the status
 * error SnapshotContentCreationFailed (upstream test 7-11's message). */
static void
test_dynamic_create_fails(void)
{
    struct sc_err err = {0};

    setup();
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
    json_t *vs = vs_fixture();
    json_t *pvc = fixture("pvc-pending");

    setup();
    fake_add_fixture(&F, "class-default");
    jset(vs, "spec.source.persistentVolumeClaimName", json_string("claim-pending"));
    add_fin(vs, FIN_VS_SOURCE);
    add_vs(vs);
    fake_add(&F, pvc);
    json_decref(pvc);
    CHECK(sync_vs() < 0);
    CHECK_STR(fake_lines(&F, "EVENT", &T),
              "EVENT vs default/snap1 Warning SnapshotContentCreationFailed Failed to create "
              "snapshot content with error failed to get input parameters to create snapshot "
              "snap1: \"the PVC claim-pending is not yet bound to a PV, will not attempt to take a "
              "snapshot\"");
    CHECK(strncmp(fake_log(&F), "PATCH pvc default/claim-pending json", 36) == 0);
    teardown();
}

/* No class and a pending PVC: SetDefaultSnapshotClassFailed, readyToUse
 * untouched, no finalizers yet. */
static void
test_pvc_pending_no_class(void)
{
    json_t *vs = vs_fixture();

    setup();
    fake_add_fixture(&F, "class-default");
    fake_add_fixture(&F, "pvc-pending");
    jdel(vs, "spec.volumeSnapshotClassName");
    jset(vs, "spec.source.persistentVolumeClaimName", json_string("claim-pending"));
    add_vs(vs);
    CHECK(sync_vs() < 0);
    CHECK_STR(fake_log(&F),
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
    json_t *vs = vs_fixture();

    setup();
    fake_add_fixture(&F, "pvc-pending");
    jdel(vs, "spec.volumeSnapshotClassName");
    jset(vs, "spec.source.persistentVolumeClaimName", json_string("claim-pending"));
    jset(vs, "status.error.message",
         json_string("Failed to set default snapshot class with error the PVC claim-pending is "
                     "not yet bound to a PV, will not attempt to take a snapshot"));
    jset(vs, "status.error.time", json_string("2025-11-22T01:00:00Z"));
    add_vs(vs);
    CHECK(sync_vs() < 0);
    CHECK_STR(fake_log(&F), "");
    teardown();
}

/* Default class picked by the PV's driver: a merge patch of the class. */
static void
test_default_class_picked(void)
{
    json_t *vs = vs_fixture();
    json_t *other = fixture("class-default");

    setup();
    jset(other, "metadata.name", json_string("other-driver-default"));
    jset(other, "driver", json_string("other.csi.example.com"));
    fake_add(&F, other);
    json_decref(other);
    fake_add_fixture(&F, "class-default");
    fake_add_fixture(&F, "pvc-bound");
    fake_add_fixture(&F, "pv-csi");
    jdel(vs, "spec.volumeSnapshotClassName");
    add_vs(vs);
    CHECK_INT(sync_vs(), 0);
    CHECK_STR(fake_log(&F), "GET pv " PV_NAME "\n"
                            "PATCH vs default/snap1 merge {\"spec\":{\"volumeSnapshotClassName\":"
                            "\"csi-test-snapclass\"}}\n");
    teardown();
}

/* Two defaults for the driver: upstream's "2 default snapshot classes were
 * found" status and event. */
static void
test_two_default_classes(void)
{
    json_t *vs = vs_fixture();
    json_t *second = fixture("class-default");

    setup();
    jset(second, "metadata.name", json_string("second-default"));
    fake_add(&F, second);
    json_decref(second);
    fake_add_fixture(&F, "class-default");
    fake_add_fixture(&F, "pvc-bound");
    fake_add_fixture(&F, "pv-csi");
    jdel(vs, "spec.volumeSnapshotClassName");
    add_vs(vs);
    CHECK(sync_vs() < 0);
    CHECK_STR(fake_lines(&F, "EVENT", &T),
              "EVENT vs default/snap1 Warning SetDefaultSnapshotClassFailed Failed to set default "
              "snapshot class with error 2 default snapshot classes were found");
    teardown();
}

static void
test_no_default_class(void)
{
    json_t *vs = vs_fixture();
    json_t *cls = fixture("class-default");

    setup();
    jdel(cls, "metadata.annotations");
    fake_add(&F, cls);
    json_decref(cls);
    fake_add_fixture(&F, "pvc-bound");
    fake_add_fixture(&F, "pv-csi");
    jdel(vs, "spec.volumeSnapshotClassName");
    add_vs(vs);
    CHECK(sync_vs() < 0);
    CHECK_STR(fake_lines(&F, "EVENT", &T),
              "EVENT vs default/snap1 Warning SetDefaultSnapshotClassFailed Failed to set default "
              "snapshot class with error cannot find default snapshot class");
    teardown();
}

/* Missing PVC and no class: the lister NotFound text, %q-quoted. */
static void
test_missing_pvc_no_class(void)
{
    json_t *vs = vs_fixture();

    setup();
    fake_add_fixture(&F, "class-default");
    jdel(vs, "spec.volumeSnapshotClassName");
    jset(vs, "spec.source.persistentVolumeClaimName", json_string("nope"));
    add_vs(vs);
    CHECK(sync_vs() < 0);
    CHECK_STR(fake_lines(&F, "EVENT", &T),
              "EVENT vs default/snap1 Warning SetDefaultSnapshotClassFailed Failed to set default "
              "snapshot class with error failed to retrieve PVC nope from the lister: "
              "\"persistentvolumeclaim \\\"nope\\\" not found\"");
    teardown();
}

/* Missing PVC, class set: ensurePVCFinalizer's error (upstream 7-4). */
static void
test_missing_pvc_with_class(void)
{
    json_t *vs = vs_fixture();

    setup();
    fake_add_fixture(&F, "class-default");
    jset(vs, "spec.source.persistentVolumeClaimName", json_string("nope"));
    add_fin(vs, FIN_VS_SOURCE);
    add_vs(vs);
    CHECK(sync_vs() < 0);
    CHECK_STR(fake_lines(&F, "EVENT", &T),
              "EVENT vs default/snap1 Warning SnapshotContentCreationFailed Failed to create "
              "snapshot content with error snapshot controller failed to update snap1 on API "
              "server: cannot get claim from snapshot");
    teardown();
}

/* Missing class: GetSnapshotClassFailed, readyToUse untouched. */
static void
test_missing_class(void)
{
    json_t *vs = vs_fixture();

    setup();
    jset(vs, "spec.volumeSnapshotClassName", json_string("non-existing"));
    add_vs(vs);
    CHECK(sync_vs() < 0);
    CHECK_STR(
        fake_log(&F),
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
    json_t *vs = vs_fixture();
    json_t *pv = fixture("pv-csi");

    setup();
    jdel(pv, "spec.csi");
    jset(pv, "spec.hostPath.path", json_string("/tmp/x"));
    fake_add(&F, pv);
    json_decref(pv);
    fake_add_fixture(&F, "class-default");
    fake_add_fixture(&F, "pvc-bound");
    jdel(vs, "spec.volumeSnapshotClassName");
    add_vs(vs);
    CHECK(sync_vs() < 0);
    CHECK_STR(fake_lines(&F, "EVENT", &T),
              "EVENT vs default/snap1 Warning SetDefaultSnapshotClassFailed Failed to set default "
              "snapshot class with error snapshotting non-CSI volumes is not supported, "
              "snapshot:default/snap1");
    teardown();

    setup();
    vs = vs_fixture();
    pv = fixture("pv-csi");
    jdel(pv, "spec.csi");
    fake_add(&F, pv);
    json_decref(pv);
    fake_add_fixture(&F, "class-default");
    fake_add_fixture(&F, "pvc-bound");
    add_fin(vs, FIN_VS_SOURCE);
    add_vs(vs);
    CHECK(sync_vs() < 0);
    CHECK_STR(
        fake_lines(&F, "EVENT", &T),
        "EVENT vs default/snap1 Warning SnapshotContentCreationFailed Failed to create "
        "snapshot content with error cannot find CSI PersistentVolumeSource for volume " PV_NAME);
    teardown();
}

/* Validation: both sources set. */
static void
test_validation_error(void)
{
    json_t *vs = vs_fixture();

    setup();
    fake_add_fixture(&F, "class-default");
    jset(vs, "spec.source.volumeSnapshotContentName", json_string("x"));
    add_vs(vs);
    CHECK(sync_vs() < 0);
    CHECK_STR(fake_lines(&F, "EVENT", &T),
              "EVENT vs default/snap1 Warning SnapshotValidationError Exactly one of "
              "PersistentVolumeClaimName and VolumeSnapshotContentName should be specified");
    CHECK(strstr(fake_log(&F), "\"readyToUse\":false") != NULL);
    teardown();
}

/* The content became ready: status copied by the §3.8 rules, creationTime
 * in RFC 3339 seconds, restoreSize as a BinarySI quantity, both Normal
 * events, and the two create metrics observed. */
static void
test_status_from_ready_content(void)
{
    json_t *vs;
    struct buf m = {0};

    setup();
    world(false, true);
    vs = vs_fixture();
    add_fin(vs, FIN_VS_SOURCE);
    add_fin(vs, FIN_VS_BOUND);
    jset(vs, "status.boundVolumeSnapshotContentName", json_string(VSC));
    jset(vs, "status.readyToUse", json_false());
    add_vs(vs);
    fake_add_fixture(&F, "vsc-dynamic-ready");
    cmetrics_start(F.metrics, OP_CREATE_SNAPSHOT, VS_UID, "testdriver.csi.k8s.io", "dynamic");
    F.clock.ms += 1500;
    CHECK_INT(sync_vs(), 0);
    CHECK_STR(
        fake_log(&F),
        "EVENT vs default/snap1 Normal SnapshotCreated Snapshot default/snap1 was "
        "successfully created by the CSI driver.\n"
        "EVENT vs default/snap1 Normal SnapshotReady Snapshot default/snap1 is ready to use.\n"
        "PATCH vs default/snap1 status merge {\"status\":{\"creationTime\":"
        "\"2026-11-22T01:50:30Z\",\"readyToUse\":true,\"restoreSize\":\"1Gi\"}}\n");
    CHECK_INT(cmetrics_in_flight(F.metrics), 0);
    buf_init(&m, 1 << 20);
    CHECK_INT(cmetrics_render(F.metrics, &m, NULL, NULL), 0);
    CHECK(strstr(buf_str(&m),
                 "snapshot_controller_operation_total_seconds_bucket{driver_name=\"testdriver.csi."
                 "k8s.io\",operation_name=\"CreateSnapshot\",operation_status=\"success\","
                 "snapshot_type=\"dynamic\",le=\"2.5\"} 1\n") != NULL);
    CHECK(strstr(buf_str(&m), "snapshot_type=\"dynamic\",le=\"1\"} 0\n") != NULL);
    buf_release(&m);
    teardown();
}

/* Ready and bound with a Delete content: bound-protection is added (one
 * "add /-" op since the list exists), and nothing else that pass. */
static void
test_bound_finalizer_added(void)
{
    json_t *vs = vs_fixture();

    setup();
    fake_add_fixture(&F, "class-default");
    fake_add_fixture(&F, "vsc-dynamic-ready");
    add_fin(vs, FIN_VS_SOURCE);
    jset(vs, "status.boundVolumeSnapshotContentName", json_string(VSC));
    jset(vs, "status.readyToUse", json_true());
    add_vs(vs);
    CHECK_INT(sync_vs(), 0);
    CHECK_STR(fake_log(&F),
              "PATCH vs default/snap1 json [{\"op\":\"add\",\"path\":\"/metadata/finalizers/-\","
              "\"value\":\"snapshot.storage.kubernetes.io/volumesnapshot-bound-protection\"}]\n");
    teardown();
}

/* Ready VS whose content vanished: SnapshotContentMissing, ready=false, and
 * no requeue (the status write succeeded). */
static void
test_ready_content_missing(void)
{
    json_t *vs = vs_fixture();

    setup();
    fake_add_fixture(&F, "class-default");
    add_fin(vs, FIN_VS_SOURCE);
    jset(vs, "status.boundVolumeSnapshotContentName", json_string(VSC));
    jset(vs, "status.readyToUse", json_true());
    add_vs(vs);
    CHECK_INT(sync_vs(), 0);
    CHECK_STR(fake_log(&F),
              "PATCH vs default/snap1 status merge {\"status\":{\"error\":{\"message\":"
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
    json_t *vs = vs_fixture();
    json_t *c = fixture("vsc-dynamic-ready");

    setup();
    fake_add_fixture(&F, "class-default");
    jset(c, "spec.volumeSnapshotRef.uid", json_string("someone-else"));
    fake_add(&F, c);
    json_decref(c);
    add_fin(vs, FIN_VS_SOURCE);
    add_vs(vs);
    CHECK(sync_vs() < 0);
    CHECK_STR(fake_lines(&F, "EVENT", &T),
              "EVENT vs default/snap1 Warning SnapshotContentMisbound VolumeSnapshotContent [" VSC
              "] is bound to a different snapshot\n"
              "EVENT vs default/snap1 Warning SnapshotFinalizerError Failed to check and update "
              "snapshot: snapshot default/snap1 is bound to a different content " VSC);
    teardown();
}

static json_t *
deleting_vs(bool bound_fin)
{
    json_t *vs = vs_fixture();

    add_fin(vs, FIN_VS_SOURCE);
    if (bound_fin)
        add_fin(vs, FIN_VS_BOUND);
    jset(vs, "metadata.deletionTimestamp", json_string("2025-11-22T01:59:00Z"));
    jset(vs, "status.boundVolumeSnapshotContentName", json_string(VSC));
    jset(vs, "status.readyToUse", json_true());
    return vs;
}

/* Delete policy: being-deleted annotation FIRST, then DELETE of the
 * content, then only as-source removed (bound stays until the content is
 * gone), after checking the PVC finalizer. */
static void
test_delete_policy_delete(void)
{
    setup();
    fake_add_fixture(&F, "class-default");
    fake_add_fixture(&F, "vsc-dynamic-ready");
    fake_add_fixture(&F, "pvc-bound");
    add_vs(deleting_vs(true));
    CHECK_INT(sync_vs(), 0);
    CHECK_STR(fake_log(&F),
              "PATCH vsc " VSC " merge {\"metadata\":{\"annotations\":{\"snapshot.storage."
              "kubernetes.io/volumesnapshot-being-deleted\":\"yes\"}}}\n"
              "DELETE vsc " VSC "\n"
              "PATCH vs default/snap1 json [{\"op\":\"test\",\"path\":\"/metadata/finalizers/0\","
              "\"value\":\"snapshot.storage.kubernetes.io/volumesnapshot-as-source-protection\"},"
              "{\"op\":\"remove\",\"path\":\"/metadata/finalizers/0\"}]\n");
    teardown();
}

/* Once the content is gone from the store, bound-protection goes too. */
static void
test_delete_policy_delete_content_gone(void)
{
    json_t *vs = vs_fixture();

    setup();
    fake_add_fixture(&F, "class-default");
    add_fin(vs, FIN_VS_BOUND);
    jset(vs, "metadata.deletionTimestamp", json_string("2025-11-22T01:59:00Z"));
    jset(vs, "status.boundVolumeSnapshotContentName", json_string(VSC));
    add_vs(vs);
    CHECK_INT(sync_vs(), 0);
    CHECK_STR(fake_log(&F),
              "PATCH vs default/snap1 json [{\"op\":\"test\",\"path\":\"/metadata/finalizers/0\","
              "\"value\":\"snapshot.storage.kubernetes.io/volumesnapshot-bound-protection\"},"
              "{\"op\":\"remove\",\"path\":\"/metadata/finalizers/0\"}]\n");
    teardown();
}

/* Retain: annotation set anyway, no DELETE, both finalizers removed (from
 * the highest index down). */
static void
test_delete_policy_retain(void)
{
    json_t *c = fixture("vsc-dynamic-ready");

    setup();
    fake_add_fixture(&F, "class-default");
    jset(c, "spec.deletionPolicy", json_string("Retain"));
    fake_add(&F, c);
    json_decref(c);
    add_vs(deleting_vs(true));
    CHECK_INT(sync_vs(), 0);
    CHECK_STR(
        fake_log(&F),
        "PATCH vsc " VSC " merge {\"metadata\":{\"annotations\":{\"snapshot.storage."
        "kubernetes.io/volumesnapshot-being-deleted\":\"yes\"}}}\n"
        "PATCH vs default/snap1 json [{\"op\":\"test\",\"path\":\"/metadata/finalizers/1\","
        "\"value\":\"snapshot.storage.kubernetes.io/volumesnapshot-bound-protection\"},"
        "{\"op\":\"remove\",\"path\":\"/metadata/finalizers/1\"},{\"op\":\"test\",\"path\":"
        "\"/metadata/finalizers/0\",\"value\":\"snapshot.storage.kubernetes.io/volumesnapshot-"
        "as-source-protection\"},{\"op\":\"remove\",\"path\":\"/metadata/finalizers/0\"}]\n");
    teardown();
}

/* The annotation patch failing stops the pass before any finalizer goes:
 * no removal path can run ahead of being-deleted. */
static void
test_delete_annotation_failure_blocks(void)
{
    setup();
    fake_add_fixture(&F, "class-default");
    fake_add_fixture(&F, "vsc-dynamic-ready");
    add_vs(deleting_vs(true));
    F.fail_patch = SC_ECONFLICT;
    CHECK(sync_vs() < 0);
    CHECK(strstr(fake_log(&F), "volumesnapshot-being-deleted") != NULL);
    CHECK(strstr(fake_log(&F), "DELETE") == NULL);
    CHECK(strstr(fake_log(&F), "PATCH vs ") == NULL);
    teardown();
}

/* A Pending PVC restoring from the snapshot blocks deletion (3-1a). */
static void
test_delete_blocked_by_restore(void)
{
    json_t *pvc = fixture("pvc-pending");
    struct sc_err err = {0};

    setup();
    fake_add_fixture(&F, "class-default");
    fake_add_fixture(&F, "vsc-dynamic-ready");
    jset(pvc, "spec.dataSource.kind", json_string("VolumeSnapshot"));
    jset(pvc, "spec.dataSource.apiGroup", json_string("snapshot.storage.k8s.io"));
    jset(pvc, "spec.dataSource.name", json_string("snap1"));
    fake_add(&F, pvc);
    json_decref(pvc);
    add_vs(deleting_vs(true));
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
    json_t *c = fixture("vsc-dynamic-ready");

    setup();
    jset(c, "spec.deletionPolicy", json_string("Retain"));
    fake_add(&F, c);
    json_decref(c);
    add_vs(deleting_vs(false));
    CHECK_INT(sync_vs(), 0);
    CHECK(strstr(fake_log(&F), "GetSnapshotClassFailed") != NULL);
    CHECK(strstr(fake_log(&F), "volumesnapshot-being-deleted") != NULL);
    CHECK(strstr(fake_log(&F), "{\"op\":\"remove\",\"path\":\"/metadata/finalizers/0\"}") != NULL);
    teardown();
}

/* PVC finalizer: removed once no unready snapshot names the PVC; kept while
 * one does (PVC deletion waits for an unready snapshot). */
static void
test_pvc_finalizer_removed_when_ready(void)
{
    json_t *vs;

    setup();
    world(false, true);
    vs = vs_fixture();
    add_fin(vs, FIN_VS_SOURCE);
    add_fin(vs, FIN_VS_BOUND);
    jset(vs, "status.boundVolumeSnapshotContentName", json_string(VSC));
    jset(vs, "status.readyToUse", json_true());
    add_vs(vs);
    fake_add_fixture(&F, "vsc-dynamic-ready");
    CHECK_INT(sync_vs(), 0);
    CHECK_STR(fake_log(&F),
              "PATCH pvc default/claim1 json [{\"op\":\"test\",\"path\":\"/metadata/finalizers/1\","
              "\"value\":\"snapshot.storage.kubernetes.io/pvc-as-source-protection\"},{\"op\":"
              "\"remove\",\"path\":\"/metadata/finalizers/1\"}]\n");
    teardown();
}

static void
test_pvc_finalizer_kept_while_unready(void)
{
    json_t *other = vs_fixture();

    setup();
    world(false, true);
    jset(other, "metadata.name", json_string("snap-unready"));
    jset(other, "metadata.uid", json_string("u2"));
    add_fin(other, FIN_VS_SOURCE); /* taken on by the controller: it holds (ES#1305, pvc_pin.c) */
    fake_add(&F, other);
    json_decref(other);
    other = vs_fixture();
    add_fin(other, FIN_VS_SOURCE);
    add_fin(other, FIN_VS_BOUND);
    jset(other, "status.boundVolumeSnapshotContentName", json_string(VSC));
    jset(other, "status.readyToUse", json_true());
    add_vs(other);
    fake_add_fixture(&F, "vsc-dynamic-ready");
    CHECK_INT(sync_vs(), 0);
    CHECK(strstr(fake_log(&F), "PATCH pvc") == NULL);
    teardown();
}

/* Pre-provisioned: binding patch (uid and the VS class), then status. */
static json_t *
preprov_content(void)
{
    json_t *c = fixture("vsc-dynamic-ready");

    jset(c, "metadata.name", json_string("pre-content"));
    jdel(c, "spec.source.volumeHandle");
    jset(c, "spec.source.snapshotHandle", json_string("4"));
    jset(c, "spec.volumeSnapshotRef.name", json_string("snap1"));
    jset(c, "spec.volumeSnapshotRef.uid", json_string(""));
    jdel(c, "spec.volumeSnapshotClassName");
    jdel(c, "status");
    return c;
}

static json_t *
preprov_vs(void)
{
    json_t *vs = vs_fixture();

    jdel(vs, "spec.source.persistentVolumeClaimName");
    jset(vs, "spec.source.volumeSnapshotContentName", json_string("pre-content"));
    add_fin(vs, FIN_VS_SOURCE);
    return vs;
}

static void
test_preprovisioned_binds(void)
{
    json_t *c = preprov_content();

    setup();
    fake_add_fixture(&F, "class-default");
    fake_add(&F, c);
    json_decref(c);
    add_vs(preprov_vs());
    CHECK_INT(sync_vs(), 0);
    CHECK_STR(fake_log(&F),
              "PATCH vsc pre-content merge {\"spec\":{\"volumeSnapshotClassName\":"
              "\"csi-test-snapclass\",\"volumeSnapshotRef\":{\"uid\":\"" VS_UID "\"}}}\n"
              "PATCH vs default/snap1 status merge {\"status\":{\"boundVolumeSnapshotContentName\":"
              "\"pre-content\",\"readyToUse\":false}}\n");
    teardown();
}

static void
test_preprovisioned_missing(void)
{
    struct sc_err err = {0};

    setup();
    fake_add_fixture(&F, "class-default");
    add_vs(preprov_vs());
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
    json_t *c = fixture("vsc-dynamic-ready");

    setup();
    fake_add_fixture(&F, "class-default");
    jset(c, "metadata.name", json_string("pre-content"));
    fake_add(&F, c);
    json_decref(c);
    add_vs(preprov_vs());
    CHECK(sync_vs() < 0);
    CHECK(strstr(fake_log(&F),
                 "Warning SnapshotContentMismatch VolumeSnapshotContent is "
                 "dynamically provisioned while expecting a pre-provisioned one") != NULL);
    teardown();
}

/* --prevent-volume-mode-conversion=false: no sourceVolumeMode. */
static void
test_volume_mode_flag(void)
{
    setup();
    F.env.opts.prevent_volume_mode_conversion = false;
    world(true, true);
    CHECK_INT(sync_vs(), 0);
    CHECK(strstr(fake_log(&F), "CREATE vsc") != NULL);
    CHECK(strstr(fake_log(&F), "sourceVolumeMode") == NULL);
    teardown();
}

/* --enable-distributed-snapshotting: managed-by from node affinity. */
static void
test_distributed_label(void)
{
    json_t *pv = fixture("pv-csi");
    json_t *n1 = json_pack("{s:s,s:{s:s,s:{s:s}}}", "kind", "Node", "metadata", "name", "node-a",
                           "labels", "zone", "a");
    json_t *n2 = json_pack("{s:s,s:{s:s,s:{s:s}}}", "kind", "Node", "metadata", "name", "node-b",
                           "labels", "zone", "b");

    setup();
    F.env.opts.distributed_snapshotting = true;
    jset(pv, "spec.nodeAffinity.required",
         json_pack("{s:[{s:[{s:s,s:s,s:[s]}]}]}", "nodeSelectorTerms", "matchExpressions", "key",
                   "zone", "operator", "In", "values", "b"));
    fake_add(&F, pv);
    fake_add(&F, n1);
    fake_add(&F, n2);
    json_decref(pv);
    json_decref(n1);
    json_decref(n2);
    fake_add_fixture(&F, "class-default");
    fake_add_fixture(&F, "pvc-bound");
    {
        json_t *vs = vs_fixture();

        add_fin(vs, FIN_VS_SOURCE);
        add_vs(vs);
    }
    CHECK_INT(sync_vs(), 0);
    CHECK(strstr(fake_log(&F), "\"labels\":{\"snapshot.storage.kubernetes.io/managed-by\":"
                               "\"node-b\"}") != NULL);
    teardown();
}

/* Deletion-secret annotations from the class templates. */
static void
test_secret_annotations(void)
{
    json_t *cls = fixture("class-default");

    setup();
    jset(cls, "parameters",
         json_pack("{s:s,s:s}", PARAM_SECRET_NAME, "${volumesnapshot.name}-key", PARAM_SECRET_NS,
                   "${volumesnapshot.namespace}"));
    fake_add(&F, cls);
    json_decref(cls);
    fake_add_fixture(&F, "pvc-bound");
    fake_add_fixture(&F, "pv-csi");
    {
        json_t *vs = vs_fixture();

        add_fin(vs, FIN_VS_SOURCE);
        add_vs(vs);
    }
    CHECK_INT(sync_vs(), 0);
    CHECK(strstr(fake_log(&F), "\"annotations\":{\"snapshot.storage.kubernetes.io/deletion-secret-"
                               "name\":\"snap1-key\",\"snapshot.storage.kubernetes.io/deletion-"
                               "secret-namespace\":\"default\"}") != NULL);
    teardown();
}

static void
test_secret_only_name(void)
{
    json_t *cls = fixture("class-default");

    setup();
    jset(cls, "parameters", json_pack("{s:s}", PARAM_SECRET_NAME, "x"));
    fake_add(&F, cls);
    json_decref(cls);
    fake_add_fixture(&F, "pvc-bound");
    fake_add_fixture(&F, "pv-csi");
    {
        json_t *vs = vs_fixture();

        add_fin(vs, FIN_VS_SOURCE);
        add_vs(vs);
    }
    CHECK(sync_vs() < 0);
    CHECK_STR(fake_lines(&F, "EVENT", &T),
              "EVENT vs default/snap1 Warning SnapshotContentCreationFailed Failed to create "
              "snapshot content with error failed to get input parameters to create snapshot "
              "snap1: \"failed to get name and namespace template from params: either name and "
              "namespace for Snapshotter secrets specified, Both must be specified\"");
    teardown();
}

/* ---- content sync (§4) ---- */

static int
sync_vsc(void)
{
    struct sc_err err = {0};

    return content_sync_key(&F.env, VSC, &err);
}

static void
test_content_adds_finalizer(void)
{
    setup();
    fake_add_fixture(&F, "vsc-dynamic-ready");
    CHECK_INT(sync_vsc(), 0);
    CHECK_STR(fake_log(&F),
              "PATCH vsc " VSC " json [{\"op\":\"test\",\"path\":\"/metadata/resourceVersion\","
              "\"value\":\"261\"},{\"op\":\"add\",\"path\":\"/metadata/finalizers\",\"value\":["
              "\"snapshot.storage.kubernetes.io/volumesnapshotcontent-bound-protection\"]}]\n");
    teardown();
}

static void
test_content_enqueues_snapshot(void)
{
    json_t *c = fixture("vsc-dynamic-ready");

    setup();
    add_fin(c, FIN_VSC_BOUND);
    fake_add(&F, c);
    json_decref(c);
    add_vs(vs_fixture());
    CHECK_INT(sync_vsc(), 0);
    CHECK_STR(fake_log(&F), "ENQUEUE vs default/snap1\n");
    teardown();
}

static void
test_content_marks_being_deleted(void)
{
    json_t *c = fixture("vsc-dynamic-ready");

    setup();
    add_fin(c, FIN_VSC_BOUND);
    fake_add(&F, c);
    json_decref(c);
    add_vs(deleting_vs(true));
    CHECK_INT(sync_vsc(), 0);
    CHECK_STR(fake_log(&F),
              "ENQUEUE vs default/snap1\n"
              "PATCH vsc " VSC " merge {\"metadata\":{\"annotations\":{\"snapshot.storage."
              "kubernetes.io/volumesnapshot-being-deleted\":\"yes\"}}}\n");
    teardown();
}

/* Orphans are never deleted: VS gone or another uid. */
static void
test_content_orphan_untouched(void)
{
    json_t *c = fixture("vsc-dynamic-ready");

    setup();
    add_fin(c, FIN_VSC_BOUND);
    fake_add(&F, c);
    json_decref(c);
    CHECK_INT(sync_vsc(), 0);
    CHECK_STR(fake_log(&F), "");
    teardown();
}

static void
test_content_validation(void)
{
    json_t *c = fixture("vsc-dynamic-ready");

    setup();
    jset(c, "spec.source.snapshotHandle", json_string("7"));
    fake_add(&F, c);
    json_decref(c);
    CHECK(sync_vsc() < 0);
    CHECK_STR(fake_log(&F), "EVENT vsc " VSC " Warning ContentValidationError Exactly one of "
                            "VolumeHandle and SnapshotHandle should be specified\n");
    teardown();
}

/* Informer delete events (deleteSnapshot / deleteContent). */
static void
test_deleted_handlers(void)
{
    json_t *vs = vs_fixture();
    struct cvs *v = NULL;
    struct cvsc *c = NULL;
    json_t *cj = fixture("vsc-dynamic-ready");

    setup();
    jset(vs, "status.boundVolumeSnapshotContentName", json_string(VSC));
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
    json_t *vs = deleting_vs(false);
    json_t *g = json_pack("{s:s,s:s,s:{s:s,s:s,s:s,s:s},s:{s:{s:{}}}}", "apiVersion",
                          "groupsnapshot.storage.k8s.io/v1", "kind", "VolumeGroupSnapshot",
                          "metadata", "name", "group1", "namespace", "default", "uid", "g-uid",
                          "resourceVersion", "5", "spec", "source", "selector");
    struct gvgs *gv = NULL;

    setup();
    add_group_stores();
    CHECK_INT(gvgs_parse(g, &gv, NULL), 0);
    if (gv != NULL)
        cstore_put(F.env.groups, &gv->m, true);
    json_decref(g);
    fake_add_fixture(&F, "class-default");
    jset(vs, "status.volumeGroupSnapshotName", json_string("group1"));
    add_vs(vs);
    CHECK(sync_vs() < 0);
    CHECK_STR(fake_log(&F),
              "EVENT vs default/snap1 Warning SnapshotDeletePending deletion of the individual "
              "volume snapshot default/snap1 is not allowed as it belongs to group snapshot "
              "default/group1. Deleting the group snapshot will trigger the deletion of all the "
              "individual volume snapshots that are part of the group.\n");
    drop_group_stores();
    teardown();
}

/* Once the group is gone, in-group goes with as-source. */
static void
test_member_delete_after_group_gone(void)
{
    json_t *vs = deleting_vs(false);

    setup();
    add_group_stores();
    fake_add_fixture(&F, "class-default");
    add_fin(vs, FIN_VS_INGROUP);
    jset(vs, "status.volumeGroupSnapshotName", json_string("group1"));
    add_vs(vs);
    CHECK_INT(sync_vs(), 0);
    CHECK(strstr(fake_log(&F),
                 "\"value\":\"snapshot.storage.kubernetes.io/volumesnapshot-in-group-"
                 "protection\"},{\"op\":\"remove\",\"path\":\"/metadata/finalizers/1\"}") != NULL);
    CHECK(strstr(fake_log(&F), "{\"op\":\"remove\",\"path\":\"/metadata/finalizers/0\"}") != NULL);
    drop_group_stores();
    teardown();
}

/* A content carrying a group handle whose group content is unknown: the
 * status is not written (upstream's error); groups off: status is copied. */
static void
test_group_handle_status(void)
{
    json_t *vs = vs_fixture();
    json_t *c = fixture("vsc-dynamic-ready");
    struct sc_err err = {0};

    setup();
    add_group_stores();
    fake_add_fixture(&F, "class-default");
    jset(c, "status.volumeGroupSnapshotHandle", json_string("gh-1"));
    fake_add(&F, c);
    add_fin(vs, FIN_VS_SOURCE);
    add_fin(vs, FIN_VS_BOUND);
    jset(vs, "status.boundVolumeSnapshotContentName", json_string(VSC));
    jset(vs, "status.readyToUse", json_false());
    add_vs(vs);
    CHECK(sync_vs_err(&err) < 0);
    CHECK(strstr(fake_log(&F), "Snapshot status update failed, updateSnapshotStatus: cannot find "
                               "the group snapshot for VolumeSnapshot [default/snap1], will not "
                               "update snapshot status") != NULL);
    drop_group_stores();
    fake_reset_log(&F);
    CHECK_INT(sync_vs(), 0);
    CHECK(strstr(fake_log(&F), "\"readyToUse\":true") != NULL);
    CHECK(strstr(fake_log(&F), "volumeGroupSnapshotName") == NULL);
    json_decref(c);
    teardown();
}

/* A patch the builder could not make (NULL, out of memory) is SC_ENOMEM
 * and nothing is sent: the worker requeues the key. */
static void
test_unbuilt_patch_is_enomem(void)
{
    struct sc_err err = {0};
    struct cvs *vs = NULL;

    setup();
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
          TEST(test_dynamic_create_already_exists), TEST(test_dynamic_create_fails),
          TEST(test_pvc_pending_with_class), TEST(test_pvc_pending_no_class),
          TEST(test_error_status_dedup), TEST(test_default_class_picked),
          TEST(test_two_default_classes), TEST(test_no_default_class),
          TEST(test_missing_pvc_no_class), TEST(test_missing_pvc_with_class),
          TEST(test_missing_class), TEST(test_non_csi_volume), TEST(test_validation_error),
          TEST(test_status_from_ready_content), TEST(test_bound_finalizer_added),
          TEST(test_ready_content_missing), TEST(test_content_misbound),
          TEST(test_delete_policy_delete), TEST(test_delete_policy_delete_content_gone),
          TEST(test_delete_policy_retain), TEST(test_delete_annotation_failure_blocks),
          TEST(test_delete_blocked_by_restore), TEST(test_delete_with_class_notfound),
          TEST(test_pvc_finalizer_removed_when_ready), TEST(test_pvc_finalizer_kept_while_unready),
          TEST(test_preprovisioned_binds), TEST(test_preprovisioned_missing),
          TEST(test_preprovisioned_dynamic_mismatch), TEST(test_volume_mode_flag),
          TEST(test_distributed_label), TEST(test_secret_annotations), TEST(test_secret_only_name),
          TEST(test_content_adds_finalizer), TEST(test_content_enqueues_snapshot),
          TEST(test_content_marks_being_deleted), TEST(test_content_orphan_untouched),
          TEST(test_content_validation), TEST(test_deleted_handlers),
          TEST(test_member_delete_blocked_by_group), TEST(test_member_delete_after_group_gone),
          TEST(test_group_handle_status), TEST(test_unbuilt_patch_is_enomem))
