/* Snapshot and content views straight from bytes (controller/cscan.c)
 * against the tree path (cview.c) on the same bytes: equal views where the
 * bytes path reads, a decline wherever the tree path would refuse or it
 * cannot be sure. */
#include <string.h>

#include "common/limits.h"
#include "controller/cintern.h"
#include "controller/cview.h"
#include "kube/kskim.h"
#include "tests/fuzz/view_eq.h"
#include "tests/lib/harness.h"

enum side { SCANNED, DECLINED_TREE_OK, DECLINED_TREE_FAILS, MISMATCH };

/* Read text both ways as kind (0 snapshot, 1 content); what happened. */
static enum side
both(int kind, const char *text)
{
    static struct cview_scan sc;
    static int ready;
    struct cintern *t = cintern_new();
    struct cmeta *s = NULL, *r = NULL;
    json_t *obj = NULL;
    struct sc_err err = {0};
    int rs, rt = SC_EPROTO;
    enum side out;

    if (!ready) {
        CHECK(cview_scan_init(&sc) == 0);
        ready = 1;
    }
    rs = kind == 0 ? cvs_scan(&sc, text, strlen(text), t, (struct cvs **)&s)
                   : cvsc_scan(&sc, text, strlen(text), t, (struct cvsc **)&s);
    if (kskim_parse(text, strlen(text), LIM_API_BODY, &obj, &err) == 0)
        rt = kind == 0 ? cvs_parse_shared(obj, t, (struct cvs **)&r, &err)
                       : cvsc_parse_shared(obj, t, (struct cvsc **)&r, &err);
    if (rs == 0 && rt == 0) {
        const char *d = kind == 0 ? veq_vs((struct cvs *)s, (struct cvs *)r)
                                  : veq_vsc((struct cvsc *)s, (struct cvsc *)r);
        if (d != NULL)
            fprintf(stderr, "    views differ in %s\n", d);
        out = d == NULL ? SCANNED : MISMATCH;
    } else if (rs == 0) {
        out = MISMATCH; /* a view where the tree path refuses */
    } else {
        CHECK_INT(rs, CVIEW_DECLINED);
        out = rt == 0 ? DECLINED_TREE_OK : DECLINED_TREE_FAILS;
    }
    cview_unref(s);
    cview_unref(r);
    json_decref(obj);
    cintern_free(t);
    return out;
}

#define MF                                                                              \
    "\"managedFields\":[{\"manager\":\"snapshot-controller\",\"operation\":\"Update\"," \
    "\"fieldsV1\":{\"f:metadata\":{\"f:finalizers\":{\".\":{},\"v:\\\"x\\\"\":{}}}}}]"

static const char *const vs_full =
    "{\"apiVersion\":\"snapshot.storage.k8s.io/v1\",\"kind\":\"VolumeSnapshot\",\"metadata\":{"
    "\"creationTimestamp\":\"2026-11-22T01:50:16Z\",\"deletionTimestamp\":\"2026-11-22T02:00:00Z\","
    "\"finalizers\":[\"snapshot.storage.kubernetes.io/volumesnapshot-as-source-protection\",7,"
    "\"snapshot.storage.kubernetes.io/volumesnapshot-bound-protection\"],\"generation\":1,"
    "\"labels\":{\"a.b/c\":\"d\"},\"name\":\"snap1\",\"namespace\":\"default\","
    "\"ownerReferences\":[3,{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"name\":\"p\"},"
    "{\"apiVersion\":\"groupsnapshot.storage.k8s.io/v1\",\"kind\":\"VolumeGroupSnapshot\","
    "\"name\":\"g1\",\"uid\":\"x\"}],\"resourceVersion\":\"247\","
    "\"uid\":\"9e26aa11-0336-40a1-9721-4c992b27fa15\"," MF "},"
    "\"spec\":{\"source\":{\"persistentVolumeClaimName\":\"claim1\"},"
    "\"volumeSnapshotClassName\":\"csi-test-snapclass\"},"
    "\"status\":{\"boundVolumeSnapshotContentName\":"
    "\"snapcontent-9e26aa11-0336-40a1-9721-4c992b27fa15\",\"creationTime\":\"2026-11-22T01:50:30Z\","
    "\"error\":{\"message\":\"caf\xc3\xa9 failed\",\"time\":\"2026-11-22T01:50:31Z\"},"
    "\"readyToUse\":false,\"restoreSize\":\"1Gi\",\"volumeGroupSnapshotName\":\"g1\"}}";

static const char *const vsc_full =
    "{\"apiVersion\":\"snapshot.storage.k8s.io/v1\",\"kind\":\"VolumeSnapshotContent\","
    "\"metadata\":{\"annotations\":{\"snapshot.storage.kubernetes.io/volumesnapshot-being-deleted\":"
    "\"yes\",\"x\":\"y\"},\"creationTimestamp\":\"2026-11-22T01:50:30Z\",\"finalizers\":["
    "\"snapshot.storage.kubernetes.io/volumesnapshotcontent-bound-protection\"],\"generation\":1,"
    "\"name\":\"snapcontent-9e26aa11-0336-40a1-9721-4c992b27fa15\",\"namespace\":5,"
    "\"resourceVersion\":\"261\",\"uid\":\"35bec08d-0c0b-45d7-aaea-5252646077f1\"," MF "},"
    "\"spec\":{\"deletionPolicy\":\"Delete\",\"driver\":\"testdriver.csi.k8s.io\","
    "\"source\":{\"volumeHandle\":\"4\"},\"sourceVolumeMode\":\"Filesystem\","
    "\"volumeSnapshotClassName\":\"csi-test-snapclass\",\"volumeSnapshotRef\":{\"apiVersion\":"
    "\"snapshot.storage.k8s.io/v1\",\"kind\":\"VolumeSnapshot\",\"name\":\"snap1\",\"namespace\":"
    "\"default\",\"resourceVersion\":\"247\",\"uid\":\"9e26aa11-0336-40a1-9721-4c992b27fa15\"}},"
    "\"status\":{\"creationTime\":1795312230287794237,\"readyToUse\":true,"
    "\"restoreSize\":1073741824,\"snapshotHandle\":\"4\",\"error\":null}}";

static void
test_full_objects(void)
{
    CHECK_INT(both(0, vs_full), SCANNED);
    CHECK_INT(both(1, vsc_full), SCANNED);
    /* each read as the other kind: refused by the tree path (a snapshot's
     * status.creationTime is a string, a content's an integer; a content's
     * metadata.namespace here is no string), declined by the bytes path */
    CHECK_INT(both(1, vs_full), DECLINED_TREE_FAILS);
    CHECK_INT(both(0, vsc_full), DECLINED_TREE_FAILS);
}

static void
test_small_variants(void)
{
    /* restoreSize as an integer, and zero */
    CHECK_INT(both(0, "{\"metadata\":{\"name\":\"a\",\"namespace\":\"n\"},"
                      "\"status\":{\"restoreSize\":0}}"),
              SCANNED);
    CHECK_INT(both(0, "{\"metadata\":{\"name\":\"a\",\"namespace\":\"n\"},"
                      "\"status\":{\"restoreSize\":\"0Gi\",\"readyToUse\":true}}"),
              SCANNED);
    /* nulls read as absent, on the way too */
    CHECK_INT(both(0, "{\"metadata\":{\"name\":\"a\",\"namespace\":\"n\",\"uid\":null,"
                      "\"finalizers\":null},\"spec\":null,\"status\":null}"),
              SCANNED);
    CHECK_INT(both(1, "{\"metadata\":{\"name\":\"c\",\"annotations\":null},"
                      "\"status\":{\"error\":{\"message\":null}}}"),
              SCANNED);
    CHECK_INT(both(1, "{\"metadata\":{\"name\":\"c\",\"annotations\":{\"snapshot.storage."
                      "kubernetes.io/volumesnapshot-being-deleted\":null}}}"),
              SCANNED);
    CHECK_INT(both(1, " {\"metadata\":{\"name\":\"c\"}} \n"), SCANNED);
}

static void
test_declines(void)
{
    /* the tree path refuses these: its error stands */
    CHECK_INT(both(0, "{\"metadata\":{\"namespace\":\"n\"}}"), DECLINED_TREE_FAILS);
    CHECK_INT(both(0, "{\"metadata\":{\"name\":\"\",\"namespace\":\"n\"}}"), DECLINED_TREE_FAILS);
    CHECK_INT(both(0, "{\"metadata\":{\"name\":\"a\"}}"), DECLINED_TREE_FAILS);
    CHECK_INT(both(0, "{\"metadata\":{\"name\":\"a\",\"namespace\":\"n\"},\"spec\":\"x\"}"),
              DECLINED_TREE_FAILS);
    CHECK_INT(both(0, "{\"metadata\":{\"name\":\"a\",\"namespace\":\"n\"},"
                      "\"status\":{\"readyToUse\":\"yes\"}}"),
              DECLINED_TREE_FAILS);
    CHECK_INT(both(0, "{\"metadata\":{\"name\":\"a\",\"namespace\":\"n\"},"
                      "\"status\":{\"restoreSize\":1.5}}"),
              DECLINED_TREE_FAILS);
    CHECK_INT(both(0, "{\"metadata\":{\"name\":\"a\",\"namespace\":\"n\",\"finalizers\":{}}}"),
              DECLINED_TREE_FAILS);
    CHECK_INT(both(1, "{\"metadata\":{\"name\":\"c\"},\"status\":{\"restoreSize\":\"1Gi\"}}"),
              DECLINED_TREE_FAILS);
    CHECK_INT(both(1, "{\"metadata\":{\"name\":\"c\",\"annotations\":{\"snapshot.storage."
                      "kubernetes.io/volumesnapshot-being-deleted\":1}}}"),
              DECLINED_TREE_FAILS);
    CHECK_INT(
        both(1, "{\"metadata\":{\"name\":\"c\"},\"spec\":{\"driver\":\"a\",\"driver\":\"b\"}}"),
        DECLINED_TREE_FAILS);
    CHECK_INT(both(1, "[]"), DECLINED_TREE_FAILS);
    CHECK_INT(both(1, "{\"metadata\":{\"name\":\"c\"}"), DECLINED_TREE_FAILS);
    /* the tree path reads these; the bytes path leaves them to it */
    CHECK_INT(both(0, "{\"metadata\":{\"name\":\"a\",\"namespace\":\"n\"},"
                      "\"status\":{\"error\":{\"message\":\"say \\\"no\\\"\"}}}"),
              DECLINED_TREE_OK);
    CHECK_INT(both(1, "{\"metadata\":{\"name\":\"c\",\"finalizers\":[\"a\\/b\"]}}"),
              DECLINED_TREE_OK);
    CHECK_INT(both(0, "{\"metadata\":{\"name\":\"a\",\"namespace\":\"n\",\"ownerReferences\":"
                      "[{\"kind\":\"VolumeGroupSnapshot\",\"kind\":\"x\"}]}}"),
              DECLINED_TREE_FAILS);
}

/* A document with more strings on its paths than CSCAN_SCRATCH holds is
 * left to the tree path. */
static void
test_scratch_limit(void)
{
    static char doc[3 * CSCAN_SCRATCH];
    size_t n = 0;

    n += (size_t)snprintf(doc + n, sizeof(doc) - n,
                          "{\"metadata\":{\"name\":\"c\"},\"status\":{\"error\":{\"message\":\"");
    memset(doc + n, 'x', CSCAN_SCRATCH);
    n += CSCAN_SCRATCH;
    snprintf(doc + n, sizeof(doc) - n, "\"}}}");
    CHECK_INT(both(1, doc), DECLINED_TREE_OK);
}

TEST_MAIN(TEST(test_full_objects), TEST(test_small_variants), TEST(test_declines),
          TEST(test_scratch_limit))
