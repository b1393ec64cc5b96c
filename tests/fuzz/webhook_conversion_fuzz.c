// libFuzzer target: ConversionReview parsing, conversion of every object to
// each group version, and the response builder.
//
// clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -std=c11
// -D_GNU_SOURCE -DSC_VERSION='"fuzz"' -I. -pthread
// $(pkg-config --cflags libcurl jansson yaml-0.1 libmicrohttpd sqlite3 openssl)
// -o build-fuzz/webhook_conversion_fuzz tests/fuzz/webhook_conversion_fuzz.c webhook/[!m]*.c
// kube/*.c common/*.c
// $(pkg-config --libs libcurl jansson yaml-0.1 libmicrohttpd sqlite3 openssl) -lm
#include <stdint.h>
#include <stdlib.h>

#include "webhook/review.h"
#include "webhook/wh_convert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const versions[] = {WH_CONVERT_GROUP "/v1beta1", WH_CONVERT_GROUP "/v1beta2",
                                           WH_CONVERT_GROUP "/v1"};
    struct review_conversion r = {0};
    struct sc_err err = {0};
    char *out = NULL;
    size_t n;
    int rc;

    if (review_conversion_parse((const char *)data, size, &r, NULL) != SC_OK)
        return 0;
    rc = wh_convert_all(r.objects, r.desired, &err); /* in place */
    if (review_conversion_respond(&r, rc == SC_OK ? r.objects : NULL, rc == SC_OK ? NULL : err.msg,
                                  &out, &n, NULL) == SC_OK)
        free(out);
    /* Converting the result onwards, and a half-converted one, must never
     * crash either. */
    for (size_t i = 0; i < 3; i++)
        (void)wh_convert_all(r.objects, versions[i], &err);
    review_conversion_release(&r);
    return 0;
}
