/* kube/kclient.c -- HTTP requests to the API server, over our own HTTP/1.1
 * (kube/khttp.c) when it fits the kubeconfig (own_http_fits()), else over
 * libcurl.
 *
 * On the libcurl path, a client owns a pool of easy handles and a share
 * handle (DNS, TLS sessions).
 * Each pooled easy handle keeps its own kept-alive connection; requests from
 * any thread take a handle from the pool.  The connection cache is NOT in the
 * share handle: libcurl 7.88 documents sharing it between concurrent threads
 * as unsafe (CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT), and a run with 40
 * workers crashed inside libcrypto with it shared.
 * Every request passes the token bucket first.  The one status mapper,
 * kclient_map_status(), lives here.
 */
#include "kube/kclient.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/buf.h"
#include "common/limits.h"
#include "kube/khttp.h"
#include "kube/kinternal.h"
#include "kube/kjson.h"
#include "kube/kskim.h"
#include "kube/ktls.h"

#define KCLIENT_POOL_MAX        16
#define KCLIENT_CONNECT_TIMEOUT 10000
#define KCLIENT_URL_MAX         (KPATH_MAX + 2048)

struct kclient {
    struct kconfig cfg; /* deep copy */
    struct kclient_opts opts;
    char *ua;
    char *connect_to;                /* "tls-server-name:port:host:port" or NULL */
    struct curl_slist *connect_list; /* connect_to as curl's list, shared read-only */
    struct ktls *tls;                /* the credentials parsed once (ktls.h), or NULL: PEM blobs */
    char *base;                      /* URL prefix actually used */
    bool proxy_env;                  /* a proxy variable was set when the client started */
    struct khttp *http;              /* our own HTTP/1.1 (khttp.h), or NULL: libcurl */

    pthread_mutex_t mu; /* bucket, pool, token, stats */
    struct kbucket bucket;
    CURL *pool[KCLIENT_POOL_MAX];
    int npool;
    char *token;
    struct timespec token_mtime;
    struct kclient_stats stats;

    CURLSH *share;
    pthread_mutex_t share_mu[CURL_LOCK_DATA_LAST];
};

/* ---- rate limiter ------------------------------------------------------------ */

void
kbucket_init(struct kbucket *b, double qps, int burst, struct clock clock)
{
    b->qps = qps;
    b->burst = burst < 1 ? 1 : burst;
    b->tokens = b->burst;
    b->clock = clock;
    b->last_ms = clock_mono_ms(&clock);
}

int64_t
kbucket_reserve(struct kbucket *b)
{
    int64_t now;
    double wait;

    if (b->qps <= 0)
        return 0;
    now = clock_mono_ms(&b->clock);
    if (now > b->last_ms) {
        b->tokens += (double)(now - b->last_ms) * b->qps / 1000.0;
        if (b->tokens > b->burst)
            b->tokens = b->burst;
        b->last_ms = now;
    }
    b->tokens -= 1.0;
    if (b->tokens >= 0)
        return 0;
    /* Debt: the caller waits until the bucket is back at zero. */
    wait = -b->tokens * 1000.0 / b->qps;
    return (int64_t)(wait + 0.999);
}

/* ---- options, construction ------------------------------------------------------- */

void
kclient_opts_default(struct kclient_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->qps = 5;
    o->burst = 10;
    o->timeout_ms = 30000;
    o->max_retries = 3;
}

static void
share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *ctx)
{
    struct kclient *c = ctx;
    (void)h;
    (void)access;
    if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
        pthread_mutex_lock(&c->share_mu[data]);
}

static void
share_unlock(CURL *h, curl_lock_data data, void *ctx)
{
    struct kclient *c = ctx;
    (void)h;
    if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
        pthread_mutex_unlock(&c->share_mu[data]);
}

static char *
memdup0(const char *p, size_t n)
{
    char *d = malloc(n + 1);
    if (d != NULL) {
        memcpy(d, p, n);
        d[n] = '\0';
    }
    return d;
}

static int
copy_cfg(struct kconfig *d, const struct kconfig *s)
{
    struct {
        char **dst;
        const char *src;
    } strs[] = {{&d->source, s->source},
                {&d->server, s->server},
                {&d->tls_server_name, s->tls_server_name},
                {&d->token, s->token},
                {&d->token_file, s->token_file},
                {&d->namespace, s->namespace}};
    struct {
        char **dst;
        size_t *dlen;
        const char *src;
        size_t len;
    } blobs[] = {{&d->ca_pem, &d->ca_len, s->ca_pem, s->ca_len},
                 {&d->cert_pem, &d->cert_len, s->cert_pem, s->cert_len},
                 {&d->key_pem, &d->key_len, s->key_pem, s->key_len}};

    memset(d, 0, sizeof(*d));
    d->insecure = s->insecure;
    for (size_t i = 0; i < SC_ARRAY_LEN(strs); i++) {
        if (strs[i].src != NULL && (*strs[i].dst = strdup(strs[i].src)) == NULL)
            return SC_ENOMEM;
    }
    for (size_t i = 0; i < SC_ARRAY_LEN(blobs); i++) {
        if (blobs[i].src == NULL)
            continue;
        if ((*blobs[i].dst = memdup0(blobs[i].src, blobs[i].len)) == NULL)
            return SC_ENOMEM;
        *blobs[i].dlen = blobs[i].len;
    }
    return 0;
}

static void
free_cfg_fields(struct kconfig *c)
{
    free(c->source);
    free(c->server);
    free(c->ca_pem);
    free(c->tls_server_name);
    free(c->cert_pem);
    if (c->key_pem)
        explicit_bzero(c->key_pem, c->key_len);
    free(c->key_pem);
    if (c->token)
        explicit_bzero(c->token, strlen(c->token));
    free(c->token);
    free(c->token_file);
    free(c->namespace);
}

/* Split "https://host:port" for tls-server-name: URL uses the name, and
 * CONNECT_TO sends the connection to the real host. */
static int
setup_server_name(struct kclient *c)
{
    const char *s = c->cfg.server;
    const char *hp = strstr(s, "://");
    const char *host, *end, *colon;
    const char *port;
    int dflt;

    if (hp == NULL)
        return SC_EINVALID;
    dflt = strncmp(s, "https", 5) == 0 ? 443 : 80;
    host = hp + 3;
    end = strchr(host, '/');
    if (end == NULL)
        end = host + strlen(host);
    if (host[0] == '[') {
        const char *rb = memchr(host, ']', (size_t)(end - host));
        if (rb == NULL)
            return SC_EINVALID;
        colon = (rb + 1 < end && rb[1] == ':') ? rb + 1 : NULL;
    } else {
        colon = memchr(host, ':', (size_t)(end - host));
    }
    char portbuf[16];
    if (colon != NULL) {
        snprintf(portbuf, sizeof(portbuf), "%.*s", (int)(end - colon - 1), colon + 1);
    } else {
        snprintf(portbuf, sizeof(portbuf), "%d", dflt);
        colon = end;
    }
    port = portbuf;
    if (c->cfg.tls_server_name == NULL) {
        c->base = strdup(s);
        return c->base ? 0 : SC_ENOMEM;
    }
    if (asprintf(&c->connect_to, "%s:%s:%.*s:%s", c->cfg.tls_server_name, port, (int)(colon - host),
                 host, port) < 0) {
        c->connect_to = NULL;
        return SC_ENOMEM;
    }
    c->connect_list = curl_slist_append(NULL, c->connect_to);
    if (c->connect_list == NULL)
        return SC_ENOMEM;
    if (asprintf(&c->base, "%.*s://%s:%s%s", (int)(hp - s), s, c->cfg.tls_server_name, port, end) <
        0) {
        c->base = NULL;
        return SC_ENOMEM;
    }
    return 0;
}

static void
normalise_opts(struct kclient_opts *o, const struct kclient_opts *in)
{
    if (in != NULL)
        *o = *in;
    else
        kclient_opts_default(o);
    if (o->timeout_ms <= 0)
        o->timeout_ms = 30000;
    if (o->max_retries == 0)
        o->max_retries = 3;
    if (o->max_retries < 0)
        o->max_retries = 0;
    if (o->clock.mono_ms == NULL)
        o->clock = clock_system();
    if (o->max_body == 0 || o->max_body > LIM_API_BODY)
        o->max_body = LIM_API_BODY;
}

/* Strings the client owns: config copy, URL parts, user agent, token. */
static int
init_strings(struct kclient *c, const struct kconfig *cfg)
{
    int rc = copy_cfg(&c->cfg, cfg);

    if (rc == 0)
        rc = setup_server_name(c);
    if (rc != 0)
        return rc;
    /* sent as a header of our list: curl's CURLOPT_USERAGENT formats it anew
     * for every request */
    if (asprintf(&c->ua, "User-Agent: %s",
                 c->opts.user_agent ? c->opts.user_agent : "snapshot-controller/" SC_VERSION) < 0)
        c->ua = NULL;
    c->opts.user_agent = NULL;
    if (c->ua == NULL)
        return SC_ENOMEM;
    if (c->cfg.token != NULL && (c->token = strdup(c->cfg.token)) == NULL)
        return SC_ENOMEM;
    return 0;
}

static int
init_share(struct kclient *c)
{
    c->share = curl_share_init();
    if (c->share == NULL)
        return SC_ENOMEM;
    curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    return 0;
}

/* Is any variable set that curl reads to choose a proxy?  curl reads them
 * (getenv, 6 calls) on every request unless the handle names its proxy and
 * its no-proxy list; when none is set at start, setup_shared() names none,
 * which is what curl would find.  When one is set, curl reads them as
 * always (client-go reads them once). */
static bool
proxy_env_set(void)
{
    static const char *const vars[] = {"http_proxy",  "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
                                       "all_proxy",   "ALL_PROXY",  "no_proxy",    "NO_PROXY",
                                       "socks_proxy", "SOCKS_PROXY"};

    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
        const char *v = getenv(vars[i]);

        if (v != NULL && v[0] != '\0')
            return true;
    }
    return false;
}

/* Can our own HTTP/1.1 (khttp.h) serve this client?  Not through a proxy,
 * and not with the system's trust store (libcurl knows where it is on
 * every distribution): a CA of the kubeconfig, no verification, or plain
 * http. */
static bool
own_http_fits(const struct kclient *c)
{
    if (c->proxy_env)
        return false;
    return strncmp(c->cfg.server, "http://", 7) == 0 || c->cfg.insecure || ktls_has_ca(c->tls);
}

struct kclient *
kclient_new(const struct kconfig *cfg, const struct kclient_opts *opts, struct sc_err *err)
{
    struct kclient *c = NULL;
    int rc;

    if (cfg == NULL || cfg->server == NULL) {
        sc_err_set(err, SC_EINVALID, "kclient: no server configured");
        return NULL;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        sc_err_set(err, SC_ENOMEM, "kclient: out of memory");
        return NULL;
    }
    normalise_opts(&c->opts, opts);
    c->proxy_env = proxy_env_set();
    pthread_mutex_init(&c->mu, NULL);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&c->share_mu[i], NULL);
    kbucket_init(&c->bucket, c->opts.qps, c->opts.burst, c->opts.clock);
    rc = init_strings(c, cfg);
    if (rc != 0) {
        sc_err_set(err, rc, "kclient: %s", rc == SC_ENOMEM ? "out of memory" : "bad server URL");
        kclient_free(c);
        return NULL;
    }
    rc = ktls_new(c->cfg.insecure ? NULL : c->cfg.ca_pem, c->cfg.ca_len, c->cfg.cert_pem,
                  c->cfg.cert_len, c->cfg.key_pem, c->cfg.key_len, &c->tls, err);
    if (rc != 0) {
        sc_err_wrap(err, rc, "kclient");
        kclient_free(c);
        return NULL;
    }
    if (init_share(c) != 0) {
        sc_err_set(err, SC_ENOMEM, "kclient: curl_share_init failed");
        kclient_free(c);
        return NULL;
    }
    if (own_http_fits(c) && (rc = khttp_new(c->cfg.server, c->cfg.tls_server_name, c->tls,
                                            c->cfg.insecure, &c->http, err)) != 0) {
        sc_err_wrap(err, rc, "kclient");
        kclient_free(c);
        return NULL;
    }
    return c;
}

void
kclient_free(struct kclient *c)
{
    if (c == NULL)
        return;
    for (int i = 0; i < c->npool; i++)
        curl_easy_cleanup(c->pool[i]);
    khttp_free(c->http);
    if (c->share != NULL)
        curl_share_cleanup(c->share);
    free_cfg_fields(&c->cfg);
    free(c->ua);
    free(c->connect_to);
    curl_slist_free_all(c->connect_list);
    ktls_free(c->tls);
    free(c->base);
    if (c->token) {
        explicit_bzero(c->token, strlen(c->token));
        free(c->token);
    }
    pthread_mutex_destroy(&c->mu);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&c->share_mu[i]);
    free(c);
}

void
kclient_get_stats(struct kclient *c, struct kclient_stats *out)
{
    pthread_mutex_lock(&c->mu);
    *out = c->stats;
    pthread_mutex_unlock(&c->mu);
}

/* ---- paths ---------------------------------------------------------------------- */

static int
is_unreserved(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '.' || ch == '_' || ch == '~';
}

/* Append s percent-escaped to b. */
static int
buf_add_escaped(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        int rc;
        if (is_unreserved(ch)) {
            rc = buf_add(b, s, 1);
        } else {
            char e[3] = {'%', hex[ch >> 4], hex[ch & 15]};
            rc = buf_add(b, e, 3);
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}

static bool
is_empty(const char *s)
{
    return s == NULL || s[0] == '\0';
}

/* Append "/<seg>" escaped, or nothing when seg is NULL. */
static int
add_segment(struct buf *b, const char *prefix, const char *seg)
{
    int rc;

    if (seg == NULL)
        return 0;
    rc = buf_adds(b, prefix);
    return rc ? rc : buf_add_escaped(b, seg);
}

int
kpath(char *out, size_t cap, const char *group, const char *version, const char *resource,
      const char *ns, const char *name, const char *sub)
{
    struct buf b = {0};
    int rc;

    if (is_empty(resource) || is_empty(version))
        return SC_EINVALID;
    if ((sub != NULL && name == NULL) || (name != NULL && name[0] == '\0') ||
        (ns != NULL && ns[0] == '\0'))
        return SC_EINVALID;
    buf_init(&b, cap ? cap - 1 : 0);
    /* pieces, not printf: a path is built for every request */
    if (is_empty(group))
        rc = buf_adds(&b, "/api/");
    else if ((rc = buf_adds(&b, "/apis/")) == 0 && (rc = buf_adds(&b, group)) == 0)
        rc = buf_add(&b, "/", 1);
    if (rc == 0)
        rc = buf_adds(&b, version);
    if (rc == 0)
        rc = add_segment(&b, "/namespaces/", ns);
    if (rc == 0 && (rc = buf_add(&b, "/", 1)) == 0)
        rc = buf_adds(&b, resource);
    if (rc == 0)
        rc = add_segment(&b, "/", name);
    if (rc == 0 && sub != NULL && (rc = buf_add(&b, "/", 1)) == 0)
        rc = buf_adds(&b, sub);
    if (rc == 0)
        memcpy(out, buf_str(&b), b.len + 1); /* b's cap guarantees it fits */
    buf_release(&b);
    if (rc == SC_ENOMEM)
        return SC_ENOMEM;
    return rc != 0 ? SC_ETOOBIG : 0;
}

/* ---- status mapping ------------------------------------------------------------- */

static void
copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* What a metav1.Status body says (pointers borrowed from *st). */
struct kstatus {
    json_t *st; /* owned; NULL when the body is not JSON */
    const char *reason, *message;
    int retry;
};

static void
read_status_body(const char *body, size_t len, struct kstatus *s)
{
    struct kjson r = {0};
    const char *kind;

    memset(s, 0, sizeof(*s));
    if (body == NULL || len == 0 || len > LIM_API_BODY)
        return;
    s->st = json_loadb(body, len, 0, NULL);
    if (s->st == NULL || !json_is_object(s->st))
        return;
    kjson_init(&r, s->st, NULL);
    kind = kjson_str(&r, "kind");
    if (kind != NULL && strcmp(kind, "Status") != 0)
        return;
    s->reason = kjson_str(&r, "reason");
    s->message = kjson_str(&r, "message");
    s->retry = (int)kjson_int(&r, "details.retryAfterSeconds", 0);
    if (kjson_error(&r) != 0) {
        s->reason = s->message = NULL;
        s->retry = 0;
    }
}

/* Retry-After in seconds (HTTP dates are not used by the API server). */
static int
retry_seconds(const char *hdr, int from_body)
{
    int retry = from_body;

    if (hdr != NULL) {
        char *end;
        long v = strtol(hdr, &end, 10);
        if (end != hdr && v > 0 && v < 86400)
            retry = (int)v;
    }
    return (retry < 0 || retry > 86400) ? 0 : retry;
}

static bool
reason_is(const char *reason, const char *want)
{
    return reason != NULL && strcmp(reason, want) == 0;
}

static int
code_for_status(long http_status, const char *reason)
{
    switch (http_status) {
    case 400:
    case 422:
        return SC_EINVALID;
    case 401:
        return SC_EUNAUTHORIZED;
    case 403:
        return SC_EFORBIDDEN;
    case 404:
        return SC_ENOTFOUND;
    case 409:
        return reason_is(reason, "AlreadyExists") ? SC_EEXIST : SC_ECONFLICT;
    case 410:
        return SC_EGONE;
    case 413:
        return SC_ETOOBIG;
    case 429:
        return SC_ETOOMANY;
    case 504:
        return SC_ETIMEOUT;
    default:
        break;
    }
    if (http_status < 500 || http_status >= 600)
        return SC_EPROTO;
    return reason_is(reason, "Timeout") ? SC_ETIMEOUT : SC_ESERVER;
}

int
kclient_map_status(long http_status, const char *body, size_t len, const char *retry_after_hdr,
                   struct sc_err *err)
{
    struct kstatus s = {0};
    int code;

    if (http_status >= 200 && http_status < 300)
        return 0;
    read_status_body(body, len, &s);
    code = code_for_status(http_status, s.reason);
    if (err != NULL) {
        err->code = code;
        err->http_status = http_status;
        err->retry_after = retry_seconds(retry_after_hdr, s.retry);
        copy_str(err->reason, sizeof(err->reason), s.reason ? s.reason : "");
        if (s.message != NULL && s.message[0] != '\0')
            copy_str(err->msg, sizeof(err->msg), s.message);
        else
            snprintf(err->msg, sizeof(err->msg), "HTTP %ld%s%s", http_status, s.reason ? " " : "",
                     s.reason ? s.reason : "");
    }
    json_decref(s.st);
    return code;
}

/* ---- the request engine ------------------------------------------------------------- */

struct xfer {
    struct buf body; /* response body (non-stream), or error body (stream) */
    char retry_after[32];
    /* streaming */
    CURL *h;
    kstream_fn *fn;
    void *ctx;
    int fn_rc;
    int status_checked;
    int stream_ok;
    const volatile int *stop;
    int too_big;
};

static size_t
on_header(char *p, size_t size, size_t n, void *ud)
{
    struct xfer *x = ud;
    size_t len = size * n;
    static const char key[] = "retry-after:";

    if (len > sizeof(key) && strncasecmp(p, key, sizeof(key) - 1) == 0) {
        const char *v = p + sizeof(key) - 1;
        size_t vl = len - (sizeof(key) - 1);
        while (vl > 0 && (*v == ' ' || *v == '\t')) {
            v++;
            vl--;
        }
        while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
            vl--;
        if (vl >= sizeof(x->retry_after))
            vl = sizeof(x->retry_after) - 1;
        memcpy(x->retry_after, v, vl);
        x->retry_after[vl] = '\0';
    }
    return len;
}

static size_t
on_body(char *p, size_t size, size_t n, void *ud)
{
    struct xfer *x = ud;
    size_t len = size * n;

    if (x->fn != NULL) {
        if (!x->status_checked) {
            long st = 0;
            curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &st);
            x->status_checked = 1;
            x->stream_ok = st >= 200 && st < 300;
        }
        if (x->stream_ok) {
            x->fn_rc = x->fn(x->ctx, p, len);
            return x->fn_rc == 0 ? len : 0;
        }
    }
    if (buf_add(&x->body, p, len) != 0) {
        x->too_big = 1;
        return 0;
    }
    return len;
}

/* Where a 2xx body goes instead of a JSON tree: fed to fn chunk by chunk. */
struct xsink {
    kstream_fn *fn;
    void *ctx;
};

static int
on_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c2, curl_off_t d)
{
    struct xfer *x = ud;
    (void)a;
    (void)b;
    (void)c2;
    (void)d;
    return (x->stop != NULL && __atomic_load_n(x->stop, __ATOMIC_ACQUIRE)) ? 1 : 0;
}

static void
sleep_ms(int64_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void
throttle(struct kclient *c)
{
    int64_t wait;

    pthread_mutex_lock(&c->mu);
    wait = kbucket_reserve(&c->bucket);
    c->stats.throttled_ms += (uint64_t)wait;
    pthread_mutex_unlock(&c->mu);
    if (wait > 0)
        sleep_ms(wait);
}

/* Re-read the token file when its mtime changed (or force).  Takes c->mu
 * only to compare and to swap: the file is read without it (a slow or
 * blocking file must not stall every other request). */
static void
refresh_token(struct kclient *c, int force)
{
    struct stat st = {0};
    char *t = NULL, *old = NULL;
    size_t n;
    bool same;

    if (c->cfg.token_file == NULL || stat(c->cfg.token_file, &st) != 0)
        return;
    pthread_mutex_lock(&c->mu);
    same = c->token != NULL && st.st_mtim.tv_sec == c->token_mtime.tv_sec &&
           st.st_mtim.tv_nsec == c->token_mtime.tv_nsec;
    pthread_mutex_unlock(&c->mu);
    if (same && !force)
        return;
    if (kfile_read(c->cfg.token_file, LIM_TOKEN_FILE, &t, &n, NULL) != 0)
        return;
    while (n > 0 && (t[n - 1] == '\n' || t[n - 1] == '\r' || t[n - 1] == ' '))
        t[--n] = '\0';
    pthread_mutex_lock(&c->mu);
    old = c->token;
    c->token = t;
    c->token_mtime = st.st_mtim;
    c->stats.token_reloads++;
    pthread_mutex_unlock(&c->mu);
    if (old != NULL) {
        explicit_bzero(old, strlen(old));
        free(old);
    }
}

/* A handle from the pool, or a new one (*fresh set: it has none of the
 * settings every exchange shares yet).  Pooled handles are NOT reset: their
 * shared settings stay, and setup_exchange() sets every per-exchange one
 * (curl_easy_reset() and setting everything again cost about a tenth of a
 * kept-alive exchange's instructions: docs/performance.md). */
static CURL *
pool_get(struct kclient *c, bool *fresh)
{
    CURL *h = NULL;

    pthread_mutex_lock(&c->mu);
    if (c->npool > 0)
        h = c->pool[--c->npool];
    pthread_mutex_unlock(&c->mu);
    *fresh = h == NULL;
    if (h == NULL)
        h = curl_easy_init();
    return h;
}

/* Back to the pool with no pointer into the finished exchange's memory
 * (its error buffer, headers, body and sink live on the caller's stack). */
static void
pool_put(struct kclient *c, CURL *h)
{
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, NULL);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, NULL);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)-1);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
    pthread_mutex_lock(&c->mu);
    if (c->npool < KCLIENT_POOL_MAX) {
        c->pool[c->npool++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&c->mu);
    if (h != NULL)
        curl_easy_cleanup(h);
}

/* TLS for a handle: the credentials parsed once (c->tls), else the PEM
 * blobs for curl to parse per connection; verification. */
static void
setup_tls(struct kclient *c, CURL *h)
{
    if (c->tls != NULL) {
        curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, ktls_ctx_cb);
        curl_easy_setopt(h, CURLOPT_SSL_CTX_DATA, (void *)c->tls);
        if (ktls_has_ca(c->tls)) { /* that CA alone, not the system bundle too */
            curl_easy_setopt(h, CURLOPT_CAINFO, NULL);
            curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
        }
    } else if (c->cfg.ca_pem != NULL) {
        struct curl_blob blob = {
            .data = c->cfg.ca_pem, .len = c->cfg.ca_len, .flags = CURL_BLOB_COPY};
        curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
    }
    if (c->cfg.insecure) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (c->tls == NULL && c->cfg.cert_pem != NULL && c->cfg.key_pem != NULL) {
        struct curl_blob cb = {
            .data = c->cfg.cert_pem, .len = c->cfg.cert_len, .flags = CURL_BLOB_COPY};
        struct curl_blob kb = {
            .data = c->cfg.key_pem, .len = c->cfg.key_len, .flags = CURL_BLOB_COPY};
        curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &cb);
        curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
        curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &kb);
        curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
    }
}

/* One exchange's request headers: curl reads the list during the transfer
 * only, so its nodes live here, not in curl_slist_append()'s mallocs. */
#define KCLIENT_CTYPE_MAX 96
struct hdrs {
    struct curl_slist node[5];
    const char *line[5]; /* the same lines, for khttp */
    size_t n;
    char ctype[KCLIENT_CTYPE_MAX]; /* "Content-Type: ..." */
    char *auth;                    /* "Authorization: Bearer ..." or NULL; hdrs_release() */
};

/* Accept, User-Agent, Content-Type and Expect (with a body) and the current
 * bearer token, linked in h->node; the head of the list. */
static int
build_headers(struct kclient *c, bool has_body, const char *ctype, struct hdrs *h,
              struct curl_slist **out)
{
    size_t n = 0;
    bool nomem;
    int len;

    h->auth = NULL;
    h->node[n++].data = (char *)"Accept: application/json";
    h->node[n++].data = c->ua;
    if (has_body) {
        len = snprintf(h->ctype, sizeof(h->ctype), "Content-Type: %s",
                       ctype ? ctype : "application/json");
        if (len < 0 || (size_t)len >= sizeof(h->ctype))
            return SC_EINVALID;
        h->node[n++].data = h->ctype;
        h->node[n++].data = (char *)"Expect:"; /* no 100-continue round trip before a body */
    }
    refresh_token(c, 0);
    pthread_mutex_lock(&c->mu);
    if (c->token != NULL && asprintf(&h->auth, "Authorization: Bearer %s", c->token) < 0)
        h->auth = NULL;
    nomem = c->token != NULL && h->auth == NULL;
    pthread_mutex_unlock(&c->mu);
    if (nomem)
        return SC_ENOMEM;
    if (h->auth != NULL)
        h->node[n++].data = h->auth;
    for (size_t i = 0; i < n; i++) {
        h->node[i].next = i + 1 < n ? &h->node[i + 1] : NULL;
        h->line[i] = h->node[i].data;
    }
    h->n = n;
    *out = &h->node[0];
    return 0;
}

/* After the transfer: the token's copy is wiped. */
static void
hdrs_release(struct hdrs *h)
{
    if (h->auth != NULL) {
        explicit_bzero(h->auth, strlen(h->auth));
        free(h->auth);
        h->auth = NULL;
    }
}

/* The settings every exchange of this client shares, set once per handle:
 * pooled handles keep them (pool_get()). */
static void
setup_shared(struct kclient *c, CURL *h)
{
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_SHARE, c->share);
    /* HTTP/1.1: every handle keeps its own connection whichever version is
     * spoken (curl multiplexes only inside one multi handle), and curl's and
     * the API server's HTTP/2 framing cost CPU per request for nothing:
     * docs/performance.md, "HTTP/1.1 instead of HTTP/2". */
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)KCLIENT_CONNECT_TIMEOUT);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    if (c->connect_list != NULL)
        curl_easy_setopt(h, CURLOPT_CONNECT_TO, c->connect_list);
    if (!c->proxy_env) { /* no proxy, and no environment read per request */
        curl_easy_setopt(h, CURLOPT_PROXY, "");
        curl_easy_setopt(h, CURLOPT_NOPROXY, "");
    }
    setup_tls(c, h);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
}

/* Configure h for one exchange: every setting that differs between
 * exchanges is set here, whatever the handle did before.  The headers live
 * in *hd, which the caller hdrs_release()s after the transfer (pool_put()
 * unhooks them). */
static int
setup_exchange(struct kclient *c, CURL *h, const char *method, const char *url, const char *ctype,
               const struct buf *body, struct xfer *x, struct hdrs *hd, char *errbuf)
{
    struct curl_slist *list = NULL;
    int rc = build_headers(c, body != NULL, ctype, hd, &list);

    if (rc != 0)
        return rc;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
    /* Back to a plain GET (HTTPGET clears POST and upload state), then the
     * method and body of this exchange. */
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)-1);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, strcmp(method, "GET") == 0 ? NULL : method);
    if (body != NULL) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, buf_str(body));
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
    }
    curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    return 0;
}

static int
map_curl(CURLcode cc, const char *errbuf, const char *method, const char *path,
         const struct xfer *x, struct sc_err *err)
{
    int code;

    if (x->too_big)
        return sc_err_set(err, SC_ETOOBIG, "%s %s: response body exceeds the %zu byte limit",
                          method, path, x->body.max);
    switch (cc) {
    case CURLE_OPERATION_TIMEDOUT:
        code = SC_ETIMEOUT;
        break;
    case CURLE_OUT_OF_MEMORY:
        code = SC_ENOMEM;
        break;
    default:
        code = SC_EIO;
    }
    return sc_err_set(err, code, "%s %s: %s", method, path,
                      errbuf[0] ? errbuf : curl_easy_strerror(cc));
}

static int
build_url(struct kclient *c, const char *path, const char *query, char *url, size_t cap,
          struct sc_err *err)
{
    int n;

    if (path == NULL || path[0] != '/')
        return sc_err_set(err, SC_EINVALID, "api path must start with '/'");
    /* khttp takes "path?query" (base's prefix is its own to add) */
    n = snprintf(url, cap, "%s%s%s%s", c->http != NULL ? "" : c->base, path,
                 query && query[0] ? "?" : "", query ? query : "");
    if (n < 0 || (size_t)n >= cap)
        return sc_err_set(err, SC_ETOOBIG, "request URL too long");
    return 0;
}

/* Count one exchange (and the connection it opened, if any) in the stats. */
static void
count_exchange(struct kclient *c, CURL *h)
{
    long nconn = 0;

    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &nconn);
    pthread_mutex_lock(&c->mu);
    c->stats.requests++;
    c->stats.connects += (uint64_t)(nconn > 0 ? nconn : 0);
    pthread_mutex_unlock(&c->mu);
}

/* A complete response: a 2xx body parsed into *out (when wanted and not
 * sunk), anything else mapped by the one status mapper. */
static int
exchange_status(struct kclient *c, const char *method, const char *path, long status,
                const struct xfer *x, bool sunk, json_t **out, struct sc_err *err)
{
    int rc;

    if (status >= 200 && status < 300 && sunk)
        return 0;
    if (status >= 200 && status < 300) {
        rc = out ? kskim_parse(buf_str(&x->body), x->body.len, c->opts.max_body, out, err) : 0;
        if (rc != 0)
            sc_err_wrap(err, rc, "%s %s: response", method, path);
        return rc;
    }
    return kclient_map_status(status, buf_str(&x->body), x->body.len,
                              x->retry_after[0] ? x->retry_after : NULL, err);
}

/* ---- our own HTTP/1.1 (khttp.h) ---- */

/* Where khttp delivers a body: a 2xx to the sink when there is one, else
 * into x->body under its cap. */
static int
own_body(void *ctx, int status, const char *p, size_t n)
{
    struct xfer *x = ctx;

    if (x->fn != NULL && status >= 200 && status < 300) {
        x->fn_rc = x->fn(x->ctx, p, n);
        return x->fn_rc;
    }
    if (buf_add(&x->body, p, n) != 0) {
        x->too_big = 1;
        return SC_ETOOBIG;
    }
    return 0;
}

static void
count_own(struct kclient *c, bool connected, bool resumed)
{
    pthread_mutex_lock(&c->mu);
    c->stats.requests++;
    c->stats.connects += connected ? 1 : 0;
    c->stats.resumed += resumed ? 1 : 0;
    pthread_mutex_unlock(&c->mu);
}

/* exchange() over khttp; stream: a watch (stop, max_ms, no pooled
 * connection).  The body goes to x (own_body); the caller maps. */
static int
own_perform(struct kclient *c, const char *method, const char *target, const char *ctype,
            const struct buf *req, struct xfer *x, int64_t timeout_ms, bool stream,
            struct khttp_resp *rs, struct sc_err *err)
{
    struct hdrs hdrs = {0};
    struct curl_slist *list = NULL;
    int rc;

    throttle(c);
    rc = build_headers(c, req != NULL, ctype, &hdrs, &list);
    if (rc != 0) {
        memset(rs, 0, sizeof(*rs));
        return sc_err_set(err, rc, "%s",
                          rc == SC_ENOMEM ? "out of memory" : "content type too long");
    }
    struct khttp_req rq = {.method = method,
                           .target = target,
                           .headers = hdrs.line,
                           .nheaders = hdrs.n,
                           .body = req != NULL ? buf_str(req) : NULL,
                           .body_len = req != NULL ? req->len : 0,
                           .timeout_ms = timeout_ms,
                           .stop = x->stop,
                           .watch_keepalive = stream,
                           .body_fn = own_body,
                           .body_ctx = x};
    rc = khttp_exchange(c->http, &rq, rs, err);
    hdrs_release(&hdrs);
    count_own(c, rs->connected && !stream, rs->connected && rs->resumed);
    memcpy(x->retry_after, rs->retry_after, sizeof(x->retry_after));
    x->retry_after[sizeof(x->retry_after) - 1] = '\0';
    return rc;
}

static int
exchange_own(struct kclient *c, const char *method, const char *path, const char *target,
             const char *ctype, const struct buf *req, json_t **out, const struct xsink *sink,
             int64_t timeout_ms, struct sc_err *err)
{
    struct khttp_resp rs = {0};
    struct xfer x = {0};
    int rc;

    buf_init(&x.body, c->opts.max_body);
    if (sink != NULL) {
        x.fn = sink->fn;
        x.ctx = sink->ctx;
    }
    rc = own_perform(c, method, target, ctype, req, &x, timeout_ms, false, &rs, err);
    if (x.fn_rc != 0)
        rc = x.fn_rc; /* the sink's error, err filled by it */
    else if (x.too_big)
        rc = sc_err_set(err, SC_ETOOBIG, "%s %s: response body exceeds the %zu byte limit", method,
                        path, x.body.max);
    else if (rc != 0)
        sc_err_wrap(err, rc, "%s %s", method, path);
    else
        rc = exchange_status(c, method, path, rs.status, &x, sink != NULL, out, err);
    buf_release(&x.body);
    return rc;
}

/* One HTTP exchange: throttle, perform, map the outcome. */
static int
exchange(struct kclient *c, const char *method, const char *path, const char *url,
         const char *ctype, const struct buf *req, json_t **out, const struct xsink *sink,
         int64_t timeout_ms, struct sc_err *err)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    struct hdrs hdrs = {0};
    struct xfer x = {0};
    long status = 0;
    CURLcode cc;
    CURL *h;
    bool fresh;
    int rc;

    throttle(c);
    h = pool_get(c, &fresh);
    if (h == NULL)
        return sc_err_set(err, SC_ENOMEM, "%s %s: curl_easy_init failed", method, path);
    if (fresh)
        setup_shared(c, h);
    memset(&x, 0, sizeof(x));
    buf_init(&x.body, c->opts.max_body);
    if (sink != NULL) {
        x.h = h;
        x.fn = sink->fn;
        x.ctx = sink->ctx;
    }
    rc = setup_exchange(c, h, method, url, ctype, req, &x, &hdrs, errbuf);
    if (rc != 0) {
        curl_easy_cleanup(h);
        return sc_err_set(err, rc, "%s %s: %s", method, path,
                          rc == SC_ENOMEM ? "out of memory" : "content type too long");
    }
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    cc = curl_easy_perform(h);
    count_exchange(c, h);
    if (cc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (cc == CURLE_OK) {
        pool_put(c, h);
    } else { /* a failed transfer: a new handle next time, nothing carried over */
        curl_easy_cleanup(h);
    }
    hdrs_release(&hdrs);
    if (cc != CURLE_OK && x.fn_rc != 0)
        rc = x.fn_rc; /* the sink's error, err filled by it */
    else if (cc != CURLE_OK)
        rc = map_curl(cc, errbuf, method, path, &x, err);
    else
        rc = exchange_status(c, method, path, status, &x, sink != NULL, out, err);
    buf_release(&x.body);
    return rc;
}

/* After a failed exchange: ms to wait before trying again, or -1 to give up.
 * A 401 re-reads a token file once; 429 and 5xx-with-Retry-After wait. */
static int64_t
retry_after_ms(struct kclient *c, int rc, const struct sc_err *err, int *attempt, int *reauth)
{
    if (rc == SC_EUNAUTHORIZED && c->cfg.token_file != NULL && !*reauth) {
        *reauth = 1;
        refresh_token(c, 1);
        return 0;
    }
    if (rc != SC_ETOOMANY && rc != SC_ESERVER)
        return -1;
    if (err->retry_after <= 0 || err->retry_after > KCLIENT_MAX_RETRY_AFTER_S ||
        *attempt >= c->opts.max_retries)
        return -1;
    (*attempt)++;
    pthread_mutex_lock(&c->mu);
    c->stats.retries++;
    pthread_mutex_unlock(&c->mu);
    return (int64_t)err->retry_after * 1000;
}

/* One request with retries, its body (NULL: none) already serialised.  On
 * 2xx *out gets the parsed body (if out). */
static int
send_prepared(struct kclient *c, const char *method, const char *path, const char *query,
              const char *ctype, const struct buf *req, json_t **out, const struct xsink *sink,
              int64_t timeout_ms, struct sc_err *err)
{
    char url[KCLIENT_URL_MAX];
    struct sc_err local = {0};
    int rc, attempt = 0, reauth = 0;

    if (err == NULL)
        err = &local; /* the retry decision needs Retry-After */
    rc = build_url(c, path, query, url, sizeof(url), err);
    if (rc != 0)
        return rc;
    for (;;) {
        rc = c->http != NULL
                 ? exchange_own(c, method, path, url, ctype, req, out, sink, timeout_ms, err)
                 : exchange(c, method, path, url, ctype, req, out, sink, timeout_ms, err);
        if (rc == 0)
            break;
        int64_t wait = retry_after_ms(c, rc, err, &attempt, &reauth);
        if (wait < 0)
            break;
        if (wait > 0)
            sleep_ms(wait);
    }
    return rc;
}

/* One request with retries, body (NULL: none) serialised here. */
static int
do_request_t(struct kclient *c, const char *method, const char *path, const char *query,
             const char *ctype, const json_t *body, json_t **out, const struct xsink *sink,
             int64_t timeout_ms, struct sc_err *err)
{
    struct buf req = {0};
    int rc;

    buf_init(&req, LIM_REQUEST_BODY);
    if (body != NULL && (rc = kjson_dumpb(body, &req, err)) != 0) {
        buf_release(&req);
        return sc_err_wrap(err, rc, "%s %s", method, path);
    }
    rc = send_prepared(c, method, path, query, ctype, body ? &req : NULL, out, sink, timeout_ms,
                       err);
    buf_release(&req);
    return rc;
}

static int
do_request(struct kclient *c, const char *method, const char *path, const char *query,
           const char *ctype, const json_t *body, json_t **out, struct sc_err *err)
{
    return do_request_t(c, method, path, query, ctype, body, out, NULL, c->opts.timeout_ms, err);
}

int
kclient_request_timeout(struct kclient *c, const char *method, const char *path, const json_t *body,
                        json_t **out, int64_t timeout_ms, struct sc_err *err)
{
    if (timeout_ms <= 0 || timeout_ms > c->opts.timeout_ms)
        timeout_ms = c->opts.timeout_ms;
    return do_request_t(c, method, path, NULL, body ? "application/json" : NULL, body, out, NULL,
                        timeout_ms, err);
}

int
kclient_request(struct kclient *c, const char *method, const char *path, const char *query,
                const char *content_type, const json_t *body, json_t **out, struct sc_err *err)
{
    return do_request(c, method, path, query, content_type, body, out, err);
}

int
kclient_get(struct kclient *c, const char *path, json_t **out, struct sc_err *err)
{
    return do_request(c, "GET", path, NULL, NULL, NULL, out, err);
}

/* POST (create) or PUT (update) a whole JSON object. */
static int
send_object(struct kclient *c, const char *method, const char *what, const char *path,
            const json_t *body, json_t **out, struct sc_err *err)
{
    if (body == NULL)
        return sc_err_set(err, SC_EINVALID, "%s %s: no body", what, path);
    return do_request(c, method, path, NULL, "application/json", body, out, err);
}

int
kclient_create(struct kclient *c, const char *path, const json_t *body, json_t **out,
               struct sc_err *err)
{
    return send_object(c, "POST", "create", path, body, out, err);
}

int
kclient_create_text(struct kclient *c, const char *path, const char *body, size_t len,
                    struct sc_err *err)
{
    struct buf req = {0};
    int rc;

    if (body == NULL || len == 0)
        return sc_err_set(err, SC_EINVALID, "create %s: no body", path);
    buf_init(&req, LIM_REQUEST_BODY);
    rc = buf_add(&req, body, len);
    if (rc != 0) {
        buf_release(&req);
        if (rc == SC_ETOOBIG)
            return sc_err_set(err, rc, "create %s: body of %zu bytes over %u", path, len,
                              (unsigned)LIM_REQUEST_BODY);
        return sc_err_set(err, rc, "create %s: out of memory", path);
    }
    rc = send_prepared(c, "POST", path, NULL, "application/json", &req, NULL, NULL,
                       c->opts.timeout_ms, err);
    buf_release(&req);
    return rc;
}

int
kclient_update(struct kclient *c, const char *path, const json_t *body, json_t **out,
               struct sc_err *err)
{
    return send_object(c, "PUT", "update", path, body, out, err);
}

/* A tested value for a message: compact JSON, cut to the buffer; "unset"
 * when absent. */
#define PRECOND_TEXT_MAX 96
static void
precond_text(const json_t *v, char *dst, size_t cap)
{
    size_t n;

    if (v == NULL) {
        snprintf(dst, cap, "unset");
        return;
    }
    n = json_dumpb(v, dst, cap - 1, JSON_COMPACT | JSON_ENCODE_ANY);
    if (n == 0 || n > cap - 1)
        snprintf(dst, cap, "%s", n == 0 ? "?" : "(long value)");
    else
        dst[n] = '\0';
}

/* The API server answers a failed JSON-patch "test" with a bare 422 ("the
 * server rejected our request due to an error in our request") that does not
 * say which operation failed.  When the patch has "test" operations, read
 * the object and check each one ourselves: a value that differs now (or a
 * vanished object) is a conflict, named in the message, so callers re-read
 * and retry instead of reporting an invalid request.  When every test still
 * holds, the 422 was about something else and rc stands. */
static int
check_patch_preconditions(struct kclient *c, const char *path, const json_t *patch, int rc,
                          struct sc_err *err)
{
    const json_t *op;
    json_t *cur = NULL;
    bool any = false;
    size_t i;

    json_array_foreach (patch, i, op) {
        const char *o = json_string_value(json_object_get(op, "op"));
        if (o != NULL && strcmp(o, "test") == 0 && json_is_string(json_object_get(op, "path")) &&
            json_object_get(op, "value") != NULL)
            any = true;
    }
    if (!any)
        return rc;
    int grc = do_request(c, "GET", path, NULL, NULL, NULL, &cur, NULL);
    if (grc == SC_ENOTFOUND)
        return sc_err_set(err, SC_ECONFLICT, "patch %s: precondition failed: object is gone", path);
    if (grc != 0)
        return rc;
    json_array_foreach (patch, i, op) {
        const char *o = json_string_value(json_object_get(op, "op"));
        const char *p = json_string_value(json_object_get(op, "path"));
        const json_t *want = json_object_get(op, "value");
        const json_t *have;
        if (o == NULL || p == NULL || want == NULL || strcmp(o, "test") != 0)
            continue;
        have = kjson_pointer(cur, p);
        if (have != NULL && json_equal((json_t *)have, (json_t *)want))
            continue;
        char hs[PRECOND_TEXT_MAX], ws[PRECOND_TEXT_MAX];
        precond_text(have, hs, sizeof(hs));
        precond_text(want, ws, sizeof(ws));
        rc = sc_err_set(err, SC_ECONFLICT, "patch %s: precondition failed: %s is %s, expected %s",
                        path, p, hs, ws);
        break;
    }
    if (rc == SC_ECONFLICT && err != NULL) {
        err->http_status = 422;
        snprintf(err->reason, sizeof(err->reason), "Conflict");
    }
    json_decref(cur);
    return rc;
}

/* A 2xx body into the caller's buf (kclient_*_bytes()). */
static int
body_sink(void *ctx, const char *data, size_t n)
{
    struct buf *b = ctx;

    return buf_add(b, data, n);
}

static int
patch_request(struct kclient *c, const char *path, enum kpatch_type type, const json_t *patch,
              json_t **out, const struct xsink *sink, struct sc_err *err)
{
    const char *ct;
    int rc;

    if (patch == NULL)
        return sc_err_set(err, SC_EINVALID, "patch %s: no body", path);
    if (type == KPATCH_JSON) {
        if (!json_is_array(patch))
            return sc_err_set(err, SC_EINVALID, "patch %s: a json patch must be an array", path);
        ct = "application/json-patch+json";
    } else {
        if (!json_is_object(patch))
            return sc_err_set(err, SC_EINVALID, "patch %s: a merge patch must be an object", path);
        ct = "application/merge-patch+json";
    }
    rc = do_request_t(c, "PATCH", path, NULL, ct, patch, out, sink, c->opts.timeout_ms, err);
    if (rc == SC_EINVALID && type == KPATCH_JSON)
        rc = check_patch_preconditions(c, path, patch, rc, err);
    return rc;
}

int
kclient_patch(struct kclient *c, const char *path, enum kpatch_type type, const json_t *patch,
              json_t **out, struct sc_err *err)
{
    return patch_request(c, path, type, patch, out, NULL, err);
}

/* The sink's failure (buf_add: SC_ETOOBIG or SC_ENOMEM) as a message. */
static int
bytes_result(int rc, const char *what, const char *path, const struct buf *body, struct sc_err *err)
{
    if (rc == SC_ETOOBIG && err != NULL && err->code == 0)
        return sc_err_set(err, rc, "%s %s: response body exceeds the %zu byte limit", what, path,
                          body->max);
    if (rc == SC_ENOMEM && err != NULL && err->code == 0)
        return sc_err_set(err, rc, "%s %s: out of memory", what, path);
    return rc;
}

int
kclient_patch_bytes(struct kclient *c, const char *path, enum kpatch_type type, const json_t *patch,
                    struct buf *body, struct sc_err *err)
{
    struct xsink sink = {body_sink, body};

    return bytes_result(patch_request(c, path, type, patch, NULL, &sink, err), "patch", path, body,
                        err);
}

int
kclient_create_bytes(struct kclient *c, const char *path, const json_t *obj, struct buf *body,
                     struct sc_err *err)
{
    struct xsink sink = {body_sink, body};

    if (obj == NULL)
        return sc_err_set(err, SC_EINVALID, "create %s: no body", path);
    return bytes_result(do_request_t(c, "POST", path, NULL, "application/json", obj, NULL, &sink,
                                     c->opts.timeout_ms, err),
                        "create", path, body, err);
}

int
kclient_delete(struct kclient *c, const char *path, const struct kdelete_opts *opts, json_t **out,
               struct sc_err *err)
{
    json_t *body = NULL;
    int rc;

    if (opts != NULL && (opts->uid || opts->resource_version || opts->propagation)) {
        static const char *const prop[] = {NULL, "Background", "Foreground", "Orphan"};
        body = json_pack("{s:s, s:s}", "kind", "DeleteOptions", "apiVersion", "v1");
        if (body == NULL)
            return sc_err_set(err, SC_ENOMEM, "delete %s: out of memory", path);
        if (opts->uid || opts->resource_version) {
            json_t *pre = json_object();
            if (pre == NULL) {
                json_decref(body);
                return sc_err_set(err, SC_ENOMEM, "delete %s: out of memory", path);
            }
            if (opts->uid)
                json_object_set_new(pre, "uid", json_string(opts->uid));
            if (opts->resource_version)
                json_object_set_new(pre, "resourceVersion", json_string(opts->resource_version));
            json_object_set_new(body, "preconditions", pre);
        }
        if (opts->propagation > KPROP_DEFAULT && opts->propagation <= KPROP_ORPHAN)
            json_object_set_new(body, "propagationPolicy", json_string(prop[opts->propagation]));
    }
    rc = do_request(c, "DELETE", path, NULL, "application/json", body, out, err);
    json_decref(body);
    return rc;
}

/* ---- LIST page splitter ------------------------------------------------------------- */

enum split_dst { SPLIT_NONE, SPLIT_SKEL, SPLIT_ITEM };

void
klist_split_init(struct klist_split *s, klist_fn *fn, void *ctx, struct sc_err *err)
{
    memset(s, 0, sizeof(*s));
    s->fn = fn;
    s->ctx = ctx;
    s->err = err;
    buf_init(&s->item, LIM_LIST_ITEM);
    buf_init(&s->skel, LIM_LIST_SKELETON);
}

void
klist_split_release(struct klist_split *s)
{
    buf_release(&s->item);
    buf_release(&s->skel);
}

static int
split_fail(struct klist_split *s, int rc, const char *what)
{
    s->rc = sc_err_set(s->err, rc, "list page, after %zu items: %s", s->nitems, what);
    return s->rc;
}

/* The captured item is complete: parse it, hand it to fn, free it. */
static int
split_item_done(struct klist_split *s)
{
    json_t *obj = NULL;
    int rc = kskim_parse(s->item.data, s->item.len, LIM_LIST_ITEM, &obj, s->err);

    if (rc != 0) {
        s->rc = sc_err_wrap(s->err, rc, "list page: items[%zu]", s->nitems);
        return s->rc;
    }
    rc = s->fn ? s->fn(s->ctx, obj) : 0;
    json_decref(obj);
    buf_reset(&s->item);
    s->nitems++;
    s->in_item = false;
    s->need_sep = true;
    if (rc != 0)
        s->rc = rc;
    return rc;
}

/* A byte inside a string: track escapes and the end quote; remember the
 * first bytes of a string at depth 1 (a key, when '[' follows it). */
static void
split_str_byte(struct klist_split *s, char ch)
{
    if (s->esc) {
        s->esc = false;
    } else if (ch == '\\') {
        s->esc = true;
    } else if (ch == '"') {
        s->in_str = false;
        return;
    }
    if (!s->in_item && s->depth == 1 && s->key_len < sizeof(s->key))
        s->key[s->key_len++] = ch;
}

/* A byte between the items of the "items" array: only separators, ']' and
 * the '{' opening the next item are allowed. */
static int
split_between_items(struct klist_split *s, char ch, enum split_dst *dst)
{
    *dst = SPLIT_NONE;
    if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t')
        return 0;
    if (ch == ',' && s->need_sep) {
        s->need_sep = false;
        return 0;
    }
    if (ch == ']' && (s->need_sep || s->nitems == 0)) {
        s->in_items = false;
        s->depth = 1;
        *dst = SPLIT_SKEL;
        return 0;
    }
    if (ch == '{' && !s->need_sep) {
        s->in_item = true;
        s->depth = 3;
        *dst = SPLIT_ITEM;
        return 0;
    }
    return split_fail(s, SC_EPROTO, "expected an object");
}

/* One byte outside strings, at depth 1 or 0 or inside an item. */
static int
split_struct_byte(struct klist_split *s, char ch)
{
    if (ch == '"') {
        s->in_str = true;
        if (s->depth == 1 && !s->in_item)
            s->key_len = 0;
    } else if (ch == '{' || ch == '[') {
        bool items = ch == '[' && !s->in_item && s->depth == 1 && s->key_len == 5 &&
                     memcmp(s->key, "items", 5) == 0;
        if (items && s->items_seen)
            return split_fail(s, SC_EPROTO, "a second items array");
        if (s->depth == 0 && ch == '[')
            return split_fail(s, SC_EPROTO, "the page is not an object");
        s->depth++;
        if (items) {
            s->in_items = s->items_seen = true;
            s->need_sep = false;
        }
    } else if (ch == '}' || ch == ']') {
        if (--s->depth < 0)
            return split_fail(s, SC_EPROTO, "unbalanced brackets");
    }
    return 0;
}

/* Classify one byte (dst: where it goes) and advance the state.  Sets
 * *done when the byte closed an item. */
static int
split_byte(struct klist_split *s, char ch, enum split_dst *dst, bool *done)
{
    *done = false;
    *dst = s->in_item ? SPLIT_ITEM : SPLIT_SKEL;
    if (s->in_str) {
        split_str_byte(s, ch);
        return 0;
    }
    if (s->in_items && !s->in_item)
        return split_between_items(s, ch, dst);
    int rc = split_struct_byte(s, ch);
    *done = rc == 0 && s->in_item && s->depth == 2;
    return rc;
}

static int
split_flush(struct klist_split *s, enum split_dst dst, const char *p, size_t n)
{
    struct buf *b = dst == SPLIT_ITEM ? &s->item : &s->skel;

    if (dst == SPLIT_NONE || n == 0)
        return 0;
    if (buf_add(b, p, n) != 0) {
        s->rc = sc_err_set(s->err, SC_ETOOBIG, "list page: %s exceeds the %zu byte limit",
                           dst == SPLIT_ITEM ? "an item" : "the list without its items", b->max);
        return s->rc;
    }
    return 0;
}

int
klist_split_feed(struct klist_split *s, const char *data, size_t n)
{
    enum split_dst run = SPLIT_NONE, dst = SPLIT_NONE;
    size_t start = 0;
    bool done = false;

    if (s->rc != 0)
        return s->rc;
    if (n > LIM_LIST_PAGE_BYTES - s->total)
        return split_fail(s, SC_ETOOBIG, "the page exceeds LIM_LIST_PAGE_BYTES");
    s->total += n;
    for (size_t i = 0; i < n; i++) {
        if (split_byte(s, data[i], &dst, &done) != 0)
            return s->rc;
        if (dst != run) {
            if (split_flush(s, run, data + start, i - start) != 0)
                return s->rc;
            run = dst;
            start = i;
        }
        if (done) {
            if (split_flush(s, run, data + start, i + 1 - start) != 0 || split_item_done(s) != 0)
                return s->rc;
            run = SPLIT_NONE;
            start = i + 1;
        }
    }
    return split_flush(s, run, data + start, n - start);
}

int
klist_split_finish(struct klist_split *s, json_t **skeleton)
{
    if (s->rc != 0)
        return s->rc;
    if (s->depth != 0 || s->in_str || s->in_items)
        return split_fail(s, SC_EPROTO, "the page ends inside a value");
    return kjson_parse(s->skel.data, s->skel.len, LIM_LIST_SKELETON, skeleton, s->err);
}

/* ---- LIST --------------------------------------------------------------------------- */

static int
add_query_param(struct buf *q, const char *k, const char *v)
{
    int rc = buf_addf(q, "%s%s=", q->len ? "&" : "", k);
    return rc ? rc : buf_add_escaped(q, v);
}

#define KLIST_CONTINUE_MAX 4096

static int
list_query(struct buf *q, const struct klist_opts *opts, int limit, const char *cont)
{
    int rc = buf_addf(q, "limit=%d", limit);

    if (rc == 0 && opts && opts->label_selector && opts->label_selector[0])
        rc = add_query_param(q, "labelSelector", opts->label_selector);
    if (rc == 0 && opts && opts->field_selector && opts->field_selector[0])
        rc = add_query_param(q, "fieldSelector", opts->field_selector);
    if (rc == 0 && cont[0])
        rc = add_query_param(q, "continue", cont);
    return rc;
}

/* Copy s (may be NULL: "") into out[cap]; SC_ETOOBIG if it does not fit. */
static int
copy_bounded(char *out, size_t cap, const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n >= cap)
        return SC_ETOOBIG;
    memcpy(out, s ? s : "", n);
    out[n] = '\0';
    return 0;
}

/* From a page's skeleton (items already handed out): remember its rv
 * (first page only) and continue token. */
static int
list_meta(const json_t *page, const char *path, char *rv, size_t rv_cap, char *cont,
          struct sc_err *err)
{
    struct kjson r = {0};
    const char *prv, *pcont;

    kjson_init(&r, page, err);
    (void)kjson_arr(&r, "items");
    prv = kjson_str(&r, "metadata.resourceVersion");
    pcont = kjson_str(&r, "metadata.continue");
    if (kjson_error(&r) != 0)
        return sc_err_wrap(err, SC_EPROTO, "list %s", path);
    if (rv != NULL && rv[0] == '\0' && copy_bounded(rv, rv_cap, prv) != 0)
        return sc_err_set(err, SC_ETOOBIG, "list %s: resourceVersion too long", path);
    if (copy_bounded(cont, KLIST_CONTINUE_MAX, pcont) != 0)
        return sc_err_set(err, SC_ETOOBIG, "list %s: continue token too long", path);
    return 0;
}

static int
split_sink(void *ctx, const char *data, size_t n)
{
    return klist_split_feed(ctx, data, n);
}

/* GET one page, streaming its items to fn; then read its metadata. */
static int
list_page(struct kclient *c, const char *path, const char *query, klist_fn *fn, void *ctx, char *rv,
          size_t rv_cap, char *cont, struct sc_err *err)
{
    struct klist_split sp = {0};
    struct xsink sink = {split_sink, &sp};
    json_t *skel = NULL;
    int rc;

    klist_split_init(&sp, fn, ctx, err);
    rc = do_request_t(c, "GET", path, query, NULL, NULL, NULL, &sink, c->opts.timeout_ms, err);
    if (rc == 0)
        rc = klist_split_finish(&sp, &skel);
    klist_split_release(&sp);
    if (rc == SC_EPROTO || rc == SC_ETOOBIG)
        sc_err_wrap(err, rc, "list %s", path);
    if (rc == 0)
        rc = list_meta(skel, path, rv, rv_cap, cont, err);
    json_decref(skel);
    return rc;
}

int
kclient_list(struct kclient *c, const char *path, const struct klist_opts *opts, klist_fn *fn,
             void *ctx, char *rv, size_t rv_cap, struct sc_err *err)
{
    char cont[KLIST_CONTINUE_MAX] = "";
    int limit =
        (opts && opts->limit > 0 && opts->limit < LIM_LIST_PAGE) ? opts->limit : LIM_LIST_PAGE;
    int rc;

    if (rv != NULL && rv_cap > 0)
        rv[0] = '\0';
    do {
        struct buf q = {0};

        buf_init(&q, 8192);
        if (list_query(&q, opts, limit, cont) != 0) {
            buf_release(&q);
            return sc_err_set(err, SC_ETOOBIG, "list %s: query too long", path);
        }
        rc = list_page(c, path, buf_str(&q), fn, ctx, rv, rv_cap, cont, err);
        buf_release(&q);
        if (rc != 0)
            return rc;
    } while (cont[0] != '\0');
    return 0;
}

int
kclient_served(struct kclient *c, const char *group, const char *version, const char *resource,
               struct sc_err *err)
{
    char path[KPATH_MAX];
    json_t *disc = NULL, *one = NULL;
    struct kjson r = {0};
    const json_t *res, *v;
    size_t i;
    int rc, found = 0;

    if (group == NULL || group[0] == '\0')
        snprintf(path, sizeof(path), "/api/%s", version);
    else
        snprintf(path, sizeof(path), "/apis/%s/%s", group, version);
    rc = kclient_get(c, path, &disc, err);
    if (rc == SC_ENOTFOUND) {
        sc_err_set(err, SC_ENOTFOUND, "resource not served: %s is not served", path);
        return 0;
    }
    if (rc != 0)
        return rc;
    kjson_init(&r, disc, err);
    res = kjson_arr(&r, "resources");
    json_array_foreach (res, i, v) {
        const json_t *n = json_object_get(v, "name");
        if (json_is_string(n) && strcmp(json_string_value(n), resource) == 0)
            found = 1;
    }
    json_decref(disc);
    if (!found) {
        sc_err_set(err, SC_ENOTFOUND, "resource not served: %s has no resource %s", path, resource);
        return 0;
    }
    rc = kpath(path, sizeof(path), group, version, resource, NULL, NULL, NULL);
    if (rc != 0)
        return sc_err_set(err, rc, "bad resource name");
    rc = do_request(c, "GET", path, "limit=1", NULL, NULL, &one, err);
    json_decref(one);
    if (rc == SC_ENOTFOUND) {
        sc_err_set(err, SC_ENOTFOUND, "resource not served: list %s: not found", path);
        return 0;
    }
    return rc == 0 ? 1 : rc;
}

/* ---- streams ------------------------------------------------------------------------ */

/* How a watch stream ended: the callback's error, our stop, an HTTP
 * error, a transport error, or 0 (the server ended it, or our own time
 * limit: a normal end). */
static int
stream_result(const struct xfer *x, CURLcode cc, long status, const char *errbuf, const char *path,
              int64_t max_ms, struct sc_err *err)
{
    if (x->fn_rc != 0)
        return x->fn_rc;
    if (cc == CURLE_ABORTED_BY_CALLBACK && x->stop != NULL &&
        __atomic_load_n(x->stop, __ATOMIC_ACQUIRE))
        return sc_err_set(err, SC_ESHUTDOWN, "watch %s: stopped", path);
    if (status != 0 && (status < 200 || status >= 300))
        return kclient_map_status(status, buf_str(&x->body), x->body.len,
                                  x->retry_after[0] ? x->retry_after : NULL, err);
    if (cc != CURLE_OK && !(cc == CURLE_OPERATION_TIMEDOUT && max_ms > 0))
        return map_curl(cc, errbuf, "watch", path, x, err);
    return 0;
}

/* kclient_stream() over khttp: the same outcomes as stream_result(). */
static int
stream_own(struct kclient *c, const char *path, const char *query, kstream_fn *fn, void *ctx,
           const volatile int *stop, int64_t max_ms, struct sc_err *err)
{
    char target[KCLIENT_URL_MAX];
    struct khttp_resp rs = {0};
    struct xfer x = {0};
    int rc;

    rc = build_url(c, path, query, target, sizeof(target), err);
    if (rc != 0)
        return rc;
    buf_init(&x.body, (size_t)64 * 1024);
    x.fn = fn;
    x.ctx = ctx;
    x.stop = stop;
    rc = own_perform(c, "GET", target, NULL, NULL, &x, max_ms > 0 ? max_ms : 0, true, &rs, err);
    if (x.fn_rc != 0)
        rc = x.fn_rc;
    else if (rc == SC_ESHUTDOWN)
        rc = sc_err_set(err, SC_ESHUTDOWN, "watch %s: stopped", path);
    else if (rs.status != 0 && (rs.status < 200 || rs.status >= 300))
        rc = kclient_map_status(rs.status, buf_str(&x.body), x.body.len,
                                x.retry_after[0] ? x.retry_after : NULL, err);
    else if (rc == SC_ETIMEOUT && max_ms > 0)
        rc = 0; /* our own time limit: a normal end */
    else if (rc != 0)
        sc_err_wrap(err, rc, "watch %s", path);
    buf_release(&x.body);
    return rc;
}

int
kclient_stream(struct kclient *c, const char *path, const char *query, kstream_fn *fn, void *ctx,
               const volatile int *stop, int64_t max_ms, struct sc_err *err)
{
    char url[KCLIENT_URL_MAX];
    char errbuf[CURL_ERROR_SIZE];
    struct hdrs hdrs = {0};
    struct xfer x = {0};
    long status = 0;
    CURLcode cc;
    CURL *h;
    int rc;

    if (c->http != NULL)
        return stream_own(c, path, query, fn, ctx, stop, max_ms, err);
    rc = build_url(c, path, query, url, sizeof(url), err);
    if (rc != 0)
        return rc;
    throttle(c);
    h = curl_easy_init();
    if (h == NULL)
        return sc_err_set(err, SC_ENOMEM, "watch %s: curl_easy_init failed", path);
    memset(&x, 0, sizeof(x));
    buf_init(&x.body, (size_t)64 * 1024);
    x.h = h;
    x.fn = fn;
    x.ctx = ctx;
    x.stop = stop;
    errbuf[0] = '\0';
    setup_shared(c, h);
    rc = setup_exchange(c, h, "GET", url, NULL, NULL, &x, &hdrs, errbuf);
    if (rc != 0) { /* only ENOMEM: a GET has no content type */
        curl_easy_cleanup(h);
        return sc_err_set(err, rc, "watch %s: out of memory", path);
    }
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(max_ms > 0 ? max_ms : 0));
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &x);
    /* Detect a dead peer on an idle watch. */
    curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 30L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 10L);
    cc = curl_easy_perform(h);
    pthread_mutex_lock(&c->mu);
    c->stats.requests++;
    pthread_mutex_unlock(&c->mu);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    hdrs_release(&hdrs);
    rc = stream_result(&x, cc, status, errbuf, path, max_ms, err);
    buf_release(&x.body);
    return rc;
}

/* ---- JSON patch helpers ----------------------------------------------------------------- */

int
kpatch_add_op(json_t *ops, const char *op, const char *path, json_t *value)
{
    json_t *o;

    if (ops == NULL || !json_is_array(ops) || op == NULL || path == NULL) {
        json_decref(value);
        return SC_EINVALID;
    }
    o = json_pack("{s:s, s:s}", "op", op, "path", path);
    if (o == NULL) {
        json_decref(value);
        return SC_ENOMEM;
    }
    if (value != NULL && json_object_set_new(o, "value", value) != 0) {
        json_decref(o);
        return SC_ENOMEM;
    }
    if (json_array_append_new(ops, o) != 0)
        return SC_ENOMEM;
    return 0;
}

int
kpatch_escape(const char *seg, char *out, size_t cap)
{
    size_t k = 0;

    for (; *seg; seg++) {
        const char *rep = NULL;
        char one[2] = {*seg, '\0'};
        if (*seg == '~')
            rep = "~0";
        else if (*seg == '/')
            rep = "~1";
        else
            rep = one;
        size_t n = strlen(rep);
        if (k + n + 1 > cap)
            return SC_ETOOBIG;
        memcpy(out + k, rep, n);
        k += n;
    }
    if (k + 1 > cap)
        return SC_ETOOBIG;
    out[k] = '\0';
    return 0;
}
