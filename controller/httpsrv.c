#include "controller/httpsrv.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"

struct httpsrv {
    struct MHD_Daemon *d;
    struct httpsrv_handlers h;
    char metrics_path[256];
    int port;
};

static enum MHD_Result
reply(struct MHD_Connection *conn, unsigned code, const char *ctype, const char *body, size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result rc;

    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", ctype);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    rc = MHD_queue_response(conn, code, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result
text(struct MHD_Connection *conn, unsigned code, const char *body)
{
    return reply(conn, code, "text/plain; charset=utf-8", body, strlen(body));
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
       const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    struct httpsrv *s = cls;
    char why[512], body[600];

    (void)version;
    (void)upload;
    (void)con_cls;
    if (*upload_size != 0) {
        *upload_size = 0; /* bodies are ignored */
        return MHD_YES;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
    if (strcmp(url, s->metrics_path) == 0 && s->h.metrics != NULL) {
        struct buf b = {0};
        enum MHD_Result rc;

        buf_init(&b, LIM_METRICS_BODY);
        if (s->h.metrics(s->h.ctx, &b) != 0) {
            buf_release(&b);
            return text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot render metrics\n");
        }
        rc = reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", buf_str(&b),
                   b.len);
        buf_release(&b);
        return rc;
    }
    if (strcmp(url, "/healthz") == 0 || strcmp(url, "/livez") == 0)
        return text(conn, MHD_HTTP_OK, "ok");
    if (strcmp(url, "/readyz") == 0) {
        why[0] = '\0';
        if (s->h.ready == NULL || s->h.ready(s->h.ctx, why, sizeof(why)))
            return text(conn, MHD_HTTP_OK, "ok");
        snprintf(body, sizeof(body), "not ready: %s\n", why);
        return text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, body);
    }
    if (strcmp(url, "/healthz/leader-election") == 0 && s->h.leader_healthy != NULL) {
        why[0] = '\0';
        if (s->h.leader_healthy(s->h.ctx, why, sizeof(why)))
            return text(conn, MHD_HTTP_OK, "ok");
        snprintf(body, sizeof(body), "internal server error: %s", why);
        return text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, body);
    }
    return text(conn, MHD_HTTP_NOT_FOUND, "404 page not found\n");
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

struct httpsrv *
httpsrv_start(const char *endpoint, const char *metrics_path, const struct httpsrv_handlers *h,
              struct sc_err *err)
{
    struct httpsrv *s = calloc(1, sizeof(*s));
    char host[256], port[32];
    struct addrinfo hints, *ai = NULL;
    const union MHD_DaemonInfo *info;
    int gai;

    if (s == NULL) {
        sc_err_set(err, SC_ENOMEM, "out of memory");
        return NULL;
    }
    s->h = *h;
    snprintf(s->metrics_path, sizeof(s->metrics_path), "%s", metrics_path);
    if (split_endpoint(endpoint, host, sizeof(host), port, sizeof(port)) != 0) {
        sc_err_set(err, SC_EINVALID, "listen tcp %s: missing port in address", endpoint);
        free(s);
        return NULL;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    hints.ai_family = host[0] == '\0' ? AF_INET6 : AF_UNSPEC;
    gai = getaddrinfo(host[0] == '\0' ? NULL : host, port, &hints, &ai);
    if (gai != 0) {
        sc_err_set(err, SC_EINVALID, "listen tcp %s: %s", endpoint, gai_strerror(gai));
        free(s);
        return NULL;
    }
    s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
                                (ai->ai_family == AF_INET6 ? MHD_USE_DUAL_STACK : 0),
                            0, NULL, NULL, handle, s, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)15,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)64, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (s->d == NULL) {
        sc_err_set(err, SC_EIO, "listen tcp %s: cannot bind (address in use or not permitted)",
                   endpoint);
        free(s);
        return NULL;
    }
    info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info != NULL ? info->port : 0;
    return s;
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
    MHD_stop_daemon(s->d);
    free(s);
}
