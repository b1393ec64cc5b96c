/* kube/ktls.h -- a kubeconfig's TLS credentials parsed once for every
 * connection of a client.
 *
 * libcurl parses the CA, the client certificate and above all the private key
 * again for every new connection (about 6 M instructions: OpenSSL 3 tries its
 * decoders one by one on the key).  A struct ktls holds them parsed, and its
 * CURLOPT_SSL_CTX_FUNCTION callback installs them into each connection's
 * SSL_CTX.  It exists only when curl's TLS backend is OpenSSL (the objects are
 * OpenSSL's); otherwise, or when a PEM does not parse, the caller hands the
 * PEM blobs to curl as before, and curl reports what is wrong with them.
 *
 * Trust: with a CA given, the connection trusts that CA alone (as client-go
 * does with certificate-authority-data); without one, curl's default store
 * stays.  Ownership: ktls_new() copies nothing it keeps but parsed objects;
 * ktls_free() frees them.  The callback only takes references, so one struct
 * ktls serves any number of connections and threads at once. */
#ifndef SC_KTLS_H
#define SC_KTLS_H

#include <curl/curl.h>
#include <stddef.h>

#include "common/sc_err.h"

struct ktls;

/* Parse ca (may be NULL) and the cert/key pair (both or neither).  0 with
 * *out set; 0 with *out NULL when curl's backend is not OpenSSL or there is
 * nothing to parse; SC_EINVALID when a PEM does not parse or the key does
 * not match the certificate; SC_ENOMEM. */
int ktls_new(const char *ca, size_t ca_len, const char *cert, size_t cert_len, const char *key,
             size_t key_len, struct ktls **out, struct sc_err *err);
void ktls_free(struct ktls *t);

/* Has a CA store (the caller then tells curl to load none of its own). */
int ktls_has_ca(const struct ktls *t);

/* For CURLOPT_SSL_CTX_FUNCTION, with CURLOPT_SSL_CTX_DATA the struct ktls
 * and ssl_ctx an OpenSSL SSL_CTX. */
CURLcode ktls_ctx_cb(CURL *curl, void *ssl_ctx, void *data);

#endif
