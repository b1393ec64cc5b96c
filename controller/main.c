/* controller/main.c -- snapshot-controller: flags, logging, signals, and one
 * struct ctrl.  Exit codes follow upstream: 0 (--version, -h), 1 (bad
 * config, CRDs missing, invalid logging config, lost lease), 2 (flag
 * error), 255 (bad feature gate, HTTP listen failure). */
#include <curl/curl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "controller/copts.h"
#include "controller/ctrl.h"
#include "kube/karena.h"

/* The exit status copts_parse asks for (its message printed), or -1 to run. */
static int
flags_exit(int rc, const char *msg)
{
    switch (rc) {
    case COPTS_EXIT0:
        if (msg[0] != '\0')
            printf("%s\n", msg);
        return 0;
    case COPTS_EXIT1:
        fprintf(stderr, "%s\n", msg);
        return 1;
    case COPTS_EXIT2:
        fprintf(stderr, "%s\n", msg);
        return 2;
    case COPTS_EXIT255:
        fprintf(stderr, "%s\n", msg);
        return 255;
    default:
        return -1;
    }
}

/* Logging, malloc arenas, signals (blocked in every thread: main waits for
 * them), libcurl. */
static void
process_setup(const struct copts *o, sigset_t *set)
{
    log_init("snapshot-controller", o->v,
             strcmp(o->logging_format, "json") == 0 ? LOG_FORMAT_JSON : LOG_FORMAT_TEXT);
    if (!o->gate_groups)
        log_warnx("feature gate CSIVolumeGroupSnapshot is GA; setting it to false is deprecated");
    log_info("version: %s", SC_VERSION);
    /* workers and informers allocate from many threads: a few malloc arenas
     * keep freed list pages reusable instead of stranding them per thread */
    mallopt(M_ARENA_MAX, 2);
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

int
main(int argc, char **argv)
{
    struct copts o = {0};
    struct sc_err err = {0};
    struct ctrl *c = NULL;
    char msg[1024] = "";
    sigset_t set;
    int sig, rc;

    /* jansson's trees in per-event and per-sync arenas (kube/karena.h),
     * before anything allocates through jansson */
    karena_install();
    rc = flags_exit(copts_parse(&o, argc, argv, msg, sizeof(msg), stderr), msg);
    if (rc >= 0)
        return rc;
    process_setup(&o, &set);
    sc_err_clear(&err);
    c = ctrl_new(&o, &err);
    if (c == NULL) {
        log_error("cannot build the controller: %s", err.msg);
        return 1;
    }
    if (ctrl_wait_crds(c, &err) != 0) {
        log_error("%s", err.msg);
        ctrl_free(c);
        return 1;
    }
    rc = ctrl_start(c, &err);
    if (rc != 0) {
        log_error("cannot start: %s", err.msg);
        ctrl_free(c);
        return rc == SC_EIO || rc == SC_EINVALID ? 255 : 1;
    }
    sigwait(&set, &sig);
    log_info("received %s, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    ctrl_stop(c, o.gate_release_on_exit);
    ctrl_free(c);
    curl_global_cleanup();
    return 0;
}
