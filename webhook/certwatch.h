/* webhook/certwatch.h -- load, validate and watch a TLS certificate/key pair.
 *
 * certpair_load() reads both PEM files (each capped by LIM_CERT_FILE) and
 * checks them with OpenSSL: the certificate file holds at least one
 * certificate (the server's first, then any chain), the key parses, and the
 * key matches the first certificate.  Only a pair that passes is handed to
 * the TLS layer, so a half-written or mismatched rotation never replaces a
 * working pair.
 *
 * certstamp records (device, inode, size, mtime, ctime) of both files as
 * seen through symlinks, so the Kubernetes Secret volume's "..data" symlink
 * swap (new inode behind the same path), an in-place rewrite and
 * cert-manager's tls.crt/tls.key update all change the stamp.
 */
#ifndef SC_CERTWATCH_H
#define SC_CERTWATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sc_err.h"

struct certpair {
    char *cert_pem; /* NUL-terminated, owned */
    size_t cert_len;
    char *key_pem; /* NUL-terminated, owned; wiped on release */
    size_t key_len;
    int64_t not_after; /* Unix seconds of the leaf's notAfter */
};

/* Fill *out on success (caller releases).  Errors name the file. */
int certpair_load(const char *cert_file, const char *key_file, struct certpair *out,
                  struct sc_err *err);
void certpair_release(struct certpair *p);

struct certstamp {
    uint64_t v[2][5];
    int missing; /* bit 0: cert file missing, bit 1: key file missing */
};

void certstamp_read(const char *cert_file, const char *key_file, struct certstamp *out);
bool certstamp_equal(const struct certstamp *a, const struct certstamp *b);

#endif
