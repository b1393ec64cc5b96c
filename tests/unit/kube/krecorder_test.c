/* kube/krecorder.c tables without a server: the spam filter per object and
 * the LRU tables when more objects than KREC_TABLE_MAX report events (the
 * sends fail: nothing listens on port 1).  Replace mode against a loopback
 * socket that records each request and answers 201/200 or a scripted 404
 * (not an API server: it keeps no Events, the test checks what was asked). */
#include "kube/krecorder.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kube/kclient.h"
#include "kube/kconfig.h"
#include "kube/kjson.h"
#include "tests/lib/harness.h"

static void
quiet(void *ctx, const struct sc_err *err)
{
    (void)ctx;
    (void)err;
}

static struct krecorder *
recorder_at(struct kclient **kc, int burst, struct fake_clock *fc)
{
    struct kconfig cfg = {0};
    struct kclient_opts ko = {0};
    struct krecorder_opts o = {0};

    /* Nothing listens on port 1: every send fails at once.  No rate limit,
     * so freeing the recorder does not wait for a thousand queued sends at
     * the default 5 per second (that took 200 s). */
    cfg.server = "https://127.0.0.1:1";
    kclient_opts_default(&ko);
    ko.qps = 0;
    ko.max_retries = -1;
    *kc = kclient_new(&cfg, &ko, NULL);
    o.spam_burst = burst;
    o.on_error = quiet;
    if (fc != NULL)
        o.clock = clock_fake(fc);
    return *kc != NULL ? krecorder_new(*kc, &o, NULL) : NULL;
}

static struct krecorder *
recorder(struct kclient **kc, int burst)
{
    return recorder_at(kc, burst, NULL);
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

/* One Warning for object p<i>; the spam filter's dropped count after it. */
static uint64_t
event_for(struct krecorder *r, int i)
{
    char name[32], uid[32];
    struct kobj_ref o = {"v1", "Pod", "ns", name, uid, NULL};
    struct krecorder_stats st = {0};

    snprintf(name, sizeof(name), "p%d", i);
    snprintf(uid, sizeof(uid), "u%d", i);
    (void)krecorder_event(r, &o, "Warning", "R", "m");
    krecorder_get_stats(r, &st);
    return st.dropped_spam;
}

/* A full table evicts the least recently used entry, not the oldest one
 * added: an early object touched again survives, the next oldest goes.  The
 * clock stands still, so no timestamp tells the entries apart (and no spent
 * burst refills). */
static void
test_tables_evict_lru(void)
{
    struct fake_clock fc = {1000};
    struct kclient *kc = NULL;
    struct krecorder *r = recorder_at(&kc, 1, &fc);
    int i;

    CHECK(r != NULL);
    if (r == NULL)
        return;
    /* the table fills up; each burst of 1 is spent */
    for (i = 0; i < KREC_TABLE_MAX; i++)
        (void)event_for(r, i);
    CHECK_INT(event_for(r, 0), 1);              /* p0: in the table, touched */
    CHECK_INT(event_for(r, KREC_TABLE_MAX), 1); /* new: p1 (least recent) goes */
    CHECK_INT(event_for(r, 0), 2);              /* p0 survived: still spent */
    CHECK_INT(event_for(r, 1), 2);              /* p1 was evicted: a full burst */
    CHECK_INT(event_for(r, KREC_TABLE_MAX), 3); /* the newest stayed */
    krecorder_free(r);
    kclient_free(kc);
}

/* ---- replace mode against a recording loopback server ---- */

#define FAKE_REQS 16

struct fake_req {
    char method[8];
    char path[256];
    json_t *body; /* NULL when none or not JSON */
};

struct fake_api {
    int fd, port;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;        /* hold went to 0 */
    int hold;                 /* while set, a recorded request is not answered */
    int answer404[FAKE_REQS]; /* request i gets a 404 */
    struct fake_req req[FAKE_REQS];
    int n; /* requests recorded */
};

/* Read one request (head, then Content-Length bytes of body) from s. */
static int
read_request(int s, char *buf, size_t cap, const char **body)
{
    size_t got = 0, need = 0;
    ssize_t r;
    char *end = NULL, *cl;

    while (end == NULL && got < cap - 1 && (r = read(s, buf + got, cap - 1 - got)) > 0) {
        got += (size_t)r;
        buf[got] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    if (end == NULL)
        return -1;
    if (strcasestr(buf, "Expect: 100-continue") != NULL &&
        write(s, "HTTP/1.1 100 Continue\r\n\r\n", 25) < 0)
        return -1;
    cl = strcasestr(buf, "Content-Length:");
    if (cl != NULL && cl < end)
        need = strtoul(cl + 15, NULL, 10);
    while ((size_t)(buf + got - (end + 4)) < need && got < cap - 1 &&
           (r = read(s, buf + got, cap - 1 - got)) > 0) {
        got += (size_t)r;
        buf[got] = '\0';
    }
    *body = end + 4;
    return 0;
}

static void
record(struct fake_api *f, int s, char *buf, const char *body)
{
    static const char not_found[] =
        "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":"
        "\"events not found\",\"reason\":\"NotFound\",\"code\":404}";
    char reply[512];
    int i, status;

    pthread_mutex_lock(&f->mu);
    i = f->n < FAKE_REQS ? f->n++ : FAKE_REQS - 1;
    sscanf(buf, "%7s %255s", f->req[i].method, f->req[i].path);
    f->req[i].body = json_loads(body, 0, NULL);
    status = f->answer404[i] ? 404 : strcmp(f->req[i].method, "POST") == 0 ? 201 : 200;
    while (f->hold)
        pthread_cond_wait(&f->cv, &f->mu);
    pthread_mutex_unlock(&f->mu);
    snprintf(reply, sizeof(reply),
             "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
             "Connection: close\r\n\r\n%s",
             status, status == 404 ? strlen(not_found) : 2, status == 404 ? not_found : "{}");
    if (write(s, reply, strlen(reply)) < 0)
        return;
}

static void *
fake_serve(void *arg)
{
    struct fake_api *f = arg;
    char *buf = malloc(65536);
    const char *body = NULL;
    int s;

    while (buf != NULL && (s = accept(f->fd, NULL, NULL)) >= 0) {
        if (read_request(s, buf, 65536, &body) == 0)
            record(f, s, buf, body);
        close(s);
    }
    free(buf);
    return NULL;
}

/* A client of the fake API server, rate-limited at qps (<= 0: unlimited). */
static struct kclient *
fake_start_qps(struct fake_api *f, double qps)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    struct kconfig cfg = {0};
    struct kclient_opts o = {0};
    char url[64];

    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    f->fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(f->fd >= 0);
    CHECK_INT(bind(f->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    CHECK_INT(listen(f->fd, 8), 0);
    CHECK_INT(getsockname(f->fd, (struct sockaddr *)&a, &al), 0);
    f->port = ntohs(a.sin_port);
    CHECK_INT(pthread_create(&f->thread, NULL, fake_serve, f), 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", f->port);
    cfg.server = url;
    kclient_opts_default(&o);
    o.qps = qps;
    o.burst = 1;
    o.max_retries = 0;
    return kclient_new(&cfg, &o, NULL);
}

static struct kclient *
fake_start(struct fake_api *f)
{
    return fake_start_qps(f, -1);
}

static void
fake_stop(struct fake_api *f)
{
    shutdown(f->fd, SHUT_RDWR);
    close(f->fd);
    pthread_join(f->thread, NULL);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cv);
    for (int i = 0; i < f->n; i++)
        json_decref(f->req[i].body);
}

/* Request i was `method path` and its body's field is want (or int want_n). */
static void
req_is(struct fake_api *f, int i, const char *method, const char *path)
{
    CHECK(i < f->n);
    if (i >= f->n)
        return;
    CHECK_STR(f->req[i].method, method);
    CHECK_STR(f->req[i].path, path);
    CHECK(f->req[i].body != NULL);
}

static const char *
req_str(struct fake_api *f, int i, const char *field)
{
    struct kjson j = {0};

    if (i >= f->n || f->req[i].body == NULL)
        return "";
    kjson_init(&j, f->req[i].body, NULL);
    return kjson_str(&j, field) ? kjson_str(&j, field) : "";
}

static long long
req_int(struct fake_api *f, int i, const char *field)
{
    struct kjson j = {0};

    if (i >= f->n || f->req[i].body == NULL)
        return -1;
    kjson_init(&j, f->req[i].body, NULL);
    return (long long)kjson_int(&j, field, -1);
}

/* A persistence hook that keeps one record, as state/ would. */
struct one_row {
    char key[512];
    struct krec_entry e;
    int saves;
    char last_msg[64]; /* the message the hooks were given last */
};

static int
row_lookup(void *ctx, const char *uid, const char *type, const char *reason, const char *message,
           struct krec_entry *out)
{
    struct one_row *r = ctx;
    char key[512];

    snprintf(key, sizeof(key), "%s|%s|%s|%s", uid, type, reason, message);
    snprintf(r->last_msg, sizeof(r->last_msg), "%s", message);
    if (strcmp(key, r->key) != 0)
        return 0;
    *out = r->e;
    return 1;
}

static void
row_save(void *ctx, const char *uid, const char *type, const char *reason, const char *message,
         const struct krec_entry *e)
{
    struct one_row *r = ctx;

    snprintf(r->key, sizeof(r->key), "%s|%s|%s|%s", uid, type, reason, message);
    r->e = *e;
    r->saves++;
}

#define PVC_WAIT "WaitingForSnapshots"

/* A replace-mode reason: one Event whose message follows the latest event,
 * even past the aggregation window; a 404 creates it anew.  Another reason
 * of the same object keeps client-go's one Event per message. */
static void
test_replace_mode_one_event(void)
{
    struct fake_api f = {0};
    struct kclient *kc = fake_start(&f);
    struct fake_clock fc = {.ms = 1800000000000};
    struct krecorder_opts o = {0};
    struct kobj_ref pvc = {"v1", "PersistentVolumeClaim", "ns", "data", "uid-pvc", "7"};
    struct krecorder_stats st = {0};
    struct sc_err e = {0};
    struct krecorder *r = NULL;
    char evpath[512];

    o.clock = clock_fake(&fc);
    o.on_error = quiet;
    o.replace_reasons = (const char *const[]){"Other", PVC_WAIT, NULL};
    r = kc != NULL ? krecorder_new(kc, &o, &e) : NULL;
    CHECK(r != NULL);
    if (r == NULL) {
        kclient_free(kc);
        fake_stop(&f);
        return;
    }
    CHECK_INT(krecorder_send(r, &pvc, "Normal", PVC_WAIT, "waits for 2: a, b", &e), 0);
    req_is(&f, 0, "POST", "/api/v1/namespaces/ns/events");
    CHECK_STR(req_str(&f, 0, "message"), "waits for 2: a, b");
    CHECK_STR(req_str(&f, 0, "reason"), PVC_WAIT);
    CHECK_INT(req_int(&f, 0, "count"), 1);
    snprintf(evpath, sizeof(evpath), "/api/v1/namespaces/ns/events/%s",
             req_str(&f, 0, "metadata.name"));
    /* a changed message: the same Event, patched */
    CHECK_INT(krecorder_send(r, &pvc, "Normal", PVC_WAIT, "waits for 1: b", &e), 0);
    req_is(&f, 1, "PATCH", evpath);
    CHECK_STR(req_str(&f, 1, "message"), "waits for 1: b");
    CHECK_INT(req_int(&f, 1, "count"), 2);
    /* the same message again, long after the window: still that Event */
    fc.ms += 3600000;
    CHECK_INT(krecorder_send(r, &pvc, "Normal", PVC_WAIT, "waits for 1: b", &e), 0);
    req_is(&f, 2, "PATCH", evpath);
    CHECK_INT(req_int(&f, 2, "count"), 3);
    /* the Event is gone (the API server's TTL): a 404, then a new one */
    f.answer404[3] = 1;
    CHECK_INT(krecorder_send(r, &pvc, "Normal", PVC_WAIT, "waits for 1: c", &e), 0);
    req_is(&f, 3, "PATCH", evpath);
    req_is(&f, 4, "POST", "/api/v1/namespaces/ns/events");
    CHECK_STR(req_str(&f, 4, "message"), "waits for 1: c");
    CHECK_INT(req_int(&f, 4, "count"), 1);
    /* a reason not in replace mode: each new message is a new Event */
    CHECK_INT(krecorder_send(r, &pvc, "Warning", "Plain", "one", &e), 0);
    CHECK_INT(krecorder_send(r, &pvc, "Warning", "Plain", "two", &e), 0);
    req_is(&f, 5, "POST", "/api/v1/namespaces/ns/events");
    req_is(&f, 6, "POST", "/api/v1/namespaces/ns/events");
    krecorder_get_stats(r, &st);
    CHECK_INT(st.created, 4);
    CHECK_INT(st.patched, 2);
    CHECK_INT(st.failed, 0);
    CHECK_INT(f.n, 7);
    krecorder_free(r);
    kclient_free(kc);
    fake_stop(&f);
}

/* The persistence hooks see "" as the message of a replace-mode reason, so
 * a recorder started later (a restarted controller) patches the Event the
 * first one created. */
static void
test_replace_mode_hooks(void)
{
    struct fake_api f = {0};
    struct kclient *kc = fake_start(&f);
    struct one_row row = {0};
    struct krecorder_opts o = {0};
    struct kobj_ref pvc = {"v1", "PersistentVolumeClaim", "ns", "data", "uid-pvc", NULL};
    struct sc_err e = {0};
    struct krecorder *r = NULL;

    o.on_error = quiet;
    o.store = (struct krecorder_store){&row, row_lookup, row_save};
    o.replace_reasons = (const char *const[]){PVC_WAIT, NULL};
    for (int run = 0; run < 2 && kc != NULL; run++) {
        r = krecorder_new(kc, &o, &e);
        CHECK(r != NULL);
        if (r == NULL)
            break;
        CHECK_INT(krecorder_send(r, &pvc, "Normal", PVC_WAIT, run ? "waits: b" : "waits: a, b", &e),
                  0);
        CHECK_STR(row.last_msg, "");
        krecorder_free(r);
    }
    CHECK_STR(row.key, "uid-pvc|Normal|" PVC_WAIT "|");
    CHECK_INT(row.saves, 2);
    CHECK_INT(row.e.count, 2);
    req_is(&f, 0, "POST", "/api/v1/namespaces/ns/events");
    CHECK(f.n == 2 && strstr(f.req[1].path, row.e.ev_name) != NULL);
    CHECK_STR(f.n == 2 ? f.req[1].method : "", "PATCH");
    CHECK_STR(req_str(&f, 1, "message"), "waits: b");
    kclient_free(kc);
    fake_stop(&f);
}

static void
test_replace_reasons_checked(void)
{
    struct kclient *kc = NULL;
    struct kconfig cfg = {0};
    struct krecorder_opts o = {0};
    struct sc_err e = {0};
    const char *many[KREC_REPLACE_MAX + 2] = {0};

    cfg.server = "https://127.0.0.1:1";
    kc = kclient_new(&cfg, NULL, NULL);
    for (int i = 0; i <= KREC_REPLACE_MAX; i++)
        many[i] = "R";
    o.replace_reasons = many;
    CHECK(krecorder_new(kc, &o, &e) == NULL);
    CHECK_INT(e.code, SC_EINVALID);
    o.replace_reasons = (const char *const[]){"A", "", NULL};
    CHECK(krecorder_new(kc, &o, &e) == NULL);
    kclient_free(kc);
}

/* The Event as a tree, the way the recorder built it before it wrote the
 * body without one: what krecorder_event_body() must mean. */
static json_t *
event_tree(const struct kobj_ref *o, const struct krec_event_text *t)
{
    json_t *inv = json_pack("{s:s, s:s, s:s}", "kind", o->kind, "name", o->name, "apiVersion",
                            o->api_version ? o->api_version : "");

    if (o->ns && o->ns[0])
        json_object_set_new(inv, "namespace", json_string(o->ns));
    if (o->uid && o->uid[0])
        json_object_set_new(inv, "uid", json_string(o->uid));
    if (o->resource_version && o->resource_version[0])
        json_object_set_new(inv, "resourceVersion", json_string(o->resource_version));
    return json_pack("{s:s, s:s, s:{s:s, s:s}, s:o, s:s, s:s, s:s, s:{s:s}, s:s, s:s, s:i, s:s, "
                     "s:s}",
                     "apiVersion", "v1", "kind", "Event", "metadata", "name", t->ev_name,
                     "namespace", t->ev_ns, "involvedObject", inv, "reason", t->reason, "message",
                     t->message, "type", t->type, "source", "component", t->component,
                     "firstTimestamp", t->timestamp, "lastTimestamp", t->timestamp, "count", 1,
                     "reportingComponent", t->reporting_component, "reportingInstance",
                     t->reporting_instance);
}

/* The body written without a tree is the JSON the tree gave, for a
 * namespaced object with every field, a cluster-scoped one with none of the
 * optional ones, and text that needs escaping; a string that is not UTF-8
 * or a full buffer writes nothing. */
static void
test_event_body(void)
{
    const struct kobj_ref objs[] = {
        {"snapshot.storage.k8s.io/v1", "VolumeSnapshot", "ns-1", "snap-1", "u-1", "42"},
        {NULL, "VolumeSnapshotContent", NULL, "snapcontent-1", "", NULL},
    };
    const struct krec_event_text texts[] = {
        {"snap-1.1a2b", "ns-1", "Normal", "CreatingSnapshot",
         "Waiting for a snapshot ns-1/snap-1 to be created by the CSI driver.",
         "snapshot-controller", "2026-12-05T02:30:00Z", "snapshot-controller", "host-1"},
        {"snapcontent-1.ff", "default", "Warning", "SnapshotDeleteError",
         "Failed: \"quoted\"\n\ttab \\ back / slash \x01 caf\xc3\xa9 \xe2\x80\xa8", "c", "t", "",
         ""},
    };
    struct buf b = {0};

    for (size_t i = 0; i < SC_ARRAY_LEN(objs); i++) {
        json_t *want = event_tree(&objs[i], &texts[i]), *got;

        buf_init(&b, 1u << 16);
        CHECK_INT(krecorder_event_body(&b, &objs[i], &texts[i]), 0);
        got = json_loadb(buf_str(&b), b.len, 0, NULL);
        CHECK(got != NULL && json_equal(got, want));
        json_decref(got);
        json_decref(want);
        buf_release(&b);
    }
    {
        struct krec_event_text bad = texts[0];

        bad.message = "cut \xc3";
        buf_init(&b, 1u << 16);
        CHECK(buf_add(&b, "x", 1) == 0);
        CHECK_INT(krecorder_event_body(&b, &objs[0], &bad), SC_EINVALID);
        CHECK_INT(b.len, 1);
        buf_release(&b);
        buf_init(&b, 64);
        CHECK_INT(krecorder_event_body(&b, &objs[0], &texts[0]), SC_ETOOBIG);
        CHECK_INT(b.len, 0);
        buf_release(&b);
    }
}

struct told {
    int n;
    char msg[SC_ERR_MSG_LEN];
};

static void
tell(void *ctx, const struct sc_err *err)
{
    struct told *t = ctx;

    t->n++;
    snprintf(t->msg, sizeof(t->msg), "%s", err->msg);
}

/* Shutdown is bounded: krecorder_free() flushes for 5 s, then drops what is
 * still queued and says how many.  At 1 request a second, 5 to 7 of 40
 * events go out; before, the thread sent all 40 (40 s) before joining. */
static void
test_free_drops_the_rest(void)
{
    struct fake_api f = {0};
    struct kclient *kc = fake_start_qps(&f, 1);
    struct krecorder_opts o = {0};
    struct told t = {0};
    struct sc_err e = {0};
    char name[32];

    o.on_error = tell;
    o.error_ctx = &t;
    struct krecorder *r = kc != NULL ? krecorder_new(kc, &o, &e) : NULL;
    CHECK(r != NULL);
    if (r == NULL)
        return;
    for (int i = 0; i < 40; i++) { /* one object each: no spam limit */
        snprintf(name, sizeof(name), "snap-%d", i);
        struct kobj_ref vs = {
            "snapshot.storage.k8s.io/v1", "VolumeSnapshot", "ns", name, name, NULL};
        CHECK_INT(krecorder_event(r, &vs, "Normal", "Queued", "event %d", i), 0);
    }
    krecorder_free(r);
    pthread_mutex_lock(&f.mu);
    int sent = f.n;
    pthread_mutex_unlock(&f.mu);
    CHECK(sent >= 1 && sent < FAKE_REQS);
    CHECK_INT(t.n, 1);
    char want[64];
    snprintf(want, sizeof(want), "%d queued events not sent", 40 - sent);
    CHECK(strstr(t.msg, want) != NULL);
    kclient_free(kc);
    fake_stop(&f);
}

/* The number of requests the fake has recorded. */
static int
fake_count(struct fake_api *f)
{
    pthread_mutex_lock(&f->mu);
    int n = f->n;
    pthread_mutex_unlock(&f->mu);
    return n;
}

/* Queue one event of type about object "o<i>" with reason R<i>. */
static int
queue_one(struct krecorder *r, const char *type, int i)
{
    char name[16], reason[16];

    snprintf(name, sizeof(name), "o%d", i);
    snprintf(reason, sizeof(reason), "R%d", i);
    struct kobj_ref vs = {"snapshot.storage.k8s.io/v1", "VolumeSnapshot", "ns", name, name, NULL};
    return krecorder_event(r, &vs, type, reason, "event %d", i);
}

/* A full queue keeps Warnings: one takes the place of the newest queued
 * Normal event; a Normal event, or a Warning when only Warnings are queued,
 * is dropped.  The fake API holds the first POST unanswered, so the
 * recorder's thread is busy with event 0 while the queue (3) fills. */
static void
test_full_queue_keeps_warnings(void)
{
    struct fake_api f = {.hold = 1};
    struct kclient *kc = fake_start(&f);
    struct krecorder_opts o = {.queue_max = 3};
    struct krecorder_stats st = {0};
    struct sc_err e = {0};
    struct krecorder *r = kc != NULL ? krecorder_new(kc, &o, &e) : NULL;
    static const char *const sent[] = {"R0", "R11", "R12", "R13"};

    CHECK(r != NULL);
    if (r == NULL)
        return;
    CHECK_INT(queue_one(r, "Normal", 0), 0);
    for (int i = 0; i < 6000 && fake_count(&f) == 0; i++)
        usleep(10000); /* event 0 is out of the queue, its answer held */
    CHECK_INT(fake_count(&f), 1);
    for (int i = 1; i <= 3; i++)
        CHECK_INT(queue_one(r, "Normal", i), 0);
    CHECK_INT(queue_one(r, "Normal", 4), SC_ETOOMANY);   /* full */
    CHECK_INT(queue_one(r, "Warning", 11), 0);           /* in place of 3 */
    CHECK_INT(queue_one(r, "Normal", 5), SC_ETOOMANY);   /* still full */
    CHECK_INT(queue_one(r, "Warning", 12), 0);           /* in place of 2 */
    CHECK_INT(queue_one(r, "Warning", 13), 0);           /* in place of 1 */
    CHECK_INT(queue_one(r, "Warning", 14), SC_ETOOMANY); /* only Warnings queued */
    krecorder_get_stats(r, &st);
    CHECK_INT((int)st.dropped_queue, 6); /* 4, 3, 5, 2, 1, 14 */
    CHECK_INT((int)st.queued, 3);
    pthread_mutex_lock(&f.mu);
    f.hold = 0;
    pthread_cond_broadcast(&f.cv);
    pthread_mutex_unlock(&f.mu);
    CHECK_INT(krecorder_flush(r, 60000), 0);
    CHECK_INT(fake_count(&f), 4);
    for (int i = 0; i < 4 && i < fake_count(&f); i++) {
        const json_t *b = f.req[i].body;
        CHECK_STR(json_string_value(json_object_get(b, "reason")), sent[i]);
        CHECK_STR(json_string_value(json_object_get(b, "type")), i == 0 ? "Normal" : "Warning");
    }
    krecorder_free(r);
    kclient_free(kc);
    fake_stop(&f);
}

TEST_MAIN(TEST(test_event_body), TEST(test_free_drops_the_rest),
          TEST(test_full_queue_keeps_warnings), TEST(test_spam_limit_per_object),
          TEST(test_tables_evict), TEST(test_tables_evict_lru), TEST(test_replace_mode_one_event),
          TEST(test_replace_mode_hooks), TEST(test_replace_reasons_checked))
