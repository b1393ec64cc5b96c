/* tests/unit/controller/group_view_test.c -- group snapshot views: the
 * fields read, both creationTime shapes, finalizer indexes, and bad input
 * (wrong types, missing names, oversized lists) refused with a field name. */
#include "controller/gview.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/harness.h"

static json_t *
load(const char *name)
{
    static json_t *all;
    char path[1024];
    json_error_t e;

    if (all == NULL) {
        snprintf(path, sizeof(path), "%s/controller/group/objects.json", harness_data_dir());
        all = json_load_file(path, 0, &e);
        if (all == NULL)
            abort();
    }
    return json_deep_copy(json_object_get(all, name));
}

static json_t *
parse_json(const char *s)
{
    json_error_t e;

    return json_loads(s, JSON_DECODE_ANY, &e);
}

static void
vgs_fields(void)
{
    json_t *o = load("vgs-selector");
    struct gvgs *v = NULL;
    struct sc_err err = {0};

    json_object_set_new(json_object_get(o, "metadata"), "finalizers",
                        json_pack("[s,s]", "x/y", FIN_VGS_BOUND));
    json_object_set_new(o, "status",
                        json_pack("{s:s,s:b,s:s,s:{s:s}}", "boundVolumeGroupSnapshotContentName",
                                  "c1", "readyToUse", 1, "creationTime", "2026-11-22T02:00:05Z",
                                  "error", "message", "boom"));
    CHECK_INT(gvgs_parse(o, &v, &err), 0);
    CHECK_STR(v->m.name, "db-group");
    CHECK_STR(v->m.ns, "default");
    CHECK_STR(v->m.uid, "vgs-uid-1");
    CHECK(v->has_selector);
    CHECK(json_is_object(json_object_get(v->selector, "matchLabels")));
    CHECK(!v->has_content);
    CHECK_STR(v->class_name, "csi-test-groupclass");
    CHECK_STR(v->bound, "c1");
    CHECK_INT(v->ready, TRI_TRUE);
    CHECK_STR(v->creation_time, "2026-11-22T02:00:05Z");
    CHECK(v->has_error);
    CHECK_STR(v->error_msg, "boom");
    CHECK_INT(v->m.n_fins, 2);
    CHECK_INT(gview_fin_index(v->gfins, v->gfin_idx, GFIN_VGS_BOUND), 1);
    CHECK_INT(gview_fin_index(v->gfins, v->gfin_idx, GFIN_VGSC_BOUND), -1);
    CHECK(cview_bytes(&v->m) > 0);
    /* the view owns its strings: the source can go */
    json_decref(o);
    CHECK_STR(v->m.name, "db-group");
    CVIEW_UNREF(v);
}

static void
vgsc_fields_and_infos(void)
{
    json_t *o = load("vgsc-dynamic");
    struct gvgsc *v = NULL;
    struct sc_err err = {0};

    CHECK_INT(gvgsc_parse(o, &v, &err), 0);
    json_decref(o);
    CHECK_STR(v->m.name, "groupsnapcontent-vgs-uid-1");
    CHECK(v->m.ns == NULL);
    CHECK_STR(v->ref_name, "db-group");
    CHECK_STR(v->ref_ns, "default");
    CHECK_STR(v->ref_uid, "vgs-uid-1");
    CHECK_INT(v->policy, POLICY_DELETE);
    CHECK_STR(v->driver, "testdriver.csi.k8s.io");
    CHECK_INT(v->n_volume_handles, 2);
    CHECK_STR(v->volume_handles[1], "vol-h2");
    CHECK(!v->has_group_handles);
    CHECK_STR(v->group_handle, "group-handle-1");
    CHECK(v->has_creation_time);
    CHECK_INT(v->creation_time_ns, 1795312805000000000LL);
    CHECK_INT(v->n_infos, 2);
    CHECK_STR(v->infos[0].volume_handle, "vol-h1");
    CHECK_STR(v->infos[1].snapshot_handle, "snap-h2");
    CHECK_INT(v->infos[1].restore_size, 1073741824);
    CHECK_INT(v->infos[0].ready, TRI_TRUE);
    CHECK_INT(gview_fin_index(v->gfins, v->gfin_idx, GFIN_VGSC_BOUND), 0);
    CVIEW_UNREF(v);
}

static void
vgsc_v1beta1_integer_creation_time(void)
{
    json_t *o = load("vgsc-dynamic");
    struct gvgsc *v = NULL;
    struct sc_err err = {0};

    json_object_set_new(json_object_get(o, "status"), "creationTime",
                        json_integer(1795312805123456789LL));
    CHECK_INT(gvgsc_parse(o, &v, &err), 0);
    CHECK_INT(v->creation_time_ns, 1795312805123456789LL);
    CVIEW_UNREF(v);
    json_object_set_new(json_object_get(o, "status"), "creationTime", json_string("yesterday"));
    v = NULL;
    CHECK_INT(gvgsc_parse(o, &v, &err), SC_EPROTO);
    CHECK(v == NULL);
    CHECK_STR(err.msg, "status.creationTime: not an RFC 3339 time");
    json_decref(o);
}

static void
static_content_and_class(void)
{
    json_t *o = load("vgsc-static"), *c = load("gclass");
    struct gvgsc *v = NULL;
    struct gclass *k = NULL;
    struct sc_err err = {0};

    CHECK_INT(gvgsc_parse(o, &v, &err), 0);
    CHECK(v->has_group_handles);
    CHECK_STR(v->src_group_handle, "group-handle-2");
    CHECK_INT(v->n_snapshot_handles, 2);
    CHECK_INT(v->n_volume_handles, 0);
    CHECK(v->ref_uid == NULL);
    CHECK(!v->has_status);
    CVIEW_UNREF(v);
    json_object_set_new(c, "parameters",
                        json_pack("{s:s,s:s}", PARAM_GROUP_SECRET_NAME, "n", "other", "x"));
    CHECK_INT(gclass_parse(c, &k, &err), 0);
    CHECK(k->is_default);
    CHECK_STR(k->driver, "testdriver.csi.k8s.io");
    CHECK_INT(k->policy, POLICY_DELETE);
    CHECK(k->has_secret_name);
    CHECK(!k->has_secret_ns);
    CHECK_STR(k->secret_name, "n");
    CVIEW_UNREF(k);
    /* only the exact string "true" makes a default */
    json_object_set_new(json_object_get(json_object_get(c, "metadata"), "annotations"),
                        ANN_GROUP_DEFAULT_CLASS, json_string("True"));
    CHECK_INT(gclass_parse(c, &k, &err), 0);
    CHECK(!k->is_default);
    CVIEW_UNREF(k);
    json_decref(o);
    json_decref(c);
}

static void
bad_input_refused(void)
{
    static const struct {
        const char *json;
        const char *msg;
    } vgs_cases[] = {
        {"[]", "object: expected object"},
        {"{\"metadata\":{\"namespace\":\"a\"}}", "metadata.name: required field is missing"},
        {"{\"metadata\":{\"name\":\"a\"}}", "metadata.namespace: required field is missing"},
        {"{\"metadata\":{\"name\":7,\"namespace\":\"a\"}}",
         "metadata.name: expected string, got integer"},
        {"{\"metadata\":\"x\"}", NULL},
        {"{\"metadata\":{\"name\":\"a\",\"namespace\":\"b\"},\"spec\":{\"source\":[]}}",
         "spec.source: expected object, got array"},
        {"{\"metadata\":{\"name\":\"a\",\"namespace\":\"b\"},\"status\":{\"readyToUse\":\"yes\"}}",
         "status.readyToUse: expected boolean, got string"},
        {"{\"metadata\":{\"name\":\"a\",\"namespace\":\"b\",\"finalizers\":{}}}",
         "metadata.finalizers: expected array, got object"},
    };
    static const struct {
        const char *json;
        const char *msg;
    } vgsc_cases[] = {
        {"{\"metadata\":{\"name\":\"a\"},\"spec\":{\"source\":{\"volumeHandles\":[1]}}}",
         "spec.source.volumeHandles[0]: expected string, got integer"},
        {"{\"metadata\":{\"name\":\"a\"},\"status\":{\"volumeSnapshotInfoList\":[7]}}",
         "status.volumeSnapshotInfoList[0]: expected object, got integer"},
        {"{\"metadata\":{\"name\":\"a\"},\"status\":{\"volumeSnapshotInfoList\":[{\"restoreSize\":"
         "\"1Gi\"}]}}",
         "status.volumeSnapshotInfoList[0]: restoreSize: expected integer, got string"},
        {"{\"metadata\":{\"name\":\"a\",\"annotations\":[]}}", NULL},
    };
    size_t i;

    for (i = 0; i < SC_ARRAY_LEN(vgs_cases); i++) {
        json_t *o = parse_json(vgs_cases[i].json);
        struct gvgs *v = NULL;
        struct sc_err err = {0};
        int rc = gvgs_parse(o, &v, &err);

        CHECK(rc != 0);
        CHECK(v == NULL);
        if (vgs_cases[i].msg != NULL)
            CHECK_STR(err.msg, vgs_cases[i].msg);
        json_decref(o);
    }
    for (i = 0; i < SC_ARRAY_LEN(vgsc_cases); i++) {
        json_t *o = parse_json(vgsc_cases[i].json);
        struct gvgsc *v = NULL;
        struct sc_err err = {0};
        int rc = gvgsc_parse(o, &v, &err);

        CHECK(rc != 0);
        CHECK(v == NULL);
        if (vgsc_cases[i].msg != NULL)
            CHECK_STR(err.msg, vgsc_cases[i].msg);
        json_decref(o);
    }
}

static void
oversized_lists_refused(void)
{
    json_t *o = load("vgsc-dynamic"), *h = json_array();
    struct gvgsc *v = NULL;
    struct sc_err err = {0};
    int i;

    for (i = 0; i <= GVIEW_MAX_VOLUMES; i++)
        json_array_append_new(h, json_string("v"));
    json_object_set_new(json_object_get(json_object_get(o, "spec"), "source"), "volumeHandles", h);
    CHECK_INT(gvgsc_parse(o, &v, &err), SC_ETOOBIG);
    CHECK(v == NULL);
    json_decref(o);
}

TEST_MAIN(TEST(vgs_fields), TEST(vgsc_fields_and_infos), TEST(vgsc_v1beta1_integer_creation_time),
          TEST(static_content_and_class), TEST(bad_input_refused), TEST(oversized_lists_refused))
