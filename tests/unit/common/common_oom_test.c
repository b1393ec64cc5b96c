/* Our own allocations failing in common/: buf (growth by realloc, detach)
 * and hmap (buckets, entries, key copies).  Every failure must come back as
 * SC_ENOMEM (these APIs return a code and take no sc_err) with the object
 * unchanged, and the next call must work; the run that reaches no failure
 * must give the normal result.  Leaks: the ASan run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/hmap.h"
#include "common/sc_err.h"
#include "tests/lib/failalloc.h"
#include "tests/lib/harness.h"

#define N_PIECES 300 /* enough appends for several reallocs */

struct buf_ctx {
    struct buf b;
    char *detached;
    int enomem; /* appends that failed with SC_ENOMEM */
    int n_bad;  /* appends that failed otherwise, or changed the buffer */
    char want[8 * N_PIECES];
};

/* Append N_PIECES pieces; a failed append must leave the buffer as it was
 * and the next append goes on from there. */
static int
buf_run(void *p)
{
    struct buf_ctx *c = p;
    size_t wlen = 0;

    buf_init(&c->b, sizeof(c->want) - 1);
    c->enomem = c->n_bad = 0;
    c->want[0] = '\0';
    for (int i = 0; i < N_PIECES; i++) {
        char piece[8];
        int rc;

        snprintf(piece, sizeof(piece), "%d,", i % 100);
        rc = i % 2 == 0 ? buf_adds(&c->b, piece) : buf_addf(&c->b, "%d,", i % 100);
        if (rc == SC_OK) {
            memcpy(c->want + wlen, piece, strlen(piece) + 1);
            wlen += strlen(piece);
        } else if (rc == SC_ENOMEM) {
            c->enomem++;
        } else {
            c->n_bad++;
        }
        if (c->b.len != wlen || strcmp(buf_str(&c->b), c->want) != 0)
            c->n_bad++;
    }
    c->detached = buf_detach(&c->b);
    /* detaching an empty buffer allocates "" */
    return c->enomem > 0 || c->detached == NULL ? SC_ENOMEM : SC_OK;
}

static void
buf_check(void *p, int rc, bool failed)
{
    struct buf_ctx *c = p;

    CHECK_INT(c->n_bad, 0);
    CHECK_INT(rc, failed ? SC_ENOMEM : SC_OK);
    if (c->detached != NULL)
        CHECK_STR(c->detached, c->want);
    if (!failed)
        CHECK(strlen(c->want) > 800);
    free(c->detached);
    c->detached = NULL;
    buf_release(&c->b);
}

static void
test_buf(void)
{
    static struct buf_ctx c; /* zeroed */
    struct failalloc_case fc = {"buf", buf_run, buf_check, &c};
    long points = failalloc_sweep(&fc);

    fprintf(stderr, "buf: %ld failure points\n", points);
    CHECK(points > 0);
}

/* Detaching an empty buffer: NULL when the "" cannot be allocated. */
static int
detach_run(void *p)
{
    struct buf b = {0};
    char **out = p;

    buf_init(&b, 16);
    *out = buf_detach(&b);
    return *out != NULL ? SC_OK : SC_ENOMEM;
}

static void
detach_check(void *p, int rc, bool failed)
{
    char **out = p;

    CHECK_INT(rc, failed ? SC_ENOMEM : SC_OK);
    if (*out != NULL)
        CHECK_STR(*out, "");
    free(*out);
    *out = NULL;
}

static void
test_buf_detach_empty(void)
{
    char *out = NULL;
    struct failalloc_case fc = {"buf_detach", detach_run, detach_check, &out};

    CHECK_INT(failalloc_sweep(&fc), 1);
}

#define N_KEYS 200

struct hmap_ctx {
    struct hmap m;
    int vals[N_KEYS];
    int n_in;  /* keys stored */
    int n_bad; /* a failed put that changed the map, or a wrong value */
};

static int
hmap_run(void *p)
{
    struct hmap_ctx *c = p;
    int rc = SC_OK;

    hmap_init(&c->m, &hmap_str_keys, 0);
    c->n_in = c->n_bad = 0;
    for (int i = 0; i < N_KEYS; i++) {
        char key[16];
        int r;

        snprintf(key, sizeof(key), "key-%d", i);
        r = hmap_put(&c->m, key, &c->vals[i], NULL);
        if (r == SC_OK)
            c->n_in++;
        else if (r == SC_ENOMEM)
            rc = r;
        else
            c->n_bad++;
        if (hmap_len(&c->m) != (size_t)c->n_in ||
            (r == SC_OK) != (hmap_get(&c->m, key) == &c->vals[i]))
            c->n_bad++;
    }
    return rc;
}

static void
hmap_check(void *p, int rc, bool failed)
{
    struct hmap_ctx *c = p;

    CHECK_INT(c->n_bad, 0);
    /* a failed grow is absorbed (longer chains): then every key is in */
    if (rc == SC_OK)
        CHECK_INT(c->n_in, N_KEYS);
    else
        CHECK(failed && rc == SC_ENOMEM);
    hmap_free(&c->m);
}

static void
test_hmap(void)
{
    static struct hmap_ctx c; /* zeroed */
    struct failalloc_case fc = {"hmap", hmap_run, hmap_check, &c};
    long points = failalloc_sweep(&fc);

    fprintf(stderr, "hmap: %ld failure points\n", points);
    CHECK(points >= 2L * N_KEYS);
}

/* A multimap of caller-allocated entries (N_KEYS entries over 7 keys) in a
 * map reserved for 64: the reserve fails cleanly (SC_ENOMEM, no buckets), and
 * once it succeeded no hmap_add fails, whichever grow fails. */
struct multi_ctx {
    struct hmap m;
    struct hmap_entry e[N_KEYS];
    char keys[7][8];
    int n_bad;
};

static int
multi_run(void *p)
{
    static const struct hmap_type borrowed = {hmap_hash_str, hmap_str_eq, NULL, NULL, NULL};
    struct multi_ctx *c = p;
    int rc;

    hmap_init(&c->m, &borrowed, 0);
    c->n_bad = 0;
    rc = hmap_reserve(&c->m, 64);
    if (rc != SC_OK)
        return rc;
    for (int i = 0; i < N_KEYS; i++) {
        snprintf(c->keys[i % 7], sizeof(c->keys[0]), "k%d", i % 7);
        memset(&c->e[i], 0, sizeof(c->e[i]));
        c->e[i].key = c->keys[i % 7];
        if (hmap_add(&c->m, &c->e[i]) != SC_OK)
            c->n_bad++;
    }
    return SC_OK;
}

static void
multi_check(void *p, int rc, bool failed)
{
    struct multi_ctx *c = p;
    const struct hmap_entry *e = NULL;
    int n = 0;

    CHECK_INT(c->n_bad, 0);
    if (rc != SC_OK) {
        CHECK(failed && rc == SC_ENOMEM);
        CHECK_INT(hmap_len(&c->m), 0);
        hmap_free(&c->m);
        return;
    }
    CHECK_INT(hmap_len(&c->m), N_KEYS);
    for (e = hmap_find(&c->m, "k3"); e != NULL; e = hmap_find_next(&c->m, e))
        n++;
    CHECK_INT(n, (N_KEYS - 3 + 6) / 7);
    for (int i = 0; i < N_KEYS; i++)
        hmap_unlink_entry(&c->m, &c->e[i]);
    CHECK_INT(hmap_len(&c->m), 0);
    hmap_free(&c->m);
}

static void
test_hmap_multimap(void)
{
    static struct multi_ctx c; /* zeroed */
    struct failalloc_case fc = {"hmap multimap", multi_run, multi_check, &c};
    long points = failalloc_sweep(&fc);

    fprintf(stderr, "hmap multimap: %ld failure points\n", points);
    CHECK_INT(points, 3); /* the reserve, then the grows to 128 and 256 buckets */
}

TEST_MAIN(TEST(test_buf), TEST(test_buf_detach_empty), TEST(test_hmap), TEST(test_hmap_multimap))
