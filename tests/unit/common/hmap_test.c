/* common/hmap.c: the one hash map, with its type descriptor. */
#include "common/hmap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sc_err.h"
#include "tests/lib/harness.h"

static int freed;

static void
count_free(void *val)
{
    freed++;
    free(val);
}

static const struct hmap_type owned_vals = {hmap_hash_str, hmap_str_eq, NULL, NULL, count_free};

static int
sum_fn(const void *key, void *val, void *arg)
{
    (void)key;
    *(long *)arg += *(int *)val;
    return 0;
}

static void
test_put_get_del(void)
{
    struct hmap m = {0};
    char key[32];
    int i, vals[1000];
    long sum = 0;
    void *old = NULL;

    hmap_init(&m, &hmap_str_keys, 0);
    CHECK(hmap_get(&m, "absent") == NULL);
    CHECK(!hmap_del(&m, "absent", NULL));
    for (i = 0; i < 1000; i++) {
        vals[i] = i;
        snprintf(key, sizeof(key), "ns/name-%d", i);
        CHECK_INT(hmap_put(&m, key, &vals[i], NULL), 0);
    }
    CHECK_INT(hmap_len(&m), 1000);
    CHECK(hmap_get(&m, "ns/name-999") == &vals[999]);
    CHECK(hmap_find(&m, "ns/name-7") != NULL);
    /* replace: the old value comes back, the length stays */
    CHECK_INT(hmap_put(&m, "ns/name-7", &vals[8], &old), 0);
    CHECK(old == &vals[7]);
    CHECK_INT(hmap_len(&m), 1000);
    hmap_each(&m, sum_fn, &sum);
    CHECK_INT(sum, 999L * 1000 / 2 + 1);
    CHECK(hmap_del(&m, "ns/name-7", &old));
    CHECK(old == &vals[8]);
    CHECK(hmap_get(&m, "ns/name-7") == NULL);
    CHECK_INT(hmap_len(&m), 999);
    CHECK(hmap_bytes(&m) > 999 * sizeof(struct hmap_entry));
    hmap_free(&m);
    CHECK_INT(hmap_len(&m), 0);
}

static void
test_type_frees_values(void)
{
    struct hmap m = {0};
    int *a = malloc(sizeof(int)), *b = malloc(sizeof(int)), *c = malloc(sizeof(int));

    freed = 0;
    hmap_init(&m, &owned_vals, 0);
    CHECK_INT(hmap_put(&m, "a", a, NULL), 0);
    CHECK_INT(hmap_put(&m, "a", b, NULL), 0); /* a replaced: freed */
    CHECK_INT(freed, 1);
    CHECK_INT(hmap_put(&m, "c", c, NULL), 0);
    CHECK(hmap_del(&m, "c", NULL)); /* freed by the type */
    CHECK_INT(freed, 2);
    hmap_free(&m); /* b */
    CHECK_INT(freed, 3);
}

static void
test_cap(void)
{
    struct hmap m = {0};
    int v = 1;

    hmap_init(&m, &hmap_str_keys, 2);
    CHECK_INT(hmap_put(&m, "a", &v, NULL), 0);
    CHECK_INT(hmap_put(&m, "b", &v, NULL), 0);
    CHECK_INT(hmap_put(&m, "c", &v, NULL), SC_ETOOBIG);
    CHECK_INT(hmap_put(&m, "a", &v, NULL), 0); /* replacing is not growing */
    CHECK_INT(hmap_len(&m), 2);
    hmap_free(&m);
}

/* Deleting the entry just visited, and only it, keeps the walk whole. */
static void
test_iter_delete(void)
{
    struct hmap m = {0};
    struct hmap_iter it = {0};
    struct hmap_entry *e = NULL;
    char key[32];
    int i, vals[500], seen = 0, kept = 0;

    hmap_init(&m, &hmap_str_keys, 0);
    for (i = 0; i < 500; i++) {
        vals[i] = i;
        snprintf(key, sizeof(key), "k%d", i);
        CHECK_INT(hmap_put(&m, key, &vals[i], NULL), 0);
    }
    hmap_iter_init(&it, &m);
    while ((e = hmap_iter_next(&it)) != NULL) {
        void *v = NULL;

        seen++;
        if (*(int *)e->val % 2 == 0) {
            hmap_iter_del(&it, &v);
            CHECK(v != NULL && *(int *)v % 2 == 0);
        } else if (*(int *)e->val % 3 == 0) {
            CHECK(hmap_del(&m, e->key, NULL));
        }
    }
    CHECK_INT(seen, 500);
    for (i = 0; i < 500; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        kept += hmap_get(&m, key) != NULL;
        CHECK((hmap_get(&m, key) != NULL) == (i % 2 != 0 && i % 3 != 0));
    }
    CHECK_INT(hmap_len(&m), (size_t)kept);
    hmap_iter_init(&it, &m);
    while ((e = hmap_iter_next(&it)) != NULL)
        hmap_iter_del(&it, NULL);
    CHECK_INT(hmap_len(&m), 0);
    hmap_iter_init(&it, &m);
    CHECK(hmap_iter_next(&it) == NULL);
    hmap_free(&m);
}

/* Growth keeps load at most 1 and finds every key after each doubling. */
static void
test_growth(void)
{
    struct hmap m = {0};
    struct hmap_stats st = {0};
    char key[32];
    int i, v = 0, found = 0;

    hmap_init(&m, &hmap_str_keys, 0);
    hmap_stats(&m, &st);
    CHECK_INT(st.n_buckets, 0);
    for (i = 0; i < 20000; i++) {
        snprintf(key, sizeof(key), "default/snap-%d", i);
        CHECK_INT(hmap_put(&m, key, &v, NULL), 0);
    }
    for (i = 0; i < 20000; i++) {
        snprintf(key, sizeof(key), "default/snap-%d", i);
        found += hmap_get(&m, key) == &v;
    }
    CHECK_INT(found, 20000);
    hmap_stats(&m, &st);
    CHECK_INT(st.len, 20000);
    CHECK(st.n_buckets >= 20000 && (st.n_buckets & (st.n_buckets - 1)) == 0);
    CHECK(st.used_buckets > 0 && st.used_buckets <= st.n_buckets);
    CHECK(st.max_chain >= 1 && st.max_chain < 20);
    CHECK_INT(st.bytes, hmap_bytes(&m));
    hmap_free(&m);
}

/* hmap_shrink: after most keys went, the buckets follow (load back to at
 * least 1/4, never under HMAP_MIN_BUCKETS); a table still loaded past an
 * eighth keeps its buckets; every key left is still found. */
static void
test_shrink(void)
{
    struct hmap m = {0};
    struct hmap_stats st = {0};
    char key[32];
    int i, v = 0, found = 0;
    size_t full = 0;

    hmap_init(&m, &hmap_str_keys, 0);
    hmap_shrink(&m); /* no buckets yet: nothing to do */
    for (i = 0; i < 10000; i++) {
        snprintf(key, sizeof(key), "ns/snap-%d", i);
        CHECK_INT(hmap_put(&m, key, &v, NULL), 0);
    }
    hmap_stats(&m, &st);
    full = st.n_buckets;
    for (i = 0; i < 9000; i++) {
        snprintf(key, sizeof(key), "ns/snap-%d", i);
        CHECK(hmap_del(&m, key, NULL));
    }
    hmap_shrink(&m); /* 1,000 keys left in 16,384 buckets: under an eighth */
    hmap_stats(&m, &st);
    CHECK(st.n_buckets < full && st.n_buckets >= 1000 && st.n_buckets <= 4000);
    CHECK((st.n_buckets & (st.n_buckets - 1)) == 0);
    full = st.n_buckets;
    hmap_shrink(&m); /* loaded enough now: unchanged */
    hmap_stats(&m, &st);
    CHECK_INT(st.n_buckets, full);
    for (i = 9000; i < 10000; i++) {
        snprintf(key, sizeof(key), "ns/snap-%d", i);
        found += hmap_get(&m, key) == &v;
    }
    CHECK_INT(found, 1000);
    for (i = 9000; i < 10000; i++) {
        snprintf(key, sizeof(key), "ns/snap-%d", i);
        CHECK(hmap_del(&m, key, NULL));
    }
    hmap_shrink(&m);
    hmap_stats(&m, &st);
    CHECK_INT(st.n_buckets, HMAP_MIN_BUCKETS);
    CHECK_INT(hmap_put(&m, "after", &v, NULL), 0); /* still usable */
    CHECK(hmap_get(&m, "after") == &v);
    hmap_free(&m);
}

static uint64_t
same_hash(const void *key)
{
    (void)key;
    return 42;
}

static const struct hmap_type colliding = {same_hash, hmap_str_eq, NULL, NULL, NULL};

/* Every key in one chain: lookups, replaces and deletes still tell keys apart. */
static void
test_collisions(void)
{
    struct hmap m = {0};
    struct hmap_stats st = {0};
    struct hmap_iter it = {0};
    static char keys[300][16];
    int i, vals[300], n = 0;
    void *old = NULL;

    hmap_init(&m, &colliding, 0);
    for (i = 0; i < 300; i++) {
        vals[i] = i;
        snprintf(keys[i], sizeof(keys[i]), "c%d", i);
        CHECK_INT(hmap_put(&m, keys[i], &vals[i], NULL), 0);
    }
    hmap_stats(&m, &st);
    CHECK_INT(st.max_chain, 300);
    CHECK_INT(st.used_buckets, 1);
    for (i = 0; i < 300; i++)
        CHECK(hmap_get(&m, keys[i]) == &vals[i]);
    CHECK_INT(hmap_put(&m, "c150", &vals[0], &old), 0);
    CHECK(old == &vals[150]);
    for (i = 0; i < 300; i += 3)
        CHECK(hmap_del(&m, keys[i], NULL));
    CHECK(hmap_get(&m, "c150") == NULL);
    CHECK(hmap_get(&m, "c151") == &vals[151]);
    hmap_iter_init(&it, &m);
    while (hmap_iter_next(&it) != NULL)
        n++;
    CHECK_INT(n, 200);
    CHECK_INT(hmap_len(&m), 200);
    hmap_free(&m);
}

struct owner {
    struct hmap_entry e;
    char name[16];
};

/* Entries inside the caller's structs: linked, replaced in place, unlinked. */
static void
test_link(void)
{
    static const struct hmap_type borrowed = {hmap_hash_str, hmap_str_eq, NULL, NULL, NULL};
    struct owner o[100], again = {0};
    struct hmap m = {0};
    struct hmap_entry *old = NULL;
    struct hmap_iter it = {0};
    int i, n = 0;

    hmap_init(&m, &borrowed, 0);
    for (i = 0; i < 100; i++) {
        memset(&o[i], 0, sizeof(o[i]));
        snprintf(o[i].name, sizeof(o[i].name), "o%d", i);
        o[i].e.key = o[i].name;
        o[i].e.val = &o[i];
        CHECK_INT(hmap_link(&m, &o[i].e, &old), 0);
        CHECK(old == NULL);
    }
    snprintf(again.name, sizeof(again.name), "o42");
    again.e.key = again.name;
    again.e.val = &again;
    CHECK_INT(hmap_link(&m, &again.e, &old), 0);
    CHECK(old == &o[42].e);
    CHECK_INT(hmap_len(&m), 100);
    CHECK(hmap_get(&m, "o42") == &again);
    CHECK(hmap_unlink(&m, "o7") == &o[7].e);
    CHECK(hmap_unlink(&m, "o7") == NULL);
    CHECK(hmap_get(&m, "o8") == &o[8]);
    hmap_iter_init(&it, &m);
    while (hmap_iter_next(&it) != NULL) {
        CHECK(hmap_unlink(&m, it.cur->key) == it.cur);
        n++;
    }
    CHECK_INT(n, 99);
    CHECK_INT(hmap_len(&m), 0);
    hmap_free(&m); /* only the buckets: the entries are ours */
}

/* Entries of key (a multimap) found by hmap_find + hmap_find_next. */
static int
count_key(const struct hmap *m, const char *key)
{
    const struct hmap_entry *e = hmap_find(m, key);
    int n = 0;

    for (; e != NULL; e = hmap_find_next(m, e)) {
        CHECK(strcmp(e->key, key) == 0);
        n++;
    }
    return n;
}

/* Several entries per key: added beside each other, each key's own found,
 * one key's entries unlinked while walking them, one from the middle. */
static void
multimap_case(const struct hmap_type *type)
{
    static struct owner o[300];
    struct hmap m = {0};
    struct hmap_entry *e = NULL, *next = NULL;
    int i, n = 0;

    hmap_init(&m, type, 0);
    for (i = 0; i < 300; i++) {
        memset(&o[i], 0, sizeof(o[i]));
        snprintf(o[i].name, sizeof(o[i].name), "u%d", i % 7);
        o[i].e.key = o[i].name;
        CHECK_INT(hmap_add(&m, &o[i].e), 0);
    }
    CHECK_INT(hmap_len(&m), 300);
    CHECK_INT(count_key(&m, "u3"), 43); /* 3, 10, ..., 297 */
    CHECK_INT(count_key(&m, "u6"), 42);
    CHECK_INT(count_key(&m, "u7"), 0);
    for (e = hmap_find(&m, "u3"); e != NULL; e = next) {
        next = hmap_find_next(&m, e);
        hmap_unlink_entry(&m, e);
        n++;
    }
    CHECK_INT(n, 43);
    CHECK(hmap_find(&m, "u3") == NULL);
    CHECK_INT(hmap_len(&m), 257);
    hmap_unlink_entry(&m, &o[100].e); /* "u2", somewhere in its chain */
    CHECK_INT(count_key(&m, "u2"), 42);
    CHECK_INT(count_key(&m, "u1"), 43);
    hmap_unlink_entry(&m, &o[100].e); /* not in m any more: nothing */
    CHECK_INT(hmap_len(&m), 256);
    for (i = 0; i < 300; i++)
        if (i % 7 != 3 && i != 100)
            hmap_unlink_entry(&m, &o[i].e);
    CHECK_INT(hmap_len(&m), 0);
    hmap_free(&m);
}

static void
test_multimap(void)
{
    static const struct hmap_type borrowed = {hmap_hash_str, hmap_str_eq, NULL, NULL, NULL};
    static struct owner extra[3];
    struct hmap m = {0};
    int i;

    multimap_case(&borrowed);
    multimap_case(&colliding);
    /* the cap counts every entry, equal keys too */
    hmap_init(&m, &borrowed, 2);
    for (i = 0; i < 3; i++) {
        snprintf(extra[i].name, sizeof(extra[i].name), "same");
        extra[i].e.key = extra[i].name;
    }
    CHECK_INT(hmap_add(&m, &extra[0].e), 0);
    CHECK_INT(hmap_add(&m, &extra[1].e), 0);
    CHECK_INT(hmap_add(&m, &extra[2].e), SC_ETOOBIG);
    CHECK_INT(count_key(&m, "same"), 2);
    hmap_unlink_entry(&m, &extra[0].e);
    hmap_unlink_entry(&m, &extra[1].e);
    hmap_free(&m);
}

/* Buckets reserved up front: no grow while the reserved count is linked. */
static void
test_reserve(void)
{
    static struct owner o[1000];
    struct hmap m = {0};
    struct hmap_stats st = {0};
    int i;

    hmap_init(&m, &hmap_str_keys, 0);
    CHECK_INT(hmap_reserve(&m, 1000), 0);
    hmap_stats(&m, &st);
    CHECK_INT(st.n_buckets, 1024);
    CHECK_INT(hmap_reserve(&m, 10), 0); /* never shrinks */
    hmap_stats(&m, &st);
    CHECK_INT(st.n_buckets, 1024);
    hmap_free(&m);
    hmap_init(&m, &(const struct hmap_type){hmap_hash_str, hmap_str_eq, NULL, NULL, NULL}, 0);
    CHECK_INT(hmap_reserve(&m, 1000), 0);
    for (i = 0; i < 1000; i++) {
        snprintf(o[i].name, sizeof(o[i].name), "k%d", i);
        o[i].e.key = o[i].name;
        CHECK_INT(hmap_add(&m, &o[i].e), 0);
    }
    hmap_stats(&m, &st);
    CHECK_INT(st.n_buckets, 1024);
    CHECK_INT(st.len, 1000);
    CHECK(hmap_find(&m, "k999") == &o[999].e);
    for (i = 0; i < 1000; i++)
        hmap_unlink_entry(&m, &o[i].e);
    hmap_free(&m);
}

TEST_MAIN(TEST(test_put_get_del), TEST(test_link), TEST(test_type_frees_values), TEST(test_cap),
          TEST(test_iter_delete), TEST(test_growth), TEST(test_collisions), TEST(test_multimap),
          TEST(test_reserve), TEST(test_shrink))
