/* controller/pvc_pin.c -- which snapshots keep a PVC's source-protection finalizer. */
#include "controller/pvc_pin.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "common/limits.h"
#include "controller/cpatch.h"
#include "controller/sync_int.h"
#include "kube/kinformer.h"

bool
pvc_pin_holds(const struct cvs *s)
{
    if (s->ready == TRI_TRUE)
        return false;
    if (s->m.deleting && (s->m.fins & (CFIN_VS_SOURCE | CFIN_VS_BOUND)) == 0)
        return false; /* our deletion pass is done with it: it is on its way out */
    if (s->bound != NULL && s->bound[0] != '\0')
        return true; /* bound to a content: being cut */
    /* Not bound: only a snapshot the controller has taken on (it carries our
     * finalizers, ES#1306/ES#1309) and that has not failed may still be cut. */
    return (s->m.fins & (CFIN_VS_SOURCE | CFIN_VS_BOUND)) != 0 && !s->has_error;
}

struct waiters {
    const char *ns, *pvc, *skip;
    size_t n;
    char *out;
    size_t cap, len;
};

/* A dynamic snapshot that names a claim and holds it. */
static bool
pins(const struct cvs *s)
{
    return !s->has_content && s->pvc != NULL && s->m.ns != NULL && pvc_pin_holds(s);
}

bool
pvc_pin_holds_claim(const struct cvs *s, const char *ns, const char *pvc)
{
    return pins(s) && strcmp(s->m.ns, ns) == 0 && strcmp(s->pvc, pvc) == 0;
}

static int
waiter_fn(const struct cmeta *m, void *arg)
{
    const struct cvs *s = (const struct cvs *)m;
    struct waiters *w = arg;
    int k;

    if ((w->skip != NULL && strcmp(s->m.name, w->skip) == 0) ||
        !pvc_pin_holds_claim(s, w->ns, w->pvc))
        return 0;
    if (w->n < PVC_PIN_MAX_NAMES && w->cap > w->len) {
        k = snprintf(w->out + w->len, w->cap - w->len, "%s%s", w->n ? ", " : "", s->m.name);
        if (k > 0)
            w->len += (size_t)k < w->cap - w->len ? (size_t)k : w->cap - w->len - 1;
    }
    w->n++;
    return 0;
}

size_t
pvc_pin_waiters(struct cstore *snapshots, const char *ns, const char *pvc, const char *skip,
                char *out, size_t cap)
{
    struct waiters w = {0};

    w.ns = ns;
    w.pvc = pvc;
    w.skip = skip;
    w.out = out;
    w.cap = cap;
    if (cap > 0)
        out[0] = '\0';
    cstore_each_ns(snapshots, w.ns, waiter_fn, &w);
    if (w.n > PVC_PIN_MAX_NAMES && cap > w.len)
        snprintf(out + w.len, cap - w.len, " and %zu more", w.n - PVC_PIN_MAX_NAMES);
    return w.n;
}

/* The index value of a snapshot that holds its PVC: "ns/pvc" in out
 * (LIM_KEY), else false. */
static bool
pin_value(const struct cvs *s, char *out)
{
    int k;

    if (!pins(s))
        return false;
    k = snprintf(out, LIM_KEY, "%s/%s", s->m.ns, s->pvc);
    return k > 0 && k < LIM_KEY;
}

static void
pin_index(void *ctx, const void *view, struct kindex_out *out)
{
    _Alignas(max_align_t) char buf[CSTORE_PEEK_BYTES];
    char value[LIM_KEY];
    const struct cmeta *m = cstore_peek(ctx, view, buf);

    if (m != NULL && pin_value((const struct cvs *)m, value))
        kindex_emit(out, value);
}

int
pvc_pin_add_index(struct kinformer *inf, struct cstore *snapshots, struct sc_err *err)
{
    return kinformer_add_index(inf, PVC_PIN_INDEX, pin_index, snapshots, err);
}

bool
pvc_pin_others(struct cstore *snapshots, const char *ns, const char *pvc, const char *skip)
{
    struct kinformer *inf = cstore_informer(snapshots);
    char value[LIM_KEY], except[LIM_KEY];
    size_t n = 0;

    /* keys are "ns/name": the index answers in one lookup however many
     * snapshots of the claim are being cut (a burst of them is common) */
    if (inf != NULL && snprintf(value, sizeof(value), "%s/%s", ns, pvc) < (int)sizeof(value) &&
        snprintf(except, sizeof(except), "%s/%s", ns, skip ? skip : "") < (int)sizeof(except) &&
        kinformer_index_count(inf, PVC_PIN_INDEX, value, skip ? except : NULL, &n, NULL) == 0)
        return n > 0;
    return pvc_pin_waiters(snapshots, ns, pvc, skip, NULL, 0) > 0;
}

size_t
pvc_pin_event(const struct sync_env *env, const struct cpvc *pvc, const char *skip)
{
    char names[LIM_EVENT_MESSAGE / 2];
    char msg[LIM_EVENT_MESSAGE];
    struct sync_ref o = {KIND_PVC, &pvc->m};
    size_t n;

    if (!pvc_pin_wanted(pvc))
        return 0;
    n = pvc_pin_waiters(env->snapshots, pvc->m.ns, pvc->m.name, skip, names, sizeof(names));
    if (n == 0)
        return 0;
    snprintf(msg, sizeof(msg),
             "deletion waits for %zu VolumeSnapshot(s) being cut from this claim: %s", n, names);
    env->act->event(env->act->ctx, &o, "Normal", PVC_PIN_REASON, msg);
    return n;
}

bool
pvc_pin_wanted(const struct cpvc *pvc)
{
    return pvc != NULL && pvc->m.deleting && (pvc->m.fins & CFIN_PVC_SOURCE) != 0;
}

/* The claim's own pass: the same check a snapshot pass makes, from the
 * claim's side, so it needs no snapshot left to run it (ES#764). */
int
pvc_pin_sync_key(const struct sync_env *env, const char *key, struct sc_err *err)
{
    struct cpvc *pvc = (struct cpvc *)cstore_get(env->claims, key);
    int rc = 0;

    sc_err_clear(err);
    if (!pvc_pin_wanted(pvc)) {
        CVIEW_UNREF(pvc);
        return 0;
    }
    if (pvc_pin_event(env, pvc, NULL) == 0)
        rc = sync_patch(env, KIND_PVC, &pvc->m, false, SYNC_PATCH_JSON,
                        cpatch_remove_finalizers(&pvc->m, CFIN_PVC_SOURCE), err);
    CVIEW_UNREF(pvc);
    return rc;
}
