/* tests/unit/kube/ktls_test.c -- TLS credentials parsed once: a CA bundle
 * and a matching certificate/key pair parse; garbage, a key that does not
 * match, and an over-long chain are refused with a message; the SSL_CTX
 * callback installs the same objects into any number of contexts (and the
 * references balance: ASan/LeakSanitizer see every free). */
#include "kube/ktls.h"

#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "kube/kinternal.h"
#include "tests/lib/harness.h"

struct pem {
    char *p;
    size_t n;
};

static struct pem
pem(const char *name)
{
    struct pem f = {0};
    char path[512];

    snprintf(path, sizeof(path), "%s/webhook/certs/%s", harness_data_dir(), name);
    CHECK_INT(kfile_read(path, 1 << 16, &f.p, &f.n, NULL), 0);
    return f;
}

static void
test_nothing_to_parse(void)
{
    struct ktls *t = (struct ktls *)1;

    CHECK_INT(ktls_new(NULL, 0, NULL, 0, NULL, 0, &t, NULL), 0);
    CHECK(t == NULL);
    CHECK(!ktls_has_ca(NULL));
}

static void
test_pairs(void)
{
    static const char fake[] = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n";
    struct pem ca = pem("a.crt"), crt = pem("a.crt"), key = pem("a.key"), other = pem("b.key");
    struct sc_err e = {0};
    struct ktls *t = NULL;

    CHECK_INT(ktls_new(ca.p, ca.n, crt.p, crt.n, key.p, key.n, &t, &e), 0);
    CHECK(t != NULL && ktls_has_ca(t));
    ktls_free(t);
    t = NULL;
    CHECK_INT(ktls_new(NULL, 0, crt.p, crt.n, key.p, key.n, &t, &e), 0); /* token-less, no CA */
    CHECK(t != NULL && !ktls_has_ca(t));
    ktls_free(t);
    t = NULL;
    CHECK_INT(ktls_new(ca.p, ca.n, crt.p, crt.n, other.p, other.n, &t, &e), SC_EINVALID);
    CHECK(t == NULL && strstr(e.msg, "do not match") != NULL);
    CHECK_INT(ktls_new(fake, strlen(fake), NULL, 0, NULL, 0, &t, &e), SC_EINVALID);
    CHECK(t == NULL && strstr(e.msg, "certificate authority") != NULL);
    CHECK_INT(ktls_new(ca.p, ca.n, crt.p, crt.n, "not a key", 9, &t, &e), SC_EINVALID);
    free(ca.p);
    free(crt.p);
    free(key.p);
    free(other.p);
}

static void
test_long_chain(void)
{
    struct pem crt = pem("a.crt"), key = pem("a.key");
    struct buf b = {0};
    struct sc_err e = {0};
    struct ktls *t = NULL;

    buf_init(&b, 1 << 20);
    for (int i = 0; i < 10; i++)
        CHECK_INT(buf_add(&b, crt.p, crt.n), 0);
    CHECK_INT(ktls_new(NULL, 0, buf_str(&b), b.len, key.p, key.n, &t, &e), SC_EINVALID);
    CHECK(t == NULL);
    buf_reset(&b);
    for (int i = 0; i < 3; i++) /* a chain of two after the leaf fits */
        CHECK_INT(buf_add(&b, crt.p, crt.n), 0);
    CHECK_INT(ktls_new(NULL, 0, buf_str(&b), b.len, key.p, key.n, &t, &e), 0);
    ktls_free(t);
    buf_release(&b);
    free(crt.p);
    free(key.p);
}

/* The callback gives each context the parsed objects themselves. */
static void
test_callback_installs(void)
{
    struct pem ca = pem("a.crt"), crt = pem("a.crt"), key = pem("a.key");
    struct ktls *t = NULL;
    SSL_CTX *x = SSL_CTX_new(TLS_client_method()), *y = SSL_CTX_new(TLS_client_method());

    CHECK_INT(ktls_new(ca.p, ca.n, crt.p, crt.n, key.p, key.n, &t, NULL), 0);
    CHECK(x != NULL && y != NULL && t != NULL);
    CHECK_INT(ktls_ctx_cb(NULL, x, t), CURLE_OK);
    CHECK_INT(ktls_ctx_cb(NULL, y, t), CURLE_OK);
    CHECK(SSL_CTX_get_cert_store(x) == SSL_CTX_get_cert_store(y)); /* one store, shared */
    CHECK(SSL_CTX_get0_certificate(x) == SSL_CTX_get0_certificate(y));
    CHECK(SSL_CTX_get0_certificate(x) != NULL && SSL_CTX_check_private_key(x) == 1);
    ktls_free(t); /* the contexts keep their references */
    CHECK(SSL_CTX_check_private_key(y) == 1);
    SSL_CTX_free(x);
    SSL_CTX_free(y);
    free(ca.p);
    free(crt.p);
    free(key.p);
}

TEST_MAIN(TEST(test_nothing_to_parse), TEST(test_pairs), TEST(test_long_chain),
          TEST(test_callback_installs))
