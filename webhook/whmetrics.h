/* webhook/whmetrics.h -- counters and a latency histogram for /metrics.
 *
 * All updates are lock-free (C11 atomics) so request threads never contend.
 * The label sets are fixed enums, so the exposition is bounded
 * (LIM_METRICS_BODY).  struct whmetrics is owned by main and shared by
 * reference with the server threads.
 */
#ifndef SC_WHMETRICS_H
#define SC_WHMETRICS_H

#include <stdatomic.h>
#include <stdint.h>

#include "common/buf.h"

enum whm_rule {
    WHM_RULE_DEFAULT_CLASS,
    WHM_RULE_DEFAULT_GROUP_CLASS,
    WHM_RULE_REFERENCE_GRANT,
    WHM_RULE_CONVERSION,
    WHM_RULE_ENVELOPE, /* the request itself was refused (4xx or a malformed review) */
    WHM_RULE_WARNINGS, /* /warn-snapshot: always allowed, maybe with warnings */
    WHM_RULE_N
};
enum whm_result { WHM_ALLOWED, WHM_DENIED, WHM_ERROR, WHM_RESULT_N };
enum whm_path {
    WHM_PATH_CLASS,
    WHM_PATH_PVC,
    WHM_PATH_CONVERT,
    WHM_PATH_WARN,
    WHM_PATH_OTHER,
    WHM_PATH_N
};

#define WHM_N_BUCKETS 14
#define WHM_WARN_N    10 /* == WH_WARN_KIND_N (webhook/wh_warn.h; checked in whmetrics.c) */
#define WHM_CACHE_N   4  /* == WH_OBJ_N (webhook/wh_warn.h; checked in whmetrics.c) */

struct whmetrics {
    atomic_uint_fast64_t decisions[WHM_RULE_N][WHM_RESULT_N];
    atomic_uint_fast64_t buckets[WHM_PATH_N][WHM_N_BUCKETS]; /* non-cumulative */
    atomic_uint_fast64_t count[WHM_PATH_N];
    atomic_uint_fast64_t sum_us[WHM_PATH_N];
    atomic_uint_fast64_t cert_reloads[2];      /* [0] success, [1] failure */
    atomic_uint_fast64_t warnings[WHM_WARN_N]; /* by enum wh_warn_kind */
    atomic_uint_fast64_t cached[WHM_CACHE_N];  /* objects in the warnings' caches, by enum wh_obj */
    atomic_int ready;                          /* 1 once the caches synced */
};

void whmetrics_init(struct whmetrics *m);
/* Map the static rule label of a decision ("default-class", ...) to the enum. */
enum whm_rule whmetrics_rule(const char *label);
void whmetrics_decision(struct whmetrics *m, enum whm_rule rule, enum whm_result result);
void whmetrics_latency(struct whmetrics *m, enum whm_path path, int64_t micros);
void whmetrics_cert_reload(struct whmetrics *m, int ok);
/* One admission warning of kind (enum wh_warn_kind) was returned. */
void whmetrics_warning(struct whmetrics *m, int kind);
/* Append the Prometheus text exposition to b (capped by b's max). */
int whmetrics_render(struct whmetrics *m, struct buf *b);

#endif
