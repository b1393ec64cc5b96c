/* tests/unit/kube/curlbuild_test.c -- the libcurl the binaries link.
 *
 * With our build (the Makefile's default, SC_CURL_BUNDLED): HTTP and HTTPS
 * only, over OpenSSL (kube/ktls.c hands curl OpenSSL objects).
 *
 * Either build: curl's printf into a dynbuf (every request line and header
 * goes through it) writes exactly what snprintf writes, for strings on both
 * sides of every flush of the buffer our patch adds
 * (scripts/patches/curl/mprintf-buffered-append.patch), and still fails at
 * its 8,000,000-byte limit, at the same byte; literal text and %s strings
 * (copied in runs by mprintf-string-runs.patch) come out as snprintf writes
 * them, with widths, precisions and NULL, and curl_msnprintf truncates at
 * every buffer size as it did byte by byte. */
#include <curl/curl.h>
#include <curl/mprintf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/harness.h"

#define APRINTF_LIMIT 8000000 /* curl's DYN_APRINTF, its terminating NUL included */

static void
test_features(void)
{
    const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);

    CHECK(v != NULL && v->ssl_version != NULL);
    CHECK(strncmp(v->ssl_version, "OpenSSL/", 8) == 0);
#ifdef SC_CURL_BUNDLED
    size_t n = 0;

    for (const char *const *p = v->protocols; *p != NULL; p++, n++)
        CHECK(strcmp(*p, "http") == 0 || strcmp(*p, "https") == 0);
    CHECK_INT(n, 2);
    CHECK((v->features & CURL_VERSION_SSL) != 0);
    CHECK((v->features & (CURL_VERSION_LIBZ | CURL_VERSION_IDN | CURL_VERSION_GSSAPI |
                          CURL_VERSION_HTTP2 | CURL_VERSION_PSL | CURL_VERSION_NTLM)) == 0);
    CHECK(v->libssh_version == NULL);
#endif
}

static void
test_printf_same_as_snprintf(void)
{
    enum { MAX = 1100 };
    char *s = malloc(MAX + 1), *want = malloc(3 * MAX + 64);

    CHECK(s != NULL && want != NULL);
    if (s == NULL || want == NULL)
        goto out;
    for (size_t i = 0; i < MAX; i++)
        s[i] = (char)('a' + (int)(i % 26));
    for (size_t n = 0; n <= MAX; n++) {
        char *got;

        s[n] = '\0';
        snprintf(want, 3 * MAX + 64, "Authorization: Bearer %s\r\n%zu:%s|%-5d|", s, n, s + n / 2,
                 (int)n);
        got = curl_maprintf("Authorization: Bearer %s\r\n%zu:%s|%-5d|", s, n, s + n / 2, (int)n);
        CHECK(got != NULL && strcmp(got, want) == 0);
        if (got == NULL || strcmp(got, want) != 0) {
            fprintf(stderr, "  differs at n=%zu\n", n);
            curl_free(got);
            break;
        }
        curl_free(got);
        s[n] = (char)('a' + (int)(n % 26));
    }
    {
        char *empty = curl_maprintf("%s", "");

        CHECK(empty != NULL && empty[0] == '\0');
        curl_free(empty);
    }
out:
    free(s);
    free(want);
}

static void
test_printf_limit(void)
{
    char *s = malloc(APRINTF_LIMIT + 1), *got;

    CHECK(s != NULL);
    if (s == NULL)
        return;
    memset(s, 'x', APRINTF_LIMIT);
    s[APRINTF_LIMIT - 1] = '\0'; /* the longest that fits with its NUL */
    got = curl_maprintf("%s", s);
    CHECK(got != NULL && strlen(got) == APRINTF_LIMIT - 1);
    curl_free(got);
    s[APRINTF_LIMIT - 1] = 'x';
    s[APRINTF_LIMIT] = '\0'; /* one byte more */
    got = curl_maprintf("%s", s);
    CHECK(got == NULL);
    curl_free(got);
    free(s);
}

static void
test_printf_forms(void)
{
    static const char *const strs[] = {"", "a", "abcdef",
                                       "0123456789012345678901234567890123456789"};
    char want[512], *got;

    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        const char *x = strs[i];
        snprintf(want, sizeof(want), "<%s|%10s|%-10s|%.3s|%.0s|%%|%c%s>", x, x, x, x, x, 'q', x);
        got = curl_maprintf("<%s|%10s|%-10s|%.3s|%.0s|%%|%c%s>", x, x, x, x, x, 'q', x);
        CHECK(got != NULL && strcmp(got, want) == 0);
        if (got != NULL && strcmp(got, want) != 0)
            fprintf(stderr, "  want %s\n  got  %s\n", want, got);
        curl_free(got);
    }
    got = curl_maprintf("[%s]", (char *)NULL); /* curl writes (nil), as glibc does */
    CHECK(got != NULL && strcmp(got, "[(nil)]") == 0);
    curl_free(got);
}

/* curl_msnprintf at every size: the same bytes as snprintf, and curl's own
 * count (what it wrote, less the byte it gives up for the NUL when full). */
static void
test_snprintf_truncation(void)
{
#define REQ_FMT "GET %s HTTP/1.1\r\nHost: %s:%d\r\n%s"
    const char *path = "/apis/snapshot.storage.k8s.io/v1/namespaces/default/volumesnapshots";
    char want[256], got[256];
    int full = snprintf(want, sizeof(want), REQ_FMT, path, "127.0.0.1", 6443, "Accept: */*\r\n");

    for (size_t max = 0; max <= (size_t)full + 2; max++) {
        int n;

        memset(got, '#', sizeof(got));
        memset(want, '#', sizeof(want));
        snprintf(want, max, REQ_FMT, path, "127.0.0.1", 6443, "Accept: */*\r\n");
        n = curl_msnprintf(got, max, REQ_FMT, path, "127.0.0.1", 6443, "Accept: */*\r\n");
        CHECK(memcmp(got, want, sizeof(got)) == 0);
        CHECK_INT(n, max == 0 ? 0 : (size_t)full < max ? full : (int)max - 1);
        if (memcmp(got, want, sizeof(got)) != 0) {
            fprintf(stderr, "  differs at size %zu\n", max);
            break;
        }
    }
#undef REQ_FMT
}

TEST_MAIN(TEST(test_features), TEST(test_printf_forms), TEST(test_snprintf_truncation),
          TEST(test_printf_same_as_snprintf), TEST(test_printf_limit))
