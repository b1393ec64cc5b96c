#include "webhook/whroute.h"

#include <stdlib.h>
#include <string.h>

#include "tests/unit/webhook/fixtures.h"

static bool
flag_ready(void *ctx)
{
    return *(bool *)ctx;
}

struct env {
    struct fx_lookup fx;
    struct whmetrics m;
    struct whroute rt;
    bool ready;
};

static void
env_init(struct env *e)
{
    e->rt.lookup = fx_lookup_init(&e->fx);
    whmetrics_init(&e->m);
    e->rt.metrics = &e->m;
    e->ready = false;
    e->rt.ready = flag_ready;
    e->rt.ready_ctx = &e->ready;
}

static void
call(struct env *e, const char *method, const char *url, const char *ct, const char *body,
     struct whroute_resp *out)
{
    whroute_handle(&e->rt, method, url, ct, body ? body : "", body ? strlen(body) : 0, out);
}

/* One request that gets the status want and, unless needle is NULL, a body
 * holding needle. */
static void
answers(struct env *e, const char *method, const char *url, const char *ct, const char *body,
        int want, const char *needle)
{
    struct whroute_resp r = {0};

    call(e, method, url, ct, body, &r);
    CHECK_INT(r.status, want);
    if (needle != NULL)
        CHECK(strstr(r.body, needle) != NULL);
    free(r.body);
}

static void
test_health_ready_and_404(void)
{
    struct env e = {0};
    struct whroute_resp r = {0};

    env_init(&e);
    call(&e, "GET", "/healthz", NULL, NULL, &r);
    CHECK_INT(r.status, 200);
    CHECK_STR(r.body, "ok");
    free(r.body);
    answers(&e, "GET", "/readyz", NULL, NULL, 503, NULL);
    e.ready = true;
    answers(&e, "GET", "/readyz", NULL, NULL, 200, NULL);
    answers(&e, "GET", "/nope", NULL, NULL, 404, NULL);
    answers(&e, "GET", "/validate-class", NULL, NULL, 405, NULL);
    answers(&e, "POST", "/healthz", NULL, NULL, 405, NULL);
    fx_lookup_release(&e.fx);
}

static void
test_bad_requests_are_4xx(void)
{
    struct env e = {0};

    env_init(&e);
    answers(&e, "POST", "/validate-class", "text/plain", "{}", 415, "expect application/json");
    answers(&e, "POST", "/validate-class", NULL, "{}", 415, NULL);
    answers(&e, "POST", "/validate-pvc", "application/json", "{{{", 400, "not valid JSON");
    answers(&e, "POST", "/convert", "application/json", "", 400, NULL);
    answers(&e, "POST", "/convert", "application/json; charset=utf-8",
            "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\"}", 400,
            "unsupported group version kind");
    CHECK_INT(atomic_load(&e.m.decisions[WHM_RULE_ENVELOPE][WHM_ERROR]), 5);
    fx_lookup_release(&e.fx);
}

static void
test_admission_and_metrics(void)
{
    struct env e = {0};
    struct whroute_resp r = {0};
    size_t len;
    char *body = fx_text("admission/vsclass-create.json", &len);
    json_t *j;

    env_init(&e);
    call(&e, "POST", "/validate-class", "application/json", body, &r);
    CHECK_INT(r.status, 200);
    CHECK_STR(r.content_type, "application/json");
    j = json_loads(r.body, 0, NULL);
    CHECK(json_is_false(json_object_get(json_object_get(j, "response"), "allowed")));
    json_decref(j);
    free(r.body);
    free(body);
    body = fx_text("admission/pvc-create-cross-ns.json", &len);
    answers(&e, "POST", "/validate-pvc", "application/json", body, 200, "\"allowed\":true");
    free(body);
    call(&e, "GET", "/metrics", NULL, NULL, &r);
    CHECK_INT(r.status, 200);
    CHECK(strstr(r.body, "snapshot_webhook_admission_decisions_total{rule=\"default-class\","
                         "result=\"denied\"} 1\n") != NULL);
    CHECK(strstr(r.body, "snapshot_webhook_admission_decisions_total{rule=\"reference-grant\","
                         "result=\"allowed\"} 1\n") != NULL);
    CHECK(strstr(r.body, "# TYPE snapshot_webhook_request_duration_seconds histogram") != NULL);
    free(r.body);
    fx_lookup_release(&e.fx);
}

static void
test_conversion_review(void)
{
    struct env e = {0};
    struct whroute_resp r = {0};
    json_t *obj = fx_load("convert/vgsc-v1beta2.json");
    json_t *want = fx_load("convert/vgsc-v1beta1.json");
    json_t *review =
        json_pack("{s:s, s:s, s:{s:s, s:s, s:[O]}}", "apiVersion", "apiextensions.k8s.io/v1",
                  "kind", "ConversionReview", "request", "uid", "u1", "desiredAPIVersion",
                  "groupsnapshot.storage.k8s.io/v1beta1", "objects", obj);
    char *body = json_dumps(review, JSON_COMPACT);
    json_t *j, *resp;

    env_init(&e);
    call(&e, "POST", "/convert", "application/json", body, &r);
    CHECK_INT(r.status, 200);
    j = json_loads(r.body, 0, NULL);
    resp = json_object_get(j, "response");
    CHECK_STR(json_string_value(json_object_get(resp, "uid")), "u1");
    CHECK_STR(json_string_value(json_object_get(json_object_get(resp, "result"), "status")),
              "Success");
    CHECK(json_equal(json_array_get(json_object_get(resp, "convertedObjects"), 0), want));
    json_decref(j);
    free(r.body);
    free(body);
    json_object_set_new(json_object_get(review, "request"), "desiredAPIVersion",
                        json_string("groupsnapshot.storage.k8s.io/v1beta2"));
    body = json_dumps(review, JSON_COMPACT);
    call(&e, "POST", "/convert", "application/json", body, &r);
    CHECK_INT(r.status, 200);
    CHECK(strstr(r.body, "\"status\":\"Failure\"") != NULL);
    CHECK(strstr(r.body, "conversion from a version to itself should not call the webhook") !=
          NULL);
    free(r.body);
    free(body);
    json_decref(review);
    json_decref(obj);
    json_decref(want);
    fx_lookup_release(&e.fx);
}

TEST_MAIN(TEST(test_health_ready_and_404), TEST(test_bad_requests_are_4xx),
          TEST(test_admission_and_metrics), TEST(test_conversion_review))
