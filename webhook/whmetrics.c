/* webhook/whmetrics.c -- counters and a latency histogram for /metrics. */
#include "webhook/whmetrics.h"

#include <string.h>

#include "common/sc_err.h"
#include "webhook/wh_warn.h"

_Static_assert(WHM_WARN_N == WH_WARN_KIND_N, "WHM_WARN_N must match enum wh_warn_kind");
_Static_assert(WHM_CACHE_N == WH_OBJ_N, "WHM_CACHE_N must match enum wh_obj");
static const char *const cache_names[WHM_CACHE_N] = {"PersistentVolumeClaim", "PersistentVolume",
                                                     "StorageClass", "VolumeSnapshotContent"};

static const char *const rule_names[WHM_RULE_N] = {"default-class",   "default-group-class",
                                                   "reference-grant", "conversion",
                                                   "envelope",        WH_WARN_RULE};
static const char *const result_names[WHM_RESULT_N] = {"allowed", "denied", "error"};
static const char *const path_names[WHM_PATH_N] = {"/validate-class", "/validate-pvc", "/convert",
                                                   "/warn-snapshot", "other"};
/* Upper bounds in microseconds; the last bucket is +Inf. */
static const int64_t bucket_us[WHM_N_BUCKETS - 1] = {
    100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000, 2500000};

void
whmetrics_init(struct whmetrics *m)
{
    memset(m, 0, sizeof(*m));
}

enum whm_rule
whmetrics_rule(const char *label)
{
    for (int i = 0; i < WHM_RULE_N; i++)
        if (label != NULL && strcmp(label, rule_names[i]) == 0)
            return (enum whm_rule)i;
    return WHM_RULE_ENVELOPE;
}

void
whmetrics_decision(struct whmetrics *m, enum whm_rule rule, enum whm_result result)
{
    if (rule < WHM_RULE_N && result < WHM_RESULT_N)
        atomic_fetch_add_explicit(&m->decisions[rule][result], 1, memory_order_relaxed);
}

void
whmetrics_latency(struct whmetrics *m, enum whm_path path, int64_t micros)
{
    int b = 0;

    if (path >= WHM_PATH_N)
        path = WHM_PATH_OTHER;
    if (micros < 0)
        micros = 0;
    while (b < WHM_N_BUCKETS - 1 && micros > bucket_us[b])
        b++;
    atomic_fetch_add_explicit(&m->buckets[path][b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->count[path], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->sum_us[path], (uint_fast64_t)micros, memory_order_relaxed);
}

void
whmetrics_cert_reload(struct whmetrics *m, int ok)
{
    atomic_fetch_add_explicit(&m->cert_reloads[ok ? 0 : 1], 1, memory_order_relaxed);
}

void
whmetrics_warning(struct whmetrics *m, int kind)
{
    if (kind >= 0 && kind < WHM_WARN_N)
        atomic_fetch_add_explicit(&m->warnings[kind], 1, memory_order_relaxed);
}

int
whmetrics_render(struct whmetrics *m, struct buf *b)
{
    int rc = SC_OK;

    rc |= buf_adds(b, "# HELP snapshot_webhook_admission_decisions_total Admission and "
                      "conversion decisions by rule and result.\n"
                      "# TYPE snapshot_webhook_admission_decisions_total counter\n");
    for (int r = 0; r < WHM_RULE_N; r++)
        for (int s = 0; s < WHM_RESULT_N; s++)
            rc |= buf_addf(b,
                           "snapshot_webhook_admission_decisions_total{rule=\"%s\",result=\"%s\"} "
                           "%llu\n",
                           rule_names[r], result_names[s],
                           (unsigned long long)atomic_load(&m->decisions[r][s]));
    rc |= buf_adds(b, "# HELP snapshot_webhook_request_duration_seconds Time to answer a "
                      "request, by path.\n"
                      "# TYPE snapshot_webhook_request_duration_seconds histogram\n");
    for (int p = 0; p < WHM_PATH_N; p++) {
        unsigned long long cum = 0;

        for (int i = 0; i < WHM_N_BUCKETS; i++) {
            cum += (unsigned long long)atomic_load(&m->buckets[p][i]);
            if (i < WHM_N_BUCKETS - 1)
                rc |= buf_addf(b,
                               "snapshot_webhook_request_duration_seconds_bucket{path=\"%s\","
                               "le=\"%g\"} %llu\n",
                               path_names[p], (double)bucket_us[i] / 1e6, cum);
            else
                rc |= buf_addf(b,
                               "snapshot_webhook_request_duration_seconds_bucket{path=\"%s\","
                               "le=\"+Inf\"} %llu\n",
                               path_names[p], cum);
        }
        rc |= buf_addf(b, "snapshot_webhook_request_duration_seconds_sum{path=\"%s\"} %.6f\n",
                       path_names[p], (double)atomic_load(&m->sum_us[p]) / 1e6);
        rc |= buf_addf(b, "snapshot_webhook_request_duration_seconds_count{path=\"%s\"} %llu\n",
                       path_names[p], (unsigned long long)atomic_load(&m->count[p]));
    }
    rc |= buf_addf(b,
                   "# HELP snapshot_webhook_cert_reloads_total Certificate reloads by result.\n"
                   "# TYPE snapshot_webhook_cert_reloads_total counter\n"
                   "snapshot_webhook_cert_reloads_total{result=\"success\"} %llu\n"
                   "snapshot_webhook_cert_reloads_total{result=\"failure\"} %llu\n"
                   "# HELP snapshot_webhook_ready 1 once the watch caches have synced.\n"
                   "# TYPE snapshot_webhook_ready gauge\n"
                   "snapshot_webhook_ready %d\n",
                   (unsigned long long)atomic_load(&m->cert_reloads[0]),
                   (unsigned long long)atomic_load(&m->cert_reloads[1]), atomic_load(&m->ready));
    rc |= buf_adds(b, "# HELP snapshot_webhook_admission_warnings_total Warnings returned on "
                      "snapshot and group snapshot creation, by kind.\n"
                      "# TYPE snapshot_webhook_admission_warnings_total counter\n");
    for (int k = 0; k < WHM_WARN_N; k++)
        rc |= buf_addf(b, "snapshot_webhook_admission_warnings_total{warning=\"%s\"} %llu\n",
                       wh_warn_kind_name((enum wh_warn_kind)k),
                       (unsigned long long)atomic_load(&m->warnings[k]));
    rc |= buf_adds(b, "# HELP snapshot_webhook_cached_objects Objects in the caches of the "
                      "warnings, by kind.\n"
                      "# TYPE snapshot_webhook_cached_objects gauge\n");
    for (int k = 0; k < WHM_CACHE_N; k++)
        rc |= buf_addf(b, "snapshot_webhook_cached_objects{kind=\"%s\"} %llu\n", cache_names[k],
                       (unsigned long long)atomic_load(&m->cached[k]));
    return rc == SC_OK ? SC_OK : SC_ETOOBIG;
}
