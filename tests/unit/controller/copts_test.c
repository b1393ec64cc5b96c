/* The snapshot-controller command line: upstream names, defaults and exit
 * codes (reference §1.1). */
#include <stdio.h>
#include <string.h>

#include "controller/copts.h"
#include "tests/lib/harness.h"

static int
parse(struct copts *o, char *msg, int argc, char **argv)
{
    FILE *devnull = fopen("/dev/null", "w");
    int rc = copts_parse(o, argc, argv, msg, 512, devnull);

    fclose(devnull);
    return rc;
}

#define PARSE(o, msg, ...)                                                                        \
    parse(o, msg, (int)(sizeof((char *[]){"snapshot-controller", __VA_ARGS__}) / sizeof(char *)), \
          (char *[]){"snapshot-controller", __VA_ARGS__})

static void
test_defaults(void)
{
    struct copts o = {0};
    char msg[512] = "";
    char *argv[] = {"snapshot-controller"};

    CHECK_INT(parse(&o, msg, 1, argv), COPTS_RUN);
    CHECK_INT(o.resync_ms, 15 * 60 * 1000);
    CHECK_INT(o.worker_threads, 10);
    CHECK(!o.leader_election);
    CHECK_INT(o.le_lease_ms, 15000);
    CHECK_INT(o.le_renew_ms, 10000);
    CHECK_INT(o.le_retry_ms, 5000);
    CHECK(o.qps == 5.0);
    CHECK_INT(o.burst, 10);
    CHECK_STR(o.http_endpoint, "");
    CHECK_STR(o.metrics_path, "/metrics");
    CHECK_INT(o.retry_start_ms, 1000);
    CHECK_INT(o.retry_max_ms, 300000);
    CHECK(!o.distributed);
    CHECK(o.prevent_volume_mode_conversion);
    CHECK_INT(o.crd_wait_ms, 30000);
    CHECK(o.gate_groups);
    CHECK(!o.gate_release_on_exit);
    CHECK_STR(o.logging_format, "text");
    CHECK_STR(o.state_dir, "/var/lib/snapshot-controller");
    CHECK_INT(o.stuck_threshold_ms, 300000);
}

static void
test_go_flag_semantics(void)
{
    struct copts o = {0};
    char msg[512] = "";

    CHECK_INT(PARSE(&o, msg, "-leader-election=true", "--kube-api-qps", "1000",
                    "--retry-interval-max=1m30s", "--prevent-volume-mode-conversion=false", "-v=5",
                    "--http-endpoint=:8080", "--retry-crd-interval-max=100ms"),
              COPTS_RUN);
    CHECK(o.leader_election);
    CHECK(o.qps == 1000.0);
    CHECK_INT(o.retry_max_ms, 90000);
    CHECK(!o.prevent_volume_mode_conversion);
    CHECK_INT(o.v, 5);
    CHECK_STR(o.http_endpoint, ":8080");
    CHECK_INT(o.crd_wait_ms, 1000); /* upstream's effective minimum */
}

static void
test_exit_codes(void)
{
    struct copts o = {0};
    char msg[512] = "";

    CHECK_INT(PARSE(&o, msg, "--no-such-flag"), COPTS_EXIT2);
    CHECK(strstr(msg, "flag provided but not defined") != NULL);
    CHECK_INT(PARSE(&o, msg, "--alsologtostderr"), COPTS_EXIT2); /* removed klog flag */
    CHECK_INT(PARSE(&o, msg, "--enable-volume-group-snapshots"), COPTS_EXIT2); /* removed in v8.2 */
    CHECK_INT(PARSE(&o, msg, "--resync-period=10"), COPTS_EXIT2);              /* Go wants a unit */
    CHECK_INT(PARSE(&o, msg, "--leader-election", "false"), COPTS_EXIT2);      /* positional */
    CHECK_INT(PARSE(&o, msg, "--feature-gates=NoSuchGate=true"), COPTS_EXIT255);
    CHECK_INT(PARSE(&o, msg, "--feature-gates=CSIVolumeGroupSnapshot=maybe"), COPTS_EXIT255);
    CHECK_INT(PARSE(&o, msg, "--logging-format=xml"), COPTS_EXIT1);
    CHECK_INT(PARSE(&o, msg, "--log-json-split-stream=true"), COPTS_EXIT1);
    CHECK_INT(PARSE(&o, msg, "-h"), COPTS_EXIT0);
}

static void
test_version_after_validation(void)
{
    struct copts o = {0};
    char msg[512] = "";

    CHECK_INT(PARSE(&o, msg, "--version"), COPTS_EXIT0);
    CHECK(strncmp(msg, "snapshot-controller v", 21) == 0);
    /* upstream checks --version after the gates: a bad gate still fails */
    CHECK_INT(PARSE(&o, msg, "--version", "--feature-gates=Bogus=true"), COPTS_EXIT255);
}

static void
test_gates(void)
{
    struct copts o = {0};
    char msg[512] = "";

    CHECK_INT(PARSE(&o, msg,
                    "--feature-gates=CSIVolumeGroupSnapshot=false,"
                    "ReleaseLeaderElectionOnExit=true"),
              COPTS_RUN);
    CHECK(!o.gate_groups);
    CHECK(o.gate_release_on_exit);
    CHECK_INT(PARSE(&o, msg, "--feature-gates=AllAlpha=true,AllBeta=false"), COPTS_RUN);
    CHECK(o.gate_release_on_exit);
    CHECK_INT(PARSE(&o, msg, "--logging-format=json"), COPTS_RUN);
}

/* --stuck-deletion-threshold (ours): Go duration syntax, default 5m, positive. */
static void
test_stuck_deletion_threshold(void)
{
    struct copts o = {0};
    char msg[512] = "";

    CHECK_INT(PARSE(&o, msg, "-v=1"), COPTS_RUN);
    CHECK_INT(o.stuck_threshold_ms, 300000);
    CHECK_INT(PARSE(&o, msg, "--stuck-deletion-threshold=15m"), COPTS_RUN);
    CHECK_INT(o.stuck_threshold_ms, 900000);
    CHECK_INT(PARSE(&o, msg, "--stuck-deletion-threshold", "1h2m3.5s"), COPTS_RUN);
    CHECK_INT(o.stuck_threshold_ms, 3723500);
    CHECK_INT(PARSE(&o, msg, "-stuck-deletion-threshold=90s"), COPTS_RUN);
    CHECK_INT(o.stuck_threshold_ms, 90000);
    CHECK_INT(PARSE(&o, msg, "--stuck-deletion-threshold=300"), COPTS_EXIT2); /* no unit */
    CHECK_INT(PARSE(&o, msg, "--stuck-deletion-threshold=5 minutes"), COPTS_EXIT2);
    CHECK_INT(PARSE(&o, msg, "--stuck-deletion-threshold=0s"), COPTS_EXIT2);
    CHECK(strstr(msg, "stuck-deletion-threshold") != NULL);
    CHECK_INT(PARSE(&o, msg, "--stuck-deletion-threshold=-5m"), COPTS_EXIT2);
    CHECK(strstr(msg, "must be positive") != NULL);
}

TEST_MAIN(TEST(test_defaults), TEST(test_go_flag_semantics), TEST(test_exit_codes),
          TEST(test_version_after_validation), TEST(test_gates),
          TEST(test_stuck_deletion_threshold))
