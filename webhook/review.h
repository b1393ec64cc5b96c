/* webhook/review.h -- AdmissionReview and ConversionReview envelopes.
 *
 * review_admission_parse() and review_conversion_parse() check the envelope of
 * a request body (apiVersion, kind, uid and the fields the rules need) and
 * return a view that borrows from one owned json_t.  They never look at the
 * embedded objects beyond their JSON type: that is the rules' job, and a bad
 * embedded object is a denial, not a 400.
 *
 * The response builders return a malloc'ed, NUL-terminated compact JSON
 * string the caller frees.
 */
#ifndef SC_REVIEW_H
#define SC_REVIEW_H

#include <jansson.h>
#include <stddef.h>

#include "common/sc_err.h"
#include "webhook/whlookup.h"

#define REVIEW_ADMISSION_V1      "admission.k8s.io/v1"
#define REVIEW_ADMISSION_V1BETA1 "admission.k8s.io/v1beta1"
#define REVIEW_CONVERSION_V1     "apiextensions.k8s.io/v1"

struct review_gvr {
    const char *group; /* "" for core */
    const char *version;
    const char *resource;
};

/* A parsed AdmissionReview request.  Every pointer borrows from root and is
 * valid until review_admission_release(). */
struct review_admission {
    json_t *root;            /* owned reference */
    const char *api_version; /* as received: answer in the same version */
    const char *uid;         /* non-empty */
    const char *operation;   /* "CREATE", "UPDATE", "DELETE", "CONNECT" */
    const char *ns;          /* "" when absent */
    const char *name;        /* "" when absent */
    struct review_gvr resource;
    json_t *object;     /* borrowed; NULL when absent or null */
    json_t *old_object; /* borrowed; NULL when absent or null */
};

/* Parse body[0..len).  On error *out is zeroed and err says what is wrong
 * (SC_EINVALID for anything the sender got wrong). */
int review_admission_parse(const char *body, size_t len, struct review_admission *out,
                           struct sc_err *err);
void review_admission_release(struct review_admission *r);

/* Build the AdmissionReview response for r carrying decision d: same
 * apiVersion, uid echoed, "allowed", and for a denial a Status with the
 * message and code. */
int review_admission_respond(const struct review_admission *r, const struct wh_decision *d,
                             char **out, size_t *out_len, struct sc_err *err);
/* The same with response.warnings (n_warnings UTF-8 strings, copied; the
 * field is left out when n_warnings is 0).  kubectl prints each as
 * "Warning: <text>". */
int review_admission_respond_warn(const struct review_admission *r, const struct wh_decision *d,
                                  const char *const *warnings, size_t n_warnings, char **out,
                                  size_t *out_len, struct sc_err *err);

/* A parsed ConversionReview request; pointers borrow from root. */
struct review_conversion {
    json_t *root;        /* owned reference */
    const char *uid;     /* non-empty */
    const char *desired; /* desiredAPIVersion, e.g. "groupsnapshot.storage.k8s.io/v1" */
    json_t *objects;     /* borrowed JSON array (may be empty) */
};

int review_conversion_parse(const char *body, size_t len, struct review_conversion *out,
                            struct sc_err *err);
void review_conversion_release(struct review_conversion *r);

/* Build the ConversionReview response.  converted (an array, borrowed) is
 * used when failure_msg is NULL; otherwise the result is a Failure with that
 * message and no objects. */
int review_conversion_respond(const struct review_conversion *r, json_t *converted,
                              const char *failure_msg, char **out, size_t *out_len,
                              struct sc_err *err);

#endif
