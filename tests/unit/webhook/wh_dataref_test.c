#include "webhook/wh_dataref.h"

#include "tests/unit/webhook/fixtures.h"

/* A PVC in ns restoring from src_ns/name of group/kind (group NULL = unset). */
static json_t *
pvc(const char *ns, const char *src_ns, const char *group, const char *kind, const char *name)
{
    json_t *ref = json_pack("{s:s, s:s}", "kind", kind, "name", name);
    json_t *o;

    if (group != NULL)
        json_object_set_new(ref, "apiGroup", json_string(group));
    if (src_ns != NULL)
        json_object_set_new(ref, "namespace", json_string(src_ns));
    o = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:[s], s:o}}", "apiVersion", "v1", "kind",
                  "PersistentVolumeClaim", "metadata", "name", "restored", "namespace", ns, "spec",
                  "accessModes", "ReadWriteOnce", "dataSourceRef", ref);
    return o;
}

static void
decide(struct wh_lookup *lk, const char *op, const char *ns, json_t *obj, struct wh_decision *d)
{
    struct review_admission r = {0};

    CHECK_INT(fx_review(&r, op, "", "v1", "persistentvolumeclaims", ns, obj, NULL), SC_OK);
    wh_dataref_review(&r, lk, d);
    review_admission_release(&r);
}

#define SNAP "snapshot.storage.k8s.io"

static void
test_recorded_request_granted(void)
{
    struct fx_lookup fx = {0};
    struct wh_lookup lk = fx_lookup_init(&fx);
    struct review_admission r = {0};
    struct wh_decision d = {0};
    size_t len;
    char *body = fx_text("admission/pvc-create-cross-ns.json", &len);

    CHECK_INT(review_admission_parse(body, len, &r, NULL), SC_OK);
    wh_dataref_review(&r, &lk, &d);
    CHECK(d.allowed);
    CHECK_INT(fx.grant_calls, 1);
    review_admission_release(&r);
    free(body);
    fx_lookup_release(&fx);
}

static void
test_named_grant(void)
{
    struct fx_lookup fx = {0};
    struct wh_lookup lk = fx_lookup_init(&fx);
    struct wh_decision d = {0};

    decide(&lk, "CREATE", "staging", pvc("staging", "backup", SNAP, "VolumeSnapshot", "snap-1"),
           &d);
    CHECK(d.allowed);
    decide(&lk, "CREATE", "staging", pvc("staging", "backup", SNAP, "VolumeSnapshot", "snap-2"),
           &d);
    CHECK(!d.allowed);
    CHECK_INT(d.code, 403);
    CHECK_STR(d.msg,
              "accessing backup/snap-2 of VolumeSnapshot dataSource from staging/restored isn't "
              "allowed: no ReferenceGrant in namespace backup has from {group: \"\", kind: "
              "PersistentVolumeClaim, namespace: staging} and to {group: "
              "\"snapshot.storage.k8s.io\", kind: VolumeSnapshot, name: snap-2}");
    fx_lookup_release(&fx);
}

static void
test_from_and_to_must_be_in_one_grant(void)
{
    struct fx_lookup fx = {0};
    struct wh_lookup lk = fx_lookup_init(&fx);
    struct wh_decision d = {0};

    /* dev has a from in grant a and the snapshot to in grant b: no. */
    decide(&lk, "CREATE", "dev", pvc("dev", "backup", SNAP, "VolumeSnapshot", "s"), &d);
    CHECK(!d.allowed);
    /* ... but grant a covers a core PVC clone (apiGroup unset -> group ""). */
    decide(&lk, "CREATE", "dev", pvc("dev", "backup", NULL, "PersistentVolumeClaim", "data"), &d);
    CHECK(d.allowed);
    decide(&lk, "CREATE", "dev", pvc("dev", "backup", "", "PersistentVolumeClaim", "data"), &d);
    CHECK(d.allowed);
    fx_lookup_release(&fx);
}

static void
test_grant_must_live_in_source_namespace(void)
{
    struct fx_lookup fx = {0};
    struct wh_lookup lk = fx_lookup_init(&fx);
    struct wh_decision d = {0};

    decide(&lk, "CREATE", "qa", pvc("qa", "backup", SNAP, "VolumeSnapshot", "s"), &d);
    CHECK(!d.allowed);
    CHECK(strstr(d.msg, "no ReferenceGrant in namespace backup") != NULL);
    decide(&lk, "CREATE", "qa", pvc("qa", "elsewhere", SNAP, "VolumeSnapshot", "s"), &d);
    CHECK(d.allowed);
    fx_lookup_release(&fx);
}

static void
test_exact_case_sensitive_match(void)
{
    struct fx_lookup fx = {0};
    struct wh_lookup lk = fx_lookup_init(&fx);
    struct wh_decision d = {0};

    decide(&lk, "CREATE", "prod", pvc("prod", "backup", SNAP, "volumesnapshot", "s"), &d);
    CHECK(!d.allowed);
    decide(&lk, "CREATE", "prod",
           pvc("prod", "backup", "snapshot.storage.k8s.io/v1", "VolumeSnapshot", "s"), &d);
    CHECK(!d.allowed);
    decide(&lk, "CREATE", "prod", pvc("prod", "backup", SNAP, "VolumeSnapshot", "anything"), &d);
    CHECK(d.allowed);
    fx_lookup_release(&fx);
}

static void
test_no_lookup_when_not_cross_namespace(void)
{
    struct fx_lookup fx = {0};
    struct wh_lookup lk = fx_lookup_init(&fx);
    struct wh_decision d = {0};
    json_t *plain;

    fx.fail_grants = SC_EIO;
    decide(&lk, "CREATE", "prod", pvc("prod", "prod", SNAP, "VolumeSnapshot", "s"), &d);
    CHECK(d.allowed);
    decide(&lk, "CREATE", "prod", pvc("prod", NULL, SNAP, "VolumeSnapshot", "s"), &d);
    CHECK(d.allowed);
    decide(&lk, "CREATE", "prod", pvc("prod", "", SNAP, "VolumeSnapshot", "s"), &d);
    CHECK(d.allowed);
    plain = json_pack("{s:{s:s}, s:{}}", "metadata", "name", "p", "spec");
    decide(&lk, "CREATE", "prod", plain, &d);
    CHECK(d.allowed);
    /* PVC spec is immutable: only CREATE is checked. */
    decide(&lk, "UPDATE", "prod", pvc("prod", "backup", SNAP, "VolumeSnapshot", "s"), &d);
    CHECK(d.allowed);
    CHECK_INT(fx.grant_calls, 0);
    fx_lookup_release(&fx);
}

static void
test_crd_absent_denies(void)
{
    struct fx_lookup fx = {0};
    struct wh_lookup lk = fx_lookup_init(&fx);
    struct wh_decision d = {0};

    fx.fail_grants = SC_ENOTFOUND;
    decide(&lk, "CREATE", "prod", pvc("prod", "backup", SNAP, "VolumeSnapshot", "s"), &d);
    CHECK(!d.allowed);
    CHECK(strstr(d.msg, "the ReferenceGrant CRD (referencegrants.gateway.networking.k8s.io) is "
                        "not installed") != NULL);
    CHECK(strstr(d.msg, "accessing backup/s of VolumeSnapshot dataSource from prod/restored") !=
          NULL);
    fx.fail_grants = SC_EIO;
    decide(&lk, "CREATE", "prod", pvc("prod", "backup", SNAP, "VolumeSnapshot", "s"), &d);
    CHECK(!d.allowed);
    CHECK(strstr(d.msg, "cannot check ReferenceGrants in namespace backup") != NULL);
    fx_lookup_release(&fx);
}

static void
test_bad_shapes(void)
{
    struct fx_lookup fx = {0};
    struct wh_lookup lk = fx_lookup_init(&fx);
    struct wh_decision d = {0};
    struct review_admission r = {0};
    json_t *o;

    o = json_pack("{s:{s:s}, s:{s:s}}", "metadata", "name", "p", "spec", "dataSourceRef", "x");
    decide(&lk, "CREATE", "prod", o, &d);
    CHECK(!d.allowed);
    CHECK(strstr(d.msg, "spec.dataSourceRef is not a JSON object") != NULL);
    o = json_pack("{s:{s:s}, s:{s:{s:s, s:s, s:i}}}", "metadata", "name", "p", "spec",
                  "dataSourceRef", "kind", "VolumeSnapshot", "name", "s", "namespace", 3);
    decide(&lk, "CREATE", "prod", o, &d);
    CHECK(!d.allowed);
    o = json_pack("{s:[], s:{}}", "metadata", "spec");
    decide(&lk, "CREATE", "prod", o, &d);
    CHECK(!d.allowed);
    CHECK_INT(fx_review(&r, "CREATE", "", "v1", "pods", "prod", json_object(), NULL), SC_OK);
    wh_dataref_review(&r, &lk, &d);
    CHECK(!d.allowed);
    CHECK(strstr(d.msg, "expect resource to be") != NULL);
    review_admission_release(&r);
    fx_lookup_release(&fx);
}

static void
test_grant_parse(void)
{
    struct wh_grant *g = NULL;
    json_t *o;

    o = json_pack("{s:{s:s, s:s}, s:{s:[{s:s, s:s, s:s}], s:[{s:s, s:s}, {s:s, s:s, s:s}]}}",
                  "metadata", "name", "g", "namespace", "n", "spec", "from", "group", "", "kind",
                  "PersistentVolumeClaim", "namespace", "a", "to", "group", "x", "kind", "Y",
                  "group", "x", "kind", "Z", "name", "z1");
    CHECK_INT(wh_dataref_grant_parse(o, &g, NULL), SC_OK);
    CHECK_STR(g->ns, "n");
    CHECK_INT(g->n_from, 1);
    CHECK_INT(g->n_to, 2);
    CHECK(g->to[0].name == NULL);
    CHECK_STR(g->to[1].name, "z1");
    CHECK_STR(g->from[0].kind, "PersistentVolumeClaim");
    free(g);
    json_decref(o);
    o = json_pack("{s:{s:s}, s:{s:s}}", "metadata", "name", "g", "spec", "from", "x");
    CHECK_INT(wh_dataref_grant_parse(o, &g, NULL), SC_EINVALID);
    json_decref(o);
    o = json_pack("[]");
    CHECK_INT(wh_dataref_grant_parse(o, &g, NULL), SC_EINVALID);
    json_decref(o);
    /* Entries of the wrong type become empty entries that match nothing. */
    o = json_pack("{s:{s:s}, s:{s:[i], s:[s]}}", "metadata", "name", "g", "spec", "from", 1, "to",
                  "x");
    CHECK_INT(wh_dataref_grant_parse(o, &g, NULL), SC_OK);
    CHECK_STR(g->from[0].kind, "");
    free(g);
    json_decref(o);
}

TEST_MAIN(TEST(test_recorded_request_granted), TEST(test_named_grant),
          TEST(test_from_and_to_must_be_in_one_grant),
          TEST(test_grant_must_live_in_source_namespace), TEST(test_exact_case_sensitive_match),
          TEST(test_no_lookup_when_not_cross_namespace), TEST(test_crd_absent_denies),
          TEST(test_bad_shapes), TEST(test_grant_parse))
