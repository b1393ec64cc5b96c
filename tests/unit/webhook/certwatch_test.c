#include "webhook/certwatch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/limits.h"
#include "tests/lib/harness.h"

static char dir[64];

static void
path(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

static void
data_path(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/webhook/certs/%s", harness_data_dir(), name);
}

static void
write_file(const char *name, const char *content, size_t len)
{
    char p[128];
    FILE *f;

    path(p, sizeof(p), name);
    f = fopen(p, "wb");
    if (f != NULL) {
        fwrite(content, 1, len, f);
        fclose(f);
    }
}

static char *
slurp(const char *p, size_t *len)
{
    FILE *f = fopen(p, "rb");
    char *s;
    long n;

    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    s = calloc(1, (size_t)n + 1);
    if (fread(s, 1, (size_t)n, f) != (size_t)n)
        n = 0;
    fclose(f);
    *len = (size_t)n;
    return s;
}

static void
setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/certwatch_test.XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
}

static void
teardown(void)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup failed\n");
}

static void
test_good_pair_and_chain(void)
{
    struct certpair p = {0};
    struct sc_err err = {0};
    char c[300], k[300], chain[128];
    char *a, *b;
    size_t al, bl;

    setup();
    data_path(c, sizeof(c), "a.crt");
    data_path(k, sizeof(k), "a.key");
    CHECK_INT(certpair_load(c, k, &p, &err), SC_OK);
    CHECK(p.cert_len > 0 && p.key_len > 0);
    CHECK(p.not_after > 4000000000LL); /* the fixtures are valid for 100 years */
    certpair_release(&p);
    /* Leaf followed by another certificate (a chain) is fine. */
    a = slurp(c, &al);
    data_path(c, sizeof(c), "b.crt");
    b = slurp(c, &bl);
    write_file("chain.crt", a, al);
    path(chain, sizeof(chain), "chain.crt");
    {
        FILE *f = fopen(chain, "ab");

        fwrite(b, 1, bl, f);
        fclose(f);
    }
    CHECK_INT(certpair_load(chain, k, &p, &err), SC_OK);
    certpair_release(&p);
    free(a);
    free(b);
    teardown();
}

static void
test_bad_pairs(void)
{
    struct certpair p = {0};
    struct sc_err err = {0};
    char c[300], k[300], g[128], e[128];

    setup();
    data_path(c, sizeof(c), "a.crt");
    data_path(k, sizeof(k), "b.key");
    CHECK_INT(certpair_load(c, k, &p, &err), SC_EINVALID);
    CHECK(strstr(err.msg, "does not match the certificate") != NULL);
    CHECK(p.cert_pem == NULL);

    CHECK_INT(certpair_load("/nonexistent/tls.crt", k, &p, &err), SC_EIO);
    CHECK(strstr(err.msg, "/nonexistent/tls.crt") != NULL);

    write_file("garbage", "-----BEGIN CERTIFICATE-----\nnope\n", 34);
    path(g, sizeof(g), "garbage");
    CHECK_INT(certpair_load(g, k, &p, &err), SC_EINVALID);
    CHECK(strstr(err.msg, "no PEM certificate") != NULL);
    data_path(k, sizeof(k), "a.key");
    CHECK_INT(certpair_load(c, g, &p, &err), SC_EINVALID);
    CHECK(strstr(err.msg, "no PEM private key") != NULL);

    write_file("empty", "", 0);
    path(e, sizeof(e), "empty");
    CHECK_INT(certpair_load(e, k, &p, &err), SC_EINVALID);
    CHECK(strstr(err.msg, "empty file") != NULL);
    teardown();
}

static void
test_too_big(void)
{
    struct certpair p = {0};
    struct sc_err err = {0};
    char big[128], k[300];
    size_t n = LIM_CERT_FILE + 10;
    char *junk = malloc(n);

    setup();
    memset(junk, 'A', n);
    write_file("big", junk, n);
    path(big, sizeof(big), "big");
    data_path(k, sizeof(k), "a.key");
    CHECK_INT(certpair_load(big, k, &p, &err), SC_ETOOBIG);
    free(junk);
    teardown();
}

static void
test_stamp_sees_symlink_swap_and_rewrite(void)
{
    struct certstamp s1 = {0}, s2 = {0};
    char cmd[512], c[128], k[128];

    setup();
    snprintf(cmd, sizeof(cmd),
             "cd %s && mkdir ..g1 ..g2 && echo 1 > ..g1/tls.crt && echo 1 > ..g1/tls.key && "
             "echo 2 > ..g2/tls.crt && echo 2 > ..g2/tls.key && ln -s ..g1 ..data && "
             "ln -s ..data/tls.crt tls.crt && ln -s ..data/tls.key tls.key",
             dir);
    CHECK_INT(system(cmd), 0);
    path(c, sizeof(c), "tls.crt");
    path(k, sizeof(k), "tls.key");
    certstamp_read(c, k, &s1);
    CHECK_INT(s1.missing, 0);
    certstamp_read(c, k, &s2);
    CHECK(certstamp_equal(&s1, &s2));
    snprintf(cmd, sizeof(cmd), "cd %s && ln -s ..g2 ..tmp && mv -T ..tmp ..data", dir);
    CHECK_INT(system(cmd), 0);
    certstamp_read(c, k, &s2);
    CHECK(!certstamp_equal(&s1, &s2));
    /* In-place rewrite of the key (cert-manager style) changes it too. */
    s1 = s2;
    usleep(20000);
    snprintf(cmd, sizeof(cmd), "echo 33 > %s/..g2/tls.key", dir);
    CHECK_INT(system(cmd), 0);
    certstamp_read(c, k, &s2);
    CHECK(!certstamp_equal(&s1, &s2));
    snprintf(cmd, sizeof(cmd), "rm %s/..g2/tls.key", dir);
    CHECK_INT(system(cmd), 0);
    certstamp_read(c, k, &s2);
    CHECK_INT(s2.missing, 2);
    teardown();
}

TEST_MAIN(TEST(test_good_pair_and_chain), TEST(test_bad_pairs), TEST(test_too_big),
          TEST(test_stamp_sees_symlink_swap_and_rewrite))
