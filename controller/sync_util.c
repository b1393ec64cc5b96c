/* controller/sync_util.c -- upstream's pkg/utils helpers the sync steps
 * need: secret-reference templates (GetSecretReference with os.Expand
 * semantics) and node-selector matching for distributed snapshotting. */
#include "controller/sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/limits.h"
#include "common/log.h"
#include "controller/gostr.h"
#include "controller/gview.h"
#include "controller/sync_int.h"

static bool
is_special(char c)
{
    return c == '*' || c == '#' || c == '$' || c == '@' || c == '!' || c == '?' || c == '-' ||
           (c >= '0' && c <= '9');
}

static bool
is_alnum(char c)
{
    return c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Go os.getShellName: returns the name span within s (s[0] follows '$'),
 * and *w the number of bytes consumed. */
static void
shell_name(const char *s, size_t len, size_t *name_off, size_t *name_len, size_t *w)
{
    size_t i;

    *name_off = 0;
    *name_len = 0;
    if (s[0] == '{') {
        if (len > 2 && is_special(s[1]) && s[2] == '}') {
            *name_off = 1;
            *name_len = 1;
            *w = 3;
            return;
        }
        for (i = 1; i < len; i++) {
            if (s[i] == '}') {
                if (i == 1) {
                    *w = 2; /* eat "${}" */
                    return;
                }
                *name_off = 1;
                *name_len = i - 1;
                *w = i + 1;
                return;
            }
        }
        *w = 1; /* eat "${" */
        return;
    }
    if (is_special(s[0])) {
        *name_len = 1;
        *w = 1;
        return;
    }
    for (i = 0; i < len && is_alnum(s[i]); i++)
        ;
    *name_len = i;
    *w = i;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

#define TMPL_MISSING_MAX 16

/* Names a template asked for that params did not have (strdup'd). */
struct tmpl_missing {
    char *name[TMPL_MISSING_MAX];
    size_t n;
};

/* Expand the name (nlen bytes) into out, or note it as missing (once; at
 * most TMPL_MISSING_MAX).  0 or SC_ENOMEM/SC_ETOOBIG. */
static int
tmpl_expand(const char *name, size_t nlen, const struct tmpl_param *params, size_t n_params,
            struct buf *out, struct tmpl_missing *miss)
{
    size_t k;

    for (k = 0; k < n_params; k++)
        /* a NULL value is a key not available here: reported as missing */
        if (params[k].value != NULL && strlen(params[k].key) == nlen &&
            strncmp(params[k].key, name, nlen) == 0)
            return buf_adds(out, params[k].value);
    if (miss->n >= TMPL_MISSING_MAX)
        return 0;
    for (k = 0; k < miss->n; k++)
        if (strlen(miss->name[k]) == nlen && strncmp(miss->name[k], name, nlen) == 0)
            return 0;
    miss->name[miss->n] = strndup(name, nlen);
    if (miss->name[miss->n] == NULL)
        return SC_ENOMEM;
    miss->n++;
    return 0;
}

/* "invalid tokens: [\"a\" \"b\"]" (sorted) as err; returns SC_EINVALID. */
static int
tmpl_missing_error(struct tmpl_missing *miss, struct sc_err *err)
{
    struct buf m = {0};
    size_t k;
    int rc;

    buf_init(&m, SC_ERR_MSG_LEN);
    qsort(miss->name, miss->n, sizeof(miss->name[0]), cmp_str);
    rc = buf_adds(&m, "invalid tokens: [");
    for (k = 0; k < miss->n && rc == 0; k++) {
        if (k > 0)
            rc = buf_adds(&m, " ");
        if (rc == 0)
            rc = gostr_quote(&m, miss->name[k]);
    }
    if (rc == 0)
        rc = buf_adds(&m, "]");
    rc = sc_err_set(err, SC_EINVALID, "%s", rc == 0 ? buf_str(&m) : "invalid tokens");
    buf_release(&m);
    return rc;
}

/* upstream: resolveTemplate.  out gets the expansion; missing keys give
 * "invalid tokens: [\"a\" \"b\"]" (sorted, de-duplicated). */
static int
resolve_template(const char *tmpl, const struct tmpl_param *params, size_t n_params,
                 struct buf *out, struct sc_err *err)
{
    size_t len = strlen(tmpl), i = 0, j, k;
    struct tmpl_missing miss = {{0}, 0};
    int rc = 0;

    for (j = 0; j < len && rc == 0; j++) {
        size_t off, nlen, w;

        if (tmpl[j] != '$' || j + 1 >= len)
            continue;
        rc = buf_add(out, tmpl + i, j - i);
        shell_name(tmpl + j + 1, len - j - 1, &off, &nlen, &w);
        if (rc == 0 && nlen == 0 && w == 0)
            rc = buf_add(out, "$", 1);
        else if (rc == 0 && nlen > 0)
            rc = tmpl_expand(tmpl + j + 1 + off, nlen, params, n_params, out, &miss);
        j += w;
        i = j + 1;
    }
    if (rc == 0 && i < len)
        rc = buf_add(out, tmpl + i, len - i);
    if (rc == 0 && miss.n > 0)
        rc = tmpl_missing_error(&miss, err);
    else if (rc != 0)
        rc = sc_err_set(err, rc, "template too long");
    for (k = 0; k < miss.n; k++)
        free(miss.name[k]);
    return rc;
}

static bool
dns_label_ok(const char *s, size_t len)
{
    size_t i;

    if (len == 0 || len > 63)
        return false;
    for (i = 0; i < len; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return false;
    }
    return s[0] != '-' && s[len - 1] != '-';
}

static bool
dns_subdomain_ok(const char *s)
{
    size_t len = strlen(s);
    const char *p = s;

    if (len == 0 || len > 253)
        return false;
    while (1) {
        const char *dot = strchr(p, '.');
        size_t n = dot != NULL ? (size_t)(dot - p) : strlen(p);

        if (!dns_label_ok(p, n))
            return false;
        if (dot == NULL)
            return true;
        p = dot + 1;
    }
}

/* Best-effort appends to a message buffer: a message longer than its cap
 * is cut, which is all a cap can do. */
static void
adds(struct buf *b, const char *s)
{
    if (buf_adds(b, s) != 0)
        return;
}

static void
addq(struct buf *b, const char *s)
{
    if (gostr_quote(b, s) != 0)
        adds(b, "\"...\"");
}

int
sync_resolve_secret_template(const char *tmpl, const struct tmpl_param *params, size_t n,
                             bool is_ns, char *out, size_t cap, struct sc_err *err)
{
    struct buf r = {0}, m = {0};
    struct sc_err inner = {0};
    int rc;
    bool valid;

    buf_init(&r, LIM_KEY);
    buf_init(&m, SC_ERR_MSG_LEN);
    rc = resolve_template(tmpl, params, n, &r, &inner);
    if (rc != 0) {
        adds(&m, "error resolving value ");
        addq(&m, tmpl);
        adds(&m, ": ");
        adds(&m, inner.msg);
        rc = sc_err_set(err, rc, "%s", buf_str(&m));
        goto out;
    }
    valid = is_ns ? dns_label_ok(buf_str(&r), r.len) : dns_subdomain_ok(buf_str(&r));
    if (!valid) {
        addq(&m, tmpl);
        if (strcmp(tmpl, buf_str(&r)) != 0) {
            adds(&m, " resolved to ");
            addq(&m, buf_str(&r));
            adds(&m, " which");
        }
        adds(&m, is_ns ? " is not a valid namespace name" : " is not a valid secret name");
        rc = sc_err_set(err, SC_EINVALID, "%s", buf_str(&m));
        goto out;
    }
    if (r.len >= cap) {
        rc = sc_err_set(err, SC_ETOOBIG, "resolved secret reference too long");
        goto out;
    }
    memcpy(out, buf_str(&r), r.len + 1);
out:
    buf_release(&r);
    buf_release(&m);
    return rc;
}

int
sync_secret_ref(const struct cclass *cls, const char *content_name, const char *vs_ns,
                const char *vs_name, bool *has_ref, char *name, char *ns, size_t cap,
                struct sc_err *err)
{
    const char *name_t = cls->secret_name != NULL ? cls->secret_name : "";
    const char *ns_t = cls->secret_ns != NULL ? cls->secret_ns : "";
    struct tmpl_param ns_params[] = {
        {"volumesnapshotcontent.name", content_name},
        {"volumesnapshot.namespace", vs_ns},
    };
    struct tmpl_param name_params[] = {
        {"volumesnapshotcontent.name", content_name},
        {"volumesnapshot.name", vs_name},
        {"volumesnapshot.namespace", vs_ns},
    };
    int rc;

    *has_ref = false;
    if (cls->has_secret_name != cls->has_secret_ns)
        return sc_err_set(err, SC_EINVALID,
                          "failed to get name and namespace template from params: either name and "
                          "namespace for Snapshotter secrets specified, Both must be specified");
    if (!cls->has_secret_name)
        return 0;
    if (*name_t == '\0' || *ns_t == '\0')
        return sc_err_set(err, SC_EINVALID,
                          "failed to get name and namespace template from params: Snapshotter "
                          "secrets specified in parameters but value of either namespace or name "
                          "is empty");
    rc = sync_resolve_secret_template(ns_t, ns_params, SC_ARRAY_LEN(ns_params), true, ns, cap, err);
    if (rc == 0)
        rc = sync_resolve_secret_template(name_t, name_params, SC_ARRAY_LEN(name_params), false,
                                          name, cap, err);
    if (rc == 0)
        *has_ref = true;
    return rc;
}

void
sync_default_scan_add(struct sync_default_scan *s, const char *name, const char *driver,
                      bool is_default)
{
    if (!is_default || driver == NULL || strcmp(driver, s->driver) != 0)
        return;
    if (s->n == 0 || strcmp(name, s->first) < 0)
        snprintf(s->first, sizeof(s->first), "%s", name);
    s->n++;
}

/* ---- node selectors ---- */

static bool
value_in(const json_t *values, const char *v)
{
    size_t i;
    const json_t *x;

    json_array_foreach (values, i, x) {
        if (json_is_string(x) && strcmp(json_string_value(x), v) == 0)
            return true;
    }
    return false;
}

static bool
requirement_matches(const json_t *req, const json_t *fields, bool is_field)
{
    const char *key = json_string_value(json_object_get(req, "key"));
    const char *op = json_string_value(json_object_get(req, "operator"));
    const json_t *values = json_object_get(req, "values");
    const char *have;

    if (key == NULL || op == NULL)
        return false;
    have = json_string_value(json_object_get(fields, key));
    if (is_field && strcmp(key, "metadata.name") != 0)
        return false;
    if (strcmp(op, "In") == 0)
        return have != NULL && value_in(values, have);
    if (strcmp(op, "NotIn") == 0)
        return have == NULL || !value_in(values, have);
    if (strcmp(op, "Exists") == 0)
        return have != NULL;
    if (strcmp(op, "DoesNotExist") == 0)
        return have == NULL;
    if (strcmp(op, "Gt") == 0 || strcmp(op, "Lt") == 0) {
        const char *lim = json_string_value(json_array_get(values, 0));
        char *end1, *end2;
        long long a, b;

        if (have == NULL || lim == NULL || json_array_size(values) != 1)
            return false;
        a = strtoll(have, &end1, 10);
        b = strtoll(lim, &end2, 10);
        if (*end1 != '\0' || *end2 != '\0')
            return false;
        return op[0] == 'G' ? a > b : a < b;
    }
    return false;
}

bool
sync_node_matches(const json_t *selector, const json_t *node)
{
    const json_t *terms = json_object_get(selector, "nodeSelectorTerms");
    const json_t *labels = json_object_get(json_object_get(node, "metadata"), "labels");
    json_t *fields = json_object();
    const json_t *term;
    size_t i;
    bool any = false;

    if (fields == NULL)
        return false;
    json_object_set(fields, "metadata.name",
                    json_object_get(json_object_get(node, "metadata"), "name"));
    json_array_foreach (terms, i, term) {
        const json_t *exprs = json_object_get(term, "matchExpressions");
        const json_t *fexprs = json_object_get(term, "matchFields");
        const json_t *req;
        size_t k;
        bool ok = true;

        if (json_array_size(exprs) == 0 && json_array_size(fexprs) == 0)
            continue; /* an empty term matches nothing */
        json_array_foreach (exprs, k, req) {
            ok = ok && requirement_matches(req, labels, false);
        }
        json_array_foreach (fexprs, k, req) {
            ok = ok && requirement_matches(req, fields, true);
        }
        if (ok) {
            any = true;
            break;
        }
    }
    json_decref(fields);
    return any;
}

/* ---- the sync vocabulary (controller/sync.h, sync_int.h) ---- */

const char *
kind_name(enum kind k)
{
    static const char *const n[N_KIND] = {"vs",   "vsc",    "class", "pvc", "vgs",
                                          "vgsc", "gclass", "pv",    "node"};

    return (unsigned)k < N_KIND ? n[k] : "?";
}

int
sync_patch(const struct sync_env *env, enum kind kind, const struct cmeta *m, bool status,
           enum sync_patch type, json_t *patch, struct sc_err *err)
{
    struct sync_ref ref = {kind, m};
    int rc;

    if (patch == NULL)
        return sc_err_set(err, SC_ENOMEM, "out of memory");
    rc = env->act->patch(env->act->ctx, &ref, status, type, patch, err);
    json_decref(patch);
    return rc;
}

void
sync_event(const struct sync_env *env, enum kind kind, const struct cmeta *m, const char *type,
           const char *reason, const char *msg)
{
    struct sync_ref ref = {kind, m};

    env->act->event(env->act->ctx, &ref, type, reason, msg);
}

int
sync_get_pv(const struct sync_env *env, const char *name, struct cpv **out, struct sc_err *err)
{
    json_t *obj = NULL;
    int rc = env->act->get(env->act->ctx, KIND_PV, NULL, name, &obj, err);

    if (rc == 0)
        rc = cpv_parse(obj, out, err);
    json_decref(obj);
    return rc;
}

int
sync_err_quoted(struct sc_err *err, int code, const char *prefix, const char *inner)
{
    struct buf b = {0};
    int rc;

    /* the event cap, not the error's: a long text is quoted, then cut */
    buf_init(&b, LIM_EVENT_MESSAGE - 1);
    if (buf_adds(&b, prefix) != 0 || gostr_quote(&b, inner) != 0)
        rc = sc_err_set(err, code, "%s%s", prefix, inner);
    else
        rc = sc_err_set(err, code, "%s", buf_str(&b));
    buf_release(&b);
    return rc;
}

int
sync_error_status(const struct sync_env *env, enum kind kind, const struct cmeta *m,
                  const char *cur, bool set_ready_false, const char *reason, const char *msg)
{
    char now[40];
    struct sc_err werr = {0};
    int rc;

    if (cur != NULL && strcmp(cur, msg) == 0)
        return 0;
    clock_rfc3339(clock_wall_ms(&env->clock), now, sizeof(now));
    sc_err_clear(&werr);
    rc = sync_patch(env, kind, m, true, SYNC_PATCH_MERGE,
                    cpatch_error_status(msg, now, set_ready_false), &werr);
    if (rc != 0)
        log_warnx("%s '%s/%s': cannot update error status: %s",
                  kind == KIND_VGS ? "group snapshot" : "snapshot", m->ns, m->name, werr.msg);
    sync_event(env, kind, m, "Warning", reason, msg);
    return rc;
}

/* Two optional strings are equal (both NULL counts). */
static bool
same_opt(const char *a, const char *b)
{
    return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

void
sync_status_error(json_t **p, bool has_cur, const char *cur_msg, const char *cur_time, bool has,
                  const char *msg, const char *time)
{
    if (has && msg != NULL) {
        if (has_cur && cur_msg != NULL && strcmp(cur_msg, msg) == 0 && same_opt(cur_time, time))
            return;
        cpatch_set(p, "status.error.message", json_string(msg));
        if (time != NULL)
            cpatch_set(p, "status.error.time", json_string(time));
    } else if (has_cur) {
        cpatch_set(p, "status.error", json_null());
    }
}

const char *
sync_snap_type(bool has_content)
{
    return has_content ? SNAP_TYPE_PREPROVISIONED : SNAP_TYPE_DYNAMIC;
}

/* The driver of a content or class view of kind. */
static const char *
view_driver(enum kind kind, const struct cmeta *m)
{
    switch (kind) {
    case KIND_VSC:
        return ((const struct cvsc *)m)->driver;
    case KIND_CLASS:
        return ((const struct cclass *)m)->driver;
    case KIND_VGSC:
        return ((const struct gvgsc *)m)->driver;
    default:
        return ((const struct gclass *)m)->driver;
    }
}

void
sync_metrics_driver(const struct sync_env *env, bool group, bool has_content, const char *content,
                    const char *class_name, char *out, size_t cap)
{
    enum kind kind =
        group ? (has_content ? KIND_VGSC : KIND_GCLASS) : (has_content ? KIND_VSC : KIND_CLASS);
    struct cstore *s = group ? (has_content ? env->group_contents : env->group_classes)
                             : (has_content ? env->contents : env->classes);
    const char *name = has_content ? content : class_name;
    struct cmeta *m = name != NULL && s != NULL ? cstore_get(s, name) : NULL;

    out[0] = '\0';
    if (m != NULL && view_driver(kind, m) != NULL)
        snprintf(out, cap, "%s", view_driver(kind, m));
    cview_unref(m);
}

struct restore_scan {
    const char *ns, *vs_name;
    bool found;
};

static int
restore_fn(const struct cmeta *m, void *arg)
{
    const struct cpvc *p = (const struct cpvc *)m;
    struct restore_scan *r = arg;

    if (strcmp(p->m.ns, r->ns) == 0 && p->ds_name != NULL && p->ds_kind != NULL &&
        p->ds_api_group != NULL && strcmp(p->ds_kind, "VolumeSnapshot") == 0 &&
        strcmp(p->ds_api_group, "snapshot.storage.k8s.io") == 0 &&
        strcmp(p->ds_name, r->vs_name) == 0 && p->phase != NULL &&
        strcmp(p->phase, "Pending") == 0) {
        r->found = true;
        return 1;
    }
    return 0;
}

bool
sync_vs_restoring(const struct sync_env *env, const char *ns, const char *vs_name)
{
    struct restore_scan r = {ns, vs_name, false};

    cstore_each(env->claims, restore_fn, &r);
    return r.found;
}

bool
sync_vs_deletion_candidate(const struct cvs *vs)
{
    return vs->m.deleting && (vs->m.fins & (CFIN_VS_SOURCE | CFIN_VS_BOUND)) != 0;
}

bool
sync_vs_ref_set(const struct cvs *vs, const struct cvsc *c)
{
    return c->ref_name != NULL && c->ref_ns != NULL && c->ref_uid != NULL &&
           strcmp(c->ref_name, vs->m.name) == 0 && strcmp(c->ref_ns, vs->m.ns) == 0 &&
           strcmp(c->ref_uid, vs->m.uid) == 0;
}

int
sync_set_being_deleted(const struct sync_env *env, const struct cvsc *c, struct sc_err *err)
{
    if (c == NULL || c->being_deleted_ann)
        return 0;
    return sync_patch(env, KIND_VSC, &c->m, false, SYNC_PATCH_MERGE,
                      cpatch_annotation(ANN_BEING_DELETED, "yes"), err);
}
