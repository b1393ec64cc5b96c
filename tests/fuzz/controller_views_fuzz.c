/* tests/fuzz/controller_views_fuzz.c -- the controller's compact-view
 * parsers (VolumeSnapshot, VolumeSnapshotContent, VolumeSnapshotClass, PVC,
 * PV) on arbitrary JSON, then one sync pass of each parsed snapshot and
 * content against stores holding everything parsed, with no-op actions.
 *
 * clang -g -O1 -fsanitize=fuzzer,address,undefined -std=c11 -D_GNU_SOURCE -I. \
 *   $(pkg-config --cflags jansson) tests/fuzz/controller_views_fuzz.c controller/cview.c \
 *   controller/cstore.c controller/gostr.c controller/cmetrics.c controller/sync_util.c \
 *   controller/cpatch.c controller/gview.c controller/gsync_util.c controller/pvc_pin.c \
 *   controller/snapshot_sync.c controller/content_sync.c common/[a-z]*.c \
 *   $(pkg-config --libs jansson) -lm -o controller_views_fuzz
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/limits.h"
#include "controller/cintern.h"
#include "controller/cstore.h"
#include "controller/cview.h"
#include "controller/sync.h"
#include "tests/fuzz/fuzz_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
a_get(void *ctx, enum kind k, const char *ns, const char *name, json_t **out, struct sc_err *err)
{
    (void)ctx;
    (void)k;
    (void)ns;
    (void)name;
    (void)out;
    return sc_err_set(err, SC_ENOTFOUND, "persistentvolumes \"x\" not found");
}

static int
a_list(void *ctx, enum kind k, const char *ns, const char *sel, json_t **out, struct sc_err *err)
{
    (void)ctx;
    (void)k;
    (void)ns;
    (void)sel;
    (void)err;
    *out = json_array();
    return 0;
}

static int
a_create(void *ctx, enum kind k, const char *ns, const json_t *body, json_t **out,
         struct sc_err *err)
{
    (void)ctx;
    (void)k;
    (void)ns;
    (void)body;
    (void)out;
    (void)err;
    return 0;
}

static int
a_patch(void *ctx, const struct sync_ref *o, bool status, enum sync_patch t, const json_t *p,
        struct sc_err *err)
{
    (void)ctx;
    (void)o;
    (void)status;
    (void)t;
    (void)p;
    (void)err;
    return 0;
}

static int
a_del(void *ctx, enum kind k, const char *ns, const char *name, struct sc_err *err)
{
    (void)ctx;
    (void)k;
    (void)ns;
    (void)name;
    (void)err;
    return 0;
}

static void
a_event(void *ctx, const struct sync_ref *o, const char *t, const char *r, const char *m)
{
    (void)ctx;
    (void)o;
    (void)t;
    (void)r;
    (void)m;
}

static void
a_enq(void *ctx, enum kind k, const char *key)
{
    (void)ctx;
    (void)k;
    (void)key;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct sync_actions act = {NULL,    a_get, a_list,  a_create,
                                            a_patch, a_del, a_event, a_enq};
    struct fake_clock fc = {1000};
    struct sync_env env = {0};
    struct cintern *intern = NULL;
    json_t *root, *item;
    size_t i;
    char key[LIM_KEY];

    root = fuzz_json(data, size);
    if (root == NULL)
        return 0;
    memset(&env, 0, sizeof(env));
    intern = cintern_new();
    env.snapshots = cstore_new();
    env.contents = cstore_new();
    /* as in the controller: snapshots and contents kept as records */
    (void)cstore_use_records(env.snapshots, CREC_VS, intern);
    (void)cstore_use_records(env.contents, CREC_VSC, intern);
    env.classes = cstore_new();
    env.claims = cstore_new();
    env.act = &act;
    env.clock = clock_fake(&fc);
    env.opts.prevent_volume_mode_conversion = true;
    if (!json_is_array(root)) {
        json_t *a = json_array();

        json_array_append_new(a, root);
        root = a;
    }
    json_array_foreach (root, i, item) {
        struct cvs *vs = NULL;
        struct cvsc *c = NULL;
        struct cclass *k = NULL;
        struct cpvc *p = NULL;
        struct cpv *pv = NULL;

        if (cvs_parse_shared(item, intern, &vs, NULL) == 0)
            cstore_put(env.snapshots, &vs->m, true);
        if (cvsc_parse_shared(item, intern, &c, NULL) == 0)
            cstore_put(env.contents, &c->m, true);
        if (cclass_parse(item, &k, NULL) == 0)
            cstore_put(env.classes, &k->m, true);
        if (cpvc_parse(item, &p, NULL) == 0)
            cstore_put(env.claims, &p->m, true);
        if (cpv_parse(item, &pv, NULL) == 0)
            CVIEW_UNREF(pv);
    }
    json_array_foreach (root, i, item) {
        const json_t *meta = json_object_get(item, "metadata");
        const char *ns = json_string_value(json_object_get(meta, "namespace"));
        const char *name = json_string_value(json_object_get(meta, "name"));
        struct sc_err err = {0};

        if (name == NULL)
            continue;
        snprintf(key, sizeof(key), "%s/%s", ns != NULL ? ns : "", name);
        (void)snapshot_sync_key(&env, key, &err);
        (void)content_sync_key(&env, name, &err);
    }
    cstore_free(env.snapshots);
    cstore_free(env.contents);
    cstore_free(env.classes);
    cstore_free(env.claims);
    cintern_free(intern); /* after the stores */
    json_decref(root);
    return 0;
}
