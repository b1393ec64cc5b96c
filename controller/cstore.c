#include "controller/cstore.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hmap.h"
#include "common/limits.h"
#include "common/sc_err.h"

struct centry {
    struct centry *next;
    uint64_t hash;
    struct cmeta *m; /* owned reference */
    char key[];
};

struct cstore {
    pthread_rwlock_t lock;
    struct centry **tab;
    size_t n_buckets;
    size_t len;
};

struct cstore *
cstore_new(void)
{
    struct cstore *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return NULL;
    s->n_buckets = 64;
    s->tab = calloc(s->n_buckets, sizeof(struct centry *));
    if (s->tab == NULL || pthread_rwlock_init(&s->lock, NULL) != 0) {
        free(s->tab);
        free(s);
        return NULL;
    }
    return s;
}

void
cstore_free(struct cstore *s)
{
    size_t i;

    if (s == NULL)
        return;
    for (i = 0; i < s->n_buckets; i++) {
        struct centry *e = s->tab[i];

        while (e != NULL) {
            struct centry *next = e->next;

            cview_unref(e->m);
            free(e);
            e = next;
        }
    }
    free(s->tab);
    pthread_rwlock_destroy(&s->lock);
    free(s);
}

int
cstore_key(const struct cmeta *m, char *out, size_t cap)
{
    int n = m->ns != NULL ? snprintf(out, cap, "%s/%s", m->ns, m->name)
                          : snprintf(out, cap, "%s", m->name);

    return n < 0 || (size_t)n >= cap ? SC_ETOOBIG : 0;
}

static struct centry **
find_slot(struct cstore *s, const char *key, uint64_t h)
{
    struct centry **pp = &s->tab[h & (s->n_buckets - 1)];

    while (*pp != NULL && ((*pp)->hash != h || strcmp((*pp)->key, key) != 0))
        pp = &(*pp)->next;
    return pp;
}

static void
grow(struct cstore *s)
{
    size_t n = s->n_buckets * 2, i;
    struct centry **tab = calloc(n, sizeof(struct centry *));

    if (tab == NULL)
        return; /* keep the longer chains */
    for (i = 0; i < s->n_buckets; i++) {
        struct centry *e = s->tab[i];

        while (e != NULL) {
            struct centry *next = e->next;

            e->next = tab[e->hash & (n - 1)];
            tab[e->hash & (n - 1)] = e;
            e = next;
        }
    }
    free(s->tab);
    s->tab = tab;
    s->n_buckets = n;
}

int
cstore_put(struct cstore *s, struct cmeta *m, bool force)
{
    char key[LIM_KEY];
    struct centry **pp = NULL, *e = NULL;
    uint64_t h;
    int rc;

    if (cstore_key(m, key, sizeof(key)) != 0) {
        cview_unref(m);
        return SC_ETOOBIG;
    }
    h = hmap_hash_str(key);
    pthread_rwlock_wrlock(&s->lock);
    pp = find_slot(s, key, h);
    if (*pp != NULL) {
        int64_t old_rv, new_rv;

        if (!force && (!cview_rv_num(m->rv, &new_rv) ||
                       (cview_rv_num((*pp)->m->rv, &old_rv) && new_rv < old_rv))) {
            pthread_rwlock_unlock(&s->lock);
            cview_unref(m);
            return CSTORE_STALE;
        }
        cview_unref((*pp)->m);
        (*pp)->m = m;
        rc = CSTORE_REPLACED;
    } else {
        size_t klen = strlen(key) + 1;

        e = malloc(sizeof(*e) + klen);
        if (e == NULL) {
            pthread_rwlock_unlock(&s->lock);
            cview_unref(m);
            return SC_ENOMEM;
        }
        memcpy(e->key, key, klen);
        e->hash = h;
        e->m = m;
        e->next = NULL;
        *pp = e;
        s->len++;
        if (s->len > s->n_buckets)
            grow(s);
        rc = CSTORE_ADDED;
    }
    pthread_rwlock_unlock(&s->lock);
    return rc;
}

struct cmeta *
cstore_get(struct cstore *s, const char *key)
{
    struct centry **pp = NULL;
    struct cmeta *m = NULL;

    pthread_rwlock_rdlock(&s->lock);
    pp = find_slot(s, key, hmap_hash_str(key));
    if (*pp != NULL)
        m = cview_ref((*pp)->m);
    pthread_rwlock_unlock(&s->lock);
    return m;
}

struct cmeta *
cstore_del(struct cstore *s, const char *key)
{
    struct centry **pp = NULL, *e = NULL;
    struct cmeta *m = NULL;

    pthread_rwlock_wrlock(&s->lock);
    pp = find_slot(s, key, hmap_hash_str(key));
    if (*pp != NULL) {
        e = *pp;
        *pp = e->next;
        m = e->m;
        free(e);
        s->len--;
    }
    pthread_rwlock_unlock(&s->lock);
    return m;
}

size_t
cstore_len(struct cstore *s)
{
    size_t n;

    pthread_rwlock_rdlock(&s->lock);
    n = s->len;
    pthread_rwlock_unlock(&s->lock);
    return n;
}

void
cstore_each(struct cstore *s, int (*fn)(const struct cmeta *m, void *arg), void *arg)
{
    size_t i;

    pthread_rwlock_rdlock(&s->lock);
    for (i = 0; i < s->n_buckets; i++) {
        const struct centry *e = NULL;

        for (e = s->tab[i]; e != NULL; e = e->next)
            if (fn(e->m, arg) != 0)
                goto out;
    }
out:
    pthread_rwlock_unlock(&s->lock);
}

size_t
cstore_bytes(struct cstore *s)
{
    size_t i, total;

    pthread_rwlock_rdlock(&s->lock);
    total = sizeof(*s) + s->n_buckets * sizeof(struct centry *);
    for (i = 0; i < s->n_buckets; i++) {
        const struct centry *e = NULL;

        for (e = s->tab[i]; e != NULL; e = e->next)
            total += sizeof(*e) + strlen(e->key) + 1 + cview_bytes(e->m);
    }
    pthread_rwlock_unlock(&s->lock);
    return total;
}
