/* Integration test of kube/krecorder.c against the real API server: the same
 * (object, type, reason, message) is aggregated onto one Event whose count
 * rises; a different message creates a new Event; reporting fields are set;
 * the per-object spam limit drops the excess; persistence hooks are used. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/kjson.h"
#include "kube/krecorder.h"
#include "tests/integration/kube/itlib.h"

struct found {
    int n;
    int combined_count;
    char combined_msg[160];
    int count_total;
    int max_count;
    char comp[64], rcomp[64], rinst[64], kind[64], uid[64], first[40], last[40];
};

static int
on_event(void *ctx, const json_t *ev)
{
    struct found *f = ctx;
    struct kjson r = {0};
    kjson_init(&r, ev, NULL);
    int count = (int)kjson_int(&r, "count", 0);
    f->n++;
    f->count_total += count;
    if (count > f->max_count) {
        f->max_count = count;
        snprintf(f->first, sizeof(f->first), "%s", kjson_str(&r, "firstTimestamp"));
        snprintf(f->last, sizeof(f->last), "%s", kjson_str(&r, "lastTimestamp"));
    }
    const char *s;
    if ((s = kjson_str(&r, "message")) && strncmp(s, "(combined from similar events): ", 32) == 0) {
        f->combined_count = count;
        snprintf(f->combined_msg, sizeof(f->combined_msg), "%s", s);
    }
    if ((s = kjson_str(&r, "source.component")))
        snprintf(f->comp, sizeof(f->comp), "%s", s);
    if ((s = kjson_str(&r, "reportingComponent")))
        snprintf(f->rcomp, sizeof(f->rcomp), "%s", s);
    if ((s = kjson_str(&r, "reportingInstance")))
        snprintf(f->rinst, sizeof(f->rinst), "%s", s);
    if ((s = kjson_str(&r, "involvedObject.kind")))
        snprintf(f->kind, sizeof(f->kind), "%s", s);
    if ((s = kjson_str(&r, "involvedObject.uid")))
        snprintf(f->uid, sizeof(f->uid), "%s", s);
    return 0;
}

static struct found
find_events(struct kclient *c, const char *ns, const char *name, const char *reason)
{
    char path[KPATH_MAX], sel[256], rv[64];
    struct found f = {0};
    struct sc_err e = {0};
    kpath(path, sizeof(path), NULL, "v1", "events", ns, NULL, NULL);
    snprintf(sel, sizeof(sel), "involvedObject.name=%s,reason=%s", name, reason);
    struct klist_opts lo = {.field_selector = sel};
    CHECK_INT(kclient_list(c, path, &lo, on_event, &f, rv, sizeof(rv), &e), 0);
    return f;
}

static void
test_aggregation_count_rises(void)
{
    struct kclient *c = it_client(-1, 1);
    struct sc_err e = {0};
    char ns[64], name[64];

    if (c == NULL)
        return;
    snprintf(ns, sizeof(ns), "kit-ev-%s", it_suffix());
    snprintf(name, sizeof(name), "snap-%s", it_suffix());
    it_namespace(c, ns);
    struct krecorder_opts o = {.reporting_instance = "snapshot-controller-test-host"};
    struct krecorder *rec = krecorder_new(c, &o, &e);
    CHECK(rec != NULL);
    struct kobj_ref obj = {.api_version = "snapshot.storage.k8s.io/v1",
                           .kind = "VolumeSnapshot",
                           .ns = ns,
                           .name = name,
                           .uid = "6f1e2b44-0000-4000-8000-000000000001",
                           .resource_version = "12"};
    for (int i = 0; i < 5; i++)
        CHECK_INT(krecorder_event(rec, &obj, "Warning", "SnapshotFinalizerError",
                                  "Failed to check and update snapshot: %s", "conflict"),
                  0);
    CHECK_INT(krecorder_flush(rec, 10000), 0);
    struct found f = find_events(c, ns, name, "SnapshotFinalizerError");
    CHECK_INT(f.n, 1);
    CHECK_INT(f.max_count, 5);
    CHECK_STR(f.comp, "snapshot-controller");
    CHECK_STR(f.rcomp, "snapshot-controller");
    CHECK_STR(f.rinst, "snapshot-controller-test-host");
    CHECK_STR(f.kind, "VolumeSnapshot");
    CHECK_STR(f.uid, obj.uid);
    CHECK(f.first[0] && f.last[0]);

    /* another message: a second Event */
    CHECK_INT(krecorder_event(rec, &obj, "Warning", "SnapshotFinalizerError",
                              "Failed to check and update snapshot: %s", "timeout"),
              0);
    CHECK_INT(krecorder_flush(rec, 10000), 0);
    f = find_events(c, ns, name, "SnapshotFinalizerError");
    CHECK_INT(f.n, 2);
    CHECK_INT(f.count_total, 6);
    struct krecorder_stats st = {0};
    krecorder_get_stats(rec, &st);
    CHECK_INT(st.created, 2);
    CHECK_INT(st.patched, 4);

    /* cluster-scoped object: the Event goes to "default" */
    struct kobj_ref vsc = {.api_version = "snapshot.storage.k8s.io/v1",
                           .kind = "VolumeSnapshotContent",
                           .name = name,
                           .uid = "6f1e2b44-0000-4000-8000-000000000002"};
    struct sc_err se = {0};
    CHECK_INT(krecorder_send(rec, &vsc, "Warning", "ContentValidationError",
                             "Exactly one of VolumeHandle and SnapshotHandle should be specified",
                             &se),
              0);
    f = find_events(c, "default", name, "ContentValidationError");
    CHECK_INT(f.n, 1);
    krecorder_free(rec);
    kclient_free(c);
}

static void
test_spam_limit(void)
{
    struct kclient *c = it_client(-1, 1);
    struct sc_err e = {0};
    char ns[64], name[64];

    if (c == NULL)
        return;
    snprintf(ns, sizeof(ns), "kit-spam-%s", it_suffix());
    snprintf(name, sizeof(name), "snap-%s", it_suffix());
    it_namespace(c, ns);
    struct krecorder_opts o = {.spam_burst = 5};
    struct krecorder *rec = krecorder_new(c, &o, &e);
    struct kobj_ref obj = {.api_version = "snapshot.storage.k8s.io/v1",
                           .kind = "VolumeSnapshot",
                           .ns = ns,
                           .name = name,
                           .uid = "6f1e2b44-0000-4000-8000-000000000003"};
    int ok = 0, dropped = 0;
    for (int i = 0; i < 20; i++) {
        int rc = krecorder_event(rec, &obj, "Normal", "CreatingSnapshot", "message %d", i);
        if (rc == 0)
            ok++;
        else if (rc == SC_ETOOMANY)
            dropped++;
    }
    CHECK_INT(ok, 5);
    CHECK_INT(dropped, 15);
    CHECK_INT(krecorder_flush(rec, 10000), 0);
    struct found f = find_events(c, ns, name, "CreatingSnapshot");
    CHECK_INT(f.n, 5);
    /* a different object has its own budget */
    obj.name = "other";
    obj.uid = "6f1e2b44-0000-4000-8000-000000000004";
    CHECK_INT(krecorder_event(rec, &obj, "Normal", "CreatingSnapshot", "x"), 0);
    krecorder_free(rec);
    kclient_free(c);
}

/* Reasons and types of the Events in a namespace, "R0/N R11/W ..." in the
 * order listed (by name, and names are "<object>.<nanos>"), into
 * REASONS_CAP bytes (cut there). */
#define REASONS_CAP 256
static int
on_reason(void *ctx, const json_t *ev)
{
    char *out = ctx;
    struct kjson r = {0};
    kjson_init(&r, ev, NULL);
    const char *reason = kjson_str(&r, "reason"), *type = kjson_str(&r, "type");
    size_t n = strlen(out);

    snprintf(out + n, REASONS_CAP - n, "%s%s/%c", n ? " " : "", reason ? reason : "?",
             type ? type[0] : '?');
    return 0;
}

/* Queue an event of type about object "o<i>" (two digits) with reason R<i>. */
static int
queue_one(struct krecorder *rec, struct kobj_ref *obj, const char *type, int i)
{
    char name[16], reason[16];

    snprintf(name, sizeof(name), "o%02d", i);
    snprintf(reason, sizeof(reason), "R%d", i);
    obj->name = name; /* borrowed for the call */
    return krecorder_event(rec, obj, type, reason, "event %d", i);
}

/* A full queue keeps Warnings, against the real API server: the recorder's
 * client allows one request every 5 s, so once event 0 is created the
 * thread takes event 1 and waits for its turn while the queue (3) fills.
 * What reaches the API server: 0, 1 and 2 (queued first), then the two
 * Warnings that took the places of 4 and 3; 5 (Normal, queue full) never. */
static void
test_full_queue_keeps_warnings(void)
{
    struct kclient *c = it_client(-1, 1), *slow = it_client(0.2, 1);
    struct sc_err e = {0};
    struct krecorder_stats st = {0};
    char ns[64], path[KPATH_MAX], rv[64], got[REASONS_CAP] = "";

    if (c == NULL || slow == NULL)
        return;
    snprintf(ns, sizeof(ns), "kit-full-%s", it_suffix());
    it_namespace(c, ns);
    struct krecorder_opts o = {.queue_max = 3};
    struct krecorder *rec = krecorder_new(slow, &o, &e);
    CHECK(rec != NULL);
    if (rec == NULL)
        return;
    struct kobj_ref obj = {.api_version = "snapshot.storage.k8s.io/v1",
                           .kind = "VolumeSnapshot",
                           .ns = ns,
                           .uid = "6f1e2b44-0000-4000-8000-000000000005"};
    CHECK_INT(queue_one(rec, &obj, "Normal", 0), 0);
    for (int i = 0; i < 600 && st.created == 0; i++) {
        usleep(100000);
        krecorder_get_stats(rec, &st);
    }
    CHECK_INT(st.created, 1); /* the client's token is spent for 5 s */
    CHECK_INT(queue_one(rec, &obj, "Normal", 1), 0);
    for (int i = 0; i < 600; i++) { /* the thread took it and waits */
        krecorder_get_stats(rec, &st);
        if (st.queued == 0)
            break;
        usleep(1000);
    }
    CHECK_INT(st.queued, 0);
    for (int i = 2; i <= 4; i++)
        CHECK_INT(queue_one(rec, &obj, "Normal", i), 0);
    CHECK_INT(queue_one(rec, &obj, "Warning", 11), 0);         /* in place of 4 */
    CHECK_INT(queue_one(rec, &obj, "Warning", 12), 0);         /* in place of 3 */
    CHECK_INT(queue_one(rec, &obj, "Normal", 5), SC_ETOOMANY); /* full */
    krecorder_get_stats(rec, &st);
    CHECK_INT(st.created, 1); /* event 1 still waits: the order above held */
    CHECK_INT(st.queued, 3);
    CHECK_INT(st.dropped_queue, 3);
    CHECK_INT(krecorder_flush(rec, 120000), 0);
    kpath(path, sizeof(path), NULL, "v1", "events", ns, NULL, NULL);
    CHECK_INT(kclient_list(c, path, NULL, on_reason, got, rv, sizeof(rv), &e), 0);
    CHECK_STR(got, "R0/N R1/N R2/N R11/W R12/W");
    krecorder_free(rec);
    kclient_free(slow);
    kclient_free(c);
}

/* Hooks: a fake persistent store that remembers the last record. */
struct store {
    int lookups, saves;
    struct krec_entry e;
    int have;
};

static int
st_lookup(void *ctx, const char *uid, const char *type, const char *reason, const char *msg,
          struct krec_entry *out)
{
    struct store *s = ctx;
    (void)uid;
    (void)type;
    (void)reason;
    (void)msg;
    s->lookups++;
    if (!s->have)
        return 0;
    *out = s->e;
    return 1;
}

static void
st_save(void *ctx, const char *uid, const char *type, const char *reason, const char *msg,
        const struct krec_entry *e)
{
    struct store *s = ctx;
    (void)uid;
    (void)type;
    (void)reason;
    (void)msg;
    s->saves++;
    s->e = *e;
    s->have = 1;
}

static void
test_store_hooks_survive_restart(void)
{
    struct kclient *c = it_client(-1, 1);
    struct sc_err e = {0};
    struct store s = {0};
    char ns[64], name[64];

    if (c == NULL)
        return;
    snprintf(ns, sizeof(ns), "kit-hook-%s", it_suffix());
    snprintf(name, sizeof(name), "snap-%s", it_suffix());
    it_namespace(c, ns);
    struct krecorder_opts o = {.store = {.ctx = &s, .lookup = st_lookup, .save = st_save}};
    struct kobj_ref obj = {.api_version = "v1",
                           .kind = "PersistentVolumeClaim",
                           .ns = ns,
                           .name = name,
                           .uid = "6f1e2b44-0000-4000-8000-000000000005"};
    struct krecorder *rec = krecorder_new(c, &o, &e);
    CHECK_INT(krecorder_send(rec, &obj, "Warning", "R", "m", &e), 0);
    krecorder_free(rec);
    /* a "restarted" recorder aggregates onto the persisted Event */
    rec = krecorder_new(c, &o, &e);
    CHECK_INT(krecorder_send(rec, &obj, "Warning", "R", "m", &e), 0);
    CHECK_INT(s.saves, 2);
    CHECK_INT(s.e.count, 2);
    struct found f = find_events(c, ns, name, "R");
    CHECK_INT(f.n, 1);
    CHECK_INT(f.max_count, 2);
    /* the Event was deleted meanwhile: a new one is created */
    char path[KPATH_MAX];
    kpath(path, sizeof(path), NULL, "v1", "events", s.e.ev_ns, s.e.ev_name, NULL);
    CHECK_INT(kclient_delete(c, path, NULL, NULL, &e), 0);
    CHECK_INT(krecorder_send(rec, &obj, "Warning", "R", "m", &e), 0);
    CHECK_INT(s.e.count, 1);
    f = find_events(c, ns, name, "R");
    CHECK_INT(f.n, 1);
    krecorder_free(rec);
    kclient_free(c);
}

/* client-go's EventAggregator: after 10 different messages for the same
 * (object, type, reason), further ones fold into one combined Event. */
static void
test_similar_events_combined(void)
{
    struct kclient *c = it_client(-1, 1);
    struct sc_err e = {0};
    char ns[64], name[64];

    if (c == NULL)
        return;
    snprintf(ns, sizeof(ns), "kit-sim-%s", it_suffix());
    snprintf(name, sizeof(name), "snap-%s", it_suffix());
    it_namespace(c, ns);
    struct krecorder *rec = krecorder_new(c, NULL, &e);
    struct kobj_ref obj = {.api_version = "snapshot.storage.k8s.io/v1",
                           .kind = "VolumeSnapshot",
                           .ns = ns,
                           .name = name,
                           .uid = "6f1e2b44-0000-4000-8000-000000000006"};
    for (int i = 1; i <= 12; i++)
        CHECK_INT(krecorder_event(rec, &obj, "Warning", "SnapshotContentCreationFailed",
                                  "Failed to create snapshot content with error attempt %d", i),
                  0);
    CHECK_INT(krecorder_flush(rec, 10000), 0);
    struct found f = find_events(c, ns, name, "SnapshotContentCreationFailed");
    CHECK_INT(f.n, 10);             /* 9 individual + 1 combined */
    CHECK_INT(f.combined_count, 3); /* messages 10, 11, 12 */
    CHECK_STR(f.combined_msg, "(combined from similar events): Failed to create snapshot "
                              "content with error attempt 12");
    krecorder_free(rec);
    kclient_free(c);
}

TEST_MAIN(TEST(test_similar_events_combined), TEST(test_aggregation_count_rises),
          TEST(test_spam_limit), TEST(test_store_hooks_survive_restart),
          TEST(test_full_queue_keeps_warnings))
