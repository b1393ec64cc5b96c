/* tests/unit/controller/pvc_pin_test.c -- no PVC pinned for nothing (ES#1305,
 * controller/pvc_pin.c) on the recorded objects of the sync tests: which
 * snapshots keep pvc-as-source-protection, the WaitingForSnapshots Event, and
 * the requeue when a held PVC is deleted. */
#include <stdio.h>
#include <string.h>

#include "controller/pvc_pin.h"
#include "tests/lib/harness.h"
#include "tests/unit/controller/fake.c"

static struct fake F;
static struct buf T;

/* claim1 (bound, with the PVC finalizer; being deleted when deleting) and
 * snap1 ready and bound to its content. */
static void
world(bool deleting)
{
    json_t *pvc = jedit(fixture("pvc-bound"), "+" FIN_PVC_SOURCE, NULL);

    fake_init(&F);
    buf_init(&T, 1u << 20);
    fake_add_fixtures(&F, "class-default", "pv-csi", NULL);
    if (deleting)
        jset(pvc, "metadata.deletionTimestamp", json_string("2025-11-22T01:59:00Z"));
    fake_put(&F, pvc);
    fake_put(&F, jedit(fixture("vs-dynamic"), "+" FIN_VS_SOURCE, "+" FIN_VS_BOUND,
                       "status.readyToUse:=true",
                       "status.boundVolumeSnapshotContentName=snapcontent-ready", NULL));
}

/* Another snapshot of claim1, taken on by the controller (it carries the
 * as-source finalizer): error (NULL = none), bound content (NULL = none). */
static void
other(const char *name, const char *error, const char *bound)
{
    json_t *vs =
        jedit(fixture("vs-dynamic"), "+" FIN_VS_SOURCE,
              "spec.volumeSnapshotClassName=missing-class", "status.readyToUse:=false", NULL);

    jset(vs, "metadata.name", json_string(name));
    jset(vs, "metadata.uid", json_string(name));
    if (error != NULL)
        jset(vs, "status.error", json_pack("{s:s}", "message", error));
    if (bound != NULL)
        jset(vs, "status.boundVolumeSnapshotContentName", json_string(bound));
    fake_put(&F, vs);
}

static void
done(void)
{
    fake_release(&F);
    buf_release(&T);
}

static void
sync_snap1(void)
{
    struct sc_err err = {0};

    (void)snapshot_sync_key(&F.env, "default/snap1", &err);
}

#define REMOVE_PVC_FIN "PATCH pvc default/claim1 json"

/* An errored snapshot without a content does not pin the PVC: the ready
 * snapshot's pass removes the finalizer (upstream keeps it forever). */
static void
test_errored_contentless_does_not_pin(void)
{
    world(true);
    other("broken", "Failed to get snapshot class with error missing-class not found", NULL);
    {
        /* ... nor one the controller never took on (no finalizer, no status). */
        fake_put(&F, jedit(fixture("vs-dynamic"), "metadata.name=fresh", "metadata.uid=fresh",
                           "-status", NULL));
    }
    sync_snap1();
    CHECK_STR(fake_lines(&F, REMOVE_PVC_FIN, &T), REMOVE_PVC_FIN
              " [{\"op\":\"test\",\"path\":\"/metadata/finalizers/1\",\"value\":"
              "\"snapshot.storage.kubernetes.io/pvc-as-source-protection\"},{\"op\":\"remove\","
              "\"path\":\"/metadata/finalizers/1\"}]");
    CHECK_STR(fake_lines(&F, "EVENT pvc", &T), "");
    done();
}

/* Still pinning: a snapshot without an error (it may still be cut), and one in
 * error that is bound to a content (being cut).  While the PVC is deleted, it
 * gets one WaitingForSnapshots Event naming them. */
static void
test_cut_or_cuttable_pins_with_event(void)
{
    world(true);
    other("pending", NULL, NULL);
    other("cutting", "driver timeout", "snapcontent-cutting");
    other("broken", "no class", NULL);
    sync_snap1();
    CHECK_STR(fake_lines(&F, REMOVE_PVC_FIN, &T), "");
    fake_lines(&F, "EVENT pvc", &T);
    CHECK(strstr(T.data, "EVENT pvc default/claim1 Normal WaitingForSnapshots deletion waits for "
                         "2 VolumeSnapshot(s) being cut from this claim: ") != NULL);
    CHECK(strstr(T.data, "pending") != NULL && strstr(T.data, "cutting") != NULL);
    CHECK(strstr(T.data, "broken") == NULL);
    done();
    /* The same without a deletion: pinned, but no Event. */
    world(false);
    other("pending", NULL, NULL);
    sync_snap1();
    CHECK_STR(fake_lines(&F, REMOVE_PVC_FIN, &T), "");
    CHECK_STR(fake_lines(&F, "EVENT pvc", &T), "");
    done();
}

static void
test_holds_and_waiters(void)
{
    struct cvs v = {0};
    char names[64];

    v.ready = TRI_TRUE;
    CHECK(!pvc_pin_holds(&v));
    v.ready = TRI_FALSE;
    CHECK(!pvc_pin_holds(&v)); /* never taken on: no finalizer */
    v.m.fins = CFIN_VS_SOURCE;
    CHECK(pvc_pin_holds(&v));
    v.has_error = true;
    CHECK(!pvc_pin_holds(&v));
    v.bound = "";
    CHECK(!pvc_pin_holds(&v));
    v.bound = "snapcontent-x";
    CHECK(pvc_pin_holds(&v));
    v.ready = TRI_UNSET;
    v.bound = NULL;
    v.has_error = false;
    CHECK(pvc_pin_holds(&v));
    /* Names are capped by the buffer (never overflow) and counted all. */
    world(true);
    for (int i = 0; i < 12; i++) {
        char n[32];

        snprintf(n, sizeof(n), "pending-%02d", i);
        other(n, NULL, NULL);
    }
    CHECK_INT(pvc_pin_waiters(F.env.snapshots, "default", "claim1", NULL, names, sizeof(names)),
              12);
    CHECK(strlen(names) < sizeof(names));
    CHECK_INT(pvc_pin_waiters(F.env.snapshots, "other-ns", "claim1", NULL, names, sizeof(names)),
              0);
    CHECK_STR(names, "");
    done();
}

static void
enq(void *ctx, const char *key)
{
    if (buf_addf((struct buf *)ctx, "%s;", key) != 0)
        CHECK(0);
}

static void
test_enqueue_on_held_pvc_deletion(void)
{
    struct buf keys = {0};
    struct cpvc *pvc = NULL;

    buf_init(&keys, 4096);
    world(true);
    other("broken", "no class", NULL);
    pvc = (struct cpvc *)cstore_get(F.env.claims, "default/claim1");
    CHECK(pvc != NULL);
    pvc_pin_enqueue(F.env.snapshots, pvc, enq, &keys);
    CHECK(strstr(keys.data ? keys.data : "", "default/snap1;") != NULL);
    CHECK(strstr(keys.data ? keys.data : "", "default/broken;") != NULL);
    CVIEW_UNREF(pvc);
    done();
    /* Not being deleted: nothing. */
    buf_release(&keys);
    buf_init(&keys, 4096);
    world(false);
    pvc = (struct cpvc *)cstore_get(F.env.claims, "default/claim1");
    pvc_pin_enqueue(F.env.snapshots, pvc, enq, &keys);
    CHECK(keys.len == 0);
    CVIEW_UNREF(pvc);
    done();
    buf_release(&keys);
}

TEST_MAIN(TEST(test_errored_contentless_does_not_pin), TEST(test_cut_or_cuttable_pins_with_event),
          TEST(test_holds_and_waiters), TEST(test_enqueue_on_held_pvc_deletion))
