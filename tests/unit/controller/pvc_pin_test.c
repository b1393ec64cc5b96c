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

/* "Does another snapshot hold the claim?" leaves out the pass's own
 * snapshot, and only it, however many hold the claim. */
static void
test_others_skip_only_itself(void)
{
    world(true);
    CHECK(!pvc_pin_others(F.env.snapshots, "default", "claim1", NULL)); /* snap1 is ready */
    other("alone", NULL, "snapcontent-alone");
    CHECK(pvc_pin_others(F.env.snapshots, "default", "claim1", NULL));
    CHECK(!pvc_pin_others(F.env.snapshots, "default", "claim1", "alone"));
    CHECK(pvc_pin_others(F.env.snapshots, "default", "claim1", "snap1"));
    CHECK(!pvc_pin_others(F.env.snapshots, "default", "claim2", NULL));
    CHECK(!pvc_pin_others(F.env.snapshots, "other-ns", "claim1", NULL));
    for (int i = 0; i < 300; i++) {
        char n[32];

        snprintf(n, sizeof(n), "pending-%03d", i);
        other(n, NULL, NULL);
    }
    CHECK(pvc_pin_others(F.env.snapshots, "default", "claim1", "alone"));
    CHECK(pvc_pin_others(F.env.snapshots, "default", "claim1", "pending-007"));
    done();
}

/* A claim has a pass only while it is deleted and carries the finalizer. */
static void
test_wanted(void)
{
    struct cpvc *pvc = NULL;

    CHECK(!pvc_pin_wanted(NULL));
    for (int deleting = 0; deleting <= 1; deleting++) {
        world(deleting != 0);
        pvc = (struct cpvc *)cstore_get(F.env.claims, "default/claim1");
        CHECK(pvc != NULL && pvc_pin_wanted(pvc) == (deleting != 0));
        CVIEW_UNREF(pvc);
        done();
    }
}

/* A deleted snapshot whose controller finalizers are gone is on its way out:
 * it holds nothing, even while it is still cached (the pass after our last
 * patch, before the watch's DELETED). */
static void
test_deleted_without_finalizers_holds_nothing(void)
{
    struct sc_err err = {0};
    struct cvs v = {0};

    v.ready = TRI_FALSE;
    v.bound = "snapcontent-x";
    v.m.deleting = true;
    v.m.fins = CFIN_VS_BOUND;
    CHECK(pvc_pin_holds(&v));
    v.m.fins = 0;
    CHECK(!pvc_pin_holds(&v));
    v.m.deleting = false;
    CHECK(pvc_pin_holds(&v)); /* bound, not deleted: being cut, finalizers or not */
    /* That snapshot's own pass names only the other one. */
    world(true);
    other("cut2", NULL, "snapcontent-cut2");
    fake_put(&F,
             jedit(fixture("vs-dynamic"), "metadata.name=cut1", "metadata.uid=cut1",
                   "metadata.deletionTimestamp=2025-11-22T02:00:00Z", "status.readyToUse:=false",
                   "status.boundVolumeSnapshotContentName=snapcontent-cut1", NULL));
    (void)snapshot_sync_key(&F.env, "default/cut1", &err);
    CHECK_STR(fake_lines(&F, "EVENT pvc", &T),
              "EVENT pvc default/claim1 Normal WaitingForSnapshots deletion waits for 1 "
              "VolumeSnapshot(s) being cut from this claim: cut2");
    done();
}

/* A snapshot of claim1 being cut: taken on, bound to snapcontent-<name>, not
 * ready; being deleted when deleting. */
static void
cutting(const char *name, bool deleting)
{
    char content[64];
    json_t *vs = jedit(fixture("vs-dynamic"), "+" FIN_VS_SOURCE, "+" FIN_VS_BOUND,
                       "status.readyToUse:=false", NULL);

    snprintf(content, sizeof(content), "snapcontent-%s", name);
    jset(vs, "metadata.name", json_string(name));
    jset(vs, "metadata.uid", json_string(name));
    jset(vs, "status.boundVolumeSnapshotContentName", json_string(content));
    if (deleting)
        jset(vs, "metadata.deletionTimestamp", json_string("2025-11-22T02:00:00Z"));
    fake_put(&F, vs);
}

/* The watch's DELETED of a snapshot of a held PVC being deleted queues the
 * claim's pass, which records the Event again without it (the last pass that
 * recorded it may have run while it was still cached). */
static void
test_gone_queues_the_claim(void)
{
    struct sc_err err = {0};
    struct cvs *gone = NULL;

    for (int deleting = 1; deleting >= 0; deleting--) {
        world(deleting != 0);
        cutting("cut1", false);
        cutting("cut2", false);
        (void)snapshot_sync_key(&F.env, "default/cut2", &err);
        CHECK(!deleting || strstr(fake_lines(&F, "EVENT pvc", &T), "2 VolumeSnapshot(s)") != NULL);
        fake_reset_log(&F);
        gone = (struct cvs *)cstore_get(F.env.snapshots, "default/cut1");
        CHECK(gone != NULL);
        if (gone == NULL) {
            done();
            return;
        }
        snapshot_deleted(&F.env, gone);
        CVIEW_UNREF(gone);
        if (deleting) {
            CHECK_STR(fake_lines(&F, "ENQUEUE pvc", &T), "ENQUEUE pvc default/claim1");
            CHECK_INT(pvc_pin_sync_key(&F.env, "default/claim1", &err), 0);
            CHECK_STR(fake_lines(&F, "EVENT pvc", &T),
                      "EVENT pvc default/claim1 Normal WaitingForSnapshots deletion waits for 1 "
                      "VolumeSnapshot(s) being cut from this claim: cut2");
            CHECK_STR(fake_lines(&F, REMOVE_PVC_FIN, &T), "");
        } else {
            CHECK_STR(fake_lines(&F, "ENQUEUE pvc", &T), ""); /* PVC not being deleted */
            CHECK_INT(pvc_pin_sync_key(&F.env, "default/claim1", &err), 0);
            CHECK_STR(fake_lines(&F, "EVENT pvc", &T), "");
            CHECK_STR(fake_lines(&F, REMOVE_PVC_FIN, &T), "");
        }
        done();
    }
}

/* ES#764: two snapshots of a PVC being deleted, deleted together.  Each one's
 * deletion pass skips only itself and still sees the other cached, so
 * neither removes the finalizer.  The claim's pass after the last DELETED
 * does. */
static void
test_deleted_together_release_the_claim(void)
{
    static const char *const names[] = {"cut1", "cut2"};
    struct sc_err err = {0};
    char key[64];

    world(true);
    for (int i = 0; i < 2; i++)
        cutting(names[i], true);
    for (int i = 0; i < 2; i++) {
        snprintf(key, sizeof(key), "default/%s", names[i]);
        (void)snapshot_sync_key(&F.env, key, &err);
    }
    CHECK_STR(fake_lines(&F, REMOVE_PVC_FIN, &T), ""); /* each saw the other */
    for (int i = 0; i < 2; i++) {
        struct cvs *gone = NULL;

        snprintf(key, sizeof(key), "default/%s", names[i]);
        gone = (struct cvs *)cstore_get(F.env.snapshots, key);
        CHECK(gone != NULL);
        if (gone != NULL)
            snapshot_deleted(&F.env, gone);
        CVIEW_UNREF(gone);
    }
    fake_reset_log(&F);
    CHECK_INT(pvc_pin_sync_key(&F.env, "default/claim1", &err), 0);
    CHECK(strstr(fake_lines(&F, REMOVE_PVC_FIN, &T), "\"op\":\"remove\"") != NULL);
    CHECK_STR(fake_lines(&F, "EVENT pvc", &T), "");
    done();
}

/* The same cases with the snapshots' store attached to an informer, as in
 * the controller: pvc_pin_others answers from the PVC-pin index instead of
 * walking (fake.h, indexed). */
static void
indexed(void (*t)(void))
{
    F.indexed = true;
    t();
    F.indexed = false;
}

static void
test_errored_contentless_does_not_pin_indexed(void)
{
    indexed(test_errored_contentless_does_not_pin);
}

static void
test_cut_or_cuttable_pins_with_event_indexed(void)
{
    indexed(test_cut_or_cuttable_pins_with_event);
}

static void
test_holds_and_waiters_indexed(void)
{
    indexed(test_holds_and_waiters);
}

static void
test_deleted_without_finalizers_holds_nothing_indexed(void)
{
    indexed(test_deleted_without_finalizers_holds_nothing);
}

static void
test_gone_queues_the_claim_indexed(void)
{
    indexed(test_gone_queues_the_claim);
}

static void
test_deleted_together_release_the_claim_indexed(void)
{
    indexed(test_deleted_together_release_the_claim);
}

static void
test_others_skip_only_itself_indexed(void)
{
    indexed(test_others_skip_only_itself);
}

TEST_MAIN(TEST(test_errored_contentless_does_not_pin), TEST(test_cut_or_cuttable_pins_with_event),
          TEST(test_holds_and_waiters), TEST(test_wanted), TEST(test_others_skip_only_itself),
          TEST(test_others_skip_only_itself_indexed),
          TEST(test_deleted_without_finalizers_holds_nothing), TEST(test_gone_queues_the_claim),
          TEST(test_deleted_together_release_the_claim),
          TEST(test_errored_contentless_does_not_pin_indexed),
          TEST(test_cut_or_cuttable_pins_with_event_indexed), TEST(test_holds_and_waiters_indexed),
          TEST(test_deleted_without_finalizers_holds_nothing_indexed),
          TEST(test_gone_queues_the_claim_indexed),
          TEST(test_deleted_together_release_the_claim_indexed))
