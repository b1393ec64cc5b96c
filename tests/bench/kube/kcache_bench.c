/* tests/bench/kube/kcache_bench.c -- memory per cached object and watch
 * decode throughput for kube/kinformer.c.  Prints figures; asserts nothing.
 *
 *   bytes/object: heap growth (glibc mallinfo2) of an informer cache holding
 *   N VolumeSnapshot-shaped or PVC-shaped objects as compact views, against
 *   the same objects kept as full jansson trees.
 *   events/s: a synthetic watch stream of MODIFIED events fed in 16 KiB
 *   chunks through framing, JSON decoding, the parse callback and the cache.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kube/kclient.h"
#include "kube/kinformer.h"
#include "kube/kjson.h"

#define N 20000

static size_t
heap_used(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

static double
now_s(void)
{
    struct timespec ts = {0};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- VolumeSnapshot compact view: the fields the controller reads ---------------- */
struct vs_view {
    const char *pvc, *content, *class_name, *bound, *error_msg, *group_owner;
    int64_t restore_size;
    unsigned deleting : 1, ready : 1, fin_source : 1, fin_bound : 1, has_creation : 1;
};

static int
vs_parse(void *ctx, const json_t *obj, void **out, struct sc_err *err)
{
    struct kjson r = {0};
    struct kpack p = {0};
    struct vs_view *v = NULL;
    (void)ctx;

    kjson_init(&r, obj, err);
    const char *pvc = kjson_str(&r, "spec.source.persistentVolumeClaimName");
    const char *content = kjson_str(&r, "spec.source.volumeSnapshotContentName");
    const char *cls = kjson_str(&r, "spec.volumeSnapshotClassName");
    const char *bound = kjson_str(&r, "status.boundVolumeSnapshotContentName");
    const char *emsg = kjson_str(&r, "status.error.message");
    const char *del = kjson_str(&r, "metadata.deletionTimestamp");
    bool ready = kjson_bool(&r, "status.readyToUse");
    bool created = kjson_str(&r, "status.creationTime") != NULL;
    bool f1 =
        kjson_arr_has_str(&r, "metadata.finalizers",
                          "snapshot.storage.kubernetes.io/volumesnapshot-as-source-protection");
    bool f2 = kjson_arr_has_str(&r, "metadata.finalizers",
                                "snapshot.storage.kubernetes.io/volumesnapshot-bound-protection");
    if (kjson_error(&r))
        return kjson_error(&r);
    kpack_init(&p, sizeof(*v));
    kpack_reserve(&p, pvc);
    kpack_reserve(&p, content);
    kpack_reserve(&p, cls);
    kpack_reserve(&p, bound);
    kpack_reserve(&p, emsg);
    v = kpack_alloc(&p);
    if (v == NULL)
        return SC_ENOMEM;
    v->pvc = kpack_str(&p, pvc);
    v->content = kpack_str(&p, content);
    v->class_name = kpack_str(&p, cls);
    v->bound = kpack_str(&p, bound);
    v->error_msg = kpack_str(&p, emsg);
    v->deleting = del != NULL;
    v->ready = ready;
    v->has_creation = created;
    v->fin_source = f1;
    v->fin_bound = f2;
    *out = v;
    return 0;
}

/* ---- PVC compact view ------------------------------------------------------------ */
struct pvc_view {
    const char *volume_name, *storage_class, *phase;
    unsigned deleting : 1, fin_snapshot_source : 1;
};

static int
pvc_parse(void *ctx, const json_t *obj, void **out, struct sc_err *err)
{
    struct kjson r = {0};
    struct kpack p = {0};
    struct pvc_view *v = NULL;
    (void)ctx;

    kjson_init(&r, obj, err);
    const char *vol = kjson_str(&r, "spec.volumeName");
    const char *sc = kjson_str(&r, "spec.storageClassName");
    const char *phase = kjson_str(&r, "status.phase");
    const char *del = kjson_str(&r, "metadata.deletionTimestamp");
    bool f = kjson_arr_has_str(&r, "metadata.finalizers",
                               "snapshot.storage.kubernetes.io/pvc-as-source-protection");
    if (kjson_error(&r))
        return kjson_error(&r);
    kpack_init(&p, sizeof(*v));
    kpack_reserve(&p, vol);
    kpack_reserve(&p, sc);
    kpack_reserve(&p, phase);
    v = kpack_alloc(&p);
    if (v == NULL)
        return SC_ENOMEM;
    v->volume_name = kpack_str(&p, vol);
    v->storage_class = kpack_str(&p, sc);
    v->phase = kpack_str(&p, phase);
    v->deleting = del != NULL;
    v->fin_snapshot_source = f;
    *out = v;
    return 0;
}

/* Realistic objects as the API server returns them (managedFields included). */
static char *
vs_json(int i, int rv)
{
    char *s;
    if (asprintf(&s,
                 "{\"apiVersion\":\"snapshot.storage.k8s.io/v1\",\"kind\":\"VolumeSnapshot\","
                 "\"metadata\":{\"name\":\"snapshot-%06d\",\"namespace\":\"team-%02d\","
                 "\"uid\":\"0d1f3a52-8c7e-4b8e-9a55-%012d\",\"resourceVersion\":\"%d\","
                 "\"generation\":1,\"creationTimestamp\":\"2026-11-22T01:00:00Z\","
                 "\"finalizers\":[\"snapshot.storage.kubernetes.io/"
                 "volumesnapshot-as-source-protection\",\"snapshot.storage.kubernetes.io/"
                 "volumesnapshot-bound-protection\"],\"managedFields\":[{\"manager\":\"kubectl-"
                 "client-side-apply\",\"operation\":\"Update\",\"apiVersion\":\"snapshot.storage."
                 "k8s.io/v1\",\"time\":\"2026-11-22T01:00:00Z\",\"fieldsType\":\"FieldsV1\","
                 "\"fieldsV1\":{\"f:spec\":{\".\":{},\"f:source\":{\".\":{},\"f:"
                 "persistentVolumeClaimName\":{}},\"f:volumeSnapshotClassName\":{}}}},{\"manager"
                 "\":\"snapshot-controller\",\"operation\":\"Update\",\"apiVersion\":\"snapshot."
                 "storage.k8s.io/v1\",\"time\":\"2026-11-22T01:00:02Z\",\"fieldsType\":\"FieldsV1\""
                 ",\"fieldsV1\":{\"f:metadata\":{\"f:finalizers\":{\".\":{},\"v:\\\"snapshot."
                 "storage.kubernetes.io/volumesnapshot-as-source-protection\\\"\":{},\"v:\\\""
                 "snapshot.storage.kubernetes.io/volumesnapshot-bound-protection\\\"\":{}}},\"f:"
                 "status\":{\".\":{},\"f:boundVolumeSnapshotContentName\":{},\"f:creationTime\":"
                 "{},\"f:readyToUse\":{},\"f:restoreSize\":{}}},\"subresource\":\"status\"}]},"
                 "\"spec\":{\"source\":{\"persistentVolumeClaimName\":\"data-db-%06d\"},"
                 "\"volumeSnapshotClassName\":\"csi-hostpath-snapclass\"},\"status\":{"
                 "\"boundVolumeSnapshotContentName\":\"snapcontent-0d1f3a52-8c7e-4b8e-9a55-%012d\","
                 "\"creationTime\":\"2026-11-22T01:00:01Z\",\"readyToUse\":true,\"restoreSize\":"
                 "\"1Gi\"}}",
                 i, i % 50, i, rv, i, i) < 0)
        return NULL;
    return s;
}

static char *
pvc_json(int i, int rv)
{
    char *s;
    if (asprintf(
            &s,
            "{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolumeClaim\",\"metadata\":{\"name\":"
            "\"data-db-%06d\",\"namespace\":\"team-%02d\",\"uid\":\"7a0c9e61-1d2b-4c3d-8e4f-"
            "%012d\",\"resourceVersion\":\"%d\",\"creationTimestamp\":\"2026-11-22T00:00:00Z"
            "\",\"annotations\":{\"pv.kubernetes.io/bind-completed\":\"yes\",\"pv.kubernetes."
            "io/bound-by-controller\":\"yes\",\"volume.beta.kubernetes.io/storage-"
            "provisioner\":\"hostpath.csi.k8s.io\",\"volume.kubernetes.io/storage-"
            "provisioner\":\"hostpath.csi.k8s.io\"},\"finalizers\":[\"kubernetes.io/pvc-"
            "protection\"],\"managedFields\":[{\"manager\":\"kube-controller-manager\","
            "\"operation\":\"Update\",\"apiVersion\":\"v1\",\"time\":\"2026-11-22T00:00:01Z\","
            "\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:metadata\":{\"f:annotations\":{"
            "\"f:pv.kubernetes.io/bind-completed\":{},\"f:pv.kubernetes.io/bound-by-"
            "controller\":{}}},\"f:spec\":{\"f:volumeName\":{}},\"f:status\":{\"f:"
            "accessModes\":{},\"f:capacity\":{\".\":{},\"f:storage\":{}},\"f:phase\":{}}}}]},"
            "\"spec\":{\"accessModes\":[\"ReadWriteOnce\"],\"resources\":{\"requests\":{"
            "\"storage\":\"1Gi\"}},\"storageClassName\":\"csi-hostpath-sc\",\"volumeMode\":"
            "\"Filesystem\",\"volumeName\":\"pvc-7a0c9e61-1d2b-4c3d-8e4f-%012d\"},\"status\":"
            "{\"accessModes\":[\"ReadWriteOnce\"],\"capacity\":{\"storage\":\"1Gi\"},\"phase\":"
            "\"Bound\"}}",
            i, i % 50, i, rv, i) < 0)
        return NULL;
    return s;
}

static void
measure(const char *what, char *(*gen)(int, int), kinf_parse_fn *parse)
{
    struct kconfig cfg = {.server = "https://127.0.0.1:1"};
    struct kclient *c = kclient_new(&cfg, NULL, NULL);
    struct kinformer_opts o = {.name = what, .path = "/x", .parse = parse};
    size_t json_bytes = 0;

    /* pre-parse so only the cache's own allocations are measured */
    json_t **objs = malloc(N * sizeof(*objs));
    for (int i = 0; i < N; i++) {
        char *s = gen(i, 1000 + i);
        json_bytes += strlen(s);
        objs[i] = json_loads(s, 0, NULL);
        free(s);
    }
    malloc_trim(0);
    size_t before = heap_used();
    struct kinformer *inf = kinformer_new(c, &o, NULL);
    for (int i = 0; i < N; i++)
        kinformer_store(inf, objs[i], NULL);
    size_t after = heap_used();
    printf("figure: %s: %zu bytes of JSON per object (with managedFields); compact cache: %.0f "
           "bytes per object (%d objects, %zu cached)\n",
           what, json_bytes / N, (double)(after - before) / N, N, kinformer_len(inf));
    kinformer_free(inf);
    for (int i = 0; i < N; i++)
        json_decref(objs[i]);
    free(objs);
    malloc_trim(0);
    /* the alternative: keep the jansson trees */
    before = heap_used();
    objs = malloc(N * sizeof(*objs));
    for (int i = 0; i < N; i++) {
        char *s = gen(i, 1000 + i);
        objs[i] = json_loads(s, 0, NULL);
        free(s);
    }
    after = heap_used();
    printf("figure: %s: full jansson tree: %.0f bytes per object\n", what,
           (double)(after - before - N * sizeof(*objs)) / N);
    for (int i = 0; i < N; i++)
        json_decref(objs[i]);
    free(objs);
    kclient_free(c);
}

static int
on_line(void *ctx, const char *line, size_t len)
{
    struct kinformer *inf = ctx;
    enum kwatch_type t;
    json_t *obj;
    if (kwatch_decode(line, len, &t, &obj, NULL) != 0)
        return -1;
    kinformer_store(inf, obj, NULL);
    json_decref(obj);
    return 0;
}

static void
decode_rate(void)
{
    struct kconfig cfg = {.server = "https://127.0.0.1:1"};
    struct kclient *c = kclient_new(&cfg, NULL, NULL);
    struct kinformer_opts o = {.name = "vs", .path = "/x", .parse = vs_parse};
    struct kinformer *inf = kinformer_new(c, &o, NULL);
    const int events = 100000;
    size_t total = 0, cap = 0;
    char *stream = NULL;

    for (int i = 0; i < events; i++) {
        char *obj = vs_json(i % 5000, 2000 + i);
        char *line;
        int n = asprintf(&line, "{\"type\":\"MODIFIED\",\"object\":%s}\n", obj);
        free(obj);
        if (total + (size_t)n > cap) {
            cap = (cap + (size_t)n) * 2;
            stream = realloc(stream, cap);
        }
        memcpy(stream + total, line, (size_t)n);
        total += (size_t)n;
        free(line);
    }
    struct kwatch_framer f = {0};
    kwatch_framer_init(&f, 4u << 20);
    double t0 = now_s();
    for (size_t off = 0; off < total; off += 16384) {
        size_t n = total - off < 16384 ? total - off : 16384;
        if (kwatch_framer_feed(&f, stream + off, n, on_line, inf) != 0)
            break;
    }
    double dt = now_s() - t0;
    printf("figure: watch decode: %d VolumeSnapshot MODIFIED events (%.1f MB) in %.2f s = %.0f "
           "events/s (framing + JSON parse + view + cache update, one thread)\n",
           events, (double)total / 1e6, dt, events / dt);
    kwatch_framer_release(&f);
    free(stream);
    kinformer_free(inf);
    kclient_free(c);
}

int
main(void)
{
    measure("VolumeSnapshot", vs_json, vs_parse);
    measure("PersistentVolumeClaim", pvc_json, pvc_parse);
    decode_rate();
    return 0;
}
