/* webhook/wh_convert.c -- CRD conversion for groupsnapshot.storage.k8s.io. */
#include "webhook/wh_convert.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/limits.h"
#include "kube/kjson.h"

enum level { LV_BETA1, LV_BETA2, LV_V1, LV_BAD };

static enum level
parse_level(const char *api_version)
{
    size_t glen = strlen(WH_CONVERT_GROUP);

    if (strncmp(api_version, WH_CONVERT_GROUP, glen) != 0 || api_version[glen] != '/')
        return LV_BAD;
    api_version += glen + 1;
    if (strcmp(api_version, "v1beta1") == 0)
        return LV_BETA1;
    if (strcmp(api_version, "v1beta2") == 0)
        return LV_BETA2;
    if (strcmp(api_version, "v1") == 0)
        return LV_V1;
    return LV_BAD;
}

/* obj.metadata.annotations, created when create is set; NULL when absent or
 * of a wrong type (*bad set). */
static json_t *
annotations(json_t *obj, int create, int *bad)
{
    json_t *meta = json_object_get(obj, "metadata"), *anns;

    if (meta == NULL || json_is_null(meta)) {
        if (!create)
            return NULL;
        meta = json_object();
        if (meta == NULL || json_object_set_new(obj, "metadata", meta) != 0)
            return NULL;
    }
    if (!json_is_object(meta)) {
        *bad = 1;
        return NULL;
    }
    anns = json_object_get(meta, "annotations");
    if (anns == NULL || json_is_null(anns)) {
        if (!create)
            return NULL;
        anns = json_object();
        if (anns == NULL || json_object_set_new(meta, "annotations", anns) != 0)
            return NULL;
    }
    if (!json_is_object(anns)) {
        *bad = 1;
        return NULL;
    }
    return anns;
}

/* obj.status as an object, created when create is set; NULL when absent
 * (or on ENOMEM when creating). */
static json_t *
status_of(json_t *obj, int create)
{
    json_t *st = json_object_get(obj, "status");

    if ((st == NULL || json_is_null(st)) && create) {
        st = json_object();
        if (st == NULL || json_object_set_new(obj, "status", st) != 0)
            return NULL;
    }
    return json_is_object(st) ? st : NULL;
}

/* v1beta1 -> newer with the annotation present: it becomes the info list. */
static int
info_from_annotation(json_t *obj, json_t *anns, const json_t *ann, struct sc_err *err)
{
    json_error_t jerr;
    json_t *list, *status;

    if (!json_is_string(ann))
        return sc_err_set(err, SC_EINVALID, "annotation %s is not a string", WH_ANN_INFO_LIST);
    list = json_loads(json_string_value(ann), JSON_DECODE_ANY, &jerr);
    if (list == NULL || !json_is_array(list)) {
        json_decref(list);
        return sc_err_set(err, SC_EINVALID, "annotation %s is not a JSON array: %s",
                          WH_ANN_INFO_LIST, list ? "wrong type" : jerr.text);
    }
    status = status_of(obj, 1);
    if (status == NULL) {
        json_decref(list);
        return sc_err_set(err, SC_ENOMEM, "cannot allocate");
    }
    json_object_del(status, "volumeSnapshotHandlePairList");
    if (json_object_set_new(status, "volumeSnapshotInfoList", list) != 0)
        return sc_err_set(err, SC_ENOMEM, "cannot allocate");
    json_object_del(anns, WH_ANN_INFO_LIST);
    if (json_object_size(anns) == 0)
        json_object_del(json_object_get(obj, "metadata"), "annotations");
    return SC_OK;
}

/* v1beta1 -> v1beta2/v1 (status only; apiVersion is set by the caller). */
static int
convert_up(json_t *obj, struct sc_err *err)
{
    json_t *status = json_object_get(obj, "status"), *anns, *ann, *list;
    int bad = 0;

    if (status != NULL && !json_is_null(status) && !json_is_object(status))
        return sc_err_set(err, SC_EINVALID, "status is not a JSON object");
    anns = annotations(obj, 0, &bad);
    if (bad)
        return sc_err_set(err, SC_EINVALID, "metadata.annotations is not a JSON object");
    ann = anns ? json_object_get(anns, WH_ANN_INFO_LIST) : NULL;
    if (ann != NULL)
        return info_from_annotation(obj, anns, ann, err);
    status = status_of(obj, 0);
    list = status ? json_object_get(status, "volumeSnapshotHandlePairList") : NULL;
    if (list != NULL) {
        json_incref(list);
        json_object_del(status, "volumeSnapshotHandlePairList");
        if (json_object_set_new(status, "volumeSnapshotInfoList", list) != 0)
            return sc_err_set(err, SC_ENOMEM, "cannot allocate");
    }
    return SC_OK;
}

/* The info list reduced to {volumeHandle, snapshotHandle} pairs. */
static int
pairs_of(const json_t *list, json_t **out, struct sc_err *err)
{
    json_t *pairs = json_array(), *entry, *pair, *v;
    size_t i;

    if (pairs == NULL)
        return sc_err_set(err, SC_ENOMEM, "cannot allocate");
    json_array_foreach (list, i, entry) {
        if (!json_is_object(entry)) {
            json_decref(pairs);
            return sc_err_set(err, SC_EINVALID,
                              "status.volumeSnapshotInfoList[%zu] is not a JSON object", i);
        }
        pair = json_object();
        if (pair == NULL || json_array_append_new(pairs, pair) != 0) {
            json_decref(pairs);
            return sc_err_set(err, SC_ENOMEM, "cannot allocate");
        }
        if ((v = json_object_get(entry, "volumeHandle")) != NULL)
            json_object_set(pair, "volumeHandle", v);
        if ((v = json_object_get(entry, "snapshotHandle")) != NULL)
            json_object_set(pair, "snapshotHandle", v);
    }
    *out = pairs;
    return SC_OK;
}

/* The annotation's text of list: compact, keys sorted (jansson's
 * JSON_SORT_KEYS text).  Written into a struct buf, not json_dumps(): text
 * that jansson allocates inside a request scope belongs to the arena
 * (webhook/wharena.h) and must not be free()d. */
static int
encode_list(const json_t *list, struct buf *b)
{
    buf_init(b, LIM_REVIEW_RESPONSE);
    if (kjson_dump_ex(list, b, KJSON_SORT_KEYS | KJSON_ENCODE_ANY, NULL) != 0 || b->data == NULL) {
        buf_release(b);
        return -1;
    }
    return 0;
}

/* v1beta2/v1 -> v1beta1. */
static int
convert_down(json_t *obj, struct sc_err *err)
{
    json_t *status = json_object_get(obj, "status"), *list, *pairs = NULL, *anns;
    struct buf enc = {0};
    int bad = 0, rc;

    if (status == NULL || json_is_null(status))
        return SC_OK;
    if (!json_is_object(status))
        return sc_err_set(err, SC_EINVALID, "status is not a JSON object");
    list = json_object_get(status, "volumeSnapshotInfoList");
    if (list == NULL)
        return SC_OK;
    if (!json_is_array(list))
        return sc_err_set(err, SC_EINVALID, "status.volumeSnapshotInfoList is not a JSON array");
    rc = pairs_of(list, &pairs, err);
    if (rc != SC_OK)
        return rc;
    rc = encode_list(list, &enc);
    anns = annotations(obj, 1, &bad);
    if (rc != 0 || anns == NULL ||
        json_object_set_new(anns, WH_ANN_INFO_LIST, json_string(buf_str(&enc))) != 0) {
        buf_release(&enc);
        json_decref(pairs);
        if (bad)
            return sc_err_set(err, SC_EINVALID, "metadata.annotations is not a JSON object");
        return sc_err_set(err, SC_ENOMEM, "cannot allocate");
    }
    buf_release(&enc);
    json_object_del(status, "volumeSnapshotInfoList");
    if (json_object_set_new(status, "volumeSnapshotHandlePairList", pairs) != 0)
        return sc_err_set(err, SC_ENOMEM, "cannot allocate");
    return SC_OK;
}

/* obj converted to desired in place; on an error obj may be left half
 * converted (the review fails whole, so nobody sees it). */
static int
convert_in_place(json_t *obj, const char *desired, struct sc_err *err)
{
    const char *from, *kind;
    enum level lf, lt;
    int rc = SC_OK;

    if (!json_is_object(obj))
        return sc_err_set(err, SC_EINVALID, "object to convert is not a JSON object");
    from = json_string_value(json_object_get(obj, "apiVersion"));
    kind = json_string_value(json_object_get(obj, "kind"));
    if (from == NULL || kind == NULL)
        return sc_err_set(err, SC_EINVALID, "object to convert has no apiVersion or kind");
    if (strcmp(kind, "VolumeGroupSnapshotContent") != 0 &&
        strcmp(kind, "VolumeGroupSnapshot") != 0 && strcmp(kind, "VolumeGroupSnapshotClass") != 0)
        return sc_err_set(err, SC_EINVALID, "unexpected conversion kind \"%s\"", kind);
    if (strcmp(from, desired) == 0)
        return sc_err_set(err, SC_EINVALID,
                          "conversion from a version to itself should not call the webhook: %s",
                          from);
    lf = parse_level(from);
    lt = parse_level(desired);
    if (lf == LV_BAD || lt == LV_BAD)
        return sc_err_set(err, SC_EINVALID, "unexpected conversion version from \"%s\" to \"%s\"",
                          from, desired);
    if (strcmp(kind, "VolumeGroupSnapshotContent") == 0) {
        if (lf == LV_BETA1 && lt != LV_BETA1)
            rc = convert_up(obj, err);
        else if (lf != LV_BETA1 && lt == LV_BETA1)
            rc = convert_down(obj, err);
    }
    /* from and kind point into obj: nothing above replaced those members */
    if (rc == SC_OK && json_object_set_new(obj, "apiVersion", json_string(desired)) != 0)
        rc = sc_err_set(err, SC_ENOMEM, "cannot allocate");
    return rc;
}

int
wh_convert_object(const json_t *obj, const char *desired, json_t **out, struct sc_err *err)
{
    json_t *copy;
    int rc;

    *out = NULL;
    if (!json_is_object(obj))
        return sc_err_set(err, SC_EINVALID, "object to convert is not a JSON object");
    copy = json_deep_copy(obj);
    if (copy == NULL)
        return sc_err_set(err, SC_ENOMEM, "cannot copy the object");
    rc = convert_in_place(copy, desired, err);
    if (rc != SC_OK) {
        json_decref(copy);
        return rc;
    }
    *out = copy;
    return SC_OK;
}

int
wh_convert_all(json_t *objects, const char *desired, struct sc_err *err)
{
    json_t *o;
    size_t i;

    if (!json_is_array(objects))
        return sc_err_set(err, SC_EINVALID, "objects is not a JSON array");
    json_array_foreach (objects, i, o) {
        int rc = convert_in_place(o, desired, err);
        if (rc != SC_OK)
            return rc;
    }
    return SC_OK;
}
