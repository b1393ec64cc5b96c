/* tests/fuzz/controller_gview_fuzz.c -- the group snapshot view parsers
 * (VolumeGroupSnapshot, VolumeGroupSnapshotContent, VolumeGroupSnapshotClass)
 * on arbitrary JSON, and the label selector each parsed group carries,
 * matched against the object's own labels.  Built and run by
 * tests/fuzz/run.sh (make fuzz / make fuzz-long).
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "controller/gview.h"
#include "controller/labelsel.h"
#include "tests/fuzz/fuzz_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
one(const json_t *o)
{
    struct sc_err err = {0};
    struct gvgs *g = NULL;
    struct gvgsc *gc = NULL;
    struct gclass *cl = NULL;

    if (gvgs_parse(o, &g, &err) == SC_OK) {
        struct labelsel *sel = NULL;

        if (g->selector != NULL && labelsel_parse(g->selector, &sel, &err) == SC_OK) {
            struct buf b = {0};

            buf_init(&b, LABELSEL_MAX_TEXT * 2);
            (void)labelsel_match(sel, json_object_get(json_object_get(o, "metadata"), "labels"));
            (void)labelsel_query(sel, &b);
            buf_release(&b);
            labelsel_free(sel);
        }
        CVIEW_UNREF(g);
    }
    if (gvgsc_parse(o, &gc, &err) == SC_OK)
        CVIEW_UNREF(gc);
    if (gclass_parse(o, &cl, &err) == SC_OK)
        CVIEW_UNREF(cl);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *root, *item;
    size_t i;

    root = fuzz_json(data, size);
    if (root == NULL)
        return 0;
    if (json_is_array(root)) {
        json_array_foreach (root, i, item)
            one(item);
    } else {
        one(root);
    }
    json_decref(root);
    return 0;
}
