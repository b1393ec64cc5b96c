/* libFuzzer target: the streamed LIST page splitter (klist_split in
 * kube/kclient.c), fed arbitrary bytes in chunks of a size the first input
 * byte picks.  Besides the sanitizers, it checks the split against jansson's
 * parse of the whole input: a page the splitter accepts is valid JSON (or
 * holds a "managedFields", whose insides kskim_parse() does not check), and
 * when its "items" is an array the items handed out are exactly that array,
 * less each item's metadata.managedFields.
 *
 * Build and run: tests/fuzz/run.sh (FUZZ_ONLY=kube_list).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kube/kclient.h"
#include "kube/kjson.h"
#include "tests/fuzz/fuzz_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
keep(void *ctx, const json_t *item)
{
    return json_array_append_new(ctx, json_deep_copy(item)) == 0 ? 0 : SC_ENOMEM;
}

/* Nesting beyond jansson's limit once two levels are added, or \u escapes
 * (a key spelled "\u0069tems" is items to jansson, not to the splitter):
 * the whole-page comparison does not apply. */
static int
comparable(const char *p, size_t n)
{
    size_t opens = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '{' || p[i] == '[')
            opens++;
        if (p[i] == '\\' && i + 1 < n && p[i + 1] == 'u')
            return 0;
    }
    return opens < 1000;
}

/* Item by item: the item as jansson parsed it, less its managedFields
 * (kskim_parse() keeps them where it skips nothing: past KSKIM_CUTS spans or
 * KSKIM_DEPTH levels). */
static bool
same_items(const json_t *got, const json_t *want)
{
    size_t i;
    const json_t *w;

    if (json_array_size(got) != json_array_size(want))
        return false;
    json_array_foreach (want, i, w) {
        json_t *lean = json_deep_copy(w);
        bool ok = json_equal(json_array_get(got, i), w);
        fuzz_json_drop_managed(lean);
        ok = ok || json_equal(json_array_get(got, i), lean);
        json_decref(lean);
        if (!ok)
            return false;
    }
    return true;
}

static void
compare(const char *p, size_t n, const json_t *items, const json_t *skel)
{
    json_t *whole = json_loadb(p, n, 0, NULL);
    const json_t *want = json_object_get(whole, "items");
    const json_t *left = json_object_get(skel, "items");

    if (whole == NULL && memmem(p, n, "\"managedFields\"", 15) != NULL)
        return; /* malformed inside a skipped managedFields */
    if (whole == NULL)
        abort(); /* accepted by the splitter, rejected as a whole */
    if (json_is_array(want) && json_is_array(left) && json_array_size(left) == 0 &&
        !same_items(items, want))
        abort();
    json_decref(whole);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct klist_split s = {0};
    struct sc_err e = {0};
    json_t *items = NULL, *skel = NULL;
    size_t step, off;
    int rc = 0;

    if (size < 1)
        return 0;
    step = (size_t)data[0] % 64 + 1;
    data++;
    size--;
    items = json_array();
    klist_split_init(&s, keep, items, &e);
    for (off = 0; rc == 0 && off < size; off += step)
        rc = klist_split_feed(&s, (const char *)data + off, size - off < step ? size - off : step);
    if (rc == 0)
        rc = klist_split_finish(&s, &skel);
    if (rc == 0 && comparable((const char *)data, size))
        compare((const char *)data, size, items, skel);
    klist_split_release(&s);
    json_decref(skel);
    json_decref(items);
    return 0;
}
