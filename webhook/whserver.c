/* webhook/whserver.c -- the HTTPS server with certificate hot reload. */
#include "webhook/whserver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/thread.h"
#include "webhook/certwatch.h"
#include "webhook/wharena.h"

#define TLS_PRIORITIES  "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
#define MAX_GENERATIONS 8
/* libmicrohttpd's own connection limit is this many times max_conns, so that
 * our policy (evict, see conn_admit) runs before MHD stops accepting. */
#define MHD_LIMIT_FACTOR 2
#define SWEEP_MIN_MS     50 /* shortest period of the header-deadline sweep */
/* Retirement and stop wake a worker at once (nudge_workers), and so does
 * any event of its daemon; this is only the longest an idle worker waits
 * before it looks at its generation's flags anyway. */
#define WORKER_TICK_MS 1000
/* Sent to a worker to break its epoll_wait (EINTR): SIGURG, ignored by
 * default and otherwise unused here.  Its handler does nothing. */
#define WAKE_SIGNAL SIGURG
/* A worker runs GnuTLS, the review's JSON (jansson recurses per level) and
 * the review's arena (WHARENA_BYTES) on its stack; only touched pages are
 * resident. */
#define WORKER_STACK (2u << 20)
/* libmicrohttpd's per-connection memory pool: request line, headers and the
 * read buffer (bodies are streamed to us in pieces).  MHD zeroes the whole
 * pool after every request on a keep-alive connection, so its size is paid
 * per request: 16 KiB, not 64. */
#define MHD_POOL_BYTES (16u << 10)

/* Where a connection is, as far as slot policy is concerned. */
enum conn_state {
    CONN_NEW,  /* accepted; TLS handshake or first request headers unfinished */
    CONN_BUSY, /* headers received, request in progress */
    CONN_IDLE, /* between requests on a keep-alive connection */
};

/* One accepted connection, in accept order (oldest first).  Allocated in
 * the STARTED notification and freed in CLOSED, which libmicrohttpd sends
 * before it closes the socket: so while an entry is listed under conn_mu,
 * its fd is that connection's, and shutdown() on it is safe. */
struct conn {
    struct conn *prev, *next;
    int fd;
    enum conn_state st;
    int evicted;      /* shut down by us; MHD closes it on its next pass */
    int64_t since_ms; /* accepted at */
};

/* One certificate's generation: a daemon per worker thread, all accepting
 * on the shared listening socket.  Each daemon runs in libmicrohttpd's
 * external mode on a thread of ours, which is the only caller of its event
 * loop and of MHD_quiesce_daemon() for it.  Not MHD's own threads: quiescing
 * a daemon from another thread while its thread runs races on the listening
 * socket's removal from epoll, and libmicrohttpd (0.9.75, Debian's here)
 * then panics and the process aborts.  docs/webhook.md, "Certificate
 * reload". */
enum worker_state {
    W_SERVING,  /* may accept */
    W_QUIESCED, /* accepts no more, serves what it has */
    W_RETURNED, /* its thread returned; the daemon awaits MHD_stop_daemon */
};

struct worker {
    struct gen *g;
    struct MHD_Daemon *daemon;
    pthread_t thread;
    int started;
    atomic_int state;  /* enum worker_state, set by the worker */
    atomic_uint conns; /* its daemon's connections (notify_conn) */
};

struct gen {
    struct whserver *srv;
    struct worker *workers;
    unsigned n_workers;
    struct certpair pair; /* kept for the daemons' lifetime */
    atomic_int retired;   /* stop accepting; finish what is open */
    atomic_int stopping;  /* the workers return */
    int64_t retired_at_ms;
};

struct whserver {
    struct whserver_opts opts;
    int fd;
    int port;
    pthread_mutex_t reload_mu; /* one reload at a time (whserver_reload) */
    pthread_mutex_t mu;        /* guards gens, n_gens, stop */
    pthread_cond_t cv;
    struct gen *gens[MAX_GENERATIONS]; /* gens[n_gens-1] is current */
    size_t n_gens;
    int stop;
    pthread_t watcher;
    int watcher_started;
    struct certstamp stamp;
    /* Connection slots, across every generation. */
    pthread_mutex_t conn_mu; /* guards the list and the counters below */
    struct conn *conn_head, *conn_tail;
    unsigned n_live; /* listed and not evicted */
    struct whserver_stats stats;
};

struct req {
    struct buf body;
    int64_t start_ms;
    int64_t start_us;
    int first_done;
};

static int64_t
mono_us(void)
{
    struct timespec ts = {0};

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Shut a connection down so that its MHD thread closes it; conn_mu held. */
static void
conn_evict(struct whserver *s, struct conn *c, int deadline)
{
    shutdown(c->fd, SHUT_RDWR);
    c->evicted = 1;
    s->n_live--;
    if (deadline)
        s->stats.header_timeouts++;
    else
        s->stats.evictions++;
}

/* The connection to give up when every slot is taken: the oldest that has
 * not finished its headers, else the oldest idle keep-alive one, else none
 * (every slot is serving a request).  conn_mu held. */
static struct conn *
conn_victim(struct whserver *s)
{
    struct conn *idle = NULL;

    for (struct conn *c = s->conn_head; c != NULL; c = c->next) {
        if (c->evicted)
            continue;
        if (c->st == CONN_NEW)
            return c;
        if (c->st == CONN_IDLE && idle == NULL)
            idle = c;
    }
    return idle;
}

/* A new connection takes a slot; over max_conns, the victim's is freed. */
static void
conn_admit(struct whserver *s, struct conn *c)
{
    pthread_mutex_lock(&s->conn_mu);
    c->prev = s->conn_tail;
    if (s->conn_tail != NULL)
        s->conn_tail->next = c;
    else
        s->conn_head = c;
    s->conn_tail = c;
    s->n_live++;
    s->stats.accepted++;
    if (s->n_live > s->opts.max_conns) {
        struct conn *v = conn_victim(s);

        if (v != NULL) {
            log_debug(1, "all %u connection slots taken: closing the oldest connection%s",
                      s->opts.max_conns,
                      v->st == CONN_NEW ? " with unfinished headers" : " idle between requests");
            conn_evict(s, v, 0);
        }
    }
    pthread_mutex_unlock(&s->conn_mu);
}

static void
conn_forget(struct whserver *s, struct conn *c)
{
    pthread_mutex_lock(&s->conn_mu);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        s->conn_head = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    else
        s->conn_tail = c->prev;
    if (!c->evicted)
        s->n_live--;
    pthread_mutex_unlock(&s->conn_mu);
    free(c);
}

static void
conn_set_state(struct whserver *s, struct MHD_Connection *mc, enum conn_state st)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct conn *c = info ? info->socket_context : NULL;

    if (c == NULL)
        return;
    pthread_mutex_lock(&s->conn_mu);
    c->st = st;
    pthread_mutex_unlock(&s->conn_mu);
}

/* libmicrohttpd's connection notifications (cls is the daemon's worker),
 * on the daemon's thread. */
static void
notify_conn(void *cls, struct MHD_Connection *mc, void **socket_context,
            enum MHD_ConnectionNotificationCode code)
{
    struct worker *w = cls;
    struct whserver *s = w->g->srv;

    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *info =
            MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
        struct conn *c = info ? calloc(1, sizeof(*c)) : NULL;

        atomic_fetch_add(&w->conns, 1);
        *socket_context = NULL;
        if (c == NULL)
            return; /* untracked: it only escapes the slot policy */
        c->fd = info->connect_fd;
        c->st = CONN_NEW;
        c->since_ms = mono_us() / 1000;
        *socket_context = c;
        conn_admit(s, c);
        return;
    }
    atomic_fetch_sub(&w->conns, 1);
    if (*socket_context != NULL)
        conn_forget(s, *socket_context);
    *socket_context = NULL;
}

/* Close connections that have not finished their first request's headers
 * within header_timeout_ms of being accepted. */
static void
sweep_headers(struct whserver *s, int64_t now_ms)
{
    if (s->opts.header_timeout_ms <= 0)
        return;
    pthread_mutex_lock(&s->conn_mu);
    for (struct conn *c = s->conn_head; c != NULL; c = c->next) {
        if (!c->evicted && c->st == CONN_NEW && now_ms - c->since_ms > s->opts.header_timeout_ms)
            conn_evict(s, c, 1);
    }
    pthread_mutex_unlock(&s->conn_mu);
}

void
whserver_opts_default(struct whserver_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->bind_address = "0.0.0.0";
    o->port = 8443;
    o->threads = 4;
    o->idle_timeout_s = 15;
    o->read_timeout_ms = 10000;
    o->cert_poll_ms = 1000;
    o->drain_ms = 30000;
    o->max_conns = 1000;
    o->header_timeout_ms = 3000;
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    size_t n;

    (void)cls;
    vsnprintf(line, sizeof(line), fmt, ap);
    n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    log_debug(2, "mhd: %s", line);
}
#pragma GCC diagnostic pop

static enum MHD_Result
send_resp(struct gen *g, struct MHD_Connection *conn, const char *method, int status, char *body,
          size_t len, const char *ctype)
{
    struct MHD_Response *resp = NULL;
    enum MHD_Result ret;

    if (strcmp(method, "HEAD") == 0) {
        free(body);
        body = NULL;
        len = 0;
    }
    resp = MHD_create_response_from_buffer(len, body ? body : (void *)"",
                                           body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (resp == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (atomic_load(&g->retired))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    ret = MHD_queue_response(conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* Route one request with jansson's allocations carved from a buffer on this
 * stack frame (webhook/wharena.h): every tree of the review is made and
 * released inside. */
static void
route_in_arena(const struct whroute *rt, const char *method, const char *url, const char *ctype,
               const struct buf *body, struct whroute_resp *out)
{
    _Alignas(16) char mem[WHARENA_BYTES];
    struct wharena a = {0};

    wharena_begin(&a, mem);
    whroute_handle(rt, method, url, ctype, buf_str(body), body->len, out);
    wharena_end(&a);
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
       const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    struct gen *g = cls;
    struct whserver *s = g->srv;
    struct req *r = *con_cls;
    struct whroute_resp out = {0};
    const char *ctype;

    (void)version;
    if (r == NULL) {
        const char *cl =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);

        conn_set_state(s, conn, CONN_BUSY);
        r = calloc(1, sizeof(*r));
        if (r == NULL)
            return MHD_NO;
        buf_init(&r->body, LIM_ADMISSION_BODY);
        r->start_us = mono_us();
        *con_cls = r;
        /* While the body arrives, silence is bounded by the read timeout. */
        MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT,
                                  (unsigned)((s->opts.read_timeout_ms + 999) / 1000));
        if (cl != NULL && strtoull(cl, NULL, 10) > LIM_ADMISSION_BODY) {
            char *msg = NULL;
            int n = asprintf(&msg, "request body of %s bytes exceeds the limit of %u bytes\n", cl,
                             (unsigned)LIM_ADMISSION_BODY);

            whmetrics_decision(s->opts.route->metrics, WHM_RULE_ENVELOPE, WHM_ERROR);
            r->first_done = 2; /* answered */
            return send_resp(g, conn, method, 413, n < 0 ? NULL : msg, n < 0 ? 0 : (size_t)n,
                             "text/plain; charset=utf-8");
        }
        return MHD_YES;
    }
    if (r->first_done == 2)
        return MHD_NO; /* already answered; refuse the rest */
    if (*upload_size > 0) {
        if (mono_us() - r->start_us > s->opts.read_timeout_ms * 1000) {
            log_debug(1, "closing a connection: request body not received within %lld ms",
                      (long long)s->opts.read_timeout_ms);
            return MHD_NO;
        }
        if (buf_add(&r->body, upload, *upload_size) != SC_OK) {
            log_debug(1, "closing a connection: chunked body over %u bytes",
                      (unsigned)LIM_ADMISSION_BODY);
            whmetrics_decision(s->opts.route->metrics, WHM_RULE_ENVELOPE, WHM_ERROR);
            return MHD_NO;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    ctype = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    route_in_arena(s->opts.route, method, url, ctype, &r->body, &out);
    r->first_done = 2;
    /* Back to the idle timeout for a keep-alive connection. */
    MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, s->opts.idle_timeout_s);
    whmetrics_latency(s->opts.route->metrics, whroute_path(url), mono_us() - r->start_us);
    return send_resp(g, conn, method, out.status, out.body, out.len, out.content_type);
}

static void
completed(void *cls, struct MHD_Connection *conn, void **con_cls,
          enum MHD_RequestTerminationCode toe)
{
    struct gen *g = cls;
    struct req *r = *con_cls;

    (void)toe;
    conn_set_state(g->srv, conn, CONN_IDLE);
    if (r == NULL)
        return;
    buf_release(&r->body);
    free(r);
    *con_cls = NULL;
}

/* Each daemon's limit, at which MHD refuses (stops accepting); ours must
 * bite first.  The workers share it, as MHD's thread pool would split it. */
static unsigned
mhd_limit(const struct whserver *s)
{
    unsigned threads = s->opts.threads ? s->opts.threads : 1;

    return s->opts.max_conns * MHD_LIMIT_FACTOR / threads + 4;
}

/* A worker's connections, from any thread.  Not MHD_get_daemon_info():
 * for a daemon in external mode that also frees the connections closed
 * since its loop last ran, which only the daemon's own thread may do (the
 * certificate watcher counts a retired generation's connections while its
 * workers still serve them). */
static unsigned
worker_conns(struct worker *w)
{
    return atomic_load(&w->conns);
}

static void
wake_handler(int sig)
{
    (void)sig;
}

/* A worker: runs its daemon's event loop; quiesces it (stops accepting on
 * the shared socket, which MHD then leaves open) once the generation is
 * retired, and in any case before it returns, so that MHD_stop_daemon()
 * never closes the shared socket. */
static void *
worker_main(void *arg)
{
    struct worker *w = arg;
    sigset_t wake;

    sigemptyset(&wake);
    sigaddset(&wake, WAKE_SIGNAL);
    pthread_sigmask(SIG_UNBLOCK, &wake, NULL);
    while (!atomic_load(&w->g->stopping)) {
        if (atomic_load(&w->state) == W_SERVING && atomic_load(&w->g->retired)) {
            MHD_quiesce_daemon(w->daemon);
            atomic_store(&w->state, W_QUIESCED);
        }
        if (atomic_load(&w->state) == W_QUIESCED && worker_conns(w) == 0)
            break; /* drained, and accepts no more: only a stop is left */
        MHD_run_wait(w->daemon, WORKER_TICK_MS);
    }
    if (atomic_load(&w->state) == W_SERVING)
        MHD_quiesce_daemon(w->daemon);
    atomic_store(&w->state, W_RETURNED);
    return NULL;
}

/* Signal g's workers until each has reached state want, or about two ticks
 * passed.  Repeated, since a signal that comes just before a worker enters
 * epoll_wait does not interrupt it. */
static void
nudge_workers(struct gen *g, int want)
{
    int64_t deadline = mono_us() + (int64_t)WORKER_TICK_MS * 2000;

    for (;;) {
        unsigned left = 0;

        for (unsigned i = 0; i < g->n_workers; i++) {
            struct worker *w = &g->workers[i];

            if (w->started && atomic_load(&w->state) < want) {
                left++;
                pthread_kill(w->thread, WAKE_SIGNAL);
            }
        }
        if (left == 0 || mono_us() > deadline)
            return;
        (void)poll(NULL, 0, 1);
    }
}

/* Stop a generation's workers, then their daemons (closing the connections
 * they still hold), and free it. */
static void
gen_stop(struct gen *g)
{
    if (g == NULL)
        return;
    atomic_store(&g->stopping, 1);
    nudge_workers(g, W_RETURNED);
    for (unsigned i = 0; i < g->n_workers; i++) {
        struct worker *w = &g->workers[i];

        if (w->started)
            pthread_join(w->thread, NULL);
        else if (w->daemon != NULL)
            MHD_quiesce_daemon(w->daemon); /* never ran: quiesce it here */
        if (w->daemon != NULL)
            MHD_stop_daemon(w->daemon);
    }
    free(g->workers);
    certpair_release(&g->pair);
    free(g);
}

static struct gen *
gen_start(struct whserver *s, struct certpair *pair, struct sc_err *err)
{
    struct gen *g = calloc(1, sizeof(*g));
    unsigned flags = MHD_USE_EPOLL | MHD_USE_TLS | MHD_USE_ERROR_LOG;
    unsigned n = s->opts.threads ? s->opts.threads : 1;

    if (g == NULL || (g->workers = calloc(n, sizeof(*g->workers))) == NULL) {
        free(g);
        sc_err_set(err, SC_ENOMEM, "cannot allocate the HTTPS workers");
        return NULL;
    }
    g->srv = s;
    g->pair = *pair; /* takes ownership */
    memset(pair, 0, sizeof(*pair));
    g->n_workers = n;
    for (unsigned i = 0; i < n; i++) {
        struct worker *w = &g->workers[i];

        w->g = g;
        w->daemon = MHD_start_daemon(
            flags, 0, NULL, NULL, handle, g, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, (void *)s,
            MHD_OPTION_LISTEN_SOCKET, s->fd, MHD_OPTION_HTTPS_MEM_CERT, g->pair.cert_pem,
            MHD_OPTION_HTTPS_MEM_KEY, g->pair.key_pem, MHD_OPTION_HTTPS_PRIORITIES, TLS_PRIORITIES,
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)s->opts.idle_timeout_s,
            MHD_OPTION_CONNECTION_LIMIT, mhd_limit(s), MHD_OPTION_CONNECTION_MEMORY_LIMIT,
            (size_t)MHD_POOL_BYTES, MHD_OPTION_NOTIFY_COMPLETED, completed, (void *)g,
            MHD_OPTION_NOTIFY_CONNECTION, notify_conn, (void *)w, MHD_OPTION_END);
        if (w->daemon == NULL) {
            sc_err_set(err, SC_EIO,
                       "cannot start the HTTPS server (libmicrohttpd refused the "
                       "TLS pair or options; run with -v=2 for its message)");
            gen_stop(g);
            return NULL;
        }
        if (thread_start(&w->thread, "sc-https", WORKER_STACK, worker_main, w) != 0) {
            sc_err_set(err, SC_ENOMEM, "cannot start an HTTPS worker thread");
            gen_stop(g);
            return NULL;
        }
        w->started = 1;
    }
    return g;
}

/* Connections the generation holds, read while its workers run. */
static unsigned
gen_conns(struct gen *g)
{
    unsigned sum = 0;

    for (unsigned i = 0; i < g->n_workers; i++)
        sum += worker_conns(&g->workers[i]);
    return sum;
}

/* Retire g: its workers quiesce their daemons (each its own, on its own
 * thread) and serve what they have with "Connection: close".  Returns once
 * none of them accepts any more. */
static void
retire_gen(struct gen *g)
{
    atomic_store(&g->retired, 1);
    g->retired_at_ms = mono_us() / 1000;
    nudge_workers(g, W_QUIESCED);
}

/* Stop retired generations that are idle or past drain_ms. Caller holds mu. */
static void
reap_retired(struct whserver *s, int64_t now_ms)
{
    size_t i = 0;

    while (s->n_gens > 1 && i < s->n_gens - 1) {
        struct gen *g = s->gens[i];

        if (gen_conns(g) == 0 || now_ms - g->retired_at_ms > s->opts.drain_ms) {
            gen_stop(g);
            memmove(&s->gens[i], &s->gens[i + 1], (s->n_gens - i - 1) * sizeof(struct gen *));
            s->n_gens--;
            continue;
        }
        i++;
    }
}

int
whserver_reload(struct whserver *s, struct sc_err *err)
{
    struct certpair pair = {0};
    struct gen *g = NULL, *old = NULL;
    int rc;

    pthread_mutex_lock(&s->reload_mu);
    rc = certpair_load(s->opts.cert_file, s->opts.key_file, &pair, err);
    if (rc != SC_OK)
        goto fail;
    pthread_mutex_lock(&s->mu);
    if (s->n_gens == MAX_GENERATIONS) {
        /* Rotations faster than connections drain: drop the oldest. */
        gen_stop(s->gens[0]);
        memmove(&s->gens[0], &s->gens[1], (s->n_gens - 1) * sizeof(struct gen *));
        s->n_gens--;
    }
    g = gen_start(s, &pair, err);
    if (g == NULL) {
        pthread_mutex_unlock(&s->mu);
        certpair_release(&pair);
        rc = err && err->code ? err->code : SC_EIO;
        goto fail;
    }
    old = s->gens[s->n_gens - 1];
    s->gens[s->n_gens++] = g;
    /* The new generation already accepts on the shared socket; now the old
     * one stops accepting and finishes what it has. */
    retire_gen(old);
    pthread_mutex_unlock(&s->mu);
    pthread_mutex_unlock(&s->reload_mu);
    whmetrics_cert_reload(s->opts.route->metrics, 1);
    log_info("reloaded the TLS certificate from %s (expires %lld)", s->opts.cert_file,
             (long long)g->pair.not_after);
    return SC_OK;
fail:
    pthread_mutex_unlock(&s->reload_mu);
    whmetrics_cert_reload(s->opts.route->metrics, 0);
    return rc;
}

/* The watcher's poll: a new pair when the files changed. */
static void
try_reload(struct whserver *s)
{
    struct certstamp now = {0};
    struct sc_err err = {0};

    certstamp_read(s->opts.cert_file, s->opts.key_file, &now);
    if (certstamp_equal(&now, &s->stamp))
        return;
    s->stamp = now;
    if (whserver_reload(s, &err) != SC_OK)
        log_warnx("certificate reload failed, still serving the previous pair: %s", err.msg);
}

/* How often the watcher wakes: often enough for the header deadline (a
 * quarter of it) and the certificate poll. */
static int64_t
watcher_tick_ms(const struct whserver *s)
{
    int64_t t = s->opts.cert_poll_ms;

    if (s->opts.header_timeout_ms > 0 && s->opts.header_timeout_ms / 4 < t)
        t = s->opts.header_timeout_ms / 4;
    return t < SWEEP_MIN_MS ? SWEEP_MIN_MS : t;
}

static void *
watcher_main(void *arg)
{
    struct whserver *s = arg;
    struct timespec ts = {0};
    int64_t tick = watcher_tick_ms(s), next_poll = mono_us() / 1000 + s->opts.cert_poll_ms;

    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        int64_t now;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += tick / 1000;
        ts.tv_nsec += (tick % 1000) * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&s->cv, &s->mu, &ts);
        if (s->stop)
            break;
        now = mono_us() / 1000;
        sweep_headers(s, now);
        if (now < next_poll)
            continue;
        next_poll = now + s->opts.cert_poll_ms;
        reap_retired(s, now);
        pthread_mutex_unlock(&s->mu);
        try_reload(s);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static int
listen_on(const char *addr, int port, int *fd_out, int *port_out, struct sc_err *err)
{
    struct sockaddr_in sin = {0};
    socklen_t slen = sizeof(sin);
    int fd, one = 1;

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1)
        return sc_err_set(err, SC_EINVALID, "bad bind address %s (want an IPv4 literal)", addr);
    /* Non-blocking: several MHD worker threads (and, during a rotation, two
     * daemons) accept on it, and a lost race must not block a worker. */
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return sc_err_set(err, SC_EIO, "socket: %s", strerror(errno));
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 || listen(fd, 1024) != 0) {
        int e = errno;

        close(fd);
        return sc_err_set(err, SC_EIO, "listen on %s:%d: %s", addr, port, strerror(e));
    }
    if (getsockname(fd, (struct sockaddr *)&sin, &slen) == 0)
        *port_out = ntohs(sin.sin_port);
    *fd_out = fd;
    return SC_OK;
}

int
whserver_start(const struct whserver_opts *opts, struct whserver **out, struct sc_err *err)
{
    struct whserver *s = NULL;
    struct certpair pair = {0};
    struct gen *g = NULL;
    int rc;

    *out = NULL;
    if (opts->route == NULL || opts->cert_file == NULL || opts->key_file == NULL)
        return sc_err_set(err, SC_EINVALID, "server needs a route and a certificate pair");
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return sc_err_set(err, SC_ENOMEM, "cannot allocate");
    s->opts = *opts;
    {
        /* The workers' wake (nudge_workers): a handler that does nothing,
         * so that the signal only interrupts.  Process-wide, and the same
         * for every server. */
        struct sigaction sa = {0};

        sa.sa_handler = wake_handler;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESTART; /* epoll_wait still returns EINTR */
        sigaction(WAKE_SIGNAL, &sa, NULL);
    }
    if (s->opts.bind_address == NULL)
        s->opts.bind_address = "0.0.0.0";
    if (s->opts.cert_poll_ms <= 0)
        s->opts.cert_poll_ms = 1000;
    s->fd = -1;
    pthread_mutex_init(&s->reload_mu, NULL);
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->conn_mu, NULL);
    {
        pthread_condattr_t ca;

        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&s->cv, &ca);
        pthread_condattr_destroy(&ca);
    }
    certstamp_read(opts->cert_file, opts->key_file, &s->stamp);
    rc = certpair_load(opts->cert_file, opts->key_file, &pair, err);
    if (rc == SC_OK)
        rc = listen_on(s->opts.bind_address, opts->port, &s->fd, &s->port, err);
    if (rc != SC_OK) {
        certpair_release(&pair);
        whserver_stop(s);
        return rc;
    }
    g = gen_start(s, &pair, err);
    if (g == NULL) {
        whserver_stop(s);
        return err ? err->code : SC_EIO;
    }
    s->gens[s->n_gens++] = g;
    if (thread_start(&s->watcher, "sc-cert-watch", THREAD_STACK_CLIENT, watcher_main, s) != 0) {
        whserver_stop(s);
        return sc_err_set(err, SC_ENOMEM, "cannot start the certificate watcher");
    }
    s->watcher_started = 1;
    *out = s;
    return SC_OK;
}

int
whserver_port(const struct whserver *s)
{
    return s->port;
}

void
whserver_stats(struct whserver *s, struct whserver_stats *out)
{
    pthread_mutex_lock(&s->conn_mu);
    *out = s->stats;
    out->live = s->n_live;
    pthread_mutex_unlock(&s->conn_mu);
    pthread_mutex_lock(&s->mu);
    out->generations = (unsigned)s->n_gens;
    pthread_mutex_unlock(&s->mu);
}

void
whserver_stop(struct whserver *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (s->watcher_started)
        pthread_join(s->watcher, NULL);
    for (size_t i = 0; i < s->n_gens; i++)
        gen_stop(s->gens[i]);
    if (s->fd >= 0)
        close(s->fd);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->reload_mu);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->conn_mu);
    free(s);
}
