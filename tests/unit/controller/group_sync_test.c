/* tests/unit/controller/group_sync_test.c -- VolumeGroupSnapshot and
 * VolumeGroupSnapshotContent decisions on recorded objects
 * (tests/data/controller/group/objects.json) with the recording actions
 * of tests/unit/controller/fake.c: every write, event and enqueue becomes
 * one log line. */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "tests/lib/harness.h"
#include "tests/unit/controller/fake.c"

#define MEMBER1 "7e6fdcc50bb9dd171e2941d9fded1a0c726ddf36793f2d0f687e9d54a5536446"
#define MEMBER2 "f83dc6ebc002b866bc9ce2fdafa3fda49183572f8de43492478e582a8849603b"

/* The fake of the test (each test runs in its own process), the error of
 * its last pass, and a scratch buffer for fake_lines(). */
static struct fake F;
static struct sc_err E;
static struct buf T;

static json_t *
gfix(const char *name)
{
    return fixture_from(GROUP_FIXTURES, name);
}

static void
open_fake(void)
{
    fake_init_groups(&F);
    buf_init(&T, 1 << 16);
}

static void
close_fake(void)
{
    buf_release(&T);
    fake_release(&F);
}

/* The standard world: class, two app=db PVCs, one unlabelled, their PVs. */
static void
gf_world(void)
{
    fake_add_fixtures(&F, "gclass", "pvc-db-1", "pvc-db-2", "pvc-other", "pv-1", "pv-2", "pv-3",
                      NULL);
}

/* open_fake() + gf_world() */
static void
open_world(void)
{
    open_fake();
    gf_world();
}

static bool
has(const char *needle)
{
    return strstr(buf_str(&F.log), needle) != NULL;
}

static int
count(const char *needle)
{
    const char *p = buf_str(&F.log);
    int n = 0;

    while ((p = strstr(p, needle)) != NULL) {
        n++;
        p += strlen(needle);
    }
    return n;
}

/* One group pass over key; its error in E. */
static int
sync_group(const char *key)
{
    int rc = group_sync_key(&F.env, key, &E);

    if (getenv("GROUP_TEST_LOG") != NULL)
        fprintf(stderr, "---- %s rc=%d %s\n%s", key, rc, E.msg, buf_str(&F.log));
    return rc;
}

static int
sync_db(void)
{
    return sync_group("default/db-group");
}

/* ---- dynamic groups: selection and content creation ---- */

static void
dynamic_creates_content_for_selected_pvcs(void)
{
    open_world();
    fake_add_fixture(&F, "vgs-selector");
    CHECK_INT(sync_db(), 0);
    CHECK_STR(fake_lines(&F, "LIST", &T), "LIST pvcs default app=db");
    CHECK_STR(
        fake_lines(&F, "CREATE", &T),
        "CREATE vgsc {\"apiVersion\":\"groupsnapshot.storage.k8s.io/v1\",\"kind\":"
        "\"VolumeGroupSnapshotContent\",\"metadata\":{\"name\":\"groupsnapcontent-vgs-uid-1\"},"
        "\"spec\":{\"deletionPolicy\":\"Delete\",\"driver\":\"testdriver.csi.k8s.io\","
        "\"source\":{\"volumeHandles\":[\"vol-h1\",\"vol-h2\"]},"
        "\"volumeGroupSnapshotClassName\":\"csi-test-groupclass\",\"volumeGroupSnapshotRef\":"
        "{\"apiVersion\":\"groupsnapshot.storage.k8s.io/v1\",\"kind\":\"VolumeGroupSnapshot\","
        "\"name\":\"db-group\",\"namespace\":\"default\",\"resourceVersion\":\"500\","
        "\"uid\":\"vgs-uid-1\"}}}");
    CHECK_STR(
        fake_lines(&F, "EVENT", &T),
        "EVENT vgs default/db-group Normal CreatingGroupSnapshot Waiting for a group snapshot "
        "default/db-group to be created by the CSI driver.");
    CHECK_STR(fake_lines(&F, "PATCH", &T),
              "PATCH vgs default/db-group status merge {\"status\":{"
              "\"boundVolumeGroupSnapshotContentName\":\"groupsnapcontent-vgs-uid-1\","
              "\"readyToUse\":false}}");
    CHECK(!has("pv-3"));
    close_fake();
}

static void
dynamic_match_expressions_selector(void)
{
    json_t *g = gfix("vgs-selector");

    open_world();
    jset(g, "spec.source.selector",
         json_pack("{s:[{s:s,s:s,s:[s,s]}]}", "matchExpressions", "key", "app", "operator", "In",
                   "values", "db", "cache"));
    fake_add(&F, g);
    CHECK_INT(sync_db(), 0);
    CHECK_STR(fake_lines(&F, "LIST", &T), "LIST pvcs default app in (cache,db)");
    CHECK(has("\"volumeHandles\":[\"vol-h1\",\"vol-h2\"]"));
    CHECK(!has("vol-h3"));
    /* NotIn picks the other one only: upstream would select all three */
    buf_reset(&F.log);
    jset(g, "spec.source.selector",
         json_pack("{s:[{s:s,s:s,s:[s]}]}", "matchExpressions", "key", "app", "operator", "NotIn",
                   "values", "db"));
    jset(g, "metadata.resourceVersion", json_string("501"));
    json_object_clear(F.objs);
    fake_add(&F, g);
    CHECK_INT(sync_db(), 0);
    CHECK(has("\"volumeHandles\":[\"vol-h3\"]"));
    json_decref(g);
    close_fake();
}

static void
dynamic_no_pvc_selected(void)
{
    json_t *g = gfix("vgs-selector");

    open_world();
    jset(g, "spec.source.selector", json_pack("{s:{s:s}}", "matchLabels", "app", "nothing"));
    fake_add(&F, g);
    CHECK(sync_db() != 0);
    CHECK_STR(fake_lines(&F, "EVENT", &T),
              "EVENT vgs default/db-group Warning GroupSnapshotContentCreationFailed failed to "
              "create group snapshot content with error failed to get input parameters to create "
              "group snapshot db-group: \"label selector app=nothing for group snapshot not "
              "applied to any PVC\"");
    CHECK(!has("CREATE"));
    json_decref(g);
    close_fake();
}

static void
dynamic_unbound_pvc(void)
{
    json_t *p = gfix("pvc-db-2");

    open_fake();
    fake_add_fixture(&F, "gclass");
    fake_add_fixture(&F, "pvc-db-1");
    fake_add_fixture(&F, "pv-1");
    jset(p, "status.phase", json_string("Pending"));
    fake_add(&F, p);
    fake_add_fixture(&F, "vgs-selector");
    CHECK(sync_db() != 0);
    CHECK(has("the PVC db-data-2 is not yet bound to a PV, will not attempt to take a group "
              "snapshot"));
    CHECK(!has("CREATE"));
    json_decref(p);
    close_fake();
}

static void
dynamic_driver_mismatch(void)
{
    json_t *pv = gfix("pv-2");

    open_world();
    jset(pv, "spec.csi.driver", json_string("other.csi.k8s.io"));
    fake_add(&F, pv);
    fake_add_fixture(&F, "vgs-selector");
    CHECK(sync_db() != 0);
    CHECK(has("EVENT vgs default/db-group Warning CreateGroupSnapshotContentFailed Volume CSI "
              "driver (other.csi.k8s.io) mismatch with VolumeGroupSnapshotClass "
              "(testdriver.csi.k8s.io) default/db-group: pv-2"));
    CHECK(has("Warning GroupSnapshotContentCreationFailed failed to create group snapshot "
              "content with error Volume CSI driver (other.csi.k8s.io) mismatch"));
    CHECK(!has("CREATE"));
    json_decref(pv);
    close_fake();
}

static void
dynamic_non_csi_volume(void)
{
    json_t *pv = gfix("pv-1");

    open_world();
    jdel(pv, "spec.csi");
    fake_add(&F, pv);
    fake_add_fixture(&F, "vgs-selector");
    CHECK(sync_db() != 0);
    CHECK(has("Warning CreateGroupSnapshotContentFailed Cannot snapshot a non-CSI volume: "
              "pv-1"));
    CHECK(has("cannot snapshot a non-CSI volume for group snapshot default/db-group: pv-1"));
    json_decref(pv);
    close_fake();
}

static void
dynamic_create_is_idempotent(void)
{
    open_world();
    fake_add_fixture(&F, "vgs-selector");
    CHECK_INT(sync_db(), 0);
    buf_reset(&F.log);
    /* a second pass before the informer saw the content: AlreadyExists */
    CHECK_INT(sync_db(), 0);
    CHECK_INT(count("CREATE vgsc"), 1);
    CHECK(has("CreatingGroupSnapshot"));
    CHECK_INT(count("CreateGroupSnapshotContentFailed"), 0);
    F.fail_create = SC_EFORBIDDEN;
    buf_reset(&F.log);
    CHECK_INT(sync_db(), SC_EFORBIDDEN);
    CHECK(has("Warning CreateGroupSnapshotContentFailed Error creating volume group snapshot "
              "content object for group snapshot default/db-group: mock create error."));
    close_fake();
}

static void
dynamic_secret_annotations(void)
{
    json_t *c = gfix("gclass");

    open_world();
    jset(c, "parameters",
         json_pack("{s:s,s:s}", PARAM_GROUP_SECRET_NAME, "sec-${volumegroupsnapshot.name}",
                   PARAM_GROUP_SECRET_NS, "${volumegroupsnapshot.namespace}"));
    jset(c, "metadata.resourceVersion", json_string("101"));
    fake_add(&F, c);
    fake_add_fixture(&F, "vgs-selector");
    CHECK_INT(sync_db(), 0);
    CHECK(has("\"metadata\":{\"annotations\":{\"" ANN_GROUP_DEL_SECRET_NAME
              "\":\"sec-db-group\",\"" ANN_GROUP_DEL_SECRET_NS "\":\"default\"}"));
    json_decref(c);
    close_fake();
}

static void
bad_selector_and_api_errors(void)
{
    json_t *g = gfix("vgs-selector");

    open_world();
    jset(g, "spec.source.selector",
         json_pack("{s:[{s:s,s:s,s:[s]}]}", "matchExpressions", "key", "app", "operator", "Gt",
                   "values", "1"));
    fake_add(&F, g);
    CHECK_INT(sync_db(), SC_EINVALID);
    CHECK(has("invalid label selector of group snapshot default/db-group: \\\"Gt\\\" is not "
              "a valid label selector operator"));
    CHECK(!has("LIST"));
    /* LIST refused by the API (403): a clear error, no content */
    json_decref(g);
    g = gfix("vgs-selector");
    jset(g, "metadata.resourceVersion", json_string("501"));
    fake_add(&F, g);
    buf_reset(&F.log);
    F.fail_list = SC_EFORBIDDEN;
    CHECK_INT(sync_db(), SC_EFORBIDDEN);
    CHECK(has("failed to list PVCs with label selector app=db: mock list error"));
    CHECK(!has("CREATE"));
    /* a conflict on the status write is returned (requeue) */
    F.fail_list = 0;
    buf_reset(&F.log);
    json_object_set_new(F.objs, "vgsc /groupsnapcontent-vgs-uid-1", json_object());
    F.fail_patch = SC_ECONFLICT;
    CHECK_INT(sync_db(), SC_ECONFLICT);
    CHECK(has("Warning GroupSnapshotStatusUpdateFailed GroupSnapshot status update failed, "
              "snapshot controller failed to update default/db-group on API server: mock "
              "patch error"));
    json_decref(g);
    close_fake();
}

/* A group of GVIEW_MAX_VOLUMES volumes: one content with every handle, in
 * PVC list order; one more PVC is refused (SC_ETOOBIG). */
static void
large_group_at_the_cap(void)
{
    json_t *g = gfix("vgs-selector");
    char name[64], vol[64], uid[64], h[64];
    int i;

    open_fake();
    fake_add_fixture(&F, "gclass");
    for (i = 0; i <= GVIEW_MAX_VOLUMES; i++) {
        json_t *pvc = gfix("pvc-db-1"), *pv = gfix("pv-1");

        snprintf(name, sizeof(name), "data-%04d", i);
        snprintf(vol, sizeof(vol), "pv-%04d", i);
        snprintf(uid, sizeof(uid), "pvc-uid-%04d", i);
        snprintf(h, sizeof(h), "vol-%04d", i);
        jset(pvc, "metadata.name", json_string(name));
        jset(pvc, "metadata.uid", json_string(uid));
        jset(pvc, "spec.volumeName", json_string(vol));
        jset(pv, "metadata.name", json_string(vol));
        jset(pv, "spec.csi.volumeHandle", json_string(h));
        jset(pv, "spec.claimRef",
             json_pack("{s:s,s:s,s:s}", "name", name, "namespace", "default", "uid", uid));
        if (i < GVIEW_MAX_VOLUMES)
            fake_add(&F, pvc);
        fake_add(&F, pv);
        if (i == GVIEW_MAX_VOLUMES)
            json_array_append(F.pvcs, pvc); /* listed only in the second round */
        json_decref(pvc);
        json_decref(pv);
    }
    json_array_remove(F.pvcs, (size_t)GVIEW_MAX_VOLUMES);
    fake_add(&F, g);
    CHECK_INT(sync_db(), 0);
    CHECK_INT(count("GET pv "), GVIEW_MAX_VOLUMES);
    CHECK(has("[\"vol-0000\",\"vol-0001\","));
    CHECK(has(",\"vol-1023\"]"));
    {
        json_t *extra = gfix("pvc-db-1");

        jset(extra, "metadata.name", json_string("data-1024"));
        jset(extra, "metadata.uid", json_string("pvc-uid-1024"));
        jset(extra, "spec.volumeName", json_string("pv-1024"));
        json_array_append_new(F.pvcs, extra);
    }
    json_object_clear(F.objs);
    jset(g, "metadata.resourceVersion", json_string("501"));
    fake_add(&F, g);
    buf_reset(&F.log);
    CHECK_INT(sync_db(), SC_ETOOBIG);
    CHECK(has("selects more than 1024 PVCs"));
    CHECK(!has("CREATE"));
    /* the driver reported all 1024: 1024 member pairs, each PVC named */
    json_array_remove(F.pvcs, (size_t)GVIEW_MAX_VOLUMES);
    {
        json_t *c = gfix("vgsc-dynamic"), *infos = json_array(), *handles = json_array();

        for (i = 0; i < GVIEW_MAX_VOLUMES; i++) {
            snprintf(h, sizeof(h), "vol-%04d", i);
            snprintf(name, sizeof(name), "snap-%04d", i);
            json_array_append_new(handles, json_string(h));
            json_array_append_new(infos, json_pack("{s:s,s:s,s:b}", "volumeHandle", h,
                                                   "snapshotHandle", name, "readyToUse", 1));
        }
        jset(c, "spec.source.volumeHandles", handles);
        jset(c, "status.volumeSnapshotInfoList", infos);
        fake_add(&F, c);
        json_decref(c);
    }
    buf_reset(&F.log);
    CHECK_INT(sync_db(), 0);
    CHECK_INT(count("CREATE vs "), GVIEW_MAX_VOLUMES);
    CHECK_INT(count("CREATE vsc "), GVIEW_MAX_VOLUMES);
    CHECK(has("\"persistentVolumeClaimName\":\"data-1023\""));
    CHECK_INT(count("\"persistentVolumeClaimName\":\"\""), 0);
    json_decref(g);
    close_fake();
}

/* ---- default class ---- */

static void
default_class_is_set(void)
{
    json_t *g = gfix("vgs-selector");

    open_world();
    jdel(g, "spec.volumeGroupSnapshotClassName");
    fake_add(&F, g);
    CHECK_INT(sync_db(), 0);
    CHECK_STR(fake_lines(&F, "PATCH", &T),
              "PATCH vgs default/db-group merge {\"spec\":{\"volumeGroupSnapshotClassName\":"
              "\"csi-test-groupclass\"}}");
    CHECK(!has("CREATE"));
    json_decref(g);
    close_fake();
}

static void
default_class_two_defaults(void)
{
    json_t *g = gfix("vgs-selector"), *c2 = gfix("gclass");

    open_world();
    jset(c2, "metadata.name", json_string("second-groupclass"));
    fake_add(&F, c2);
    jdel(g, "spec.volumeGroupSnapshotClassName");
    fake_add(&F, g);
    CHECK_INT(sync_db(), SC_EINVALID);
    CHECK_STR(E.msg, "2 default snapshot classes were found");
    CHECK_STR(fake_lines(&F, "EVENT", &T),
              "EVENT vgs default/db-group Warning SetDefaultGroupSnapshotClassFailed Failed to set "
              "default group snapshot class with error 2 default snapshot classes were found");
    CHECK(has("PATCH vgs default/db-group status merge {\"status\":{\"error\":{\"message\":"
              "\"Failed to set default group snapshot class with error 2 default snapshot "
              "classes were found\",\"time\":\"2026-11-22T02:00:00Z\"}}}"));
    json_decref(g);
    json_decref(c2);
    close_fake();
}

static void
default_class_none_for_driver(void)
{
    json_t *g = gfix("vgs-selector"), *c = gfix("gclass");

    open_world();
    jset(c, "driver", json_string("other.csi.k8s.io"));
    fake_add(&F, c);
    jdel(g, "spec.volumeGroupSnapshotClassName");
    fake_add(&F, g);
    CHECK_INT(sync_db(), SC_EINVALID);
    CHECK_STR(E.msg, "cannot find default group snapshot class");
    json_decref(g);
    json_decref(c);
    close_fake();
}

static void
explicit_class_missing(void)
{
    json_t *g = gfix("vgs-selector");

    open_fake();
    fake_add_fixture(&F, "pvc-db-1");
    jset(g, "spec.volumeGroupSnapshotClassName", json_string("gone"));
    fake_add(&F, g);
    CHECK_INT(sync_db(), SC_ENOTFOUND);
    CHECK(has("Warning GetGroupSnapshotClassFailed failed to get group snapshot class with "
              "error volumegroupsnapshotclass.groupsnapshot.storage.k8s.io \"gone\" not found"));
    json_decref(g);
    close_fake();
}

static void
validation_error(void)
{
    json_t *g = gfix("vgs-selector");

    open_world();
    jset(g, "spec.source.volumeGroupSnapshotContentName", json_string("x"));
    fake_add(&F, g);
    CHECK_INT(sync_db(), SC_EINVALID);
    CHECK(has("Warning GroupSnapshotValidationError Exactly one of Selector and "
              "VolumeGroupSnapshotContentName should be specified"));
    CHECK(has("\"readyToUse\":false"));
    json_decref(g);
    close_fake();
}

/* ---- members ---- */

static void
members_created_when_group_reported(void)
{
    open_world();
    fake_add_fixture(&F, "vgs-selector");
    fake_add_fixture(&F, "vgsc-dynamic");
    CHECK_INT(sync_db(), 0);
    CHECK_STR(
        fake_lines(&F, "CREATE", &T),
        "CREATE vsc {\"apiVersion\":\"snapshot.storage.k8s.io/v1\",\"kind\":"
        "\"VolumeSnapshotContent\",\"metadata\":{\"annotations\":{"
        "\"groupsnapshot.storage.k8s.io/volumeGroupSnapshotHandle\":\"group-handle-1\"},"
        "\"name\":\"snapcontent-" MEMBER1 "\"},\"spec\":{\"deletionPolicy\":\"Delete\","
        "\"driver\":\"testdriver.csi.k8s.io\",\"source\":{\"volumeHandle\":\"vol-h1\"},"
        "\"sourceVolumeMode\":\"Filesystem\",\"volumeSnapshotRef\":{\"kind\":"
        "\"VolumeSnapshot\",\"name\":\"snapshot-" MEMBER1 "\",\"namespace\":\"default\"}}}\n"
        "CREATE vs {\"apiVersion\":\"snapshot.storage.k8s.io/v1\",\"kind\":\"VolumeSnapshot\","
        "\"metadata\":{\"finalizers\":[\"snapshot.storage.kubernetes.io/"
        "volumesnapshot-in-group-protection\"],\"name\":\"snapshot-" MEMBER1 "\","
        "\"namespace\":\"default\",\"ownerReferences\":[{\"apiVersion\":"
        "\"groupsnapshot.storage.k8s.io/v1\",\"kind\":\"VolumeGroupSnapshot\",\"name\":"
        "\"db-group\",\"uid\":\"vgs-uid-1\"}]},\"spec\":{\"source\":{"
        "\"persistentVolumeClaimName\":\"db-data-1\"}}}\n"
        "CREATE vsc {\"apiVersion\":\"snapshot.storage.k8s.io/v1\",\"kind\":"
        "\"VolumeSnapshotContent\",\"metadata\":{\"annotations\":{"
        "\"groupsnapshot.storage.k8s.io/volumeGroupSnapshotHandle\":\"group-handle-1\"},"
        "\"name\":\"snapcontent-" MEMBER2 "\"},\"spec\":{\"deletionPolicy\":\"Delete\","
        "\"driver\":\"testdriver.csi.k8s.io\",\"source\":{\"volumeHandle\":\"vol-h2\"},"
        "\"sourceVolumeMode\":\"Block\",\"volumeSnapshotRef\":{\"kind\":"
        "\"VolumeSnapshot\",\"name\":\"snapshot-" MEMBER2 "\",\"namespace\":\"default\"}}}\n"
        "CREATE vs {\"apiVersion\":\"snapshot.storage.k8s.io/v1\",\"kind\":\"VolumeSnapshot\","
        "\"metadata\":{\"finalizers\":[\"snapshot.storage.kubernetes.io/"
        "volumesnapshot-in-group-protection\"],\"name\":\"snapshot-" MEMBER2 "\","
        "\"namespace\":\"default\",\"ownerReferences\":[{\"apiVersion\":"
        "\"groupsnapshot.storage.k8s.io/v1\",\"kind\":\"VolumeGroupSnapshot\",\"name\":"
        "\"db-group\",\"uid\":\"vgs-uid-1\"}]},\"spec\":{\"source\":{"
        "\"persistentVolumeClaimName\":\"db-data-2\"}}}");
    CHECK_STR(fake_lines(&F, "PATCH vsc snapcontent-" MEMBER1, &T),
              "PATCH vsc snapcontent-" MEMBER1 " merge {\"spec\":{\"volumeSnapshotRef\":{\"uid\":"
              "\"uid-2\"}}}\n"
              "PATCH vsc snapcontent-" MEMBER1 " status merge {\"status\":{\"creationTime\":"
              "1795312805000000000,\"readyToUse\":true,\"restoreSize\":1073741824,"
              "\"snapshotHandle\":\"snap-h1\",\"volumeGroupSnapshotHandle\":\"group-handle-1\"}}");
    CHECK_STR(fake_lines(&F, "PATCH vs default/snapshot-" MEMBER2, &T),
              "PATCH vs default/snapshot-" MEMBER2 " status merge {\"status\":{"
              "\"boundVolumeSnapshotContentName\":\"snapcontent-" MEMBER2 "\","
              "\"volumeGroupSnapshotName\":\"db-group\"}}");
    /* then the group status: bound, created, ready */
    CHECK_STR(fake_lines(&F, "PATCH vgs", &T),
              "PATCH vgs default/db-group status merge {\"status\":{"
              "\"boundVolumeGroupSnapshotContentName\":\"groupsnapcontent-vgs-uid-1\","
              "\"creationTime\":\"2026-11-22T02:00:05Z\",\"readyToUse\":true}}");
    CHECK_STR(fake_lines(&F, "EVENT", &T),
              "EVENT vgs default/db-group Normal GroupSnapshotCreated GroupSnapshot "
              "default/db-group was successfully created by the CSI driver.\n"
              "EVENT vgs default/db-group Normal GroupSnapshotReady GroupSnapshot default/db-group "
              "is ready to use.");
    /* the order: members before the group's readiness */
    CHECK(strstr(buf_str(&F.log), "CREATE vs") < strstr(buf_str(&F.log), "PATCH vgs"));
    close_fake();
}

static void
members_not_created_before_report(void)
{
    json_t *c = gfix("vgsc-dynamic");

    open_world();
    fake_add_fixture(&F, "vgs-selector");
    jdel(c, "status");
    fake_add(&F, c);
    CHECK_INT(sync_db(), 0);
    CHECK(!has("CREATE"));
    CHECK(has("\"readyToUse\":false"));
    json_decref(c);
    close_fake();
}

/* A pass that stopped after the members were created (a crash or restart)
 * runs again: AlreadyExists adopts them, nothing is created twice, and no
 * binding write repeats for objects already bound. */
static void
members_rerun_adopts_existing(void)
{
    json_t *vs, *vsc;
    char key[256];

    open_world();
    fake_add_fixture(&F, "vgs-selector");
    fake_add_fixture(&F, "vgsc-dynamic");
    CHECK_INT(sync_db(), 0);
    /* make the created objects look bound, as the API would after the patches */
    snprintf(key, sizeof(key), "vs default/snapshot-%s", MEMBER1);
    vs = json_object_get(F.objs, key);
    jset(vs, "status.boundVolumeSnapshotContentName", json_string("snapcontent-" MEMBER1));
    jset(vs, "status.volumeGroupSnapshotName", json_string("db-group"));
    snprintf(key, sizeof(key), "vsc /snapcontent-%s", MEMBER1);
    vsc = json_object_get(F.objs, key);
    jset(vsc, "spec.volumeSnapshotRef.uid", json_string("uid-2"));
    jset(vsc, "status",
         json_pack("{s:s,s:s,s:I,s:b,s:I}", "snapshotHandle", "snap-h1",
                   "volumeGroupSnapshotHandle", "group-handle-1", "creationTime",
                   (json_int_t)1795312805000000000, "readyToUse", 1, "restoreSize",
                   (json_int_t)1073741824));
    buf_reset(&F.log);
    CHECK_INT(sync_db(), 0);
    CHECK_INT(count("CREATE vs "), 2);               /* attempted ... */
    CHECK_INT(count("GET vs default/snapshot-"), 2); /* ... and adopted */
    CHECK_INT(count("GET vsc /snapcontent-"), 2);
    CHECK_INT(count("PATCH vsc snapcontent-" MEMBER1), 0);
    CHECK_INT(count("PATCH vs default/snapshot-" MEMBER1), 0);
    CHECK_INT(count("PATCH vsc snapcontent-" MEMBER2), 2); /* still unbound in the fake */
    CHECK_INT(json_object_size(F.objs), 4);                /* exactly two members */
    close_fake();
}

/* The group is ready and bound, but its members are not in the caches (the
 * controller stopped between readiness and member creation in an older
 * version, or a member was removed): the ready path makes them. */
static void
members_recreated_on_ready_group(void)
{
    json_t *g = gfix("vgs-selector");

    open_world();
    jset(g, "status",
         json_pack("{s:s,s:b,s:s}", "boundVolumeGroupSnapshotContentName",
                   "groupsnapcontent-vgs-uid-1", "readyToUse", 1, "creationTime",
                   "2026-11-22T02:00:05Z"));
    jset(g, "metadata.finalizers", json_pack("[s]", FIN_VGS_BOUND));
    fake_add(&F, g);
    fake_add_fixture(&F, "vgsc-dynamic");
    CHECK_INT(sync_db(), 0);
    CHECK_INT(count("CREATE vs "), 2);
    CHECK_INT(count("CREATE vsc "), 2);
    CHECK(!has("PATCH vgs"));
    json_decref(g);
    close_fake();
}

static void
members_create_error_wrapped(void)
{
    open_world();
    fake_add_fixture(&F, "vgs-selector");
    fake_add_fixture(&F, "vgsc-dynamic");
    F.fail_create = SC_ESERVER;
    CHECK_INT(sync_db(), SC_ESERVER);
    CHECK_STR(E.msg, "createIndividualSnapshotForGroupSnapshot: creating volumesnapshotcontent "
                     "mock create error");
    CHECK(!has("PATCH vgs")); /* not ready before its members exist */
    close_fake();
}

static void
bound_finalizer_added(void)
{
    json_t *g = gfix("vgs-selector");

    open_world();
    jset(g, "status",
         json_pack("{s:s,s:b}", "boundVolumeGroupSnapshotContentName", "groupsnapcontent-vgs-uid-1",
                   "readyToUse", 0));
    fake_add(&F, g);
    fake_add_fixture(&F, "vgsc-dynamic");
    CHECK_INT(sync_db(), 0);
    CHECK_STR(buf_str(&F.log),
              "PATCH vgs default/db-group json [{\"op\":\"test\",\"path\":"
              "\"/metadata/resourceVersion\",\"value\":\"500\"},{\"op\":\"add\",\"path\":"
              "\"/metadata/finalizers\",\"value\":[\"" FIN_VGS_BOUND "\"]}]\n");
    json_decref(g);
    close_fake();
}

static void
content_misbound(void)
{
    json_t *c = gfix("vgsc-dynamic");

    open_world();
    fake_add_fixture(&F, "vgs-selector");
    jset(c, "spec.volumeGroupSnapshotRef.uid", json_string("someone-else"));
    fake_add(&F, c);
    CHECK(sync_db() != 0);
    CHECK(has("Warning GroupSnapshotContentMisbound VolumeGroupSnapshotContent "
              "[groupsnapcontent-vgs-uid-1] is bound to a different group snapshot"));
    CHECK(has("Warning GroupSnapshotFinalizerError Failed to check and update group "
              "snapshot: "));
    json_decref(c);
    close_fake();
}

/* ---- deletion ---- */

static json_t *
member_vs(const char *hash, bool deleting)
{
    char name[128], content[128];
    json_t *vs;

    snprintf(name, sizeof(name), "snapshot-%s", hash);
    snprintf(content, sizeof(content), "snapcontent-%s", hash);
    vs = json_pack("{s:s,s:s,s:{s:s,s:s,s:s,s:s,s:[{s:s,s:s,s:s,s:s}],s:[s,s]},"
                   "s:{s:{s:s}},s:{s:s,s:s,s:b}}",
                   "apiVersion", "snapshot.storage.k8s.io/v1", "kind", "VolumeSnapshot", "metadata",
                   "name", name, "namespace", "default", "uid", hash, "resourceVersion", "700",
                   "ownerReferences", "apiVersion", "groupsnapshot.storage.k8s.io/v1", "kind",
                   "VolumeGroupSnapshot", "name", "db-group", "uid", "vgs-uid-1", "finalizers",
                   FIN_VS_INGROUP, FIN_VS_SOURCE, "spec", "source", "persistentVolumeClaimName",
                   "db-data-1", "status", "boundVolumeSnapshotContentName", content,
                   "volumeGroupSnapshotName", "db-group", "readyToUse", 1);
    if (deleting)
        jset(vs, "metadata.deletionTimestamp", json_string("2026-11-22T02:10:00Z"));
    return vs;
}

/* open_world() with db-group being deleted (another finalizer first, then
 * bound-protection), ready and bound to its content of the policy given,
 * and both its members. */
static void
open_deleting_world(const char *policy)
{
    char pol[64];

    snprintf(pol, sizeof(pol), "spec.deletionPolicy=%s", policy);
    open_world();
    fake_put(&F, jedit(gfix("vgs-selector"), "metadata.deletionTimestamp=2026-11-22T02:10:00Z",
                       "metadata.finalizers:=[\"other/finalizer\",\"" FIN_VGS_BOUND "\"]",
                       "status:={\"boundVolumeGroupSnapshotContentName\":"
                       "\"groupsnapcontent-vgs-uid-1\",\"readyToUse\":true}",
                       NULL));
    fake_put(&F, jedit(gfix("vgsc-dynamic"), pol, NULL));
    fake_put(&F, member_vs(MEMBER1, false));
    fake_put(&F, member_vs(MEMBER2, false));
}

static void
delete_policy_delete(void)
{
    open_deleting_world("Delete");
    CHECK_INT(sync_db(), 0);
    CHECK_STR(fake_lines(&F, "PATCH", &T),
              "PATCH vgsc groupsnapcontent-vgs-uid-1 merge {\"metadata\":{\"annotations\":{"
              "\"" ANN_GROUP_BEING_DELETED "\":\"yes\"}}}");
    CHECK_STR(fake_lines(&F, "DELETE", &T), "DELETE vgsc groupsnapcontent-vgs-uid-1\n"
                                            "DELETE vs default/snapshot-" MEMBER1 "\n"
                                            "DELETE vs default/snapshot-" MEMBER2);
    /* the finalizer stays until the content is gone */
    CHECK(!has("remove"));
    /* the content leaves: its delete event requeues the group, which now
     * lets go of its finalizer (index 1, guarded by a test) */
    {
        struct gvgsc *c =
            (struct gvgsc *)cstore_get(F.env.group_contents, "groupsnapcontent-vgs-uid-1");

        buf_reset(&F.log);
        group_content_deleted(&F.env, c);
        CVIEW_UNREF(c);
    }
    CHECK_STR(buf_str(&F.log), "ENQUEUE vgs default/db-group\n");
    buf_reset(&F.log);
    CHECK_INT(sync_db(), 0);
    CHECK_STR(
        fake_lines(&F, "PATCH", &T),
        "PATCH vgs default/db-group json [{\"op\":\"test\",\"path\":\"/metadata/finalizers/1\","
        "\"value\":\"" FIN_VGS_BOUND "\"},{\"op\":\"remove\",\"path\":"
        "\"/metadata/finalizers/1\"}]");
    close_fake();
}

static void
delete_policy_retain(void)
{
    open_deleting_world("Retain");
    CHECK_INT(sync_db(), 0);
    CHECK_STR(fake_lines(&F, "DELETE", &T),
              "DELETE vs default/snapshot-" MEMBER1 "\nDELETE vs default/snapshot-" MEMBER2);
    CHECK(has("\"" ANN_GROUP_BEING_DELETED "\":\"yes\""));
    CHECK(has("{\"op\":\"remove\",\"path\":\"/metadata/finalizers/1\"}"));
    close_fake();
}

static void
delete_blocked_by_restore(void)
{
    json_t *p = gfix("pvc-other");

    open_deleting_world("Delete");
    jset(p, "metadata.name", json_string("restoring"));
    jset(p, "status.phase", json_string("Pending"));
    jset(p, "spec.dataSource",
         json_pack("{s:s,s:s,s:s}", "kind", "VolumeSnapshot", "apiGroup", "snapshot.storage.k8s.io",
                   "name", "snapshot-" MEMBER2));
    fake_add(&F, p);
    CHECK_INT(sync_db(), SC_EINVALID);
    CHECK(has("EVENT vgs default/db-group Warning SnapshotDeletePending Snapshot "
              "default/snapshot-" MEMBER2 " belonging to VolumeGroupSnapshot default/db-group "
              "is being used to restore a PVC"));
    CHECK(!has("DELETE"));
    json_decref(p);
    close_fake();
}

static void
delete_member_error(void)
{
    open_deleting_world("Retain");
    F.fail_delete = SC_EFORBIDDEN;
    CHECK_INT(sync_db(), SC_EFORBIDDEN);
    CHECK(has("Warning SnapshotDeleteError failed to delete snapshot API object "
              "default/snapshot-" MEMBER1 " part of group snapshot default/db-group: mock "
              "delete error"));
    CHECK(!has("remove"));
    close_fake();
}

static void
delete_content_error(void)
{
    open_deleting_world("Delete");
    F.fail_delete = SC_ESERVER;
    CHECK_INT(sync_db(), SC_ESERVER);
    CHECK(has("Warning GroupSnapshotContentObjectDeleteError Failed to delete group snapshot "
              "content API object"));
    close_fake();
}

static void
delete_without_finalizer_does_nothing(void)
{
    json_t *g = gfix("vgs-selector");

    open_world();
    jset(g, "metadata.deletionTimestamp", json_string("2026-11-22T02:10:00Z"));
    jset(g, "metadata.finalizers", json_pack("[s]", "other/finalizer"));
    fake_add(&F, g);
    CHECK_INT(sync_db(), 0);
    CHECK_STR(buf_str(&F.log), "");
    json_decref(g);
    close_fake();
}

static void
group_deleted_releases_members(void)
{
    struct gvgs *g = NULL;

    open_deleting_world("Delete");
    g = (struct gvgs *)cstore_get(F.env.groups, "default/db-group");
    cmetrics_start(F.metrics, OP_CREATE_GROUP_SNAPSHOT, "vgs-uid-1", "d", "dynamic");
    cmetrics_start(F.metrics, OP_DELETE_GROUP_SNAPSHOT, "vgs-uid-1", "d", "dynamic");
    CHECK_INT(cmetrics_in_flight(F.metrics), 2);
    group_deleted(&F.env, g);
    CHECK(cstore_get(F.env.groups, "default/db-group") == NULL);
    CHECK_INT(cmetrics_in_flight(F.metrics), 0);
    CHECK_STR(fake_lines(&F, "ENQUEUE vgsc", &T), "ENQUEUE vgsc groupsnapcontent-vgs-uid-1");
    CHECK_INT(count("ENQUEUE vs default/snapshot-"), 2);
    CVIEW_UNREF(g);
    close_fake();
}

/* ---- pre-provisioned ---- */

static void
static_content_missing(void)
{
    open_fake();
    fake_add_fixture(&F, "vgs-static");
    CHECK_INT(sync_group("default/static-group"), SC_ENOTFOUND);
    CHECK_STR(E.msg, "group snapshot default/static-group requests an non-existing group "
                     "snapshot content static-groupcontent");
    CHECK(has("Warning GroupSnapshotContentMissing VolumeGroupSnapshotContent is missing"));
    close_fake();
}

static void
static_binds_and_links_members(void)
{
    json_t *c = gfix("vgsc-static"), *vs, *vsc;

    open_fake();
    fake_add_fixture(&F, "vgs-static");
    jset(c, "status",
         json_pack("{s:s,s:b,s:s}", "volumeGroupSnapshotHandle", "group-handle-2", "readyToUse", 1,
                   "creationTime", "2026-11-22T02:00:07Z"));
    fake_add(&F, c);
    /* a user-made member pair whose content reports the group handle */
    vs = json_pack("{s:s,s:s,s:{s:s,s:s,s:s,s:s},s:{s:{s:s}}}", "apiVersion",
                   "snapshot.storage.k8s.io/v1", "kind", "VolumeSnapshot", "metadata", "name",
                   "static-1", "namespace", "default", "uid", "svs-1", "resourceVersion", "800",
                   "spec", "source", "volumeSnapshotContentName", "static-content-1");
    vsc = json_pack("{s:s,s:s,s:{s:s,s:s,s:s},s:{s:{s:s,s:s,s:s},s:s,s:s,s:{s:s}},s:{s:s,s:s}}",
                    "apiVersion", "snapshot.storage.k8s.io/v1", "kind", "VolumeSnapshotContent",
                    "metadata", "name", "static-content-1", "uid", "svsc-1", "resourceVersion",
                    "801", "spec", "volumeSnapshotRef", "name", "static-1", "namespace", "default",
                    "uid", "svs-1", "deletionPolicy", "Retain", "driver", "testdriver.csi.k8s.io",
                    "source", "snapshotHandle", "snap-s1", "status", "snapshotHandle", "snap-s1",
                    "volumeGroupSnapshotHandle", "group-handle-2");
    fake_add(&F, vs);
    fake_add(&F, vsc);
    json_object_set(F.objs, "vs default/static-1", vs);
    CHECK_INT(sync_group("default/static-group"), 0);
    CHECK_STR(fake_lines(&F, "PATCH", &T),
              "PATCH vgsc static-groupcontent merge {\"spec\":{\"volumeGroupSnapshotRef\":{\"uid\":"
              "\"vgs-uid-2\"}}}\n"
              "PATCH vs default/static-1 status merge {\"status\":{\"volumeGroupSnapshotName\":"
              "\"static-group\"}}\n"
              "PATCH vs default/static-1 json [{\"op\":\"test\",\"path\":"
              "\"/metadata/resourceVersion\",\"value\":\"800\"},{\"op\":\"add\",\"path\":"
              "\"/metadata/ownerReferences\",\"value\":[{\"apiVersion\":"
              "\"groupsnapshot.storage.k8s.io/v1\",\"kind\":\"VolumeGroupSnapshot\",\"name\":"
              "\"static-group\",\"uid\":\"vgs-uid-2\"}]}]\n"
              "PATCH vgs default/static-group status merge {\"status\":{"
              "\"boundVolumeGroupSnapshotContentName\":\"static-groupcontent\",\"creationTime\":"
              "\"2026-11-22T02:00:07Z\",\"readyToUse\":true}}");
    json_decref(c);
    json_decref(vs);
    json_decref(vsc);
    close_fake();
}

static void
static_content_dynamic_mismatch(void)
{
    json_t *g = gfix("vgs-static");

    open_fake();
    jset(g, "spec.source.volumeGroupSnapshotContentName",
         json_string("groupsnapcontent-vgs-uid-1"));
    fake_add(&F, g);
    fake_add_fixture(&F, "vgsc-dynamic");
    CHECK(sync_group("default/static-group") != 0);
    CHECK(has("Warning GroupSnapshotContentMismatch VolumeGroupSnapshotContent is dynamically "
              "provisioned while expecting a pre-provisioned one"));
    json_decref(g);
    close_fake();
}

/* ---- group content sync ---- */

static void
content_sync_validation_and_finalizer(void)
{
    json_t *c = gfix("vgsc-dynamic");

    open_fake();
    jset(c, "spec.source.groupSnapshotHandles",
         json_pack("{s:s,s:[s]}", "volumeGroupSnapshotHandle", "x", "volumeSnapshotHandles", "y"));
    fake_add(&F, c);
    CHECK_INT(group_content_sync_key(&F.env, "groupsnapcontent-vgs-uid-1", &E), SC_EINVALID);
    CHECK_STR(buf_str(&F.log),
              "EVENT vgsc groupsnapcontent-vgs-uid-1 Warning GroupContentValidationError Exactly "
              "one of GroupSnapshotHandles and VolumeHandles should be specified\n");
    json_decref(c);
    c = gfix("vgsc-dynamic");
    jdel(c, "metadata.finalizers");
    jset(c, "metadata.resourceVersion", json_string("521"));
    fake_add(&F, c);
    buf_reset(&F.log);
    CHECK_INT(group_content_sync_key(&F.env, "groupsnapcontent-vgs-uid-1", &E), 0);
    CHECK_STR(buf_str(&F.log),
              "PATCH vgsc groupsnapcontent-vgs-uid-1 json [{\"op\":\"test\",\"path\":"
              "\"/metadata/resourceVersion\",\"value\":\"521\"},{\"op\":\"add\",\"path\":"
              "\"/metadata/finalizers\",\"value\":[\"" FIN_VGSC_BOUND "\"]}]\n");
    json_decref(c);
    close_fake();
}

static void
content_sync_enqueues_group(void)
{
    json_t *c = gfix("vgsc-dynamic");

    open_fake();
    fake_add_fixture(&F, "vgs-selector");
    fake_add_fixture(&F, "vgsc-dynamic");
    CHECK_INT(group_content_sync_key(&F.env, "groupsnapcontent-vgs-uid-1", &E), 0);
    CHECK_STR(buf_str(&F.log), "ENQUEUE vgs default/db-group\n");
    /* pre-bound (no uid): nothing */
    jdel(c, "spec.volumeGroupSnapshotRef.uid");
    jset(c, "metadata.resourceVersion", json_string("522"));
    fake_add(&F, c);
    buf_reset(&F.log);
    CHECK_INT(group_content_sync_key(&F.env, "groupsnapcontent-vgs-uid-1", &E), 0);
    CHECK_STR(buf_str(&F.log), "");
    CHECK_INT(group_content_sync_key(&F.env, "absent", &E), 0);
    json_decref(c);
    close_fake();
}

/* ---- helpers ---- */

static void
member_names_are_sha256(void)
{
    char vs[GSYNC_MEMBER_NAME_LEN], vsc[GSYNC_MEMBER_NAME_LEN];

    CHECK_INT(gsync_member_names("vgs-uid-1", "vol-h1", vs, vsc, sizeof(vs)), 0);
    CHECK_STR(vs, "snapshot-" MEMBER1);
    CHECK_STR(vsc, "snapcontent-" MEMBER1);
    CHECK_INT(gsync_member_names("vgs-uid-1", "vol-h1", vs, vsc, 10), SC_ETOOBIG);
}

static void
secret_templates(void)
{
    struct gclass c = {0};
    char name[256], ns[256];
    bool has_ref;
    struct sc_err err = {0};

    memset(&c, 0, sizeof(c));
    CHECK_INT(gsync_secret_ref(&c, "gc", "ns1", "g1", &has_ref, name, ns, sizeof(name), &err), 0);
    CHECK(!has_ref);
    c.has_secret_name = c.has_secret_ns = true;
    c.secret_name = "${volumegroupsnapshotcontent.name}-$volumegroupsnapshot";
    c.secret_ns = "${volumegroupsnapshot.namespace}";
    /* $name without braces stops at the dot (os.Expand) */
    CHECK_INT(gsync_secret_ref(&c, "gc", "ns1", "g1", &has_ref, name, ns, sizeof(name), &err),
              SC_EINVALID);
    CHECK_STR(err.msg, "error resolving value \"${volumegroupsnapshotcontent.name}-"
                       "$volumegroupsnapshot\": invalid tokens: [\"volumegroupsnapshot\"]");
    c.secret_name = "s-${volumegroupsnapshot.name}";
    CHECK_INT(gsync_secret_ref(&c, "gc", "ns1", "g1", &has_ref, name, ns, sizeof(name), &err), 0);
    CHECK(has_ref);
    CHECK_STR(name, "s-g1");
    CHECK_STR(ns, "ns1");
    /* members: no group snapshot, only the content name resolves */
    CHECK_INT(gsync_secret_ref(&c, "gc", NULL, NULL, &has_ref, name, ns, sizeof(name), &err),
              SC_EINVALID);
    CHECK_STR(err.msg, "error resolving value \"${volumegroupsnapshot.namespace}\": invalid "
                       "tokens: [\"volumegroupsnapshot.namespace\"]");
    c.secret_ns = "Bad_NS";
    CHECK_INT(gsync_secret_ref(&c, "gc", "ns1", "g1", &has_ref, name, ns, sizeof(name), &err),
              SC_EINVALID);
    CHECK_STR(err.msg, "\"Bad_NS\" is not a valid namespace name");
    c.has_secret_ns = false;
    CHECK_INT(gsync_secret_ref(&c, "gc", "ns1", "g1", &has_ref, name, ns, sizeof(name), &err),
              SC_EINVALID);
}

static void
hooks_for_snapshot_side(void)
{
    char out[256], msg[1024];

    open_fake();
    fake_add_fixture(&F, "vgs-selector");
    fake_add_fixture(&F, "vgsc-dynamic");
    CHECK(gsync_group_exists(F.env.groups, "default", "db-group"));
    CHECK(!gsync_group_exists(F.env.groups, "other", "db-group"));
    CHECK(!gsync_group_exists(NULL, "default", "db-group"));
    {
        /* deleting with no finalizer left: already gone at the API server */
        json_t *g = gfix("vgs-selector");

        jset(g, "metadata.deletionTimestamp", json_string("2026-11-22T02:10:00Z"));
        jset(g, "metadata.resourceVersion", json_string("600"));
        fake_add(&F, g);
        CHECK(!gsync_group_exists(F.env.groups, "default", "db-group"));
        jset(g, "metadata.finalizers", json_pack("[s]", FIN_VGS_BOUND));
        fake_add(&F, g);
        CHECK(gsync_group_exists(F.env.groups, "default", "db-group"));
        json_decref(g);
    }
    CHECK(gsync_group_name_for_handle(F.env.group_contents, "group-handle-1", out, sizeof(out)));
    CHECK_STR(out, "db-group");
    CHECK(!gsync_group_name_for_handle(F.env.group_contents, "nope", out, sizeof(out)));
    CHECK(!gsync_group_name_for_handle(NULL, "group-handle-1", out, sizeof(out)));
    gsync_member_delete_msg("default", "snapshot-x", "db-group", msg, sizeof(msg));
    CHECK_STR(msg,
              "deletion of the individual volume snapshot default/snapshot-x is not allowed as "
              "it belongs to group snapshot default/db-group. Deleting the group snapshot "
              "will trigger the deletion of all the individual volume snapshots that are "
              "part of the group.");
    close_fake();
}

TEST_MAIN(TEST(dynamic_creates_content_for_selected_pvcs), TEST(dynamic_match_expressions_selector),
          TEST(dynamic_no_pvc_selected), TEST(dynamic_unbound_pvc), TEST(dynamic_driver_mismatch),
          TEST(dynamic_non_csi_volume), TEST(dynamic_create_is_idempotent),
          TEST(dynamic_secret_annotations), TEST(bad_selector_and_api_errors),
          TEST(large_group_at_the_cap), TEST(default_class_is_set),
          TEST(default_class_two_defaults), TEST(default_class_none_for_driver),
          TEST(explicit_class_missing), TEST(validation_error),
          TEST(members_created_when_group_reported), TEST(members_not_created_before_report),
          TEST(members_rerun_adopts_existing), TEST(members_recreated_on_ready_group),
          TEST(members_create_error_wrapped), TEST(bound_finalizer_added), TEST(content_misbound),
          TEST(delete_policy_delete), TEST(delete_policy_retain), TEST(delete_blocked_by_restore),
          TEST(delete_member_error), TEST(delete_content_error),
          TEST(delete_without_finalizer_does_nothing), TEST(group_deleted_releases_members),
          TEST(static_content_missing), TEST(static_binds_and_links_members),
          TEST(static_content_dynamic_mismatch), TEST(content_sync_validation_and_finalizer),
          TEST(content_sync_enqueues_group), TEST(member_names_are_sha256), TEST(secret_templates),
          TEST(hooks_for_snapshot_side))
