#include "webhook/wh_classes.h"

#include "tests/unit/webhook/fixtures.h"

#define SNAP_G "snapshot.storage.k8s.io"
#define GRP_G  "groupsnapshot.storage.k8s.io"
#define HP     "hostpath.csi.k8s.io"

static void
decide(struct fx_lookup *fx, struct wh_lookup *lk, const char *op, const char *group,
       const char *version, const char *resource, json_t *obj, json_t *old, struct wh_decision *d)
{
    struct review_admission r = {0};

    CHECK_INT(fx_review(&r, op, group, version, resource, "", obj, old), SC_OK);
    (void)fx;
    wh_classes_review(&r, lk, d);
    review_admission_release(&r);
}

static void
test_second_default_denied_with_upstream_message(void)
{
    struct fx_lookup fx = {0};
    struct wh_lookup lk = fx_lookup_init(&fx);
    struct review_admission r = {0};
    struct wh_decision d = {0};
    size_t len;
    char *body = fx_text("admission/vsclass-create.json", &len);

    CHECK_INT(review_admission_parse(body, len, &r, NULL), SC_OK);
    wh_classes_review(&r, &lk, &d);
    CHECK(!d.allowed);
    CHECK_STR(d.msg, "default snapshot class: csi-hostpath-default already exists for driver: "
                     "hostpath.csi.k8s.io");
    CHECK_STR(d.rule, "default-class");
    review_admission_release(&r);
    free(body);
    fx_lookup_release(&fx);
}

static void
test_default_for_other_driver_allowed(void)
{
    struct fx_lookup fx = {0};
    struct wh_lookup lk = fx_lookup_init(&fx);
    struct wh_decision d = {0};

    /* ebs-not-default carries "True", which is not exactly "true". */
    decide(&fx, &lk, "CREATE", SNAP_G, "v1", "volumesnapshotclasses",
           fx_class("ebs", "ebs.csi.aws.com", WH_ANN_DEFAULT_CLASS, "true"), NULL, &d);
    CHECK(d.allowed);
    CHECK_INT(fx.class_calls, 1);
    fx_lookup_release(&fx);
}

static void
test_non_default_never_looks(void)
{
    struct fx_lookup fx = {0};
    struct wh_lookup lk = fx_lookup_init(&fx);
    struct wh_decision d = {0};

    decide(&fx, &lk, "CREATE", SNAP_G, "v1", "volumesnapshotclasses",
           fx_class("x", HP, WH_ANN_DEFAULT_CLASS, "True"), NULL, &d);
    CHECK(d.allowed);
    decide(&fx, &lk, "CREATE", SNAP_G, "v1", "volumesnapshotclasses", fx_class("y", HP, NULL, NULL),
           NULL, &d);
    CHECK(d.allowed);
    /* The group annotation on a snapshot class does not count. */
    decide(&fx, &lk, "CREATE", SNAP_G, "v1", "volumesnapshotclasses",
           fx_class("z", HP, WH_ANN_DEFAULT_GROUP_CLASS, "true"), NULL, &d);
    CHECK(d.allowed);
    CHECK_INT(fx.class_calls, 0);
    fx_lookup_release(&fx);
}

static void
test_update_ratchet(void)
{
    struct fx_lookup fx = {0};
    struct wh_lookup lk = fx_lookup_init(&fx);
    struct wh_decision d = {0};

    /* Already default for the same driver: passes without a lookup, even
     * though the cache holds another default for the driver. */
    decide(&fx, &lk, "UPDATE", SNAP_G, "v1", "volumesnapshotclasses",
           fx_class("mine", HP, WH_ANN_DEFAULT_CLASS, "true"),
           fx_class("mine", HP, WH_ANN_DEFAULT_CLASS, "true"), &d);
    CHECK(d.allowed);
    CHECK_INT(fx.class_calls, 0);
    /* Default before, but the driver changes: re-checked and denied. */
    decide(&fx, &lk, "UPDATE", SNAP_G, "v1", "volumesnapshotclasses",
           fx_class("mine", HP, WH_ANN_DEFAULT_CLASS, "true"),
           fx_class("mine", "other.example.com", WH_ANN_DEFAULT_CLASS, "true"), &d);
    CHECK(!d.allowed);
    CHECK_STR(d.msg, "default snapshot class: csi-hostpath-default already exists for driver: "
                     "hostpath.csi.k8s.io");
    /* Becoming default on UPDATE is checked. */
    decide(&fx, &lk, "UPDATE", SNAP_G, "v1", "volumesnapshotclasses",
           fx_class("csi-hostpath-retain", HP, WH_ANN_DEFAULT_CLASS, "true"),
           fx_class("csi-hostpath-retain", HP, NULL, NULL), &d);
    CHECK(!d.allowed);
    CHECK_INT(fx.class_calls, 2);
    fx_lookup_release(&fx);
}

static void
test_other_operations_allowed(void)
{
    struct fx_lookup fx = {0};
    struct wh_lookup lk = fx_lookup_init(&fx);
    struct wh_decision d = {0};

    fx.fail_classes = SC_EIO;
    decide(&fx, &lk, "DELETE", SNAP_G, "v1", "volumesnapshotclasses", NULL,
           fx_class("a", HP, WH_ANN_DEFAULT_CLASS, "true"), &d);
    CHECK(d.allowed);
    decide(&fx, &lk, "CONNECT", "", "v1", "pods", NULL, NULL, &d);
    CHECK(d.allowed);
    CHECK_INT(fx.class_calls, 0);
    fx_lookup_release(&fx);
}

static void
test_group_classes(void)
{
    struct fx_lookup fx = {0};
    struct wh_lookup lk = fx_lookup_init(&fx);
    struct wh_decision d = {0};
    const char *versions[] = {"v1", "v1beta1", "v1beta2"};

    for (int i = 0; i < 3; i++) {
        decide(&fx, &lk, "CREATE", GRP_G, versions[i], "volumegroupsnapshotclasses",
               fx_class("g2", HP, WH_ANN_DEFAULT_GROUP_CLASS, "true"), NULL, &d);
        CHECK(!d.allowed);
        CHECK_STR(d.msg, "default group snapshot class: group-default already exists for "
                         "driver: hostpath.csi.k8s.io");
        CHECK_STR(d.rule, "default-group-class");
    }
    /* group-wrong-annotation carries the snapshot annotation: not a default. */
    decide(&fx, &lk, "CREATE", GRP_G, "v1", "volumegroupsnapshotclasses",
           fx_class("g3", "ebs.csi.aws.com", WH_ANN_DEFAULT_GROUP_CLASS, "true"), NULL, &d);
    CHECK(d.allowed);
    fx_lookup_release(&fx);
}

static void
test_wrong_resource_and_bad_objects(void)
{
    struct fx_lookup fx = {0};
    struct wh_lookup lk = fx_lookup_init(&fx);
    struct wh_decision d = {0};
    json_t *bad;

    decide(&fx, &lk, "CREATE", SNAP_G, "v1", "volumesnapshots", fx_class("a", HP, NULL, NULL), NULL,
           &d);
    CHECK(!d.allowed);
    CHECK(strstr(d.msg, "expect resource to be") != NULL);
    CHECK(strstr(d.msg, "but found {snapshot.storage.k8s.io v1 volumesnapshots}") != NULL);
    decide(&fx, &lk, "CREATE", SNAP_G, "v1beta1", "volumesnapshotclasses",
           fx_class("a", HP, NULL, NULL), NULL, &d);
    CHECK(!d.allowed);

    bad = json_pack("{s:{s:s}, s:i}", "metadata", "name", "a", "driver", 5);
    decide(&fx, &lk, "CREATE", SNAP_G, "v1", "volumesnapshotclasses", bad, NULL, &d);
    CHECK(!d.allowed);
    CHECK_STR(d.msg, "cannot decode the object: driver is not a string");

    bad = json_pack("{s:{s:s, s:{s:b}}, s:s}", "metadata", "name", "a", "annotations",
                    WH_ANN_DEFAULT_CLASS, 1, "driver", HP);
    decide(&fx, &lk, "CREATE", SNAP_G, "v1", "volumesnapshotclasses", bad, NULL, &d);
    CHECK(!d.allowed);
    CHECK(strstr(d.msg, "is not a string") != NULL);

    decide(&fx, &lk, "CREATE", SNAP_G, "v1", "volumesnapshotclasses", NULL, NULL, &d);
    CHECK(!d.allowed);
    CHECK_STR(d.msg, "admission request has no object");
    fx_lookup_release(&fx);
}

static void
test_lookup_error_denies(void)
{
    struct fx_lookup fx = {0};
    struct wh_lookup lk = fx_lookup_init(&fx);
    struct wh_decision d = {0};

    fx.fail_classes = SC_EIO;
    decide(&fx, &lk, "CREATE", SNAP_G, "v1", "volumesnapshotclasses",
           fx_class("a", HP, WH_ANN_DEFAULT_CLASS, "true"), NULL, &d);
    CHECK(!d.allowed);
    CHECK_STR(d.msg, "the class cache has not synced");
    fx_lookup_release(&fx);
}

TEST_MAIN(TEST(test_second_default_denied_with_upstream_message),
          TEST(test_default_for_other_driver_allowed), TEST(test_non_default_never_looks),
          TEST(test_update_ratchet), TEST(test_other_operations_allowed), TEST(test_group_classes),
          TEST(test_wrong_resource_and_bad_objects), TEST(test_lookup_error_denies))
