/* tests/unit/webhook/slowclient.h -- a client that holds connections of an
 * HTTPS server open with unfinished headers (the "slowloris" pattern), and a
 * legitimate admission review timed against it.  Header-only (static
 * functions) because the unit test and the benchmark are separate binaries.
 *
 * Two kinds of held connection:
 *   SLOW_TLS_HELLO   TCP, then 5 bytes of a TLS record header and a few bytes
 *                    of a ClientHello: the handshake never finishes;
 *   SLOW_HTTP_HEADER a full TLS handshake (OpenSSL), then the first lines of
 *                    a POST without the blank line that ends the headers.
 * Nothing is freed implicitly: slow_close() each connection.
 */
#ifndef SC_TESTS_WEBHOOK_SLOWCLIENT_H
#define SC_TESTS_WEBHOOK_SLOWCLIENT_H

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/compiler.h"

enum slow_kind { SLOW_TLS_HELLO, SLOW_HTTP_HEADER };

struct slow_conn {
    int fd; /* -1: not open */
    SSL *ssl;
    enum slow_kind kind;
};

static SC_UNUSED int64_t
slow_now_us(void)
{
    struct timespec ts = {0};

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static SC_UNUSED int
slow_tcp(int port)
{
    struct sockaddr_in sin = {0};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Open one held connection; 0 or -1 (the server refused or timed out). A
 * handshake that the server does not answer within 10 s counts as refused. */
static SC_UNUSED int
slow_open(struct slow_conn *c, SSL_CTX *ctx, int port, enum slow_kind kind)
{
    /* handshake record, TLS 1.0 record version, length 512; ClientHello,
     * length 508, client version TLS 1.2: then nothing more */
    static const unsigned char hello[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01,
                                          0x00, 0x01, 0xfc, 0x03, 0x03};
    static const char head[] = "POST /validate-class HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                               "Content-Type: application/json\r\n";
    struct timeval tv = {30, 0}; /* a handshake under valgrind takes seconds */

    memset(c, 0, sizeof(*c));
    c->fd = slow_tcp(port);
    c->kind = kind;
    if (c->fd < 0)
        return -1;
    if (kind == SLOW_TLS_HELLO)
        return write(c->fd, hello, sizeof(hello)) == (ssize_t)sizeof(hello) ? 0 : -1;
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    c->ssl = SSL_new(ctx);
    if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1 || SSL_connect(c->ssl) != 1)
        return -1;
    if (SSL_write(c->ssl, head, (int)sizeof(head) - 1) != (int)sizeof(head) - 1)
        return -1;
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    return 0;
}

/* Has the server closed (or reset) this connection?  Session tickets and
 * other TLS records are read and ignored. */
static SC_UNUSED int
slow_closed(struct slow_conn *c)
{
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    char b[256];

    if (c->fd < 0)
        return 1;
    if (c->ssl == NULL) {
        if (poll(&p, 1, 0) == 0)
            return 0;
        return recv(c->fd, b, sizeof(b), MSG_DONTWAIT) <= 0 ? 1 : 0;
    }
    for (;;) {
        int n = SSL_read(c->ssl, b, sizeof(b));
        int e = n > 0 ? SSL_ERROR_NONE : SSL_get_error(c->ssl, n);

        ERR_clear_error();
        if (e == SSL_ERROR_NONE)
            continue;
        return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? 0 : 1;
    }
}

static SC_UNUSED void
slow_close(struct slow_conn *c)
{
    if (c->ssl != NULL)
        SSL_free(c->ssl);
    if (c->fd >= 0)
        close(c->fd);
    c->ssl = NULL;
    c->fd = -1;
}

static SC_UNUSED SSL_CTX *
slow_ctx(void)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

    if (ctx != NULL)
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    return ctx;
}

static SC_UNUSED size_t
slow_sink(char *p, size_t sz, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return sz * n;
}

/* Where the last slow_review's time went (curl's figures, microseconds). */
struct slow_timing {
    long long connect_us, tls_us, first_byte_us;
};

/* POST body to /validate-class on a fresh connection (CA file ca); returns
 * the HTTP status or -(curl error), and the latency in *us (and its parts
 * in *t when not NULL). */
static SC_UNUSED long
slow_review_t(int port, const char *ca, const char *body, long timeout_ms, int64_t *us,
              struct slow_timing *t)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    char url[128];
    long status = 0;
    int64_t t0 = slow_now_us();
    CURLcode rc;

    snprintf(url, sizeof(url), "https://127.0.0.1:%d/validate-class", port);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CAINFO, ca);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, slow_sink);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
    rc = curl_easy_perform(c);
    *us = slow_now_us() - t0;
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (t != NULL) {
        curl_off_t v = 0;

        curl_easy_getinfo(c, CURLINFO_CONNECT_TIME_T, &v);
        t->connect_us = (long long)v;
        curl_easy_getinfo(c, CURLINFO_APPCONNECT_TIME_T, &v);
        t->tls_us = (long long)v;
        curl_easy_getinfo(c, CURLINFO_STARTTRANSFER_TIME_T, &v);
        t->first_byte_us = (long long)v;
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return rc == CURLE_OK ? status : -(long)rc;
}

static SC_UNUSED long
slow_review(int port, const char *ca, const char *body, long timeout_ms, int64_t *us)
{
    return slow_review_t(port, ca, body, timeout_ms, us, NULL);
}

#endif
