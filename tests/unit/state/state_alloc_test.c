/* Allocation-failure injection for state/: SQLite's allocator is replaced
 * (sqlite3_config(SQLITE_CONFIG_MALLOC)) by one that fails the Nth
 * allocation, and state_open / state_flush run with N = 1, 2, ... until they
 * no longer hit a failure.  state_open may fail with an error (out of
 * memory while opening); otherwise state/ degrades, never failing its
 * caller: every handle must read its own writes, and
 * after a clean reopen every row found on disk must be exactly what was
 * written (a failed flush may lose rows -- the API server is the source of
 * truth -- but never write a wrong one).  Our own malloc calls (the mirror)
 * are not covered: only SQLite's. */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "tests/lib/countdown.h"
#include "tests/unit/state/state_testutil.h"

static struct countdown CD = COUNTDOWN_OFF; /* SQLite's allocations */
static sqlite3_mem_methods real_mem;

static void *
f_malloc(int n)
{
    return countdown_fails(&CD) ? NULL : real_mem.xMalloc(n);
}

static void *
f_realloc(void *p, int n)
{
    return countdown_fails(&CD) ? NULL : real_mem.xRealloc(p, n);
}

static void
install(void)
{
    sqlite3_mem_methods m = {0};

    sqlite3_shutdown();
    sqlite3_config(SQLITE_CONFIG_GETMALLOC, &real_mem);
    m = real_mem;
    m.xMalloc = f_malloc;
    m.xRealloc = f_realloc;
    if (sqlite3_config(SQLITE_CONFIG_MALLOC, &m) != SQLITE_OK)
        fprintf(stderr, "cannot install the failing allocator\n");
    sqlite3_initialize();
}

static struct state *
open_manual(const char *dir, struct sc_err *err)
{
    struct state_opts o = {0};
    struct state_open_report rep = {0};

    o.writer = STATE_WRITER_MANUAL;
    return state_open_dir(dir, &o, &rep, err);
}

#define ROWS 20

/* state_flush whose failure is allowed (reported, not asserted). */
static int
flushed(struct state *st)
{
    struct sc_err err = {0};

    return state_flush(st, &err) == SC_OK;
}

static void
put_rows(struct state *st, int base)
{
    for (int i = 0; i < ROWS; i++) {
        struct sc_err err = {0};
        char uid[32], msg[64];

        snprintf(uid, sizeof(uid), "uid-%d", base + i);
        snprintf(msg, sizeof(msg), "error %d", base + i);
        CHECK_INT(state_retry_put(st, "VolumeSnapshot", uid, i + 1, 1000 + i, msg, &err), SC_OK);
    }
}

/* Every row of base..base+ROWS-1 present is exactly right; returns how many
 * are present. */
static int
rows_right(struct state *st, int base)
{
    int present = 0;

    for (int i = 0; i < ROWS; i++) {
        struct sc_err err = {0};
        struct state_retry r = {0};
        char uid[32], msg[64];

        snprintf(uid, sizeof(uid), "uid-%d", base + i);
        snprintf(msg, sizeof(msg), "error %d", base + i);
        if (state_retry_get(st, "VolumeSnapshot", uid, &r, &err) != SC_OK)
            continue;
        present++;
        CHECK_INT(r.failures, i + 1);
        CHECK_INT(r.next_ms, 1000 + i);
        CHECK_STR(r.last_error, msg);
    }
    return present;
}

/* dir reopened: whatever is on disk of the rows from 0 (and from 100 if
 * both) is right -- a failed flush may lose rows (degraded to memory) but
 * never writes a wrong one. */
static void
reopened_rows_right(const char *dir, bool both)
{
    struct sc_err err = {0};
    struct state *st = open_manual(dir, &err);

    CHECK(st != NULL);
    if (st == NULL)
        return;
    rows_right(st, 0);
    if (both)
        rows_right(st, 100);
    state_close(st);
}

/* one(dir, n) in a fresh directory for n = 0, 1, ... while it answers
 * true (go on: an allocation failed); returns how many runs did. */
static int
sweep(bool (*one)(const char *dir, long n))
{
    char dir[64];
    int runs = 0;

    install();
    for (long n = 0; n < 100000; n++) {
        bool more;

        tu_mkdtemp(dir, sizeof(dir));
        more = one(dir, n);
        tu_rmdir(dir);
        if (!more)
            break;
        runs++;
    }
    return runs;
}

/* state_open with the nth SQLite allocation failing. */
static bool
open_once(const char *dir, long n)
{
    struct sc_err err = {0};
    struct state *st = NULL;

    countdown_arm(&CD, n);
    st = open_manual(dir, &err);
    countdown_disarm(&CD);
    if (st == NULL) {
        /* Out of memory while opening is an error the caller sees
         * (the controller exits and is restarted), with a message. */
        CHECK(CD.hit > 0);
        CHECK(err.msg[0] != '\0');
        return true;
    }
    put_rows(st, 0);
    CHECK_INT(rows_right(st, 0), ROWS); /* reads its own writes */
    flushed(st);                        /* may fail: the handle may be in memory mode */
    state_close(st);
    reopened_rows_right(dir, false); /* whatever is on disk is right */
    return CD.hit != 0;
}

/* state_open under every possible failing SQLite allocation. */
static void
test_open(void)
{
    int runs = sweep(open_once);

    fprintf(stderr, "state_open: %d failing SQLite allocations injected\n", runs);
    CHECK(runs > 0);
}

/* state_flush with the nth SQLite allocation failing; a later flush
 * without failures writes everything. */
static bool
flush_once(const char *dir, long n)
{
    struct sc_err err = {0};
    struct state *st = open_manual(dir, &err);

    CHECK(st != NULL);
    if (st == NULL)
        return false;
    put_rows(st, 0);
    CHECK_INT(state_flush(st, &err), SC_OK);
    put_rows(st, 100);
    countdown_arm(&CD, n);
    flushed(st);
    countdown_disarm(&CD);
    CHECK_INT(rows_right(st, 0), ROWS);
    CHECK_INT(rows_right(st, 100), ROWS);
    flushed(st); /* the rows a failed flush left dirty */
    state_close(st);
    reopened_rows_right(dir, true);
    return CD.hit != 0;
}

/* state_flush under every possible failing SQLite allocation. */
static void
test_flush(void)
{
    int runs = sweep(flush_once);

    fprintf(stderr, "state_flush: %d failing SQLite allocations injected\n", runs);
    CHECK(runs > 0);
}

TEST_MAIN(TEST(test_open), TEST(test_flush))
