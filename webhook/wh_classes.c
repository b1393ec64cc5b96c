/* webhook/wh_classes.c -- the default-class admission rule. */
#include "webhook/wh_classes.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const class_group[] = {"snapshot.storage.k8s.io",
                                          "groupsnapshot.storage.k8s.io"};
static const char *const class_resource[] = {"volumesnapshotclasses", "volumegroupsnapshotclasses"};
static const char *const class_rule[] = {"default-class", "default-group-class"};

int
wh_classes_parse(const json_t *obj, enum wh_class_kind kind, const char **driver, bool *is_default,
                 struct sc_err *err)
{
    const char *ann = kind == WH_CLASS_GROUP ? WH_ANN_DEFAULT_GROUP_CLASS : WH_ANN_DEFAULT_CLASS;
    json_t *v, *meta, *anns;

    *driver = "";
    *is_default = false;
    if (!json_is_object(obj))
        return sc_err_set(err, SC_EINVALID, "object is not a JSON object");
    v = json_object_get(obj, "driver");
    if (v != NULL && !json_is_null(v)) {
        if (!json_is_string(v))
            return sc_err_set(err, SC_EINVALID, "driver is not a string");
        *driver = json_string_value(v);
    }
    meta = json_object_get(obj, "metadata");
    if (meta == NULL || json_is_null(meta))
        return SC_OK;
    if (!json_is_object(meta))
        return sc_err_set(err, SC_EINVALID, "metadata is not a JSON object");
    anns = json_object_get(meta, "annotations");
    if (anns == NULL || json_is_null(anns))
        return SC_OK;
    if (!json_is_object(anns))
        return sc_err_set(err, SC_EINVALID, "metadata.annotations is not a JSON object");
    v = json_object_get(anns, ann);
    if (v == NULL)
        return SC_OK;
    if (!json_is_string(v))
        return sc_err_set(err, SC_EINVALID, "annotation %s is not a string", ann);
    *is_default = strcmp(json_string_value(v), "true") == 0;
    return SC_OK;
}

struct find_default {
    const char *driver;
    char name[256];
    bool found;
};

static int
visit_class(void *arg, const char *name, const char *driver, bool is_default)
{
    struct find_default *f = arg;

    if (!is_default || strcmp(driver, f->driver) != 0)
        return 0;
    snprintf(f->name, sizeof(f->name), "%s", name);
    f->found = true;
    return 1;
}

static void deny(struct wh_decision *d, const char *rule, int code, const char *fmt, ...)
    SC_PRINTF(4, 5);

static void
deny(struct wh_decision *d, const char *rule, int code, const char *fmt, ...)
{
    va_list ap;

    d->allowed = false;
    d->rule = rule;
    d->code = code;
    va_start(ap, fmt);
    vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
    va_end(ap);
}

void
wh_classes_review(const struct review_admission *r, const struct wh_lookup *lk,
                  struct wh_decision *d)
{
    struct sc_err err = {0};
    struct find_default f;
    enum wh_class_kind kind;
    const char *driver, *old_driver;
    bool is_default, old_default;
    char found[200];
    int rc;

    memset(d, 0, sizeof(*d));
    d->allowed = true;
    d->rule = class_rule[0];
    if (strcmp(r->resource.group, class_group[1]) == 0 &&
        strcmp(r->resource.resource, class_resource[1]) == 0)
        d->rule = class_rule[1];
    if (strcmp(r->operation, "CREATE") != 0 && strcmp(r->operation, "UPDATE") != 0)
        return;

    if (strcmp(r->resource.group, class_group[0]) == 0 && strcmp(r->resource.version, "v1") == 0 &&
        strcmp(r->resource.resource, class_resource[0]) == 0) {
        kind = WH_CLASS_SNAPSHOT;
    } else if (strcmp(r->resource.group, class_group[1]) == 0 &&
               (strcmp(r->resource.version, "v1") == 0 ||
                strcmp(r->resource.version, "v1beta2") == 0 ||
                strcmp(r->resource.version, "v1beta1") == 0) &&
               strcmp(r->resource.resource, class_resource[1]) == 0) {
        kind = WH_CLASS_GROUP;
    } else {
        snprintf(found, sizeof(found), "{%s %s %s}", r->resource.group, r->resource.version,
                 r->resource.resource);
        deny(d, "envelope", 400,
             "expect resource to be {snapshot.storage.k8s.io v1 volumesnapshotclasses} or "
             "{groupsnapshot.storage.k8s.io v1 volumegroupsnapshotclasses}, but found %s",
             found);
        return;
    }
    d->rule = class_rule[kind];

    if (r->object == NULL) {
        deny(d, class_rule[kind], 400, "admission request has no object");
        return;
    }
    rc = wh_classes_parse(r->object, kind, &driver, &is_default, &err);
    if (rc != SC_OK) {
        deny(d, class_rule[kind], 400, "cannot decode the object: %s", err.msg);
        return;
    }
    if (!is_default)
        return;

    if (strcmp(r->operation, "UPDATE") == 0 && r->old_object != NULL) {
        rc = wh_classes_parse(r->old_object, kind, &old_driver, &old_default, &err);
        if (rc != SC_OK) {
            deny(d, class_rule[kind], 400, "cannot decode the old object: %s", err.msg);
            return;
        }
        if (old_default && strcmp(old_driver, driver) == 0)
            return; /* ratchet: already default for the same driver */
    }

    memset(&f, 0, sizeof(f));
    f.driver = driver;
    rc = lk->classes(lk->ctx, kind, visit_class, &f, &err);
    if (rc != SC_OK) {
        deny(d, class_rule[kind], 500, "%s", err.msg[0] ? err.msg : sc_err_str(rc));
        return;
    }
    if (f.found)
        deny(d, class_rule[kind], 0,
             kind == WH_CLASS_GROUP
                 ? "default group snapshot class: %s already exists for driver: %s"
                 : "default snapshot class: %s already exists for driver: %s",
             f.name, driver);
}
