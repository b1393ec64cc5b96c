/* libFuzzer target: watch-stream framing and event decoding
 * (kube/kinformer.c), the status mapper (kube/kclient.c) and the informer's
 * cache path for arbitrary objects (kinformer_store: key, uid, rv, parse
 * callback, indexes).
 *
 * Build and run (from the repository root):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -std=c11 \
 *     -D_GNU_SOURCE -DSC_VERSION='"fuzz"' -I. -pthread \
 *     $(pkg-config --cflags libcurl jansson yaml-0.1 openssl) \
 *     -o build-fuzz/kube_watch_fuzz tests/fuzz/kube_watch_fuzz.c kube/k*.c common/[a-z]*.c \
 *     $(pkg-config --libs libcurl jansson yaml-0.1 openssl) -lm
 *   build-fuzz/kube_watch_fuzz -max_total_time=30 tests/fuzz/corpus/kube_watch_fuzz
 *
 * The first input byte picks the chunk size, so events are split across
 * chunks in every possible way.  The rest, taken as one document, is also
 * parsed by kskim_parse() and by jansson, and the trees compared; and by
 * kparse(), plain and skimming, against jansson and kskim_parse_jansson()
 * (what kparse takes, they take, with the same tree in the same order);
 * KPARSE_REVIEW against KPARSE_SKIM; kskim_skip()'s fast path against its
 * recursive reference.  No
 * request is ever sent: the client points at an address nothing listens on
 * and is only needed to build an informer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kube/kclient.h"
#include "kube/kinformer.h"
#include "kube/kjson.h"
#include "kube/kparse.h"
#include "kube/kskim.h"
#include "tests/fuzz/fuzz_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct view {
    const char *name, *ns, *cls;
    bool ready;
};

static int
parse(void *ctx, const json_t *obj, void **out, struct sc_err *err)
{
    struct kjson r = {0};
    struct kpack p = {0};
    struct view *v = NULL;
    (void)ctx;

    kjson_init(&r, obj, err);
    const char *name = kjson_str_req(&r, "metadata.name");
    const char *ns = kjson_str(&r, "metadata.namespace");
    const char *cls = kjson_str(&r, "spec.volumeSnapshotClassName");
    bool ready = kjson_bool(&r, "status.readyToUse");
    kjson_arr_has_str(&r, "metadata.finalizers", "x");
    if (kjson_error(&r) != 0)
        return kjson_error(&r);
    kpack_init(&p, sizeof(*v));
    kpack_reserve(&p, name);
    kpack_reserve(&p, ns);
    kpack_reserve(&p, cls);
    v = kpack_alloc(&p);
    if (v == NULL)
        return SC_ENOMEM;
    v->name = kpack_str(&p, name);
    v->ns = kpack_str(&p, ns);
    v->cls = kpack_str(&p, cls);
    v->ready = ready;
    *out = v;
    return 0;
}

static void
by_class(void *ctx, const void *view, struct kindex_out *out)
{
    const struct view *v = view;
    (void)ctx;
    kindex_emit(out, v->cls);
    kindex_emit(out, v->name);
}

struct fctx {
    struct kinformer *inf;
    int lines;
};

/* A span kwatch_peek() read against the decoded string at path. */
static void
span_agrees(const json_t *obj, const char *path, const char *p, size_t n)
{
    struct kjson r = {0};
    const char *v;

    kjson_init(&r, obj, NULL);
    v = kjson_str(&r, path);
    if ((p == NULL) != (v == NULL) || (v != NULL && (strlen(v) != n || memcmp(v, p, n) != 0)))
        abort();
}

/* What kwatch_peek() read is what kwatch_decode() gives (kinformer.h). */
static void
peek_agrees(const struct kwatch_id *id, enum kwatch_type t, const json_t *obj)
{
    if (id->type != t)
        abort();
    span_agrees(obj, "metadata.name", id->name, id->name_len);
    span_agrees(obj, "metadata.namespace", id->ns, id->ns_len);
    span_agrees(obj, "metadata.uid", id->uid, id->uid_len);
    span_agrees(obj, "metadata.resourceVersion", id->rv, id->rv_len);
}

static int
on_line(void *ctx, const char *line, size_t len)
{
    struct fctx *f = ctx;
    enum kwatch_type t;
    json_t *obj = NULL;
    struct sc_err e = {0};

    f->lines++;
    struct kwatch_id id = {0};
    bool peeked = kwatch_peek(line, len, &id) && kwatch_peek_rest(line, len, &id);
    if (kwatch_decode(line, len, &t, &obj, &e) != 0) {
        if (obj != NULL || e.msg[0] == '\0')
            abort();
        return 0; /* the informer restarts the watch here (peeked: values not checked) */
    }
    if (peeked)
        peek_agrees(&id, t, obj);
    if (t == KW_ERROR) {
        char *s = json_dumps(obj, JSON_COMPACT);
        if (s != NULL) {
            kclient_map_status(410, s, strlen(s), NULL, &e);
            free(s);
        }
    } else {
        kinformer_store(f->inf, obj, &e);
    }
    json_decref(obj);
    return 0;
}

/* kskim_parse() against jansson: the same tree less metadata.managedFields
 * when spans were cut, the same tree otherwise; a refusal by jansson is
 * accepted by kskim only when spans were cut (their insides are not checked). */
static void
skim_differential(const uint8_t *data, size_t size)
{
    struct kskim_cut cuts[KSKIM_CUTS] = {0};
    json_t *plain = fuzz_json(data, size), *skim = NULL;
    size_t ncut;
    int rc;

    if (size > FUZZ_JSON_MAX)
        return;
    ncut = kskim_find((const char *)data, size, cuts);
    rc = kskim_parse((const char *)data, size, FUZZ_JSON_MAX, &skim, NULL);
    if (plain == NULL) {
        if (rc == 0 && ncut == 0)
            abort();
    } else {
        if (rc != 0)
            abort();
        if (ncut > 0)
            fuzz_json_drop_managed(plain);
        if (!json_equal(plain, skim))
            abort();
    }
    json_decref(plain);
    json_decref(skim);
}

/* kskim_skip()'s fast path against the recursive scan: from the first byte
 * and from the one chunk picks, at depths 0 and 60, the same answer and the
 * same end. */
static void
skip_differential(const uint8_t *data, size_t size, size_t pick)
{
    static const int depths[] = {0, 60};
    size_t starts[2] = {0, size ? pick % size : 0};

    for (size_t d = 0; d < 2; d++)
        for (size_t k = 0; k < 2; k++) {
            size_t a = starts[k], b = starts[k];
            bool fa = kskim_skip((const char *)data, size, &a, depths[d], 0);
            bool fb = kskim_skip_slow((const char *)data, size, &b, depths[d], 0);
            if (fa != fb || (fa && a != b))
                abort();
        }
}

/* Equal, and serialised alike (member order, number forms). */
static bool
same_tree(const json_t *a, const json_t *b)
{
    char *x, *y;
    bool same;

    if (!json_equal(a, b))
        return false;
    x = json_dumps(a, JSON_COMPACT);
    y = json_dumps(b, JSON_COMPACT);
    same = x != NULL && y != NULL && strcmp(x, y) == 0;
    free(x);
    free(y);
    return same;
}

static int
dump_add(const char *p, size_t n, void *b)
{
    return buf_add(b, p, n) == 0 ? 0 : -1;
}

/* kjson_dump_ex() against jansson's dump of the same tree, plain and with
 * sorted keys: the same bytes, or both refuse. */
static void
dump_differential(const json_t *v)
{
    static const size_t jflags[] = {JSON_COMPACT, JSON_COMPACT | JSON_SORT_KEYS};
    static const unsigned kflags[] = {0, KJSON_SORT_KEYS};

    for (size_t i = 0; i < 2; i++) {
        struct buf want = {0}, got = {0};
        int jr, kr;

        buf_init(&want, FUZZ_JSON_MAX * 8);
        buf_init(&got, FUZZ_JSON_MAX * 8);
        jr = json_dump_callback(v, dump_add, &want, jflags[i]);
        kr = kjson_dump_ex(v, &got, kflags[i], NULL);
        if ((jr == 0) != (kr == 0) ||
            (jr == 0 &&
             (want.len != got.len || memcmp(buf_str(&want), buf_str(&got), got.len) != 0)))
            abort();
        buf_release(&want);
        buf_release(&got);
    }
}

/* KPARSE_REVIEW against KPARSE_SKIM's tree skim (NULL: it declined): what
 * skim takes, review takes, with the same tree less the request's userInfo,
 * options, requestKind and requestResource; review declines nothing skim
 * takes (it may take what skim declines, for bad bytes inside those). */
static void
review_differential(const uint8_t *data, size_t size, const json_t *skim)
{
    static const char *const drop[] = {"userInfo", "options", "requestKind", "requestResource"};
    json_t *got = NULL, *want, *req;
    int rc = kparse((const char *)data, size, KPARSE_SKIM | KPARSE_REVIEW, &got);

    if (skim == NULL) {
        json_decref(got);
        return;
    }
    if (rc != 0)
        abort();
    want = json_deep_copy(skim);
    req = json_is_object(want) ? json_object_get(want, "request") : NULL;
    for (size_t i = 0; json_is_object(req) && i < sizeof(drop) / sizeof(drop[0]); i++)
        json_object_del(req, drop[i]);
    if (want == NULL || !same_tree(want, got))
        abort();
    json_decref(want);
    json_decref(got);
}

/* kparse() against its references: jansson itself, and with KPARSE_SKIM
 * kskim_parse_jansson().  Whatever it takes, they take, with the same tree.
 * Every tree taken is also serialised both ways (dump_differential). */
static void
kparse_differential(const uint8_t *data, size_t size)
{
    json_t *ref, *got = NULL;

    if (size > FUZZ_JSON_MAX)
        return;
    ref = fuzz_json(data, size);
    if (kparse((const char *)data, size, 0, &got) == 0 && (ref == NULL || !same_tree(ref, got)))
        abort();
    if (got != NULL)
        dump_differential(got);
    json_decref(ref);
    json_decref(got);
    ref = got = NULL;
    if (kskim_parse_jansson((const char *)data, size, FUZZ_JSON_MAX, &ref, NULL) != 0)
        ref = NULL;
    if (kparse((const char *)data, size, KPARSE_SKIM, &got) == 0 &&
        (ref == NULL || !same_tree(ref, got)))
        abort();
    json_decref(ref);
    review_differential(data, size, got);
    json_decref(got);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kconfig cfg = {.server = "https://127.0.0.1:1"};
    struct kinformer_opts o = {.name = "fuzz", .path = "/apis/x/v1/things", .parse = parse};
    struct kwatch_framer fr = {0};
    struct fctx f = {0};
    size_t chunk;

    if (size == 0)
        return 0;
    chunk = (size_t)data[0] + 1;
    data++;
    size--;
    skim_differential(data, size);
    kparse_differential(data, size);
    skip_differential(data, size, chunk * 7);
    struct kclient *c = kclient_new(&cfg, NULL, NULL);
    f.inf = kinformer_new(c, &o, NULL);
    if (c == NULL || f.inf == NULL)
        abort();
    kinformer_add_index(f.inf, "class", by_class, NULL, NULL);
    kwatch_framer_init(&fr, 4096);
    for (size_t off = 0; off < size; off += chunk) {
        size_t n = size - off < chunk ? size - off : chunk;
        if (kwatch_framer_feed(&fr, (const char *)data + off, n, on_line, &f) != 0) {
            fr.len = 0; /* oversized line: the informer restarts the watch */
        }
    }
    /* the informer's own path over the same bytes, with the cache as the
     * lines above left it: events it knows are applied without a parse */
    kinformer_feed(f.inf, (const char *)data, size, NULL);
    /* read back through the public API */
    struct kitem **items = NULL;
    size_t n = 0;
    if (kinformer_list(f.inf, &items, &n) == 0) {
        for (size_t i = 0; i < n; i++) {
            struct kitem **hits = NULL;
            size_t nh = 0;
            const struct view *v = kitem_view(items[i]);
            kinformer_by_index(f.inf, "class", v->name, &hits, &nh, NULL);
            kitem_release_all(hits, nh);
            struct kitem *g = kinformer_get(f.inf, kitem_key(items[i]));
            if (g == NULL)
                abort();
            kitem_release(g);
        }
        kitem_release_all(items, n);
    }
    kclient_map_status(500, (const char *)data, size, (const char *)NULL, NULL);
    kwatch_framer_release(&fr);
    kinformer_free(f.inf);
    kclient_free(c);
    return 0;
}
