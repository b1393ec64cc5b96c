/* webhook/whroute.c -- routing and envelopes of every endpoint. */
#include "webhook/whroute.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"
#include "common/log.h"
#include "webhook/review.h"
#include "webhook/wh_classes.h"
#include "webhook/wh_convert.h"
#include "webhook/wh_dataref.h"

static void set_text(struct whroute_resp *out, int status, const char *fmt, ...) SC_PRINTF(3, 4);

static void
set_text(struct whroute_resp *out, int status, const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    out->content_type = "text/plain; charset=utf-8";
    if (n < 0) {
        out->status = 500;
        out->body = strdup("out of memory\n");
        out->len = out->body ? strlen(out->body) : 0;
        return;
    }
    out->status = status;
    out->body = s;
    out->len = (size_t)n;
}

static void
set_json(struct whroute_resp *out, char *s, size_t len)
{
    out->status = 200;
    out->body = s;
    out->len = len;
    out->content_type = "application/json";
}

enum whm_path
whroute_path(const char *url)
{
    if (strcmp(url, "/validate-class") == 0)
        return WHM_PATH_CLASS;
    if (strcmp(url, "/validate-pvc") == 0)
        return WHM_PATH_PVC;
    if (strcmp(url, "/convert") == 0)
        return WHM_PATH_CONVERT;
    if (strcmp(url, "/warn-snapshot") == 0)
        return WHM_PATH_WARN;
    return WHM_PATH_OTHER;
}

static bool
json_content_type(const char *ct)
{
    if (ct == NULL)
        return false;
    return strcmp(ct, "application/json") == 0 ||
           strcasecmp(ct, "application/json; charset=utf-8") == 0;
}

static void
envelope_error(const struct whroute *rt, struct whroute_resp *out, int status, const char *msg)
{
    whmetrics_decision(rt->metrics, WHM_RULE_ENVELOPE, WHM_ERROR);
    set_text(out, status, "%s\n", msg);
}

/* /warn-snapshot: allowed, with the warnings wh_warn_review() finds. */
static int
warn_respond(const struct whroute *rt, const struct review_admission *r, char **s, size_t *n,
             struct sc_err *err)
{
    struct wh_warnings w = {0};
    struct wh_decision d = {0};
    const char *msgs[WH_WARN_MAX];

    d.allowed = true;
    d.rule = WH_WARN_RULE;
    if (rt->warn.get != NULL)
        wh_warn_review(r, &rt->warn, &w);
    for (size_t i = 0; i < w.n; i++) {
        msgs[i] = w.msg[i];
        whmetrics_warning(rt->metrics, (int)w.kind[i]);
        log_debug(2, "warning on %s %s/%s (uid %s): %s", r->resource.resource, r->ns, r->name,
                  r->uid, w.msg[i]);
    }
    whmetrics_decision(rt->metrics, WHM_RULE_WARNINGS, WHM_ALLOWED);
    return review_admission_respond_warn(r, &d, msgs, w.n, s, n, err);
}

static void
admission(const struct whroute *rt, enum whm_path path, const char *body, size_t len,
          struct whroute_resp *out)
{
    struct review_admission r = {0};
    struct wh_decision d = {0};
    struct sc_err err = {0};
    char *s;
    size_t n;
    int rc;

    rc = review_admission_parse(body, len, &r, &err);
    if (rc != SC_OK) {
        envelope_error(rt, out, rc == SC_ETOOBIG ? 413 : 400, err.msg);
        return;
    }
    if (path == WHM_PATH_WARN) {
        rc = warn_respond(rt, &r, &s, &n, &err);
        review_admission_release(&r);
        if (rc != SC_OK)
            set_text(out, 500, "%s\n", err.msg);
        else
            set_json(out, s, n);
        return;
    }
    if (path == WHM_PATH_CLASS)
        wh_classes_review(&r, &rt->lookup, &d);
    else
        wh_dataref_review(&r, &rt->lookup, &d);
    whmetrics_decision(rt->metrics, whmetrics_rule(d.rule),
                       d.allowed ? WHM_ALLOWED : (d.code >= 500 ? WHM_ERROR : WHM_DENIED));
    if (!d.allowed)
        log_debug(2, "denied %s %s %s/%s (uid %s): %s", r.operation, r.resource.resource, r.ns,
                  r.name, r.uid, d.msg);
    rc = review_admission_respond(&r, &d, &s, &n, &err);
    review_admission_release(&r);
    if (rc != SC_OK) {
        set_text(out, 500, "%s\n", err.msg);
        return;
    }
    set_json(out, s, n);
}

static void
conversion(const struct whroute *rt, const char *body, size_t len, struct whroute_resp *out)
{
    struct review_conversion r = {0};
    struct sc_err err = {0};
    json_t *converted = NULL;
    char *s;
    size_t n;
    int rc;

    rc = review_conversion_parse(body, len, &r, &err);
    if (rc != SC_OK) {
        envelope_error(rt, out, rc == SC_ETOOBIG ? 413 : 400, err.msg);
        return;
    }
    rc = wh_convert_all(r.objects, r.desired, &err);
    whmetrics_decision(rt->metrics, WHM_RULE_CONVERSION, rc == SC_OK ? WHM_ALLOWED : WHM_DENIED);
    if (rc != SC_OK)
        log_debug(2, "conversion %s to %s failed: %s", r.uid, r.desired, err.msg);
    else
        converted = r.objects; /* converted in place */
    rc = review_conversion_respond(&r, converted, rc == SC_OK ? NULL : err.msg, &s, &n, &err);
    review_conversion_release(&r);
    if (rc != SC_OK) {
        set_text(out, 500, "%s\n", err.msg);
        return;
    }
    set_json(out, s, n);
}

void
whroute_handle(const struct whroute *rt, const char *method, const char *url,
               const char *content_type, const char *body, size_t len, struct whroute_resp *out)
{
    enum whm_path path = whroute_path(url);
    bool is_get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;

    memset(out, 0, sizeof(*out));
    if (strcmp(url, "/healthz") == 0 || strcmp(url, "/readyz") == 0 ||
        strcmp(url, "/metrics") == 0) {
        if (!is_get) {
            set_text(out, 405, "method %s not allowed on %s\n", method, url);
            return;
        }
        if (strcmp(url, "/healthz") == 0) {
            set_text(out, 200, "ok");
        } else if (strcmp(url, "/readyz") == 0) {
            if (rt->ready == NULL || rt->ready(rt->ready_ctx))
                set_text(out, 200, "ok");
            else
                set_text(out, 503, "not ready: the watch caches have not synced\n");
        } else {
            struct buf b = {0};

            buf_init(&b, LIM_METRICS_BODY);
            if (whmetrics_render(rt->metrics, &b) != SC_OK) {
                buf_release(&b);
                set_text(out, 500, "metrics exceed %u bytes\n", (unsigned)LIM_METRICS_BODY);
                return;
            }
            out->status = 200;
            out->len = b.len;
            out->body = buf_detach(&b);
            out->content_type = "text/plain; version=0.0.4; charset=utf-8";
        }
        return;
    }
    if (path == WHM_PATH_OTHER) {
        set_text(out, 404, "no such endpoint: %s\n", url);
        return;
    }
    if (strcmp(method, "POST") != 0) {
        set_text(out, 405, "method %s not allowed on %s: use POST\n", method, url);
        return;
    }
    if (!json_content_type(content_type)) {
        whmetrics_decision(rt->metrics, WHM_RULE_ENVELOPE, WHM_ERROR);
        set_text(out, 415, "contentType=%s, expect application/json\n",
                 content_type ? content_type : "(none)");
        return;
    }
    if (len > LIM_ADMISSION_BODY) {
        envelope_error(rt, out, 413, "request body too large");
        return;
    }
    if (path == WHM_PATH_CONVERT)
        conversion(rt, body, len, out);
    else
        admission(rt, path, body, len, out);
}
