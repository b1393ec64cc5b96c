#include "controller/httpsrv.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/limits.h"
#include "common/thread.h"

/* A client has this long from connect to sending its head and reading the
 * whole reply (libmicrohttpd's connection timeout was 15 s too). */
#define HTTP_EXCHANGE_MS 15000

/* One exchange per connection, as libmicrohttpd answered before:
 * "Connection: close" on every response. */
struct hconn {
    int fd;              /* -1: free slot */
    int64_t deadline_ms; /* the whole exchange, from accept */
    size_t in_len;
    char *in;       /* LIM_HTTP_REQUEST_HEAD bytes, while reading */
    struct buf out; /* the response, while writing */
    size_t out_off;
};

struct httpsrv {
    int lfd;
    int wake[2]; /* httpsrv_stop writes a byte to wake[1] */
    pthread_t th;
    struct httpsrv_handlers h;
    char metrics_path[256];
    int port;
    struct hconn conns[LIM_HTTP_CONNS];
};

static const char *
status_text(int code)
{
    switch (code) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return "Unknown";
    }
}

/* The response head and (unless head_only) body into c->out. */
static int
reply(struct hconn *c, int code, const char *ctype, const char *body, size_t len, bool head_only)
{
    char date[64];
    time_t now = time(NULL);
    struct tm tm = {0};

    gmtime_r(&now, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    buf_reset(&c->out);
    c->out_off = 0;
    if (buf_addf(&c->out,
                 "HTTP/1.1 %d %s\r\nDate: %s\r\nConnection: close\r\nContent-Type: %s\r\n"
                 "X-Content-Type-Options: nosniff\r\nContent-Length: %zu\r\n\r\n",
                 code, status_text(code), date, ctype, len) != 0)
        return -1;
    return head_only ? 0 : buf_add(&c->out, body, len);
}

static int
text(struct hconn *c, int code, const char *body, bool head_only)
{
    return reply(c, code, "text/plain; charset=utf-8", body, strlen(body), head_only);
}

static int
metrics(struct httpsrv *s, struct hconn *c, bool head_only)
{
    struct buf b = {0};
    int rc;

    buf_init(&b, LIM_METRICS_BODY);
    if (s->h.metrics(s->h.ctx, &b) != 0) {
        buf_release(&b);
        return text(c, 500, "cannot render metrics\n", head_only);
    }
    rc = reply(c, 200, "text/plain; version=0.0.4; charset=utf-8", buf_str(&b), b.len, head_only);
    buf_release(&b);
    return rc;
}

/* Route one request (method and path, query cut) to a response. */
static int
route(struct httpsrv *s, struct hconn *c, const char *method, const char *path)
{
    bool head = strcmp(method, "HEAD") == 0;
    char why[512], body[600];

    if (!head && strcmp(method, "GET") != 0)
        return text(c, 405, "method not allowed\n", false);
    if (strcmp(path, s->metrics_path) == 0 && s->h.metrics != NULL)
        return metrics(s, c, head);
    if (strcmp(path, "/healthz") == 0 || strcmp(path, "/livez") == 0)
        return text(c, 200, "ok", head);
    if (strcmp(path, "/readyz") == 0) {
        why[0] = '\0';
        if (s->h.ready == NULL || s->h.ready(s->h.ctx, why, sizeof(why)))
            return text(c, 200, "ok", head);
        snprintf(body, sizeof(body), "not ready: %s\n", why);
        return text(c, 503, body, head);
    }
    if (strcmp(path, "/healthz/leader-election") == 0 && s->h.leader_healthy != NULL) {
        why[0] = '\0';
        if (s->h.leader_healthy(s->h.ctx, why, sizeof(why)))
            return text(c, 200, "ok", head);
        snprintf(body, sizeof(body), "internal server error: %s", why);
        return text(c, 500, body, head);
    }
    return text(c, 404, "404 page not found\n", head);
}

/* A complete head in c->in: parse the request line and build the reply. */
static int
answer(struct httpsrv *s, struct hconn *c)
{
    char *line = c->in, *eol = strstr(c->in, "\r\n"), *sp1, *sp2, *q;

    *eol = '\0';
    sp1 = strchr(line, ' ');
    sp2 = sp1 != NULL ? strchr(sp1 + 1, ' ') : NULL;
    if (sp1 == NULL || sp2 == NULL || strncmp(sp2 + 1, "HTTP/1.", 7) != 0 || sp1[1] != '/')
        return text(c, 400, "bad request\n", false);
    *sp1 = '\0';
    *sp2 = '\0';
    q = strchr(sp1 + 1, '?');
    if (q != NULL)
        *q = '\0';
    return route(s, c, line, sp1 + 1);
}

static void
conn_close(struct hconn *c)
{
    char drain[512];

    /* unread request bytes would turn the close into a reset */
    while (recv(c->fd, drain, sizeof(drain), MSG_DONTWAIT) > 0)
        ;
    close(c->fd);
    c->fd = -1;
    free(c->in);
    c->in = NULL;
    buf_release(&c->out);
}

/* Readable: read more of the head; once complete, switch to writing. */
static void
conn_read(struct httpsrv *s, struct hconn *c)
{
    ssize_t n = recv(c->fd, c->in + c->in_len, LIM_HTTP_REQUEST_HEAD - 1 - c->in_len, 0);

    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        conn_close(c);
        return;
    }
    c->in_len += (size_t)n;
    c->in[c->in_len] = '\0';
    if (strstr(c->in, "\r\n\r\n") == NULL && c->in_len + 1 < LIM_HTTP_REQUEST_HEAD)
        return;
    if ((strstr(c->in, "\r\n\r\n") != NULL
             ? answer(s, c)
             : text(c, 431, "request header too large\n", false)) != 0) {
        conn_close(c);
        return;
    }
    free(c->in);
    c->in = NULL;
}

/* Writable: send the rest; close once all is sent. */
static void
conn_write(struct hconn *c)
{
    ssize_t n = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);

    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n < 0) {
        conn_close(c);
        return;
    }
    c->out_off += (size_t)n;
    if (c->out_off == c->out.len) {
        shutdown(c->fd, SHUT_WR);
        conn_close(c);
    }
}

static void
conn_accept(struct httpsrv *s, int64_t now)
{
    int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    size_t i;

    if (fd < 0)
        return;
    for (i = 0; i < LIM_HTTP_CONNS; i++) {
        struct hconn *c = &s->conns[i];

        if (c->fd >= 0)
            continue;
        c->in = malloc(LIM_HTTP_REQUEST_HEAD);
        if (c->in == NULL)
            break;
        c->fd = fd;
        c->in_len = 0;
        c->deadline_ms = now + HTTP_EXCHANGE_MS;
        buf_init(&c->out, LIM_METRICS_BODY + 1024);
        return;
    }
    close(fd); /* every slot busy: refuse */
}

/* Fill pfd (the wake pipe, the listener, then the busy connections);
 * idx[k] is the slot of pfd[2 + k].  Returns the poll timeout. */
static int
poll_set(struct httpsrv *s, struct pollfd *pfd, size_t *idx, size_t *n, int64_t now)
{
    int64_t timeout = -1;
    size_t i;

    pfd[0] = (struct pollfd){.fd = s->wake[0], .events = POLLIN};
    pfd[1] = (struct pollfd){.fd = s->lfd, .events = POLLIN};
    *n = 2;
    for (i = 0; i < LIM_HTTP_CONNS; i++) {
        struct hconn *c = &s->conns[i];
        int64_t left;

        if (c->fd < 0)
            continue;
        if (now >= c->deadline_ms) {
            conn_close(c); /* too slow to send its head or read the reply */
            continue;
        }
        left = c->deadline_ms - now;
        timeout = timeout < 0 || left < timeout ? left : timeout;
        pfd[*n] = (struct pollfd){.fd = c->fd, .events = c->in != NULL ? POLLIN : POLLOUT};
        idx[*n - 2] = i;
        (*n)++;
    }
    return (int)timeout;
}

static void *
serve(void *arg)
{
    struct httpsrv *s = arg;
    struct clock clk = clock_system();
    struct pollfd pfd[LIM_HTTP_CONNS + 2] = {0};
    size_t idx[LIM_HTTP_CONNS] = {0}, n, k;

    for (;;) {
        int timeout = poll_set(s, pfd, idx, &n, clock_mono_ms(&clk));

        if (poll(pfd, n, timeout) < 0 && errno != EINTR)
            break;
        if (pfd[0].revents != 0)
            break;
        for (k = 2; k < n; k++) {
            struct hconn *c = &s->conns[idx[k - 2]];

            if (pfd[k].revents == 0)
                continue;
            if (c->in != NULL)
                conn_read(s, c);
            else
                conn_write(c);
        }
        if (pfd[1].revents & POLLIN)
            conn_accept(s, clock_mono_ms(&clk));
    }
    for (k = 0; k < LIM_HTTP_CONNS; k++)
        if (s->conns[k].fd >= 0)
            conn_close(&s->conns[k]);
    return NULL;
}

/* Split "host:port"; host may be empty or a bracketed IPv6 literal. */
static int
split_endpoint(const char *ep, char *host, size_t hcap, char *port, size_t pcap)
{
    const char *colon;

    if (ep[0] == '[') {
        const char *end = strchr(ep, ']');

        if (end == NULL || end[1] != ':')
            return -1;
        snprintf(host, hcap, "%.*s", (int)(end - ep - 1), ep + 1);
        snprintf(port, pcap, "%s", end + 2);
        return 0;
    }
    colon = strrchr(ep, ':');
    if (colon == NULL)
        return -1;
    snprintf(host, hcap, "%.*s", (int)(colon - ep), ep);
    snprintf(port, pcap, "%s", colon + 1);
    return port[0] == '\0' ? -1 : 0;
}

/* A non-blocking listening socket on ai; -1 on failure. */
static int
listen_on(const struct addrinfo *ai)
{
    int one = 1, zero = 0;
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ai->ai_family == AF_INET6) /* ":port" serves IPv4 too */
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, LIM_HTTP_CONNS) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Resolve and bind endpoint into s->lfd and s->port. */
static int
bind_endpoint(struct httpsrv *s, const char *endpoint, struct sc_err *err)
{
    char host[256], port[32];
    struct addrinfo hints = {0}, *ai = NULL;
    struct sockaddr_storage sa = {0};
    socklen_t salen = sizeof(sa);
    int gai;

    if (split_endpoint(endpoint, host, sizeof(host), port, sizeof(port)) != 0)
        return sc_err_set(err, SC_EINVALID, "listen tcp %s: missing port in address", endpoint);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    hints.ai_family = host[0] == '\0' ? AF_INET6 : AF_UNSPEC;
    gai = getaddrinfo(host[0] == '\0' ? NULL : host, port, &hints, &ai);
    if (gai != 0)
        return sc_err_set(err, SC_EINVALID, "listen tcp %s: %s", endpoint, gai_strerror(gai));
    s->lfd = listen_on(ai);
    freeaddrinfo(ai);
    if (s->lfd < 0)
        return sc_err_set(err, SC_EIO,
                          "listen tcp %s: cannot bind (address in use or not permitted)", endpoint);
    if (getsockname(s->lfd, (struct sockaddr *)&sa, &salen) == 0 &&
        getnameinfo((struct sockaddr *)&sa, salen, host, sizeof(host), port, sizeof(port),
                    NI_NUMERICHOST | NI_NUMERICSERV) == 0)
        s->port = (int)strtol(port, NULL, 10);
    return 0;
}

struct httpsrv *
httpsrv_start(const char *endpoint, const char *metrics_path, const struct httpsrv_handlers *h,
              struct sc_err *err)
{
    struct httpsrv *s = calloc(1, sizeof(*s));
    size_t i;

    if (s == NULL) {
        sc_err_set(err, SC_ENOMEM, "out of memory");
        return NULL;
    }
    s->h = *h;
    s->lfd = s->wake[0] = s->wake[1] = -1;
    for (i = 0; i < LIM_HTTP_CONNS; i++)
        s->conns[i].fd = -1;
    snprintf(s->metrics_path, sizeof(s->metrics_path), "%s", metrics_path);
    if (bind_endpoint(s, endpoint, err) != 0)
        goto fail;
    if (pipe2(s->wake, O_CLOEXEC) != 0) {
        sc_err_set(err, SC_EIO, "listen tcp %s: pipe: %s", endpoint, strerror(errno));
        goto fail;
    }
    if (thread_start(&s->th, "sc-http", THREAD_STACK_SMALL, serve, s) != 0) {
        sc_err_set(err, SC_EIO, "listen tcp %s: cannot start the server thread", endpoint);
        goto fail;
    }
    return s;
fail:
    for (i = 0; i < 2; i++)
        if (s->wake[i] >= 0)
            close(s->wake[i]);
    if (s->lfd >= 0)
        close(s->lfd);
    free(s);
    return NULL;
}

int
httpsrv_port(const struct httpsrv *s)
{
    return s->port;
}

void
httpsrv_stop(struct httpsrv *s)
{
    if (s == NULL)
        return;
    if (write(s->wake[1], "x", 1) < 0) {
        /* a pipe with room never fails; nothing else could wake the thread */
    }
    pthread_join(s->th, NULL);
    close(s->wake[0]);
    close(s->wake[1]);
    close(s->lfd);
    free(s);
}
