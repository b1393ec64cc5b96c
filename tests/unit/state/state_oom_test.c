/* Our own allocations failing in state/: the in-memory mirror (rows and
 * their strings, hash buckets, the copies a flush or a foreach takes) and
 * the handle itself.  Each operation runs with the 1st, 2nd, ... of our
 * allocations failing (tests/lib/failalloc.h); SQLite's allocator is left
 * alone (state_alloc_test.c injects that one).  Promises checked:
 *  - state_open fails with SC_ENOMEM and a message, or gives a handle that
 *    loaded every row exactly; a failed open never moves the file aside;
 *  - a put that fails says so (a message) and leaves the row entirely as it
 *    was; one that succeeds is read back exactly;
 *  - a flush that fails says so and keeps the rows it could not copy dirty:
 *    the next flush writes them, and after a reopen every row is on disk;
 *  - state_retry_foreach fails with a message or visits every row.
 * Leaks: the ASan run. */
#include <stdio.h>
#include <string.h>

#include "tests/lib/failalloc.h"
#include "tests/unit/state/state_testutil.h"

#define ROWS     12
#define LONG_TTL (100LL * 365 * 24 * 3600 * 1000) /* rows never expire in these tests */

static struct state *
open_manual(const char *dir, struct state_open_report *rep, struct sc_err *err)
{
    struct state_opts o = {0};

    o.writer = STATE_WRITER_MANUAL;
    o.retry_ttl_ms = o.event_ttl_ms = LONG_TTL;
    return state_open_dir(dir, &o, rep, err);
}

/* Row i of generation gen: a retry row (VolumeSnapshot, uid-i) and an Event
 * row of uid-i; a new generation changes every value of both rows (the
 * Event's key stays). */
static int
put_row(struct state *st, int i, int gen, struct sc_err *err)
{
    struct state_event ev = {0};
    char uid[32], msg[64], key_msg[32];
    int rc;

    snprintf(uid, sizeof(uid), "uid-%d", i);
    snprintf(msg, sizeof(msg), "error %d of generation %d", i, gen);
    snprintf(key_msg, sizeof(key_msg), "failed %d", i);
    rc = state_retry_put(st, "VolumeSnapshot", uid, gen * 100 + i, 1000 + gen, msg, err);
    if (rc != SC_OK)
        return rc;
    snprintf(ev.namespace_, sizeof(ev.namespace_), "ns-gen%d", gen);
    snprintf(ev.name, sizeof(ev.name), "snap-%d.gen%d", i, gen);
    ev.count = gen + 1;
    ev.first_ms = 1000;
    ev.last_ms = 2000 + gen;
    return state_event_put(st, uid, "Warning", "SnapshotFailed", key_msg, &ev, err);
}

/* The generation of row i's retry row, and of its Event row in *ev_gen: -1
 * if absent, -2 if a row matches no generation exactly (half written). */
static int
row_gen(struct state *st, int i, int *ev_gen)
{
    struct state_retry r = {0};
    struct state_event ev = {0};
    struct sc_err err = {0};
    char uid[32], msg[64], key_msg[32], ns[32], name[64];
    int gen = -1, g;

    snprintf(uid, sizeof(uid), "uid-%d", i);
    snprintf(key_msg, sizeof(key_msg), "failed %d", i);
    *ev_gen = -1;
    if (state_retry_get(st, "VolumeSnapshot", uid, &r, &err) == SC_OK) {
        gen = r.failures / 100;
        snprintf(msg, sizeof(msg), "error %d of generation %d", i, gen);
        if (r.failures != gen * 100 + i || r.next_ms != 1000 + gen ||
            strcmp(r.last_error, msg) != 0)
            gen = -2;
    }
    if (state_event_get(st, uid, "Warning", "SnapshotFailed", key_msg, &ev, &err) == SC_OK) {
        g = ev.count - 1;
        snprintf(ns, sizeof(ns), "ns-gen%d", g);
        snprintf(name, sizeof(name), "snap-%d.gen%d", i, g);
        *ev_gen = strcmp(ev.namespace_, ns) == 0 && strcmp(ev.name, name) == 0 &&
                          ev.first_ms == 1000 && ev.last_ms == 2000 + g
                      ? g
                      : -2;
    }
    return gen;
}

/* Rows lo..hi-1 hold generation gen (both rows of each). */
static bool
all_at(struct state *st, int lo, int hi, int gen)
{
    for (int i = lo; i < hi; i++) {
        int eg;

        if (row_gen(st, i, &eg) != gen || eg != gen)
            return false;
    }
    return true;
}

static void
put_all(struct state *st, int lo, int hi, int gen)
{
    for (int i = lo; i < hi; i++) {
        struct sc_err err = {0};

        CHECK_INT(put_row(st, i, gen, &err), SC_OK);
    }
}

static bool
bad_file_exists(const char *dir)
{
    char p[128];

    snprintf(p, sizeof(p), "%s/%s.bad", dir, STATE_DB_NAME);
    return access(p, F_OK) == 0;
}

/* Close st and open its directory again: what the file holds, read back. */
static struct state *
reopen(struct state *st, const char *dir)
{
    struct state_open_report rep = {0};
    struct sc_err err = {0};

    state_close(st);
    st = open_manual(dir, &rep, &err);
    CHECK(st != NULL);
    if (st == NULL)
        exit(1);
    return st;
}

/* A state on a new directory (dir, cap >= 64) with rows 0..ROWS-1 at
 * generation 1. */
static struct state *
fresh(char *dir, size_t cap)
{
    struct state_open_report rep = {0};
    struct sc_err err = {0};
    struct state *st = NULL;

    tu_mkdtemp(dir, cap);
    st = open_manual(dir, &rep, &err);
    CHECK(st != NULL);
    if (st == NULL)
        exit(1);
    put_all(st, 0, ROWS, 1);
    return st;
}

/* ---- state_open ---- */

struct open_ctx {
    const char *dir; /* NULL: memory only */
    struct state *st;
    struct state_open_report rep;
    struct sc_err err;
};

static int
open_run(void *p)
{
    struct open_ctx *c = p;

    memset(&c->err, 0, sizeof(c->err));
    c->st = open_manual(c->dir, &c->rep, &c->err);
    return c->st != NULL ? SC_OK : c->err.code;
}

static void
open_check(void *p, int rc, bool failed)
{
    struct open_ctx *c = p;
    char path[128];

    if (c->st != NULL) {
        CHECK_INT(rc, SC_OK);
        if (c->dir != NULL) {
            /* everything loaded, exactly */
            CHECK_INT(c->rep.status, STATE_OPEN_OK);
            CHECK(all_at(c->st, 0, ROWS, 1));
        } else {
            put_all(c->st, 0, ROWS, 1);
            CHECK(all_at(c->st, 0, ROWS, 1));
        }
        state_close(c->st);
        c->st = NULL;
        return;
    }
    CHECK(failed && rc == SC_ENOMEM);
    CHECK(c->err.msg[0] != '\0');
    if (c->dir != NULL) {
        /* out of memory is not a bad file: it stays where it is, whole */
        snprintf(path, sizeof(path), "%s/%s", c->dir, STATE_DB_NAME);
        CHECK(!bad_file_exists(c->dir));
        CHECK_INT(tu_sql_int(path, "SELECT count(*) FROM retry"), ROWS);
    }
}

static void
test_open_memory(void)
{
    struct open_ctx c = {0};
    struct failalloc_case fc = {"state_open (memory)", open_run, open_check, &c};
    long points = failalloc_sweep(&fc);

    fprintf(stderr, "state_open, memory only: %ld failure points\n", points);
    CHECK(points >= 3); /* the handle, two tables' buckets */
}

static void
test_open_file(void)
{
    char dir[64];
    struct open_ctx c = {0};
    struct failalloc_case fc = {"state_open (file)", open_run, open_check, &c};
    long points;

    state_close(fresh(dir, sizeof(dir)));
    c.dir = dir;
    points = failalloc_sweep(&fc);
    fprintf(stderr, "state_open, %d rows to load: %ld failure points\n", 2 * ROWS, points);
    CHECK(points > 2L * ROWS);
    tu_rmdir(dir);
}

/* ---- puts: rows 0..ROWS-1 exist at generation 1, rows ROWS..EXTRA-1 do
 * not; a run puts generation 2 into all of them ---- */

#define EXTRA (ROWS + 4)

struct put_ctx {
    char dir[64];
    struct state *st;
    int rc[EXTRA];
    char msg[EXTRA][SC_ERR_MSG_LEN];
};

static int
put_run(void *p)
{
    struct put_ctx *c = p;
    int rc = SC_OK;

    for (int i = 0; i < EXTRA; i++) {
        struct sc_err err = {0};

        c->rc[i] = put_row(c->st, i, 2, &err);
        snprintf(c->msg[i], sizeof(c->msg[i]), "%s", err.msg);
        if (c->rc[i] != SC_OK)
            rc = c->rc[i];
    }
    return rc;
}

/* Rows whose put worked hold generation 2; a failed put changed nothing of
 * its row, or only completed the retry half (the Event put then failed). */
static void
put_verify(struct put_ctx *c, int *gens, int *ev_gens)
{
    for (int i = 0; i < EXTRA; i++) {
        int old = i < ROWS ? 1 : -1;

        gens[i] = row_gen(c->st, i, &ev_gens[i]);
        if (c->rc[i] == SC_OK) {
            CHECK(gens[i] == 2 && ev_gens[i] == 2);
            continue;
        }
        CHECK_INT(c->rc[i], SC_ENOMEM);
        CHECK(c->msg[i][0] != '\0');
        CHECK(gens[i] == old || gens[i] == 2);
        if (ev_gens[i] != old)
            fprintf(stderr, "row %d: event generation %d after a failed put (want %d)\n", i,
                    ev_gens[i], old);
        CHECK_INT(ev_gens[i], old);
    }
}

static void
put_check(void *p, int rc, bool failed)
{
    struct put_ctx *c = p;
    struct sc_err err = {0};
    int gens[EXTRA], ev_gens[EXTRA];

    CHECK(rc == SC_OK || failed);
    put_verify(c, gens, ev_gens);
    /* what the mirror holds is what reaches the disk */
    CHECK_INT(state_flush(c->st, &err), SC_OK);
    c->st = reopen(c->st, c->dir);
    for (int i = 0; i < EXTRA; i++) {
        int eg, g = row_gen(c->st, i, &eg);

        CHECK(g == gens[i] && eg == ev_gens[i]);
    }
    /* back to the start for the next run */
    put_all(c->st, 0, ROWS, 1);
    for (int i = ROWS; i < EXTRA; i++) {
        char uid[32];

        snprintf(uid, sizeof(uid), "uid-%d", i);
        CHECK_INT(state_forget_uid(c->st, uid, NULL, &err), SC_OK);
    }
}

static void
test_put(void)
{
    static struct put_ctx c; /* zeroed */
    struct failalloc_case fc = {"state puts", put_run, put_check, &c};
    long points;

    c.st = fresh(c.dir, sizeof(c.dir));
    points = failalloc_sweep(&fc);
    fprintf(stderr, "state puts (%d updated, %d new rows): %ld failure points\n", ROWS,
            EXTRA - ROWS, points);
    CHECK(points >= 2L * ROWS);
    state_close(c.st);
    tu_rmdir(c.dir);
}

/* ---- flush: rows at generation 1 on disk, generation 2 in the mirror ---- */

struct flush_ctx {
    char dir[64];
    struct state *st;
    struct sc_err err;
};

static int
flush_run(void *p)
{
    struct flush_ctx *c = p;

    memset(&c->err, 0, sizeof(c->err));
    return state_flush(c->st, &c->err);
}

static void
flush_check(void *p, int rc, bool failed)
{
    struct flush_ctx *c = p;
    struct sc_err err = {0};

    if (rc != SC_OK) {
        CHECK(failed && rc == SC_ENOMEM);
        CHECK(c->err.msg[0] != '\0');
    }
    CHECK(all_at(c->st, 0, ROWS, 2)); /* reads its own writes */
    /* the rows a failed flush could not copy are still dirty */
    CHECK_INT(state_flush(c->st, &err), SC_OK);
    c->st = reopen(c->st, c->dir);
    CHECK(all_at(c->st, 0, ROWS, 2));
    put_all(c->st, 0, ROWS, 1);
    CHECK_INT(state_flush(c->st, &err), SC_OK);
    put_all(c->st, 0, ROWS, 2);
}

static void
test_flush(void)
{
    static struct flush_ctx c; /* zeroed */
    struct sc_err err = {0};
    struct failalloc_case fc = {"state_flush", flush_run, flush_check, &c};
    long points;

    c.st = fresh(c.dir, sizeof(c.dir));
    CHECK_INT(state_flush(c.st, &err), SC_OK);
    put_all(c.st, 0, ROWS, 2);
    points = failalloc_sweep(&fc);
    fprintf(stderr, "state_flush (%d dirty rows): %ld failure points\n", 2 * ROWS, points);
    CHECK(points >= 2L * ROWS);
    state_close(c.st);
    tu_rmdir(c.dir);
}

/* ---- state_retry_foreach ---- */

struct each_ctx {
    struct state *st;
    int seen;
    struct sc_err err;
};

static int
each_row(void *p, const char *kind, const char *uid, const struct state_retry *r)
{
    struct each_ctx *c = p;
    char *end = NULL;
    long i = strncmp(uid, "uid-", 4) == 0 ? strtol(uid + 4, &end, 10) : -1;

    if (strcmp(kind, "VolumeSnapshot") == 0 && end != NULL && *end == '\0' && i >= 0 && i < ROWS &&
        r->failures == 100 + i)
        c->seen |= 1 << i;
    return 0;
}

static int
each_run(void *p)
{
    struct each_ctx *c = p;

    c->seen = 0;
    memset(&c->err, 0, sizeof(c->err));
    return state_retry_foreach(c->st, each_row, c, &c->err);
}

static void
each_check(void *p, int rc, bool failed)
{
    struct each_ctx *c = p;

    if (rc == SC_OK) {
        CHECK_INT(c->seen, (1 << ROWS) - 1);
    } else {
        CHECK(failed && rc == SC_ENOMEM && c->err.msg[0] != '\0');
        CHECK_INT(c->seen, 0); /* nothing half-listed */
    }
}

static void
test_foreach(void)
{
    struct each_ctx c = {0};
    struct sc_err err = {0};
    struct failalloc_case fc = {"state_retry_foreach", each_run, each_check, &c};
    long points;

    c.st = open_manual(NULL, NULL, &err);
    CHECK(c.st != NULL);
    if (c.st == NULL)
        return;
    put_all(c.st, 0, ROWS, 1);
    points = failalloc_sweep(&fc);
    fprintf(stderr, "state_retry_foreach (%d rows): %ld failure points\n", ROWS, points);
    CHECK(points >= ROWS);
    state_close(c.st);
}

TEST_MAIN(TEST(test_open_memory), TEST(test_open_file), TEST(test_put), TEST(test_flush),
          TEST(test_foreach))
