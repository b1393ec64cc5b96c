/* tests/fuzz/controller_labelsel_fuzz.c -- metav1.LabelSelector parsing,
 * matching and rendering on arbitrary JSON.  Input: a JSON array [selector,
 * labels, ...] (every further element is matched too) or a lone selector,
 * matched against itself's matchLabels.  A selector that parses must render
 * (labelsel_query / labelsel_format succeed or say SC_ETOOBIG) and an
 * equality-only selector must match its own matchLabels.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/buf.h"
#include "controller/labelsel.h"
#include "tests/fuzz/fuzz_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sc_err err = {0};
    struct labelsel *sel = NULL;
    struct buf b = {0};
    json_t *root, *s, *item;
    size_t i;

    root = fuzz_json(data, size);
    if (root == NULL)
        return 0;
    s = json_is_array(root) ? json_array_get(root, 0) : root;
    if (labelsel_parse(s, &sel, &err) != SC_OK) {
        json_decref(root);
        return 0;
    }
    buf_init(&b, LABELSEL_MAX_TEXT * 4);
    {
        int q = labelsel_query(sel, &b);

        if (q != SC_OK && q != SC_ETOOBIG)
            abort();
    }
    buf_release(&b);
    buf_init(&b, LABELSEL_MAX_TEXT * 4);
    {
        int f = labelsel_format(sel, &b);

        if (f != SC_OK && f != SC_ETOOBIG)
            abort();
    }
    buf_release(&b);
    if (json_is_array(root)) {
        json_array_foreach (root, i, item)
            if (i > 0)
                (void)labelsel_match(sel, item);
    }
    /* {matchLabels: M} with no expressions selects an object labelled M. */
    if (json_is_object(s) && json_object_size(s) == 1 &&
        json_is_object(json_object_get(s, "matchLabels")) &&
        !labelsel_match(sel, json_object_get(s, "matchLabels")))
        abort();
    (void)labelsel_nothing(sel);
    labelsel_free(sel);
    json_decref(root);
    return 0;
}
