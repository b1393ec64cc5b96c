/* state/state.c -- the in-memory mirror, the writer thread and the public API
 * of state/ (see state.h).  The SQLite file itself is state_db.c.
 *
 * Locks: `mu` guards the mirror (both tables, the dirty list, the stats and the
 * persistent flag) and is held only for memory work.  `io_mu` guards the
 * database connection and serialises flushes; it is taken before `mu`, never
 * after, and the disk is written with `mu` released.
 *
 * Rows: a live row is in its table's two hash chains (whole key, uid) and in
 * the write-order list.  Deleting a row while persistent turns it into a
 * tombstone (dead: still hashed and dirty, off the list) until the writer has
 * deleted it on disk; in memory mode it is freed at once.
 */
#include "state/state.h"

#include "state/state_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/hmap.h"
#include "common/thread.h"

#define DEF_FLUSH_INTERVAL_MS  200
#define DEF_FLUSH_BATCH        512
#define DEF_BUSY_TIMEOUT_MS    2000
#define DEF_MAX_RETRY          50000
#define DEF_MAX_EVENT          20000
#define DEF_RETRY_TTL_MS       (24LL * 3600 * 1000)
#define DEF_EVENT_TTL_MS       (3600LL * 1000)
#define DEF_PRUNE_INTERVAL_MS  (60LL * 1000)
#define DEF_REOPEN_INTERVAL_MS (60LL * 1000)
#define MIN_BUCKETS            256
#define FLUSH_CHUNK            256 /* rows copied per hold of mu while flushing */
/* Tombstones waiting for the writer beyond this many: drop them and rewrite
 * both tables from the mirror instead (bounds memory when the disk stalls). */
#define MAX_TOMBSTONES(st) ((st)->o.flush_batch * 8 + 4096)
#define KEY_BUF \
    (STATE_MAX_UID + STATE_MAX_TYPE + STATE_MAX_REASON + STATE_MAX_MESSAGE + SROW_MAX_KEYS)

struct tab {
    struct hmap keys; /* whole key -> row, live and dead (row_keys) */
    struct hmap uids; /* uid -> its rows, live and dead: a multimap (row_uids) */
    size_t n_live;
    struct srow *lhead, *ltail; /* live rows, least recently written first */
    size_t max;
    int64_t ttl_ms;
    int nkeys;
};

struct state {
    struct state_opts o;
    char path[STATE_MAX_PATH];

    pthread_mutex_t mu;
    struct tab t[2];
    struct srow *dirty; /* rows the writer must save (live) or delete (dead) */
    size_t n_dirty;
    size_t n_dead;
    bool persistent;
    bool wipe_pending; /* the next flush empties both tables first */
    bool overflow;     /* too many tombstones: rewrite both tables instead */
    struct state_stats stats;

    pthread_mutex_t io_mu;
    struct sdb *db;

    pthread_cond_t wake; /* with mu: the writer sleeps on it */
    pthread_t thread;
    bool thread_started;
    bool stop;
};

/* ---- rows ---- */

static uint64_t
skey_hash(const void *key)
{
    const struct skey *k = key;

    return hmap_hash_bytes(HMAP_HASH_SEED, k->p, k->len);
}

static bool
skey_eq(const void *a, const void *b)
{
    const struct skey *x = a, *y = b;

    return x->len == y->len && memcmp(x->p, y->p, x->len) == 0;
}

/* Both maps link the rows' own entries and own nothing. */
static const struct hmap_type row_keys = {skey_hash, skey_eq, NULL, NULL, NULL};
static const struct hmap_type row_uids = {hmap_hash_str, hmap_str_eq, NULL, NULL, NULL};

static int
uid_field_of(int table)
{
    return table == SROW_RETRY ? 1 : 0;
}

/* Point the row's key and map entries at the row itself (in no map). */
static void
srow_bind(struct srow *r)
{
    r->k.p = r->key;
    memset(&r->kent, 0, sizeof(r->kent));
    memset(&r->uent, 0, sizeof(r->uent));
    r->kent.key = &r->k;
    r->kent.val = r;
    r->uent.key = r->key + r->koff[uid_field_of(r->table)];
    r->uent.val = r;
}

static const size_t key_caps[2][SROW_MAX_KEYS] = {
    [SROW_RETRY] = {STATE_MAX_KIND, STATE_MAX_UID, 0, 0},
    [SROW_EVENT] = {STATE_MAX_UID, STATE_MAX_TYPE, STATE_MAX_REASON, STATE_MAX_MESSAGE},
};

int
srow_check_keys(int table, const char *const *keys)
{
    int i, nk = table == SROW_RETRY ? 2 : 4;

    for (i = 0; i < nk; i++) {
        if (keys[i] == NULL)
            return SC_EINVALID;
        if (strnlen(keys[i], key_caps[table][i]) >= key_caps[table][i])
            return SC_ETOOBIG;
    }
    return SC_OK;
}

/* Lay the key fields out NUL-separated in buf (KEY_BUF bytes; caps checked). */
static size_t
build_key(const char *const *keys, int nk, char *buf, uint16_t *koff)
{
    size_t len = 0;
    int i;

    for (i = 0; i < nk; i++) {
        size_t n = strlen(keys[i]) + 1;
        if (koff != NULL)
            koff[i] = (uint16_t)len;
        memcpy(buf + len, keys[i], n);
        len += n;
    }
    return len;
}

struct srow *
srow_new(int table, const char *const *keys, int nkeys, const char *v1, const char *v2)
{
    char buf[KEY_BUF];
    uint16_t koff[SROW_MAX_KEYS] = {0};
    size_t klen = build_key(keys, nkeys, buf, koff);
    struct srow *r = calloc(1, sizeof(*r) + klen);

    if (r == NULL)
        return NULL;
    r->table = (uint8_t)table;
    r->nkeys = (uint8_t)nkeys;
    memcpy(r->koff, koff, sizeof(koff));
    r->k.len = klen;
    memcpy(r->key, buf, klen);
    srow_bind(r);
    r->v1 = strndup(v1 != NULL ? v1 : "", STATE_MAX_ERROR - 1);
    r->v2 = strdup(v2 != NULL ? v2 : "");
    if (r->v1 == NULL || r->v2 == NULL) {
        srow_free(r);
        return NULL;
    }
    return r;
}

struct srow *
srow_clone(const struct srow *src)
{
    struct srow *r = malloc(sizeof(*r) + src->k.len);

    if (r == NULL)
        return NULL;
    memcpy(r, src, sizeof(*r) + src->k.len);
    srow_bind(r);
    r->lprev = r->lnext = r->dnext = NULL;
    r->v1 = strdup(src->v1);
    r->v2 = strdup(src->v2);
    if (r->v1 == NULL || r->v2 == NULL) {
        srow_free(r);
        return NULL;
    }
    return r;
}

void
srow_free(struct srow *r)
{
    if (r == NULL)
        return;
    free(r->v1);
    free(r->v2);
    free(r);
}

/* *out: a copy of v (capped at max - 1 bytes) if it differs from cur, else
 * NULL.  SC_OK or SC_ENOMEM. */
static int
new_str(const char *cur, const char *v, size_t max, char **out)
{
    *out = NULL;
    if (v == NULL)
        v = "";
    if (strncmp(cur, v, max - 1) == 0 && strlen(cur) == strnlen(v, max - 1))
        return SC_OK;
    *out = strndup(v, max - 1);
    return *out != NULL ? SC_OK : SC_ENOMEM;
}

/* Replace the row's strings that changed, both or neither: SC_ENOMEM leaves
 * the row as it was (an Event's namespace never goes with another's name). */
static int
set_strs(struct srow *r, const char *v1, size_t max1, const char *v2, size_t max2)
{
    char *n1 = NULL, *n2 = NULL;

    if (new_str(r->v1, v1, max1, &n1) != SC_OK || new_str(r->v2, v2, max2, &n2) != SC_OK) {
        free(n1);
        return SC_ENOMEM;
    }
    if (n1 != NULL) {
        free(r->v1);
        r->v1 = n1;
    }
    if (n2 != NULL) {
        free(r->v2);
        r->v2 = n2;
    }
    return SC_OK;
}

/* ---- tables ---- */

static int
tab_init(struct tab *t, int table, size_t max, int64_t ttl_ms)
{
    memset(t, 0, sizeof(*t));
    hmap_init(&t->keys, &row_keys, 0);
    hmap_init(&t->uids, &row_uids, 0);
    t->max = max;
    t->ttl_ms = ttl_ms;
    t->nkeys = table == SROW_RETRY ? 2 : 4;
    /* buckets now: linking a row then never fails for want of them */
    if (hmap_reserve(&t->keys, MIN_BUCKETS) != SC_OK ||
        hmap_reserve(&t->uids, MIN_BUCKETS) != SC_OK) {
        hmap_free(&t->keys);
        hmap_free(&t->uids);
        return SC_ENOMEM;
    }
    return SC_OK;
}

static void
tab_unlink_hash(struct tab *t, struct srow *r)
{
    hmap_unlink_entry(&t->keys, &r->kent);
    hmap_unlink_entry(&t->uids, &r->uent);
}

/* Hash a row whose key is not in the table yet (the caller looked it up).
 * SC_OK, or SC_ENOMEM with the row in neither map. */
static int
tab_link_hash(struct tab *t, struct srow *r)
{
    if (hmap_add(&t->keys, &r->kent) != SC_OK)
        return SC_ENOMEM;
    if (hmap_add(&t->uids, &r->uent) != SC_OK) {
        hmap_unlink_entry(&t->keys, &r->kent);
        return SC_ENOMEM;
    }
    return SC_OK;
}

static void
tab_free_rows(struct tab *t)
{
    struct hmap_iter it = {0};
    struct hmap_entry *e = NULL;

    hmap_iter_init(&it, &t->keys);
    while ((e = hmap_iter_next(&it)) != NULL) {
        struct srow *r = e->val;

        tab_unlink_hash(t, r);
        srow_free(r);
    }
    t->n_live = 0;
    t->lhead = t->ltail = NULL;
}

static void
tab_release(struct tab *t)
{
    tab_free_rows(t);
    hmap_free(&t->keys);
    hmap_free(&t->uids);
}

static void
list_append(struct tab *t, struct srow *r)
{
    r->lnext = NULL;
    r->lprev = t->ltail;
    if (t->ltail != NULL)
        t->ltail->lnext = r;
    else
        t->lhead = r;
    t->ltail = r;
}

static void
list_remove(struct tab *t, struct srow *r)
{
    if (r->lprev != NULL)
        r->lprev->lnext = r->lnext;
    else
        t->lhead = r->lnext;
    if (r->lnext != NULL)
        r->lnext->lprev = r->lprev;
    else
        t->ltail = r->lprev;
    r->lprev = r->lnext = NULL;
}

static struct srow *
tab_find(const struct tab *t, const struct skey *k)
{
    struct hmap_entry *e = hmap_find(&t->keys, k);

    return e != NULL ? e->val : NULL;
}

/* ---- mirror operations (mu held) ---- */

static void
mark_dirty(struct state *st, struct srow *r)
{
    if (!st->persistent || r->dirty)
        return;
    r->dirty = true;
    r->dnext = st->dirty;
    st->dirty = r;
    /* the first dirty row starts the writer's flush interval; a full batch
     * ends it early */
    if (++st->n_dirty == 1 || st->n_dirty == (size_t)st->o.flush_batch)
        if (st->thread_started)
            pthread_cond_signal(&st->wake);
}

/* Drop the dirty list; dead rows go with it. */
static void
drop_dirty(struct state *st)
{
    struct srow *r = st->dirty, *next;

    for (; r != NULL; r = next) {
        next = r->dnext;
        r->dirty = false;
        r->dnext = NULL;
        if (r->dead) {
            tab_unlink_hash(&st->t[r->table], r);
            srow_free(r);
        }
    }
    st->dirty = NULL;
    st->n_dirty = 0;
    st->n_dead = 0;
}

/* Every live row becomes dirty (after a recreate, or to rewrite the file). */
static void
dirty_all(struct state *st)
{
    int ti;

    for (ti = 0; ti < 2; ti++) {
        struct srow *r = NULL;
        for (r = st->t[ti].lhead; r != NULL; r = r->lnext)
            mark_dirty(st, r);
    }
}

static void
kill_row(struct state *st, struct srow *r)
{
    struct tab *t = &st->t[r->table];

    list_remove(t, r);
    t->n_live--;
    if (st->persistent) {
        r->dead = true;
        st->n_dead++;
        mark_dirty(st, r);
        if (st->n_dead > (size_t)MAX_TOMBSTONES(st))
            st->overflow = true; /* settled in unlock_mu(), when no row pointer is held */
        return;
    }
    tab_unlink_hash(t, r);
    srow_free(r);
}

/* Release mu.  First, if deletes left more tombstones than MAX_TOMBSTONES,
 * drop them all and have the next flush rewrite both tables from the mirror.
 * This runs here, never inside an operation, because it frees dead rows that
 * the operation may still be walking (uid chains) or reviving. */
static void
unlock_mu(struct state *st)
{
    if (st->overflow) {
        st->overflow = false;
        drop_dirty(st);
        dirty_all(st);
        st->wipe_pending = true;
        if (st->thread_started)
            pthread_cond_signal(&st->wake);
    }
    pthread_mutex_unlock(&st->mu);
}

/* Make room for one more live row. */
static void
evict_for_insert(struct state *st, struct tab *t)
{
    while (t->n_live >= t->max && t->lhead != NULL) {
        kill_row(st, t->lhead);
        st->stats.n_evicted++;
    }
}

/* Insert a new row (not hashed yet) as the newest live row.  SC_OK, or
 * SC_ENOMEM with nothing changed (the row is still the caller's). */
static int
insert_row(struct state *st, struct srow *r)
{
    struct tab *t = &st->t[r->table];

    if (tab_link_hash(t, r) != SC_OK)
        return SC_ENOMEM;
    evict_for_insert(st, t);
    list_append(t, r);
    t->n_live++;
    return SC_OK;
}

/* A tombstone comes back to life (it stays on the dirty list). */
static void
revive_row(struct state *st, struct srow *r)
{
    struct tab *t = &st->t[r->table];

    evict_for_insert(st, t);
    r->dead = false;
    st->n_dead--;
    list_append(t, r);
    t->n_live++;
}

static void
touch_row(struct state *st, struct srow *r, int64_t now)
{
    struct tab *t = &st->t[r->table];

    r->touch_ms = now;
    if (t->ltail != r) {
        list_remove(t, r);
        list_append(t, r);
    }
    mark_dirty(st, r);
}

static int64_t
now_ms(const struct state *st)
{
    return clock_wall_ms(&st->o.clock);
}

static bool
row_expired(const struct state *st, const struct srow *r, int64_t now)
{
    return r->t2 < now - st->t[r->table].ttl_ms;
}

/* The row of these key fields (live or dead), or NULL; buf: KEY_BUF bytes. */
static struct srow *
lookup(const struct state *st, int table, const char *const *keys, char *buf)
{
    struct skey k = {buf, build_key(keys, st->t[table].nkeys, buf, NULL)};

    return tab_find(&st->t[table], &k);
}

/* Create or update a row with these values; r_out gets it. */
static int
upsert(struct state *st, int table, const char *const *keys, const char *v1, const char *v2, int n,
       int64_t t1, int64_t t2, int64_t now)
{
    char buf[KEY_BUF];
    struct srow *r = lookup(st, table, keys, buf);

    if (r == NULL) {
        r = srow_new(table, keys, st->t[table].nkeys, v1, v2);
        if (r == NULL)
            return SC_ENOMEM;
        if (insert_row(st, r) != SC_OK) {
            srow_free(r);
            return SC_ENOMEM;
        }
    } else {
        size_t max1 = table == SROW_RETRY ? STATE_MAX_ERROR : STATE_MAX_NS;
        if (set_strs(r, v1, max1, v2, STATE_MAX_NAME) != SC_OK)
            return SC_ENOMEM;
        if (r->dead)
            revive_row(st, r);
    }
    r->n = n;
    r->t1 = t1;
    r->t2 = t2;
    touch_row(st, r, now);
    return SC_OK;
}

static int
remove_key(struct state *st, int table, const char *const *keys)
{
    char buf[KEY_BUF];
    struct srow *r = lookup(st, table, keys, buf);

    if (r != NULL && !r->dead)
        kill_row(st, r);
    return SC_OK;
}

static size_t
prune_locked(struct state *st, int64_t now)
{
    size_t n = 0;
    int ti;

    for (ti = 0; ti < 2; ti++) {
        struct tab *t = &st->t[ti];
        int64_t cutoff = now - t->ttl_ms;
        struct srow *r = NULL, *next = NULL;
        /* Rows are in write order: stop at the first one written after the cutoff. */
        for (r = t->lhead; r != NULL && r->touch_ms < cutoff; r = next) {
            next = r->lnext;
            if (row_expired(st, r, now)) {
                kill_row(st, r);
                n++;
            }
        }
    }
    st->stats.n_pruned += n;
    return n;
}

/* ---- loading (state_db.c calls these during sdb_open) ---- */

static int
load_row(void *ctx, struct srow *r)
{
    struct state *st = ctx;
    int64_t now = now_ms(st);
    char buf[KEY_BUF];
    const char *keys[SROW_MAX_KEYS];
    int i;

    for (i = 0; i < r->nkeys; i++)
        keys[i] = srow_key(r, i);
    if (lookup(st, r->table, keys, buf) != NULL) {
        srow_free(r); /* a duplicate key in a tampered file: keep the first */
        return 0;
    }
    if (r->table == SROW_RETRY && r->t2 <= 0)
        r->t2 = now; /* migrated from schema 1, which had no updated_ms */
    r->touch_ms = r->t2;
    if (insert_row(st, r) != SC_OK) {
        srow_free(r);
        return 1; /* stops the load: out of memory */
    }
    return 0;
}

static void
load_reset(void *ctx)
{
    struct state *st = ctx;

    drop_dirty(st);
    tab_free_rows(&st->t[0]);
    tab_free_rows(&st->t[1]);
    st->wipe_pending = false;
}

static int
load_discard(void *ctx, struct srow *r)
{
    (void)ctx;
    srow_free(r);
    return 0;
}

static void
load_nothing(void *ctx)
{
    (void)ctx;
}

/* ---- writing ---- */

static void
notify(struct state *st, bool persistent, const char *why)
{
    if (st->o.on_degrade != NULL)
        st->o.on_degrade(st->o.on_degrade_ctx, persistent, why);
}

/* The database failed a write (io_mu held, db open).  A bad file is recreated
 * and every live row rewritten by the next flush; anything else (full disk,
 * read-only, I/O error) falls back to memory. */
static void
degrade(struct state *st, int sqlite_rc, const char *what)
{
    struct state_open_report rep = {0};
    char why[SC_ERR_MSG_LEN];

    sdb_close(st->db);
    st->db = NULL;
    if (sdb_code_means_bad_file(sqlite_rc) &&
        sdb_open(st->path, &st->o, true, load_discard, load_nothing, NULL, &rep, &st->db, NULL) ==
            SC_OK) {
        if (rep.moved_to[0] != '\0')
            snprintf(why, sizeof(why), "%.200s; moved the file to %.200s and recreated it", what,
                     rep.moved_to);
        else
            snprintf(why, sizeof(why), "%.200s; removed the file and recreated it", what);
        pthread_mutex_lock(&st->mu);
        drop_dirty(st);
        dirty_all(st);
        st->wipe_pending = false;
        st->stats.n_degraded++;
        snprintf(st->stats.degraded_why, sizeof(st->stats.degraded_why), "%s", why);
        unlock_mu(st);
        notify(st, true, why);
        return;
    }
    snprintf(why, sizeof(why), "%.400s; continuing in memory", what);
    pthread_mutex_lock(&st->mu);
    drop_dirty(st);
    st->persistent = false;
    st->wipe_pending = false;
    st->stats.n_degraded++;
    if (st->thread_started) /* the writer now sleeps until its reopen time */
        pthread_cond_signal(&st->wake);
    snprintf(st->stats.degraded_why, sizeof(st->stats.degraded_why), "%s", why);
    unlock_mu(st);
    notify(st, false, why);
}

/* Take up to max rows off the dirty list as private copies (mu held); dead
 * rows leave the mirror here.  SC_ENOMEM takes nothing. */
static int
take_chunk(struct state *st, struct srow **out, size_t max, size_t *n_out)
{
    struct srow *r = NULL;
    size_t n = 0, i;

    for (r = st->dirty; r != NULL && n < max; r = r->dnext) {
        out[n] = srow_clone(r);
        if (out[n] == NULL) {
            for (i = 0; i < n; i++)
                srow_free(out[i]);
            return SC_ENOMEM;
        }
        n++;
    }
    for (i = 0; i < n; i++) {
        r = st->dirty;
        st->dirty = r->dnext;
        st->n_dirty--;
        r->dirty = false;
        r->dnext = NULL;
        if (r->dead) {
            tab_unlink_hash(&st->t[r->table], r);
            st->n_dead--;
            srow_free(r);
        }
    }
    *n_out = n;
    return SC_OK;
}

/* Write the rows dirty now in ONE transaction (io_mu held).  Rows are copied
 * FLUSH_CHUNK at a time so `mu` is never held for long; a row written again
 * meanwhile is simply written again later. */
static int
flush_io(struct state *st, struct sc_err *err)
{
    struct srow *chunk[FLUSH_CHUNK] = {0};
    size_t target, done = 0, n = 0, i;
    bool wipe;
    int sqlite_rc = 0, rc, mem = SC_OK;
    struct sc_err e = {0};

    pthread_mutex_lock(&st->mu);
    if (st->db == NULL || !st->persistent || (st->n_dirty == 0 && !st->wipe_pending)) {
        unlock_mu(st);
        return SC_OK;
    }
    target = st->n_dirty;
    wipe = st->wipe_pending;
    st->wipe_pending = false;
    unlock_mu(st);

    rc = sdb_begin(st->db, wipe, &sqlite_rc, &e);
    while (rc == SC_OK && done < target) {
        pthread_mutex_lock(&st->mu);
        if (st->wipe_pending) {
            /* Tombstones overflowed meanwhile: every live row is dirty again and
             * the next flush rewrites both tables.  A row taken from now on would
             * be written here and then deleted by that wipe, so stop. */
            unlock_mu(st);
            break;
        }
        mem = take_chunk(st, chunk, target - done < FLUSH_CHUNK ? target - done : FLUSH_CHUNK, &n);
        unlock_mu(st);
        if (mem != SC_OK || n == 0)
            break; /* out of memory: commit what we have, the rest stays dirty */
        rc = sdb_put(st->db, chunk, n, &sqlite_rc, &e);
        for (i = 0; i < n; i++)
            srow_free(chunk[i]);
        done += n;
    }
    if (rc == SC_OK)
        rc = sdb_commit(st->db, &sqlite_rc, &e);
    if (rc == SC_OK) {
        pthread_mutex_lock(&st->mu);
        st->stats.n_flushes++;
        st->stats.n_rows_written += done;
        unlock_mu(st);
        if (mem != SC_OK)
            return sc_err_set(err, SC_ENOMEM, "state: out of memory flushing");
        return SC_OK;
    }
    degrade(st, sqlite_rc, e.msg);
    return sc_err_set(err, SC_ESTATE, "%s", e.msg);
}

static int
flush_now(struct state *st, struct sc_err *err)
{
    int rc;

    pthread_mutex_lock(&st->io_mu);
    rc = flush_io(st, err);
    pthread_mutex_unlock(&st->io_mu);
    return rc;
}

int
state_flush(struct state *st, struct sc_err *err)
{
    return flush_now(st, err);
}

static int64_t
mono_ms(void)
{
    struct timespec ts = {0};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Memory mode with a file configured: try the file again (the disk may have
 * room now, the directory may have become writable).  On success every live
 * row is rewritten by the next flush.  Writer thread only. */
static bool
try_reopen(struct state *st)
{
    bool ok = false;
    struct state_open_report rep = {0};
    struct sdb *d = NULL;
    char why[SC_ERR_MSG_LEN];

    pthread_mutex_lock(&st->io_mu);
    if (st->db == NULL && sdb_open(st->path, &st->o, false, load_discard, load_nothing, NULL, &rep,
                                   &d, NULL) == SC_OK) {
        st->db = d;
        pthread_mutex_lock(&st->mu);
        st->persistent = true;
        drop_dirty(st);
        dirty_all(st);
        st->wipe_pending = true;
        st->stats.n_reopened++;
        unlock_mu(st);
        snprintf(why, sizeof(why), "the state file is usable again (%.40s); saving rows again",
                 state_open_status_str(rep.status));
        notify(st, true, why);
        ok = true;
    }
    pthread_mutex_unlock(&st->io_mu);
    return ok;
}

/* Wait on wake (mu held) until woken or the monotonic time at_ms. */
static int
wait_until(struct state *st, int64_t at_ms)
{
    struct timespec dl = {.tv_sec = at_ms / 1000, .tv_nsec = (at_ms % 1000) * 1000000};

    return pthread_cond_timedwait(&st->wake, &st->mu, &dl);
}

/* The writer's sleep (mu held).  Nothing to write: until a row turns dirty
 * (mark_dirty wakes the thread) or maintenance_ms, the next prune or reopen
 * (an idle controller's writer used to wake every flush interval, 5 times a
 * second).  Something to write: gather more for one flush interval, or
 * until a full batch. */
static void
wait_for_work(struct state *st, int64_t maintenance_ms)
{
    /* one wait: whatever woke it (a dirty row, degrade(), stop, the time),
     * the caller looks at the schedule again */
    if (!st->stop && st->n_dirty == 0 && !st->wipe_pending && mono_ms() < maintenance_ms)
        (void)wait_until(st, maintenance_ms);
    if (st->n_dirty == 0 && !st->wipe_pending)
        return;
    int64_t due = mono_ms() + st->o.flush_interval_ms;
    while (!st->stop && st->n_dirty < (size_t)st->o.flush_batch) {
        if (wait_until(st, due) == ETIMEDOUT)
            break;
    }
}

static void *
writer_main(void *arg)
{
    struct state *st = arg;
    int64_t last_prune = mono_ms(), last_reopen = mono_ms();
    int64_t reopen_wait = st->o.reopen_interval_ms; /* doubles while reopening keeps failing */
    bool reopened = false;                          /* since the last fall to memory */

    pthread_mutex_lock(&st->mu);
    while (!st->stop) {
        int64_t next = last_prune + st->o.prune_interval_ms;
        if (!st->persistent && st->path[0] != '\0' && last_reopen + reopen_wait < next)
            next = last_reopen + reopen_wait; /* degrade() wakes the thread */
        wait_for_work(st, next);
        if (st->stop)
            break;
        if (mono_ms() - last_prune >= st->o.prune_interval_ms) {
            prune_locked(st, now_ms(st));
            last_prune = mono_ms();
        }
        if (!st->persistent && reopened) {
            /* The file failed again right after it came back (a disk still full):
             * wait longer before the next full rewrite, up to an hour. */
            reopened = false;
            reopen_wait = reopen_wait * 2 < 3600000 ? reopen_wait * 2 : 3600000;
        } else if (st->persistent && reopened && mono_ms() - last_reopen > reopen_wait) {
            reopened = false;
            reopen_wait = st->o.reopen_interval_ms;
        }
        if (!st->persistent && st->path[0] != '\0' && mono_ms() - last_reopen >= reopen_wait) {
            unlock_mu(st);
            reopened = try_reopen(st);
            last_reopen = mono_ms();
            pthread_mutex_lock(&st->mu);
        }
        unlock_mu(st);
        flush_now(st, NULL); /* a failure has already degraded the handle */
        pthread_mutex_lock(&st->mu);
    }
    unlock_mu(st);
    return NULL;
}

/* ---- open / close ---- */

static int
apply_defaults(struct state_opts *o, const struct state_opts *in, struct sc_err *err)
{
    if (in != NULL)
        *o = *in;
    else
        memset(o, 0, sizeof(*o));
    if (o->flush_interval_ms < 0 || o->flush_batch < 0 || o->busy_timeout_ms < 0 ||
        o->retry_ttl_ms < 0 || o->event_ttl_ms < 0 || o->prune_interval_ms < 0 ||
        o->reopen_interval_ms < 0 || o->max_db_bytes < 0 ||
        (o->writer != STATE_WRITER_THREAD && o->writer != STATE_WRITER_MANUAL))
        return sc_err_set(err, SC_EINVALID, "state: negative or unknown option");
    if (o->clock.wall_ms == NULL)
        o->clock = clock_system();
    if (o->flush_interval_ms == 0)
        o->flush_interval_ms = DEF_FLUSH_INTERVAL_MS;
    if (o->flush_batch == 0)
        o->flush_batch = DEF_FLUSH_BATCH;
    if (o->busy_timeout_ms == 0)
        o->busy_timeout_ms = DEF_BUSY_TIMEOUT_MS;
    if (o->max_retry == 0)
        o->max_retry = DEF_MAX_RETRY;
    if (o->max_event == 0)
        o->max_event = DEF_MAX_EVENT;
    if (o->retry_ttl_ms == 0)
        o->retry_ttl_ms = DEF_RETRY_TTL_MS;
    if (o->event_ttl_ms == 0)
        o->event_ttl_ms = DEF_EVENT_TTL_MS;
    if (o->prune_interval_ms == 0)
        o->prune_interval_ms = DEF_PRUNE_INTERVAL_MS;
    if (o->reopen_interval_ms == 0)
        o->reopen_interval_ms = DEF_REOPEN_INTERVAL_MS;
    return SC_OK;
}

/* Load the file at path into the tables; a file that cannot be used
 * leaves st in memory only (rep says why).  SC_OK or SC_ENOMEM. */
static int
open_file(struct state *st, const char *path, struct state_open_report *rep, struct sc_err *err)
{
    int rc;

    snprintf(st->path, sizeof(st->path), "%s", path);
    st->persistent = true; /* so rows evicted while loading become tombstones */
    pthread_mutex_lock(&st->mu);
    rc = sdb_open(path, &st->o, false, load_row, load_reset, st, rep, &st->db, NULL);
    if (rc == SC_ENOMEM) {
        unlock_mu(st);
        return sc_err_set(err, SC_ENOMEM, "state: out of memory opening %s", path);
    }
    st->persistent = st->db != NULL;
    if (!st->persistent)
        load_reset(st);
    prune_locked(st, now_ms(st));
    unlock_mu(st);
    return SC_OK;
}

struct state *
state_open(const char *path, const struct state_opts *opts, struct state_open_report *report,
           struct sc_err *err)
{
    struct state_open_report local = {0};
    struct state_open_report *rep = report != NULL ? report : &local;
    struct state *st = NULL;
    pthread_condattr_t ca;

    memset(rep, 0, sizeof(*rep));
    rep->old_version = -1;
    st = calloc(1, sizeof(*st));
    if (st == NULL) {
        rep->status = STATE_OPEN_MEMORY;
        sc_err_set(err, SC_ENOMEM, "state: out of memory");
        return NULL;
    }
    if (apply_defaults(&st->o, opts, err) != SC_OK) {
        free(st);
        rep->status = STATE_OPEN_MEMORY;
        return NULL;
    }
    pthread_mutex_init(&st->mu, NULL);
    pthread_mutex_init(&st->io_mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&st->wake, &ca);
    pthread_condattr_destroy(&ca);
    if (tab_init(&st->t[SROW_RETRY], SROW_RETRY, st->o.max_retry, st->o.retry_ttl_ms) != SC_OK ||
        tab_init(&st->t[SROW_EVENT], SROW_EVENT, st->o.max_event, st->o.event_ttl_ms) != SC_OK) {
        sc_err_set(err, SC_ENOMEM, "state: out of memory");
        goto fail;
    }
    if (path == NULL || path[0] == '\0') {
        rep->status = STATE_OPEN_MEMORY;
        snprintf(rep->why, sizeof(rep->why), "no state file configured");
    } else if (open_file(st, path, rep, err) != SC_OK) {
        goto fail;
    }
    if (st->o.writer == STATE_WRITER_THREAD) {
        if (thread_start(&st->thread, "sc-state", THREAD_STACK_CLIENT, writer_main, st) != 0) {
            sc_err_set(err, SC_ENOMEM, "state: cannot start the writer thread");
            goto fail;
        }
        st->thread_started = true;
    }
    return st;
fail:
    st->thread_started = false;
    state_close(st);
    return NULL;
}

struct state *
state_open_dir(const char *dir, const struct state_opts *opts, struct state_open_report *report,
               struct sc_err *err)
{
    char path[STATE_MAX_PATH];
    struct stat sb = {0};

    if (dir == NULL || dir[0] == '\0')
        return state_open(NULL, opts, report, err);
    if (strlen(dir) + sizeof("/" STATE_DB_NAME) > sizeof(path))
        return state_open(NULL, opts, report, err);
    if (stat(dir, &sb) != 0)
        (void)mkdir(dir, 0700); /* a failure shows up as "cannot open" below */
    snprintf(path, sizeof(path), "%s/%s", dir, STATE_DB_NAME);
    return state_open(path, opts, report, err);
}

void
state_close(struct state *st)
{
    if (st == NULL)
        return;
    if (st->thread_started) {
        pthread_mutex_lock(&st->mu);
        st->stop = true;
        pthread_cond_signal(&st->wake);
        unlock_mu(st);
        pthread_join(st->thread, NULL);
    }
    flush_now(st, NULL);
    sdb_close(st->db);
    st->db = NULL;
    drop_dirty(st);
    tab_release(&st->t[0]);
    tab_release(&st->t[1]);
    pthread_cond_destroy(&st->wake);
    pthread_mutex_destroy(&st->mu);
    pthread_mutex_destroy(&st->io_mu);
    free(st);
}

/* ---- public API ---- */

static int
check_keys(int table, const char *const *keys, struct sc_err *err)
{
    int rc = srow_check_keys(table, keys);

    if (rc == SC_EINVALID)
        return sc_err_set(err, rc, "state: missing key field");
    if (rc == SC_ETOOBIG)
        return sc_err_set(err, rc, "state: key field longer than its cap");
    return SC_OK;
}

int
state_retry_put(struct state *st, const char *kind, const char *uid, int failures, int64_t next_ms,
                const char *last_error, struct sc_err *err)
{
    const char *keys[SROW_MAX_KEYS] = {kind, uid};
    int64_t now;
    int rc;

    if ((rc = check_keys(SROW_RETRY, keys, err)) != SC_OK)
        return rc;
    if (failures < 0)
        return sc_err_set(err, SC_EINVALID, "state: negative failure count");
    pthread_mutex_lock(&st->mu);
    now = now_ms(st);
    rc = upsert(st, SROW_RETRY, keys, last_error, NULL, failures, next_ms, now, now);
    unlock_mu(st);
    if (rc != SC_OK)
        return sc_err_set(err, rc, "state: out of memory");
    return SC_OK;
}

int
state_retry_get(struct state *st, const char *kind, const char *uid, struct state_retry *out,
                struct sc_err *err)
{
    const char *keys[SROW_MAX_KEYS] = {kind, uid};
    char buf[KEY_BUF];
    struct srow *r = NULL;
    int rc = SC_ENOTFOUND;

    if ((rc = check_keys(SROW_RETRY, keys, err)) != SC_OK)
        return rc;
    rc = SC_ENOTFOUND;
    pthread_mutex_lock(&st->mu);
    r = lookup(st, SROW_RETRY, keys, buf);
    if (r != NULL && !r->dead && !row_expired(st, r, now_ms(st))) {
        out->failures = r->n;
        out->next_ms = r->t1;
        out->updated_ms = r->t2;
        snprintf(out->last_error, sizeof(out->last_error), "%s", r->v1);
        rc = SC_OK;
    }
    unlock_mu(st);
    if (rc != SC_OK)
        return sc_err_set(err, rc, "state: no retry state for %s %s", kind, uid);
    return SC_OK;
}

int
state_retry_clear(struct state *st, const char *kind, const char *uid, struct sc_err *err)
{
    const char *keys[SROW_MAX_KEYS] = {kind, uid};
    int rc;

    if ((rc = check_keys(SROW_RETRY, keys, err)) != SC_OK)
        return rc;
    pthread_mutex_lock(&st->mu);
    remove_key(st, SROW_RETRY, keys);
    unlock_mu(st);
    return SC_OK;
}

int
state_retry_foreach(struct state *st, state_retry_fn *fn, void *ctx, struct sc_err *err)
{
    struct srow **rows = NULL, *r;
    size_t n = 0, i, cap;
    int64_t now;
    int rc = SC_OK;

    pthread_mutex_lock(&st->mu);
    now = now_ms(st);
    cap = st->t[SROW_RETRY].n_live; /* the length of the live list */
    if (cap > 0) {
        rows = malloc(cap * sizeof(struct srow *));
        if (rows == NULL)
            rc = SC_ENOMEM;
    }
    for (r = st->t[SROW_RETRY].lhead; rc == SC_OK && r != NULL && n < cap; r = r->lnext) {
        if (row_expired(st, r, now))
            continue;
        rows[n] = srow_clone(r);
        if (rows[n] == NULL)
            rc = SC_ENOMEM;
        else
            n++;
    }
    unlock_mu(st);
    for (i = 0; rc == SC_OK && i < n; i++) {
        struct state_retry v = {0};
        v.failures = rows[i]->n;
        v.next_ms = rows[i]->t1;
        v.updated_ms = rows[i]->t2;
        snprintf(v.last_error, sizeof(v.last_error), "%s", rows[i]->v1);
        if (fn(ctx, srow_key(rows[i], 0), srow_key(rows[i], 1), &v) != 0)
            break;
    }
    for (i = 0; i < n; i++)
        srow_free(rows[i]);
    free(rows);
    if (rc != SC_OK)
        return sc_err_set(err, rc, "state: out of memory listing retry rows");
    return SC_OK;
}

int
state_event_put(struct state *st, const char *uid, const char *type, const char *reason,
                const char *message, const struct state_event *ev, struct sc_err *err)
{
    const char *keys[SROW_MAX_KEYS] = {uid, type, reason, message};
    int rc;

    if ((rc = check_keys(SROW_EVENT, keys, err)) != SC_OK)
        return rc;
    if (ev == NULL || ev->name[0] == '\0' || ev->count < 0)
        return sc_err_set(err, SC_EINVALID, "state: event without a name or with a bad count");
    if (strnlen(ev->name, sizeof(ev->name)) == sizeof(ev->name) ||
        strnlen(ev->namespace_, sizeof(ev->namespace_)) == sizeof(ev->namespace_))
        return sc_err_set(err, SC_ETOOBIG, "state: event name or namespace not terminated");
    pthread_mutex_lock(&st->mu);
    rc = upsert(st, SROW_EVENT, keys, ev->namespace_, ev->name, ev->count, ev->first_ms,
                ev->last_ms, now_ms(st));
    unlock_mu(st);
    if (rc != SC_OK)
        return sc_err_set(err, rc, "state: out of memory");
    return SC_OK;
}

int
state_event_get(struct state *st, const char *uid, const char *type, const char *reason,
                const char *message, struct state_event *out, struct sc_err *err)
{
    const char *keys[SROW_MAX_KEYS] = {uid, type, reason, message};
    char buf[KEY_BUF];
    struct srow *r = NULL;
    int rc = SC_ENOTFOUND;

    if ((rc = check_keys(SROW_EVENT, keys, err)) != SC_OK)
        return rc;
    rc = SC_ENOTFOUND;
    pthread_mutex_lock(&st->mu);
    r = lookup(st, SROW_EVENT, keys, buf);
    if (r != NULL && !r->dead && !row_expired(st, r, now_ms(st))) {
        snprintf(out->namespace_, sizeof(out->namespace_), "%s", r->v1);
        snprintf(out->name, sizeof(out->name), "%s", r->v2);
        out->count = r->n;
        out->first_ms = r->t1;
        out->last_ms = r->t2;
        rc = SC_OK;
    }
    unlock_mu(st);
    if (rc != SC_OK)
        return sc_err_set(err, rc, "state: no event state for %s %s", uid, reason);
    return SC_OK;
}

int
state_event_clear(struct state *st, const char *uid, const char *type, const char *reason,
                  const char *message, struct sc_err *err)
{
    const char *keys[SROW_MAX_KEYS] = {uid, type, reason, message};
    int rc;

    if ((rc = check_keys(SROW_EVENT, keys, err)) != SC_OK)
        return rc;
    pthread_mutex_lock(&st->mu);
    remove_key(st, SROW_EVENT, keys);
    unlock_mu(st);
    return SC_OK;
}

int
state_forget_uid(struct state *st, const char *uid, size_t *n_removed, struct sc_err *err)
{
    size_t n = 0;
    int ti;

    if (uid == NULL)
        return sc_err_set(err, SC_EINVALID, "state: missing uid");
    if (strnlen(uid, STATE_MAX_UID) >= STATE_MAX_UID)
        return sc_err_set(err, SC_ETOOBIG, "state: uid longer than its cap");
    pthread_mutex_lock(&st->mu);
    for (ti = 0; ti < 2; ti++) {
        struct hmap *uids = &st->t[ti].uids;
        struct hmap_entry *e = hmap_find(uids, uid), *next = NULL;
        for (; e != NULL; e = next) {
            struct srow *r = e->val;
            next = hmap_find_next(uids, e); /* before kill_row may free r */
            if (!r->dead) {
                kill_row(st, r);
                n++;
            }
        }
    }
    unlock_mu(st);
    if (n_removed != NULL)
        *n_removed = n;
    return SC_OK;
}

int
state_prune(struct state *st, size_t *n_pruned, struct sc_err *err)
{
    size_t n;

    (void)err;
    pthread_mutex_lock(&st->mu);
    n = prune_locked(st, now_ms(st));
    unlock_mu(st);
    if (n_pruned != NULL)
        *n_pruned = n;
    return SC_OK;
}

void
state_get_stats(struct state *st, struct state_stats *out)
{
    pthread_mutex_lock(&st->mu);
    *out = st->stats;
    out->persistent = st->persistent;
    out->n_retry = st->t[SROW_RETRY].n_live;
    out->n_event = st->t[SROW_EVENT].n_live;
    out->n_dirty = st->n_dirty;
    unlock_mu(st);
}

/* ---- reports ---- */

const char *
state_open_status_str(enum state_open_status s)
{
    switch (s) {
    case STATE_OPEN_OK:
        return "opened";
    case STATE_OPEN_CREATED:
        return "created";
    case STATE_OPEN_MIGRATED:
        return "migrated";
    case STATE_OPEN_RECREATED:
        return "recreated";
    case STATE_OPEN_MEMORY:
        return "memory only";
    }
    return "unknown";
}

bool
state_open_report_is_warning(const struct state_open_report *r)
{
    return r->status == STATE_OPEN_RECREATED || r->status == STATE_OPEN_MEMORY;
}

void
state_open_report_format(const struct state_open_report *r, char *out, size_t cap)
{
    switch (r->status) {
    case STATE_OPEN_OK:
        snprintf(out, cap, "state: opened %s (%zu retry rows, %zu event rows)", r->path, r->n_retry,
                 r->n_event);
        break;
    case STATE_OPEN_CREATED:
        snprintf(out, cap, "state: created %s (schema %d)", r->path, STATE_SCHEMA_VERSION);
        break;
    case STATE_OPEN_MIGRATED:
        snprintf(out, cap,
                 "state: migrated %s from schema %d to %d (%zu retry rows, %zu event rows)",
                 r->path, r->old_version, STATE_SCHEMA_VERSION, r->n_retry, r->n_event);
        break;
    case STATE_OPEN_RECREATED:
        snprintf(out, cap, "state: %s was unusable (%s); %s%s, recreated empty", r->path, r->why,
                 r->moved_to[0] != '\0' ? "moved to " : "removed it",
                 r->moved_to[0] != '\0' ? r->moved_to : "");
        break;
    case STATE_OPEN_MEMORY:
    default:
        snprintf(out, cap,
                 "state: %s%scannot be used (%s); keeping retry and event state in memory only",
                 r->path, r->path[0] != '\0' ? " " : "", r->why);
        break;
    }
}
