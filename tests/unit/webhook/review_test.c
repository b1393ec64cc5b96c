#include "webhook/review.h"

#include <stdlib.h>
#include <string.h>

#include "common/limits.h"
#include "tests/unit/webhook/fixtures.h"

static int
parse_str(const char *s, struct review_admission *r, struct sc_err *err)
{
    return review_admission_parse(s, strlen(s), r, err);
}

static void
test_recorded_request(void)
{
    struct review_admission r = {0};
    size_t len;
    char *body = fx_text("admission/vsclass-create.json", &len);

    CHECK_INT(review_admission_parse(body, len, &r, NULL), SC_OK);
    CHECK_STR(r.api_version, "admission.k8s.io/v1");
    CHECK_STR(r.uid, "0d5ec0a4-7c1e-4a57-a0b6-f4a1c1a2b3c4");
    CHECK_STR(r.operation, "CREATE");
    CHECK_STR(r.resource.group, "snapshot.storage.k8s.io");
    CHECK_STR(r.resource.resource, "volumesnapshotclasses");
    CHECK_STR(r.ns, "");
    CHECK_STR(r.name, "second-default");
    CHECK(r.object != NULL);
    CHECK(r.old_object == NULL); /* "oldObject": null */
    review_admission_release(&r);
    free(body);
}

static void
test_response_echoes_version_and_uid(void)
{
    struct review_admission r = {0};
    struct wh_decision d = {.allowed = false, .code = 403, .rule = "x", .msg = "nope"};
    char *out;
    size_t n;
    json_t *j;

    CHECK_INT(parse_str("{\"apiVersion\":\"admission.k8s.io/v1beta1\",\"kind\":\"AdmissionReview\","
                        "\"request\":{\"uid\":\"u-9\",\"operation\":\"CREATE\",\"resource\":{"
                        "\"version\":\"v1\",\"resource\":\"persistentvolumeclaims\"}}}",
                        &r, NULL),
              SC_OK);
    CHECK_STR(r.resource.group, "");
    CHECK_INT(review_admission_respond(&r, &d, &out, &n, NULL), SC_OK);
    j = json_loads(out, 0, NULL);
    CHECK_STR(json_string_value(json_object_get(j, "apiVersion")), "admission.k8s.io/v1beta1");
    CHECK_STR(json_string_value(json_object_get(j, "kind")), "AdmissionReview");
    CHECK_STR(json_string_value(json_object_get(json_object_get(j, "response"), "uid")), "u-9");
    CHECK(json_is_false(json_object_get(json_object_get(j, "response"), "allowed")));
    CHECK_STR(json_string_value(json_object_get(
                  json_object_get(json_object_get(j, "response"), "status"), "message")),
              "nope");
    CHECK_INT(json_integer_value(json_object_get(
                  json_object_get(json_object_get(j, "response"), "status"), "code")),
              403);
    json_decref(j);
    free(out);
    d.allowed = true;
    d.msg[0] = '\0';
    CHECK_INT(review_admission_respond(&r, &d, &out, &n, NULL), SC_OK);
    CHECK_STR(out, "{\"apiVersion\":\"admission.k8s.io/v1beta1\",\"kind\":\"AdmissionReview\","
                   "\"response\":{\"uid\":\"u-9\",\"allowed\":true}}");
    CHECK_INT(n, strlen(out));
    free(out);
    review_admission_release(&r);
}

static void
test_bad_envelopes(void)
{
    static const struct {
        const char *body;
        const char *msg;
    } cases[] = {
        {"not json", "request body is not valid JSON"},
        {"[1,2]", "request body is not a JSON object"},
        {"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"ConversionReview\"}",
         "unsupported kind \"ConversionReview\": expected AdmissionReview"},
        {"{\"apiVersion\":\"admission.k8s.io/v2\",\"kind\":\"AdmissionReview\"}",
         "unsupported AdmissionReview apiVersion admission.k8s.io/v2"},
        {"{\"kind\":\"AdmissionReview\"}", "unsupported AdmissionReview apiVersion (missing)"},
        {"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\"}",
         "AdmissionReview has no request object"},
        {"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{}}",
         "request.uid is missing"},
        {"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
         "\"uid\":7}}",
         "must be strings"},
        {"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
         "\"uid\":\"u\",\"operation\":\"CREATE\"}}",
         "request.resource is missing"},
        {"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
         "\"uid\":\"u\",\"operation\":\"CREATE\",\"resource\":{\"version\":\"v1\",\"resource\":"
         "\"x\"},\"object\":\"str\"}}",
         "request.object is not a JSON object"},
        {"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"kind\":\"x\"}",
         "not valid JSON"},
    };
    struct review_admission r = {0};
    struct sc_err err = {0};

    for (size_t i = 0; i < SC_ARRAY_LEN(cases); i++) {
        memset(&err, 0, sizeof(err));
        CHECK_INT(parse_str(cases[i].body, &r, &err), SC_EINVALID);
        if (strstr(err.msg, cases[i].msg) == NULL)
            fprintf(stderr, "case %zu: got \"%s\"\n", i, err.msg);
        CHECK(strstr(err.msg, cases[i].msg) != NULL);
        CHECK(r.root == NULL);
    }
    CHECK_INT(review_admission_parse("", 0, &r, &err), SC_EINVALID);
}

static void
test_huge_body(void)
{
    size_t n = LIM_ADMISSION_BODY + 1;
    char *big = malloc(n);
    struct review_admission r = {0};
    struct review_conversion c = {0};
    struct sc_err err = {0};

    memset(big, ' ', n);
    CHECK_INT(review_admission_parse(big, n, &r, &err), SC_ETOOBIG);
    CHECK_INT(review_conversion_parse(big, n, &c, &err), SC_ETOOBIG);
    free(big);
}

static void
test_conversion_envelope(void)
{
    struct review_conversion c = {0};
    struct sc_err err = {0};
    const char *ok = "{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"ConversionReview\","
                     "\"request\":{\"uid\":\"c1\",\"desiredAPIVersion\":\"g/v1\"}}";
    const char *beta = "{\"apiVersion\":\"apiextensions.k8s.io/v1beta1\",\"kind\":"
                       "\"ConversionReview\",\"request\":{\"uid\":\"c1\",\"desiredAPIVersion\":"
                       "\"g/v1\",\"objects\":[]}}";
    const char *objs =
        "{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"ConversionReview\","
        "\"request\":{\"uid\":\"c1\",\"desiredAPIVersion\":\"g/v1\",\"objects\":{}}}";
    const char *nodesired = "{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":"
                            "\"ConversionReview\",\"request\":{\"uid\":\"c1\"}}";
    char *out;
    json_t *conv;

    CHECK_INT(review_conversion_parse(ok, strlen(ok), &c, &err), SC_OK);
    CHECK_STR(c.uid, "c1");
    CHECK_STR(c.desired, "g/v1");
    CHECK(json_is_array(c.objects) && json_array_size(c.objects) == 0);
    conv = json_array();
    CHECK_INT(review_conversion_respond(&c, conv, NULL, &out, NULL, &err), SC_OK);
    CHECK_STR(out, "{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"ConversionReview\","
                   "\"response\":{\"uid\":\"c1\",\"result\":{\"status\":\"Success\"},"
                   "\"convertedObjects\":[]}}");
    free(out);
    CHECK_INT(review_conversion_respond(&c, conv, "boom", &out, NULL, &err), SC_OK);
    CHECK_STR(out, "{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"ConversionReview\","
                   "\"response\":{\"uid\":\"c1\",\"result\":{\"status\":\"Failure\",\"message\":"
                   "\"boom\"}}}");
    free(out);
    json_decref(conv);
    review_conversion_release(&c);

    CHECK_INT(review_conversion_parse(beta, strlen(beta), &c, &err), SC_EINVALID);
    CHECK(strstr(err.msg, "unsupported group version kind") != NULL);
    CHECK_INT(review_conversion_parse(objs, strlen(objs), &c, &err), SC_EINVALID);
    CHECK_STR(err.msg, "request.objects is not a JSON array");
    CHECK_INT(review_conversion_parse(nodesired, strlen(nodesired), &c, &err), SC_EINVALID);
    CHECK(strstr(err.msg, "desiredAPIVersion") != NULL);
}

TEST_MAIN(TEST(test_recorded_request), TEST(test_response_echoes_version_and_uid),
          TEST(test_bad_envelopes), TEST(test_huge_body), TEST(test_conversion_envelope))
