/* webhook/certwatch.c -- load, validate and watch a TLS certificate/key pair. */
#include "webhook/certwatch.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/limits.h"

static int
read_file(const char *path, char **out, size_t *len, struct sc_err *err)
{
    struct buf b = {0};
    char tmp[8192];
    ssize_t n;
    int fd, rc = SC_OK;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sc_err_set(err, SC_EIO, "%s: %s", path, strerror(errno));
    buf_init(&b, LIM_CERT_FILE);
    for (;;) {
        n = read(fd, tmp, sizeof(tmp));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = sc_err_set(err, SC_EIO, "%s: %s", path, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        if (buf_add(&b, tmp, (size_t)n) != SC_OK) {
            rc = sc_err_set(err, SC_ETOOBIG, "%s: larger than %u bytes", path,
                            (unsigned)LIM_CERT_FILE);
            break;
        }
    }
    close(fd);
    if (rc == SC_OK && b.len == 0)
        rc = sc_err_set(err, SC_EINVALID, "%s: empty file", path);
    if (rc != SC_OK) {
        if (b.data != NULL)
            memset(b.data, 0, b.len);
        buf_release(&b);
        return rc;
    }
    *len = b.len;
    *out = buf_detach(&b);
    return SC_OK;
}

static void
ssl_reason(char *out, size_t cap)
{
    unsigned long e = ERR_get_error();

    if (e == 0)
        snprintf(out, cap, "no PEM data");
    else
        ERR_error_string_n(e, out, cap);
    ERR_clear_error();
}

static int
check_pair(const struct certpair *p, const char *cert_file, const char *key_file,
           int64_t *not_after, struct sc_err *err)
{
    BIO *bio = NULL;
    X509 *leaf = NULL, *extra;
    EVP_PKEY *key = NULL;
    char why[256];
    int rc = SC_OK;

    ERR_clear_error();
    bio = BIO_new_mem_buf(p->cert_pem, (int)p->cert_len);
    if (bio == NULL)
        return sc_err_set(err, SC_ENOMEM, "cannot allocate");
    leaf = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    if (leaf == NULL) {
        ssl_reason(why, sizeof(why));
        rc = sc_err_set(err, SC_EINVALID, "%s: no PEM certificate: %s", cert_file, why);
        goto out;
    }
    /* The rest of the file must be certificates too (the chain). */
    while ((extra = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
        X509_free(extra);
    ERR_clear_error();
    BIO_free(bio);
    bio = BIO_new_mem_buf(p->key_pem, (int)p->key_len);
    if (bio == NULL) {
        rc = sc_err_set(err, SC_ENOMEM, "cannot allocate");
        goto out;
    }
    key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    if (key == NULL) {
        ssl_reason(why, sizeof(why));
        rc = sc_err_set(err, SC_EINVALID, "%s: no PEM private key: %s", key_file, why);
        goto out;
    }
    if (X509_check_private_key(leaf, key) != 1) {
        ssl_reason(why, sizeof(why));
        rc = sc_err_set(err, SC_EINVALID, "%s does not match the certificate in %s: %s", key_file,
                        cert_file, why);
        goto out;
    }
    {
        const ASN1_TIME *na = X509_get0_notAfter(leaf);
        struct tm tm = {0};

        memset(&tm, 0, sizeof(tm));
        *not_after = (na != NULL && ASN1_TIME_to_tm(na, &tm) == 1) ? (int64_t)timegm(&tm) : 0;
    }
out:
    BIO_free(bio);
    X509_free(leaf);
    EVP_PKEY_free(key);
    ERR_clear_error();
    return rc;
}

int
certpair_load(const char *cert_file, const char *key_file, struct certpair *out, struct sc_err *err)
{
    struct certpair p = {0};
    int rc;

    memset(out, 0, sizeof(*out));
    memset(&p, 0, sizeof(p));
    rc = read_file(cert_file, &p.cert_pem, &p.cert_len, err);
    if (rc == SC_OK)
        rc = read_file(key_file, &p.key_pem, &p.key_len, err);
    if (rc == SC_OK && (p.cert_len > 0x7fffffff || p.key_len > 0x7fffffff))
        rc = sc_err_set(err, SC_ETOOBIG, "certificate files too large");
    if (rc == SC_OK)
        rc = check_pair(&p, cert_file, key_file, &p.not_after, err);
    if (rc != SC_OK) {
        certpair_release(&p);
        return rc;
    }
    *out = p;
    return SC_OK;
}

void
certpair_release(struct certpair *p)
{
    if (p == NULL)
        return;
    if (p->key_pem != NULL)
        memset(p->key_pem, 0, p->key_len);
    free(p->cert_pem);
    free(p->key_pem);
    memset(p, 0, sizeof(*p));
}

static void
stamp_one(const char *path, uint64_t v[5], int *missing, int bit)
{
    struct stat st = {0};

    if (stat(path, &st) != 0) {
        memset(v, 0, 5 * sizeof(v[0]));
        *missing |= bit;
        return;
    }
    v[0] = (uint64_t)st.st_dev;
    v[1] = (uint64_t)st.st_ino;
    v[2] = (uint64_t)st.st_size;
    v[3] = (uint64_t)st.st_mtim.tv_sec * 1000000000u + (uint64_t)st.st_mtim.tv_nsec;
    v[4] = (uint64_t)st.st_ctim.tv_sec * 1000000000u + (uint64_t)st.st_ctim.tv_nsec;
}

void
certstamp_read(const char *cert_file, const char *key_file, struct certstamp *out)
{
    memset(out, 0, sizeof(*out));
    stamp_one(cert_file, out->v[0], &out->missing, 1);
    stamp_one(key_file, out->v[1], &out->missing, 2);
}

bool
certstamp_equal(const struct certstamp *a, const struct certstamp *b)
{
    if (a->missing != b->missing)
        return false;
    for (int f = 0; f < 2; f++)
        for (int i = 0; i < 5; i++)
            if (a->v[f][i] != b->v[f][i])
                return false;
    return true;
}
