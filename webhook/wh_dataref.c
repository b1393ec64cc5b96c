/* webhook/wh_dataref.c -- the ReferenceGrant rule for PVC data sources. */
#include "webhook/wh_dataref.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/kjson.h"

#define RULE "reference-grant"

/* A macro, not a varargs function: see wh_classes.c. */
#define dataref_deny(d, code_, ...)             \
    ((d)->allowed = false, (d)->code = (code_), \
     (void)snprintf((d)->msg, sizeof((d)->msg), __VA_ARGS__))

static int
streq(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

bool
wh_dataref_grant_allows(const struct wh_grant *g, const struct wh_dataref *ref)
{
    bool from_ok = false;
    size_t i;

    if (!streq(g->ns, ref->ns))
        return false;
    for (i = 0; i < g->n_from && !from_ok; i++)
        from_ok = streq(g->from[i].group, "") && streq(g->from[i].kind, "PersistentVolumeClaim") &&
                  streq(g->from[i].ns, ref->pvc_ns);
    if (!from_ok)
        return false;
    for (i = 0; i < g->n_to; i++) {
        const struct wh_grant_to *t = &g->to[i];

        if (streq(t->group, ref->group) && streq(t->kind, ref->kind) &&
            (t->name == NULL || t->name[0] == '\0' || streq(t->name, ref->name)))
            return true;
    }
    return false;
}

/* A string member read leniently through kjson: NULL when absent, null or of
 * another type (a grant entry with a bad field matches nothing). */
static const char *
opt_str(const json_t *obj, const char *key)
{
    struct kjson j = {0};

    if (!json_is_object(obj))
        return NULL;
    kjson_init(&j, obj, NULL);
    return json_string_value(kjson_get(&j, obj, key));
}

static size_t
str_size(const char *s)
{
    return s ? strlen(s) + 1 : 0;
}

static const char *
pack_str(char **cursor, const char *s, const char *dflt)
{
    char *p = *cursor;
    size_t n;

    if (s == NULL)
        return dflt;
    n = strlen(s) + 1;
    memcpy(p, s, n);
    *cursor += n;
    return p;
}

/* Bytes for a packed grant with nf from and nt to entries. */
static size_t
grant_size(const json_t *meta, const json_t *from, const json_t *to, size_t nf, size_t nt)
{
    size_t need = sizeof(struct wh_grant) + nf * sizeof(struct wh_grant_from) +
                  nt * sizeof(struct wh_grant_to) + str_size(opt_str(meta, "namespace")) +
                  str_size(opt_str(meta, "name"));
    const json_t *e;

    for (size_t i = 0; i < nf; i++) {
        e = json_array_get(from, i);
        need += str_size(opt_str(e, "group")) + str_size(opt_str(e, "kind")) +
                str_size(opt_str(e, "namespace"));
    }
    for (size_t i = 0; i < nt; i++) {
        e = json_array_get(to, i);
        need += str_size(opt_str(e, "group")) + str_size(opt_str(e, "kind")) +
                str_size(opt_str(e, "name"));
    }
    return need;
}

int
wh_dataref_grant_parse(const json_t *obj, struct wh_grant **out, struct sc_err *err)
{
    const json_t *meta, *spec, *from, *to, *e;
    struct kjson j = {0};
    struct wh_grant *g = NULL;
    struct wh_grant_from *f = NULL;
    struct wh_grant_to *t = NULL;
    size_t i, nf, nt;
    char *cur;

    *out = NULL;
    if (!json_is_object(obj))
        return sc_err_set(err, SC_EINVALID, "ReferenceGrant has no metadata");
    kjson_init(&j, obj, NULL);
    meta = kjson_get(&j, obj, "metadata");
    spec = kjson_get(&j, obj, "spec");
    if (!json_is_object(meta))
        return sc_err_set(err, SC_EINVALID, "ReferenceGrant has no metadata");
    if (spec != NULL && !json_is_object(spec))
        return sc_err_set(err, SC_EINVALID, "ReferenceGrant spec is not an object");
    from = spec ? kjson_get(&j, spec, "from") : NULL;
    to = spec ? kjson_get(&j, spec, "to") : NULL;
    if ((from != NULL && !json_is_array(from)) || (to != NULL && !json_is_array(to)))
        return sc_err_set(err, SC_EINVALID, "ReferenceGrant spec.from/spec.to is not a list");
    nf = json_is_array(from) ? json_array_size(from) : 0;
    nt = json_is_array(to) ? json_array_size(to) : 0;
    g = calloc(1, grant_size(meta, from, to, nf, nt));
    if (g == NULL)
        return sc_err_set(err, SC_ENOMEM, "cannot allocate");
    f = (struct wh_grant_from *)(g + 1);
    t = (struct wh_grant_to *)(f + nf);
    cur = (char *)(t + nt);
    g->ns = pack_str(&cur, opt_str(meta, "namespace"), "");
    g->name = pack_str(&cur, opt_str(meta, "name"), "");
    for (i = 0; i < nf; i++) {
        e = json_array_get(from, i);
        f[i].group = pack_str(&cur, opt_str(e, "group"), "");
        f[i].kind = pack_str(&cur, opt_str(e, "kind"), "");
        f[i].ns = pack_str(&cur, opt_str(e, "namespace"), "");
    }
    for (i = 0; i < nt; i++) {
        e = json_array_get(to, i);
        t[i].group = pack_str(&cur, opt_str(e, "group"), "");
        t[i].kind = pack_str(&cur, opt_str(e, "kind"), "");
        t[i].name = pack_str(&cur, opt_str(e, "name"), NULL);
    }
    g->from = f;
    g->n_from = nf;
    g->to = t;
    g->n_to = nt;
    *out = g;
    return SC_OK;
}

struct grant_search {
    const struct wh_dataref *ref;
    bool allowed;
};

static int
visit_grant(void *arg, const struct wh_grant *g)
{
    struct grant_search *s = arg;

    if (wh_dataref_grant_allows(g, s->ref)) {
        s->allowed = true;
        return 1;
    }
    return 0;
}

/* A string member through kjson, "" when absent or null; a member of another
 * type sets j's sticky error (the caller denies once, at the end). */
static const char *
str_member(struct kjson *j, const json_t *obj, const char *key)
{
    const char *s = obj != NULL ? kjson_key_str(j, obj, key, key) : NULL;

    return s != NULL ? s : "";
}

/* Read the PVC's names and its dataSourceRef into ref.  Returns 1 when there
 * is a reference to check, 0 when there is none, -1 after a denial was
 * written to d. */
static int
read_ref(const struct review_admission *r, struct wh_dataref *ref, struct wh_decision *d)
{
    const json_t *meta, *spec, *dsr;
    struct kjson j = {0};

    memset(ref, 0, sizeof(*ref));
    kjson_init(&j, r->object, NULL);
    meta = kjson_get(&j, r->object, "metadata");
    spec = kjson_get(&j, r->object, "spec");
    dsr = json_is_object(spec) ? kjson_get(&j, spec, "dataSourceRef") : NULL;
    if (meta != NULL && !json_is_object(meta)) {
        dataref_deny(d, 400, "cannot decode the object: metadata is not a JSON object");
        return -1;
    }
    if ((spec != NULL && !json_is_object(spec)) || (dsr != NULL && !json_is_object(dsr))) {
        dataref_deny(d, 400,
                     "cannot decode the object: spec or spec.dataSourceRef is not a JSON object");
        return -1;
    }
    if (dsr == NULL)
        return 0;
    ref->pvc_ns = str_member(&j, meta, "namespace");
    ref->pvc_name = str_member(&j, meta, "name");
    if (ref->pvc_ns[0] == '\0')
        ref->pvc_ns = r->ns;
    if (ref->pvc_name[0] == '\0')
        ref->pvc_name = r->name[0] ? r->name : str_member(&j, meta, "generateName");
    ref->ns = str_member(&j, dsr, "namespace");
    ref->group = str_member(&j, dsr, "apiGroup");
    ref->kind = str_member(&j, dsr, "kind");
    ref->name = str_member(&j, dsr, "name");
    if (kjson_error(&j) != 0) {
        dataref_deny(d, 400,
                     "cannot decode the object: a metadata or spec.dataSourceRef field is not "
                     "a string");
        return -1;
    }
    return 1;
}

void
wh_dataref_review(const struct review_admission *r, const struct wh_lookup *lk,
                  struct wh_decision *d)
{
    struct grant_search s = {0};
    struct wh_dataref ref = {0};
    struct sc_err err = {0};
    int rc;

    memset(d, 0, sizeof(*d));
    d->allowed = true;
    d->rule = RULE;
    if (strcmp(r->operation, "CREATE") != 0)
        return;
    if (strcmp(r->resource.group, "") != 0 || strcmp(r->resource.version, "v1") != 0 ||
        strcmp(r->resource.resource, "persistentvolumeclaims") != 0) {
        d->rule = "envelope";
        dataref_deny(d, 400,
                     "expect resource to be { v1 persistentvolumeclaims}, but found {%s %s %s}",
                     r->resource.group, r->resource.version, r->resource.resource);
        return;
    }
    if (r->object == NULL) {
        dataref_deny(d, 400, "admission request has no object");
        return;
    }
    if (read_ref(r, &ref, d) <= 0 || ref.ns[0] == '\0' || strcmp(ref.ns, ref.pvc_ns) == 0)
        return; /* denied, no reference, or not cross-namespace */

    memset(&s, 0, sizeof(s));
    s.ref = &ref;
    rc = lk->grants(lk->ctx, ref.ns, visit_grant, &s, &err);
    if (rc == SC_ENOTFOUND) {
        dataref_deny(
            d, 403,
            "accessing %s/%s of %s dataSource from %s/%s isn't allowed: the ReferenceGrant CRD "
            "(referencegrants.gateway.networking.k8s.io) is not installed, so cross-namespace "
            "data sources are denied",
            ref.ns, ref.name, ref.kind, ref.pvc_ns, ref.pvc_name);
        return;
    }
    if (rc != SC_OK) {
        dataref_deny(d, 500, "cannot check ReferenceGrants in namespace %s: %s", ref.ns,
                     err.msg[0] ? err.msg : sc_err_str(rc));
        return;
    }
    if (s.allowed)
        return;
    dataref_deny(
        d, 403,
        "accessing %s/%s of %s dataSource from %s/%s isn't allowed: no ReferenceGrant in "
        "namespace %s has from {group: \"\", kind: PersistentVolumeClaim, namespace: %s} and "
        "to {group: \"%s\", kind: %s, name: %s}",
        ref.ns, ref.name, ref.kind, ref.pvc_ns, ref.pvc_name, ref.ns, ref.pvc_ns, ref.group,
        ref.kind, ref.name);
}
