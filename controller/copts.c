#include "controller/copts.h"

#include <stdio.h>
#include <string.h>

#include "common/compiler.h"
#include "common/flags.h"
#include "controller/stuck_metrics.h"
#include "state/state.h"

static void
defaults(struct copts *o)
{
    memset(o, 0, sizeof(*o));
    o->kubeconfig = "";
    o->resync_ms = (int64_t)15 * 60 * 1000;
    o->worker_threads = 10;
    o->le_namespace = "";
    o->le_lease_ms = 15000;
    o->le_renew_ms = 10000;
    o->le_retry_ms = 5000;
    o->qps = 5;
    o->burst = 10;
    o->http_endpoint = "";
    o->metrics_path = "/metrics";
    o->retry_start_ms = 1000;
    o->retry_max_ms = (int64_t)5 * 60 * 1000;
    o->prevent_volume_mode_conversion = true;
    o->crd_wait_ms = 30000;
    o->feature_gates = "";
    o->vmodule = "";
    o->logging_format = "text";
    o->log_flush_ms = 5000;
    o->log_text_buf = "";
    o->log_json_buf = "";
    o->state_dir = STATE_DEFAULT_DIR;
    o->stuck_threshold_ms = STUCK_DELETION_THRESHOLD_MS;
    o->gate_groups = true;
}

static bool
gate_bool(const char *v, bool *out)
{
    if (strcmp(v, "true") == 0 || strcmp(v, "True") == 0 || strcmp(v, "TRUE") == 0 ||
        strcmp(v, "1") == 0 || strcmp(v, "t") == 0 || strcmp(v, "T") == 0) {
        *out = true;
        return true;
    }
    if (strcmp(v, "false") == 0 || strcmp(v, "False") == 0 || strcmp(v, "FALSE") == 0 ||
        strcmp(v, "0") == 0 || strcmp(v, "f") == 0 || strcmp(v, "F") == 0) {
        *out = false;
        return true;
    }
    return false;
}

int
copts_feature_gates(struct copts *o, const char *spec, char *msg, size_t cap)
{
    char buf[1024], *save = NULL, *tok;

    if (strlen(spec) >= sizeof(buf)) {
        snprintf(msg, cap, "invalid value of --feature-gates: too long");
        return -1;
    }
    snprintf(buf, sizeof(buf), "%s", spec);
    for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        bool v;

        while (*tok == ' ')
            tok++;
        if (*tok == '\0')
            continue;
        if (eq == NULL) {
            snprintf(msg, cap, "missing bool value for %s", tok);
            return -1;
        }
        *eq = '\0';
        if (!gate_bool(eq + 1, &v)) {
            snprintf(msg, cap,
                     "invalid value of %s=%s, err: strconv.ParseBool: parsing \"%s\": "
                     "invalid syntax",
                     tok, eq + 1, eq + 1);
            return -1;
        }
        if (strcmp(tok, "CSIVolumeGroupSnapshot") == 0)
            o->gate_groups = v; /* GA: false only warns upstream */
        else if (strcmp(tok, "ReleaseLeaderElectionOnExit") == 0)
            o->gate_release_on_exit = v;
        else if (strcmp(tok, "AllAlpha") == 0) {
            if (v)
                o->gate_release_on_exit = true;
        } else if (strcmp(tok, "AllBeta") != 0) {
            snprintf(msg, cap, "unrecognized feature gate: %s", tok);
            return -1;
        }
    }
    return 0;
}

#define COPTS_FLAGS_MAX 40

/* Append the flags of one group to tab at *n. */
static void
add_flags(struct flag *tab, size_t *n, const struct flag *f, size_t nf)
{
    memcpy(tab + *n, f, nf * sizeof(*f));
    *n += nf;
}

/* Client, resync, workers and leader election. */
static void
flags_client(struct copts *o, struct flag *tab, size_t *n)
{
    const struct flag f[] = {
        {"kubeconfig", FLAG_STRING, &o->kubeconfig,
         "Absolute path to the kubeconfig file. Required only when running out of cluster."},
        {"resync-period", FLAG_DURATION, &o->resync_ms, "Resync interval of the controller."},
        {"version", FLAG_BOOL, &o->version, "Show version."},
        {"worker-threads", FLAG_INT, &o->worker_threads, "Number of worker threads."},
        {"leader-election", FLAG_BOOL, &o->leader_election, "Enables leader election."},
        {"leader-election-namespace", FLAG_STRING, &o->le_namespace,
         "The namespace where the leader election resource exists. Defaults to the pod namespace "
         "if not set."},
        {"leader-election-lease-duration", FLAG_DURATION, &o->le_lease_ms,
         "Duration, in seconds, that non-leader candidates will wait to force acquire leadership. "
         "Defaults to 15 seconds."},
        {"leader-election-renew-deadline", FLAG_DURATION, &o->le_renew_ms,
         "Duration, in seconds, that the acting leader will retry refreshing leadership before "
         "giving up. Defaults to 10 seconds."},
        {"leader-election-retry-period", FLAG_DURATION, &o->le_retry_ms,
         "Duration, in seconds, the LeaderElector clients should wait between tries of actions. "
         "Defaults to 5 seconds."},
        {"kube-api-qps", FLAG_FLOAT, &o->qps,
         "QPS to use while communicating with the kubernetes apiserver. Defaults to 5.0."},
        {"kube-api-burst", FLAG_INT, &o->burst,
         "Burst to use while communicating with the kubernetes apiserver. Defaults to 10."},
    };

    add_flags(tab, n, f, SC_ARRAY_LEN(f));
}

/* HTTP endpoint, retries, features and the state cache. */
static void
flags_controller(struct copts *o, struct flag *tab, size_t *n)
{
    const struct flag f[] = {
        {"http-endpoint", FLAG_STRING, &o->http_endpoint,
         "The TCP network address where the HTTP server for diagnostics, including metrics and "
         "leader election health check, will listen (example: `:8080`). The default is empty "
         "string, which means the server is disabled."},
        {"metrics-path", FLAG_STRING, &o->metrics_path,
         "The HTTP path where prometheus metrics will be exposed. Default is `/metrics`."},
        {"retry-interval-start", FLAG_DURATION, &o->retry_start_ms,
         "Initial retry interval of failed volume snapshot creation or deletion. It doubles with "
         "each failure, up to retry-interval-max. Default is 1 second."},
        {"retry-interval-max", FLAG_DURATION, &o->retry_max_ms,
         "Maximum retry interval of failed volume snapshot creation or deletion. Default is 5 "
         "minutes."},
        {"enable-distributed-snapshotting", FLAG_BOOL, &o->distributed,
         "Enables each node to handle snapshotting for the local volumes created on that node"},
        {"prevent-volume-mode-conversion", FLAG_BOOL, &o->prevent_volume_mode_conversion,
         "Prevents an unauthorised user from modifying the volume mode when creating a PVC from an "
         "existing VolumeSnapshot."},
        {"retry-crd-interval-max", FLAG_DURATION, &o->crd_wait_ms,
         "Maximum retry interval to wait for CRDs to appear. The default is 30 seconds."},
        {"feature-gates", FLAG_STRING, &o->feature_gates,
         "A set of key=value pairs that describe feature gates for alpha/experimental features. "
         "Comma-seprated list of key=value pairs: CSIVolumeGroupSnapshot=true|false (GA - default "
         "true), ReleaseLeaderElectionOnExit=true|false (ALPHA - default false)"},
        {"automaxprocs", FLAG_BOOL, &o->automaxprocs,
         "automatically set GOMAXPROCS to match Linux container CPU quota (accepted; C has no "
         "GOMAXPROCS)"},
    };

    add_flags(tab, n, f, SC_ARRAY_LEN(f));
}

/* Upstream's logging flags (component-base). */
static void
flags_logging(struct copts *o, struct flag *tab, size_t *n)
{
    const struct flag f[] = {
        {"v", FLAG_INT, &o->v, "number for the log level verbosity"},
        {"vmodule", FLAG_STRING, &o->vmodule,
         "comma-separated list of pattern=N settings for file-filtered logging (only works for "
         "text log format)"},
        {"logging-format", FLAG_STRING, &o->logging_format,
         "Sets the log format. Permitted formats: \"json\" (gated by LoggingBetaOptions), "
         "\"text\"."},
        {"log-flush-frequency", FLAG_DURATION, &o->log_flush_ms,
         "Maximum number of seconds between log flushes"},
        {"log-text-split-stream", FLAG_BOOL, &o->log_text_split,
         "[Alpha] In text format, write error messages to stderr and info messages to stdout."},
        {"log-text-info-buffer-size", FLAG_STRING, &o->log_text_buf,
         "[Alpha] In text format with split output streams, the info messages can be buffered."},
        {"log-json-split-stream", FLAG_BOOL, &o->log_json_split,
         "[Alpha] In JSON format, write error messages to stderr and info messages to stdout."},
        {"log-json-info-buffer-size", FLAG_STRING, &o->log_json_buf,
         "[Alpha] In JSON format with split output streams, the info messages can be buffered."},
        {"state-dir", FLAG_STRING, &o->state_dir,
         "Directory of the retry and event state cache (state.db); empty keeps it in memory."},
        {"stuck-deletion-threshold", FLAG_DURATION, &o->stuck_threshold_ms,
         "How long an object's deletion must have waited to count in the "
         "snapshot_controller_stuck_deletions metric. Must be positive. Default is 5 minutes."},
    };

    add_flags(tab, n, f, SC_ARRAY_LEN(f));
}

/* What upstream's LoggingConfiguration validation rejects. */
static int
check_logging(const struct copts *o, char *msg, size_t cap)
{
    if (strcmp(o->logging_format, "text") != 0 && strcmp(o->logging_format, "json") != 0) {
        snprintf(msg, cap,
                 "LoggingConfiguration is invalid: format: Invalid value: \"%s\": "
                 "Unsupported log format",
                 o->logging_format);
        return -1;
    }
    if (o->log_text_split || o->log_json_split || o->log_text_buf[0] != '\0' ||
        o->log_json_buf[0] != '\0') {
        snprintf(msg, cap,
                 "LoggingConfiguration is invalid: options: the alpha split-stream and "
                 "info-buffer options are gated by LoggingAlphaOptions, which is disabled");
        return -1;
    }
    if (o->v < 0) {
        snprintf(msg, cap,
                 "LoggingConfiguration is invalid: verbosity: Invalid value: %d: must "
                 "be >= 0",
                 o->v);
        return -1;
    }
    return 0;
}

int
copts_parse(struct copts *o, int argc, char **argv, char *msg, size_t cap, void *out_stream)
{
    struct flag tab[COPTS_FLAGS_MAX] = {{0}};
    size_t n = 0;
    int rc;

    flags_client(o, tab, &n);
    flags_controller(o, tab, &n);
    flags_logging(o, tab, &n);
    defaults(o);
    rc = flags_parse(tab, n, argc, argv, msg, cap);
    if (rc == FLAGS_HELP) {
        flags_usage(tab, n, argv[0], out_stream);
        return COPTS_EXIT0;
    }
    if (rc != FLAGS_OK) {
        flags_usage(tab, n, argv[0], out_stream);
        return COPTS_EXIT2;
    }
    if (check_logging(o, msg, cap) != 0)
        return COPTS_EXIT1;
    if (o->stuck_threshold_ms <= 0) {
        snprintf(msg, cap, "invalid value for --stuck-deletion-threshold: must be positive");
        flags_usage(tab, n, argv[0], out_stream);
        return COPTS_EXIT2;
    }
    if (copts_feature_gates(o, o->feature_gates, msg, cap) != 0)
        return COPTS_EXIT255;
    if (o->version) {
        snprintf(msg, cap, "%s %s", argv[0], SC_VERSION);
        return COPTS_EXIT0;
    }
    if (o->worker_threads < 1)
        o->worker_threads = 1;
    if (o->crd_wait_ms < 1000)
        o->crd_wait_ms = 1000; /* upstream's effective minimum */
    return COPTS_RUN;
}
