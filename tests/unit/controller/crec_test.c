/* controller/crec.c: a cached snapshot or content as a record and back.
 * Every field a view has must come back equal (pointers to constants and
 * shared strings as the same pointers), with the record smaller than the
 * view; strings outside the view's block are copied; long strings switch
 * to wide slots. */
#include "controller/crec.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/cintern.h"
#include "controller/cpack.h"
#include "controller/cstore.h"
#include "controller/cview.h"
#include "tests/lib/harness.h"

static json_t *
fixture(const char *name)
{
    static json_t *all;
    char path[1024];
    json_error_t e;

    if (all == NULL) {
        snprintf(path, sizeof(path), "%s/controller/objects.json", harness_data_dir());
        all = json_load_file(path, 0, &e);
    }
    return all != NULL ? json_object_get(all, name) : NULL;
}

static bool
same_str(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool
eq_s(const char *a, const char *b, const char *field)
{
    if (same_str(a, b))
        return true;
    fprintf(stderr, "    field %s differs:\n", field);
    CHECK_STR(a, b);
    return false;
}

static bool
eq_i(long long a, long long b, const char *field)
{
    if (a == b)
        return true;
    fprintf(stderr, "    field %s differs:\n", field);
    CHECK_INT(a, b);
    return false;
}

#define SAME_S(f) ok &= eq_s(a->f, b->f, #f)
#define SAME_I(f) ok &= eq_i((long long)a->f, (long long)b->f, #f)

static bool
same_meta(const struct cmeta *a, const struct cmeta *b)
{
    bool ok = true;

    SAME_S(ns);
    SAME_S(name);
    SAME_S(uid);
    SAME_S(rv);
    SAME_I(created_ms);
    SAME_I(deleting_ms);
    SAME_I(fins);
    SAME_I(n_fins);
    SAME_I(deleting);
    SAME_I(size);
    ok &= eq_i(a->extra == b->extra, 1, "extra");
    for (int i = 0; i < 5; i++)
        SAME_I(fin_idx[i]);
    return ok;
}

static bool
same_vs(const struct cvs *a, const struct cvs *b)
{
    bool ok = same_meta(&a->m, &b->m);

    SAME_S(vgs_owner);
    SAME_S(pvc);
    SAME_S(content);
    SAME_S(class_name);
    SAME_S(bound);
    SAME_S(restore_size);
    SAME_S(error_msg);
    SAME_S(error_time);
    SAME_S(vgs_name);
    SAME_I(ready);
    SAME_I(has_pvc);
    SAME_I(has_content);
    SAME_I(has_status);
    SAME_I(restore_zero);
    SAME_I(has_error);
    SAME_I(has_creation_time);
    return ok;
}

static bool
same_vsc(const struct cvsc *a, const struct cvsc *b)
{
    bool ok = same_meta(&a->m, &b->m);

    SAME_S(ref_name);
    SAME_S(ref_ns);
    SAME_S(ref_uid);
    SAME_S(ref_kind);
    SAME_S(ref_api);
    SAME_S(class_name);
    SAME_S(driver);
    SAME_S(volume_handle);
    SAME_S(snapshot_handle);
    SAME_S(source_volume_mode);
    SAME_S(error_msg);
    SAME_S(error_time);
    SAME_S(status_snapshot_handle);
    SAME_S(vgs_handle);
    SAME_I(creation_time_ns);
    SAME_I(restore_size);
    SAME_I(policy);
    SAME_I(ready);
    SAME_I(being_deleted_ann);
    SAME_I(has_status);
    SAME_I(has_creation_time);
    SAME_I(has_restore_size);
    SAME_I(has_error);
    return ok;
}

static bool
same(enum crec_kind kind, const struct cmeta *a, const struct cmeta *b)
{
    return kind == CREC_VS ? same_vs((const void *)a, (const void *)b)
                           : same_vsc((const void *)a, (const void *)b);
}

/* The record's key, when it has one, is "ns/name" (or the name). */
static bool
key_ok(const void *rec, struct cintern *t, const struct cmeta *m)
{
    char want[600];
    const char *rv = NULL, *key = crec_key(rec, t, &rv);

    snprintf(want, sizeof(want), "%s%s%s", m->ns != NULL ? m->ns : "", m->ns != NULL ? "/" : "",
             m->name);
    CHECK(same_str(rv, m->rv));
    if (key == NULL)
        return false;
    CHECK_STR(key, want);
    return true;
}

/* Record m, read it back both ways, compare; returns the record's bytes. */
static size_t
round_trip(const struct cmeta *m, enum crec_kind kind, struct cintern *t)
{
    _Alignas(max_align_t) char buf[CREC_PEEK_BYTES];
    struct sc_err e = {0};
    void *rec = NULL;
    struct cmeta *v = NULL, *p = NULL;
    size_t n;

    CHECK_INT(crec_make(m, kind, t, &rec, &e), 0);
    if (rec == NULL)
        return 0;
    v = crec_view(rec, t);
    p = crec_peek(rec, t, buf);
    CHECK(v != NULL && p != NULL);
    if (v != NULL && p != NULL) {
        CHECK(same(kind, m, v));
        CHECK(same(kind, m, p));
        CHECK_INT(v->refs, 1);
        CHECK_STR(crec_str(rec, t, CREC_NAME), m->name);
        CHECK(same_str(crec_str(rec, t, CREC_NS), m->ns));
        CHECK_STR(crec_str(rec, t, CREC_UID), m->uid);
        CHECK_STR(crec_str(rec, t, CREC_RV), m->rv);
        (void)key_ok(rec, t, m);
    }
    cview_unref(v);
    n = crec_bytes(rec);
    free(rec);
    return n;
}

static void
test_fixtures(void)
{
    struct cintern *t = cintern_new();
    struct cvs *vs = NULL, *vs2 = NULL;
    struct cvsc *c = NULL, *c2 = NULL;
    void *rec = NULL;
    size_t n;

    CHECK(t != NULL);
    CHECK_INT(cvs_parse(fixture("vs-dynamic"), &vs, NULL), 0);
    CHECK_INT(cvs_parse_shared(fixture("vs-dynamic"), t, &vs2, NULL), 0);
    CHECK_INT(cvsc_parse(fixture("vsc-dynamic-ready"), &c, NULL), 0);
    CHECK_INT(cvsc_parse_shared(fixture("vsc-dynamic-ready"), t, &c2, NULL), 0);
    if (vs == NULL || vs2 == NULL || c == NULL || c2 == NULL)
        goto out;
    /* parsed views are keyed: the name is their first string */
    CHECK_INT(crec_make(&vs2->m, CREC_VS, t, &rec, NULL), 0);
    CHECK(rec != NULL && key_ok(rec, t, &vs2->m));
    free(rec);
    CHECK_INT(crec_make(&c2->m, CREC_VSC, t, &rec, NULL), 0);
    CHECK(rec != NULL && key_ok(rec, t, &c2->m));
    free(rec);
    /* without a table, with one, and a view made with the table recorded
     * without it (its shared strings are then copied) */
    n = round_trip(&vs->m, CREC_VS, NULL);
    CHECK(n > 0 && n + 80 < cview_bytes(&vs->m));
    round_trip(&vs->m, CREC_VS, t);
    n = round_trip(&vs2->m, CREC_VS, t);
    CHECK(n > 0 && n + 80 < cview_bytes(&vs2->m));
    round_trip(&vs2->m, CREC_VS, NULL);
    n = round_trip(&c->m, CREC_VSC, NULL);
    CHECK(n > 0 && n + 100 < cview_bytes(&c->m));
    n = round_trip(&c2->m, CREC_VSC, t);
    CHECK(n > 0 && n + 100 < cview_bytes(&c2->m));
    round_trip(&c2->m, CREC_VSC, NULL);
    printf("crec_test: vs-dynamic view %zu B, record %zu B; vsc-dynamic-ready view %zu B, "
           "record %zu B (shared strings in the table)\n",
           cview_bytes(&vs2->m), round_trip(&vs2->m, CREC_VS, t), cview_bytes(&c2->m),
           round_trip(&c2->m, CREC_VSC, t));
out:
    CVIEW_UNREF(vs);
    CVIEW_UNREF(vs2);
    CVIEW_UNREF(c);
    CVIEW_UNREF(c2);
    cintern_free(t);
}

/* A view made by hand: strings outside its block, none in it. */
static void
test_outside_strings_copied(void)
{
    char name[] = "snap-1", pvc[] = "claim";
    struct cvs v = {0};
    struct cmeta *back = NULL;
    struct sc_err e = {0};
    void *rec = NULL;

    v.m.size = sizeof(v);
    v.m.name = name;
    v.m.uid = cpack_known_at(0); /* the constant "" (a literal may be another copy) */
    v.m.rv = "17";
    v.pvc = pvc;
    v.ready = TRI_TRUE;
    v.has_pvc = true;
    CHECK_INT(crec_make(&v.m, CREC_VS, NULL, &rec, &e), 0);
    name[0] = 'X'; /* the record holds its own copy */
    pvc[0] = 'X';
    back = rec != NULL ? crec_view(rec, NULL) : NULL;
    CHECK(back != NULL);
    if (back != NULL) {
        const struct cvs *b = (const struct cvs *)back;

        CHECK_STR(b->m.name, "snap-1");
        CHECK_STR(b->pvc, "claim");
        CHECK(b->m.uid == v.m.uid); /* a constant: the same pointer, no copy */
        CHECK_STR(b->m.rv, "17");
        CHECK(b->m.ns == NULL && b->content == NULL);
        CHECK_INT(b->ready, TRI_TRUE);
        CHECK(b->has_pvc);
        CHECK_INT(back->block_len, 7 + 6 + 3);
    }
    cview_unref(back);
    free(rec);
    /* not a snapshot's view: refused */
    v.m.size = 8;
    CHECK_INT(crec_make(&v.m, CREC_VS, NULL, &rec, &e), SC_EINVALID);
    CHECK(rec == NULL);
}

/* An integer from the edges as often as from the middle: the scalars are
 * packed as varints (zigzagged when signed). */
static int64_t
any_int(unsigned *seed)
{
    static const int64_t edges[] = {0,
                                    1,
                                    -1,
                                    127,
                                    128,
                                    -64,
                                    -65,
                                    INT32_MAX,
                                    INT32_MIN,
                                    (int64_t)UINT32_MAX,
                                    INT64_MAX,
                                    INT64_MIN,
                                    1764900000000,
                                    1764900000000000000};

    if (rand_r(seed) % 2 == 0)
        return edges[(unsigned)rand_r(seed) % SC_ARRAY_LEN(edges)];
    return (int64_t)(((uint64_t)rand_r(seed) << 33) ^ ((uint64_t)rand_r(seed) << 2) ^
                     (uint64_t)rand_r(seed));
}

/* Random views of random strings: short ones over a two-letter alphabet (so
 * that suffixes and repeats are common), constants, NULLs, sometimes one
 * string long enough to need wide slots. */
static void
random_view(struct cvsc *v, unsigned *seed, char (*pool)[48], char *big, size_t big_len)
{
    static const char *const consts[] = {"", "Delete", "Retain", "VolumeSnapshot"};
    const char **f[] = {&v->m.ns,
                        &v->m.name,
                        &v->m.uid,
                        &v->m.rv,
                        &v->ref_name,
                        &v->ref_ns,
                        &v->ref_uid,
                        &v->ref_kind,
                        &v->ref_api,
                        &v->class_name,
                        &v->driver,
                        &v->volume_handle,
                        &v->snapshot_handle,
                        &v->source_volume_mode,
                        &v->error_msg,
                        &v->error_time,
                        &v->status_snapshot_handle,
                        &v->vgs_handle};

    memset(v, 0, sizeof(*v));
    v->m.size = sizeof(*v);
    for (size_t i = 0; i < SC_ARRAY_LEN(f); i++) {
        unsigned r = (unsigned)rand_r(seed) % 8;

        if (r == 0) {
            *f[i] = NULL;
        } else if (r == 1) {
            *f[i] = consts[(unsigned)rand_r(seed) % SC_ARRAY_LEN(consts)];
        } else {
            size_t len = (size_t)rand_r(seed) % 12;

            for (size_t j = 0; j < len; j++)
                pool[i][j] = "ab"[rand_r(seed) % 2];
            pool[i][len] = '\0';
            *f[i] = pool[i];
        }
    }
    if (rand_r(seed) % 4 == 0) {
        memset(big, 'z', big_len - 1);
        big[big_len - 1] = '\0';
        v->error_msg = big;
    }
    if (v->m.name == NULL)
        v->m.name = "n";
    v->m.created_ms = any_int(seed);
    v->m.deleting_ms = any_int(seed);
    v->m.fins = (unsigned)any_int(seed);
    v->m.n_fins = (unsigned)any_int(seed);
    for (int i = 0; i < 5; i++)
        v->m.fin_idx[i] = (signed char)any_int(seed);
    v->m.deleting = rand_r(seed) % 2;
    v->creation_time_ns = any_int(seed);
    v->restore_size = any_int(seed);
    v->policy = (enum cpolicy)(rand_r(seed) % 4);
    v->ready = (enum tri)(rand_r(seed) % 3 - 1);
    v->being_deleted_ann = rand_r(seed) % 2;
    v->has_status = rand_r(seed) % 2;
    v->has_creation_time = rand_r(seed) % 2;
    v->has_error = rand_r(seed) % 2;
    v->has_restore_size = rand_r(seed) % 2;
}

static void
test_random_views(void)
{
    static char big[40000];
    char pool[18][48];
    unsigned seed = 12345;
    int wide = 0;

    for (int i = 0; i < 2000; i++) {
        struct cvsc raw = {0};
        struct cmeta *packed = NULL;
        struct sc_err e = {0};
        void *rec = NULL;

        random_view(&raw, &seed, pool, big, sizeof(big));
        /* as a parsed view: strings packed into its block (cpack) */
        CHECK_INT(crec_make(&raw.m, CREC_VSC, NULL, &rec, &e), 0);
        if (rec == NULL)
            break;
        packed = crec_view(rec, NULL); /* strings in its block, as parsed views have */
        wide += crec_bytes(rec) > sizeof(big);
        free(rec);
        if (packed == NULL)
            break;
        if (!same(CREC_VSC, &raw.m, packed)) {
            cview_unref(packed);
            break;
        }
        round_trip(packed, CREC_VSC, NULL);
        cview_unref(packed);
    }
    CHECK(wide > 0); /* some records had wide slots */
}

/* A store of records: what goes in comes out, and the RV rule holds. */
static void
test_store_of_records(void)
{
    struct cintern *t = cintern_new();
    struct cstore *s = cstore_new();
    struct cvs *vs = NULL;
    struct cmeta *m = NULL;

    CHECK(s != NULL && t != NULL);
    CHECK_INT(cstore_use_records(s, CREC_VS, t), 0);
    CHECK_INT(cvs_parse_shared(fixture("vs-dynamic"), t, &vs, NULL), 0);
    if (vs == NULL)
        goto out;
    CHECK_INT(cstore_put(s, cview_ref(&vs->m), false), CSTORE_ADDED);
    CHECK_INT(cstore_put(s, cview_ref(&vs->m), false), CSTORE_REPLACED); /* same RV passes */
    CHECK_INT(cstore_use_records(s, CREC_VS, t), SC_EINVALID);           /* not empty */
    m = cstore_get(s, "default/snap1");
    CHECK(m != NULL && same(CREC_VS, &vs->m, m));
    cview_unref(m);
    m = cstore_del(s, "default/snap1");
    CHECK(m != NULL && same(CREC_VS, &vs->m, m));
    cview_unref(m);
    CHECK(cstore_get(s, "default/snap1") == NULL);
    CHECK_INT((int)cstore_len(s), 0);
out:
    CVIEW_UNREF(vs);
    cstore_free(s);
    cintern_free(t);
}

TEST_MAIN(TEST(test_fixtures), TEST(test_outside_strings_copied), TEST(test_random_views),
          TEST(test_store_of_records))
