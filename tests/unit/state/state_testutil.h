/* tests/unit/state/state_testutil.h -- helpers shared by the state/ unit tests
 * (header-only: each test binary is one .c file). */
#ifndef SC_STATE_TESTUTIL_H
#define SC_STATE_TESTUTIL_H

#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state/state.h"
#include "tests/lib/harness.h"

static inline int
tu_rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

/* A fresh directory under /tmp; removed by tu_rmdir(). */
static inline void
tu_mkdtemp(char *out, size_t cap)
{
    snprintf(out, cap, "/tmp/state-test-XXXXXX");
    if (mkdtemp(out) == NULL) {
        perror("mkdtemp");
        exit(2);
    }
}

static inline void
tu_rmdir(const char *dir)
{
    nftw(dir, tu_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Run one SQL text on a file with the plain SQLite API (to build fixtures and
 * to look at what state/ wrote).  Returns the SQLite code. */
static inline int
tu_sql(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open(path, &db);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_close(db);
    return rc;
}

/* First column of the first row of a query, as an integer (-1 on error). */
static inline long long
tu_sql_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    long long v = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

static inline int
tu_write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    size_t w;
    if (f == NULL)
        return -1;
    w = fwrite(p, 1, n, f);
    return fclose(f) == 0 && w == n ? 0 : -1;
}

static inline long long
tu_file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
}

static inline struct state_opts
tu_manual_opts(void)
{
    struct state_opts o;
    memset(&o, 0, sizeof(o));
    o.writer = STATE_WRITER_MANUAL;
    return o;
}

static inline struct state_event
tu_event(const char *name, int count, int64_t first, int64_t last)
{
    struct state_event e;
    memset(&e, 0, sizeof(e));
    snprintf(e.namespace_, sizeof(e.namespace_), "ns1");
    snprintf(e.name, sizeof(e.name), "%s", name);
    e.count = count;
    e.first_ms = first;
    e.last_ms = last;
    return e;
}

#endif
