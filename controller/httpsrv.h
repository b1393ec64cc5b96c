/* controller/httpsrv.h -- the --http-endpoint server (plain HTTP,
 * one thread polling the listener and up to LIM_HTTP_CONNS connections;
 * one request per connection, answered with "Connection: close"; a request
 * head over LIM_HTTP_REQUEST_HEAD bytes gets 431; a client that has not sent
 * its head and read the reply within 15 s is dropped):
 *   <metrics-path>           Prometheus text (handlers.metrics)
 *   /healthz                 200 "ok" while the process runs
 *   /readyz                  200 "ok" once handlers.ready says so, else 503
 *   /healthz/leader-election only with leader election (as upstream):
 *                            200 "ok", or 500 "internal server error: <why>"
 * Anything else is 404.  Only GET and HEAD are served (405 otherwise).
 *
 * The handlers run on the server thread and must be thread-safe.
 */
#ifndef SC_HTTPSRV_H
#define SC_HTTPSRV_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/sc_err.h"

struct httpsrv_handlers {
    void *ctx;
    /* Append the exposition text; 0 or an SC_E* code (500). */
    int (*metrics)(void *ctx, struct buf *out);
    /* true when ready; otherwise why (cap bytes) says what is missing. */
    bool (*ready)(void *ctx, char *why, size_t cap);
    /* true when healthy; NULL disables /healthz/leader-election. */
    bool (*leader_healthy)(void *ctx, char *why, size_t cap);
};

struct httpsrv;

/* endpoint is Go-style "host:port", ":port" or "[v6]:port".  On failure
 * (bad address, listen error) NULL with err filled. */
struct httpsrv *httpsrv_start(const char *endpoint, const char *metrics_path,
                              const struct httpsrv_handlers *h, struct sc_err *err);
/* The port actually bound (useful with ":0"). */
int httpsrv_port(const struct httpsrv *s);
void httpsrv_stop(struct httpsrv *s); /* NULL-safe */

#endif
