/* state/state_db.c -- the SQLite side of state/: open, check, migrate, load and
 * write the database file.
 *
 * Only state.c calls this file, and always under its io lock, so one
 * connection (opened SQLITE_OPEN_NOMUTEX) is never used by two threads at once.
 *
 * Schema history (PRAGMA user_version):
 *   1  retry(kind, uid, failures, next_ms), event(uid, type, reason, message,
 *      name, count, first_ms, last_ms): the first draft.
 *   2  adds retry.last_error, retry.updated_ms (for size-bounded pruning) and
 *      event.namespace (where the Event object lives).
 * A migration upgrades version v to v+1 in one transaction; a file from a newer
 * build is moved aside, never downgraded.
 */
#include "state/state_int.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The current schema, created in one transaction on an empty file.  Keep the
 * column order equal to what the migrations produce. */
static const char schema_sql[] =
    "CREATE TABLE retry ("
    " kind TEXT NOT NULL, uid TEXT NOT NULL,"
    " failures INTEGER NOT NULL, next_ms INTEGER NOT NULL,"
    " last_error TEXT NOT NULL DEFAULT '', updated_ms INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY (kind, uid)) WITHOUT ROWID;"
    "CREATE TABLE event ("
    " uid TEXT NOT NULL, type TEXT NOT NULL, reason TEXT NOT NULL, message TEXT NOT NULL,"
    " name TEXT NOT NULL, count INTEGER NOT NULL,"
    " first_ms INTEGER NOT NULL, last_ms INTEGER NOT NULL,"
    " namespace TEXT NOT NULL DEFAULT '',"
    " PRIMARY KEY (uid, type, reason, message)) WITHOUT ROWID;"
    "PRAGMA user_version = 2;";

/* migrations[v - 1] upgrades version v to v + 1. */
static const char *const migrations[] = {
    /* 1 -> 2 */
    "ALTER TABLE retry ADD COLUMN last_error TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE retry ADD COLUMN updated_ms INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE event ADD COLUMN namespace TEXT NOT NULL DEFAULT '';"
    "PRAGMA user_version = 2;",
};
_Static_assert(SC_ARRAY_LEN(migrations) == STATE_SCHEMA_VERSION - 1, "one migration per version");

enum {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_WIPE_RETRY,
    ST_WIPE_EVENT,
    ST_PUT_RETRY,
    ST_DEL_RETRY,
    ST_PUT_EVENT,
    ST_DEL_EVENT,
    ST_N
};

static const char *const stmt_sql[ST_N] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_WIPE_RETRY] = "DELETE FROM retry",
    [ST_WIPE_EVENT] = "DELETE FROM event",
    [ST_PUT_RETRY] = "INSERT OR REPLACE INTO retry (kind, uid, failures, next_ms, last_error,"
                     " updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_DEL_RETRY] = "DELETE FROM retry WHERE kind = ?1 AND uid = ?2",
    [ST_PUT_EVENT] = "INSERT OR REPLACE INTO event (uid, type, reason, message, name, count,"
                     " first_ms, last_ms, namespace) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [ST_DEL_EVENT] = "DELETE FROM event WHERE uid = ?1 AND type = ?2 AND reason = ?3 AND"
                     " message = ?4",
};

struct sdb {
    sqlite3 *db;
    sqlite3_stmt *st[ST_N]; /* prepared once in sdb_open(), finalized in sdb_close() */
};

/* Outcome of one attempt at opening a file. */
enum attempt { A_OK, A_BAD, A_FAIL, A_NOMEM };

bool
sdb_code_means_bad_file(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_ERROR: /* e.g. "no such table": somebody else's schema */
    case SQLITE_SCHEMA:
    case SQLITE_MISMATCH:
    case SQLITE_FORMAT:
    case SQLITE_RANGE:
        return true;
    default:
        return false;
    }
}

static enum attempt
classify(int rc, bool existed)
{
    switch (rc & 0xff) {
    case SQLITE_NOMEM:
        return A_NOMEM;
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_AUTH:
        /* An existing file we cannot open is unreadable: move it aside.  If
         * the directory is the problem the move fails too and we end in memory. */
        return existed ? A_BAD : A_FAIL;
    default:
        return sdb_code_means_bad_file(rc) ? A_BAD : A_FAIL;
    }
}

void
sdb_close(struct sdb *d)
{
    int i;

    if (d == NULL)
        return;
    for (i = 0; i < ST_N; i++)
        sqlite3_finalize(d->st[i]);
    sqlite3_close(d->db); /* checkpoints the WAL into the file and removes it */
    free(d);
}

/* Copy the connection's message at once (it is overwritten by the next call). */
static void
set_why(char *why, size_t cap, sqlite3 *db, int rc, const char *what)
{
    const char *m = db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    snprintf(why, cap, "%s: %s", what, m);
}

static int
exec_sql(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/* Run a one-row, one-column integer query. */
static int
query_int(sqlite3 *db, const char *sql, long long *out)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);

    if (rc != SQLITE_OK)
        return rc;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(s, 0);
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        *out = 0;
        rc = SQLITE_OK;
    }
    sqlite3_finalize(s);
    return rc;
}

/* One-row text query into out (copied at once). */
static int
query_text(sqlite3 *db, const char *sql, char *out, size_t cap)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);

    out[0] = '\0';
    if (rc != SQLITE_OK)
        return rc;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(s, 0);
        snprintf(out, cap, "%s", t != NULL ? (const char *)t : "");
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        rc = SQLITE_OK;
    }
    sqlite3_finalize(s);
    return rc;
}

static const char *
col_text(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    return t != NULL ? (const char *)t : "";
}

/* Clamp a stored integer into an int count (a tampered file may hold anything). */
static int
col_count(sqlite3_stmt *s, int i)
{
    sqlite3_int64 v = sqlite3_column_int64(s, i);
    if (v < 0)
        return 0;
    if (v > 1000000000)
        return 1000000000;
    return (int)v;
}

static int
load_table(sqlite3 *db, int table, sdb_load_fn *load, void *ctx, size_t *n_loaded)
{
    static const char *const sql[2] = {
        "SELECT kind, uid, last_error, failures, next_ms, updated_ms FROM retry"
        " ORDER BY updated_ms",
        "SELECT uid, type, reason, message, namespace, name, count, first_ms, last_ms FROM event"
        " ORDER BY last_ms",
    };
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(db, sql[table], -1, &s, NULL);

    if (rc != SQLITE_OK)
        return rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *keys[SROW_MAX_KEYS];
        struct srow *r = NULL;

        if (table == SROW_RETRY) {
            keys[0] = col_text(s, 0);
            keys[1] = col_text(s, 1);
            if (srow_check_keys(SROW_RETRY, keys) != SC_OK)
                continue; /* an oversized key from a tampered file: leave it */
            r = srow_new(SROW_RETRY, keys, 2, col_text(s, 2), NULL);
            if (r == NULL) {
                rc = SQLITE_NOMEM;
                break;
            }
            r->n = col_count(s, 3);
            r->t1 = sqlite3_column_int64(s, 4);
            r->t2 = sqlite3_column_int64(s, 5);
        } else {
            int i;
            for (i = 0; i < 4; i++)
                keys[i] = col_text(s, i);
            if (srow_check_keys(SROW_EVENT, keys) != SC_OK ||
                strlen(col_text(s, 4)) >= STATE_MAX_NS || strlen(col_text(s, 5)) >= STATE_MAX_NAME)
                continue;
            r = srow_new(SROW_EVENT, keys, 4, col_text(s, 4), col_text(s, 5));
            if (r == NULL) {
                rc = SQLITE_NOMEM;
                break;
            }
            r->n = col_count(s, 6);
            r->t1 = sqlite3_column_int64(s, 7);
            r->t2 = sqlite3_column_int64(s, 8);
        }
        if (load(ctx, r) != 0) {
            rc = SQLITE_NOMEM;
            break;
        }
        (*n_loaded)++;
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Upgrade from version `from` to STATE_SCHEMA_VERSION, one transaction per step. */
static int
migrate(sqlite3 *db, long long from)
{
    long long v;
    int rc;

    for (v = from; v < STATE_SCHEMA_VERSION; v++) {
        rc = exec_sql(db, "BEGIN IMMEDIATE");
        if (rc != SQLITE_OK)
            return rc;
        rc = exec_sql(db, migrations[v - 1]);
        if (rc == SQLITE_OK)
            rc = exec_sql(db, "COMMIT");
        if (rc != SQLITE_OK) {
            int keep = rc;
            exec_sql(db, "ROLLBACK");
            return keep;
        }
    }
    return SQLITE_OK;
}

/* Unlink "<path><suffix>" (ignoring a missing file). */
static void
unlink_suffix(const char *path, const char *suffix)
{
    char p[STATE_MAX_PATH + 16];
    snprintf(p, sizeof(p), "%s%s", path, suffix);
    unlink(p);
}

static void
rename_suffix(const char *from, const char *to, const char *suffix)
{
    char a[STATE_MAX_PATH + 16], b[STATE_MAX_PATH + 16];
    snprintf(a, sizeof(a), "%s%s", from, suffix);
    snprintf(b, sizeof(b), "%s%s", to, suffix);
    if (rename(a, b) != 0)
        unlink(a);
}

/* Move path (and its -wal/-shm) to "<path>.bad", replacing the previous .bad;
 * if that fails, remove it.  Returns 0 if path is gone, else -1 (errno kept in
 * why).  moved_to is "" if it was removed rather than moved. */
static int
move_aside(const char *path, char *moved_to, size_t mcap, char *why, size_t wcap)
{
    char bad[STATE_MAX_PATH];
    struct stat sb = {0};

    moved_to[0] = '\0';
    if (lstat(path, &sb) != 0) {
        if (errno == ENOENT) {
            unlink_suffix(path, "-wal");
            unlink_suffix(path, "-shm");
            return 0;
        }
        snprintf(why, wcap, "stat %s: %s", path, strerror(errno));
        return -1;
    }
    snprintf(bad, sizeof(bad), "%.*s.bad", STATE_MAX_PATH - 8, path);
    if (unlink(bad) != 0)
        rmdir(bad); /* an empty directory left by an earlier move; a full one stays */
    unlink_suffix(bad, "-wal");
    unlink_suffix(bad, "-shm");
    if (rename(path, bad) == 0) {
        snprintf(moved_to, mcap, "%s", bad);
        rename_suffix(path, bad, "-wal");
        unlink_suffix(path, "-shm");
        return 0;
    }
    if (!S_ISDIR(sb.st_mode) && unlink(path) == 0) {
        unlink_suffix(path, "-wal");
        unlink_suffix(path, "-shm");
        return 0;
    }
    snprintf(why, wcap, "cannot move %s aside: %s", path, strerror(errno));
    return -1;
}

/* One attempt at opening the file: the phases below share this.  A phase
 * returns A_OK to go on; A_FAIL means "classify rc", A_BAD a file that is
 * not ours. */
struct att {
    const char *path;
    const struct state_opts *o;
    struct sdb *d;
    char *why;
    size_t wcap;
    struct state_open_report *rep;
    long long version;
    bool existed;
    int rc; /* the failing SQLite code, for classify() */
};

static enum attempt
att_sqlite_fail(struct att *a, int rc, const char *what)
{
    a->rc = rc;
    set_why(a->why, a->wcap, a->d->db, rc, what);
    return A_FAIL;
}

/* Not a regular file: bad.  A new or empty file: drop a stray WAL. */
static enum attempt
att_file(struct att *a)
{
    struct stat sb = {0};

    a->existed = lstat(a->path, &sb) == 0;
    if (a->existed && !S_ISREG(sb.st_mode)) {
        snprintf(a->why, a->wcap, "%s is not a regular file%s", a->path,
                 S_ISDIR(sb.st_mode) ? " (a directory)" : "");
        return A_BAD;
    }
    if (!a->existed || sb.st_size == 0) {
        /* A WAL left without its database would be replayed into the new one. */
        unlink_suffix(a->path, "-wal");
        unlink_suffix(a->path, "-shm");
    }
    return A_OK;
}

/* Open, then read the schema version: one this build knows, and 0 only for
 * an empty file. */
static enum attempt
att_open(struct att *a)
{
    long long n_objects = 0;
    int rc = sqlite3_open_v2(
        a->path, &a->d->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);

    if (rc != SQLITE_OK)
        return att_sqlite_fail(a, rc, "open");
    sqlite3_extended_result_codes(a->d->db, 1);
    sqlite3_busy_timeout(a->d->db, a->o->busy_timeout_ms);
    rc = query_int(a->d->db, "PRAGMA user_version", &a->version);
    if (rc != SQLITE_OK)
        return att_sqlite_fail(a, rc, "read schema version");
    a->rep->old_version = (int)a->version;
    if (a->version > STATE_SCHEMA_VERSION || a->version < 0) {
        snprintf(a->why, a->wcap, "schema version %lld is not one this build knows (%d)",
                 a->version, STATE_SCHEMA_VERSION);
        return A_BAD;
    }
    if (a->version != 0)
        return A_OK;
    rc = query_int(a->d->db, "SELECT count(*) FROM sqlite_master", &n_objects);
    if (rc != SQLITE_OK)
        return att_sqlite_fail(a, rc, "read schema");
    if (n_objects > 0) {
        snprintf(a->why, a->wcap, "not our database (schema version 0 with %lld objects)",
                 n_objects);
        return A_BAD;
    }
    return A_OK;
}

/* Writable, WAL, synchronous=NORMAL, and the size cap. */
static enum attempt
att_pragmas(struct att *a)
{
    char mode[16];
    int rc;

    if (sqlite3_db_readonly(a->d->db, "main") == 1) {
        snprintf(a->why, a->wcap, "%s is read-only", a->path);
        a->rc = SQLITE_READONLY;
        return A_FAIL;
    }
    rc = query_text(a->d->db, "PRAGMA journal_mode = WAL", mode, sizeof(mode));
    if (rc != SQLITE_OK)
        return att_sqlite_fail(a, rc, "set WAL mode");
    rc = exec_sql(a->d->db, "PRAGMA synchronous = NORMAL; PRAGMA cache_size = -256"); /* KiB */
    if (rc != SQLITE_OK)
        return att_sqlite_fail(a, rc, "set synchronous");
    if (a->o->max_db_bytes > 0) {
        long long page = 4096, pages;
        char sql[64];

        if (query_int(a->d->db, "PRAGMA page_size", &page) != SQLITE_OK || page <= 0)
            page = 4096;
        pages = (long long)(a->o->max_db_bytes / page);
        snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %lld", pages > 8 ? pages : 8LL);
        rc = query_int(a->d->db, sql, &page);
        if (rc != SQLITE_OK)
            return att_sqlite_fail(a, rc, "set max_page_count");
    }
    return A_OK;
}

/* An existing database passes quick_check; a new one gets the schema, an
 * older one is migrated. */
static enum attempt
att_schema(struct att *a, bool *created, bool *migrated)
{
    char verdict[128];
    int rc;

    if (a->version > 0) {
        rc = query_text(a->d->db, "PRAGMA quick_check", verdict, sizeof(verdict));
        if (rc != SQLITE_OK)
            return att_sqlite_fail(a, rc, "check");
        if (strcmp(verdict, "ok") != 0) {
            snprintf(a->why, a->wcap, "integrity check failed: %s", verdict);
            return A_BAD;
        }
    }
    if (a->version == 0) {
        rc = exec_sql(a->d->db, "BEGIN IMMEDIATE");
        if (rc == SQLITE_OK)
            rc = exec_sql(a->d->db, schema_sql);
        if (rc == SQLITE_OK)
            rc = exec_sql(a->d->db, "COMMIT");
        if (rc != SQLITE_OK) {
            att_sqlite_fail(a, rc, "create schema");
            exec_sql(a->d->db, "ROLLBACK");
            return A_FAIL;
        }
        *created = true;
    } else if (a->version < STATE_SCHEMA_VERSION) {
        rc = migrate(a->d->db, a->version);
        if (rc != SQLITE_OK)
            return att_sqlite_fail(a, rc, "migrate");
        *migrated = true;
    }
    return A_OK;
}

/* Prepare the statements, then load both tables through load. */
static enum attempt
att_load(struct att *a, sdb_load_fn *load, sdb_reset_fn *reset, void *ctx,
         struct state_open_report *rep)
{
    int rc, i;

    for (i = 0; i < ST_N; i++) {
        rc = sqlite3_prepare_v3(a->d->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &a->d->st[i],
                                NULL);
        if (rc != SQLITE_OK)
            return att_sqlite_fail(a, rc, "prepare");
    }
    rc = load_table(a->d->db, SROW_RETRY, load, ctx, &rep->n_retry);
    if (rc == SQLITE_OK)
        rc = load_table(a->d->db, SROW_EVENT, load, ctx, &rep->n_event);
    if (rc != SQLITE_OK) {
        att_sqlite_fail(a, rc, "load");
        reset(ctx);
        rep->n_retry = rep->n_event = 0;
        return A_FAIL;
    }
    return A_OK;
}

static enum attempt
attempt(const char *path, const struct state_opts *o, sdb_load_fn *load, sdb_reset_fn *reset,
        void *ctx, struct state_open_report *rep, bool *created, bool *migrated, struct sdb **out,
        char *why, size_t wcap)
{
    struct att a = {path, o, calloc(1, sizeof(struct sdb)), why, wcap, rep, 0, false, SQLITE_OK};
    enum attempt res;

    why[0] = '\0';
    *created = *migrated = false;
    rep->n_retry = rep->n_event = 0;
    if (a.d == NULL)
        return A_NOMEM;
    res = att_file(&a);
    if (res == A_OK)
        res = att_open(&a);
    if (res == A_OK)
        res = att_pragmas(&a);
    if (res == A_OK)
        res = att_schema(&a, created, migrated);
    if (res == A_OK)
        res = att_load(&a, load, reset, ctx, rep);
    if (res == A_OK) {
        *out = a.d;
        return A_OK;
    }
    if (res == A_FAIL)
        res = classify(a.rc, a.existed);
    sdb_close(a.d);
    return res;
}

int
sdb_open(const char *path, const struct state_opts *o, bool fresh, sdb_load_fn *load,
         sdb_reset_fn *reset, void *ctx, struct state_open_report *rep, struct sdb **out,
         struct sc_err *err)
{
    char why[SC_ERR_MSG_LEN] = "";
    bool created = false, migrated = false;
    enum attempt a = A_BAD;

    *out = NULL;
    rep->old_version = -1;
    rep->moved_to[0] = '\0';
    rep->why[0] = '\0';
    snprintf(rep->path, sizeof(rep->path), "%s", path);
    if (strlen(path) + 16 >= STATE_MAX_PATH) {
        rep->status = STATE_OPEN_MEMORY;
        snprintf(rep->why, sizeof(rep->why), "path too long");
        return sc_err_set(err, SC_ESTATE, "state: %s", rep->why);
    }
    if (fresh)
        snprintf(why, sizeof(why), "recreating on request");
    else
        a = attempt(path, o, load, reset, ctx, rep, &created, &migrated, out, why, sizeof(why));
    if (a == A_OK) {
        rep->status =
            created ? STATE_OPEN_CREATED : (migrated ? STATE_OPEN_MIGRATED : STATE_OPEN_OK);
        return SC_OK;
    }
    if (a == A_NOMEM) {
        rep->status = STATE_OPEN_MEMORY;
        snprintf(rep->why, sizeof(rep->why), "out of memory");
        return sc_err_set(err, SC_ENOMEM, "state: out of memory opening %s", path);
    }
    snprintf(rep->why, sizeof(rep->why), "%s", why);
    if (a == A_BAD) {
        char why2[SC_ERR_MSG_LEN] = "";
        int old_version = rep->old_version;
        if (move_aside(path, rep->moved_to, sizeof(rep->moved_to), why2, sizeof(why2)) == 0) {
            a = attempt(path, o, load, reset, ctx, rep, &created, &migrated, out, why2,
                        sizeof(why2));
            rep->old_version = old_version;
            if (a == A_OK) {
                rep->status = STATE_OPEN_RECREATED;
                return SC_OK;
            }
            if (a == A_NOMEM) {
                rep->status = STATE_OPEN_MEMORY;
                return sc_err_set(err, SC_ENOMEM, "state: out of memory opening %s", path);
            }
        }
        /* "<first problem>; <why the fix failed>" */
        snprintf(rep->why + strlen(rep->why), sizeof(rep->why) - strlen(rep->why), "; %s", why2);
    }
    rep->status = STATE_OPEN_MEMORY;
    return sc_err_set(err, SC_ESTATE, "state: %s", rep->why);
}

static int
bind_text(sqlite3_stmt *s, int i, const char *v)
{
    return sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

/* Step a statement that returns no rows; reset and clear it afterwards. */
static int
run(sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

static int
write_row(struct sdb *d, const struct srow *r)
{
    sqlite3_stmt *s;
    int i, nk = r->table == SROW_RETRY ? 2 : 4;

    if (r->table == SROW_RETRY)
        s = d->st[r->dead ? ST_DEL_RETRY : ST_PUT_RETRY];
    else
        s = d->st[r->dead ? ST_DEL_EVENT : ST_PUT_EVENT];
    for (i = 0; i < nk; i++)
        bind_text(s, i + 1, srow_key(r, i));
    if (!r->dead) {
        if (r->table == SROW_RETRY) {
            sqlite3_bind_int(s, 3, r->n);
            sqlite3_bind_int64(s, 4, r->t1);
            bind_text(s, 5, r->v1);
            sqlite3_bind_int64(s, 6, r->t2);
        } else {
            bind_text(s, 5, r->v2);
            sqlite3_bind_int(s, 6, r->n);
            sqlite3_bind_int64(s, 7, r->t1);
            sqlite3_bind_int64(s, 8, r->t2);
            bind_text(s, 9, r->v1);
        }
    }
    return run(s);
}

static int
fail_tx(struct sdb *d, int rc, int *sqlite_rc, struct sc_err *err)
{
    *sqlite_rc = rc & 0xff;
    sc_err_set(err, SC_ESTATE, "state: write: %s", sqlite3_errmsg(d->db));
    if (!sqlite3_get_autocommit(d->db))
        run(d->st[ST_ROLLBACK]);
    return SC_ESTATE;
}

int
sdb_begin(struct sdb *d, bool wipe, int *sqlite_rc, struct sc_err *err)
{
    int rc = run(d->st[ST_BEGIN]);

    *sqlite_rc = SQLITE_OK;
    if (rc == SQLITE_OK && wipe) {
        rc = run(d->st[ST_WIPE_RETRY]);
        if (rc == SQLITE_OK)
            rc = run(d->st[ST_WIPE_EVENT]);
    }
    return rc == SQLITE_OK ? SC_OK : fail_tx(d, rc, sqlite_rc, err);
}

int
sdb_put(struct sdb *d, struct srow *const *rows, size_t n, int *sqlite_rc, struct sc_err *err)
{
    size_t i;
    int rc = SQLITE_OK;

    *sqlite_rc = SQLITE_OK;
    for (i = 0; rc == SQLITE_OK && i < n; i++)
        rc = write_row(d, rows[i]);
    return rc == SQLITE_OK ? SC_OK : fail_tx(d, rc, sqlite_rc, err);
}

int
sdb_commit(struct sdb *d, int *sqlite_rc, struct sc_err *err)
{
    int rc = run(d->st[ST_COMMIT]);

    *sqlite_rc = SQLITE_OK;
    return rc == SQLITE_OK ? SC_OK : fail_tx(d, rc, sqlite_rc, err);
}
