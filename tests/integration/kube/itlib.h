/* tests/integration/kube/itlib.h -- helpers shared by the kube/ integration
 * tests.  They need a real control plane: KUBECONFIG must point at the
 * cluster from tests/cluster/up, with tests/data/kube/widgets-crd.yaml
 * applied (tests/integration/kube/run.sh does both). */
#ifndef SC_KUBE_ITLIB_H
#define SC_KUBE_ITLIB_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kube/kclient.h"
#include "kube/kconfig.h"
#include "tests/lib/harness.h"

#define W_GROUP "kubetest.example.com"

static inline int64_t
it_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A client for $KUBECONFIG with the given qps (<= 0: unlimited). */
static inline struct kclient *
it_client(double qps, int burst)
{
    struct kconfig *cfg = NULL;
    struct sc_err e = {0};
    struct kclient_opts o;
    struct kclient *c;

    if (getenv("KUBECONFIG") == NULL) {
        fprintf(stderr, "KUBECONFIG is not set: run tests/integration/kube/run.sh\n");
        CHECK(getenv("KUBECONFIG") != NULL);
        return NULL;
    }
    if (kconfig_load(NULL, &cfg, &e) != 0) {
        fprintf(stderr, "kubeconfig: %s\n", e.msg);
        CHECK(0);
        return NULL;
    }
    kclient_opts_default(&o);
    o.qps = qps;
    o.burst = burst;
    c = kclient_new(cfg, &o, &e);
    kconfig_free(cfg);
    CHECK(c != NULL);
    return c;
}

/* A client for $KUBECONFIG's server that authenticates with token instead
 * of the client certificate; NULL (checked) without a kubeconfig. */
static inline struct kclient *
it_token_client(const char *token)
{
    struct kconfig *cfg = NULL;
    struct sc_err e = {0};
    struct kclient *c;

    if (getenv("KUBECONFIG") == NULL || kconfig_load(NULL, &cfg, &e) != 0) {
        CHECK(0);
        return NULL;
    }
    free(cfg->cert_pem);
    free(cfg->key_pem);
    cfg->cert_pem = cfg->key_pem = NULL;
    cfg->cert_len = cfg->key_len = 0;
    cfg->token = strdup(token);
    c = kclient_new(cfg, NULL, &e);
    kconfig_free(cfg);
    return c;
}

/* Create namespace ns (ignores AlreadyExists). */
static inline void
it_namespace(struct kclient *c, const char *ns)
{
    json_t *b = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Namespace",
                          "metadata", "name", ns);
    struct sc_err e = {0};
    int rc = kclient_create(c, "/api/v1/namespaces", b, NULL, &e);
    json_decref(b);
    if (rc != 0 && rc != SC_EEXIST)
        fprintf(stderr, "namespace %s: %s\n", ns, e.msg);
    CHECK(rc == 0 || rc == SC_EEXIST);
}

static inline json_t *
it_widget(const char *ns, const char *name, int size, const char *label)
{
    json_t *w = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:i, s:s}}", "apiVersion", W_GROUP "/v1",
                          "kind", "Widget", "metadata", "name", name, "namespace", ns, "spec",
                          "size", size, "color", "blue");
    if (label != NULL)
        json_object_set_new(json_object_get(w, "metadata"), "labels",
                            json_pack("{s:s}", "test", label));
    return w;
}

static inline void
it_widget_path(char *out, size_t cap, const char *ns, const char *name, const char *sub)
{
    CHECK_INT(kpath(out, cap, W_GROUP, "v1", "widgets", ns, name, sub), 0);
}

/* A per-run unique suffix so reruns against one cluster never collide. */
static inline const char *
it_suffix(void)
{
    static char s[32];
    if (s[0] == '\0')
        snprintf(s, sizeof(s), "%x%x", (unsigned)getpid(), (unsigned)(it_now_ms() & 0xffff));
    return s;
}

#endif
