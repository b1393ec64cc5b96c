/* controller/cpack.c: a view's strings copied into one block; a field past
 * CPACK_MAX is an error, never silently left pointing at the parse tree. */
#include "controller/cpack.h"

#include <stdlib.h>
#include <string.h>

#include "tests/lib/harness.h"

static void
test_commit_copies(void)
{
    char a[] = "alpha", b[] = "be";
    const char *fa = a, *fb = b, *fnull = NULL;
    struct cpack p = {0};
    struct sc_err e = {0};
    char *block = NULL;
    unsigned len = 0;

    cpack_add(&p, &fa);
    cpack_add(&p, &fnull);
    cpack_add(&p, &fb);
    CHECK_INT(cpack_commit(&p, &block, &len, &e), 0);
    CHECK_INT(len, 9);
    CHECK(fa != a && fb != b);
    CHECK(fa >= block && fb < block + len);
    a[0] = 'X'; /* the tree goes away: the view keeps its copy */
    CHECK_STR(fa, "alpha");
    CHECK_STR(fb, "be");
    CHECK(fnull == NULL);
    free(block);
}

static void
test_too_many_fields_fail(void)
{
    const char *f[CPACK_MAX + 1];
    char src[] = "x";
    struct cpack p = {0};
    struct sc_err e = {0};
    char *block = NULL;
    unsigned len = 0;
    int i;

    for (i = 0; i <= CPACK_MAX; i++) {
        f[i] = src;
        cpack_add(&p, &f[i]);
    }
    CHECK_INT(cpack_commit(&p, &block, &len, &e), SC_ETOOBIG);
    CHECK(block == NULL);
    CHECK(f[CPACK_MAX] == src);
    CHECK(strstr(e.msg, "more than") != NULL);
}

TEST_MAIN(TEST(test_commit_copies), TEST(test_too_many_fields_fail))
