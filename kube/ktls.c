/* kube/ktls.c -- TLS credentials parsed once (see ktls.h). */
#include "kube/ktls.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A chain longer than this in a client certificate PEM is refused. */
#define KTLS_CHAIN_MAX 8

struct ktls {
    X509_STORE *store; /* the CA, or NULL: curl's default trust */
    X509 *cert;        /* the client certificate, or NULL */
    X509 *chain[KTLS_CHAIN_MAX];
    int n_chain;
    EVP_PKEY *key;
};

/* Is curl's TLS backend OpenSSL (whose objects we hand it)? */
static int
curl_uses_openssl(void)
{
    const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);

    return v != NULL && v->ssl_version != NULL && strncmp(v->ssl_version, "OpenSSL/", 8) == 0;
}

static BIO *
mem_bio(const char *p, size_t n)
{
    return n > (size_t)INT32_MAX ? NULL : BIO_new_mem_buf(p, (int)n);
}

/* Every certificate of a PEM bundle into a new store; NULL if none parses. */
static X509_STORE *
load_store(const char *pem, size_t len)
{
    X509_STORE *st = X509_STORE_new();
    BIO *b = mem_bio(pem, len);
    X509 *x;
    int n = 0;

    if (st == NULL || b == NULL)
        goto fail;
    while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
        int ok = X509_STORE_add_cert(st, x);

        X509_free(x);
        if (!ok)
            goto fail;
        n++;
    }
    ERR_clear_error(); /* the end of the bundle reads as an error */
    /* what curl sets on its own store: an intermediate CA given as the
     * trust anchor is enough */
    X509_STORE_set_flags(st, X509_V_FLAG_PARTIAL_CHAIN | X509_V_FLAG_TRUSTED_FIRST);
    if (n == 0)
        goto fail;
    BIO_free(b);
    return st;
fail:
    ERR_clear_error();
    BIO_free(b);
    X509_STORE_free(st);
    return NULL;
}

/* The certificate and the chain after it. */
static int
load_cert(struct ktls *t, const char *pem, size_t len)
{
    BIO *b = mem_bio(pem, len);
    X509 *x;

    if (b == NULL)
        return SC_ENOMEM;
    t->cert = PEM_read_bio_X509(b, NULL, NULL, NULL);
    while (t->cert != NULL && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
        if (t->n_chain == KTLS_CHAIN_MAX) {
            X509_free(x);
            BIO_free(b);
            return SC_EINVALID;
        }
        t->chain[t->n_chain++] = x;
    }
    ERR_clear_error();
    BIO_free(b);
    return t->cert != NULL ? 0 : SC_EINVALID;
}

static int
load_key(struct ktls *t, const char *pem, size_t len)
{
    BIO *b = mem_bio(pem, len);

    if (b == NULL)
        return SC_ENOMEM;
    t->key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    BIO_free(b);
    ERR_clear_error();
    if (t->key == NULL)
        return SC_EINVALID;
    return X509_check_private_key(t->cert, t->key) == 1 ? 0 : SC_EINVALID;
}

int
ktls_new(const char *ca, size_t ca_len, const char *cert, size_t cert_len, const char *key,
         size_t key_len, struct ktls **out, struct sc_err *err)
{
    struct ktls *t = NULL;
    int rc = 0;

    *out = NULL;
    if (!curl_uses_openssl() || (ca == NULL && (cert == NULL || key == NULL)))
        return 0;
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        return sc_err_set(err, SC_ENOMEM, "tls: out of memory");
    if (ca != NULL && (t->store = load_store(ca, ca_len)) == NULL)
        rc = sc_err_set(err, SC_EINVALID, "tls: no certificate in the certificate authority data");
    if (rc == 0 && cert != NULL && key != NULL) {
        rc = load_cert(t, cert, cert_len);
        if (rc == 0)
            rc = load_key(t, key, key_len);
        if (rc != 0)
            rc = sc_err_set(err, rc,
                            rc == SC_ENOMEM ? "tls: out of memory"
                                            : "tls: the client certificate or key does not parse, "
                                              "or they do not match");
    }
    ERR_clear_error();
    if (rc != 0) {
        ktls_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

void
ktls_free(struct ktls *t)
{
    if (t == NULL)
        return;
    X509_STORE_free(t->store);
    X509_free(t->cert);
    for (int i = 0; i < t->n_chain; i++)
        X509_free(t->chain[i]);
    EVP_PKEY_free(t->key);
    free(t);
}

int
ktls_has_ca(const struct ktls *t)
{
    return t != NULL && t->store != NULL;
}

CURLcode
ktls_ctx_cb(CURL *curl, void *ssl_ctx, void *data)
{
    SSL_CTX *ctx = ssl_ctx;
    struct ktls *t = data;

    (void)curl;
    if (t->store != NULL) {
        if (!X509_STORE_up_ref(t->store))
            return CURLE_OUT_OF_MEMORY;
        SSL_CTX_set_cert_store(ctx, t->store); /* takes the reference */
    }
    if (t->cert != NULL) {
        if (SSL_CTX_use_certificate(ctx, t->cert) != 1 || SSL_CTX_use_PrivateKey(ctx, t->key) != 1)
            goto fail;
        for (int i = 0; i < t->n_chain; i++)
            if (SSL_CTX_add1_chain_cert(ctx, t->chain[i]) != 1)
                goto fail;
    }
    return CURLE_OK;
fail:
    ERR_clear_error();
    return CURLE_SSL_CERTPROBLEM;
}
