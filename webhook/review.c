/* webhook/review.c -- AdmissionReview / ConversionReview envelopes. */
#include "webhook/review.h"

#include <stdlib.h>
#include <string.h>

#include "common/limits.h"

/* Return the string member key of obj, NULL when absent; *bad is set when the
 * member exists with another type. */
static const char *
member_str(const json_t *obj, const char *key, int *bad)
{
    json_t *v = json_object_get(obj, key);

    if (v == NULL || json_is_null(v))
        return NULL;
    if (!json_is_string(v)) {
        *bad = 1;
        return NULL;
    }
    return json_string_value(v);
}

static int
load_root(const char *body, size_t len, const char *what, json_t **out, struct sc_err *err)
{
    json_error_t jerr;
    json_t *root;

    *out = NULL;
    if (body == NULL || len == 0)
        return sc_err_set(err, SC_EINVALID, "empty request body: expected a %s", what);
    if (len > LIM_ADMISSION_BODY)
        return sc_err_set(err, SC_ETOOBIG, "request body of %zu bytes exceeds the limit of %u", len,
                          (unsigned)LIM_ADMISSION_BODY);
    root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return sc_err_set(err, SC_EINVALID, "request body is not valid JSON: %s (line %d)",
                          jerr.text, jerr.line);
    if (!json_is_object(root)) {
        json_decref(root);
        return sc_err_set(err, SC_EINVALID, "request body is not a JSON object: expected a %s",
                          what);
    }
    *out = root;
    return SC_OK;
}

/* The embedded object: NULL for absent/null, error for a non-object. */
static int
member_obj(json_t *parent, const char *key, json_t **out, struct sc_err *err)
{
    json_t *v = json_object_get(parent, key);

    *out = NULL;
    if (v == NULL || json_is_null(v))
        return SC_OK;
    if (!json_is_object(v))
        return sc_err_set(err, SC_EINVALID, "request.%s is not a JSON object", key);
    *out = v;
    return SC_OK;
}

/* apiVersion and kind of an AdmissionReview. */
static int
admission_gvk(json_t *root, const char **api_version, struct sc_err *err)
{
    const char *kind;
    int bad = 0;

    *api_version = member_str(root, "apiVersion", &bad);
    kind = member_str(root, "kind", &bad);
    if (bad || kind == NULL || strcmp(kind, "AdmissionReview") != 0)
        return sc_err_set(err, SC_EINVALID, "unsupported kind %s%s%s: expected AdmissionReview",
                          kind ? "\"" : "", kind ? kind : "(missing)", kind ? "\"" : "");
    if (*api_version == NULL || (strcmp(*api_version, REVIEW_ADMISSION_V1) != 0 &&
                                 strcmp(*api_version, REVIEW_ADMISSION_V1BETA1) != 0))
        return sc_err_set(err, SC_EINVALID,
                          "unsupported AdmissionReview apiVersion %s: expected %s or %s",
                          *api_version ? *api_version : "(missing)", REVIEW_ADMISSION_V1,
                          REVIEW_ADMISSION_V1BETA1);
    return SC_OK;
}

/* request.resource {group, version, resource}. */
static int
admission_resource(json_t *req, struct review_gvr *gvr, struct sc_err *err)
{
    json_t *res = json_object_get(req, "resource");
    int bad = 0;

    if (!json_is_object(res))
        return sc_err_set(err, SC_EINVALID, "request.resource is missing");
    gvr->group = member_str(res, "group", &bad);
    gvr->version = member_str(res, "version", &bad);
    gvr->resource = member_str(res, "resource", &bad);
    if (bad || gvr->version == NULL || gvr->resource == NULL)
        return sc_err_set(err, SC_EINVALID,
                          "request.resource needs string version and resource fields");
    if (gvr->group == NULL)
        gvr->group = "";
    return SC_OK;
}

/* uid, operation, namespace, name, resource, object and oldObject. */
static int
admission_request(json_t *req, struct review_admission *r, struct sc_err *err)
{
    int bad = 0, rc;

    r->uid = member_str(req, "uid", &bad);
    r->operation = member_str(req, "operation", &bad);
    r->ns = member_str(req, "namespace", &bad);
    r->name = member_str(req, "name", &bad);
    if (bad)
        return sc_err_set(err, SC_EINVALID,
                          "request.uid, operation, namespace and name must be strings");
    if (r->uid == NULL || r->uid[0] == '\0')
        return sc_err_set(err, SC_EINVALID, "request.uid is missing");
    if (r->operation == NULL || r->operation[0] == '\0')
        return sc_err_set(err, SC_EINVALID, "request.operation is missing");
    rc = admission_resource(req, &r->resource, err);
    if (rc != SC_OK)
        return rc;
    if (r->ns == NULL)
        r->ns = "";
    if (r->name == NULL)
        r->name = "";
    rc = member_obj(req, "object", &r->object, err);
    if (rc == SC_OK)
        rc = member_obj(req, "oldObject", &r->old_object, err);
    return rc;
}

int
review_admission_parse(const char *body, size_t len, struct review_admission *out,
                       struct sc_err *err)
{
    struct review_admission r = {0};
    json_t *req;
    int rc;

    memset(out, 0, sizeof(*out));
    memset(&r, 0, sizeof(r));
    rc = load_root(body, len, "AdmissionReview", &r.root, err);
    if (rc != SC_OK)
        return rc;
    rc = admission_gvk(r.root, &r.api_version, err);
    req = json_object_get(r.root, "request");
    if (rc == SC_OK && !json_is_object(req))
        rc = sc_err_set(err, SC_EINVALID, "AdmissionReview has no request object");
    if (rc == SC_OK)
        rc = admission_request(req, &r, err);
    if (rc != SC_OK) {
        json_decref(r.root);
        return rc;
    }
    *out = r;
    return SC_OK;
}

void
review_admission_release(struct review_admission *r)
{
    if (r == NULL)
        return;
    json_decref(r->root);
    memset(r, 0, sizeof(*r));
}

static int
dump(json_t *root, char **out, size_t *out_len, struct sc_err *err)
{
    char *s = json_dumps(root, JSON_COMPACT);

    json_decref(root);
    if (s == NULL)
        return sc_err_set(err, SC_ENOMEM, "cannot serialise the response");
    *out = s;
    if (out_len != NULL)
        *out_len = strlen(s);
    return SC_OK;
}

int
review_admission_respond(const struct review_admission *r, const struct wh_decision *d, char **out,
                         size_t *out_len, struct sc_err *err)
{
    return review_admission_respond_warn(r, d, NULL, 0, out, out_len, err);
}

/* response.warnings: n strings (none: the field is left out).  json_string()
 * is NULL only for text that is not UTF-8 or on ENOMEM. */
static int
add_warnings(json_t *resp, const char *const *warnings, size_t n)
{
    json_t *arr;

    if (n == 0)
        return 0;
    arr = json_array();
    if (arr == NULL || json_object_set_new(resp, "warnings", arr) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        json_t *w = json_string(warnings[i]);

        if (w == NULL)
            continue; /* not UTF-8 (a cut multi-byte name): leave it out */
        if (json_array_append_new(arr, w) != 0)
            return -1;
    }
    return 0;
}

int
review_admission_respond_warn(const struct review_admission *r, const struct wh_decision *d,
                              const char *const *warnings, size_t n_warnings, char **out,
                              size_t *out_len, struct sc_err *err)
{
    json_t *root, *resp;

    *out = NULL;
    resp = json_pack("{s:s, s:b}", "uid", r->uid, "allowed", d->allowed ? 1 : 0);
    if (resp == NULL)
        return sc_err_set(err, SC_ENOMEM, "cannot build the response");
    if (add_warnings(resp, warnings, n_warnings) != 0) {
        json_decref(resp);
        return sc_err_set(err, SC_ENOMEM, "cannot build the response warnings");
    }
    if (!d->allowed || d->msg[0] != '\0') {
        json_t *st = json_pack("{s:s}", "message", d->msg);

        if (st != NULL && !d->allowed) {
            json_object_set_new(st, "status", json_string("Failure"));
            if (d->code != 0)
                json_object_set_new(st, "code", json_integer(d->code));
        }
        if (st == NULL || json_object_set_new(resp, "status", st) != 0) {
            json_decref(resp);
            return sc_err_set(err, SC_ENOMEM, "cannot build the response");
        }
    }
    root = json_pack("{s:s, s:s, s:o}", "apiVersion", r->api_version, "kind", "AdmissionReview",
                     "response", resp);
    if (root == NULL)
        return sc_err_set(err, SC_ENOMEM, "cannot build the response");
    return dump(root, out, out_len, err);
}

/* request.objects: an array; absent or null means empty (omitempty). */
static int
conversion_objects(json_t *req, json_t **objects, struct sc_err *err)
{
    json_t *o = json_object_get(req, "objects");

    if (o == NULL || json_is_null(o)) {
        o = json_array();
        if (o == NULL || json_object_set_new(req, "objects", o) != 0)
            return sc_err_set(err, SC_ENOMEM, "cannot allocate");
    } else if (!json_is_array(o)) {
        return sc_err_set(err, SC_EINVALID, "request.objects is not a JSON array");
    }
    *objects = o;
    return SC_OK;
}

int
review_conversion_parse(const char *body, size_t len, struct review_conversion *out,
                        struct sc_err *err)
{
    struct review_conversion r = {0};
    const char *api, *kind;
    json_t *req = NULL;
    int bad = 0, rc;

    memset(out, 0, sizeof(*out));
    memset(&r, 0, sizeof(r));
    rc = load_root(body, len, "ConversionReview", &r.root, err);
    if (rc != SC_OK)
        return rc;
    api = member_str(r.root, "apiVersion", &bad);
    kind = member_str(r.root, "kind", &bad);
    if (bad || kind == NULL || strcmp(kind, "ConversionReview") != 0 || api == NULL ||
        strcmp(api, REVIEW_CONVERSION_V1) != 0)
        rc = sc_err_set(err, SC_EINVALID,
                        "unsupported group version kind %s, %s: expected %s ConversionReview",
                        api ? api : "(missing apiVersion)", kind ? kind : "(missing kind)",
                        REVIEW_CONVERSION_V1);
    if (rc == SC_OK && !json_is_object(req = json_object_get(r.root, "request")))
        rc = sc_err_set(err, SC_EINVALID, "ConversionReview has no request object");
    if (rc == SC_OK) {
        r.uid = member_str(req, "uid", &bad);
        r.desired = member_str(req, "desiredAPIVersion", &bad);
        if (bad || r.uid == NULL || r.uid[0] == '\0')
            rc = sc_err_set(err, SC_EINVALID, "request.uid is missing or not a string");
        else if (r.desired == NULL || r.desired[0] == '\0')
            rc = sc_err_set(err, SC_EINVALID,
                            "request.desiredAPIVersion is missing or not a string");
    }
    if (rc == SC_OK)
        rc = conversion_objects(req, &r.objects, err);
    if (rc != SC_OK) {
        json_decref(r.root);
        return rc;
    }
    *out = r;
    return SC_OK;
}

void
review_conversion_release(struct review_conversion *r)
{
    if (r == NULL)
        return;
    json_decref(r->root);
    memset(r, 0, sizeof(*r));
}

int
review_conversion_respond(const struct review_conversion *r, json_t *converted,
                          const char *failure_msg, char **out, size_t *out_len, struct sc_err *err)
{
    json_t *root, *result, *resp;

    *out = NULL;
    if (failure_msg != NULL)
        result = json_pack("{s:s, s:s}", "status", "Failure", "message", failure_msg);
    else
        result = json_pack("{s:s}", "status", "Success");
    if (result == NULL)
        return sc_err_set(err, SC_ENOMEM, "cannot build the response");
    resp = json_pack("{s:s, s:o}", "uid", r->uid, "result", result);
    if (resp == NULL)
        return sc_err_set(err, SC_ENOMEM, "cannot build the response");
    if (failure_msg == NULL &&
        json_object_set_new(resp, "convertedObjects",
                            converted ? json_incref(converted) : json_array()) != 0) {
        json_decref(resp);
        return sc_err_set(err, SC_ENOMEM, "cannot build the response");
    }
    root = json_pack("{s:s, s:s, s:o}", "apiVersion", REVIEW_CONVERSION_V1, "kind",
                     "ConversionReview", "response", resp);
    if (root == NULL)
        return sc_err_set(err, SC_ENOMEM, "cannot build the response");
    return dump(root, out, out_len, err);
}
