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

#include "common/flags.h"
#include "common/log.h"
#include "kube/kclient.h"
#include "kube/kconfig.h"
#include "webhook/whmetrics.h"
#include "webhook/whroute.h"
#include "webhook/whserver.h"
#include "webhook/whwatch.h"

int
main(int argc, char **argv)
{
    const char *cert = "", *key = "", *kubeconfig = "", *bind = "0.0.0.0", *log_format = "text";
    int port = 8443, verbosity = 0, threads = 4, max_conns = 1000, burst = 10;
    double qps = 5;
    bool version = false;
    int64_t reload_ms = 1000, idle_ms = 15000, read_ms = 10000, drain_ms = 30000;
    const struct flag tab[] = {
        {"tls-cert-file", FLAG_STRING, &cert,
         "PEM certificate served to the API server (may be followed by its chain); reloaded when "
         "it changes"},
        {"tls-private-key-file", FLAG_STRING, &key, "PEM private key of --tls-cert-file"},
        {"port", FLAG_INT, &port, "HTTPS port"},
        {"bind-address", FLAG_STRING, &bind, "IPv4 address to listen on"},
        {"kubeconfig", FLAG_STRING, &kubeconfig,
         "kubeconfig file; empty: $KUBECONFIG, then the in-cluster config"},
        {"kube-api-qps", FLAG_FLOAT, &qps, "API requests per second of the watch client"},
        {"kube-api-burst", FLAG_INT, &burst, "API request burst of the watch client"},
        {"threads", FLAG_INT, &threads, "HTTPS worker threads"},
        {"max-connections", FLAG_INT, &max_conns, "most concurrent connections"},
        {"cert-reload-interval", FLAG_DURATION, &reload_ms,
         "how often the certificate and key files are checked for changes"},
        {"idle-timeout", FLAG_DURATION, &idle_ms,
         "close a connection with no traffic for this long"},
        {"read-timeout", FLAG_DURATION, &read_ms, "longest time to receive one request body"},
        {"drain-timeout", FLAG_DURATION, &drain_ms,
         "longest life of connections on a replaced certificate"},
        {"v", FLAG_INT, &verbosity, "log verbosity"},
        {"log-format", FLAG_STRING, &log_format, "text or json"},
        {"version", FLAG_BOOL, &version, "print the version and exit"},
    };
    struct whserver_opts so;
    struct whserver *srv = NULL;
    struct whwatch *watch = NULL;
    struct kclient_opts ko;
    struct kclient *kc;
    struct kconfig *cfg = NULL;
    struct whmetrics metrics;
    struct whroute route;
    struct sc_err err = {0};
    char ferr[256];
    sigset_t sigs;
    int rc, sig;

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
    if (version) {
        printf("snapshot-webhook %s\n", SC_VERSION);
        return 0;
    }
    if (strcmp(log_format, "text") != 0 && strcmp(log_format, "json") != 0) {
        fprintf(stderr, "invalid value \"%s\" for flag -log-format: want text or json\n",
                log_format);
        return 2;
    }
    log_init("snapshot-webhook", verbosity,
             strcmp(log_format, "json") == 0 ? LOG_FORMAT_JSON : LOG_FORMAT_TEXT);
    if (cert[0] == '\0')
        fatalx("--tls-cert-file must be specified");
    if (key[0] == '\0')
        fatalx("--tls-private-key-file must be specified");
    if (port < 0 || port > 65535 || threads < 1 || threads > 256 || max_conns < 1)
        fatalx("--port, --threads or --max-connections out of range");

    /* Every thread started below inherits the blocked signals; the main
     * thread takes them with sigtimedwait(). */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (kconfig_load(kubeconfig, &cfg, &err) != SC_OK)
        fatalx("cannot load the API server configuration: %s", err.msg);
    kclient_opts_default(&ko);
    ko.qps = qps;
    ko.burst = burst;
    ko.user_agent = "snapshot-webhook/" SC_VERSION;
    kc = kclient_new(cfg, &ko, &err);
    kconfig_free(cfg);
    if (kc == NULL)
        fatalx("cannot create the API client: %s", err.msg);
    if (whwatch_start(kc, &watch, &err) != SC_OK)
        fatalx("cannot start the watch caches: %s", err.msg);

    whmetrics_init(&metrics);
    memset(&route, 0, sizeof(route));
    route.lookup = whwatch_lookup(watch);
    route.metrics = &metrics;
    route.ready = whwatch_ready;
    route.ready_ctx = watch;

    whserver_opts_default(&so);
    so.bind_address = bind;
    so.port = port;
    so.cert_file = cert;
    so.key_file = key;
    so.threads = (unsigned)threads;
    so.max_conns = (unsigned)max_conns;
    so.idle_timeout_s = (unsigned)((idle_ms + 999) / 1000);
    so.read_timeout_ms = read_ms;
    so.cert_poll_ms = reload_ms > 0 ? reload_ms : 1000;
    so.drain_ms = drain_ms;
    so.route = &route;
    if (whserver_start(&so, &srv, &err) != SC_OK)
        fatalx("cannot serve HTTPS: %s", err.msg);
    log_info("serving HTTPS on %s:%d (%d threads, TLS 1.2+)", bind, whserver_port(srv), threads);

    for (;;) {
        struct timespec ts = {1, 0};
        bool ready = whwatch_ready(watch);

        if (ready != (atomic_load(&metrics.ready) != 0)) {
            atomic_store(&metrics.ready, ready ? 1 : 0);
            log_info(ready ? "watch caches synced: ready" : "watch caches lost sync: not ready");
        }
        sig = sigtimedwait(&sigs, NULL, &ts);
        if (sig == SIGINT || sig == SIGTERM)
            break;
    }
    log_info("signal %d: shutting down", sig);
    whserver_stop(srv);
    whwatch_free(watch);
    kclient_free(kc);
    return 0;
}
