/* tests/unit/kube/curlbuild_test.c -- the libcurl the binaries link.
 *
 * With our build (the Makefile's default, SC_CURL_BUNDLED): HTTP and HTTPS
 * only, over OpenSSL (kube/ktls.c hands curl OpenSSL objects).
 *
 * Either build: curl's printf into a dynbuf (every request line and header
 * goes through it) writes exactly what snprintf writes, for strings on both
 * sides of every flush of the buffer our patch adds
 * (scripts/patches/curl/mprintf-buffered-append.patch), and still fails at
 * its 8,000,000-byte limit, at the same byte. */
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

TEST_MAIN(TEST(test_features), TEST(test_printf_same_as_snprintf), TEST(test_printf_limit))
