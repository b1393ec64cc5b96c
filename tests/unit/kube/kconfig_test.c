/* Unit tests for kube/kconfig.c: real kubeconfig shapes (inline data, files,
 * token files, flow style), in-cluster config and errors naming file+field. */
#include "kube/kconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/lib/harness.h"

static struct kconfig *
load(const char *name, struct sc_err *e, int *rc)
{
    char path[512];
    struct kconfig *c = NULL;

    snprintf(path, sizeof(path), "%s/kube/kubeconfig/%s", harness_data_dir(), name);
    *rc = kconfig_load_file(path, &c, e);
    return c;
}

static void
test_inline_data(void)
{
    struct sc_err e = {0};
    int rc;
    struct kconfig *c = load("inline.yaml", &e, &rc);

    CHECK_INT(rc, 0);
    if (c == NULL)
        return;
    CHECK_STR(c->server, "https://127.0.0.1:6443"); /* trailing slash dropped */
    CHECK(c->ca_pem != NULL && strstr(c->ca_pem, "MIIBfakeCAforTests") != NULL);
    CHECK(c->cert_pem != NULL && strstr(c->cert_pem, "MIIBfakeClientCert") != NULL);
    CHECK(c->key_pem != NULL && strstr(c->key_pem, "BEGIN PRIVATE KEY") != NULL);
    CHECK_INT(c->key_len, strlen(c->key_pem));
    CHECK_STR(c->tls_server_name, "kubernetes.default.svc");
    CHECK_STR(c->namespace, "kube-system");
    CHECK(c->token == NULL);
    CHECK(!c->insecure);
    kconfig_free(c);
}

static void
test_files_relative_to_kubeconfig(void)
{
    struct sc_err e = {0};
    int rc;
    struct kconfig *c = load("files.yaml", &e, &rc);

    CHECK_INT(rc, 0);
    if (c == NULL) {
        fprintf(stderr, "%s\n", e.msg);
        return;
    }
    CHECK_STR(c->server, "https://[::1]:8443");
    CHECK(c->ca_pem && strstr(c->ca_pem, "MIIBfakeCAforTests"));
    CHECK(c->cert_pem && strstr(c->cert_pem, "MIIBfakeClientCert"));
    CHECK(c->key_pem && strstr(c->key_pem, "MIIBfakeClientKey"));
    CHECK(c->namespace == NULL);
    kconfig_free(c);
}

static void
test_token_file_flow_style(void)
{
    struct sc_err e = {0};
    int rc;
    struct kconfig *c = load("token.yaml", &e, &rc);

    CHECK_INT(rc, 0);
    if (c == NULL)
        return;
    CHECK(c->insecure);
    CHECK(c->token == NULL);
    CHECK(c->token_file != NULL && strstr(c->token_file, "kubeconfig/token") != NULL);
    kconfig_free(c);
}

static void
expect_error(const char *file, int code, const char *field)
{
    struct sc_err e = {0};
    int rc;
    struct kconfig *c = load(file, &e, &rc);

    CHECK(c == NULL);
    CHECK_INT(rc, code);
    /* Every message names the file and the field. */
    CHECK(strstr(e.msg, file) != NULL);
    if (strstr(e.msg, field) == NULL)
        fprintf(stderr, "message \"%s\" lacks \"%s\"\n", e.msg, field);
    CHECK(strstr(e.msg, field) != NULL);
    kconfig_free(c);
}

static void
test_errors_name_file_and_field(void)
{
    expect_error("bad-base64.yaml", SC_EINVALID, "users[0].user.client-key-data: invalid base64");
    expect_error("no-server.yaml", SC_EINVALID, "clusters[0].cluster.server: missing");
    expect_error("missing-context.yaml", SC_EINVALID, "contexts: no entry named \"nowhere\"");
    expect_error("syntax.yaml", SC_EINVALID, "yaml error at line");
    expect_error("wrong-type.yaml", SC_EINVALID, "clusters[0].cluster.server: expected a string");
    expect_error("missing-file.yaml", SC_EIO,
                 "clusters[0].cluster.certificate-authority: /nonexistent/ca.crt");
    expect_error("does-not-exist.yaml", SC_EIO, "No such file");
}

static void
test_parse_memory_shapes(void)
{
    struct sc_err e = {0};
    struct kconfig *c = NULL;
    const char *cases[] = {
        "",                     /* empty document */
        "[1, 2, 3]",            /* not a mapping */
        "current-context: x",   /* no contexts */
        "current-context: [a]", /* wrong type */
        "current-context: x\ncontexts: {a: b}\n",
        "current-context: x\ncontexts:\n- name: x\n  context: 7\n",
        "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\nclusters:\n- name: c\n"
        "  cluster: {server: \"ftp://x\"}\n",
        "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\nclusters:\n- name: c\n"
        "  cluster: {server: \"https://x\", insecure-skip-tls-verify: maybe}\n",
        "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\nclusters:\n"
        "- name: c\n  cluster: {server: \"https://x\"}\nusers:\n- name: u\n  user:\n"
        "    client-certificate-data: Zm9v\n",
        "\t\x01\x02garbage: [",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = kconfig_parse(cases[i], strlen(cases[i]), "mem.yaml", NULL, &c, &e);
        CHECK(rc != 0);
        CHECK(c == NULL);
        CHECK(strncmp(e.msg, "mem.yaml: ", 10) == 0);
    }
    /* null values count as absent; anchors and aliases work */
    const char *ok = "current-context: x\ncontexts:\n- name: x\n  context: &ctx {cluster: c, "
                     "user: ~, namespace: null}\nclusters:\n- name: c\n  cluster: {server: "
                     "\"http://127.0.0.1:8080\"}\nother: *ctx\n";
    CHECK_INT(kconfig_parse(ok, strlen(ok), "ok.yaml", NULL, &c, &e), 0);
    if (c != NULL) {
        CHECK_STR(c->server, "http://127.0.0.1:8080");
        CHECK(c->namespace == NULL);
        kconfig_free(c);
    }
}

static void
test_in_cluster(void)
{
    char dir[] = "/tmp/kconfig_test_XXXXXX";
    char path[512];
    struct sc_err e = {0};
    struct kconfig *c = NULL;
    FILE *f;

    CHECK(mkdtemp(dir) != NULL);
    CHECK_INT(kconfig_in_cluster("", "", dir, &c, &e), SC_ENOTFOUND);
    /* No token file: an error naming it. */
    CHECK_INT(kconfig_in_cluster("10.96.0.1", "443", dir, &c, &e), SC_EIO);
    CHECK(strstr(e.msg, "/token") != NULL);
    snprintf(path, sizeof(path), "%s/token", dir);
    f = fopen(path, "w");
    fputs("abc\n", f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/ca.crt", dir);
    f = fopen(path, "w");
    fputs("-----BEGIN CERTIFICATE-----\n", f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/namespace", dir);
    f = fopen(path, "w");
    fputs("kube-system\n", f);
    fclose(f);
    CHECK_INT(kconfig_in_cluster("10.96.0.1", "443", dir, &c, &e), 0);
    if (c != NULL) {
        CHECK_STR(c->server, "https://10.96.0.1:443");
        CHECK_STR(c->namespace, "kube-system");
        CHECK(strstr(c->token_file, "/token") != NULL);
        CHECK_STR(c->source, "in-cluster");
        kconfig_free(c);
        c = NULL;
    }
    CHECK_INT(kconfig_in_cluster("fd00::1", "6443", dir, &c, &e), 0);
    if (c != NULL) {
        CHECK_STR(c->server, "https://[fd00::1]:6443");
        kconfig_free(c);
    }
    snprintf(path, sizeof(path), "rm -rf %s", dir);
    CHECK_INT(system(path), 0);
}

static void
test_load_order(void)
{
    struct sc_err e = {0};
    struct kconfig *c = NULL;
    char path[512];

    snprintf(path, sizeof(path), "%s/kube/kubeconfig/inline.yaml", harness_data_dir());
    setenv("KUBECONFIG", "/nonexistent/a:/nonexistent/b", 1);
    CHECK_INT(kconfig_load(NULL, &c, &e), SC_EIO);
    CHECK(strstr(e.msg, "KUBECONFIG: /nonexistent/a") != NULL);
    /* the flag wins over the environment */
    CHECK_INT(kconfig_load(path, &c, &e), 0);
    kconfig_free(c);
    c = NULL;
    char list[1100];
    snprintf(list, sizeof(list), "/nonexistent/a:%s", path);
    setenv("KUBECONFIG", list, 1);
    CHECK_INT(kconfig_load("", &c, &e), 0);
    if (c)
        CHECK_STR(c->namespace, "kube-system");
    kconfig_free(c);
    unsetenv("KUBECONFIG");
    unsetenv("KUBERNETES_SERVICE_HOST");
    CHECK_INT(kconfig_load(NULL, &c, &e), SC_ENOTFOUND);
}

TEST_MAIN(TEST(test_inline_data), TEST(test_files_relative_to_kubeconfig),
          TEST(test_token_file_flow_style), TEST(test_errors_name_file_and_field),
          TEST(test_parse_memory_shapes), TEST(test_in_cluster), TEST(test_load_order))
