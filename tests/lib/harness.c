#include "tests/lib/harness.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int n_failed_checks; /* per child process */

void
check(bool ok, const char *expr, const char *file, int line)
{
    if (ok)
        return;
    n_failed_checks++;
    fprintf(stderr, "    %s:%d: check failed: %s\n", file, line, expr);
}

void
check_str_eq(const char *a, const char *b, const char *ea, const char *eb, const char *file,
             int line)
{
    if (a != NULL && b != NULL && strcmp(a, b) == 0)
        return;
    if (a == NULL && b == NULL)
        return;
    n_failed_checks++;
    fprintf(stderr, "    %s:%d: %s == %s\n      got:  \"%s\"\n      want: \"%s\"\n", file, line, ea,
            eb, a ? a : "(null)", b ? b : "(null)");
}

void
check_int_eq(long long a, long long b, const char *ea, const char *eb, const char *file, int line)
{
    if (a == b)
        return;
    n_failed_checks++;
    fprintf(stderr, "    %s:%d: %s == %s\n      got:  %lld\n      want: %lld\n", file, line, ea, eb,
            a, b);
}

const char *
harness_data_dir(void)
{
    const char *d = getenv("TEST_DATA");
    return d != NULL ? d : "tests/data";
}

char *
harness_recorded(size_t i, size_t *len)
{
    static const char *const files[HARNESS_N_RECORDED] = {"vs-modified.json", "vsc-modified.json",
                                                          "pvc.json"};
    char path[512];
    char *d = NULL;
    FILE *f;
    long n;

    *len = 0;
    snprintf(path, sizeof(path), "%s/kube/skim/%s", harness_data_dir(),
             i < HARNESS_N_RECORDED ? files[i] : "");
    f = fopen(path, "rb");
    if (f != NULL && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && n < (1L << 20) &&
        fseek(f, 0, SEEK_SET) == 0 && (d = malloc((size_t)n + 1)) != NULL) {
        *len = fread(d, 1, (size_t)n, f);
        d[*len] = '\0';
    }
    if (f != NULL)
        fclose(f);
    check(d != NULL, "a recorded fixture is readable", path, 0);
    return d;
}

static int
run_one(const struct test_case *t)
{
    pid_t pid;
    int st;

    fflush(NULL);
    pid = fork();
    if (pid < 0)
        return 0;
    if (pid == 0) {
        n_failed_checks = 0;
        t->fn();
        exit(n_failed_checks == 0 ? 0 : 1); /* exit(), not _exit(): LeakSanitizer runs */
    }
    if (waitpid(pid, &st, 0) < 0)
        return 0;
    if (WIFSIGNALED(st))
        fprintf(stderr, "    killed by signal %d\n", WTERMSIG(st));
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

int
harness_run(int argc, char **argv, const struct test_case *tests)
{
    const struct test_case *t = NULL;
    int passed = 0, failed = 0, skipped = 0;
    bool no_timing = getenv("SC_TEST_NO_TIMING") != NULL;
    char *self = strdup(argv[0]);
    const char *name = self ? basename(self) : "tests";

    for (t = tests; t->name != NULL; t++) {
        if (argc > 1 && strcmp(argv[1], t->name) != 0)
            continue;
        if (t->timed && no_timing) {
            skipped++;
            printf("skip %s.%s (wall-clock bounds; SC_TEST_NO_TIMING is set)\n", name, t->name);
        } else if (run_one(t)) {
            passed++;
            printf("ok   %s.%s\n", name, t->name);
        } else {
            failed++;
            printf("FAIL %s.%s\n", name, t->name);
        }
        fflush(stdout);
    }
    if (skipped > 0)
        printf("%s: %d passed, %d failed, %d skipped\n", name, passed, failed, skipped);
    else
        printf("%s: %d passed, %d failed\n", name, passed, failed);
    free(self);
    return failed == 0 ? 0 : 1;
}
