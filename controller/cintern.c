#include "controller/cintern.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/hmap.h"

struct cintern {
    pthread_rwlock_t lock;
    struct hmap tab; /* a copy -> the same copy (its key; val_free frees it) */
    size_t bytes;
};

static void
free_copy(void *val)
{
    free(val);
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
    hmap_free(&t->tab);
    pthread_rwlock_destroy(&t->lock);
    free(t);
}

static const char *
add_locked(struct cintern *t, const char *key, size_t len)
{
    char *copy;

    if (hmap_len(&t->tab) >= LIM_INTERN_STRINGS)
        return NULL;
    copy = malloc(len + 1);
    if (copy == NULL)
        return NULL;
    memcpy(copy, key, len + 1);
    if (hmap_put(&t->tab, copy, copy, NULL) != 0) {
        free(copy);
        return NULL;
    }
    t->bytes += len + 1;
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
