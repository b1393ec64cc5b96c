/* controller/cpatch.c -- patch builders; see cpatch.h. */
#include "controller/cpatch.h"

#include <stdio.h>
#include <string.h>

#include "common/compiler.h"

/* ---- JSON patch ---- */

void
cpatch_begin(struct cpatch *p)
{
    p->ops = json_array();
}

/* Append op (stolen); on failure (op NULL or no memory) spoil the patch. */
static void
append(struct cpatch *p, json_t *op)
{
    if (p->ops != NULL && op != NULL && json_array_append_new(p->ops, op) == 0)
        return;
    if (p->ops == NULL || op == NULL)
        json_decref(op);
    json_decref(p->ops);
    p->ops = NULL;
}

void
cpatch_test(struct cpatch *p, const char *path, const char *value)
{
    if (p->ops != NULL)
        append(p, json_pack("{s:s,s:s,s:s}", "op", "test", "path", path, "value", value));
}

void
cpatch_add(struct cpatch *p, const char *path, json_t *value)
{
    if (p->ops == NULL || value == NULL) {
        json_decref(value);
        append(p, NULL);
        return;
    }
    append(p, json_pack("{s:s,s:s,s:o}", "op", "add", "path", path, "value", value));
}

void
cpatch_remove(struct cpatch *p, const char *path)
{
    if (p->ops != NULL)
        append(p, json_pack("{s:s,s:s}", "op", "remove", "path", path));
}

json_t *
cpatch_end(struct cpatch *p)
{
    json_t *ops = p->ops;

    p->ops = NULL;
    return ops;
}

/* A JSON array of the strings v[0..n), or NULL. */
static json_t *
string_list(const char *const *v, size_t n)
{
    json_t *list = json_array();
    size_t i;

    for (i = 0; i < n && list != NULL; i++)
        if (json_array_append_new(list, json_string(v[i])) != 0) {
            json_decref(list);
            list = NULL;
        }
    return list;
}

static json_t *
add_finalizers(const struct cmeta *m, const char *const *fins, size_t n, bool guard)
{
    struct cpatch p = {0};
    size_t i;

    cpatch_begin(&p);
    /* "add" of a whole list replaces one a concurrent writer made, and two
     * appends add the name twice: guard them with the resourceVersion we saw. */
    if ((m->n_fins == 0 || guard) && m->rv[0] != '\0')
        cpatch_test(&p, "/metadata/resourceVersion", m->rv);
    if (m->n_fins == 0) {
        cpatch_add(&p, "/metadata/finalizers", string_list(fins, n));
    } else {
        for (i = 0; i < n; i++)
            cpatch_add(&p, "/metadata/finalizers/-", json_string(fins[i]));
    }
    return cpatch_end(&p);
}

json_t *
cpatch_add_finalizers(const struct cmeta *m, const char *const *fins, size_t n)
{
    return add_finalizers(m, fins, n, false);
}

json_t *
cpatch_add_finalizers_guarded(const struct cmeta *m, const char *const *fins, size_t n)
{
    return add_finalizers(m, fins, n, true);
}

/* The known finalizers of bits that m has, highest index first. */
static size_t
fins_by_index(const struct cmeta *m, unsigned bits, int *idx, const char **names, size_t cap)
{
    static const struct {
        unsigned bit;
        const char *name;
    } known[] = {{CFIN_VS_SOURCE, FIN_VS_SOURCE},
                 {CFIN_VS_BOUND, FIN_VS_BOUND},
                 {CFIN_VS_INGROUP, FIN_VS_INGROUP},
                 {CFIN_VSC_BOUND, FIN_VSC_BOUND},
                 {CFIN_PVC_SOURCE, FIN_PVC_SOURCE}};
    size_t n = 0, i, j;

    for (i = 0; i < SC_ARRAY_LEN(known) && n < cap; i++) {
        int at = (bits & known[i].bit) != 0 ? cview_fin_index(m, known[i].bit) : -1;

        if (at < 0)
            continue;
        /* insertion sort, descending: removing from the highest index down
         * keeps the lower indexes valid */
        for (j = n; j > 0 && idx[j - 1] < at; j--) {
            idx[j] = idx[j - 1];
            names[j] = names[j - 1];
        }
        idx[j] = at;
        names[j] = known[i].name;
        n++;
    }
    return n;
}

/* Append "test" + "remove" of fin at idx. */
static void
remove_at(struct cpatch *p, int idx, const char *fin)
{
    char path[64];

    snprintf(path, sizeof(path), "/metadata/finalizers/%d", idx);
    cpatch_test(p, path, fin);
    cpatch_remove(p, path);
}

json_t *
cpatch_remove_finalizers(const struct cmeta *m, unsigned bits)
{
    struct cpatch p = {0};
    const char *names[8];
    int idx[8];
    size_t n = fins_by_index(m, bits, idx, names, SC_ARRAY_LEN(idx)), i;

    cpatch_begin(&p);
    for (i = 0; i < n; i++)
        remove_at(&p, idx[i], names[i]);
    return cpatch_end(&p);
}

json_t *
cpatch_remove_finalizer_at(int idx, const char *fin)
{
    struct cpatch p = {0};

    cpatch_begin(&p);
    remove_at(&p, idx, fin);
    return cpatch_end(&p);
}

/* ---- JSON merge patch ---- */

/* Drop *patch (a step failed). */
static void
spoil(json_t **patch)
{
    json_decref(*patch);
    *patch = NULL;
}

void
cpatch_put(json_t **patch, json_t *obj, const char *key, json_t *value)
{
    if (*patch == NULL || obj == NULL || value == NULL) {
        json_decref(value);
        spoil(patch);
        return;
    }
    if (json_object_set_new(obj, key, value) != 0) /* value released */
        spoil(patch);
}

void
cpatch_set(json_t **patch, const char *path, json_t *value)
{
    json_t *obj = *patch;
    const char *dot;
    char seg[128];

    while (obj != NULL && (dot = strchr(path, '.')) != NULL) {
        json_t *next;

        snprintf(seg, sizeof(seg), "%.*s", (int)(dot - path), path);
        next = json_object_get(obj, seg);
        if (next == NULL && json_object_set_new(obj, seg, next = json_object()) != 0)
            next = NULL;
        obj = json_is_object(next) ? next : NULL;
        path = dot + 1;
    }
    cpatch_put(patch, obj, path, value);
}

json_t *
cpatch_merge(const char *path, json_t *value)
{
    json_t *p = json_object();

    cpatch_set(&p, path, value);
    return p;
}

json_t *
cpatch_annotation(const char *key, const char *value)
{
    return json_pack("{s:{s:{s:s}}}", "metadata", "annotations", key, value);
}

json_t *
cpatch_error_status(const char *msg, const char *time, bool ready_false)
{
    json_t *p = json_pack("{s:{s:{s:s,s:s}}}", "status", "error", "message", msg, "time", time);

    if (ready_false)
        cpatch_set(&p, "status.readyToUse", json_false());
    return p;
}
