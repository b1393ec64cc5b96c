/* kube/krecorder.c tables without a server: the spam filter per object and
 * the LRU tables when more objects than KREC_TABLE_MAX report events (the
 * sends fail: nothing listens on port 1). */
#include "kube/krecorder.h"

#include <stdio.h>
#include <string.h>

#include "kube/kclient.h"
#include "kube/kconfig.h"
#include "tests/lib/harness.h"

static void
quiet(void *ctx, const struct sc_err *err)
{
    (void)ctx;
    (void)err;
}

static struct krecorder *
recorder(struct kclient **kc, int burst)
{
    struct kconfig cfg = {0};
    struct krecorder_opts o = {0};

    cfg.server = "https://127.0.0.1:1";
    *kc = kclient_new(&cfg, NULL, NULL);
    o.spam_burst = burst;
    o.on_error = quiet;
    return *kc != NULL ? krecorder_new(*kc, &o, NULL) : NULL;
}

static void
test_spam_limit_per_object(void)
{
    struct kclient *kc = NULL;
    struct krecorder *r = recorder(&kc, 2);
    struct kobj_ref a = {"v1", "Pod", "ns", "a", "uid-a", NULL};
    struct kobj_ref b = {"v1", "Pod", "ns", "b", "uid-b", NULL};
    struct krecorder_stats st = {0};

    CHECK(r != NULL);
    if (r == NULL)
        return;
    CHECK_INT(krecorder_event(r, &a, "Normal", "R", "one"), 0);
    CHECK_INT(krecorder_event(r, &a, "Normal", "R", "two"), 0);
    CHECK_INT(krecorder_event(r, &a, "Normal", "R", "three"), SC_ETOOMANY);
    CHECK_INT(krecorder_event(r, &b, "Normal", "R", "one"), 0);
    krecorder_get_stats(r, &st);
    CHECK_INT(st.dropped_spam, 1);
    krecorder_free(r);
    kclient_free(kc);
}

/* More objects than the tables hold: the oldest are evicted, and an
 * evicted object starts again with a full burst. */
static void
test_tables_evict(void)
{
    struct kclient *kc = NULL;
    struct krecorder *r = recorder(&kc, 1);
    char name[32], uid[32];
    struct kobj_ref o = {"v1", "Pod", "ns", name, uid, NULL};
    struct krecorder_stats before = {0}, after = {0};
    int i;

    CHECK(r != NULL);
    if (r == NULL)
        return;
    for (i = 0; i < 3 * KREC_TABLE_MAX; i++) {
        snprintf(name, sizeof(name), "p%d", i);
        snprintf(uid, sizeof(uid), "u%d", i);
        (void)krecorder_event(r, &o, "Warning", "R", "m %d", i % 13);
    }
    krecorder_get_stats(r, &before);
    CHECK_INT(before.dropped_spam, 0); /* one event per object */
    /* the last object again: still in the table, its burst of 1 is spent */
    (void)krecorder_event(r, &o, "Warning", "R", "again");
    krecorder_get_stats(r, &after);
    CHECK_INT(after.dropped_spam, 1);
    /* the first one: long evicted, so it starts with a full burst */
    snprintf(name, sizeof(name), "p0");
    snprintf(uid, sizeof(uid), "u0");
    (void)krecorder_event(r, &o, "Warning", "R", "again");
    krecorder_get_stats(r, &before);
    CHECK_INT(before.dropped_spam, 1);
    krecorder_free(r);
    kclient_free(kc);
}

TEST_MAIN(TEST(test_spam_limit_per_object), TEST(test_tables_evict))
