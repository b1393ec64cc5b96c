/* webhook/review.c -- AdmissionReview / ConversionReview envelopes. */
#include "webhook/review.h"

#include <stdlib.h>
#include <string.h>

#include "common/limits.h"
#include "kube/kjson.h"
#include "kube/kparse.h"
#include "kube/kskim.h"
#include "webhook/wharena.h"

/* Every read below goes through kube/kjson.  The envelope's own messages
 * (stable, asserted by the tests) replace kjson's generic ones: a reader is
 * made without an sc_err, and kjson_error() only says that something failed.
 * A string member: NULL when absent or null; *bad when of another type. */
static const char *
member_str(const json_t *obj, const char *key, int *bad)
{
    struct kjson j = {0};
    const char *s;

    kjson_init(&j, obj, NULL);
    s = kjson_key_str(&j, obj, "", key);
    if (kjson_error(&j) != 0)
        *bad = 1;
    return s;
}

/* An AdmissionReview is parsed without the objects' metadata.managedFields
 * and the request's userInfo, options, requestKind and requestResource
 * (kube/kparse.h, KPARSE_REVIEW: nothing here reads them); a ConversionReview
 * whole, since its objects are sent back converted. */
static int
load_root(const char *body, size_t len, const char *what, bool skim, json_t **out,
          struct sc_err *err)
{
    struct sc_err perr = {0};
    json_t *root = NULL;
    int rc;

    *out = NULL;
    if (body == NULL || len == 0)
        return sc_err_set(err, SC_EINVALID, "empty request body: expected a %s", what);
    if (len > LIM_ADMISSION_BODY)
        return sc_err_set(err, SC_ETOOBIG, "request body of %zu bytes exceeds the limit of %u", len,
                          (unsigned)LIM_ADMISSION_BODY);
    if (skim && kparse(body, len, KPARSE_SKIM | KPARSE_REVIEW, &root) == 0)
        rc = SC_OK; /* the short way; where it declines, the whole request */
    else
        rc = skim ? kskim_parse(body, len, LIM_ADMISSION_BODY, &root, &perr)
                  : kjson_parse(body, len, LIM_ADMISSION_BODY, &root, &perr);
    if (rc != SC_OK)
        return sc_err_set(err, SC_EINVALID, "request body is not valid JSON: %s", perr.msg);
    if (!json_is_object(root)) {
        json_decref(root);
        return sc_err_set(err, SC_EINVALID, "request body is not a JSON object: expected a %s",
                          what);
    }
    *out = root;
    return SC_OK;
}

/* A member of any type: NULL when absent or null.  The root is ours (the
 * review owns it), so the tree may be handed on as writable. */
static json_t *
member(const json_t *obj, const char *key)
{
    struct kjson j = {0};

    kjson_init(&j, obj, NULL);
    return (json_t *)kjson_get(&j, obj, key);
}

/* The embedded object: NULL for absent/null, error for a non-object. */
static int
member_obj(const json_t *parent, const char *key, json_t **out, struct sc_err *err)
{
    json_t *v = member(parent, key);

    *out = NULL;
    if (v == NULL)
        return SC_OK;
    if (!json_is_object(v))
        return sc_err_set(err, SC_EINVALID, "request.%s is not a JSON object", key);
    *out = v;
    return SC_OK;
}

/* apiVersion and kind of an AdmissionReview. */
static int
admission_gvk(const json_t *root, const char **api_version, struct sc_err *err)
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
admission_resource(const json_t *req, struct review_gvr *gvr, struct sc_err *err)
{
    const json_t *res = member(req, "resource");
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
admission_request(const json_t *req, struct review_admission *r, struct sc_err *err)
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
    const json_t *req;
    int rc;

    memset(out, 0, sizeof(*out));
    memset(&r, 0, sizeof(r));
    rc = load_root(body, len, "AdmissionReview", true, &r.root, err);
    if (rc != SC_OK)
        return rc;
    rc = admission_gvk(r.root, &r.api_version, err);
    req = member(r.root, "request");
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

/* A review's tree, released: inside a request's arena with nothing spilled
 * it is left to the arena's end (json_delete() would visit every node, about
 * 2 % of a review's instructions, to free nothing). */
static void
drop_root(json_t *root)
{
    if (!wharena_holds_all())
        json_decref(root);
}

void
review_admission_release(struct review_admission *r)
{
    if (r == NULL)
        return;
    drop_root(r->root);
    memset(r, 0, sizeof(*r));
}

/* ---- responses: written straight into a capped buffer, no tree ---------- */

/* The fixed text (literal) and the JSON strings of a response, in order.
 * A string that is not UTF-8 cannot be sent: SC_EINVALID. */
static int
put(struct buf *b, const char *lit)
{
    return buf_adds(b, lit);
}

/* Hand the finished response to the caller, or say why there is none. */
static int
finish(struct buf *b, int rc, char **out, size_t *out_len, struct sc_err *err)
{
    if (rc != SC_OK) {
        buf_release(b);
        if (rc == SC_ETOOBIG)
            return sc_err_set(err, SC_ETOOBIG, "the response exceeds %u bytes",
                              (unsigned)LIM_REVIEW_RESPONSE);
        return sc_err_set(err, SC_ENOMEM, "cannot build the response");
    }
    *out_len = b->len;
    *out = buf_detach(b);
    return *out != NULL ? SC_OK : sc_err_set(err, SC_ENOMEM, "cannot build the response");
}

int
review_admission_respond(const struct review_admission *r, const struct wh_decision *d, char **out,
                         size_t *out_len, struct sc_err *err)
{
    return review_admission_respond_warn(r, d, NULL, 0, out, out_len, err);
}

/* ,"warnings":[...] for the n strings (none: the field is left out).  A
 * string that is not UTF-8 (a cut multi-byte name) is left out. */
static int
put_warnings(struct buf *b, const char *const *warnings, size_t n)
{
    const char *sep = "";
    int rc;

    if (n == 0)
        return SC_OK;
    rc = put(b, ",\"warnings\":[");
    for (size_t i = 0; i < n && rc == SC_OK; i++) {
        if (!kjson_utf8_valid(warnings[i], strlen(warnings[i])))
            continue;
        rc = put(b, sep);
        if (rc == SC_OK)
            rc = kjson_put_str(b, warnings[i]);
        sep = ",";
    }
    return rc == SC_OK ? put(b, "]") : rc;
}

/* ,"status":{"message":...[,"status":"Failure"[,"code":N]]} when denied or
 * allowed with a message. */
static int
put_status(struct buf *b, const struct wh_decision *d)
{
    int rc;

    if (d->allowed && d->msg[0] == '\0')
        return SC_OK;
    rc = put(b, ",\"status\":{\"message\":");
    if (rc == SC_OK)
        rc = kjson_put_str(b, d->msg);
    if (rc == SC_OK && !d->allowed)
        rc = put(b, ",\"status\":\"Failure\"");
    if (rc == SC_OK && !d->allowed && d->code != 0)
        rc = buf_addf(b, ",\"code\":%d", d->code);
    return rc == SC_OK ? put(b, "}") : rc;
}

int
review_admission_respond_warn(const struct review_admission *r, const struct wh_decision *d,
                              const char *const *warnings, size_t n_warnings, char **out,
                              size_t *out_len, struct sc_err *err)
{
    struct buf b = {0};
    size_t len = 0;
    int rc;

    *out = NULL;
    buf_init(&b, LIM_REVIEW_RESPONSE);
    rc = put(&b, "{\"apiVersion\":");
    if (rc == SC_OK)
        rc = kjson_put_str(&b, r->api_version);
    if (rc == SC_OK)
        rc = put(&b, ",\"kind\":\"AdmissionReview\",\"response\":{\"uid\":");
    if (rc == SC_OK)
        rc = kjson_put_str(&b, r->uid);
    if (rc == SC_OK)
        rc = put(&b, d->allowed ? ",\"allowed\":true" : ",\"allowed\":false");
    if (rc == SC_OK)
        rc = put_warnings(&b, warnings, n_warnings);
    if (rc == SC_OK)
        rc = put_status(&b, d);
    if (rc == SC_OK)
        rc = put(&b, "}}");
    rc = finish(&b, rc, out, &len, err);
    if (rc == SC_OK && out_len != NULL)
        *out_len = len;
    return rc;
}

/* request.objects: an array; absent or null means empty (omitempty). */
static int
conversion_objects(json_t *req, json_t **objects, struct sc_err *err)
{
    json_t *o = member(req, "objects");

    if (o == NULL) {
        o = json_array();
        if (o == NULL || json_object_set_new(req, "objects", o) != 0)
            return sc_err_set(err, SC_ENOMEM, "cannot allocate");
    } else if (!json_is_array(o)) {
        return sc_err_set(err, SC_EINVALID, "request.objects is not a JSON array");
    }
    *objects = o;
    return SC_OK;
}

/* apiVersion, kind, request.uid and request.desiredAPIVersion. */
static int
conversion_envelope(struct review_conversion *r, json_t **req, struct sc_err *err)
{
    const char *api, *kind;
    int bad = 0;

    api = member_str(r->root, "apiVersion", &bad);
    kind = member_str(r->root, "kind", &bad);
    if (bad || kind == NULL || strcmp(kind, "ConversionReview") != 0 || api == NULL ||
        strcmp(api, REVIEW_CONVERSION_V1) != 0)
        return sc_err_set(err, SC_EINVALID,
                          "unsupported group version kind %s, %s: expected %s ConversionReview",
                          api ? api : "(missing apiVersion)", kind ? kind : "(missing kind)",
                          REVIEW_CONVERSION_V1);
    *req = member(r->root, "request");
    if (!json_is_object(*req))
        return sc_err_set(err, SC_EINVALID, "ConversionReview has no request object");
    r->uid = member_str(*req, "uid", &bad);
    r->desired = member_str(*req, "desiredAPIVersion", &bad);
    if (bad || r->uid == NULL || r->uid[0] == '\0')
        return sc_err_set(err, SC_EINVALID, "request.uid is missing or not a string");
    if (r->desired == NULL || r->desired[0] == '\0')
        return sc_err_set(err, SC_EINVALID, "request.desiredAPIVersion is missing or not a string");
    return SC_OK;
}

int
review_conversion_parse(const char *body, size_t len, struct review_conversion *out,
                        struct sc_err *err)
{
    struct review_conversion r = {0};
    json_t *req = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    memset(&r, 0, sizeof(r));
    rc = load_root(body, len, "ConversionReview", false, &r.root, err);
    if (rc != SC_OK)
        return rc;
    rc = conversion_envelope(&r, &req, err);
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
    drop_root(r->root);
    memset(r, 0, sizeof(*r));
}

int
review_conversion_respond(const struct review_conversion *r, json_t *converted,
                          const char *failure_msg, char **out, size_t *out_len, struct sc_err *err)
{
    struct buf b = {0};
    size_t len = 0;
    int rc;

    *out = NULL;
    buf_init(&b, LIM_REVIEW_RESPONSE);
    rc = put(&b, "{\"apiVersion\":\"" REVIEW_CONVERSION_V1
                 "\",\"kind\":\"ConversionReview\",\"response\":{\"uid\":");
    if (rc == SC_OK)
        rc = kjson_put_str(&b, r->uid);
    if (rc == SC_OK && failure_msg != NULL) {
        rc = put(&b, ",\"result\":{\"status\":\"Failure\",\"message\":");
        if (rc == SC_OK)
            rc = kjson_put_str(&b, failure_msg);
        if (rc == SC_OK)
            rc = put(&b, "}}}");
    } else if (rc == SC_OK) {
        rc = put(&b, ",\"result\":{\"status\":\"Success\"},\"convertedObjects\":");
        if (rc == SC_OK)
            rc = converted ? kjson_dumpb(converted, &b, NULL) : put(&b, "[]");
        if (rc == SC_OK)
            rc = put(&b, "}}");
    }
    rc = finish(&b, rc, out, &len, err);
    if (rc == SC_OK && out_len != NULL)
        *out_len = len;
    return rc;
}
