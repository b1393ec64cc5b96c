/* tests/unit/kube/kjson_test.c -- the typed JSON reader: for each getter,
 * the value when the type is right; "not set" and no error when absent or
 * null; the sticky error, naming the field and both types, when the type is
 * wrong; and every later read returning "not set" once an error is set.
 * Also: reads relative to a node, the three-state bool, strict integers,
 * metav1.Time in both shapes, map values with presence, array elements, and
 * capped string copies (huge strings, UTF-8 boundaries). */
#include "kube/kjson.h"

#include <stdlib.h>
#include <string.h>

#include "tests/lib/harness.h"

static json_t *
doc(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, 0, &je);

    if (v == NULL)
        abort();
    return v;
}

/* The fixture most tests read. */
static const char *const fixture =
    "{\"metadata\":{\"name\":\"n1\",\"annotations\":{"
    "\"a.io/x\":\"yes\",\"a.io/nul\":null,\"a.io/num\":5}},"
    "\"spec\":{\"s\":\"v\",\"n\":null,\"i\":7,\"r\":1.5,"
    "\"t\":true,\"f\":false,\"o\":{\"k\":\"w\"},\"a\":[\"x\",null,3],"
    "\"objs\":[{\"k\":\"e0\"},2]}}";

static void
test_str_at(void)
{
    json_t *d = doc(fixture);
    struct sc_err err = {0};
    struct kjson r = {0};
    const json_t *spec;

    kjson_init(&r, d, &err);
    spec = kjson_obj_at(&r, d, "spec");
    CHECK(spec != NULL);
    CHECK_STR(kjson_str_at(&r, spec, "s"), "v");
    CHECK_STR(kjson_str_at(&r, spec, "o.k"), "w"); /* a dotted path below a node */
    CHECK(kjson_str_at(&r, spec, "missing") == NULL);
    CHECK(kjson_str_at(&r, spec, "n") == NULL);
    CHECK(kjson_str_at(&r, NULL, "s") == NULL); /* from NULL: absent */
    CHECK(kjson_obj_at(&r, spec, "o") != NULL);
    CHECK(json_array_size(kjson_arr_at(&r, spec, "a")) == 3);
    CHECK_INT(kjson_error(&r), 0);
    /* wrong type: the error names the path as given and both types */
    CHECK(kjson_str_at(&r, spec, "i") == NULL);
    CHECK_INT(kjson_error(&r), SC_EPROTO);
    CHECK_INT(err.code, SC_EPROTO);
    CHECK_STR(err.msg, "i: expected string, got integer");
    /* sticky: a valid read after an error returns "not set", first error kept */
    CHECK(kjson_str_at(&r, spec, "s") == NULL);
    CHECK(kjson_obj_at(&r, spec, "t") == NULL);
    CHECK_STR(err.msg, "i: expected string, got integer");
    json_decref(d);
}

static void
test_obj_arr_wrong_types(void)
{
    json_t *d = doc(fixture);
    struct sc_err err = {0};
    struct kjson r = {0};

    kjson_init(&r, d, &err);
    CHECK(kjson_obj_at(&r, d, "spec.a") == NULL);
    CHECK_STR(err.msg, "spec.a: expected object, got array");
    kjson_init(&r, d, &err);
    CHECK(kjson_arr_at(&r, d, "spec.o") == NULL);
    CHECK_STR(err.msg, "spec.o: expected array, got object");
    kjson_init(&r, d, &err);
    CHECK(kjson_str_at(&r, d, "spec.s.deeper") == NULL); /* a string on the way */
    CHECK_STR(err.msg, "spec.s: expected object, got string");
    json_decref(d);
}

static void
test_tri(void)
{
    json_t *d = doc(fixture);
    struct sc_err err = {0};
    struct kjson r = {0};

    kjson_init(&r, d, &err);
    CHECK_INT(kjson_tri_at(&r, d, "spec.t"), KJSON_TRUE);
    CHECK_INT(kjson_tri_at(&r, d, "spec.f"), KJSON_FALSE);
    CHECK_INT(kjson_tri_at(&r, d, "spec.missing"), KJSON_UNSET);
    CHECK_INT(kjson_tri_at(&r, d, "spec.n"), KJSON_UNSET);
    CHECK_INT(kjson_error(&r), 0);
    CHECK_INT(kjson_tri_at(&r, d, "spec.s"), KJSON_UNSET);
    CHECK_STR(err.msg, "spec.s: expected boolean, got string");
    CHECK_INT(kjson_tri_at(&r, d, "spec.t"), KJSON_UNSET); /* sticky */
    kjson_init(&r, d, &err);
    CHECK_INT(kjson_tri_at(&r, d, "spec.i"), KJSON_UNSET);
    CHECK_STR(err.msg, "spec.i: expected boolean, got integer");
    json_decref(d);
}

static void
test_integer_strict(void)
{
    json_t *d = doc(fixture);
    struct sc_err err = {0};
    struct kjson r = {0};
    int64_t out = -9;

    kjson_init(&r, d, &err);
    CHECK(kjson_integer_at(&r, d, "spec.i", &out));
    CHECK_INT(out, 7);
    out = -9;
    CHECK(!kjson_integer_at(&r, d, "spec.missing", &out));
    CHECK(!kjson_integer_at(&r, d, "spec.n", &out));
    CHECK_INT(out, -9); /* untouched when absent */
    CHECK_INT(kjson_error(&r), 0);
    /* kjson_int() truncates a real; kjson_integer_at() refuses it */
    CHECK_INT(kjson_int(&r, "spec.r", 0), 1);
    CHECK(!kjson_integer_at(&r, d, "spec.r", &out));
    CHECK_STR(err.msg, "spec.r: expected integer, got number");
    CHECK_INT(out, -9);
    kjson_init(&r, d, &err);
    CHECK(!kjson_integer_at(&r, d, "spec.s", &out));
    CHECK_STR(err.msg, "spec.s: expected integer, got string");
    json_decref(d);
}

static void
test_time_ns(void)
{
    json_t *d = doc("{\"a\":\"2026-11-22T02:00:05Z\",\"b\":1700000000000000000,\"c\":\"yesterday\","
                    "\"d\":\"2300-01-01T00:00:00Z\",\"e\":true,\"f\":null}");
    struct sc_err err = {0};
    struct kjson r = {0};
    int64_t ns = 0;

    kjson_init(&r, d, &err);
    CHECK(kjson_time_ns_at(&r, d, "a", &ns));
    CHECK_INT(ns, 1795312805LL * 1000000000LL);
    CHECK(kjson_time_ns_at(&r, d, "b", &ns));
    CHECK_INT(ns, 1700000000000000000LL);
    CHECK(!kjson_time_ns_at(&r, d, "f", &ns));
    CHECK(!kjson_time_ns_at(&r, d, "missing", &ns));
    CHECK_INT(kjson_error(&r), 0);
    CHECK(!kjson_time_ns_at(&r, d, "c", &ns));
    CHECK_STR(err.msg, "c: not an RFC 3339 time");
    kjson_init(&r, d, &err);
    CHECK(!kjson_time_ns_at(&r, d, "d", &ns)); /* after 2262: no int64 nanoseconds */
    CHECK_STR(err.msg, "d: time out of range");
    kjson_init(&r, d, &err);
    CHECK(!kjson_time_ns_at(&r, d, "e", &ns));
    CHECK_STR(err.msg, "e: expected string, got boolean");
    json_decref(d);
}

static void
test_map_str(void)
{
    json_t *d = doc(fixture);
    struct sc_err err = {0};
    struct kjson r = {0};
    bool present = false;

    kjson_init(&r, d, &err);
    /* the key is taken whole: its dots are not a path */
    CHECK_STR(kjson_map_str_at(&r, d, "metadata.annotations", "a.io/x", &present), "yes");
    CHECK(present);
    CHECK(kjson_map_str_at(&r, d, "metadata.annotations", "a.io/nul", &present) == NULL);
    CHECK(present); /* present with a null value */
    CHECK(kjson_map_str_at(&r, d, "metadata.annotations", "a.io/none", &present) == NULL);
    CHECK(!present);
    CHECK(kjson_map_str_at(&r, d, "metadata.labels", "a.io/x", &present) == NULL);
    CHECK(!present); /* no map */
    CHECK(kjson_map_str_at(&r, d, "metadata.annotations", "a.io/x", NULL) != NULL);
    CHECK_INT(kjson_error(&r), 0);
    CHECK(kjson_map_str_at(&r, d, "metadata.annotations", "a.io/num", &present) == NULL);
    CHECK_STR(err.msg, "metadata.annotations[a.io/num]: expected string, got integer");
    kjson_init(&r, d, &err);
    CHECK(kjson_map_str_at(&r, d, "metadata.name", "k", &present) == NULL);
    CHECK(!present);
    CHECK_STR(err.msg, "metadata.name: expected object, got string");
    /* after an error: absent, not present */
    CHECK(kjson_map_str_at(&r, d, "metadata.annotations", "a.io/x", &present) == NULL);
    CHECK(!present);
    json_decref(d);
}

static void
test_peek_str(void)
{
    json_t *d = doc(fixture);
    const json_t *spec = json_object_get(d, "spec");

    CHECK_STR(kjson_peek_str(spec, "s"), "v");
    CHECK(kjson_peek_str(spec, "i") == NULL); /* another type: skipped, no error */
    CHECK(kjson_peek_str(spec, "n") == NULL);
    CHECK(kjson_peek_str(spec, "missing") == NULL);
    CHECK(kjson_peek_str(json_object_get(spec, "a"), "s") == NULL); /* not an object */
    CHECK(kjson_peek_str(NULL, "s") == NULL);
    json_decref(d);
}

static void
test_elems(void)
{
    json_t *d = doc(fixture);
    struct sc_err err = {0};
    struct kjson r = {0};
    const json_t *a, *objs;

    kjson_init(&r, d, &err);
    a = kjson_arr(&r, "spec.a");
    objs = kjson_arr(&r, "spec.objs");
    CHECK_STR(kjson_elem_str(&r, a, "spec.a", 0), "x");
    CHECK(kjson_elem_obj(&r, objs, "spec.objs", 0) != NULL);
    CHECK(kjson_elem_str(&r, NULL, "spec.none", 0) == NULL); /* absent array */
    CHECK_INT(kjson_error(&r), 0);
    CHECK(kjson_elem_str(&r, a, "spec.a", 1) == NULL); /* an element is required */
    CHECK_STR(err.msg, "spec.a[1]: expected string, got null");
    kjson_init(&r, d, &err);
    CHECK(kjson_elem_str(&r, a, "spec.a", 2) == NULL);
    CHECK_STR(err.msg, "spec.a[2]: expected string, got integer");
    kjson_init(&r, d, &err);
    CHECK(kjson_elem_obj(&r, objs, "spec.objs", 1) == NULL);
    CHECK_STR(err.msg, "spec.objs[1]: expected object, got integer");
    kjson_init(&r, d, &err);
    CHECK(kjson_elem_str(&r, a, "spec.a", 3) == NULL);
    CHECK_STR(err.msg, "spec.a[3]: missing");
    CHECK(kjson_elem_str(&r, a, "spec.a", 0) == NULL); /* sticky */
    json_decref(d);
}

static void
test_str_copy(void)
{
    json_t *d = doc("{\"s\":\"hello\",\"u\":\"a\xc3\xa9\xe2\x82\xac\",\"i\":1,\"n\":null}");
    struct sc_err err = {0};
    struct kjson r = {0};
    char dst[8];
    bool cut = true;

    kjson_init(&r, d, &err);
    CHECK(kjson_str_copy(&r, d, "s", dst, sizeof(dst), &cut));
    CHECK_STR(dst, "hello");
    CHECK(!cut);
    CHECK(kjson_str_copy(&r, d, "s", dst, 6, &cut)); /* exactly fits */
    CHECK_STR(dst, "hello");
    CHECK(!cut);
    CHECK(kjson_str_copy(&r, d, "s", dst, 4, &cut));
    CHECK_STR(dst, "hel");
    CHECK(cut);
    CHECK(kjson_str_copy(&r, d, "s", dst, 1, NULL));
    CHECK_STR(dst, "");
    /* "a" + 2-byte e-acute + 3-byte euro: never cut inside a character */
    CHECK(kjson_str_copy(&r, d, "u", dst, 3, &cut));
    CHECK_STR(dst, "a");
    CHECK(cut);
    CHECK(kjson_str_copy(&r, d, "u", dst, 6, &cut));
    CHECK_STR(dst, "a\xc3\xa9");
    CHECK(cut);
    CHECK(kjson_str_copy(&r, d, "u", dst, 7, &cut));
    CHECK_STR(dst, "a\xc3\xa9\xe2\x82\xac");
    CHECK(!cut);
    memcpy(dst, "junk", 5);
    CHECK(!kjson_str_copy(&r, d, "n", dst, sizeof(dst), &cut));
    CHECK_STR(dst, "");
    CHECK(!kjson_str_copy(&r, d, "missing", dst, sizeof(dst), &cut));
    CHECK_STR(dst, "");
    CHECK(!cut);
    CHECK_INT(kjson_error(&r), 0);
    memcpy(dst, "junk", 5);
    CHECK(!kjson_str_copy(&r, d, "i", dst, sizeof(dst), &cut));
    CHECK_STR(dst, "");
    CHECK_STR(err.msg, "i: expected string, got integer");
    json_decref(d);
}

static void
test_str_copy_huge(void)
{
    size_t big = 4u << 20; /* 4 MiB */
    char *s = malloc(big + 1);
    json_t *d = json_object();
    struct sc_err err = {0};
    struct kjson r = {0};
    char dst[64];
    bool cut = false;

    CHECK(s != NULL && d != NULL);
    memset(s, 'z', big);
    s[big] = '\0';
    json_object_set_new(d, "name", json_string(s));
    kjson_init(&r, d, &err);
    memset(dst, 'q', sizeof(dst));
    CHECK(kjson_str_copy(&r, d, "name", dst, sizeof(dst), &cut));
    CHECK(cut);
    CHECK_INT(strlen(dst), sizeof(dst) - 1);
    CHECK(strspn(dst, "z") == sizeof(dst) - 1);
    CHECK_INT(kjson_error(&r), 0);
    free(s);
    json_decref(d);
}

/* The root-relative readers are the *_at readers from the root. */
static void
test_root_and_at_agree(void)
{
    json_t *d = doc(fixture);
    struct sc_err e1 = {0}, e2 = {0};
    struct kjson a = {0}, b = {0};

    kjson_init(&a, d, &e1);
    kjson_init(&b, d, &e2);
    CHECK_STR(kjson_str(&a, "spec.s"), kjson_str_at(&b, d, "spec.s"));
    CHECK(kjson_obj(&a, "spec.o") == kjson_obj_at(&b, d, "spec.o"));
    CHECK(kjson_arr(&a, "spec.a") == kjson_arr_at(&b, d, "spec.a"));
    CHECK(kjson_str(&a, "spec.t") == NULL);
    CHECK(kjson_str_at(&b, d, "spec.t") == NULL);
    CHECK_STR(e1.msg, e2.msg);
    json_decref(d);
}

/* kjson_cache_parents(): every read in a sequence gives the node, and the
 * first error the message, that the same reads without the cache give:
 * siblings, absent and null parents, a parent that is not an object,
 * parents longer than the cache holds, reads from below the root. */
static void
test_cached_parents(void)
{
    static const char *const seqs[][9] = {
        {"spec.s", "spec.i", "spec.o.k", "spec.o.x", "spec.o", "metadata.name", "spec.s", NULL},
        {"spec.none.a", "spec.none.b", "spec.n.a", "spec.n.b", "spec.o.k", NULL},
        {"spec.s.x", "spec.s.y", NULL},             /* parent a string: the error */
        {"spec.a.x", NULL},                         /* parent an array */
        {"spec.o.k", "spec.s.q", "spec.o.k", NULL}, /* an error, then sticky */
        {"s", "spec", "", "spec..k", "spec.o.", NULL},
        {"metadata.annotations.a.io/x", "metadata.annotations.a.io/nul", NULL},
        {"spec.this-parent-is-longer-than-the-sixty-four-bytes-the-cache-holds.x",
         "spec.this-parent-is-longer-than-the-sixty-four-bytes-the-cache-holds.y", "spec.o.k",
         NULL},
    };
    json_t *d = doc(fixture);
    const json_t *spec = json_object_get(d, "spec");

    for (size_t i = 0; i < SC_ARRAY_LEN(seqs); i++) {
        struct sc_err e1 = {0}, e2 = {0};
        struct kjson a = {0}, b = {0};

        kjson_init(&a, d, &e1);
        kjson_init(&b, d, &e2);
        kjson_cache_parents(&b);
        for (size_t k = 0; seqs[i][k] != NULL; k++) {
            const json_t *x = kjson_get(&a, d, seqs[i][k]), *y = kjson_get(&b, d, seqs[i][k]);

            if (x != y)
                fprintf(stderr, "  sequence %zu, read %s\n", i, seqs[i][k]);
            CHECK(x == y);
            CHECK(kjson_get(&a, spec, "o.k") == kjson_get(&b, spec, "o.k"));
            CHECK_INT(kjson_error(&a), kjson_error(&b));
        }
        CHECK_STR(e1.msg, e2.msg);
    }
    json_decref(d);
}

/* RFC 6901 pointers, as JSON-patch "test" paths use them. */
static void
test_pointer(void)
{
    json_t *d = json_loads("{\"metadata\":{\"finalizers\":[\"a\",\"b\"],\"annotations\":"
                           "{\"x/y\":\"1\",\"t~n\":\"2\",\"\":\"e\"}},\"n\":3}",
                           0, NULL);

    CHECK(d != NULL);
    CHECK(kjson_pointer(d, "") == d);
    CHECK_STR(json_string_value(kjson_pointer(d, "/metadata/finalizers/1")), "b");
    CHECK_STR(json_string_value(kjson_pointer(d, "/metadata/finalizers/0")), "a");
    CHECK(kjson_pointer(d, "/metadata/finalizers/2") == NULL);  /* past the end */
    CHECK(kjson_pointer(d, "/metadata/finalizers/01") == NULL); /* leading zero */
    CHECK(kjson_pointer(d, "/metadata/finalizers/-") == NULL);
    CHECK(kjson_pointer(d, "/metadata/finalizers/-1") == NULL);
    CHECK(kjson_pointer(d, "/metadata/finalizers/") == NULL);
    CHECK(kjson_pointer(d, "/metadata/finalizers/99999999999999999999999") == NULL);
    CHECK_STR(json_string_value(kjson_pointer(d, "/metadata/annotations/x~1y")), "1");
    CHECK_STR(json_string_value(kjson_pointer(d, "/metadata/annotations/t~0n")), "2");
    CHECK_STR(json_string_value(kjson_pointer(d, "/metadata/annotations/")), "e");
    CHECK(kjson_pointer(d, "/metadata/annotations/t~2n") == NULL); /* bad escape */
    CHECK(kjson_pointer(d, "/metadata/annotations/t~") == NULL);
    CHECK(kjson_pointer(d, "metadata") == NULL); /* no leading slash */
    CHECK(kjson_pointer(d, "/n/x") == NULL);     /* through a number */
    CHECK(json_integer_value(kjson_pointer(d, "/n")) == 3);
    CHECK(kjson_pointer(NULL, "/n") == NULL);
    CHECK(kjson_pointer(d, NULL) == NULL);
    json_decref(d);
}

TEST_MAIN(TEST(test_str_at), TEST(test_obj_arr_wrong_types), TEST(test_tri),
          TEST(test_integer_strict), TEST(test_time_ns), TEST(test_map_str), TEST(test_peek_str),
          TEST(test_elems), TEST(test_str_copy), TEST(test_str_copy_huge),
          TEST(test_root_and_at_agree), TEST(test_pointer), TEST(test_cached_parents))
