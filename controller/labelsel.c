/* controller/labelsel.c -- metav1.LabelSelector parsing, matching and the
 * labelSelector text form.  See labelsel.h. */
#include "controller/labelsel.h"

#include <stdlib.h>
#include <string.h>

struct lreq {
    enum labelsel_op op;
    unsigned order; /* input order, the tie-break of the sort */
    char *key;
    char **values; /* sorted, de-duplicated */
    size_t n_values;
};

struct labelsel {
    bool nothing;
    struct lreq *reqs; /* sorted by key */
    size_t n;
};

static void
req_release(struct lreq *r)
{
    size_t i;

    free(r->key);
    for (i = 0; i < r->n_values; i++)
        free(r->values[i]);
    free(r->values);
}

void
labelsel_free(struct labelsel *s)
{
    size_t i;

    if (s == NULL)
        return;
    for (i = 0; i < s->n; i++)
        req_release(&s->reqs[i]);
    free(s->reqs);
    free(s);
}

static bool
is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* IsValidLabelValue: empty, or <= 63 of [A-Za-z0-9_.-] starting and ending
 * alphanumeric. */
static bool
valid_value(const char *v)
{
    size_t n = strlen(v), i;

    if (n == 0)
        return true;
    if (n > 63 || !is_alnum(v[0]) || !is_alnum(v[n - 1]))
        return false;
    for (i = 0; i < n; i++)
        if (!is_alnum(v[i]) && v[i] != '-' && v[i] != '_' && v[i] != '.')
            return false;
    return true;
}

/* IsQualifiedName: [prefix/]name, name a non-empty label value, prefix a
 * lower-case DNS subdomain of at most 253 characters. */
static bool
valid_key(const char *k)
{
    const char *slash = strchr(k, '/');
    const char *name = slash != NULL ? slash + 1 : k;
    size_t i;

    if (*name == '\0' || !valid_value(name) || strchr(name, '/') != NULL)
        return false;
    if (slash != NULL) {
        size_t plen = (size_t)(slash - k);

        if (plen == 0 || plen > 253)
            return false;
        for (i = 0; i < plen; i++) {
            char c = k[i];

            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
                return false;
        }
        if (k[0] == '-' || k[0] == '.' || k[plen - 1] == '-' || k[plen - 1] == '.')
            return false;
    }
    return true;
}

static int
cmp_strp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
cmp_req(const void *a, const void *b)
{
    const struct lreq *x = a, *y = b;
    int c = strcmp(x->key, y->key);

    if (c != 0)
        return c;
    return x->order < y->order ? -1 : x->order > y->order ? 1 : 0;
}

/* Copy the n values (single, or the strings of values) into r: checked,
 * sorted, duplicates dropped.  On error the caller releases r. */
static int
req_values(struct lreq *r, const char *key, const json_t *values, const char *single, size_t n,
           struct sc_err *err)
{
    size_t i, w = 1;

    for (i = 0; i < n; i++) {
        const char *v = single != NULL ? single : json_string_value(json_array_get(values, i));

        if (v == NULL)
            return sc_err_set(err, SC_EINVALID,
                              "label selector: values of key %s: expected strings", key);
        if (!valid_value(v))
            return sc_err_set(err, SC_EINVALID,
                              "label selector: invalid label value \"%.63s\" for key %s", v, key);
        r->values[r->n_values] = strdup(v);
        if (r->values[r->n_values] == NULL)
            return sc_err_set(err, SC_ENOMEM, "out of memory");
        r->n_values++;
    }
    qsort(r->values, r->n_values, sizeof(*r->values), cmp_strp);
    if (r->n_values <= 1)
        return 0;
    /* a set: drop duplicates */
    for (i = 1; i < r->n_values; i++) {
        if (strcmp(r->values[i], r->values[w - 1]) == 0)
            free(r->values[i]);
        else
            r->values[w++] = r->values[i];
    }
    r->n_values = w;
    return 0;
}

static int
add_req(struct labelsel *s, enum labelsel_op op, const char *key, const json_t *values,
        const char *single, struct sc_err *err)
{
    struct lreq *r = NULL;
    size_t n;
    int rc;

    if (s->n >= LABELSEL_MAX_REQS)
        return sc_err_set(err, SC_ETOOBIG, "label selector has more than %d requirements",
                          LABELSEL_MAX_REQS);
    if (!valid_key(key))
        return sc_err_set(err, SC_EINVALID, "label selector: invalid label key \"%.253s\"", key);
    r = &s->reqs[s->n];
    memset(r, 0, sizeof(*r));
    r->op = op;
    r->order = (unsigned)s->n;
    r->key = strdup(key);
    if (r->key == NULL)
        return sc_err_set(err, SC_ENOMEM, "out of memory");
    n = single != NULL ? 1 : json_array_size(values);
    if (n > LABELSEL_MAX_VALUES) {
        req_release(r);
        return sc_err_set(err, SC_ETOOBIG, "label selector: more than %d values for key %s",
                          LABELSEL_MAX_VALUES, key);
    }
    r->values = calloc(n > 0 ? n : 1, sizeof(*r->values));
    if (r->values == NULL) {
        req_release(r);
        return sc_err_set(err, SC_ENOMEM, "out of memory");
    }
    rc = req_values(r, key, values, single, n, err);
    if (rc != 0) {
        req_release(r);
        return rc;
    }
    s->n++;
    return 0;
}

static int
parse_expr(struct labelsel *s, const json_t *e, size_t idx, struct sc_err *err)
{
    const json_t *jk = json_object_get(e, "key");
    const json_t *jo = json_object_get(e, "operator");
    const json_t *jv = json_object_get(e, "values");
    const char *op;
    enum labelsel_op o;
    size_t nv;

    if (!json_is_object(e))
        return sc_err_set(err, SC_EINVALID, "matchExpressions[%zu]: expected object", idx);
    if (!json_is_string(jk))
        return sc_err_set(err, SC_EINVALID, "matchExpressions[%zu].key: expected string", idx);
    if (!json_is_string(jo))
        return sc_err_set(err, SC_EINVALID, "matchExpressions[%zu].operator: expected string", idx);
    if (jv != NULL && !json_is_null(jv) && !json_is_array(jv))
        return sc_err_set(err, SC_EINVALID, "matchExpressions[%zu].values: expected array", idx);
    op = json_string_value(jo);
    nv = json_array_size(jv);
    if (strcmp(op, "In") == 0)
        o = LABELSEL_IN;
    else if (strcmp(op, "NotIn") == 0)
        o = LABELSEL_NOTIN;
    else if (strcmp(op, "Exists") == 0)
        o = LABELSEL_EXISTS;
    else if (strcmp(op, "DoesNotExist") == 0)
        o = LABELSEL_NOTEXISTS;
    else
        return sc_err_set(err, SC_EINVALID, "\"%.32s\" is not a valid label selector operator", op);
    if ((o == LABELSEL_IN || o == LABELSEL_NOTIN) && nv == 0)
        return sc_err_set(err, SC_EINVALID,
                          "values: Invalid value: []: for 'in', 'notin' operators, values set "
                          "can't be empty");
    if ((o == LABELSEL_EXISTS || o == LABELSEL_NOTEXISTS) && nv != 0)
        return sc_err_set(err, SC_EINVALID,
                          "values: Invalid value: values set must be empty for exists and does "
                          "not exist");
    return add_req(s, o, json_string_value(jk), jv, NULL, err);
}

static int
parse_labels(struct labelsel *s, const json_t *ml, struct sc_err *err)
{
    const char *k;
    const json_t *v;
    int rc;

    json_object_foreach ((json_t *)ml, k, v) {
        if (!json_is_string(v))
            return sc_err_set(err, SC_EINVALID, "matchLabels[%.253s]: expected string", k);
        rc = add_req(s, LABELSEL_EQ, k, NULL, json_string_value(v), err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int
labelsel_parse(const json_t *sel, struct labelsel **out, struct sc_err *err)
{
    struct labelsel *s = calloc(1, sizeof(*s));
    const json_t *ml, *me;
    size_t i, total;
    int rc = 0;

    if (s == NULL)
        return sc_err_set(err, SC_ENOMEM, "out of memory");
    if (sel == NULL || json_is_null(sel)) {
        s->nothing = true;
        *out = s;
        return 0;
    }
    if (!json_is_object(sel)) {
        free(s);
        return sc_err_set(err, SC_EINVALID, "label selector: expected object");
    }
    ml = json_object_get(sel, "matchLabels");
    me = json_object_get(sel, "matchExpressions");
    if (ml != NULL && !json_is_null(ml) && !json_is_object(ml)) {
        free(s);
        return sc_err_set(err, SC_EINVALID, "matchLabels: expected object");
    }
    if (me != NULL && !json_is_null(me) && !json_is_array(me)) {
        free(s);
        return sc_err_set(err, SC_EINVALID, "matchExpressions: expected array");
    }
    total = json_object_size(ml) + json_array_size(me);
    if (total > LABELSEL_MAX_REQS) {
        free(s);
        return sc_err_set(err, SC_ETOOBIG, "label selector has more than %d requirements",
                          LABELSEL_MAX_REQS);
    }
    s->reqs = calloc(total > 0 ? total : 1, sizeof(*s->reqs));
    if (s->reqs == NULL) {
        free(s);
        return sc_err_set(err, SC_ENOMEM, "out of memory");
    }
    rc = parse_labels(s, ml, err);
    for (i = 0; rc == 0 && i < json_array_size(me); i++)
        rc = parse_expr(s, json_array_get(me, i), i, err);
    if (rc != 0) {
        labelsel_free(s);
        return rc;
    }
    qsort(s->reqs, s->n, sizeof(*s->reqs), cmp_req);
    *out = s;
    return 0;
}

bool
labelsel_nothing(const struct labelsel *s)
{
    return s == NULL || s->nothing;
}

static bool
has_value(const struct lreq *r, const char *v)
{
    return bsearch(&v, r->values, r->n_values, sizeof(*r->values), cmp_strp) != NULL;
}

bool
labelsel_match(const struct labelsel *s, const json_t *labels)
{
    size_t i;

    if (labelsel_nothing(s))
        return false;
    for (i = 0; i < s->n; i++) {
        const struct lreq *r = &s->reqs[i];
        const json_t *jv = json_is_object(labels) ? json_object_get(labels, r->key) : NULL;
        const char *v = json_string_value(jv);
        bool ok;

        switch (r->op) {
        case LABELSEL_EQ:
            ok = v != NULL && strcmp(v, r->values[0]) == 0;
            break;
        case LABELSEL_IN:
            ok = v != NULL && has_value(r, v);
            break;
        case LABELSEL_NOTIN:
            ok = v == NULL || !has_value(r, v);
            break;
        case LABELSEL_EXISTS:
            ok = v != NULL;
            break;
        case LABELSEL_NOTEXISTS:
            ok = v == NULL;
            break;
        default:
            ok = false;
            break;
        }
        if (!ok)
            return false;
    }
    return true;
}

static int
query_req(const struct lreq *r, struct buf *out)
{
    size_t j;
    int rc = buf_adds(out, r->op == LABELSEL_NOTEXISTS ? "!" : "");

    if (rc == 0)
        rc = buf_adds(out, r->key);
    if (rc != 0)
        return rc;
    if (r->op == LABELSEL_EQ)
        return buf_addf(out, "=%s", r->values[0]);
    if (r->op != LABELSEL_IN && r->op != LABELSEL_NOTIN)
        return 0;
    rc = buf_adds(out, r->op == LABELSEL_IN ? " in (" : " notin (");
    for (j = 0; rc == 0 && j < r->n_values; j++)
        rc = buf_addf(out, "%s%s", j > 0 ? "," : "", r->values[j]);
    return rc == 0 ? buf_adds(out, ")") : rc;
}

int
labelsel_query(const struct labelsel *s, struct buf *out)
{
    size_t i;
    int rc = 0;

    if (labelsel_nothing(s))
        return 0;
    for (i = 0; rc == 0 && i < s->n; i++) {
        if (i > 0)
            rc = buf_adds(out, ",");
        if (rc == 0)
            rc = query_req(&s->reqs[i], out);
    }
    return rc;
}

int
labelsel_format(const struct labelsel *s, struct buf *out)
{
    size_t before = out->len;
    int rc = labelsel_query(s, out);

    if (rc == 0 && out->len == before)
        rc = buf_adds(out, "<none>");
    return rc;
}
