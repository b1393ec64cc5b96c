#include "webhook/wh_convert.h"

#include <stdlib.h>
#include <string.h>

#include "tests/unit/webhook/fixtures.h"

#define G "groupsnapshot.storage.k8s.io/"

static json_t *
conv(const json_t *in, const char *to)
{
    json_t *out = NULL;
    struct sc_err err = {0};

    CHECK_INT(wh_convert_object(in, to, &out, &err), SC_OK);
    if (err.msg[0])
        fprintf(stderr, "convert: %s\n", err.msg);
    return out;
}

/* in converted to the version to equals want. */
static void
converts_to(const json_t *in, const char *to, const json_t *want)
{
    json_t *out = conv(in, to);

    CHECK(json_equal(out, want));
    json_decref(out);
}

/* in (of apiVersion from) converted to the version to differs only in its
 * apiVersion. */
static void
rewrite_only(const json_t *in, const char *from, const char *to)
{
    json_t *out = conv(in, to);

    CHECK_STR(json_string_value(json_object_get(out, "apiVersion")), to);
    json_object_set_new(out, "apiVersion", json_string(from));
    CHECK(json_equal(out, in));
    json_decref(out);
}

/* The recorded content in v1beta1 and v1beta2 (one test a process). */
static json_t *B1, *B2;

static void
load_pair(void)
{
    B1 = fx_load("convert/vgsc-v1beta1.json");
    B2 = fx_load("convert/vgsc-v1beta2.json");
}

static void
drop_pair(void)
{
    json_decref(B1);
    json_decref(B2);
}

static void
test_down_matches_upstream_scheme(void)
{
    load_pair();
    converts_to(B2, G "v1beta1", B1);
    drop_pair();
}

static void
test_up_restores_from_annotation(void)
{
    load_pair();
    converts_to(B1, G "v1beta2", B2);
    /* v1beta1 -> v1 is the same plus the apiVersion. */
    json_object_set_new(B2, "apiVersion", json_string(G "v1"));
    converts_to(B1, G "v1", B2);
    drop_pair();
}

static void
test_round_trips_are_lossless(void)
{
    const char *vs[] = {G "v1beta1", G "v1beta2", G "v1"};
    json_t *orig = fx_load("convert/vgsc-v1beta2.json");

    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) {
            json_t *start, *mid, *back;

            if (a == b)
                continue;
            start = a == 1 ? json_incref(orig) : conv(orig, vs[a]);
            mid = conv(start, vs[b]);
            back = conv(mid, vs[a]);
            CHECK(json_equal(start, back));
            json_decref(start);
            json_decref(mid);
            json_decref(back);
        }
    json_decref(orig);
}

static void
test_v1_v1beta2_is_a_rewrite(void)
{
    json_t *b2 = fx_load("convert/vgsc-v1beta2.json");

    rewrite_only(b2, G "v1beta2", G "v1");
    json_decref(b2);
}

static void
test_pair_list_renamed(void)
{
    json_t *b1 = fx_load("convert/vgsc-v1beta1-pairs-only.json");
    json_t *out = conv(b1, G "v1beta2");
    json_t *st = json_object_get(out, "status");

    CHECK(json_object_get(st, "volumeSnapshotHandlePairList") == NULL);
    CHECK(
        json_equal(json_object_get(st, "volumeSnapshotInfoList"),
                   json_object_get(json_object_get(b1, "status"), "volumeSnapshotHandlePairList")));
    CHECK(json_object_get(json_object_get(out, "metadata"), "annotations") == NULL);
    json_decref(out);
    json_decref(b1);
}

static void
test_other_group_kinds_rewrite_only(void)
{
    json_t *vgs = json_pack("{s:s, s:s, s:{s:s}, s:{s:{s:s}}}", "apiVersion", G "v1beta1", "kind",
                            "VolumeGroupSnapshot", "metadata", "name", "g", "spec", "source",
                            "volumeGroupSnapshotContentName", "c");

    rewrite_only(vgs, G "v1beta1", G "v1");
    json_decref(vgs);
}

static void
test_failures(void)
{
    struct sc_err err = {0};
    json_t *out = NULL, *o;

    o = json_pack("{s:s, s:s}", "apiVersion", G "v1", "kind", "VolumeSnapshot");
    CHECK_INT(wh_convert_object(o, G "v1beta1", &out, &err), SC_EINVALID);
    CHECK_STR(err.msg, "unexpected conversion kind \"VolumeSnapshot\"");
    json_decref(o);

    o = json_pack("{s:s, s:s}", "apiVersion", G "v1", "kind", "VolumeGroupSnapshotContent");
    CHECK_INT(wh_convert_object(o, G "v1", &out, &err), SC_EINVALID);
    CHECK_STR(err.msg, "conversion from a version to itself should not call the webhook: " G "v1");
    CHECK_INT(wh_convert_object(o, G "v2", &out, &err), SC_EINVALID);
    CHECK_STR(err.msg, "unexpected conversion version from \"" G "v1\" to \"" G "v2\"");
    CHECK_INT(wh_convert_object(o, "snapshot.storage.k8s.io/v1", &out, &err), SC_EINVALID);
    json_decref(o);

    o = json_pack("{s:s, s:s, s:{s:{s:s}}}", "apiVersion", G "v1beta1", "kind",
                  "VolumeGroupSnapshotContent", "metadata", "annotations", WH_ANN_INFO_LIST,
                  "{not json");
    CHECK_INT(wh_convert_object(o, G "v1", &out, &err), SC_EINVALID);
    CHECK(strstr(err.msg, "is not a JSON array") != NULL);
    json_decref(o);

    o = json_pack("{s:s, s:s, s:{s:[i]}}", "apiVersion", G "v1", "kind",
                  "VolumeGroupSnapshotContent", "status", "volumeSnapshotInfoList", 7);
    CHECK_INT(wh_convert_object(o, G "v1beta1", &out, &err), SC_EINVALID);
    CHECK_STR(err.msg, "status.volumeSnapshotInfoList[0] is not a JSON object");
    json_decref(o);

    o = json_pack("{s:s, s:s, s:s}", "apiVersion", G "v1", "kind", "VolumeGroupSnapshotContent",
                  "status", "x");
    CHECK_INT(wh_convert_object(o, G "v1beta1", &out, &err), SC_EINVALID);
    json_decref(o);
    o = json_pack("[i]", 1);
    CHECK_INT(wh_convert_object(o, G "v1beta1", &out, &err), SC_EINVALID);
    json_decref(o);
    CHECK(out == NULL);
}

/* The array is converted in place, each object as wh_convert_object()
 * would; one bad object fails the whole review. */
static void
test_convert_all_aborts_on_first_failure(void)
{
    struct sc_err err = {0};
    json_t *b2 = fx_load("convert/vgsc-v1beta2.json");
    json_t *objs =
        json_pack("[o, {s:s, s:s}]", json_deep_copy(b2), "apiVersion", G "v1", "kind", "Other");
    json_t *one = json_pack("[o]", json_deep_copy(b2));
    json_t *want = NULL;

    CHECK_INT(wh_convert_all(objs, G "v1beta1", &err), SC_EINVALID);
    CHECK(strstr(err.msg, "Other") != NULL);
    CHECK_INT(wh_convert_all(one, G "v1beta1", &err), SC_OK);
    CHECK_INT(wh_convert_object(b2, G "v1beta1", &want, &err), SC_OK);
    CHECK_INT(json_array_size(one), 1);
    CHECK(want != NULL && json_equal(json_array_get(one, 0), want));
    CHECK_STR(json_string_value(json_object_get(json_array_get(one, 0), "apiVersion")),
              G "v1beta1");
    json_decref(want);
    json_decref(one);
    json_decref(objs);
    json_decref(b2);
}

TEST_MAIN(TEST(test_down_matches_upstream_scheme), TEST(test_up_restores_from_annotation),
          TEST(test_round_trips_are_lossless), TEST(test_v1_v1beta2_is_a_rewrite),
          TEST(test_pair_list_renamed), TEST(test_other_group_kinds_rewrite_only),
          TEST(test_failures), TEST(test_convert_all_aborts_on_first_failure))
