/* tests/lib/harness.h -- a tiny unit-test harness.
 *
 * Each test runs in its own child process (a crash fails one test, not the
 * run).  CHECK() records a failure and carries on; the binary ends with
 * "<name>: N passed, N failed" and exits non-zero if anything failed.
 * Run one test with: ./binary <test-name>.
 *
 * TEST_TIMED marks a test whose outcome depends on wall-clock time (server
 * timeouts racing a client).  With SC_TEST_NO_TIMING set -- the valgrind
 * run, where everything is 20-50x slower -- those are reported as skipped;
 * the plain and ASan runs always execute them.
 */
#ifndef SC_HARNESS_H
#define SC_HARNESS_H

#include <stdbool.h>
#include <stddef.h>

typedef void test_fn(void);

struct test_case {
    const char *name;
    test_fn *fn;
    bool timed; /* depends on wall-clock time; skipped under SC_TEST_NO_TIMING */
};

void check(bool ok, const char *expr, const char *file, int line);
void check_str_eq(const char *a, const char *b, const char *ea, const char *eb, const char *file,
                  int line);
void check_int_eq(long long a, long long b, const char *ea, const char *eb, const char *file,
                  int line);
int harness_run(int argc, char **argv, const struct test_case *tests);
/* Directory of recorded fixtures (tests/data), from $TEST_DATA or the default. */
const char *harness_data_dir(void);
/* The recorded API objects of tests/data/kube/skim/ (a VolumeSnapshot and a
 * content as watch events, a PVC), HARNESS_N_RECORDED of them. */
#define HARNESS_N_RECORDED 3
/* Fixture i's bytes, NUL-terminated, which the caller frees; NULL (and a
 * failed check) when it cannot be read.  *len gets the length. */
char *harness_recorded(size_t i, size_t *len);

#define CHECK(x)        check((x), #x, __FILE__, __LINE__)
#define CHECK_STR(a, b) check_str_eq((a), (b), #a, #b, __FILE__, __LINE__)
#define CHECK_INT(a, b) check_int_eq((long long)(a), (long long)(b), #a, #b, __FILE__, __LINE__)
#define TEST(name)         \
    {                      \
#name, name, false \
    }
#define TEST_TIMED(name)  \
    {                     \
#name, name, true \
    }
#define TEST_MAIN(...)                                                               \
    int main(int argc, char **argv)                                                  \
    {                                                                                \
        static const struct test_case tests_[] = {__VA_ARGS__, {NULL, NULL, false}}; \
        return harness_run(argc, argv, tests_);                                      \
    }

#endif
