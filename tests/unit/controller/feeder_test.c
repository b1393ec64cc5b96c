/* controller/feeder.c: every cached object gets its pass, a few hundred keys
 * at a time.  Two informers filled with kinformer_put (no server) and two
 * queues without workers: the test drains the queues itself and checks that
 * no more than FEEDER_HIGH keys are ever ready, that every key comes once
 * per walk, that the first walk is the initial one and a request's is not,
 * that the walked hook counts each walk's keys once it is over, and that
 * feeder_stop() ends a walk half done (ASan: no item leaks). */
#include "controller/feeder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kube/kclient.h"
#include "kube/kinformer.h"
#include "kube/kworkq.h"
#include "tests/lib/harness.h"

#define N_A 5000 /* more than FEEDER_HIGH: walked in several top-ups */
#define N_B 300

struct sink {
    struct kworkq *q;
    int initial, later;
};

/* Every item but obj-7 (a claim not held, say) is wanted. */
static bool
wanted(void *ctx, const struct kitem *it, bool initial)
{
    struct sink *s = ctx;

    if (strcmp(kitem_key(it), "ns/obj-7") == 0)
        return false;
    if (initial)
        s->initial++;
    else
        s->later++;
    return true;
}

static void
walked(void *ctx, size_t keys)
{
    __atomic_add_fetch((size_t *)ctx, keys, __ATOMIC_ACQ_REL);
}

/* Wait up to 5 s for the walked hook's count to reach want. */
static size_t
walked_reaches(size_t *count, size_t want)
{
    for (int i = 0; i < 5000 && __atomic_load_n(count, __ATOMIC_ACQUIRE) < want; i++)
        usleep(1000);
    return __atomic_load_n(count, __ATOMIC_ACQUIRE);
}

static int
parse_none(void *ctx, const json_t *obj, void **view, struct sc_err *err)
{
    (void)ctx;
    (void)obj;
    (void)view;
    return sc_err_set(err, SC_EINVALID, "not used");
}

static struct kinformer *
filled(struct kclient *c, const char *name, int n)
{
    struct kinformer_opts o = {.name = name, .path = "/api/v1/x", .parse = parse_none};
    struct kinformer *inf = kinformer_new(c, &o, NULL);
    char key[32];

    if (inf == NULL)
        abort();
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof(key), "obj-%d", i);
        if (kinformer_put(inf, "ns", key, key, "1", strdup("v"), false) != KINF_PUT_ADDED)
            abort();
    }
    return inf;
}

/* Take ready keys from both queues until want keys came or nothing came for
 * 2 s; returns the largest number of ready keys seen in a queue. */
static size_t
drain(struct sink *s, int n, int want, int *got)
{
    char key[64];
    size_t most = 0;
    int idle = 0;

    *got = 0;
    while (*got < want && idle < 2000) {
        bool any = false;

        for (int i = 0; i < n; i++) {
            size_t len = kworkq_len(s[i].q);

            most = len > most ? len : most;
            if (kworkq_get(s[i].q, key, sizeof(key), 0) == 0) {
                kworkq_done(s[i].q, key);
                (*got)++;
                any = true;
            }
        }
        if (!any) {
            usleep(1000);
            idle++;
        } else {
            idle = 0;
        }
    }
    return most;
}

static void
test_walks_paced(void)
{
    struct kconfig cfg = {.server = "https://127.0.0.1:1"};
    struct kclient *c = kclient_new(&cfg, NULL, NULL);
    struct kinformer *a = filled(c, "a", N_A), *b = filled(c, "b", N_B);
    struct sink s[2] = {{kworkq_new(NULL, NULL), 0, 0}, {kworkq_new(NULL, NULL), 0, 0}};
    struct feeder_src src[2] = {{a, s[0].q, wanted, &s[0]}, {b, s[1].q, wanted, &s[1]}};
    struct sc_err err = {0};
    size_t count = 0;
    struct feeder_hooks h = {walked, &count};
    struct feeder *f = feeder_start(src, 2, &h, &err);
    size_t most;
    int got = 0;

    CHECK(f != NULL);
    if (f == NULL)
        return;
    most = drain(s, 2, N_A + N_B - 2, &got);
    CHECK_INT(got, N_A + N_B - 2); /* not obj-7, in either */
    CHECK(most <= FEEDER_HIGH);
    CHECK_INT(s[0].initial, N_A - 1);
    CHECK_INT(s[1].initial, N_B - 1);
    CHECK_INT(s[0].later + s[1].later, 0);
    /* the walks are over: one hook call with every key they queued */
    CHECK_INT(walked_reaches(&count, N_A + N_B - 2), N_A + N_B - 2);
    CHECK(!feeder_walking(f));
    CHECK(!feeder_walking(NULL));
    /* a resync of one source walks it again, not as the initial walk */
    feeder_request(f, 1);
    feeder_request(f, 7); /* no such source: ignored */
    most = drain(s, 2, N_B - 1, &got);
    CHECK_INT(got, N_B - 1);
    CHECK_INT(s[1].later, N_B - 1);
    CHECK_INT(s[0].later, 0);
    CHECK(most <= FEEDER_HIGH);
    CHECK_INT(walked_reaches(&count, N_A + 2 * N_B - 3), N_A + 2 * N_B - 3);
    /* stopped in the middle of a walk: its items are released */
    feeder_request(f, 0);
    for (int i = 0; i < 5000 && !(kworkq_len(s[0].q) > 0 && feeder_walking(f)); i++)
        usleep(1000);
    CHECK(feeder_walking(f)); /* nobody drains: the walk waits, keys left */
    feeder_stop(f);           /* joined: its counts are ours to read */
    CHECK(s[0].later > 0 && s[0].later <= FEEDER_HIGH);
    feeder_stop(NULL);
    kworkq_free(s[0].q);
    kworkq_free(s[1].q);
    kinformer_free(a);
    kinformer_free(b);
    kclient_free(c);
}

static void
test_bad_sources(void)
{
    struct sc_err err = {0};

    CHECK(feeder_start(NULL, FEEDER_MAX_SRC + 1, NULL, &err) == NULL);
    CHECK_INT(err.code, SC_EINVALID);
}

TEST_MAIN(TEST(test_walks_paced), TEST(test_bad_sources))
