/* Integration tests of kube/kinformer.c against the real API server: list +
 * watch sees create/update/delete, indexes, a forced 410 Gone (watch from a
 * compacted resourceVersion) relists and delivers the difference, a CRD that
 * is absent at start is reported "not served" and picked up once it appears,
 * and bad endpoints are retried with backoff instead of hammered. */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "kube/kinformer.h"
#include "kube/kjson.h"
#include "tests/integration/kube/itlib.h"

struct wview {
    const char *name;
    const char *color;
    int64_t size;
};

static int
parse_widget(void *ctx, const json_t *obj, void **view, struct sc_err *err)
{
    struct kjson r = {0};
    struct kpack p = {0};
    struct wview *v = NULL;
    (void)ctx;

    kjson_init(&r, obj, err);
    const char *name = kjson_str_req(&r, "metadata.name");
    const char *color = kjson_str(&r, "spec.color");
    int64_t size = kjson_int(&r, "spec.size", 0);
    if (kjson_error(&r) != 0)
        return kjson_error(&r);
    kpack_init(&p, sizeof(*v));
    kpack_reserve(&p, name);
    kpack_reserve(&p, color);
    v = kpack_alloc(&p);
    if (v == NULL)
        return sc_err_set(err, SC_ENOMEM, "out of memory");
    v->name = kpack_str(&p, name);
    v->color = kpack_str(&p, color);
    v->size = size;
    *view = v;
    return 0;
}

static void
by_color(void *ctx, const void *view, struct kindex_out *out)
{
    const struct wview *v = view;
    (void)ctx;
    kindex_emit(out, v->color);
}

struct rec {
    pthread_mutex_t mu;
    int adds, updates, deletes, resyncs;
    char log[64][80];
    int n;
    atomic_int errors, gone, notserved;
};

/* One event: its counter goes up, its line joins the log. */
static void
note(struct rec *r, int *count, const char *what, const struct kitem *it)
{
    pthread_mutex_lock(&r->mu);
    (*count)++;
    if (r->n < 64)
        snprintf(r->log[r->n++], sizeof(r->log[0]), "%s %s", what, kitem_key(it));
    pthread_mutex_unlock(&r->mu);
}

static void
on_add(void *ctx, const struct kitem *it)
{
    struct rec *r = ctx;
    note(r, &r->adds, "add", it);
}

static void
on_update(void *ctx, const struct kitem *o, const struct kitem *n)
{
    struct rec *r = ctx;
    if (o == n) {
        pthread_mutex_lock(&r->mu);
        r->resyncs++;
        pthread_mutex_unlock(&r->mu);
        return;
    }
    note(r, &r->updates, "update", n);
}

static void
on_delete(void *ctx, const struct kitem *it)
{
    struct rec *r = ctx;
    note(r, &r->deletes, "delete", it);
}

static void
on_error(void *ctx, const char *inf, const struct sc_err *e)
{
    struct rec *r = ctx;
    (void)inf;
    atomic_fetch_add(&r->errors, 1);
    if (e->code == SC_EGONE)
        atomic_fetch_add(&r->gone, 1);
    if (strstr(e->msg, "resource not served"))
        atomic_fetch_add(&r->notserved, 1);
    fprintf(stderr, "  informer error: %s\n", e->msg);
}

static bool
has(struct rec *r, const char *line)
{
    bool found = false;
    pthread_mutex_lock(&r->mu);
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->log[i], line) == 0)
            found = true;
    pthread_mutex_unlock(&r->mu);
    return found;
}

/* Wait up to ms for line to appear in the handler log. */
static bool
wait_for(struct rec *r, const char *line, int ms)
{
    for (int i = 0; i < ms / 20; i++) {
        if (has(r, line))
            return true;
        usleep(20000);
    }
    fprintf(stderr, "  timed out waiting for \"%s\"\n", line);
    return false;
}

/* An informer of the widgets labelled test=label under path, with the
 * "color" index, recording into r; resync_ms 0: no resync. */
/* wait_for() of the line formatted from fmt. */
static bool waitf(struct rec *r, int ms, const char *fmt, ...) SC_PRINTF(3, 4);

static bool
waitf(struct rec *r, int ms, const char *fmt, ...)
{
    char line[128];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    return wait_for(r, line, ms);
}

/* A client and a fresh namespace kit-<what>-<suffix> (ns) with the label
 * value <first letter of what><suffix> (label); NULL (checked) without a
 * cluster. */
static struct kclient *
open_ns(const char *what, char ns[64], char label[48])
{
    struct kclient *c = it_client(-1, 1);

    if (c == NULL)
        return NULL;
    snprintf(ns, 64, "kit-%s-%s", what, it_suffix());
    snprintf(label, 48, "%c%s", what[0], it_suffix());
    it_namespace(c, ns);
    return c;
}

/* Start inf and wait (10 s) for its first list. */
static void
start_synced(struct kinformer *inf)
{
    struct sc_err e = {0};

    CHECK_INT(kinformer_start(inf, &e), 0);
    CHECK_INT(kinformer_wait_synced(inf, 10000), 0);
}

static struct kinformer *
widget_informer_paged(struct kclient *c, struct rec *r, const char *label, const char *path,
                      int resync_ms, int list_page)
{
    char sel[64];
    snprintf(sel, sizeof(sel), "test=%s", label);
    struct kinformer_opts o = {
        .name = "widgets",
        .path = path,
        .label_selector = sel,
        .parse = parse_widget,
        .handlers = {.ctx = r, .on_add = on_add, .on_update = on_update, .on_delete = on_delete},
        .resync_ms = resync_ms,
        .on_error = on_error,
        .error_ctx = r,
        .list_page = list_page,
    };
    struct sc_err e = {0};
    struct kinformer *inf = kinformer_new(c, &o, &e);
    CHECK(inf != NULL);
    CHECK_INT(kinformer_add_index(inf, "color", by_color, NULL, &e), 0);
    return inf;
}

static struct kinformer *
widget_informer(struct kclient *c, struct rec *r, const char *label, const char *path,
                int resync_ms)
{
    return widget_informer_paged(c, r, label, path, resync_ms, 0);
}

/* widget_informer() of namespace ns, started and synced. */
static struct kinformer *
ns_informer(struct kclient *c, struct rec *r, const char *ns, const char *label, int resync_ms)
{
    char coll[KPATH_MAX];
    struct kinformer *inf = NULL;

    kpath(coll, sizeof(coll), W_GROUP, "v1", "widgets", ns, NULL, NULL);
    inf = widget_informer(c, r, label, coll, resync_ms);
    start_synced(inf);
    return inf;
}

static void
create_widget(struct kclient *c, const char *ns, const char *name, int size, const char *label)
{
    char coll[KPATH_MAX];
    struct sc_err e = {0};
    json_t *w = it_widget(ns, name, size, label);
    it_widget_path(coll, sizeof(coll), ns, NULL, NULL);
    CHECK_INT(kclient_create(c, coll, w, NULL, &e), 0);
    json_decref(w);
}

static void
patch_color(struct kclient *c, const char *ns, const char *name, const char *color)
{
    char path[KPATH_MAX];
    struct sc_err e = {0};
    json_t *mp = json_pack("{s:{s:s}}", "spec", "color", color);
    it_widget_path(path, sizeof(path), ns, name, NULL);
    CHECK_INT(kclient_patch(c, path, KPATCH_MERGE, mp, NULL, &e), 0);
    json_decref(mp);
}

static void
delete_widget(struct kclient *c, const char *ns, const char *name)
{
    char path[KPATH_MAX];
    struct sc_err e = {0};
    it_widget_path(path, sizeof(path), ns, name, NULL);
    CHECK_INT(kclient_delete(c, path, NULL, NULL, &e), 0);
}

static void
test_watch_sees_create_update_delete(void)
{
    struct rec r = {.mu = PTHREAD_MUTEX_INITIALIZER};
    char ns[64], label[48], coll[KPATH_MAX], line[128];
    struct sc_err e = {0};
    struct kclient *c = open_ns("watch", ns, label);

    if (c == NULL)
        return;
    create_widget(c, ns, "pre", 1, label);
    /* all namespaces, narrowed by label */
    kpath(coll, sizeof(coll), W_GROUP, "v1", "widgets", NULL, NULL, NULL);
    struct kinformer *inf = widget_informer(c, &r, label, coll, 0);
    CHECK(!kinformer_synced(inf));
    start_synced(inf);
    CHECK_INT(kinformer_len(inf), 1);
    snprintf(line, sizeof(line), "add %s/pre", ns);
    CHECK(has(&r, line));

    create_widget(c, ns, "w1", 3, label);
    CHECK(waitf(&r, 5000, "add %s/w1", ns));
    char key[128];
    snprintf(key, sizeof(key), "%s/w1", ns);
    struct kitem *held = kinformer_get(inf, key);
    CHECK(held != NULL);
    if (held) {
        const struct wview *v = kitem_view(held);
        CHECK_STR(v->color, "blue");
        CHECK_INT(v->size, 3);
    }
    patch_color(c, ns, "w1", "green");
    CHECK(waitf(&r, 5000, "update %s/w1", ns));
    /* the held item is still the old, intact view (refcounted) */
    if (held) {
        const struct wview *v = kitem_view(held);
        CHECK_STR(v->color, "blue");
        kitem_release(held);
    }
    struct kitem *now = kinformer_get(inf, key);
    CHECK(now != NULL && strcmp(((const struct wview *)kitem_view(now))->color, "green") == 0);
    kitem_release(now);
    /* secondary index */
    struct kitem **items = NULL;
    size_t n;
    CHECK_INT(kinformer_by_index(inf, "color", "green", &items, &n, &e), 0);
    CHECK_INT(n, 1);
    if (n == 1)
        CHECK_STR(kitem_key(items[0]), key);
    kitem_release_all(items, n);
    CHECK_INT(kinformer_by_index(inf, "color", "blue", &items, &n, &e), 0);
    CHECK_INT(n, 1); /* "pre" */
    kitem_release_all(items, n);
    CHECK_INT(kinformer_by_index(inf, "nope", "x", &items, &n, &e), SC_EINVALID);

    delete_widget(c, ns, "w1");
    CHECK(waitf(&r, 5000, "delete %s/w1", ns));
    CHECK(kinformer_get(inf, key) == NULL);
    CHECK_INT(kinformer_by_index(inf, "color", "green", &items, &n, &e), 0);
    CHECK_INT(n, 0);
    CHECK_INT(kinformer_len(inf), 1);
    CHECK_INT(atomic_load(&r.errors), 0);
    kinformer_free(inf);
    kclient_free(c);
}

static int64_t
etcd_revision(void)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "curl -s -X POST -d '{\"key\":\"AA==\"}' %s/v3/kv/range | sed -n "
             "'s/.*\"revision\":\"\\([0-9]*\\)\".*/\\1/p'",
             getenv("ETCD_URL"));
    FILE *p = popen(cmd, "r");
    long long rev = 0;
    if (p == NULL)
        return 0;
    if (fscanf(p, "%lld", &rev) != 1)
        rev = 0;
    pclose(p);
    return rev;
}

/* Compact etcd at its current revision: every older resourceVersion is gone. */
static void
compact_etcd(void)
{
    int64_t rev = etcd_revision();
    CHECK(rev > 0);
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "curl -s -X POST -d '{\"revision\":\"%lld\",\"physical\":true}' "
             "%s/v3/kv/compaction >/dev/null",
             (long long)rev, getenv("ETCD_URL"));
    CHECK_INT(system(cmd), 0);
}

static int
add_key_rv(void *ctx, const json_t *item)
{
    struct buf *b = ctx;
    struct kjson r = {0};
    kjson_init(&r, item, NULL);
    const char *ns = kjson_str(&r, "metadata.namespace");
    const char *name = kjson_str(&r, "metadata.name");
    const char *rv = kjson_str(&r, "metadata.resourceVersion");
    return buf_addf(b, "%s/%s@%s\n", ns ? ns : "", name ? name : "", rv ? rv : "");
}

static int
cmp_line(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sort the lines of b in place (each ends with '\n'). */
static void
sort_lines(struct buf *b, char *out, size_t cap)
{
    char *lines[256];
    size_t n = 0;
    for (char *p = b->data, *save = NULL; b->data && (p = strtok_r(p, "\n", &save)) && n < 256;
         p = NULL)
        lines[n++] = p;
    qsort(lines, n, sizeof(*lines), cmp_line);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        snprintf(out + strlen(out), cap - strlen(out), "%s\n", lines[i]);
}

/* The informer's store (key@resourceVersion) equals one plain LIST. */
static void
check_store_equals_list(struct kinformer *inf, struct kclient *c, const char *coll,
                        const char *label, size_t want)
{
    static char a[16384], b[16384];
    char sel[64];
    struct buf lst = {0}, st = {0};
    struct kitem **items = NULL;
    size_t n = 0;
    struct sc_err e = {0};

    snprintf(sel, sizeof(sel), "test=%s", label);
    struct klist_opts lo = {.label_selector = sel};
    buf_init(&lst, sizeof(a) - 1);
    buf_init(&st, sizeof(b) - 1);
    CHECK_INT(kclient_list(c, coll, &lo, add_key_rv, &lst, NULL, 0, &e), 0);
    CHECK_INT(kinformer_list(inf, &items, &n), 0);
    CHECK_INT(n, want);
    for (size_t i = 0; i < n; i++)
        CHECK_INT(buf_addf(&st, "%s@%s\n", kitem_key(items[i]), kitem_rv(items[i])), 0);
    kitem_release_all(items, n);
    sort_lines(&lst, a, sizeof(a));
    sort_lines(&st, b, sizeof(b));
    CHECK(a[0] != '\0');
    CHECK_STR(b, a);
    buf_release(&lst);
    buf_release(&st);
}

/* More objects than one page (pages of 4): the store equals the list, and
 * after a forced 410 the paged relist converges to the list again. */
static void
test_paged_list_and_relist(void)
{
    struct kclient *c = it_client(-1, 1);
    struct rec r = {.mu = PTHREAD_MUTEX_INITIALIZER};
    char ns[64], label[48], coll[KPATH_MAX], line[128], name[32];
    struct sc_err e = {0};

    if (c == NULL)
        return;
    snprintf(ns, sizeof(ns), "kit-page-%s", it_suffix());
    snprintf(label, sizeof(label), "p%s", it_suffix());
    it_namespace(c, ns);
    for (int i = 0; i < 23; i++) {
        snprintf(name, sizeof(name), "w-%02d", i);
        create_widget(c, ns, name, i, label);
    }
    kpath(coll, sizeof(coll), W_GROUP, "v1", "widgets", ns, NULL, NULL);
    struct kinformer *inf = widget_informer_paged(c, &r, label, coll, 0, 4);
    CHECK_INT(kinformer_start(inf, &e), 0);
    CHECK_INT(kinformer_wait_synced(inf, 10000), 0);
    CHECK_INT(r.adds, 23);
    check_store_equals_list(inf, c, coll, label, 23);

    kinformer_pause(inf);
    usleep(1500000);
    create_widget(c, ns, "x-new", 1, label);
    patch_color(c, ns, "w-07", "red");
    delete_widget(c, ns, "w-00");
    delete_widget(c, ns, "w-22");
    compact_etcd();
    kinformer_resume(inf, "1"); /* compacted: 410, a paged relist */
    snprintf(line, sizeof(line), "delete %s/w-22", ns);
    CHECK(wait_for(&r, line, 10000));
    snprintf(line, sizeof(line), "add %s/x-new", ns);
    CHECK(wait_for(&r, line, 5000));
    snprintf(line, sizeof(line), "update %s/w-07", ns);
    CHECK(wait_for(&r, line, 5000));
    CHECK(atomic_load(&r.gone) >= 1);
    check_store_equals_list(inf, c, coll, label, 22);
    kinformer_free(inf);
    kclient_free(c);
}

static void
test_gone_relists_and_converges(void)
{
    struct rec r = {.mu = PTHREAD_MUTEX_INITIALIZER};
    char ns[64], label[48], key[128];
    struct kclient *c = NULL;

    if (getenv("ETCD_URL") == NULL) {
        fprintf(stderr, "ETCD_URL is not set (tests/cluster/up exports it)\n");
        CHECK(0);
        return;
    }
    c = open_ns("gone", ns, label);
    if (c == NULL)
        return;
    create_widget(c, ns, "a", 1, label);
    create_widget(c, ns, "b", 1, label);
    struct kinformer *inf = ns_informer(c, &r, ns, label, 0);
    CHECK_INT(kinformer_len(inf), 2);

    /* Stop watching, change things the informer does not see. */
    kinformer_pause(inf);
    usleep(1500000);
    char rv_before[64];
    snprintf(rv_before, sizeof(rv_before), "%lld", (long long)etcd_revision());
    create_widget(c, ns, "c", 1, label);
    patch_color(c, ns, "b", "red");
    delete_widget(c, ns, "a");
    r.adds = r.updates = r.deletes = 0;
    /* Compact etcd at its current revision: rv_before is now compacted. */
    compact_etcd();
    /* Watch from a resourceVersion that no longer exists anywhere (the
     * apiserver's watch cache starts later, etcd compacted it): 410. */
    kinformer_resume(inf, "1");
    CHECK(waitf(&r, 10000, "delete %s/a", ns));
    CHECK(waitf(&r, 5000, "add %s/c", ns));
    CHECK(waitf(&r, 5000, "update %s/b", ns));
    CHECK(atomic_load(&r.gone) >= 1);
    CHECK_INT(kinformer_len(inf), 2);
    snprintf(key, sizeof(key), "%s/b", ns);
    struct kitem *b = kinformer_get(inf, key);
    CHECK(b != NULL && strcmp(((const struct wview *)kitem_view(b))->color, "red") == 0);
    kitem_release(b);
    snprintf(key, sizeof(key), "%s/a", ns);
    CHECK(kinformer_get(inf, key) == NULL);
    /* and the watch goes on after the relist */
    create_widget(c, ns, "d", 1, label);
    CHECK(waitf(&r, 5000, "add %s/d", ns));
    (void)rv_before;
    kinformer_free(inf);
    kclient_free(c);
}

static void
test_absent_crd_then_served(void)
{
    struct kclient *c = it_client(-1, 1);
    struct rec r = {.mu = PTHREAD_MUTEX_INITIALIZER};
    char grp[96], crdname[128], path[KPATH_MAX];
    struct sc_err e = {0};

    if (c == NULL)
        return;
    snprintf(grp, sizeof(grp), "g%s.kubetest.example.com", it_suffix());
    snprintf(crdname, sizeof(crdname), "gadgets.%s", grp);
    kpath(path, sizeof(path), grp, "v1", "gadgets", NULL, NULL, NULL);
    struct kinformer_opts o = {.name = "gadgets",
                               .path = path,
                               .parse = parse_widget,
                               .handlers = {.ctx = &r, .on_add = on_add},
                               .on_error = on_error,
                               .error_ctx = &r};
    struct kinformer *inf = kinformer_new(c, &o, &e);
    CHECK_INT(kinformer_start(inf, &e), 0);
    CHECK_INT(kinformer_wait_synced(inf, 1500), SC_ETIMEOUT);
    CHECK(!kinformer_synced(inf));
    CHECK_INT(kinformer_status(inf, &e), SC_ENOTFOUND);
    CHECK(strstr(e.msg, "resource not served") != NULL);
    CHECK_INT(kinformer_served(inf), 0);
    CHECK(atomic_load(&r.notserved) >= 1);

    json_t *crd = json_pack(
        "{s:s, s:s, s:{s:s}, s:{s:s, s:s, s:{s:s, s:s, s:s}, s:[{s:s, s:b, s:b, "
        "s:{s:{s:s, s:b}}}]}}",
        "apiVersion", "apiextensions.k8s.io/v1", "kind", "CustomResourceDefinition", "metadata",
        "name", crdname, "spec", "group", grp, "scope", "Cluster", "names", "plural", "gadgets",
        "singular", "gadget", "kind", "Gadget", "versions", "name", "v1", "served", 1, "storage", 1,
        "schema", "openAPIV3Schema", "type", "object", "x-kubernetes-preserve-unknown-fields", 1);
    CHECK(crd != NULL);
    CHECK_INT(
        kclient_create(c, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd, NULL, &e),
        0);
    json_decref(crd);
    /* served within the backoff (0.8, 1.6, 3.2 ... s) */
    int rc = kinformer_wait_synced(inf, 20000);
    CHECK_INT(rc, 0);
    CHECK_INT(kinformer_status(inf, NULL), 0);
    CHECK_INT(kinformer_served(inf), 1);
    json_t *g = json_pack("{s:s, s:s, s:{s:s}, s:{s:s}}", "apiVersion", "", "kind", "Gadget",
                          "metadata", "name", "g1", "spec", "color", "x");
    char ver[160];
    snprintf(ver, sizeof(ver), "%s/v1", grp);
    json_object_set_new(g, "apiVersion", json_string(ver));
    for (int i = 0; i < 50; i++) { /* the new resource may 404 for a moment */
        if (kclient_create(c, path, g, NULL, &e) == 0)
            break;
        usleep(100000);
    }
    json_decref(g);
    CHECK(wait_for(&r, "add g1", 10000));
    char crdpath[KPATH_MAX];
    kpath(crdpath, sizeof(crdpath), "apiextensions.k8s.io", "v1", "customresourcedefinitions", NULL,
          crdname, NULL);
    CHECK_INT(kclient_delete(c, crdpath, NULL, NULL, &e), 0);
    /* the CRD deleted: still synced (the cache stays), but no longer served */
    for (int i = 0; i < 300 && kinformer_served(inf) != 0; i++)
        usleep(100000);
    CHECK_INT(kinformer_served(inf), 0);
    CHECK(kinformer_synced(inf));
    kinformer_free(inf);
    kclient_free(c);
}

/* An informer of PVs through c, 4 s after its start: its status is want
 * (the message holding msg unless NULL) and it made 2 to 4 requests
 * (backoff, not a tight loop), which it returns. */
static unsigned long long
backoff_requests(struct kclient *c, const char *name, int want, const char *msg)
{
    struct rec r = {.mu = PTHREAD_MUTEX_INITIALIZER};
    struct sc_err e = {0};
    struct kinformer_opts o = {.name = name,
                               .path = "/api/v1/persistentvolumes",
                               .parse = parse_widget,
                               .on_error = on_error,
                               .error_ctx = &r};
    struct kinformer *inf = kinformer_new(c, &o, &e);
    struct kclient_stats st = {0};

    CHECK_INT(kinformer_start(inf, &e), 0);
    usleep(4000000);
    CHECK_INT(kinformer_status(inf, &e), want);
    if (msg != NULL)
        CHECK(strstr(e.msg, msg) != NULL);
    kinformer_free(inf);
    kclient_get_stats(c, &st);
    CHECK(st.requests >= 2 && st.requests <= 4);
    return (unsigned long long)st.requests;
}

static void
test_unreachable_backs_off(void)
{
    struct kconfig cfg = {.server = "https://127.0.0.1:1"};
    struct sc_err e = {0};
    struct kclient *c = kclient_new(&cfg, NULL, &e);
    /* 0 s, 0.8 s, 2.4 s (then 5.6 s): three attempts in 4 s, not hundreds */
    unsigned long long n = backoff_requests(c, "unreachable", SC_EIO, "retry in");

    printf("figure: unreachable server, 4 s: %llu attempts\n", n);
    kclient_free(c);
}

static void
test_bad_token_backs_off(void)
{
    struct kclient *c = it_token_client("expired-token");

    if (c == NULL)
        return;
    backoff_requests(c, "pvs", SC_EUNAUTHORIZED, NULL);
    kclient_free(c);
}

static void
test_resync_replays_cache(void)
{
    struct rec r = {.mu = PTHREAD_MUTEX_INITIALIZER};
    char ns[64], label[48];
    struct kclient *c = open_ns("resync", ns, label);

    if (c == NULL)
        return;
    create_widget(c, ns, "one", 1, label);
    create_widget(c, ns, "two", 2, label);
    struct kinformer *inf = ns_informer(c, &r, ns, label, 1500);
    usleep(4000000);
    pthread_mutex_lock(&r.mu);
    int resyncs = r.resyncs;
    pthread_mutex_unlock(&r.mu);
    /* every 1.5 s each cached item is replayed as on_update(old == new) */
    CHECK(resyncs >= 2 * 2);
    CHECK(resyncs <= 2 * 4);
    CHECK_INT(r.updates, 0);
    CHECK_INT(atomic_load(&r.errors), 0);
    printf("figure: resync every 1.5 s over 4 s: %d replays of 2 objects\n", resyncs);
    kinformer_free(inf);
    kclient_free(c);
}

TEST_MAIN(TEST(test_resync_replays_cache), TEST(test_watch_sees_create_update_delete),
          TEST(test_gone_relists_and_converges), TEST(test_paged_list_and_relist),
          TEST(test_absent_crd_then_served), TEST(test_unreachable_backs_off),
          TEST(test_bad_token_backs_off))
