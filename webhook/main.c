/* webhook/main.c -- snapshot-webhook: admission (default classes,
 * ReferenceGrant) and CRD conversion over HTTPS.  Flags, wiring and the
 * signal loop; the only place with process-wide objects. */
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>

#include "common/flags.h"
#include "common/log.h"
#include "common/thread.h"
#include "kube/kclient.h"
#include "kube/kconfig.h"
#include "webhook/wharena.h"
#include "webhook/whmetrics.h"
#include "webhook/whroute.h"
#include "webhook/whserver.h"
#include "webhook/whwatch.h"

#define WH_THREADS_AUTO_MAX 4 /* --threads=0 (the default): one per CPU, at most this */

struct opts {
    const char *cert, *key, *kubeconfig, *bind, *log_format;
    int port, verbosity, threads, max_conns, burst;
    double qps;
    bool version;
    int64_t reload_ms, idle_ms, read_ms, drain_ms, header_ms;
};

/* Returns -1 to go on, else the exit code. */
static int
parse_flags(int argc, char **argv, struct opts *o)
{
    const struct flag tab[] = {
        {"tls-cert-file", FLAG_STRING, &o->cert,
         "PEM certificate served to the API server (may be followed by its chain); reloaded when "
         "it changes"},
        {"tls-private-key-file", FLAG_STRING, &o->key, "PEM private key of --tls-cert-file"},
        {"port", FLAG_INT, &o->port, "HTTPS port"},
        {"bind-address", FLAG_STRING, &o->bind, "IPv4 address to listen on"},
        {"kubeconfig", FLAG_STRING, &o->kubeconfig,
         "kubeconfig file; empty: $KUBECONFIG, then the in-cluster config"},
        {"kube-api-qps", FLAG_FLOAT, &o->qps, "API requests per second of the watch client"},
        {"kube-api-burst", FLAG_INT, &o->burst, "API request burst of the watch client"},
        {"threads", FLAG_INT, &o->threads,
         "HTTPS worker threads; 0: one for each CPU this process may run on, at most 4"},
        {"max-connections", FLAG_INT, &o->max_conns, "most concurrent connections"},
        {"cert-reload-interval", FLAG_DURATION, &o->reload_ms,
         "how often the certificate and key files are checked for changes"},
        {"idle-timeout", FLAG_DURATION, &o->idle_ms,
         "close a connection with no traffic for this long"},
        {"read-timeout", FLAG_DURATION, &o->read_ms, "longest time to receive one request body"},
        {"header-timeout", FLAG_DURATION, &o->header_ms,
         "close a new connection that has not finished its TLS handshake and request headers "
         "within this time (0: never)"},
        {"drain-timeout", FLAG_DURATION, &o->drain_ms,
         "longest life of connections on a replaced certificate"},
        {"v", FLAG_INT, &o->verbosity, "log verbosity"},
        {"log-format", FLAG_STRING, &o->log_format, "text or json"},
        {"version", FLAG_BOOL, &o->version, "print the version and exit"},
    };
    char ferr[256];
    int rc;

    rc = flags_parse(tab, SC_ARRAY_LEN(tab), argc, argv, ferr, sizeof(ferr));
    if (rc == FLAGS_HELP) {
        flags_usage(tab, SC_ARRAY_LEN(tab), "snapshot-webhook", stdout);
        return 0;
    }
    if (rc != FLAGS_OK) {
        fprintf(stderr, "%s\n", ferr);
        flags_usage(tab, SC_ARRAY_LEN(tab), "snapshot-webhook", stderr);
        return 2;
    }
    if (o->version) {
        printf("snapshot-webhook %s\n", SC_VERSION);
        return 0;
    }
    if (strcmp(o->log_format, "text") != 0 && strcmp(o->log_format, "json") != 0) {
        fprintf(stderr, "invalid value \"%s\" for flag -log-format: want text or json\n",
                o->log_format);
        return 2;
    }
    return -1;
}

static void
check_opts(const struct opts *o)
{
    if (o->cert[0] == '\0')
        fatalx("--tls-cert-file must be specified");
    if (o->key[0] == '\0')
        fatalx("--tls-private-key-file must be specified");
    if (o->port < 0 || o->port > 65535 || o->threads < 0 || o->threads > 256 || o->max_conns < 1 ||
        o->max_conns > 1000000)
        fatalx("--port, --threads or --max-connections out of range");
    if (o->header_ms < 0)
        fatalx("--header-timeout must not be negative");
}

static struct kclient *
api_client(const struct opts *o)
{
    struct kclient_opts ko = {0};
    struct kconfig *cfg = NULL;
    struct kclient *kc = NULL;
    struct sc_err err = {0};

    if (kconfig_load(o->kubeconfig, &cfg, &err) != SC_OK)
        fatalx("cannot load the API server configuration: %s", err.msg);
    kclient_opts_default(&ko);
    ko.qps = o->qps;
    ko.burst = o->burst;
    ko.user_agent = "snapshot-webhook/" SC_VERSION;
    kc = kclient_new(cfg, &ko, &err);
    kconfig_free(cfg);
    if (kc == NULL)
        fatalx("cannot create the API client: %s", err.msg);
    return kc;
}

static void
server_opts(const struct opts *o, const struct whroute *route, struct whserver_opts *so)
{
    whserver_opts_default(so);
    so->bind_address = o->bind;
    so->port = o->port;
    so->cert_file = o->cert;
    so->key_file = o->key;
    so->threads = (unsigned)o->threads;
    so->max_conns = (unsigned)o->max_conns;
    so->idle_timeout_s = (unsigned)((o->idle_ms + 999) / 1000);
    so->read_timeout_ms = o->read_ms;
    so->cert_poll_ms = o->reload_ms > 0 ? o->reload_ms : 1000;
    so->drain_ms = o->drain_ms;
    so->header_timeout_ms = o->header_ms;
    so->route = route;
}

/* Until SIGINT/SIGTERM: keep the ready gauge current. Returns the signal. */
static int
wait_for_signal(const sigset_t *sigs, struct whwatch *watch, struct whmetrics *metrics)
{
    for (;;) {
        struct timespec ts = {1, 0};
        bool ready = whwatch_ready(watch);
        size_t counts[WH_OBJ_N] = {0};
        int sig;

        whwatch_counts(watch, counts); /* the warnings' caches (issue 16) */
        for (int i = 0; i < WH_OBJ_N; i++)
            atomic_store(&metrics->cached[i], counts[i]);

        if (ready != (atomic_load(&metrics->ready) != 0)) {
            atomic_store(&metrics->ready, ready ? 1 : 0);
            log_info(ready ? "watch caches synced: ready" : "watch caches lost sync: not ready");
        }
        sig = sigtimedwait(sigs, NULL, &ts);
        if (sig == SIGINT || sig == SIGTERM)
            return sig;
    }
}

/* libmicrohttpd calls this on an internal error it cannot recover from; the
 * default prints to stderr and aborts.  Log it through our logger (one
 * line, JSON when asked) before aborting, so the pod log says why. */
static void
mhd_panic(void *cls, const char *file, unsigned int line, const char *reason)
{
    (void)cls;
    log_error("libmicrohttpd panic at %s:%u: %s", file ? file : "?", line,
              reason ? reason : "(no reason)");
    abort();
}

int
main(int argc, char **argv)
{
    struct opts o = {.cert = "",
                     .key = "",
                     .kubeconfig = "",
                     .bind = "0.0.0.0",
                     .log_format = "text",
                     .port = 8443,
                     .threads = 0, /* one per CPU, at most WH_THREADS_AUTO_MAX */
                     .max_conns = 1000,
                     .burst = 10,
                     .qps = 5,
                     .reload_ms = 1000,
                     .idle_ms = 15000,
                     .read_ms = 10000,
                     .drain_ms = 30000,
                     .header_ms = 3000};
    struct whserver_opts so = {0};
    struct whserver *srv = NULL;
    struct whwatch *watch = NULL;
    struct kclient *kc = NULL;
    struct whmetrics metrics = {0};
    struct whroute route = {0};
    struct sc_err err = {0};
    sigset_t sigs;
    int rc, sig;

    wharena_install(); /* before anything allocates through jansson */
    rc = parse_flags(argc, argv, &o);
    if (rc >= 0)
        return rc;
    log_init("snapshot-webhook", o.verbosity,
             strcmp(o.log_format, "json") == 0 ? LOG_FORMAT_JSON : LOG_FORMAT_TEXT);
    check_opts(&o);
    if (o.threads == 0) /* more threads than CPUs only add switches: docs/webhook.md */
        o.threads = thread_cpus() < WH_THREADS_AUTO_MAX ? thread_cpus() : WH_THREADS_AUTO_MAX;
    MHD_set_panic_func(mhd_panic, NULL);

    /* Every thread started below inherits the blocked signals; the main
     * thread takes them with sigtimedwait(). */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    kc = api_client(&o);
    if (whwatch_start(kc, &watch, &err) != SC_OK)
        fatalx("cannot start the watch caches: %s", err.msg);
    whmetrics_init(&metrics);
    memset(&route, 0, sizeof(route));
    route.lookup = whwatch_lookup(watch);
    route.warn = whwatch_warn_lookup(watch); /* /warn-snapshot (issue 16) */
    route.metrics = &metrics;
    route.ready = whwatch_ready;
    route.ready_ctx = watch;
    server_opts(&o, &route, &so);
    if (whserver_start(&so, &srv, &err) != SC_OK)
        fatalx("cannot serve HTTPS: %s", err.msg);
    log_info("serving HTTPS on %s:%d (%d threads, TLS 1.2+)", o.bind, whserver_port(srv),
             o.threads);

    sig = wait_for_signal(&sigs, watch, &metrics);
    log_info("signal %d: shutting down", sig);
    whserver_stop(srv);
    whwatch_free(watch);
    kclient_free(kc);
    return 0;
}
