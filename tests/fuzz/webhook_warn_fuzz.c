// libFuzzer target: the admission warnings (webhook/wh_warn.c), the compact
// views they read (webhook/wh_objs.c) and the response with warnings, fed
// arbitrary bytes.  The request's object is also parsed as every cached kind
// (PVC, PV, StorageClass, content), so the view parsers see arbitrary JSON
// too; the first byte picks which lookups fail.  Built by tests/fuzz/run.sh.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "webhook/review.h"
#include "webhook/wh_objs.h"
#include "webhook/wh_warn.h"

struct fz {
    const struct review_admission *r;
    uint8_t sel;
};

static int
fz_classes(void *ctx, enum wh_class_kind kind, wh_class_visit_fn *fn, void *arg, struct sc_err *err)
{
    const struct fz *z = ctx;

    if (z->sel & 1)
        return sc_err_set(err, SC_EIO, "not synced");
    fn(arg, "existing", kind == WH_CLASS_GROUP ? "g.example.com" : "d.example.com",
       (z->sel & 2) != 0);
    fn(arg, "other", "d.example.com", (z->sel & 4) != 0);
    return SC_OK;
}

/* The request's object parsed as the view of kind (NULL when it does not parse). */
static void *
view_of(const struct fz *z, enum wh_obj kind)
{
    void *v = NULL;
    int rc = SC_EINVALID;

    if (z->r->object == NULL)
        return NULL;
    switch (kind) {
    case WH_OBJ_PVC:
        rc = wh_pvc_parse(z->r->object, (struct wh_pvc **)&v, NULL);
        break;
    case WH_OBJ_PV:
        rc = wh_pv_parse(z->r->object, (struct wh_pv **)&v, NULL);
        break;
    case WH_OBJ_SC:
        rc = wh_sc_parse(z->r->object, (struct wh_sc **)&v, NULL);
        break;
    case WH_OBJ_CONTENT:
        rc = wh_content_parse(z->r->object, (struct wh_content **)&v, NULL);
        break;
    case WH_OBJ_N:
        break;
    }
    return rc == SC_OK ? v : NULL;
}

static int
fz_get(void *ctx, enum wh_obj kind, const char *key, wh_obj_visit_fn *fn, void *arg,
       struct sc_err *err)
{
    const struct fz *z = ctx;
    void *v;

    (void)key;
    if (z->sel & 8)
        return sc_err_set(err, SC_EIO, "not synced");
    v = view_of(z, kind);
    if (v == NULL)
        return sc_err_set(err, SC_ENOTFOUND, "absent");
    fn(arg, v);
    free(v);
    return SC_OK;
}

static int
fz_pvcs(void *ctx, const char *ns, wh_obj_visit_fn *fn, void *arg, struct sc_err *err)
{
    const struct fz *z = ctx;
    void *v;

    (void)ns;
    if (z->sel & 16)
        return sc_err_set(err, SC_EIO, "not synced");
    v = view_of(z, WH_OBJ_PVC);
    if (v != NULL) {
        fn(arg, v);
        fn(arg, v); /* twice: the same PVC, the same driver */
    }
    free(v);
    return SC_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct review_admission r = {0};
    struct wh_warn_lookup lk = {0};
    struct wh_warnings w = {0};
    struct wh_decision d = {0};
    struct fz z = {0};
    const char *msgs[WH_WARN_MAX];
    char *out = NULL;
    size_t n;

    if (review_admission_parse((const char *)data, size, &r, NULL) != SC_OK)
        return 0;
    z.r = &r;
    z.sel = size ? data[size - 1] : 0;
    lk.classes.classes = fz_classes;
    lk.classes.ctx = &z;
    lk.get = fz_get;
    lk.pvcs = fz_pvcs;
    lk.ctx = &z;
    wh_warn_review(&r, &lk, &w);
    for (size_t i = 0; i < w.n; i++)
        msgs[i] = w.msg[i];
    d.allowed = true;
    d.rule = WH_WARN_RULE;
    if (review_admission_respond_warn(&r, &d, msgs, w.n, &out, &n, NULL) == SC_OK)
        free(out);
    review_admission_release(&r);
    return 0;
}
