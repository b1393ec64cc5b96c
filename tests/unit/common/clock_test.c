#include "common/clock.h"

#include <string.h>

#include "tests/lib/harness.h"

static void
test_rfc3339_roundtrip(void)
{
    char out[40];

    CHECK_INT(clock_parse_rfc3339("1970-01-01T00:00:00Z"), 0);
    CHECK_INT(clock_parse_rfc3339("2026-11-22T01:02:03Z"), 1795309323000LL);
    CHECK_INT(clock_parse_rfc3339("2026-11-22T01:02:03.123456789Z"), 1795309323000LL);
    CHECK_INT(clock_parse_rfc3339("2026-11-22T02:02:03+01:00"), 1795309323000LL);
    CHECK_INT(clock_parse_rfc3339("2026-11-22T00:32:03-00:30"), 1795309323000LL);
    clock_rfc3339(1795309323000LL, out, sizeof(out));
    CHECK_STR(out, "2026-11-22T01:02:03Z");
}

static void
test_rfc3339_rejects(void)
{
    CHECK_INT(clock_parse_rfc3339(NULL), -1);
    CHECK_INT(clock_parse_rfc3339(""), -1);
    CHECK_INT(clock_parse_rfc3339("2026-11-22"), -1);
    CHECK_INT(clock_parse_rfc3339("2026-13-22T01:02:03Z"), -1);
    CHECK_INT(clock_parse_rfc3339("2026-11-22T01:02:03"), -1);
    CHECK_INT(clock_parse_rfc3339("2026-11-22T01:02:03Zjunk"), -1);
    CHECK_INT(clock_parse_rfc3339("20x6-11-22T01:02:03Z"), -1);
    CHECK_INT(clock_parse_rfc3339("2026-11-22T01:02:03+1:00"), -1);
}

static void
test_fake_clock(void)
{
    struct fake_clock fc = {1000};
    struct clock c = clock_fake(&fc);

    CHECK_INT(clock_mono_ms(&c), 1000);
    fc.ms += 250;
    CHECK_INT(clock_wall_ms(&c), 1250);
}

TEST_MAIN(TEST(test_rfc3339_roundtrip), TEST(test_rfc3339_rejects), TEST(test_fake_clock))
