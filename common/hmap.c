#include "common/hmap.h"

#include <stdlib.h>
#include <string.h>

#include "common/sc_err.h"

uint64_t
hmap_hash_bytes(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ull;
    }
    return h;
}

uint64_t
hmap_hash_str(const void *key)
{
    return hmap_hash_bytes(HMAP_HASH_SEED, key, strlen(key));
}

bool
hmap_str_eq(const void *a, const void *b)
{
    return strcmp(a, b) == 0;
}

static void *
str_dup(const void *key)
{
    return strdup(key);
}

const struct hmap_type hmap_str_keys = {hmap_hash_str, hmap_str_eq, str_dup, free, NULL};

void
hmap_init(struct hmap *m, const struct hmap_type *type, size_t n_max)
{
    memset(m, 0, sizeof(*m));
    m->type = type;
    m->n_max = n_max;
}

static void
entry_free(const struct hmap *m, struct hmap_entry *e, bool free_val)
{
    if (m->type->key_free != NULL)
        m->type->key_free(e->key);
    if (free_val && m->type->val_free != NULL)
        m->type->val_free(e->val);
    free(e);
}

void
hmap_free(struct hmap *m)
{
    size_t i;

    for (i = 0; i < m->n_buckets; i++) {
        struct hmap_entry *e = m->tab[i], *next;

        for (; e != NULL; e = next) {
            next = e->next;
            entry_free(m, e, true);
        }
    }
    free(m->tab);
    m->tab = NULL;
    m->n_buckets = m->len = 0;
}

/* The link that points at key's entry (or at the NULL ending its chain). */
static struct hmap_entry **
slot(const struct hmap *m, const void *key, uint64_t h)
{
    struct hmap_entry **pp = &m->tab[h & (m->n_buckets - 1)];

    while (*pp != NULL && ((*pp)->hash != h || !m->type->key_eq((*pp)->key, key)))
        pp = &(*pp)->next;
    return pp;
}

struct hmap_entry *
hmap_find(const struct hmap *m, const void *key)
{
    if (m->len == 0)
        return NULL;
    return *slot(m, key, m->type->hash(key));
}

void *
hmap_get(const struct hmap *m, const void *key)
{
    struct hmap_entry *e = hmap_find(m, key);

    return e != NULL ? e->val : NULL;
}

/* Rehash into n buckets (a power of two); false when they cannot be
 * allocated (the old table stays and still works). */
static bool
resize(struct hmap *m, size_t n)
{
    struct hmap_entry **tab = calloc(n, sizeof(struct hmap_entry *));
    size_t i;

    if (tab == NULL)
        return false;
    for (i = 0; i < m->n_buckets; i++) {
        struct hmap_entry *e = m->tab[i], *next;

        for (; e != NULL; e = next) {
            next = e->next;
            e->next = tab[e->hash & (n - 1)];
            tab[e->hash & (n - 1)] = e;
        }
    }
    free(m->tab);
    m->tab = tab;
    m->n_buckets = n;
    return true;
}

/* Double the buckets (or make the first 16); a failed grow keeps the old
 * table, which still works, only with longer chains. */
static void
grow(struct hmap *m)
{
    (void)resize(m, m->n_buckets > 0 ? m->n_buckets * 2 : HMAP_MIN_BUCKETS);
}

void
hmap_shrink(struct hmap *m)
{
    size_t n = m->n_buckets;

    if (n <= HMAP_MIN_BUCKETS || m->len >= n / 8)
        return;
    while (n > HMAP_MIN_BUCKETS && m->len < n / 4)
        n /= 2;
    (void)resize(m, n);
}

int
hmap_reserve(struct hmap *m, size_t n)
{
    size_t nb = HMAP_MIN_BUCKETS;

    while (nb < n)
        nb *= 2;
    if (nb <= m->n_buckets)
        return 0;
    return resize(m, nb) ? 0 : SC_ENOMEM;
}

int
hmap_put(struct hmap *m, const void *key, void *val, void **old)
{
    uint64_t h = m->type->hash(key);
    struct hmap_entry **pp = NULL, *e = NULL;

    if (m->len >= m->n_buckets)
        grow(m);
    if (m->n_buckets == 0)
        return SC_ENOMEM;
    pp = slot(m, key, h);
    if (*pp != NULL) {
        if (old != NULL)
            *old = (*pp)->val;
        else if (m->type->val_free != NULL)
            m->type->val_free((*pp)->val);
        (*pp)->val = val;
        return 0;
    }
    if (m->n_max > 0 && m->len >= m->n_max)
        return SC_ETOOBIG;
    e = calloc(1, sizeof(*e));
    if (e == NULL)
        return SC_ENOMEM;
    if (m->type->key_dup != NULL)
        e->key = m->type->key_dup(key);
    else /* the caller's key, kept as is (the map never writes through it) */
        memcpy(&e->key, &key, sizeof(e->key));
    if (e->key == NULL) {
        free(e);
        return SC_ENOMEM;
    }
    e->hash = h;
    e->val = val;
    *pp = e;
    m->len++;
    if (old != NULL)
        *old = NULL;
    return 0;
}

/* Hash e and make room for it: 0, SC_ENOMEM (no buckets) or SC_ETOOBIG
 * (n_max, unless it takes an existing key's place: replacing). */
static int
link_prepare(struct hmap *m, struct hmap_entry *e, bool replacing)
{
    e->hash = m->type->hash(e->key);
    if (m->len >= m->n_buckets)
        grow(m);
    if (m->n_buckets == 0)
        return SC_ENOMEM;
    if (!replacing && m->n_max > 0 && m->len >= m->n_max)
        return SC_ETOOBIG;
    return 0;
}

int
hmap_link(struct hmap *m, struct hmap_entry *e, struct hmap_entry **old)
{
    struct hmap_entry **pp = NULL;
    int rc = link_prepare(m, e, true);

    *old = NULL;
    if (rc != 0)
        return rc;
    pp = slot(m, e->key, e->hash);
    if (*pp != NULL) {
        *old = *pp;
        e->next = (*pp)->next;
        *pp = e;
        return 0;
    }
    if (m->n_max > 0 && m->len >= m->n_max)
        return SC_ETOOBIG;
    e->next = NULL;
    *pp = e;
    m->len++;
    return 0;
}

int
hmap_add(struct hmap *m, struct hmap_entry *e)
{
    struct hmap_entry **head = NULL;
    int rc = link_prepare(m, e, false);

    if (rc != 0)
        return rc;
    head = &m->tab[e->hash & (m->n_buckets - 1)];
    e->next = *head;
    *head = e;
    m->len++;
    return 0;
}

struct hmap_entry *
hmap_find_next(const struct hmap *m, const struct hmap_entry *e)
{
    struct hmap_entry *n = e->next;

    while (n != NULL && (n->hash != e->hash || !m->type->key_eq(n->key, e->key)))
        n = n->next;
    return n;
}

void
hmap_unlink_entry(struct hmap *m, struct hmap_entry *e)
{
    struct hmap_entry **pp = NULL;

    if (m->len == 0)
        return; /* not in m */
    pp = &m->tab[e->hash & (m->n_buckets - 1)];
    while (*pp != NULL && *pp != e)
        pp = &(*pp)->next;
    if (*pp == NULL)
        return; /* not in m */
    *pp = e->next;
    e->next = NULL;
    m->len--;
}

struct hmap_entry *
hmap_unlink(struct hmap *m, const void *key)
{
    struct hmap_entry **pp = NULL, *e = NULL;

    if (m->len == 0)
        return NULL;
    pp = slot(m, key, m->type->hash(key));
    e = *pp;
    if (e != NULL) {
        *pp = e->next;
        e->next = NULL;
        m->len--;
    }
    return e;
}

bool
hmap_del(struct hmap *m, const void *key, void **val)
{
    struct hmap_entry **pp = NULL, *e = NULL;

    if (m->len == 0)
        return false;
    pp = slot(m, key, m->type->hash(key));
    e = *pp;
    if (e == NULL)
        return false;
    *pp = e->next;
    m->len--;
    if (val != NULL)
        *val = e->val;
    entry_free(m, e, val == NULL);
    return true;
}

size_t
hmap_len(const struct hmap *m)
{
    return m->len;
}

void
hmap_each(const struct hmap *m, int (*fn)(const void *key, void *val, void *arg), void *arg)
{
    size_t i;

    for (i = 0; i < m->n_buckets; i++) {
        struct hmap_entry *e = m->tab[i];

        for (; e != NULL; e = e->next)
            if (fn(e->key, e->val, arg) != 0)
                return;
    }
}

size_t
hmap_bytes(const struct hmap *m)
{
    return m->n_buckets * sizeof(struct hmap_entry *) + m->len * sizeof(struct hmap_entry);
}

void
hmap_iter_init(struct hmap_iter *it, struct hmap *m)
{
    memset(it, 0, sizeof(*it));
    it->m = m;
}

struct hmap_entry *
hmap_iter_next(struct hmap_iter *it)
{
    while (it->next == NULL && it->bucket < it->m->n_buckets)
        it->next = it->m->tab[it->bucket++];
    it->cur = it->next;
    if (it->cur != NULL)
        it->next = it->cur->next;
    return it->cur;
}

void
hmap_iter_del(struct hmap_iter *it, void **val)
{
    if (it->cur != NULL)
        (void)hmap_del(it->m, it->cur->key, val);
    it->cur = NULL;
}

void
hmap_stats(const struct hmap *m, struct hmap_stats *st)
{
    size_t i;

    memset(st, 0, sizeof(*st));
    st->len = m->len;
    st->n_buckets = m->n_buckets;
    st->bytes = hmap_bytes(m);
    for (i = 0; i < m->n_buckets; i++) {
        const struct hmap_entry *e = m->tab[i];
        size_t n = 0;

        for (; e != NULL; e = e->next)
            n++;
        st->used_buckets += n > 0;
        st->max_chain = n > st->max_chain ? n : st->max_chain;
    }
}
