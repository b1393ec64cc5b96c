/* tests/unit/state/state_recovery_test.c -- state/ when things go wrong:
 * kill -9 mid-transaction, corrupt/truncated/garbage files, a directory in the
 * way, newer and older schemas, a read-only directory, a full disk. */
#include "common/clock.h"
#include "tests/unit/state/state_testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>

#define CRASH_ROWS 400

static int64_t
wall_now(void)
{
    return (int64_t)time(NULL) * 1000;
}

/* Child: rewrite all CRASH_ROWS rows to generation g, one transaction per
 * generation, forever.  Tells the parent (one byte on fd) after the first commit. */
static _Noreturn void
crash_writer_manual(const char *path, int fd, int first_gen)
{
    struct state_opts o = tu_manual_opts();
    struct state *st = state_open(path, &o, NULL, NULL);
    char uid[32], msg[64];
    int g, i;

    if (st == NULL)
        _exit(3);
    for (g = first_gen;; g++) {
        snprintf(msg, sizeof(msg), "gen %d", g);
        for (i = 0; i < CRASH_ROWS; i++) {
            snprintf(uid, sizeof(uid), "uid-%04d", i);
            if (state_retry_put(st, "VolumeSnapshot", uid, g, (int64_t)g * 1000 + i, msg, NULL) !=
                SC_OK)
                _exit(4);
        }
        if (state_flush(st, NULL) != SC_OK)
            _exit(5);
        if (g == first_gen && write(fd, "x", 1) != 1)
            _exit(6);
    }
}

struct gen_check {
    int gen;
    int n;
    int bad;
};

static int
gen_visit(void *ctx, const char *kind, const char *uid, const struct state_retry *r)
{
    struct gen_check *c = ctx;
    char msg[64];
    int i = atoi(uid + 4);

    snprintf(msg, sizeof(msg), "gen %d", r->failures);
    if (strcmp(kind, "VolumeSnapshot") != 0 || strcmp(r->last_error, msg) != 0 ||
        r->next_ms != (int64_t)r->failures * 1000 + i)
        c->bad++;
    if (c->n == 0)
        c->gen = r->failures;
    else if (c->gen != r->failures)
        c->bad++; /* two generations mixed: a transaction was torn */
    c->n++;
    return 0;
}

static void
crash_kill9_mid_transaction(void)
{
    char dir[64], path[128];
    int round, gen = 1;

    tu_mkdtemp(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/state.db", dir);
    srand((unsigned)getpid());
    for (round = 0; round < 6; round++) {
        int p[2];
        pid_t pid;
        char c;
        int st_;
        struct state_open_report rep = {0};
        struct state_opts o = tu_manual_opts();
        struct state *st = NULL;
        struct gen_check gc = {0, 0, 0};

        CHECK(pipe(p) == 0);
        fflush(NULL);
        pid = fork();
        if (pid == 0) {
            close(p[0]);
            crash_writer_manual(path, p[1], gen);
        }
        close(p[1]);
        CHECK_INT(read(p[0], &c, 1), 1); /* at least one generation committed */
        close(p[0]);
        usleep(20000 + (rand() % 200) * 1000); /* then kill it at a random point */
        CHECK_INT(kill(pid, SIGKILL), 0);
        CHECK_INT(waitpid(pid, &st_, 0), pid);
        CHECK(WIFSIGNALED(st_) && WTERMSIG(st_) == SIGKILL);
        CHECK(tu_file_size(path) > 0);

        st = state_open(path, &o, &rep, NULL);
        CHECK(st != NULL);
        CHECK_INT(rep.status, STATE_OPEN_OK); /* not corrupt: nothing was moved aside */
        CHECK_INT(rep.n_retry, CRASH_ROWS);
        CHECK_INT(state_retry_foreach(st, gen_visit, &gc, NULL), SC_OK);
        CHECK_INT(gc.n, CRASH_ROWS);
        CHECK_INT(gc.bad, 0);
        CHECK(gc.gen >= gen);
        if (round == 0)
            fprintf(stderr, "    round %d: committed generations %d..%d survived\n", round, gen,
                    gc.gen);
        gen = gc.gen + 1;
        state_close(st);
    }
    CHECK_INT(tu_sql_int(path, "PRAGMA integrity_check") == -1, 0);
    tu_rmdir(dir);
}

/* Child for the threaded variant: many threads' worth of writes through the
 * writer thread; every row's fields agree with each other. */
static _Noreturn void
crash_writer_thread(const char *path, int fd)
{
    struct state_opts o = {0};
    struct state *st = NULL;
    char uid[32], msg[64];
    unsigned k = 0;

    memset(&o, 0, sizeof(o));
    o.flush_interval_ms = 2;
    o.flush_batch = 64;
    st = state_open(path, &o, NULL, NULL);
    if (st == NULL)
        _exit(3);
    for (;; k++) {
        if (fd >= 0 && k % 256 == 0) {
            struct state_stats stats = {0};
            state_get_stats(st, &stats);
            if (stats.n_flushes > 0) { /* something is committed: the parent may kill now */
                if (write(fd, "x", 1) != 1)
                    _exit(6);
                close(fd);
                fd = -1;
            }
        }
        int v = (int)(k % 100000);
        struct state_event e = tu_event("ev", v, v, wall_now());
        snprintf(uid, sizeof(uid), "u%u", k % 3000);
        snprintf(msg, sizeof(msg), "v=%d", v);
        if (k % 7 == 3) {
            if (state_retry_clear(st, "K", uid, NULL) != SC_OK)
                _exit(4);
        } else if (state_retry_put(st, "K", uid, v, (int64_t)v * 7, msg, NULL) != SC_OK) {
            _exit(4);
        }
        if (state_event_put(st, uid, "Warning", "R", "m", &e, NULL) != SC_OK)
            _exit(4);
    }
}

struct row_check {
    int n;
    int bad;
};

static int
row_visit(void *ctx, const char *kind, const char *uid, const struct state_retry *r)
{
    struct row_check *c = ctx;
    char msg[64];

    (void)uid;
    snprintf(msg, sizeof(msg), "v=%d", r->failures);
    if (strcmp(kind, "K") != 0 || strcmp(r->last_error, msg) != 0 ||
        r->next_ms != (int64_t)r->failures * 7)
        c->bad++;
    c->n++;
    return 0;
}

static void
crash_kill9_writer_thread(void)
{
    char dir[64], path[128];
    int round;

    tu_mkdtemp(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/state.db", dir);
    for (round = 0; round < 4; round++) {
        int p[2], wst;
        pid_t pid;
        char c;
        struct state_open_report rep = {0};
        struct state *st = NULL;
        struct row_check rc = {0, 0};
        struct state_opts o = tu_manual_opts();

        CHECK(pipe(p) == 0);
        fflush(NULL);
        pid = fork();
        if (pid == 0) {
            close(p[0]);
            crash_writer_thread(path, p[1]);
        }
        close(p[1]);
        CHECK_INT(read(p[0], &c, 1), 1);
        close(p[0]);
        usleep(50000 + round * 50000);
        CHECK_INT(kill(pid, SIGKILL), 0);
        CHECK_INT(waitpid(pid, &wst, 0), pid);
        st = state_open(path, &o, &rep, NULL);
        CHECK(st != NULL);
        CHECK_INT(rep.status, STATE_OPEN_OK);
        CHECK(rep.n_retry > 0);
        CHECK(rep.n_event > 0);
        CHECK_INT(state_retry_foreach(st, row_visit, &rc, NULL), SC_OK);
        CHECK(rc.n > 0);
        CHECK_INT(rc.bad, 0);
        state_close(st);
    }
    tu_rmdir(dir);
}

/* Fill a database with rows (so it spans many pages) and close it. */
static void
make_db(const char *path, int n)
{
    struct state_opts o = tu_manual_opts();
    struct state *st = state_open(path, &o, NULL, NULL);
    char uid[32], msg[200];
    int i;

    for (i = 0; i < n; i++) {
        struct state_event e = tu_event("ev.1", i, wall_now(), wall_now());
        snprintf(uid, sizeof(uid), "uid-%d", i);
        snprintf(msg, sizeof(msg), "Failed to check and update snapshot: attempt %d", i);
        CHECK_INT(state_event_put(st, uid, "Warning", "SnapshotFinalizerError", msg, &e, NULL),
                  SC_OK);
        CHECK_INT(state_retry_put(st, "VolumeSnapshot", uid, i, 0, msg, NULL), SC_OK);
    }
    state_close(st);
}

/* Open must recreate: moved aside to .bad, empty, usable and persistent. */
static void
expect_recreated(const char *path, const char *why_part)
{
    char bad[160], line[8192];
    struct state_open_report rep = {0};
    struct state_opts o = tu_manual_opts();
    struct state_stats stats = {0};
    struct state_retry r = {0};
    struct state *st = NULL;

    snprintf(bad, sizeof(bad), "%s.bad", path);
    st = state_open(path, &o, &rep, NULL);
    CHECK(st != NULL);
    CHECK_INT(rep.status, STATE_OPEN_RECREATED);
    CHECK_STR(rep.moved_to, bad);
    CHECK(strstr(rep.why, why_part) != NULL);
    if (strstr(rep.why, why_part) == NULL)
        fprintf(stderr, "    why: %s\n", rep.why);
    CHECK(state_open_report_is_warning(&rep));
    state_open_report_format(&rep, line, sizeof(line));
    CHECK(strstr(line, "moved to") != NULL);
    CHECK_INT(rep.n_retry + rep.n_event, 0);
    state_get_stats(st, &stats);
    CHECK(stats.persistent);
    CHECK_INT(state_retry_put(st, "K", "after", 1, 0, NULL, NULL), SC_OK);
    CHECK_INT(state_flush(st, NULL), SC_OK);
    state_close(st);
    st = state_open(path, &o, &rep, NULL);
    CHECK_INT(rep.status, STATE_OPEN_OK);
    CHECK_INT(state_retry_get(st, "K", "after", &r, NULL), SC_OK);
    state_close(st);
}

static void
garbage_file(void)
{
    char dir[64], path[128], bad[160];
    unsigned char junk[8192];
    size_t i;

    tu_mkdtemp(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/state.db", dir);
    snprintf(bad, sizeof(bad), "%s.bad", path);
    for (i = 0; i < sizeof(junk); i++)
        junk[i] = (unsigned char)(i * 131 + 7);
    CHECK_INT(tu_write_file(path, junk, sizeof(junk)), 0);
    expect_recreated(path, "not a database");
    CHECK_INT(tu_file_size(bad), sizeof(junk)); /* the evidence is kept */
    /* text, and a file shorter than the SQLite header */
    CHECK_INT(tu_write_file(path, "hello, world\n", 13), 0);
    expect_recreated(path, "not a database");
    tu_rmdir(dir);
}

static void
truncated_file(void)
{
    char dir[64], path[128];
    long long size;

    tu_mkdtemp(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/state.db", dir);
    make_db(path, 3000);
    size = tu_file_size(path);
    CHECK(size > 100000);
    CHECK_INT(truncate(path, size / 2), 0);
    expect_recreated(path, "malformed");
    /* cut inside the first page: the header survives, the schema does not */
    make_db(path, 10);
    CHECK_INT(truncate(path, 1500), 0);
    expect_recreated(path, "malformed");
    tu_rmdir(dir);
}

/* Flip bytes in the middle of a valid file (a bad sector, a torn copy). */
static void
corrupt_pages(void)
{
    char dir[64], path[128];
    long long size;
    int fd, i;
    char junk[4096];

    tu_mkdtemp(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/state.db", dir);
    make_db(path, 3000);
    size = tu_file_size(path);
    for (i = 0; i < (int)sizeof(junk); i++)
        junk[i] = (char)(i ^ 0x5a);
    fd = open(path, O_WRONLY);
    CHECK(fd >= 0);
    CHECK_INT(pwrite(fd, junk, sizeof(junk), (size / 2) & ~4095LL), sizeof(junk));
    CHECK_INT(pwrite(fd, junk, sizeof(junk), 4096), sizeof(junk));
    close(fd);
    expect_recreated(path, "");
    tu_rmdir(dir);
}

static void
directory_in_the_way(void)
{
    char dir[64], path[128], bad[160];
    struct stat sb = {0};

    tu_mkdtemp(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/state.db", dir);
    snprintf(bad, sizeof(bad), "%s.bad", path);
    CHECK_INT(mkdir(path, 0700), 0);
    expect_recreated(path, "directory");
    CHECK(stat(bad, &sb) == 0 && S_ISDIR(sb.st_mode));
    CHECK(stat(path, &sb) == 0 && S_ISREG(sb.st_mode));
    tu_rmdir(dir);
}

/* A non-empty directory named like the .bad slot: the file can still be removed. */
static void
bad_slot_taken(void)
{
    char dir[64], path[128], bad[160], inner[200];
    struct state_open_report rep = {0};
    struct state *st = NULL;

    tu_mkdtemp(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/state.db", dir);
    snprintf(bad, sizeof(bad), "%s.bad", path);
    snprintf(inner, sizeof(inner), "%s/keep", bad);
    CHECK_INT(mkdir(bad, 0700), 0);
    CHECK_INT(tu_write_file(inner, "x", 1), 0);
    CHECK_INT(tu_write_file(path, "garbage garbage garbage", 23), 0);
    st = state_open(path, NULL, &rep, NULL);
    CHECK(st != NULL);
    CHECK_INT(rep.status, STATE_OPEN_RECREATED);
    CHECK_STR(rep.moved_to, ""); /* removed, not moved */
    state_close(st);
    CHECK_INT(tu_file_size(inner), 1);
    tu_rmdir(dir);
}

static void
newer_schema(void)
{
    char dir[64], path[128];

    tu_mkdtemp(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/state.db", dir);
    CHECK_INT(tu_sql(path, "CREATE TABLE retry (x); PRAGMA user_version = 99;"), SQLITE_OK);
    expect_recreated(path, "schema version 99");
    tu_rmdir(dir);
}

static void
foreign_database(void)
{
    char dir[64], path[128], bad[160];

    tu_mkdtemp(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/state.db", dir);
    snprintf(bad, sizeof(bad), "%s.bad", path);
    CHECK_INT(tu_sql(path, "CREATE TABLE users (name TEXT); INSERT INTO users VALUES ('bob');"),
              SQLITE_OK);
    expect_recreated(path, "not our database");
    CHECK_INT(tu_sql_int(bad, "SELECT count(*) FROM users"), 1); /* untouched, just moved */
    tu_rmdir(dir);
}

/* The right version number but a schema that does not match (hand-edited). */
static void
schema_mismatch(void)
{
    char dir[64], path[128];

    tu_mkdtemp(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/state.db", dir);
    CHECK_INT(tu_sql(path, "CREATE TABLE retry (a); CREATE TABLE event (b);"
                           " PRAGMA user_version = 2;"),
              SQLITE_OK);
    expect_recreated(path, "prepare");
    tu_rmdir(dir);
}

/* A -wal file left without its database must not be replayed into a new one. */
static void
orphan_wal(void)
{
    char dir[64], path[128], wal[160];
    struct state_open_report rep = {0};
    struct state *st = NULL;
    char junk[5000];

    tu_mkdtemp(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/state.db", dir);
    snprintf(wal, sizeof(wal), "%s-wal", path);
    memset(junk, 0x37, sizeof(junk));
    CHECK_INT(tu_write_file(wal, junk, sizeof(junk)), 0);
    st = state_open(path, NULL, &rep, NULL);
    CHECK_INT(rep.status, STATE_OPEN_CREATED);
    CHECK_INT(state_retry_put(st, "K", "u", 1, 0, NULL, NULL), SC_OK);
    CHECK_INT(state_flush(st, NULL), SC_OK);
    state_close(st);
    CHECK_INT(tu_sql_int(path, "SELECT count(*) FROM retry"), 1);
    tu_rmdir(dir);
}

/* A fresh directory (dir) and the database path dir/state.db (path). */
static void
fresh_db_path(char dir[64], char path[128])
{
    tu_mkdtemp(dir, 64);
    snprintf(path, 128, "%s/state.db", dir);
}

/* state_open(path, o) that opens (checked) with the report *rep saying
 * status and the rows loaded. */
static struct state *
opened_as(const char *path, const struct state_opts *o, struct state_open_report *rep,
          enum state_open_status status, size_t n_retry, size_t n_event)
{
    struct state *st = state_open(path, o, rep, NULL);

    CHECK(st != NULL);
    CHECK_INT(rep->status, status);
    CHECK_INT(rep->n_retry, n_retry);
    CHECK_INT(rep->n_event, n_event);
    return st;
}

/* The right schema holding values no build writes: odd types, oversized
 * fields, out-of-range numbers.  Loads without harm; oversized keys are
 * skipped, numbers clamped. */
static void
tampered_rows(void)
{
    char dir[64], path[128];
    struct state_open_report rep = {0};
    struct state_opts o = tu_manual_opts();
    struct state_retry r = {0};
    struct state_event e = {0};
    struct state *st = NULL;
    char sql[4096];
    int64_t now = wall_now();

    fresh_db_path(dir, path);
    st = state_open(path, &o, &rep, NULL); /* the real schema */
    state_close(st);
    snprintf(sql, sizeof(sql),
             "INSERT INTO retry VALUES (X'41420043', 12345, -5, 1, X'00', %lld);"
             "INSERT INTO retry VALUES ('K', 'big', 99999999999, 'soon', 7, %lld);"
             "INSERT INTO retry VALUES ('K', printf('%%.600c', 'u'), 1, 1, '', %lld);"
             "INSERT INTO event VALUES ('u1', 'Warning', 'R', printf('%%.2000c', 'm'), 'n', 1, 0,"
             " %lld, '');"
             "INSERT INTO event VALUES ('u2', 'Warning', 'R', 'm', printf('%%.400c', 'n'), 1, 0,"
             " %lld, '');"
             "INSERT INTO event VALUES ('u3', 'Warning', 'R', 'm', 'ok', 'abc', 0, %lld, 'ns');",
             (long long)now, (long long)now, (long long)now, (long long)now, (long long)now,
             (long long)now);
    CHECK_INT(tu_sql(path, sql), SQLITE_OK);
    st = opened_as(path, &o, &rep, STATE_OPEN_OK, 2, 1);
    CHECK_INT(state_retry_get(st, "AB", "12345", &r, NULL), SC_OK); /* text up to the NUL */
    CHECK_INT(r.failures, 0);
    CHECK_INT(state_retry_get(st, "K", "big", &r, NULL), SC_OK);
    CHECK_INT(r.failures, 1000000000);
    CHECK_INT(r.next_ms, 0);
    CHECK_STR(r.last_error, "7");
    CHECK_INT(state_event_get(st, "u3", "Warning", "R", "m", &e, NULL), SC_OK);
    CHECK_INT(e.count, 0);
    CHECK_STR(e.namespace_, "ns");
    state_close(st);
    tu_rmdir(dir);
}

static void
copy_file(const char *from, const char *to)
{
    static char buf[1 << 20];
    FILE *f = fopen(from, "rb");
    size_t n = f != NULL ? fread(buf, 1, sizeof(buf), f) : 0;

    if (f != NULL)
        fclose(f);
    CHECK(n > 0 && n < sizeof(buf));
    CHECK_INT(tu_write_file(to, buf, n), 0);
}

/* Mutation fuzzing of the file: a valid database with 1..16 random bytes
 * changed, 300 times (fixed seed, so a failure reproduces).  Every open must
 * end in "opened" or "recreated", and the handle must work. */
static void
random_byte_flips(void)
{
    char dir[64], tmpl[128], path[128];
    long long size;
    int iter, ok = 0, recreated = 0;

    tu_mkdtemp(dir, sizeof(dir));
    snprintf(tmpl, sizeof(tmpl), "%s/template.db", dir);
    snprintf(path, sizeof(path), "%s/state.db", dir);
    make_db(tmpl, 150);
    size = tu_file_size(tmpl);
    CHECK(size > 8192);
    srand(12345);
    for (iter = 0; iter < 300; iter++) {
        struct state_open_report rep = {0};
        struct state_opts o = tu_manual_opts();
        struct state_retry r = {0};
        struct state *st = NULL;
        int fd, k, nflip = 1 + rand() % 16;

        copy_file(tmpl, path);
        fd = open(path, O_WRONLY);
        for (k = 0; k < nflip; k++) {
            unsigned char b = (unsigned char)rand();
            /* half the flips land in the first page (header, schema) */
            off_t off = (rand() % 2) ? rand() % 4096 : rand() % size;
            CHECK_INT(pwrite(fd, &b, 1, off), 1);
        }
        close(fd);
        st = state_open(path, &o, &rep, NULL);
        CHECK(st != NULL);
        if (st == NULL)
            break;
        CHECK(rep.status == STATE_OPEN_OK || rep.status == STATE_OPEN_RECREATED);
        ok += rep.status == STATE_OPEN_OK;
        recreated += rep.status == STATE_OPEN_RECREATED;
        CHECK_INT(state_retry_put(st, "K", "after", 1, 0, NULL, NULL), SC_OK);
        (void)!state_flush(st, NULL); /* may fail on damage quick_check missed: degrades */
        CHECK_INT(state_retry_get(st, "K", "after", &r, NULL), SC_OK);
        state_close(st);
    }
    fprintf(stderr, "    300 damaged files: %d opened, %d recreated\n", ok, recreated);
    tu_rmdir(dir);
}

/* Schema 1, as the first draft wrote it, built by hand. */
static void
migrate_from_v1(void)
{
    char dir[64], path[128];
    struct state_open_report rep = {0};
    struct state_opts o = tu_manual_opts();
    struct state_retry r = {0};
    struct state_event e = {0};
    struct state *st = NULL;
    char sql[2048];
    int64_t now = wall_now();

    fresh_db_path(dir, path);
    snprintf(sql, sizeof(sql),
             "CREATE TABLE retry (kind TEXT NOT NULL, uid TEXT NOT NULL,"
             " failures INTEGER NOT NULL, next_ms INTEGER NOT NULL,"
             " PRIMARY KEY (kind, uid)) WITHOUT ROWID;"
             "CREATE TABLE event (uid TEXT NOT NULL, type TEXT NOT NULL, reason TEXT NOT NULL,"
             " message TEXT NOT NULL, name TEXT NOT NULL, count INTEGER NOT NULL,"
             " first_ms INTEGER NOT NULL, last_ms INTEGER NOT NULL,"
             " PRIMARY KEY (uid, type, reason, message));"
             "INSERT INTO retry VALUES ('VolumeSnapshot', 'u1', 3, %lld);"
             "INSERT INTO retry VALUES ('VolumeSnapshotContent', 'u2', 1, %lld);"
             "INSERT INTO event VALUES ('u1', 'Warning', 'Failed', 'it broke', 'snap.abc', 4,"
             " %lld, %lld);"
             "PRAGMA user_version = 1;",
             (long long)now + 5000, (long long)now + 1000, (long long)now - 60000,
             (long long)now - 1000);
    CHECK_INT(tu_sql(path, sql), SQLITE_OK);

    st = opened_as(path, &o, &rep, STATE_OPEN_MIGRATED, 2, 1);
    CHECK_INT(rep.old_version, 1);
    CHECK_INT(tu_sql_int(path, "PRAGMA user_version"), STATE_SCHEMA_VERSION);
    CHECK_INT(state_retry_get(st, "VolumeSnapshot", "u1", &r, NULL), SC_OK);
    CHECK_INT(r.failures, 3);
    CHECK_INT(r.next_ms, now + 5000);
    CHECK_STR(r.last_error, "");
    CHECK(r.updated_ms >= now); /* schema 1 had none: counts from the migration */
    CHECK_INT(state_event_get(st, "u1", "Warning", "Failed", "it broke", &e, NULL), SC_OK);
    CHECK_STR(e.name, "snap.abc");
    CHECK_STR(e.namespace_, "");
    CHECK_INT(e.count, 4);
    /* the new columns work */
    e.count = 5;
    snprintf(e.namespace_, sizeof(e.namespace_), "default");
    CHECK_INT(state_event_put(st, "u1", "Warning", "Failed", "it broke", &e, NULL), SC_OK);
    CHECK_INT(state_retry_put(st, "VolumeSnapshot", "u1", 4, now, "again", NULL), SC_OK);
    state_close(st);
    st = state_open(path, &o, &rep, NULL);
    CHECK_INT(rep.status, STATE_OPEN_OK);
    CHECK_INT(state_event_get(st, "u1", "Warning", "Failed", "it broke", &e, NULL), SC_OK);
    CHECK_INT(e.count, 5);
    CHECK_STR(e.namespace_, "default");
    CHECK_INT(state_retry_get(st, "VolumeSnapshot", "u1", &r, NULL), SC_OK);
    CHECK_STR(r.last_error, "again");
    state_close(st);
    tu_rmdir(dir);
}

/* Become an unprivileged user so that file modes apply (the tests may run as root). */
static void
drop_root(void)
{
    if (geteuid() == 0) {
        CHECK_INT(setgid(65534), 0);
        CHECK_INT(setuid(65534), 0);
    }
    CHECK(geteuid() != 0);
}

static void
read_only_dir(void)
{
    char dir[64], ro[128], path[160], path2[160], rw[128], ur[128], path3[160], bad3[170];
    struct state_open_report rep = {0};
    struct state_stats stats = {0};
    struct state_retry r = {0};
    struct state *st = NULL;
    char line[8192];
    pid_t pid;

    tu_mkdtemp(dir, sizeof(dir));
    CHECK_INT(chmod(dir, 0755), 0);
    snprintf(ro, sizeof(ro), "%s/ro", dir);
    snprintf(rw, sizeof(rw), "%s/ro-with-db", dir);
    snprintf(path, sizeof(path), "%s/state.db", ro);
    snprintf(path2, sizeof(path2), "%s/state.db", rw);
    CHECK_INT(mkdir(ro, 0555), 0);
    CHECK_INT(mkdir(rw, 0755), 0);
    make_db(path2, 5);
    CHECK_INT(chmod(rw, 0555), 0);
    CHECK_INT(chmod(path2, 0444), 0);
    /* a writable directory holding a file we may not read */
    snprintf(ur, sizeof(ur), "%s/unreadable", dir);
    snprintf(path3, sizeof(path3), "%s/state.db", ur);
    snprintf(bad3, sizeof(bad3), "%s.bad", path3);
    CHECK_INT(mkdir(ur, 0777), 0);
    CHECK_INT(chmod(ur, 0777), 0); /* past the umask */
    make_db(path3, 5);
    CHECK_INT(chmod(path3, 0000), 0);
    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        /* The harness's own child: returning ends it with its check count. */
        drop_root();
        /* no database yet, and none can be created */
        st = state_open_dir(ro, NULL, &rep, NULL);
        CHECK(st != NULL);
        CHECK_INT(rep.status, STATE_OPEN_MEMORY);
        state_open_report_format(&rep, line, sizeof(line));
        CHECK(strstr(line, "memory only") != NULL);
        state_get_stats(st, &stats);
        CHECK(!stats.persistent);
        CHECK_INT(state_retry_put(st, "K", "u", 2, 7, "x", NULL), SC_OK);
        CHECK_INT(state_retry_get(st, "K", "u", &r, NULL), SC_OK);
        CHECK_INT(r.failures, 2);
        CHECK_INT(state_flush(st, NULL), SC_OK);
        state_close(st);
        /* an existing database we may not write: used from memory, left intact */
        st = state_open_dir(rw, NULL, &rep, NULL);
        CHECK(st != NULL);
        CHECK_INT(rep.status, STATE_OPEN_MEMORY);
        CHECK_INT(state_retry_put(st, "K", "u", 2, 7, "x", NULL), SC_OK);
        state_close(st);
        /* an unreadable file in a writable directory: moved aside, recreated */
        st = state_open_dir(ur, NULL, &rep, NULL);
        CHECK(st != NULL);
        CHECK_INT(rep.status, STATE_OPEN_RECREATED);
        CHECK_STR(rep.moved_to, bad3);
        CHECK_INT(state_retry_put(st, "K", "u", 2, 7, "x", NULL), SC_OK);
        state_close(st);
        CHECK_INT(tu_sql_int(path3, "SELECT count(*) FROM retry"), 1);
        return;
    }
    {
        int wst = 0;
        CHECK_INT(waitpid(pid, &wst, 0), pid);
        CHECK(WIFEXITED(wst) && WEXITSTATUS(wst) == 0);
    }
    CHECK_INT(tu_sql_int(path2, "SELECT count(*) FROM retry"), 5);
    CHECK(access(path, F_OK) != 0);
    tu_rmdir(dir);
}

struct degrade_seen {
    int calls;
    bool persistent;
    char why[SC_ERR_MSG_LEN];
};

static void
on_degrade(void *ctx, bool persistent, const char *why)
{
    struct degrade_seen *d = ctx;
    d->calls++;
    d->persistent = persistent;
    snprintf(d->why, sizeof(d->why), "%s", why);
}

/* Fill until the store gives up the disk; return how many rows went in. */
static int
fill_until_degraded(struct state *st, int limit)
{
    char uid[32], msg[STATE_MAX_MESSAGE];
    struct state_stats stats = {0};
    int i;

    memset(msg, 'm', sizeof(msg) - 1);
    msg[sizeof(msg) - 1] = '\0';
    for (i = 0; i < limit; i++) {
        struct state_event e = tu_event("ev.1", 1, wall_now(), wall_now());
        snprintf(uid, sizeof(uid), "uid-%d", i);
        CHECK_INT(state_event_put(st, uid, "Warning", "R", msg, &e, NULL), SC_OK);
        if (i % 20 == 19) {
            (void)!state_flush(st, NULL);
            state_get_stats(st, &stats);
            if (!stats.persistent)
                return i + 1;
        }
    }
    return i;
}

static void
full_disk_cap(void)
{
    char dir[64], path[128];
    struct state_opts o = tu_manual_opts();
    struct degrade_seen seen = {0, true, ""};
    struct state_stats stats = {0};
    struct state_event e = {0};
    struct state_retry r = {0};
    struct sc_err err = {0};
    struct state *st = NULL;
    int n;

    tu_mkdtemp(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/state.db", dir);
    o.max_db_bytes = 128 * 1024;
    o.on_degrade = on_degrade;
    o.on_degrade_ctx = &seen;
    st = state_open(path, &o, NULL, NULL);
    n = fill_until_degraded(st, 5000);
    CHECK(n < 5000);
    state_get_stats(st, &stats);
    CHECK(!stats.persistent);
    CHECK_INT(stats.n_degraded, 1);
    CHECK(strstr(stats.degraded_why, "full") != NULL);
    CHECK_INT(seen.calls, 1);
    CHECK(!seen.persistent);
    CHECK(strstr(seen.why, "memory") != NULL);
    /* still answers, from memory, and flushing is a no-op */
    CHECK_INT(state_event_get(st, "uid-0", "Warning", "R", "mmm", &e, NULL), SC_ENOTFOUND);
    CHECK_INT(state_retry_put(st, "K", "u", 1, 0, NULL, &err), SC_OK);
    CHECK_INT(state_retry_get(st, "K", "u", &r, NULL), SC_OK);
    CHECK_INT(state_flush(st, &err), SC_OK);
    state_get_stats(st, &stats);
    CHECK_INT(stats.n_event, n);
    state_close(st);
    fprintf(stderr, "    degraded after %d rows: %s\n", n, seen.why);
    tu_rmdir(dir);
}

/* A real full file system: a 256 KiB tmpfs in a private mount namespace. */
static void
full_disk_tmpfs(void)
{
    char dir[64], path[128];
    struct state_opts o = tu_manual_opts();
    struct degrade_seen seen = {0, true, ""};
    struct state_stats stats = {0};
    struct state *st = NULL;
    int n;

    tu_mkdtemp(dir, sizeof(dir));
    if (unshare(CLONE_NEWNS) != 0 || mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("tmpfs", dir, "tmpfs", 0, "size=256k") != 0) {
        fprintf(stderr,
                "    SKIP: cannot mount a tmpfs here (%s); full_disk_cap covers "
                "SQLITE_FULL\n",
                strerror(errno));
        tu_rmdir(dir);
        return;
    }
    snprintf(path, sizeof(path), "%s/state.db", dir);
    o.on_degrade = on_degrade;
    o.on_degrade_ctx = &seen;
    st = state_open(path, &o, NULL, NULL);
    n = fill_until_degraded(st, 20000);
    CHECK(n < 20000);
    state_get_stats(st, &stats);
    CHECK(!stats.persistent);
    CHECK_INT(seen.calls, 1);
    fprintf(stderr, "    tmpfs full after %d rows: %s\n", n, seen.why);
    state_close(st);
    umount(dir);
    tu_rmdir(dir);
}

/* Memory mode retries the file: here its directory appears later. */
static void
reopen_when_usable(void)
{
    char dir[64], sub[96], path[128];
    struct state_open_report rep = {0};
    struct state_opts o = {0};
    struct state_stats stats = {0};
    struct degrade_seen seen = {0, false, ""};
    struct state *st = NULL;
    int i;

    tu_mkdtemp(dir, sizeof(dir));
    snprintf(sub, sizeof(sub), "%s/later", dir);
    snprintf(path, sizeof(path), "%s/state.db", sub);
    memset(&o, 0, sizeof(o));
    o.flush_interval_ms = 10;
    o.reopen_interval_ms = 50;
    o.on_degrade = on_degrade;
    o.on_degrade_ctx = &seen;
    st = state_open(path, &o, &rep, NULL); /* state_open() does not create directories */
    CHECK(st != NULL);
    CHECK_INT(rep.status, STATE_OPEN_MEMORY);
    CHECK_INT(state_retry_put(st, "K", "kept", 3, 0, "x", NULL), SC_OK);
    CHECK_INT(state_retry_put(st, "K", "gone", 1, 0, NULL, NULL), SC_OK);
    CHECK_INT(state_retry_clear(st, "K", "gone", NULL), SC_OK);
    usleep(200000);
    state_get_stats(st, &stats);
    CHECK(!stats.persistent);
    CHECK_INT(mkdir(sub, 0700), 0);
    for (i = 0; i < 1000; i++) { /* up to 10 s (a loaded machine) */
        state_get_stats(st, &stats);
        if (stats.persistent && stats.n_dirty == 0 && stats.n_flushes > 0)
            break;
        usleep(10000);
    }
    CHECK(stats.persistent);
    CHECK_INT(stats.n_reopened, 1);
    CHECK_INT(seen.calls, 1);
    CHECK(seen.persistent);
    CHECK_INT(tu_sql_int(path, "SELECT count(*) FROM retry"), 1);
    CHECK_INT(tu_sql_int(path, "SELECT failures FROM retry WHERE uid = 'kept'"), 3);
    state_close(st);
    tu_rmdir(dir);
}

/* A disk that stays full: each retry of the file fails again, and the wait
 * between retries doubles (20, 40, 80, ... ms) instead of rewriting every
 * row every 20 ms. */
static void
reopen_backs_off(void)
{
    char dir[64], path[128];
    struct state_opts o = {0};
    struct state_stats stats = {0};
    struct degrade_seen seen = {0, true, ""};
    struct state *st = NULL;

    tu_mkdtemp(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/state.db", dir);
    memset(&o, 0, sizeof(o));
    o.flush_interval_ms = 5;
    o.reopen_interval_ms = 20;
    o.max_db_bytes = 64 * 1024;
    o.on_degrade = on_degrade;
    o.on_degrade_ctx = &seen;
    st = state_open(path, &o, NULL, NULL);
    CHECK(fill_until_degraded(st, 5000) < 5000);
    /* at least 1.5 s, and until the first reopen (seconds under valgrind) */
    struct clock clk = clock_system();
    int64_t t0 = clock_mono_ms(&clk), waited = 0;
    do {
        usleep(10000);
        state_get_stats(st, &stats);
        waited = clock_mono_ms(&clk) - t0;
    } while ((waited < 1500 || stats.n_reopened == 0) && waited < 60000);
    fprintf(stderr,
            "    %lld ms of a full disk: %llu reopen attempts succeeded, %llu degradations\n",
            (long long)waited, (unsigned long long)stats.n_reopened,
            (unsigned long long)stats.n_degraded);
    CHECK(stats.n_reopened >= 1);
    CHECK(stats.n_reopened <= 8); /* every 20 ms would be ~75 */
    CHECK(stats.n_degraded >= stats.n_reopened);
    state_close(st);
    tu_rmdir(dir);
}

TEST_MAIN(TEST(crash_kill9_mid_transaction), TEST(crash_kill9_writer_thread), TEST(garbage_file),
          TEST(truncated_file), TEST(corrupt_pages), TEST(directory_in_the_way),
          TEST(bad_slot_taken), TEST(newer_schema), TEST(foreign_database), TEST(schema_mismatch),
          TEST(orphan_wal), TEST(tampered_rows), TEST(random_byte_flips), TEST(migrate_from_v1),
          TEST(read_only_dir), TEST(full_disk_cap), TEST(full_disk_tmpfs), TEST(reopen_when_usable),
          TEST(reopen_backs_off))
