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

TEST_MAIN(TEST(test_put_get_del), TEST(test_type_frees_values), TEST(test_cap))
