/* state/state_int.h -- what state.c (the mirror, writer thread and API) and
 * state_db.c (the SQLite file) share.  Not part of the public API.
 *
 * A struct srow is one row of either table.  The mirror owns its rows; the
 * writer hands state_db.c private copies (srow_clone()) so the disk I/O runs
 * without the mirror's lock.
 */
#ifndef SC_STATE_INT_H
#define SC_STATE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/hmap.h"
#include "common/sc_err.h"
#include "state/state.h"

enum srow_table { SROW_RETRY = 0, SROW_EVENT = 1 };

#define SROW_MAX_KEYS 4 /* retry: kind, uid.  event: uid, type, reason, message */

/* A row's whole key: the key fields back to back, NULs included. */
struct skey {
    const char *p;
    size_t len;
};

struct srow {
    struct hmap_entry kent;     /* in its table's key map (key: &k, val: the row) */
    struct hmap_entry uent;     /* in its table's uid multimap (key: the uid field) */
    struct srow *lprev, *lnext; /* write-order list of live rows (oldest first) */
    struct srow *dnext;         /* dirty list */
    uint8_t table;              /* enum srow_table */
    uint8_t nkeys;
    bool dirty;                   /* on the dirty list */
    bool dead;                    /* tombstone: deleted, the writer must delete it on disk */
    int n;                        /* retry: failures.  event: count */
    int64_t t1;                   /* retry: next_ms.     event: first_ms */
    int64_t t2;                   /* retry: updated_ms.  event: last_ms */
    int64_t touch_ms;             /* when the mirror last wrote it (for pruning order) */
    char *v1;                     /* retry: last_error.  event: namespace.  owned, never NULL */
    char *v2;                     /* retry: unused ("").  event: name.  owned, never NULL */
    uint16_t koff[SROW_MAX_KEYS]; /* offset of each key field in key[] */
    struct skey k;                /* {key, bytes of key[]} */
    char key[];                   /* key fields, each NUL-terminated, back to back */
};

/* A new row (not linked anywhere); NULL on allocation failure.  v1/v2 may be NULL (""). */
struct srow *srow_new(int table, const char *const *keys, int nkeys, const char *v1,
                      const char *v2);
/* A private copy (in no map or list); NULL on allocation failure. */
struct srow *srow_clone(const struct srow *src);
void srow_free(struct srow *r); /* NULL-safe */
/* SC_OK if the key fields of a row of this table fit their STATE_MAX_* caps,
 * else SC_EINVALID (a NULL field) or SC_ETOOBIG. */
int srow_check_keys(int table, const char *const *keys);
static inline const char *
srow_key(const struct srow *r, int i)
{
    return r->key + r->koff[i];
}

/* ---- state_db.c: the SQLite file ---- */

struct sdb;

/* Receives each row read from the file (takes ownership of r).  Non-zero stops
 * the load with SC_ENOMEM. */
typedef int sdb_load_fn(void *ctx, struct srow *r);
/* Drops whatever the load delivered so far (the file turned out bad midway). */
typedef void sdb_reset_fn(void *ctx);

/* Open path, check, migrate, prepare and load it, as state.h describes;
 * fresh=true moves any existing file aside first.  Fills *rep fully.  On
 * SC_OK *out is set (status OK/CREATED/MIGRATED/RECREATED); when the file is
 * unusable it returns SC_ESTATE with rep->status MEMORY and *out NULL.
 * SC_ENOMEM only when memory runs out. */
int sdb_open(const char *path, const struct state_opts *o, bool fresh, sdb_load_fn *load,
             sdb_reset_fn *reset, void *ctx, struct state_open_report *rep, struct sdb **out,
             struct sc_err *err);

/* One write transaction: sdb_begin() (wipe=true empties both tables first),
 * any number of sdb_put() (dead rows are deleted, live ones upserted), then
 * sdb_commit().  On failure each rolls back, sets *sqlite_rc to the primary
 * SQLite code and returns SC_ESTATE; the transaction is then over. */
int sdb_begin(struct sdb *d, bool wipe, int *sqlite_rc, struct sc_err *err);
int sdb_put(struct sdb *d, struct srow *const *rows, size_t n, int *sqlite_rc, struct sc_err *err);
int sdb_commit(struct sdb *d, int *sqlite_rc, struct sc_err *err);

/* True if an SQLite code means the file itself is bad (recreate it), false if
 * the disk or directory is the problem (fall back to memory). */
bool sdb_code_means_bad_file(int sqlite_rc);

void sdb_close(struct sdb *d); /* NULL-safe */

#endif
