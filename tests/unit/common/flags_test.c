#include "common/flags.h"

#include <stdint.h>
#include <string.h>

#include "tests/lib/harness.h"

static void
test_duration(void)
{
    int64_t ms = 0;

    CHECK_INT(flags_parse_duration("1s", &ms), 0);
    CHECK_INT(ms, 1000);
    CHECK_INT(flags_parse_duration("1h2m3.5s", &ms), 0);
    CHECK_INT(ms, 3723500);
    CHECK_INT(flags_parse_duration("300ms", &ms), 0);
    CHECK_INT(ms, 300);
    CHECK_INT(flags_parse_duration("0", &ms), 0);
    CHECK_INT(ms, 0);
    CHECK_INT(flags_parse_duration("10", &ms), -1); /* Go requires a unit */
    CHECK_INT(flags_parse_duration("", &ms), -1);
    CHECK_INT(flags_parse_duration("5x", &ms), -1);
    CHECK_INT(flags_parse_duration("1.5m", &ms), 0);
    CHECK_INT(ms, 90000);
}

static void
test_parse_go_semantics(void)
{
    bool le = true, dbg = false;
    int workers = 10;
    double qps = 20;
    const char *kc = NULL;
    int64_t iv = 1000;
    const struct flag tab[] = {
        {"leader-election", FLAG_BOOL, &le, ""},
        {"debug", FLAG_BOOL, &dbg, ""},
        {"worker-threads", FLAG_INT, &workers, ""},
        {"kube-api-qps", FLAG_FLOAT, &qps, ""},
        {"kubeconfig", FLAG_STRING, &kc, ""},
        {"retry-interval-start", FLAG_DURATION, &iv, ""},
    };
    char err[128];
    char *argv[] = {"prog",
                    "--leader-election=false",
                    "-debug",
                    "--worker-threads",
                    "4",
                    "-kube-api-qps=100.5",
                    "--kubeconfig=/tmp/kc",
                    "--retry-interval-start=2s"};

    CHECK_INT(flags_parse(tab, 6, 8, argv, err, sizeof(err)), FLAGS_OK);
    CHECK(!le);
    CHECK(dbg);
    CHECK_INT(workers, 4);
    CHECK(qps > 100.4 && qps < 100.6);
    CHECK_STR(kc, "/tmp/kc");
    CHECK_INT(iv, 2000);
}

static void
test_parse_errors(void)
{
    bool b = false;
    int n = 0;
    const struct flag tab[] = {{"b", FLAG_BOOL, &b, ""}, {"n", FLAG_INT, &n, ""}};
    char err[128];
    char *a1[] = {"prog", "--nope"};
    char *a2[] = {"prog", "--n=abc"};
    char *a3[] = {"prog", "--n"};
    char *a4[] = {"prog", "--b=maybe"};
    char *a5[] = {"prog", "--help"};
    char *a6[] = {"prog", "stray"};

    CHECK_INT(flags_parse(tab, 2, 2, a1, err, sizeof(err)), FLAGS_ERROR);
    CHECK_STR(err, "flag provided but not defined: -nope");
    CHECK_INT(flags_parse(tab, 2, 2, a2, err, sizeof(err)), FLAGS_ERROR);
    CHECK_INT(flags_parse(tab, 2, 2, a3, err, sizeof(err)), FLAGS_ERROR);
    CHECK_INT(flags_parse(tab, 2, 2, a4, err, sizeof(err)), FLAGS_ERROR);
    CHECK_INT(flags_parse(tab, 2, 2, a5, err, sizeof(err)), FLAGS_HELP);
    CHECK_INT(flags_parse(tab, 2, 2, a6, err, sizeof(err)), FLAGS_ERROR);
}

TEST_MAIN(TEST(test_duration), TEST(test_parse_go_semantics), TEST(test_parse_errors))
