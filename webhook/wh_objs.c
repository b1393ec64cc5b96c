/* webhook/wh_objs.c -- compact views of PVCs, PVs, StorageClasses and contents. */
#include "webhook/wh_objs.h"

#include <stdlib.h>
#include <string.h>

#include "kube/kinformer.h"
#include "kube/kjson.h"

#define ANN_BETA_SC "volume.beta.kubernetes.io/storage-class"

static const char *
nonempty(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : NULL;
}

/* A PVC's labels, checked: every value must be a string. */
static size_t
pvc_labels(struct kjson *r, const json_t *labels)
{
    const char *key;
    const json_t *v;
    size_t n = 0;

    json_object_foreach ((json_t *)labels, key, v) {
        if (!json_is_string(v))
            kjson_fail(r, SC_EINVALID, "metadata.labels.%s: expected string, got %s", key,
                       kjson_type_name(v));
        n++;
    }
    if (n > WH_OBJ_MAX_LABELS)
        kjson_fail(r, SC_ETOOBIG, "metadata.labels: %zu labels, more than %d", n,
                   WH_OBJ_MAX_LABELS);
    return n;
}

int
wh_pvc_parse(const json_t *obj, struct wh_pvc **out, struct sc_err *err)
{
    struct kjson r = {0};
    struct kpack p = {0};
    struct wh_pvc *v = NULL;
    const char *ns, *name, *vol, *sc, *phase, *key;
    const json_t *labels, *ann, *val;
    const char **lab = NULL;
    size_t nl = 0, i = 0;
    bool deleting;

    *out = NULL;
    kjson_init(&r, obj, err);
    ns = kjson_str_req(&r, "metadata.namespace");
    name = kjson_str_req(&r, "metadata.name");
    deleting = kjson_str(&r, "metadata.deletionTimestamp") != NULL;
    vol = nonempty(kjson_str(&r, "spec.volumeName"));
    sc = kjson_str(&r, "spec.storageClassName");
    phase = kjson_str(&r, "status.phase");
    ann = kjson_obj(&r, "metadata.annotations");
    if (sc == NULL && ann != NULL)
        sc = kjson_key_str(&r, ann, "metadata.annotations", ANN_BETA_SC);
    labels = kjson_obj(&r, "metadata.labels");
    if (labels != NULL)
        nl = pvc_labels(&r, labels);
    if (kjson_error(&r) != 0)
        return kjson_error(&r);

    kpack_init(&p, sizeof(*v) + 2 * nl * sizeof(char *));
    kpack_reserve(&p, ns);
    kpack_reserve(&p, name);
    kpack_reserve(&p, vol);
    kpack_reserve(&p, sc);
    json_object_foreach ((json_t *)labels, key, val) {
        kpack_reserve(&p, key);
        kpack_reserve(&p, json_string_value(val));
    }
    v = kpack_alloc(&p);
    if (v == NULL)
        return sc_err_set(err, SC_ENOMEM, "cannot allocate a PVC view");
    lab = (const char **)(v + 1);
    v->ns = kpack_str(&p, ns);
    v->name = kpack_str(&p, name);
    v->volume = kpack_str(&p, vol);
    v->sc = kpack_str(&p, sc);
    json_object_foreach ((json_t *)labels, key, val) {
        lab[i++] = kpack_str(&p, key);
        lab[i++] = kpack_str(&p, json_string_value(val));
    }
    v->n_labels = nl;
    v->labels = lab;
    v->bound = phase != NULL && strcmp(phase, "Bound") == 0;
    v->deleting = deleting;
    *out = v;
    return SC_OK;
}

int
wh_pv_parse(const json_t *obj, struct wh_pv **out, struct sc_err *err)
{
    struct kjson r = {0};
    struct kpack p = {0};
    struct wh_pv *v = NULL;
    const char *name, *driver;

    *out = NULL;
    kjson_init(&r, obj, err);
    name = kjson_str_req(&r, "metadata.name");
    driver = nonempty(kjson_str(&r, "spec.csi.driver"));
    if (kjson_error(&r) != 0)
        return kjson_error(&r);
    kpack_init(&p, sizeof(*v));
    kpack_reserve(&p, name);
    kpack_reserve(&p, driver);
    v = kpack_alloc(&p);
    if (v == NULL)
        return sc_err_set(err, SC_ENOMEM, "cannot allocate a PV view");
    v->name = kpack_str(&p, name);
    v->driver = kpack_str(&p, driver);
    *out = v;
    return SC_OK;
}

int
wh_sc_parse(const json_t *obj, struct wh_sc **out, struct sc_err *err)
{
    struct kjson r = {0};
    struct kpack p = {0};
    struct wh_sc *v = NULL;
    const char *name, *prov;

    *out = NULL;
    kjson_init(&r, obj, err);
    name = kjson_str_req(&r, "metadata.name");
    prov = kjson_str(&r, "provisioner");
    if (kjson_error(&r) != 0)
        return kjson_error(&r);
    prov = prov ? prov : "";
    kpack_init(&p, sizeof(*v));
    kpack_reserve(&p, name);
    kpack_reserve(&p, prov);
    v = kpack_alloc(&p);
    if (v == NULL)
        return sc_err_set(err, SC_ENOMEM, "cannot allocate a StorageClass view");
    v->name = kpack_str(&p, name);
    v->provisioner = kpack_str(&p, prov);
    *out = v;
    return SC_OK;
}

int
wh_content_parse(const json_t *obj, struct wh_content **out, struct sc_err *err)
{
    struct kjson r = {0};
    struct kpack p = {0};
    struct wh_content *v = NULL;
    const char *name, *driver, *ref_ns, *ref_name;

    *out = NULL;
    kjson_init(&r, obj, err);
    name = kjson_str_req(&r, "metadata.name");
    driver = kjson_str(&r, "spec.driver");
    ref_ns = kjson_str(&r, "spec.volumeSnapshotRef.namespace");
    ref_name = kjson_str(&r, "spec.volumeSnapshotRef.name");
    if (kjson_error(&r) != 0)
        return kjson_error(&r);
    driver = driver ? driver : "";
    ref_ns = ref_ns ? ref_ns : "";
    ref_name = ref_name ? ref_name : "";
    kpack_init(&p, sizeof(*v));
    kpack_reserve(&p, name);
    kpack_reserve(&p, driver);
    kpack_reserve(&p, ref_ns);
    kpack_reserve(&p, ref_name);
    v = kpack_alloc(&p);
    if (v == NULL)
        return sc_err_set(err, SC_ENOMEM, "cannot allocate a content view");
    v->name = kpack_str(&p, name);
    v->driver = kpack_str(&p, driver);
    v->ref_ns = kpack_str(&p, ref_ns);
    v->ref_name = kpack_str(&p, ref_name);
    *out = v;
    return SC_OK;
}

const char *
wh_pvc_label(const struct wh_pvc *p, const char *key)
{
    for (size_t i = 0; i < p->n_labels; i++)
        if (strcmp(p->labels[2 * i], key) == 0)
            return p->labels[2 * i + 1];
    return NULL;
}
