/* tests/bench/webhook/slowclient_bench.c -- the slow-client finding, measured.
 *
 * Starts the HTTPS server in process with the production defaults
 * (whserver_opts_default: --max-connections 1000, 4 threads, the default
 * timeouts), then one client opens connections as fast as it can, half of
 * them with a TLS handshake that never finishes and half with HTTP headers
 * that never finish, until it holds MAX_CONNS of them (or the server stops
 * accepting).  A legitimate admission review is then sent on a fresh
 * connection, ROUNDS times, and its latency printed.  Figures only.
 *
 * Usage: slowclient_bench [MAX_CONNS] [ROUNDS] [HEADER_TIMEOUT_MS] [HOLD]
 * (HOLD: connections the client holds, default MAX_CONNS; fewer shows the
 * cost of the held connections without any eviction.)
 * (HEADER_TIMEOUT_MS default: the production default; a large value measures
 * the slot policy alone, with the attacker never losing a slot to the
 * deadline.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/webhook/fixtures.h"
#include "tests/unit/webhook/slowclient.h"
#include "webhook/whserver.h"

int
main(int argc, char **argv)
{
    unsigned max = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 1000;
    int rounds = argc > 2 ? atoi(argv[2]) : 3;
    struct whserver_opts o = {0};
    struct whserver *srv = NULL;
    struct fx_lookup fx = {0};
    struct whmetrics m = {0};
    struct whroute rt = {0};
    struct sc_err err = {0};
    char crt[512], key[512];
    struct slow_conn *held = calloc(max, sizeof(*held));
    SSL_CTX *ctx = slow_ctx();
    char *body = NULL;
    unsigned opened = 0, hold = argc > 4 ? (unsigned)strtoul(argv[4], NULL, 10) : max;
    int64_t t0;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    fx_cert_path(crt, sizeof(crt), "a.crt");
    fx_cert_path(key, sizeof(key), "a.key");
    rt.lookup = fx_lookup_init(&fx);
    whmetrics_init(&m);
    rt.metrics = &m;
    body = fx_text("admission/vsclass-create.json", NULL);
    whserver_opts_default(&o);
    o.bind_address = "127.0.0.1";
    o.port = 0;
    o.cert_file = crt;
    o.key_file = key;
    o.max_conns = max;
    if (argc > 3)
        o.header_timeout_ms = strtoll(argv[3], NULL, 10);
    o.route = &rt;
    if (held == NULL || ctx == NULL || body == NULL || whserver_start(&o, &srv, &err) != SC_OK) {
        fprintf(stderr, "cannot start: %s\n", err.msg);
        return 1;
    }
    {
        int64_t us = 0;
        long st = slow_review(whserver_port(srv), crt, body, 30000, &us);

        printf("idle server: review status %ld in %.1f ms\n", st, (double)us / 1000.0);
    }
    t0 = slow_now_us();
    if (hold > max)
        hold = max;
    for (opened = 0; opened < hold; opened++)
        if (slow_open(&held[opened], ctx, whserver_port(srv),
                      opened % 4 == 3 ? SLOW_HTTP_HEADER : SLOW_TLS_HELLO) != 0) {
            slow_close(&held[opened]);
            break;
        }
    printf("held %u of %u connection slots with unfinished headers in %.1f s\n", opened, max,
           (double)(slow_now_us() - t0) / 1e6);
    for (int r = 0; r < rounds; r++) {
        int64_t us = 0;
        long st;
        unsigned reopened = 0, closed = 0;
        struct slow_timing t = {0};

        /* The attacker reopens what the server closed, as a real one would. */
        for (unsigned i = 0; i < opened; i++)
            if (slow_closed(&held[i])) {
                slow_close(&held[i]);
                reopened += slow_open(&held[i], ctx, whserver_port(srv), SLOW_TLS_HELLO) == 0;
            }
        st = slow_review_t(whserver_port(srv), crt, body, 30000, &us, &t);
        for (unsigned i = 0; i < opened; i++)
            closed += (unsigned)slow_closed(&held[i]);
        printf("round %d: %u slots reopened; review status %ld in %.1f ms (TCP connected %.1f, "
               "TLS done %.1f, first byte %.1f); %u held connections closed by the server "
               "meanwhile\n",
               r + 1, reopened, st, (double)us / 1000.0, (double)t.connect_us / 1000.0,
               (double)t.tls_us / 1000.0, (double)t.first_byte_us / 1000.0, closed);
    }
    {
        struct whserver_stats st = {0};

        whserver_stats(srv, &st);
        printf("server: %llu accepted, %llu evicted for a newcomer, %llu closed at the header "
               "deadline, %u live\n",
               st.accepted, st.evictions, st.header_timeouts, st.live);
    }
    for (unsigned i = 0; i < opened; i++)
        slow_close(&held[i]);
    whserver_stop(srv);
    fx_lookup_release(&fx);
    SSL_CTX_free(ctx);
    free(held);
    free(body);
    curl_global_cleanup();
    return 0;
}
