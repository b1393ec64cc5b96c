/* libFuzzer target: kscan() (kube/kscan.c) against jansson.
 *
 * Build and run (from the repository root): tests/fuzz/run.sh builds it as
 * every target (FUZZ_ONLY=kube_scan FUZZ_SECONDS=60 tests/fuzz/run.sh), or
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -std=c11 \
 *     -D_GNU_SOURCE -DSC_VERSION='"fuzz"' -I. -pthread $(make -s print-lib-cflags) \
 *     -o build-fuzz/kube_scan_fuzz tests/fuzz/kube_scan_fuzz.c kube/k*.c common/[a-z]*.c \
 *     $(make -s print-lib-ldlibs)
 *   build-fuzz/kube_scan_fuzz -max_total_time=60 tests/fuzz/corpus/kube_scan_fuzz
 *
 * The input is one document, scanned with the paths the controller's views
 * read of a VolumeSnapshot and a content.  When kscan() takes it, every
 * report must be what jansson's walk of the same path finds in its tree:
 * the tree of json_loadb() without JSON_REJECT_DUPLICATES (the last of
 * duplicate members wins), which accepts every document
 * JSON_REJECT_DUPLICATES accepts, with the same tree, and also shows a
 * member on a path present twice that kscan() did not decline.  A document
 * jansson refuses may be taken (kscan.h: values on no path are checked for
 * structure only); its reports are then checked for what kscan.h promises
 * of each type alone (a string without escapes or control characters that
 * jansson's json_stringn() takes, and so on).  The scratch is then cut to
 * one byte short of what the strings took: kscan() must decline; and to just
 * enough: the same reports.  kscan_member() and kscan_next() are run on the
 * OBJECT and ARRAY spans reported, and on the input itself, against
 * jansson's parse of the same bytes.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kube/kscan.h"
#include "tests/fuzz/fuzz_json.h"
#include "tests/fuzz/kscan_eq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const paths[] = {
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "metadata.resourceVersion",
    "metadata.deletionTimestamp",
    "metadata.creationTimestamp",
    "metadata.finalizers",
    "metadata.ownerReferences",
    "metadata.annotations",
    "spec.source.persistentVolumeClaimName",
    "spec.source.volumeSnapshotContentName",
    "spec.volumeSnapshotClassName",
    "spec.volumeSnapshotRef.name",
    "spec.volumeSnapshotRef.namespace",
    "spec.volumeSnapshotRef.uid",
    "spec.deletionPolicy",
    "spec.driver",
    "spec.source.volumeHandle",
    "spec.source.snapshotHandle",
    "spec.sourceVolumeMode",
    "status",
    "status.boundVolumeSnapshotContentName",
    "status.creationTime",
    "status.readyToUse",
    "status.restoreSize",
    "status.error",
    "status.error.message",
    "status.error.time",
    "status.volumeGroupSnapshotName",
    "status.snapshotHandle",
};
#define N_PATHS (sizeof(paths) / sizeof(paths[0]))

/* Keys kscan_member() is asked for besides those an object has. */
static const char *const other_keys[] = {"", "a", "name", "snapshot.storage.kubernetes.io/x"};

/* The strings' scratch: each string takes at most its bytes in the input
 * and a NUL; at most N_PATHS strings. */
static char scratch[FUZZ_JSON_MAX + N_PATHS + 1];

/* jansson's parse of n bytes at p, duplicate members taken (the last
 * wins): where JSON_REJECT_DUPLICATES (kjson_parse()) takes a document, the
 * same tree. */
static json_t *
load(const char *p, size_t n)
{
    return json_loadb(p, n, 0, NULL);
}

/* A report as kscan.h describes its type, whatever the document. */
static void
well_formed(const struct kscan_val *v, const struct kscan_buf *sb, const char *data, size_t size)
{
    json_t *s = NULL;

    switch (v->type) {
    case KSCAN_STRING:
        if (v->s < sb->p || v->s + v->n >= sb->p + sb->len || v->s[v->n] != '\0')
            abort();
        for (size_t i = 0; i < v->n; i++)
            if ((unsigned char)v->s[i] < 0x20 || v->s[i] == '\\' || v->s[i] == '"')
                abort();
        if ((s = json_stringn(v->s, v->n)) == NULL) /* jansson's UTF-8 check */
            abort();
        json_decref(s);
        break;
    case KSCAN_OBJECT:
    case KSCAN_ARRAY:
        if (v->s < data || v->n < 2 || v->s + v->n > data + size ||
            v->s[0] != (v->type == KSCAN_OBJECT ? '{' : '[') ||
            v->s[v->n - 1] != (v->type == KSCAN_OBJECT ? '}' : ']'))
            abort();
        break;
    case KSCAN_ABSENT:
    case KSCAN_NULL:
    case KSCAN_INTEGER:
    case KSCAN_TRUE:
    case KSCAN_FALSE:
        break;
    default:
        abort();
    }
}

/* Does v report what j (NULL: absent) holds? */
static bool
same_value(const struct kscan_val *v, const json_t *j)
{
    return kscan_same_value(v, j, 0);
}

/* jansson's walk of a dotted path: NULL when a member is missing or a
 * prefix is null; abort() when a prefix is another type (kscan() declines
 * those). */
static const json_t *
walk(const json_t *root, const char *path)
{
    const json_t *cur = root;

    for (;;) {
        const char *dot = strchr(path, '.');
        size_t len = dot != NULL ? (size_t)(dot - path) : strlen(path);

        if (json_is_null(cur))
            return NULL;
        if (!json_is_object(cur))
            abort();
        cur = json_object_getn(cur, path, len);
        if (cur == NULL || dot == NULL)
            return cur;
        path = dot + 1;
    }
}

/* kscan_member() of the object span obj, for each key the tree j (jansson's
 * parse of the span, NULL when it refuses it) has and a few it may not:
 * when it takes the span, what j holds there. */
static void
member_differential(const struct kscan_val *obj, json_t *j)
{
    struct kscan_buf sb = {.p = scratch, .cap = sizeof(scratch)};
    struct kscan_val v = {0};
    const char *k = NULL;
    json_t *m = NULL;

    json_object_foreach (j, k, m) {
        if (kscan_member(obj, k, &v, &sb) == 0) {
            well_formed(&v, &sb, obj->s, obj->n);
            if (!same_value(&v, m))
                abort();
        }
        sb.len = 0;
    }
    for (size_t i = 0; i < sizeof(other_keys) / sizeof(other_keys[0]); i++) {
        if (kscan_member(obj, other_keys[i], &v, &sb) == 0) {
            well_formed(&v, &sb, obj->s, obj->n);
            if (j != NULL && !same_value(&v, json_object_get(j, other_keys[i])))
                abort();
        }
        sb.len = 0;
    }
}

/* kscan_next() over the array span arr against j (jansson's parse of the
 * span, NULL when it refuses it): element by element, the same values, and
 * the end where j ends, unless it declines. */
static void
next_differential(const struct kscan_val *arr, const json_t *j)
{
    struct kscan_buf sb = {.p = scratch, .cap = sizeof(scratch)};
    struct kscan_iter it = {0};
    struct kscan_val v = {0};
    size_t i = 0;
    int rc = 0;

    kscan_iter_init(&it, arr);
    while ((rc = kscan_next(&it, &v, &sb)) == 1) {
        well_formed(&v, &sb, arr->s, arr->n);
        if (j != NULL && (i >= json_array_size(j) || !same_value(&v, json_array_get(j, i))))
            abort();
        i++;
    }
    if (rc == 0 && j != NULL && i != json_array_size(j))
        abort();
}

/* The sub-scans of a span kscan() reported, against jansson's parse of its
 * bytes. */
static void
span_differential(const struct kscan_val *v)
{
    json_t *j = NULL;

    if (v->type != KSCAN_OBJECT && v->type != KSCAN_ARRAY)
        return;
    j = load(v->s, v->n); /* NULL: refused; kscan_member() and kscan_next() may take it */
    if (v->type == KSCAN_OBJECT)
        member_differential(v, json_is_object(j) ? j : NULL);
    else
        next_differential(v, json_is_array(j) ? j : NULL);
    json_decref(j);
}

/* The scratch cut to need - 1 bytes: a decline; to need: the same
 * reports. */
static void
scratch_differential(const uint8_t *data, size_t size, const struct kscan_spec *spec,
                     const struct kscan_val *want, size_t need)
{
    static char small[sizeof(scratch)];
    struct kscan_val got[N_PATHS] = {{0}};
    struct kscan_buf sb = {.p = small, .cap = need - 1};

    if (need > 0 && kscan((const char *)data, size, spec, got, &sb) != KSCAN_DECLINE)
        abort();
    sb.cap = need;
    sb.len = 0;
    if (kscan((const char *)data, size, spec, got, &sb) != 0 || sb.len != need)
        abort();
    for (size_t i = 0; i < N_PATHS; i++) {
        const struct kscan_val *a = &want[i], *b = &got[i];
        if (a->type != b->type || a->n != b->n || a->i != b->i ||
            (a->type == KSCAN_STRING && memcmp(a->s, b->s, a->n) != 0) ||
            (a->type >= KSCAN_OBJECT && a->s != b->s))
            abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct kscan_spec spec;
    static bool compiled;
    struct kscan_val out[N_PATHS] = {{0}};
    struct kscan_buf sb = {.p = scratch, .cap = sizeof(scratch)};
    json_t *tree = NULL;

    if (size > FUZZ_JSON_MAX)
        return 0;
    if (!compiled) {
        if (kscan_compile(&spec, paths, N_PATHS) != 0)
            abort();
        compiled = true;
    }
    /* the input itself as an object span and an array span */
    struct kscan_val whole = {.type = KSCAN_OBJECT, .s = (const char *)data, .n = size};
    if (size >= 2 && data[0] == '[')
        whole.type = KSCAN_ARRAY;
    span_differential(&whole);

    if (kscan((const char *)data, size, &spec, out, &sb) != 0)
        return 0;
    tree = load((const char *)data, size);
    for (size_t i = 0; i < N_PATHS; i++) {
        well_formed(&out[i], &sb, (const char *)data, size);
        if (tree != NULL && !same_value(&out[i], walk(tree, paths[i])))
            abort();
    }
    json_decref(tree);
    scratch_differential(data, size, &spec, out, sb.len);
    for (size_t i = 0; i < N_PATHS; i++)
        span_differential(&out[i]);
    return 0;
}
