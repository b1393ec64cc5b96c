/* tests/fuzz/view_eq.h -- field-by-field equality of two snapshot or
 * content views (controller/cview.h), for the tests that compare the bytes
 * path (cvs_scan(), cvsc_scan()) with the tree path.  Returns the name of
 * the first field that differs, or NULL when the views are equal. */
#ifndef SC_TESTS_VIEW_EQ_H
#define SC_TESTS_VIEW_EQ_H

#include <string.h>

#include "controller/cview.h"

static inline int
veq_str(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

#define VEQ_S(f)                  \
    do {                          \
        if (!veq_str(a->f, b->f)) \
            return #f;            \
    } while (0)
#define VEQ_V(f)          \
    do {                  \
        if (a->f != b->f) \
            return #f;    \
    } while (0)

static inline const char *
veq_meta(const struct cmeta *a, const struct cmeta *b)
{
    VEQ_S(ns);
    VEQ_S(name);
    VEQ_S(uid);
    VEQ_S(rv);
    VEQ_V(created_ms);
    VEQ_V(deleting_ms);
    VEQ_V(block_len);
    VEQ_V(size);
    VEQ_V(fins);
    VEQ_V(n_fins);
    VEQ_V(deleting);
    if (memcmp(a->fin_idx, b->fin_idx, sizeof(a->fin_idx)) != 0)
        return "fin_idx";
    return NULL;
}

static inline const char *
veq_vs(const struct cvs *a, const struct cvs *b)
{
    const char *m = veq_meta(&a->m, &b->m);

    if (m != NULL)
        return m;
    VEQ_S(vgs_owner);
    VEQ_S(pvc);
    VEQ_S(content);
    VEQ_S(class_name);
    VEQ_S(bound);
    VEQ_S(restore_size);
    VEQ_S(error_msg);
    VEQ_S(error_time);
    VEQ_S(vgs_name);
    VEQ_V(ready);
    VEQ_V(has_pvc);
    VEQ_V(has_content);
    VEQ_V(has_status);
    VEQ_V(restore_zero);
    VEQ_V(has_error);
    VEQ_V(has_creation_time);
    return NULL;
}

static inline const char *
veq_vsc(const struct cvsc *a, const struct cvsc *b)
{
    const char *m = veq_meta(&a->m, &b->m);

    if (m != NULL)
        return m;
    VEQ_S(ref_name);
    VEQ_S(ref_ns);
    VEQ_S(ref_uid);
    VEQ_S(ref_kind);
    VEQ_S(ref_api);
    VEQ_S(class_name);
    VEQ_S(driver);
    VEQ_S(volume_handle);
    VEQ_S(snapshot_handle);
    VEQ_S(source_volume_mode);
    VEQ_S(error_msg);
    VEQ_S(error_time);
    VEQ_S(status_snapshot_handle);
    VEQ_S(vgs_handle);
    VEQ_V(creation_time_ns);
    VEQ_V(restore_size);
    VEQ_V(policy);
    VEQ_V(ready);
    VEQ_V(being_deleted_ann);
    VEQ_V(has_status);
    VEQ_V(has_creation_time);
    VEQ_V(has_restore_size);
    VEQ_V(has_error);
    return NULL;
}

#undef VEQ_S
#undef VEQ_V

#endif
