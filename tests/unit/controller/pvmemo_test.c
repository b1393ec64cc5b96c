/* controller/pvmemo.c: a PV view kept for one snapshot's next pass is taken
 * once, only by the same snapshot (uid), for the same PV name, within the
 * TTL; everything else is a miss (a live GET for the caller). */
#include "controller/pvmemo.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "tests/lib/harness.h"

static struct cpv *
pv_named(const char *name)
{
    json_t *o = json_pack("{s:{s:s},s:{s:{s:s,s:s}}}", "metadata", "name", name, "spec", "csi",
                          "driver", "d.example.com", "volumeHandle", "h1");
    struct cpv *pv = NULL;

    CHECK_INT(cpv_parse(o, &pv, NULL), 0);
    json_decref(o);
    return pv;
}

static void
test_taken_once(void)
{
    struct fake_clock fc = {.ms = 1000};
    struct pvmemo *pm = pvmemo_new(clock_fake(&fc));
    struct cpv *pv = pv_named("pv-1"), *got;

    pvmemo_put(pm, "uid-a", pv);
    CVIEW_UNREF(pv);                                 /* the memo holds its own reference */
    CHECK(pvmemo_take(pm, "uid-b", "pv-1") == NULL); /* another snapshot */
    got = pvmemo_take(pm, "uid-a", "pv-1");
    CHECK(got != NULL);
    if (got != NULL) {
        CHECK_STR(got->csi_driver, "d.example.com");
        CHECK_STR(got->csi_handle, "h1");
    }
    CVIEW_UNREF(got);
    CHECK(pvmemo_take(pm, "uid-a", "pv-1") == NULL); /* taken: the next read is a GET */
    pvmemo_free(pm);
}

static void
test_misses(void)
{
    struct fake_clock fc = {.ms = 1000};
    struct pvmemo *pm = pvmemo_new(clock_fake(&fc));
    struct cpv *pv = pv_named("pv-1");

    pvmemo_put(pm, "uid-a", pv);
    CHECK(pvmemo_take(pm, "uid-a", "pv-2") == NULL); /* the PVC now names another PV */
    CHECK(pvmemo_take(pm, "uid-a", "pv-1") == NULL); /* and that dropped the entry */
    pvmemo_put(pm, "uid-a", pv);
    fc.ms += PVMEMO_TTL_MS + 1;
    CHECK(pvmemo_take(pm, "uid-a", "pv-1") == NULL); /* too old */
    pvmemo_put(pm, "", pv);                          /* no uid: not kept */
    CHECK(pvmemo_take(pm, "", "pv-1") == NULL);
    CHECK(pvmemo_take(NULL, "uid-a", "pv-1") == NULL); /* no memo: always a GET */
    pvmemo_put(NULL, "uid-a", pv);
    pvmemo_put(pm, "uid-c", pv); /* freed with the memo */
    CVIEW_UNREF(pv);
    pvmemo_free(pm);
}

/* Snapshots of one PV share one view while its resourceVersion holds; a
 * newer read replaces it for later puts. */
static void
test_shared_view(void)
{
    struct fake_clock fc = {.ms = 1000};
    struct pvmemo *pm = pvmemo_new(clock_fake(&fc));
    struct cpv *first = pv_named("pv-1"), *second = pv_named("pv-1"), *a, *b;

    pvmemo_put(pm, "uid-a", first);
    pvmemo_put(pm, "uid-b", second); /* same name, same (empty) resourceVersion */
    a = pvmemo_take(pm, "uid-a", "pv-1");
    b = pvmemo_take(pm, "uid-b", "pv-1");
    CHECK(a == first && b == first);
    CVIEW_UNREF(a);
    CVIEW_UNREF(b);
    CVIEW_UNREF(first);
    CVIEW_UNREF(second);
    pvmemo_free(pm);
}

/* Entries past the TTL are swept as puts go on; a full memo drops puts. */
static void
test_sweep_and_cap(void)
{
    struct fake_clock fc = {.ms = 1000};
    struct pvmemo *pm = pvmemo_new(clock_fake(&fc));
    struct cpv *pv = pv_named("pv-1"), *got;
    char uid[32];

    for (int i = 0; i < PVMEMO_MAX + 10; i++) {
        snprintf(uid, sizeof(uid), "uid-%d", i);
        pvmemo_put(pm, uid, pv);
    }
    got = pvmemo_take(pm, "uid-0", "pv-1");
    CHECK(got != NULL); /* kept: nothing was old yet */
    CVIEW_UNREF(got);
    snprintf(uid, sizeof(uid), "uid-%d", PVMEMO_MAX + 5);
    CHECK(pvmemo_take(pm, uid, "pv-1") == NULL); /* past the cap: not kept */
    fc.ms += PVMEMO_TTL_MS + 1;
    for (int i = 0; i < 2 * PVMEMO_SWEEP; i++) {
        snprintf(uid, sizeof(uid), "new-%d", i);
        pvmemo_put(pm, uid, pv); /* sweeps the old ones as it goes */
    }
    got = pvmemo_take(pm, "new-0", "pv-1");
    CHECK(got != NULL);
    CVIEW_UNREF(got);
    CVIEW_UNREF(pv);
    pvmemo_free(pm);
}

TEST_MAIN(TEST(test_taken_once), TEST(test_misses), TEST(test_shared_view),
          TEST(test_sweep_and_cap))
