/* controller/pvmemo.c -- the PV a snapshot's last pass read (see pvmemo.h).
 *
 * Two maps under one lock: snapshot uid -> (view, when), and PV name ->
 * (latest view, when), through which snapshots of one PV share a view. */
#include "controller/pvmemo.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/hmap.h"

struct ent {
    struct cpv *pv; /* a reference */
    int64_t at_ms;  /* when it was read (or, by name, last shared) */
};

static void
ent_free(void *v)
{
    struct ent *e = v;

    if (e != NULL)
        CVIEW_UNREF(e->pv);
    free(e);
}

static void *
key_dup(const void *k)
{
    return strdup(k);
}

static const struct hmap_type ent_map = {hmap_hash_str, hmap_str_eq, key_dup, free, ent_free};

struct pvmemo {
    pthread_mutex_t mu;
    struct clock clock;
    struct hmap by_uid, by_name;
    unsigned puts;
};

struct pvmemo *
pvmemo_new(struct clock clock)
{
    struct pvmemo *pm = calloc(1, sizeof(*pm));

    if (pm == NULL)
        return NULL;
    pthread_mutex_init(&pm->mu, NULL);
    pm->clock = clock;
    hmap_init(&pm->by_uid, &ent_map, PVMEMO_MAX);
    hmap_init(&pm->by_name, &ent_map, PVMEMO_MAX);
    return pm;
}

void
pvmemo_free(struct pvmemo *pm)
{
    if (pm == NULL)
        return;
    hmap_free(&pm->by_uid);
    hmap_free(&pm->by_name);
    pthread_mutex_destroy(&pm->mu);
    free(pm);
}

/* Keys of entries older than the TTL, at most PVMEMO_SWEEP per sweep. */
struct sweep {
    int64_t now;
    const char *keys[PVMEMO_SWEEP];
    size_t n;
};

static int
collect_old(const void *key, void *val, void *arg)
{
    struct sweep *sw = arg;
    const struct ent *e = val;

    if (sw->now - e->at_ms > PVMEMO_TTL_MS)
        sw->keys[sw->n++] = key;
    return sw->n == PVMEMO_SWEEP;
}

static void
sweep(struct hmap *m, int64_t now)
{
    struct sweep sw = {.now = now};

    hmap_each(m, collect_old, &sw);
    for (size_t i = 0; i < sw.n; i++)
        hmap_del(m, sw.keys[i], NULL); /* each key is its own entry's copy */
}

static struct ent *
ent_new(struct cpv *pv, int64_t now)
{
    struct ent *e = malloc(sizeof(*e));

    if (e != NULL) {
        e->pv = cview_ref(&pv->m);
        e->at_ms = now;
    }
    return e;
}

/* The view to keep for pv: the one already kept for its PV name when the
 * resourceVersion is the same, else pv, which becomes the name's. */
static struct cpv *
shared_view(struct pvmemo *pm, struct cpv *pv, int64_t now)
{
    struct ent *e = hmap_get(&pm->by_name, pv->m.name);

    if (e != NULL && strcmp(e->pv->m.rv, pv->m.rv) == 0) {
        e->at_ms = now;
        return e->pv;
    }
    e = ent_new(pv, now);
    if (e != NULL && hmap_put(&pm->by_name, pv->m.name, e, NULL) != 0)
        ent_free(e);
    return pv;
}

void
pvmemo_put(struct pvmemo *pm, const char *vs_uid, struct cpv *pv)
{
    struct ent *e = NULL;
    int64_t now;

    if (pm == NULL || vs_uid == NULL || vs_uid[0] == '\0' || pv == NULL || pv->m.name == NULL)
        return;
    pthread_mutex_lock(&pm->mu);
    now = clock_mono_ms(&pm->clock);
    if (++pm->puts % PVMEMO_SWEEP == 0 || hmap_len(&pm->by_uid) >= PVMEMO_MAX) {
        sweep(&pm->by_uid, now);
        sweep(&pm->by_name, now);
    }
    e = ent_new(shared_view(pm, pv, now), now);
    if (e != NULL && hmap_put(&pm->by_uid, vs_uid, e, NULL) != 0)
        ent_free(e); /* full: this snapshot's next pass GETs */
    pthread_mutex_unlock(&pm->mu);
}

struct cpv *
pvmemo_take(struct pvmemo *pm, const char *vs_uid, const char *pv_name)
{
    struct ent *e = NULL;
    struct cpv *pv = NULL;

    if (pm == NULL || vs_uid == NULL || pv_name == NULL)
        return NULL;
    pthread_mutex_lock(&pm->mu);
    if (hmap_del(&pm->by_uid, vs_uid, (void **)&e) && e != NULL &&
        clock_mono_ms(&pm->clock) - e->at_ms <= PVMEMO_TTL_MS &&
        strcmp(e->pv->m.name, pv_name) == 0) {
        pv = e->pv; /* the entry's reference goes to the caller */
        e->pv = NULL;
    }
    pthread_mutex_unlock(&pm->mu);
    ent_free(e);
    return pv;
}
