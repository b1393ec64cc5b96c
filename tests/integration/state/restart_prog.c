/* tests/integration/state/restart_prog.c -- one phase of the restart tests in
 * restart.sh, which runs this program several times against a real control
 * plane and kills it in between.  It wires kube/'s work queue and Event
 * recorder to state/ exactly as the controller's adapter will (the functions
 * marked ADAPTER), so the tests exercise the real seam.
 *
 * Not named *_it.c on purpose: the Makefile links state/ tests with state and
 * common only, and this needs kube too; restart.sh builds it.
 *
 *   restart_prog retry-fail   STATE_DIR NS KEY_A KEY_B   fail A 3 times, B once; flush; kill -9
 * self restart_prog retry-resume STATE_DIR NS KEY_A KEY_B   seed from state, time each key, succeed
 *   restart_prog retry-rows   STATE_DIR                  print the number of retry rows
 *   restart_prog event        STATE_DIR NS OBJ MSG N [kill]  send the Warning N times
 *
 * Output: "key=value" lines the script checks.
 */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kube/kclient.h"
#include "kube/kconfig.h"
#include "kube/krecorder.h"
#include "kube/kworkq.h"
#include "state/state.h"

#define QUEUE_NAME "state-it"

static _Noreturn void
die(const char *what, const struct sc_err *e)
{
    fprintf(stderr, "restart_prog: %s: %s\n", what, e != NULL ? e->msg : "");
    exit(2);
}

static int64_t
mono_ms(void)
{
    struct timespec ts = {0};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
wall_ms(void)
{
    struct timespec ts = {0};
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct state *
open_state(const char *dir)
{
    struct state_open_report rep = {0};
    struct sc_err e = {0};
    char line[8192];
    struct state *st = state_open_dir(dir, NULL, &rep, &e);

    if (st == NULL)
        die("state_open_dir", &e);
    state_open_report_format(&rep, line, sizeof(line));
    printf("state_open=%s\n", state_open_status_str(rep.status));
    fprintf(stderr, "%s\n", line);
    return st;
}

static struct kclient *
client(void)
{
    struct kconfig *cfg = NULL;
    struct kclient *c = NULL;
    struct sc_err e = {0};

    if (kconfig_load(NULL, &cfg, &e) != 0)
        die("kubeconfig", &e);
    c = kclient_new(cfg, NULL, &e);
    kconfig_free(cfg);
    if (c == NULL)
        die("kclient_new", &e);
    return c;
}

/* ---- ADAPTER: kworkq persistence hooks -> state/ retry rows ---- */

static void
hook_failure(void *ctx, const char *queue, const char *key, int failures, int64_t next_wall_ms,
             const struct sc_err *last_error)
{
    /* A failure to record is only lost history: the queue keeps its own state. */
    (void)!state_retry_put(ctx, queue, key, failures, next_wall_ms,
                           last_error != NULL ? last_error->msg : NULL, NULL);
}

static void
hook_forget(void *ctx, const char *queue, const char *key)
{
    (void)!state_retry_clear(ctx, queue, key, NULL);
}

struct seed_ctx {
    struct kworkq *q;
    const char *queue;
    char seeded[8][LIM_KEY]; /* keys restored from state/ (this test uses two) */
    int n_seeded;
};

/* The informer's initial add: kworkq_add() would queue a key at once even if
 * it was seeded with a backoff (client-go semantics), so a key state/ seeded
 * is left to its timer.  The controller's startup needs the same rule. */
static void
informer_add(struct seed_ctx *s, const char *key)
{
    int i;

    for (i = 0; i < s->n_seeded; i++)
        if (strcmp(s->seeded[i], key) == 0)
            return;
    (void)!kworkq_add(s->q, key);
}

static int
seed_one(void *ctx, const char *kind, const char *uid, const struct state_retry *r)
{
    struct seed_ctx *s = ctx;

    if (strcmp(kind, s->queue) == 0) {
        printf("seed key=%s failures=%d due_in_ms=%lld\n", uid, r->failures,
               (long long)(r->next_ms - wall_ms()));
        if (kworkq_seed(s->q, uid, r->failures, r->next_ms) == 0 && s->n_seeded < 8)
            snprintf(s->seeded[s->n_seeded++], LIM_KEY, "%s", uid);
    }
    return 0;
}

static struct kworkq *
queue_with_state(struct state *st, struct seed_ctx *s)
{
    struct kworkq_opts o = {0};
    struct sc_err e = {0};
    struct kworkq *q = NULL;

    memset(&o, 0, sizeof(o));
    o.name = QUEUE_NAME;
    o.hooks.ctx = st;
    o.hooks.on_failure = hook_failure;
    o.hooks.on_forget = hook_forget;
    q = kworkq_new(&o, &e);
    if (q == NULL)
        die("kworkq_new", &e);
    memset(s, 0, sizeof(*s));
    s->q = q;
    s->queue = QUEUE_NAME;
    if (state_retry_foreach(st, seed_one, s, &e) != SC_OK)
        die("state_retry_foreach", &e);
    return q;
}

/* ---- ADAPTER: krecorder store -> state/ event rows ---- */

static int
store_lookup(void *ctx, const char *uid, const char *type, const char *reason, const char *message,
             struct krec_entry *out)
{
    struct state_event ev = {0};

    if (state_event_get(ctx, uid, type, reason, message, &ev, NULL) != SC_OK)
        return 0;
    snprintf(out->ev_ns, sizeof(out->ev_ns), "%s", ev.namespace_);
    snprintf(out->ev_name, sizeof(out->ev_name), "%s", ev.name);
    out->count = ev.count;
    out->first_ms = ev.first_ms;
    out->last_ms = ev.last_ms;
    return 1;
}

static void
store_save(void *ctx, const char *uid, const char *type, const char *reason, const char *message,
           const struct krec_entry *e)
{
    struct state_event ev = {0};

    memset(&ev, 0, sizeof(ev));
    snprintf(ev.namespace_, sizeof(ev.namespace_), "%s", e->ev_ns);
    snprintf(ev.name, sizeof(ev.name), "%s", e->ev_name);
    ev.count = e->count;
    ev.first_ms = e->first_ms;
    ev.last_ms = e->last_ms;
    (void)!state_event_put(ctx, uid, type, reason, message, &ev, NULL);
}

/* ---- the phases ---- */

/* The work: read ConfigMap NS/<key>; a 404 is a failure. */
static int
process(struct kclient *c, const char *ns, const char *key, struct sc_err *err)
{
    char path[KPATH_MAX];
    int rc = kpath(path, sizeof(path), NULL, "v1", "configmaps", ns, key, NULL);

    if (rc == 0)
        rc = kclient_get(c, path, NULL, err);
    return rc;
}

static void
flush_and_crash(struct state *st)
{
    struct sc_err e = {0};

    /* The writer thread would do this within flush_interval_ms (200 ms). */
    if (state_flush(st, &e) != SC_OK)
        die("state_flush", &e);
    fflush(NULL);
    raise(SIGKILL);
}

static int
retry_fail(const char *dir, const char *ns, const char *key_a, const char *key_b)
{
    struct state *st = open_state(dir);
    struct kclient *c = client();
    struct seed_ctx seeds = {0};
    struct kworkq *q = queue_with_state(st, &seeds);
    char key[LIM_KEY];
    int fails_a = 0, fails_b = 0;

    informer_add(&seeds, key_a);
    informer_add(&seeds, key_b);
    while (fails_a < 3) {
        struct sc_err e = {0};
        int rc;
        if (kworkq_get(q, key, sizeof(key), 30000) != 0)
            die("kworkq_get timed out", NULL);
        if (strcmp(key, key_b) == 0 && fails_b > 0) {
            kworkq_done(q, key); /* B: one failure is enough; leave it backing off */
            continue;
        }
        rc = process(c, ns, key, &e);
        if (rc == 0)
            die("expected the ConfigMap to be missing", NULL);
        (void)!kworkq_add_rate_limited(q, key, &e);
        kworkq_done(q, key);
        if (strcmp(key, key_a) == 0)
            fails_a++;
        else
            fails_b++;
        printf("failed key=%s failures=%d next_backoff_ms=%lld error=%s\n", key,
               kworkq_failures(q, key), (long long)kworkq_next_backoff(q, key), e.msg);
    }
    fflush(NULL);
    flush_and_crash(st); /* no clean shutdown: a crash */
    return 1;
}

static int
retry_resume(const char *dir, const char *ns, const char *key_a, const char *key_b)
{
    struct state *st = open_state(dir);
    struct kclient *c = client();
    struct seed_ctx seeds = {0};
    struct kworkq *q = queue_with_state(st, &seeds);
    int64_t t0 = mono_ms();
    char key[LIM_KEY];
    int left = 2;

    informer_add(&seeds, key_a);
    informer_add(&seeds, key_b);
    while (left > 0) {
        struct sc_err e = {0};
        int failures;
        if (kworkq_get(q, key, sizeof(key), 30000) != 0)
            die("kworkq_get timed out", NULL);
        failures = kworkq_failures(q, key);
        if (process(c, ns, key, &e) != 0)
            die("the ConfigMap should exist now", &e);
        printf("processed key=%s waited_ms=%lld failures_before=%d\n", key,
               (long long)(mono_ms() - t0), failures);
        kworkq_forget(q, key); /* success clears the persisted row */
        kworkq_done(q, key);
        left--;
    }
    kworkq_free(q);
    kclient_free(c);
    state_close(st); /* a clean shutdown flushes */
    return 0;
}

static int
count_rows(void *ctx, const char *kind, const char *uid, const struct state_retry *r)
{
    (void)kind;
    (void)uid;
    (void)r;
    (*(int *)ctx)++;
    return 0;
}

static int
retry_rows(const char *dir)
{
    struct state *st = open_state(dir);
    int n = 0;

    (void)!state_retry_foreach(st, count_rows, &n, NULL);
    printf("retry_rows=%d\n", n);
    state_close(st);
    return 0;
}

static int
event(const char *dir, const char *ns, const char *obj, const char *msg, int n, bool crash)
{
    struct state *st = open_state(dir);
    struct kclient *c = client();
    struct krecorder_opts o = {0};
    struct krecorder *r = NULL;
    struct krecorder_stats s = {0};
    struct sc_err e = {0};
    char path[KPATH_MAX];
    json_t *cm = NULL;
    struct kobj_ref ref = {0};
    int i;

    if (kpath(path, sizeof(path), NULL, "v1", "configmaps", ns, obj, NULL) != 0 ||
        kclient_get(c, path, &cm, &e) != 0)
        die("get the object", &e);
    memset(&ref, 0, sizeof(ref));
    ref.api_version = "v1";
    ref.kind = "ConfigMap";
    ref.ns = ns;
    ref.name = obj;
    ref.uid = json_string_value(json_object_get(json_object_get(cm, "metadata"), "uid"));
    memset(&o, 0, sizeof(o));
    o.store.ctx = st;
    o.store.lookup = store_lookup;
    o.store.save = store_save;
    r = krecorder_new(c, &o, &e);
    if (r == NULL)
        die("krecorder_new", &e);
    for (i = 0; i < n; i++) {
        if (krecorder_send(r, &ref, "Warning", "StateRestartTest", msg, &e) != 0)
            die("krecorder_send", &e);
    }
    krecorder_get_stats(r, &s);
    printf("created=%llu patched=%llu\n", (unsigned long long)s.created,
           (unsigned long long)s.patched);
    if (crash)
        flush_and_crash(st);
    krecorder_free(r);
    json_decref(cm);
    kclient_free(c);
    state_close(st);
    return 0;
}

int
main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 6 && strcmp(argv[1], "retry-fail") == 0)
        return retry_fail(argv[2], argv[3], argv[4], argv[5]);
    if (argc == 6 && strcmp(argv[1], "retry-resume") == 0)
        return retry_resume(argv[2], argv[3], argv[4], argv[5]);
    if (argc == 3 && strcmp(argv[1], "retry-rows") == 0)
        return retry_rows(argv[2]);
    if ((argc == 7 || argc == 8) && strcmp(argv[1], "event") == 0)
        return event(argv[2], argv[3], argv[4], argv[5], atoi(argv[6]),
                     argc == 8 && strcmp(argv[7], "kill") == 0);
    fprintf(stderr, "usage: see the comment at the top of %s\n", __FILE__);
    return 2;
}
