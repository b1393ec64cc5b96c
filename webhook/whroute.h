/* webhook/whroute.h -- one HTTP request in, one response out.
 *
 * The routing and envelope checks of every endpoint, independent of the
 * socket layer so unit tests call it directly:
 *   GET  /healthz          200 "ok"
 *   GET  /readyz           200 "ok" once ready(), else 503
 *   GET  /metrics          Prometheus text
 *   POST /validate-class   AdmissionReview: default-class rule
 *   POST /validate-pvc     AdmissionReview: ReferenceGrant rule
 *   POST /warn-snapshot    AdmissionReview: always allowed, with the warnings of
 *                          webhook/wh_warn.h for VolumeSnapshot and
 *                          VolumeGroupSnapshot CREATE
 *   POST /convert          ConversionReview
 * A POST body must have Content-Type application/json (exactly, as
 * upstream; "application/json; charset=utf-8" is also accepted), else 415;
 * a body that is not a well-formed review is 400 with the reason; a body
 * over LIM_ADMISSION_BODY is 413 (the server enforces that while reading).
 * Unknown paths are 404, wrong methods 405.
 */
#ifndef SC_WHROUTE_H
#define SC_WHROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "webhook/wh_warn.h"
#include "webhook/whlookup.h"
#include "webhook/whmetrics.h"

struct whroute {
    struct wh_lookup lookup;
    struct wh_warn_lookup warn; /* .get == NULL: /warn-snapshot answers with no warnings */
    struct whmetrics *metrics;  /* borrowed */
    bool (*ready)(void *ctx);
    void *ready_ctx;
};

struct whroute_resp {
    int status;
    char *body; /* malloc'ed, NUL-terminated; free() it */
    size_t len;
    const char *content_type; /* static */
};

/* Never fails: allocation failures become a 500 with a static body copy. */
void whroute_handle(const struct whroute *rt, const char *method, const char *url,
                    const char *content_type, const char *body, size_t len,
                    struct whroute_resp *out);

/* Which metrics path an URL belongs to. */
enum whm_path whroute_path(const char *url);

#endif
