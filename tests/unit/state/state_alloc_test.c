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

/* state_open under every possible failing SQLite allocation. */
static void
test_open(void)
{
    char dir[64];
    int runs = 0;

    install();
    for (long n = 0; n < 100000; n++) {
        struct sc_err err = {0};
        struct state *st = NULL;

        tu_mkdtemp(dir, sizeof(dir));
        countdown_arm(&CD, n);
        st = open_manual(dir, &err);
        countdown_disarm(&CD);
        if (st == NULL) {
            /* Out of memory while opening is an error the caller sees
             * (the controller exits and is restarted), with a message. */
            CHECK(CD.hit > 0);
            CHECK(err.msg[0] != '\0');
            tu_rmdir(dir);
            runs++;
            continue;
        }
        put_rows(st, 0);
        CHECK_INT(rows_right(st, 0), ROWS); /* reads its own writes */
        flushed(st);                        /* may fail: the handle may be in memory mode */
        state_close(st);
        st = open_manual(dir, &err);
        CHECK(st != NULL);
        if (st != NULL) {
            rows_right(st, 0); /* whatever is on disk is right */
            state_close(st);
        }
        tu_rmdir(dir);
        if (CD.hit == 0)
            break;
        runs++;
    }
    fprintf(stderr, "state_open: %d failing SQLite allocations injected\n", runs);
    CHECK(runs > 0);
}

/* state_flush under every possible failing SQLite allocation; a later
 * flush without failures writes everything. */
static void
test_flush(void)
{
    char dir[64];
    int runs = 0;

    install();
    for (long n = 0; n < 100000; n++) {
        struct sc_err err = {0};
        struct state *st = NULL;

        tu_mkdtemp(dir, sizeof(dir));
        st = open_manual(dir, &err);
        CHECK(st != NULL);
        if (st == NULL)
            break;
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
        st = open_manual(dir, &err);
        CHECK(st != NULL);
        if (st != NULL) {
            /* a failed flush may lose rows (degraded to memory) but
             * never writes a wrong one */
            rows_right(st, 0);
            rows_right(st, 100);
            state_close(st);
        }
        tu_rmdir(dir);
        if (CD.hit == 0)
            break;
        runs++;
    }
    fprintf(stderr, "state_flush: %d failing SQLite allocations injected\n", runs);
    CHECK(runs > 0);
}

TEST_MAIN(TEST(test_open), TEST(test_flush))
