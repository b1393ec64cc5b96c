/* tests/unit/webhook/fixtures.h -- recorded JSON and a lookup backed by it.
 * Header-only (static functions) because each *_test.c is its own binary. */
#ifndef SC_TESTS_WEBHOOK_FIXTURES_H
#define SC_TESTS_WEBHOOK_FIXTURES_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/harness.h"
#include "tests/lib/jload.h"
#include "webhook/wh_classes.h"
#include "webhook/wh_dataref.h"
#include "webhook/whlookup.h"

/* harness_data_dir()/webhook/rel (new reference), NULL when unreadable. */
static SC_UNUSED json_t *
fx_load(const char *rel)
{
    char path[512];

    snprintf(path, sizeof(path), "webhook/%s", rel);
    return jload(path);
}

/* The absolute path (when it resolves) of the recorded certificate file
 * name of tests/data/webhook/certs. */
static SC_UNUSED void
fx_cert_path(char *out, size_t cap, const char *name)
{
    char rel[300], *abs; /* fits the callers' 300-byte buffers */

    snprintf(rel, sizeof(rel), "%s/webhook/certs/%s", harness_data_dir(), name);
    abs = realpath(rel, NULL);
    snprintf(out, cap, "%s", abs ? abs : rel);
    free(abs);
}

static SC_UNUSED char *
fx_text(const char *rel, size_t *len)
{
    json_t *j = fx_load(rel);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

    json_decref(j);
    if (len != NULL)
        *len = s ? strlen(s) : 0;
    return s;
}

/* A lookup over tests/data/webhook/{classes,grants}.json. */
struct fx_lookup {
    json_t *classes;
    json_t *grants;
    int fail_classes; /* return this error from classes() when non-zero */
    int fail_grants;  /* ... from grants(); SC_ENOTFOUND = CRD absent */
    int class_calls;
    int grant_calls;
};

static int
fx_classes(void *ctx, enum wh_class_kind kind, wh_class_visit_fn *fn, void *arg, struct sc_err *err)
{
    struct fx_lookup *fx = ctx;
    json_t *list = json_object_get(fx->classes, kind == WH_CLASS_GROUP ? "group" : "snapshot");
    json_t *o;
    size_t i;

    fx->class_calls++;
    if (fx->fail_classes)
        return sc_err_set(err, fx->fail_classes, "the class cache has not synced");
    json_array_foreach (list, i, o) {
        const char *driver;
        bool def;

        if (wh_classes_parse(o, kind, &driver, &def, err) != SC_OK)
            continue;
        if (fn(arg, json_string_value(json_object_get(json_object_get(o, "metadata"), "name")),
               driver, def))
            break;
    }
    return SC_OK;
}

static int
fx_grants(void *ctx, const char *ns, wh_grant_visit_fn *fn, void *arg, struct sc_err *err)
{
    struct fx_lookup *fx = ctx;
    json_t *o;
    size_t i;

    fx->grant_calls++;
    if (fx->fail_grants)
        return sc_err_set(err, fx->fail_grants, "resource not served");
    json_array_foreach (fx->grants, i, o) {
        struct wh_grant *g;
        int stop;

        if (wh_dataref_grant_parse(o, &g, err) != SC_OK)
            continue;
        stop = strcmp(g->ns, ns) == 0 ? fn(arg, g) : 0;
        free(g);
        if (stop)
            break;
    }
    return SC_OK;
}

static SC_UNUSED struct wh_lookup
fx_lookup_init(struct fx_lookup *fx)
{
    memset(fx, 0, sizeof(*fx));
    fx->classes = fx_load("classes.json");
    fx->grants = fx_load("grants.json");
    return (struct wh_lookup){.classes = fx_classes, .grants = fx_grants, .ctx = fx};
}

static SC_UNUSED void
fx_lookup_release(struct fx_lookup *fx)
{
    json_decref(fx->classes);
    json_decref(fx->grants);
}

/* Build and parse an AdmissionReview v1 (obj and old are stolen; NULL = absent). */
static SC_UNUSED int
fx_review(struct review_admission *out, const char *op, const char *group, const char *version,
          const char *resource, const char *ns, json_t *obj, json_t *old)
{
    json_t *req = json_pack("{s:s, s:s, s:{s:s, s:s, s:s}, s:s, s:s}", "uid", "uid-1", "operation",
                            op, "resource", "group", group, "version", version, "resource",
                            resource, "namespace", ns, "name", "obj");
    json_t *root = json_pack("{s:s, s:s, s:o}", "apiVersion", "admission.k8s.io/v1", "kind",
                             "AdmissionReview", "request", req);
    char *text;
    int rc;

    if (obj != NULL)
        json_object_set_new(req, "object", obj);
    if (old != NULL)
        json_object_set_new(req, "oldObject", old);
    text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    rc = review_admission_parse(text, strlen(text), out, NULL);
    free(text);
    return rc;
}

/* A class object: driver and annotation value (NULL = no annotation). */
static SC_UNUSED json_t *
fx_class(const char *name, const char *driver, const char *ann_key, const char *ann_val)
{
    json_t *o = json_pack("{s:{s:s}, s:s, s:s}", "metadata", "name", name, "driver", driver,
                          "deletionPolicy", "Delete");

    if (ann_val != NULL)
        json_object_set_new(json_object_get(o, "metadata"), "annotations",
                            json_pack("{s:s}", ann_key, ann_val));
    return o;
}

#endif
