/* kube/kconfig.h -- where the API server is and how to authenticate.
 *
 * Sources, in the order kconfig_load() tries them:
 *   1. the path given with --kubeconfig (flag_path);
 *   2. $KUBECONFIG (a ':'-separated list: the first entry that names an
 *      existing file is used; lists are not merged);
 *   3. the in-cluster config: $KUBERNETES_SERVICE_HOST / $KUBERNETES_SERVICE_PORT
 *      and /var/run/secrets/kubernetes.io/serviceaccount/{token,ca.crt,namespace}.
 *
 * From a kubeconfig, current-context selects the cluster and user:
 *   clusters[].cluster: server, certificate-authority, certificate-authority-data,
 *                       insecure-skip-tls-verify, tls-server-name
 *   users[].user:       client-certificate(-data), client-key(-data), token, tokenFile
 *   contexts[].context: cluster, user, namespace
 * Relative file paths are resolved against the kubeconfig's directory.  File
 * contents are read at load time (capped by LIM_CERT_FILE), except token
 * files: the client re-reads token_file when its mtime changes or after a 401,
 * so rotated service-account tokens are picked up.
 *
 * Errors: a malformed kubeconfig gives SC_EINVALID with the file and field in
 * err->msg, e.g. "/etc/kc.yaml: users[0].user.client-key-data: invalid base64";
 * the caller prints it and exits 1.  Missing files give SC_EIO naming them.
 *
 * Ownership: kconfig_load*() allocate *out on success only; free it with
 * kconfig_free() (NULL-safe).  A kconfig is immutable after load and may be
 * shared by any number of clients and threads.
 */
#ifndef SC_KCONFIG_H
#define SC_KCONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "common/sc_err.h"

struct kconfig {
    char *source; /* file the config came from, or "in-cluster" */
    char *server; /* "https://host:port" (no trailing slash) */
    char *ca_pem; /* CA bundle bytes, NUL-terminated; NULL = system store */
    size_t ca_len;
    bool insecure;         /* insecure-skip-tls-verify */
    char *tls_server_name; /* NULL or the name to verify/send as SNI */
    char *cert_pem;        /* client certificate bytes or NULL */
    size_t cert_len;
    char *key_pem; /* client key bytes or NULL */
    size_t key_len;
    char *token;      /* static bearer token or NULL */
    char *token_file; /* re-read bearer token file or NULL */
    char *namespace;  /* context namespace / in-cluster namespace, or NULL */
};

/* flag_path may be NULL or "".  Tries the sources listed above. */
int kconfig_load(const char *flag_path, struct kconfig **out, struct sc_err *err);

/* Load one kubeconfig file. */
int kconfig_load_file(const char *path, struct kconfig **out, struct sc_err *err);

/* Parse kubeconfig YAML held in memory; "name" is used in error messages and
 * "dir" resolves relative paths (may be NULL: the current directory). */
int kconfig_parse(const char *yaml, size_t len, const char *name, const char *dir,
                  struct kconfig **out, struct sc_err *err);

/* In-cluster config.  host/port come from the environment when NULL; sa_dir
 * defaults to /var/run/secrets/kubernetes.io/serviceaccount (tests pass a
 * temporary directory).  SC_ENOTFOUND when not running in a cluster. */
int kconfig_in_cluster(const char *host, const char *port, const char *sa_dir, struct kconfig **out,
                       struct sc_err *err);

void kconfig_free(struct kconfig *c);

#endif
