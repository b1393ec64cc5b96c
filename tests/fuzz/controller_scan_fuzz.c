/* tests/fuzz/controller_scan_fuzz.c -- snapshot and content views from bytes
 * (cvs_scan(), cvsc_scan(): controller/cscan.c) against the tree path on the
 * same bytes (kskim_parse(), then cvs_parse_shared() / cvsc_parse_shared()).
 * Aborts when the bytes path gives a view and the tree path, which parsed
 * the document, refuses it or gives a different view.  (A document the
 * tree parse itself refuses may get a view: kscan()'s documented leniency
 * inside members no view reads.)
 *
 * Built by tests/fuzz/run.sh against the controller's sources and those it
 * depends on.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/limits.h"
#include "controller/cintern.h"
#include "controller/cview.h"
#include "kube/kskim.h"
#include "tests/fuzz/view_eq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One kind (0 snapshot, 1 content) both ways. */
static void
compare(const struct cview_scan *sc, int kind, const char *text, size_t n, const json_t *tree,
        struct cintern *t)
{
    struct cmeta *s = NULL, *r = NULL;
    struct sc_err err = {0};
    int rs, rt;

    rs = kind == 0 ? cvs_scan(sc, text, n, t, (struct cvs **)&s)
                   : cvsc_scan(sc, text, n, t, (struct cvsc **)&s);
    if (rs != 0 && rs != CVIEW_DECLINED)
        abort();
    if (rs != 0 || tree == NULL) {
        cview_unref(s);
        return;
    }
    rt = kind == 0 ? cvs_parse_shared(tree, t, (struct cvs **)&r, &err)
                   : cvsc_parse_shared(tree, t, (struct cvsc **)&r, &err);
    if (rt != 0) {
        fprintf(stderr, "bytes path made a view the tree path refuses: %s\n", err.msg);
        abort();
    }
    const char *d = kind == 0 ? veq_vs((struct cvs *)s, (struct cvs *)r)
                              : veq_vsc((struct cvsc *)s, (struct cvsc *)r);
    if (d != NULL) {
        fprintf(stderr, "views differ in %s\n", d);
        abort();
    }
    cview_unref(s);
    cview_unref(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cview_scan sc = {0};
    struct cintern *t = NULL;
    json_t *tree = NULL;
    const char *text = (const char *)data;

    if (size > 65536 || cview_scan_init(&sc) != 0)
        return 0;
    t = cintern_new();
    if (kskim_parse(text, size, LIM_API_BODY, &tree, NULL) != 0)
        tree = NULL;
    compare(&sc, 0, text, size, tree, t);
    compare(&sc, 1, text, size, tree, t);
    json_decref(tree);
    cintern_free(t);
    return 0;
}
