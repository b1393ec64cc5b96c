/* controller/copts.h -- the snapshot-controller command line: every
 * upstream flag (reference §1.1) with its name, default and meaning, plus
 * our additions --state-dir and --stuck-deletion-threshold (docs/compat.md).
 *
 * copts_parse() never exits: it returns what main should do.  Strings in
 * struct copts point into argv or at static defaults (borrowed).
 */
#ifndef SC_COPTS_H
#define SC_COPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct copts {
    const char *kubeconfig;
    int64_t resync_ms;
    bool version;
    int worker_threads;
    bool leader_election;
    const char *le_namespace;
    int64_t le_lease_ms, le_renew_ms, le_retry_ms;
    double qps;
    int burst;
    const char *http_endpoint;
    const char *metrics_path;
    int64_t retry_start_ms, retry_max_ms;
    bool distributed;
    bool prevent_volume_mode_conversion;
    int64_t crd_wait_ms;
    const char *feature_gates;
    bool automaxprocs;
    int v;
    const char *vmodule;
    const char *logging_format;
    int64_t log_flush_ms;
    bool log_text_split, log_json_split;
    const char *log_text_buf, *log_json_buf;
    const char *state_dir;
    int64_t stuck_threshold_ms; /* --stuck-deletion-threshold (ours; > 0) */
    /* from --feature-gates */
    bool gate_groups;          /* CSIVolumeGroupSnapshot (GA, default true) */
    bool gate_release_on_exit; /* ReleaseLeaderElectionOnExit (alpha, default false) */
};

enum copts_result {
    COPTS_RUN = 0,
    COPTS_EXIT0 = 1,   /* --help or --version: message printed on stdout/stderr */
    COPTS_EXIT1 = 2,   /* invalid logging configuration */
    COPTS_EXIT2 = 3,   /* flag parse error (Go's flag package) */
    COPTS_EXIT255 = 4, /* bad feature gate (klog.Fatal) */
};

/* Parse argv.  msg (cap bytes) receives the error to print.  On --help the
 * usage is printed to out_stream (a FILE *). */
int copts_parse(struct copts *o, int argc, char **argv, char *msg, size_t cap, void *out_stream);

/* Parse "k=v,k2=v2" into the gate fields; 0 or -1 with msg. */
int copts_feature_gates(struct copts *o, const char *spec, char *msg, size_t cap);

#endif
