/* controller/cpack.c: a view's strings copied after its struct, in the same
 * allocation; equal strings share one copy, well-known values cost nothing;
 * a field past CPACK_MAX or outside the view is an error, never silently
 * left pointing at the parse tree. */
#include "controller/cpack.h"

#include <stdlib.h>
#include <string.h>

#include "tests/lib/harness.h"

struct view {
    int head;
    const char *a, *none, *b, *again, *policy;
};

static void
test_commit_copies(void)
{
    char a[] = "alpha", b[] = "be", again[] = "alpha", policy[] = "Delete";
    struct view *v = calloc(1, sizeof(*v));
    struct cpack p = {0};
    struct sc_err e = {0};
    unsigned len = 0;
    const char *block;
    void *base;

    v->head = 7;
    v->a = a;
    v->b = b;
    v->again = again;
    v->policy = policy;
    cpack_add(&p, &v->a);
    cpack_add(&p, &v->none);
    cpack_add(&p, &v->b);
    cpack_add(&p, &v->again);
    cpack_add(&p, &v->policy);
    base = v;
    CHECK_INT(cpack_commit(&p, &base, sizeof(*v), &len, &e), 0);
    v = base;
    CHECK_INT(len, 9); /* "alpha" and "be": the repeat and "Delete" add nothing */
    block = (const char *)v + sizeof(*v);
    CHECK_INT(v->head, 7);
    CHECK(v->a == block && v->b == block + 6);
    CHECK(v->again == v->a);
    CHECK(v->policy != policy && (v->policy < block || v->policy >= block + len));
    a[0] = 'X'; /* the tree goes away: the view keeps its copy */
    policy[0] = 'X';
    CHECK_STR(v->a, "alpha");
    CHECK_STR(v->again, "alpha");
    CHECK_STR(v->b, "be");
    CHECK_STR(v->policy, "Delete");
    CHECK(v->none == NULL);
    free(v);
}

static void
test_too_many_fields_fail(void)
{
    const char **f = calloc(CPACK_MAX + 1, sizeof(*f));
    void *base = f;
    char src[] = "x";
    struct cpack p = {0};
    struct sc_err e = {0};
    unsigned len = 0;
    int i;

    for (i = 0; i <= CPACK_MAX; i++) {
        f[i] = src;
        cpack_add(&p, &f[i]);
    }
    CHECK_INT(cpack_commit(&p, &base, (CPACK_MAX + 1) * sizeof(*f), &len, &e), SC_ETOOBIG);
    CHECK(base == f);
    CHECK(f[CPACK_MAX] == src);
    CHECK(strstr(e.msg, "more than") != NULL);
    free(f);
}

static void
test_field_outside_the_view_fails(void)
{
    struct view *v = calloc(1, sizeof(*v));
    const char *outside = "o";
    struct cpack p = {0};
    struct sc_err e = {0};
    void *base = v;
    unsigned len = 0;

    cpack_add(&p, &outside);
    CHECK_INT(cpack_commit(&p, &base, sizeof(*v), &len, &e), SC_EINVALID);
    CHECK(base == v);
    CHECK(strstr(e.msg, "outside the view") != NULL);
    free(v);
}

/* Strings that share a prefix with an earlier one or with a constant
 * ("Del", "Deleted", "alphabet") are copied; "" is a constant. */
static void
test_prefixes_are_not_shared(void)
{
    char a[] = "alpha", b[] = "alphabet", del[] = "Del", deleted[] = "Deleted", empty[] = "";
    struct view *v = calloc(1, sizeof(*v));
    struct cpack p = {0};
    struct sc_err e = {0};
    unsigned len = 0;
    void *base;

    v->a = a;
    v->none = b;
    v->b = del;
    v->again = deleted;
    v->policy = empty;
    cpack_add(&p, &v->a);
    cpack_add(&p, &v->none);
    cpack_add(&p, &v->b);
    cpack_add(&p, &v->again);
    cpack_add(&p, &v->policy);
    base = v;
    CHECK_INT(cpack_commit(&p, &base, sizeof(*v), &len, &e), 0);
    v = base;
    CHECK_INT(len, 6 + 9 + 4 + 8);
    a[0] = b[0] = del[0] = deleted[0] = 'X';
    CHECK_STR(v->a, "alpha");
    CHECK_STR(v->none, "alphabet");
    CHECK_STR(v->b, "Del");
    CHECK_STR(v->again, "Deleted");
    CHECK(v->policy != empty);
    CHECK_STR(v->policy, "");
    free(v);
}

/* A string that ends another field's ("<uid>" in "snapcontent-<uid>")
 * points into that field's copy, whichever field comes first. */
static void
test_suffixes_are_shared(void)
{
    char uid[] = "7c1197ce-f776", bound[] = "snapcontent-7c1197ce-f776", tail[] = "f776",
         other[] = "c1197ce-f77";
    struct view *v = calloc(1, sizeof(*v));
    struct cpack p = {0};
    struct sc_err e = {0};
    unsigned len = 0;
    void *base;

    v->a = uid; /* before the string it ends */
    v->none = bound;
    v->b = tail;
    v->again = other; /* inside, not at the end: copied */
    cpack_add(&p, &v->a);
    cpack_add(&p, &v->none);
    cpack_add(&p, &v->b);
    cpack_add(&p, &v->again);
    base = v;
    CHECK_INT(cpack_commit(&p, &base, sizeof(*v), &len, &e), 0);
    v = base;
    CHECK_INT(len, sizeof(bound) + sizeof(other));
    uid[0] = bound[0] = tail[0] = other[0] = 'X';
    CHECK_STR(v->none, "snapcontent-7c1197ce-f776");
    CHECK(v->a == v->none + 12);
    CHECK(v->b == v->none + 21);
    CHECK_STR(v->a, "7c1197ce-f776");
    CHECK_STR(v->b, "f776");
    CHECK_STR(v->again, "c1197ce-f77");
    free(v);
}

/* Random fields over a small alphabet (many equal strings and suffixes):
 * every field reads back its string, the block holds no more than the
 * distinct strings, and a string no other field's ends is copied. */
static void
test_random_fields_read_back(void)
{
    enum { NF = 12 };
    struct rv {
        int head;
        const char *f[NF];
    };
    char src[NF][8];
    unsigned seed = 12345;

    for (int round = 0; round < 2000; round++) {
        struct rv *v = calloc(1, sizeof(*v));
        struct cpack p = {0};
        struct sc_err e = {0};
        unsigned len = 0, bound = 0;
        void *base;

        for (int i = 0; i < NF; i++) {
            int n;

            seed = seed * 1103515245u + 12345u;
            n = (int)((seed >> 16) % 7u);
            for (int k = 0; k < n; k++) {
                seed = seed * 1103515245u + 12345u;
                src[i][k] = (char)('a' + (seed >> 16) % 2u);
            }
            src[i][n] = '\0';
            seed = seed * 1103515245u + 12345u;
            v->f[i] = (seed >> 16) % 5u == 0 ? NULL : src[i];
            bound += v->f[i] != NULL ? (unsigned)n + 1 : 0;
            cpack_add(&p, &v->f[i]);
        }
        base = v;
        CHECK_INT(cpack_commit(&p, &base, sizeof(*v), &len, &e), 0);
        v = base;
        CHECK(len <= bound);
        for (int i = 0; i < NF; i++) {
            const char *got = v->f[i];

            if (got == NULL)
                continue;
            CHECK_STR(got, src[i]);
            /* outside the block only as a constant ("" here) */
            if (got < (const char *)v + sizeof(*v) || got >= (const char *)v + sizeof(*v) + len)
                CHECK_STR(got, "");
        }
        free(v);
    }
}

TEST_MAIN(TEST(test_commit_copies), TEST(test_prefixes_are_not_shared),
          TEST(test_suffixes_are_shared), TEST(test_random_fields_read_back),
          TEST(test_too_many_fields_fail), TEST(test_field_outside_the_view_fails))
