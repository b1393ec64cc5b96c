/* webhook/wh_classes.c -- the default-class admission rule. */
#include "webhook/wh_classes.h"

#include <stdio.h>
#include <string.h>

#include "kube/kjson.h"

static const char *const class_group[] = {"snapshot.storage.k8s.io",
                                          "groupsnapshot.storage.k8s.io"};
static const char *const class_resource[] = {"volumesnapshotclasses", "volumegroupsnapshotclasses"};
static const char *const class_rule[] = {"default-class", "default-group-class"};

int
wh_classes_parse(const json_t *obj, enum wh_class_kind kind, const char **driver, bool *is_default,
                 struct sc_err *err)
{
    const char *ann = kind == WH_CLASS_GROUP ? WH_ANN_DEFAULT_GROUP_CLASS : WH_ANN_DEFAULT_CLASS;
    const json_t *v, *meta, *anns;
    struct kjson j = {0};

    *driver = "";
    *is_default = false;
    if (!json_is_object(obj))
        return sc_err_set(err, SC_EINVALID, "object is not a JSON object");
    kjson_init(&j, obj, NULL);
    v = kjson_get(&j, obj, "driver");
    if (v != NULL && !json_is_string(v))
        return sc_err_set(err, SC_EINVALID, "driver is not a string");
    if (v != NULL)
        *driver = json_string_value(v);
    meta = kjson_get(&j, obj, "metadata");
    if (meta != NULL && !json_is_object(meta))
        return sc_err_set(err, SC_EINVALID, "metadata is not a JSON object");
    anns = meta ? kjson_get(&j, meta, "annotations") : NULL;
    if (anns != NULL && !json_is_object(anns))
        return sc_err_set(err, SC_EINVALID, "metadata.annotations is not a JSON object");
    /* The key has dots: read as a map key, not a path. */
    v = anns ? json_object_get(anns, ann) : NULL;
    if (v != NULL && !json_is_string(v))
        return sc_err_set(err, SC_EINVALID, "annotation %s is not a string", ann);
    *is_default = v != NULL && strcmp(json_string_value(v), "true") == 0;
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

/* A macro, not a varargs function: the format strings stay literal at the
 * call sites (checked by -Wformat) and no va_list is needed. */
#define classes_deny(d, rule_, code_, ...)                           \
    ((d)->allowed = false, (d)->rule = (rule_), (d)->code = (code_), \
     (void)snprintf((d)->msg, sizeof((d)->msg), __VA_ARGS__))

/* Which class kind the request's resource is; -1 for anything else. */
static int
class_kind_of(const struct review_gvr *gvr)
{
    const char *v = gvr->version;

    if (strcmp(gvr->group, class_group[0]) == 0 && strcmp(gvr->resource, class_resource[0]) == 0)
        return strcmp(v, "v1") == 0 ? WH_CLASS_SNAPSHOT : -1;
    if (strcmp(gvr->group, class_group[1]) == 0 && strcmp(gvr->resource, class_resource[1]) == 0)
        return (strcmp(v, "v1") == 0 || strcmp(v, "v1beta2") == 0 || strcmp(v, "v1beta1") == 0)
                   ? WH_CLASS_GROUP
                   : -1;
    return -1;
}

/* The ratchet: on UPDATE, an object that was already default for the same
 * driver passes.  Returns 1 to allow, 0 to go on checking, -1 after a
 * denial was written to d. */
static int
ratchet(const struct review_admission *r, enum wh_class_kind kind, const char *driver,
        struct wh_decision *d)
{
    struct sc_err err = {0};
    const char *old_driver;
    bool old_default;

    if (strcmp(r->operation, "UPDATE") != 0 || r->old_object == NULL)
        return 0;
    if (wh_classes_parse(r->old_object, kind, &old_driver, &old_default, &err) != SC_OK) {
        classes_deny(d, class_rule[kind], 400, "cannot decode the old object: %s", err.msg);
        return -1;
    }
    return old_default && strcmp(old_driver, driver) == 0;
}

void
wh_classes_review(const struct review_admission *r, const struct wh_lookup *lk,
                  struct wh_decision *d)
{
    struct sc_err err = {0};
    struct find_default f = {0};
    const char *driver;
    bool is_default;
    int kind, rc;

    memset(d, 0, sizeof(*d));
    d->allowed = true;
    d->rule = strcmp(r->resource.resource, class_resource[1]) == 0 ? class_rule[1] : class_rule[0];
    if (strcmp(r->operation, "CREATE") != 0 && strcmp(r->operation, "UPDATE") != 0)
        return;
    kind = class_kind_of(&r->resource);
    if (kind < 0) {
        classes_deny(
            d, "envelope", 400,
            "expect resource to be {snapshot.storage.k8s.io v1 volumesnapshotclasses} or "
            "{groupsnapshot.storage.k8s.io v1 volumegroupsnapshotclasses}, but found {%s %s %s}",
            r->resource.group, r->resource.version, r->resource.resource);
        return;
    }
    d->rule = class_rule[kind];
    if (r->object == NULL) {
        classes_deny(d, class_rule[kind], 400, "admission request has no object");
        return;
    }
    rc = wh_classes_parse(r->object, (enum wh_class_kind)kind, &driver, &is_default, &err);
    if (rc != SC_OK) {
        classes_deny(d, class_rule[kind], 400, "cannot decode the object: %s", err.msg);
        return;
    }
    if (!is_default || ratchet(r, (enum wh_class_kind)kind, driver, d) != 0)
        return; /* not default, already default for this driver, or denied */

    memset(&f, 0, sizeof(f));
    f.driver = driver;
    rc = lk->classes(lk->ctx, (enum wh_class_kind)kind, visit_class, &f, &err);
    if (rc != SC_OK) {
        classes_deny(d, class_rule[kind], 500, "%s", err.msg[0] ? err.msg : sc_err_str(rc));
        return;
    }
    if (f.found)
        classes_deny(d, class_rule[kind], 0,
                     kind == WH_CLASS_GROUP
                         ? "default group snapshot class: %s already exists for driver: %s"
                         : "default snapshot class: %s already exists for driver: %s",
                     f.name, driver);
}
