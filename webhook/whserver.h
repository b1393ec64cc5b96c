/* webhook/whserver.h -- the HTTPS server (libmicrohttpd + GnuTLS inside MHD).
 *
 * One listening socket, served by a "generation": one MHD daemon (epoll) per
 * worker thread, all with the certificate pair the generation was started
 * with.  A watcher thread polls the two files (certstamp) every
 * cert_poll_ms; when they change and the new pair validates
 * (certpair_load), a new generation is started on the SAME listening socket
 * and the old one is retired: its workers quiesce their daemons (stop
 * accepting), answer what they have in flight with "Connection: close", and
 * it is stopped once it has no connection left (or after drain_ms).  No
 * request is refused during a rotation.  A broken new pair is logged and counted
 * (snapshot_webhook_cert_reloads_total{result="failure"}); the old pair
 * keeps serving.
 *
 * Limits: TLS 1.2 and 1.3 only; request bodies over LIM_ADMISSION_BODY get
 * 413 (by Content-Length) or the connection is closed (chunked); a request
 * whose body takes longer than read_timeout_ms is dropped; a connection idle
 * for idle_timeout_s (no bytes either way, headers included) is closed.
 *
 * Slots: at most max_conns connections are served.  A connection that has
 * not finished its TLS handshake and first request headers within
 * header_timeout_ms of being accepted is closed (0 = no deadline).  When a
 * new connection would pass max_conns, the oldest connection that has not
 * finished its headers is closed to make room (else the oldest idle
 * keep-alive one), so a client holding every slot with unfinished headers
 * cannot keep a legitimate request out.  Only a connection serving a
 * request is never closed for a newcomer.
 *
 * Ownership: opts and route are borrowed and must outlive the server.
 */
#ifndef SC_WHSERVER_H
#define SC_WHSERVER_H

#include <stdint.h>

#include "common/sc_err.h"
#include "webhook/whroute.h"

struct whserver_opts {
    const char *bind_address; /* IPv4 literal; NULL = "0.0.0.0" */
    int port;                 /* 0 = pick a free port (see whserver_port) */
    const char *cert_file;
    const char *key_file;
    unsigned threads;        /* worker threads (one daemon each), >= 1 */
    unsigned idle_timeout_s; /* MHD connection (inactivity) timeout */
    int64_t read_timeout_ms; /* whole request, first byte of body to last */
    int64_t cert_poll_ms;    /* how often the files are checked */
    int64_t drain_ms;        /* longest life of a retired generation */
    unsigned max_conns;
    int64_t header_timeout_ms; /* accept to end of first headers; 0 = none */
    const struct whroute *route;
};

/* Counters since start (whserver_stats copies them). */
struct whserver_stats {
    unsigned long long accepted;        /* connections accepted */
    unsigned long long evictions;       /* closed to make room for a newcomer */
    unsigned long long header_timeouts; /* closed at header_timeout_ms */
    unsigned live;                      /* holding a slot now */
    unsigned generations;               /* the current one and retired ones draining */
};

void whserver_opts_default(struct whserver_opts *o);

struct whserver;

/* Load the pair (failure is an error: the caller exits 1), bind, listen and
 * start serving. */
int whserver_start(const struct whserver_opts *opts, struct whserver **out, struct sc_err *err);
int whserver_port(const struct whserver *s);
void whserver_stats(struct whserver *s, struct whserver_stats *out);
/* Load the pair now and serve it from a new generation, as the watcher does
 * when the files change (here also when they look unchanged); the old
 * generation drains.  Counted in the reload metric.  SC_OK, or the load's
 * error (err set), and the previous pair keeps serving. */
int whserver_reload(struct whserver *s, struct sc_err *err);
/* Stop accepting, stop every generation and the watcher; NULL-safe. */
void whserver_stop(struct whserver *s);

#endif
