// libFuzzer target: AdmissionReview parsing, both admission rules and the
// response builder, fed arbitrary bytes.
//
// clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -std=c11
// -D_GNU_SOURCE -DSC_VERSION='"fuzz"' -I. -pthread
// $(pkg-config --cflags libcurl jansson yaml-0.1 libmicrohttpd sqlite3 openssl)
// -o build-fuzz/webhook_admission_fuzz tests/fuzz/webhook_admission_fuzz.c webhook/[!m]*.c
// kube/*.c common/*.c
// $(pkg-config --libs libcurl jansson yaml-0.1 libmicrohttpd sqlite3 openssl) -lm
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "webhook/review.h"
#include "webhook/wh_classes.h"
#include "webhook/wh_dataref.h"

/* A lookup whose answers are derived from the input too. */
static int
fz_classes(void *ctx, enum wh_class_kind kind, wh_class_visit_fn *fn, void *arg, struct sc_err *err)
{
    const uint8_t *sel = ctx;

    if (*sel & 1)
        return sc_err_set(err, SC_EIO, "not synced");
    fn(arg, "existing", kind == WH_CLASS_GROUP ? "g.example.com" : "", (*sel & 2) != 0);
    return SC_OK;
}

static int
fz_grants(void *ctx, const char *ns, wh_grant_visit_fn *fn, void *arg, struct sc_err *err)
{
    const uint8_t *sel = ctx;
    static const struct wh_grant_from from[] = {{"", "PersistentVolumeClaim", "a"}};
    static const struct wh_grant_to to[] = {{"snapshot.storage.k8s.io", "VolumeSnapshot", NULL}};
    struct wh_grant g = {ns, "g", from, 1, to, 1};

    if (*sel & 4)
        return sc_err_set(err, SC_ENOTFOUND, "absent");
    fn(arg, &g);
    return SC_OK;
}

/* The AdmissionReview answer of decision d, encoded and dropped. */
static void
respond(const struct review_admission *r, const struct wh_decision *d)
{
    char *out = NULL;
    size_t n;

    if (review_admission_respond(r, d, &out, &n, NULL) == SC_OK)
        free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct review_admission r = {0};
    struct wh_decision d = {0};
    uint8_t sel = size ? data[0] : 0;
    struct wh_lookup lk = {fz_classes, fz_grants, &sel};

    if (review_admission_parse((const char *)data, size, &r, NULL) != SC_OK)
        return 0;
    wh_classes_review(&r, &lk, &d);
    respond(&r, &d);
    wh_dataref_review(&r, &lk, &d);
    respond(&r, &d);
    review_admission_release(&r);
    return 0;
}
