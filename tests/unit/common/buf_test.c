#include "common/buf.h"

#include <stdlib.h>
#include <string.h>

#include "common/sc_err.h"
#include "tests/lib/harness.h"

static void
test_append_and_cap(void)
{
    struct buf b = {0};

    buf_init(&b, 8);
    CHECK_STR(buf_str(&b), "");
    CHECK_INT(buf_adds(&b, "abcd"), SC_OK);
    CHECK_INT(buf_addf(&b, "%d", 123), SC_OK);
    CHECK_STR(buf_str(&b), "abcd123");
    CHECK_INT(buf_adds(&b, "xy"), SC_ETOOBIG);
    CHECK_STR(buf_str(&b), "abcd123"); /* unchanged on failure */
    CHECK_INT(buf_adds(&b, "z"), SC_OK);
    CHECK_INT(b.len, 8);
    buf_consume(&b, 3);
    CHECK_STR(buf_str(&b), "d123z");
    buf_release(&b);
}

static void
test_detach(void)
{
    struct buf b = {0};
    char *p;

    buf_init(&b, 100);
    p = buf_detach(&b);
    CHECK(p != NULL && p[0] == '\0');
    free(p);
    CHECK_INT(buf_adds(&b, "hello"), SC_OK);
    p = buf_detach(&b);
    CHECK_STR(p, "hello");
    CHECK(b.data == NULL && b.len == 0);
    free(p);
}

static void
test_addf_overflow(void)
{
    struct buf b = {0};

    buf_init(&b, 4);
    CHECK_INT(buf_addf(&b, "%s", "toolong"), SC_ETOOBIG);
    CHECK_INT(b.len, 0);
    buf_release(&b);
}

TEST_MAIN(TEST(test_append_and_cap), TEST(test_detach), TEST(test_addf_overflow))
