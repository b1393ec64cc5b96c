/* common/hmap.h -- one hash map for every keyed table (chained, power-of-two
 * buckets, grows at load 1).
 *
 * A struct hmap_type says once, where a table is defined, how its keys hash
 * and compare and who frees what (in the manner of Redis's dictType):
 *   hash      key -> 64-bit hash (hmap_hash_str for C strings)
 *   key_eq    true when two keys are the same
 *   key_dup   the map's own copy of a key on insert; NULL: the map keeps the
 *             caller's pointer (which must then outlive the entry)
 *   key_free  frees a key the map owns (NULL: nothing to free)
 *   val_free  frees a value the map drops (hmap_del, hmap_free; NULL: none)
 * hmap_str_keys is the type of a map of C-string keys copied by the map, with
 * values the caller frees.
 *
 * Threading: none inside; the owner locks.  Limits: n_max entries at most
 * (0: no cap); hmap_put() past it fails with SC_ETOOBIG.
 */
#ifndef SC_HMAP_H
#define SC_HMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"

struct hmap_type {
    uint64_t (*hash)(const void *key);
    bool (*key_eq)(const void *a, const void *b);
    void *(*key_dup)(const void *key);
    void (*key_free)(void *key);
    void (*val_free)(void *val);
};

#define HMAP_MIN_BUCKETS 16

struct hmap_entry {
    struct hmap_entry *next;
    uint64_t hash;
    void *key;
    void *val;
};

struct hmap {
    const struct hmap_type *type;
    struct hmap_entry **tab;
    size_t n_buckets; /* 0 until the first put */
    size_t len;
    size_t n_max;
};

extern const struct hmap_type hmap_str_keys;

/* FNV-1a, the one string hash of the project: of a C string, or of n more
 * bytes continuing hash h (start with HMAP_HASH_SEED). */
#define HMAP_HASH_SEED 1469598103934665603ull
uint64_t hmap_hash_str(const void *key);
uint64_t hmap_hash_bytes(uint64_t h, const void *p, size_t n);
bool hmap_str_eq(const void *a, const void *b);

/* Allocates nothing. */
void hmap_init(struct hmap *m, const struct hmap_type *type, size_t n_max);
/* Drops every entry (key_free, val_free) and the buckets. */
void hmap_free(struct hmap *m);
/* The value stored under key, or NULL. */
void *hmap_get(const struct hmap *m, const void *key);
/* The entry of key, or NULL: to change its value in place, or (in a map
 * without key_dup) to point its key at an equal key the caller keeps. */
struct hmap_entry *hmap_find(const struct hmap *m, const void *key);
/* Store val under key.  A key already there gets the new value and its old
 * one goes to *old (or to val_free when old is NULL).  0, SC_ENOMEM or
 * SC_ETOOBIG (n_max); on failure nothing changed and val is still the
 * caller's. */
SC_MUST_CHECK int hmap_put(struct hmap *m, const void *key, void *val, void **old);
/* Remove key; its value goes to *val (or to val_free when val is NULL).
 * true when the key was there. */
bool hmap_del(struct hmap *m, const void *key, void **val);
size_t hmap_len(const struct hmap *m);
/* Visit every entry; fn returns non-zero to stop.  fn must not put or del. */
void hmap_each(const struct hmap *m, int (*fn)(const void *key, void *val, void *arg), void *arg);
/* Bytes the map itself holds (buckets and entries, not keys or values). */
size_t hmap_bytes(const struct hmap *m);

/* Entries the caller allocates (inside its own struct, to save the map's
 * allocation): set e->key and e->val, then hmap_link().  An entry with an
 * equal key is replaced in place and returned in *old (NULL when none);
 * nothing is freed.  0 or SC_ETOOBIG (n_max).  hmap_unlink() takes key's
 * entry out and returns it (or NULL).  Such a map is emptied with hmap_iter
 * and hmap_unlink before hmap_free(), which then frees only the buckets. */
SC_MUST_CHECK int hmap_link(struct hmap *m, struct hmap_entry *e, struct hmap_entry **old);
struct hmap_entry *hmap_unlink(struct hmap *m, const void *key);

/* Buckets for n entries at load 1, allocated now: 0 or SC_ENOMEM (the map
 * unchanged).  After it, linking (hmap_link, hmap_add) never fails for want
 * of buckets: a grow that fails later only makes chains longer. */
SC_MUST_CHECK int hmap_reserve(struct hmap *m, size_t n);
/* Fewer buckets once entries fall below an eighth of them: halved until
 * the load is at least 1/4, never below HMAP_MIN_BUCKETS (a table that
 * held 100,000 keys once keeps 1 MiB of buckets otherwise).  For callers
 * that know a burst of removals is over; never while iterating (it
 * rehashes), nor on a map that relies on hmap_reserve().  A failed
 * allocation keeps the table as it is. */
void hmap_shrink(struct hmap *m);

/* Caller-allocated entries as a multimap (several entries per key, e.g. rows
 * by owner): hmap_add() links e beside any with an equal key; 0, SC_ENOMEM
 * (no buckets yet) or SC_ETOOBIG (n_max).  hmap_find() gives a key's first
 * entry, hmap_find_next() the next one after e with e's key (NULL: none
 * left).  hmap_unlink_entry() takes exactly e out (e must be in m).  Walking
 * a key's entries may unlink the one just given once its next is taken. */
SC_MUST_CHECK int hmap_add(struct hmap *m, struct hmap_entry *e);
struct hmap_entry *hmap_find_next(const struct hmap *m, const struct hmap_entry *e);
void hmap_unlink_entry(struct hmap *m, struct hmap_entry *e);

/* Iteration that may delete: the loop may hmap_del(), hmap_unlink() or hmap_iter_del()
 * the entry it was just given, and nothing else; it must not put.
 *   struct hmap_iter it = {0}; struct hmap_entry *e;
 *   hmap_iter_init(&it, m);
 *   while ((e = hmap_iter_next(&it)) != NULL) ...
 */
struct hmap_iter {
    struct hmap *m;
    size_t bucket;           /* next bucket to start */
    struct hmap_entry *next; /* the entry after the one returned */
    struct hmap_entry *cur;  /* the entry returned last (NULL once deleted) */
};
void hmap_iter_init(struct hmap_iter *it, struct hmap *m);
struct hmap_entry *hmap_iter_next(struct hmap_iter *it);
/* Delete the entry hmap_iter_next() returned last; its value goes to *val
 * (or to val_free when val is NULL). */
void hmap_iter_del(struct hmap_iter *it, void **val);

/* Shape of the table, for benchmarks and tests. */
struct hmap_stats {
    size_t len, n_buckets, used_buckets, max_chain;
    size_t bytes; /* hmap_bytes() */
};
void hmap_stats(const struct hmap *m, struct hmap_stats *st);

#endif
