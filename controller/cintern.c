#include "controller/cintern.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/hmap.h"

/* Each copy is preceded by its index (INDEX_BYTES, host order), so a
 * pointer into the table gives its index without a lookup; by_index maps
 * back, in chunks allocated as the table grows and never moved, so that
 * cintern_at() reads without the lock. */
#define INDEX_BYTES 2
#define CHUNK       64
#define N_CHUNKS    (LIM_INTERN_STRINGS / CHUNK)

_Static_assert(LIM_INTERN_STRINGS <= 0x8000, "an index fits in 15 bits (controller/crec.c)");
_Static_assert(LIM_INTERN_STRINGS % CHUNK == 0, "whole chunks");

struct cintern {
    pthread_rwlock_t lock;
    struct hmap tab;                 /* a copy -> the same copy (its key; val_free frees it) */
    const char **by_index[N_CHUNKS]; /* index -> copy; set before the index is handed out */
    size_t bytes;
};

static void
free_copy(void *val)
{
    free((char *)val - INDEX_BYTES);
}

static const struct hmap_type intern_keys = {hmap_hash_str, hmap_str_eq, NULL, NULL, free_copy};

struct cintern *
cintern_new(void)
{
    struct cintern *t = calloc(1, sizeof(*t));

    if (t == NULL)
        return NULL;
    if (pthread_rwlock_init(&t->lock, NULL) != 0) {
        free(t);
        return NULL;
    }
    hmap_init(&t->tab, &intern_keys, LIM_INTERN_STRINGS);
    return t;
}

void
cintern_free(struct cintern *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < N_CHUNKS; i++)
        free(t->by_index[i]);
    hmap_free(&t->tab);
    pthread_rwlock_destroy(&t->lock);
    free(t);
}

static const char *
add_locked(struct cintern *t, const char *key, size_t len)
{
    size_t idx = hmap_len(&t->tab);
    const char ***chunk = &t->by_index[idx / CHUNK];
    uint16_t i16 = (uint16_t)idx;
    char *block, *copy;

    if (idx >= LIM_INTERN_STRINGS)
        return NULL;
    if (*chunk == NULL && (*chunk = calloc(CHUNK, sizeof(**chunk))) == NULL)
        return NULL;
    block = malloc(INDEX_BYTES + len + 1);
    if (block == NULL)
        return NULL;
    memcpy(block, &i16, INDEX_BYTES);
    copy = block + INDEX_BYTES;
    memcpy(copy, key, len + 1);
    if (hmap_put(&t->tab, copy, copy, NULL) != 0) {
        free(block);
        return NULL;
    }
    /* Published by the lock's release: a reader learns the index only
     * from a view or record made after this call returned. */
    (*chunk)[idx % CHUNK] = copy;
    t->bytes += INDEX_BYTES + len + 1;
    return copy;
}

const char *
cintern_get(struct cintern *t, const char *s, size_t len)
{
    const char *got;

    if (t == NULL || len > LIM_INTERN_LEN || s[len] != '\0')
        return NULL;
    pthread_rwlock_rdlock(&t->lock);
    got = hmap_get(&t->tab, s);
    pthread_rwlock_unlock(&t->lock);
    if (got != NULL)
        return got;
    pthread_rwlock_wrlock(&t->lock);
    got = hmap_get(&t->tab, s); /* another thread may have added it */
    if (got == NULL)
        got = add_locked(t, s, len);
    pthread_rwlock_unlock(&t->lock);
    return got;
}

int
cintern_index(struct cintern *t, const char *s)
{
    const char *copy;
    uint16_t idx;

    if (t == NULL || s == NULL)
        return -1;
    pthread_rwlock_rdlock(&t->lock);
    copy = hmap_get(&t->tab, s);
    pthread_rwlock_unlock(&t->lock);
    if (copy == NULL)
        return -1;
    memcpy(&idx, copy - INDEX_BYTES, INDEX_BYTES);
    return (int)idx;
}

const char *
cintern_at(const struct cintern *t, unsigned idx)
{
    const char **chunk;

    if (t == NULL || idx >= LIM_INTERN_STRINGS)
        return NULL;
    chunk = __atomic_load_n(&t->by_index[idx / CHUNK], __ATOMIC_ACQUIRE);
    return chunk != NULL ? __atomic_load_n(&chunk[idx % CHUNK], __ATOMIC_ACQUIRE) : NULL;
}

size_t
cintern_len(struct cintern *t)
{
    size_t n;

    pthread_rwlock_rdlock(&t->lock);
    n = hmap_len(&t->tab);
    pthread_rwlock_unlock(&t->lock);
    return n;
}

size_t
cintern_bytes(struct cintern *t)
{
    size_t n;

    pthread_rwlock_rdlock(&t->lock);
    n = t->bytes + hmap_bytes(&t->tab);
    pthread_rwlock_unlock(&t->lock);
    return n;
}
