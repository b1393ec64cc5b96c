/* tests/unit/kube/kdump_test.c -- kjson_dumpb() and kjson_dump_ex() against
 * jansson's json_dump_callback(): the same bytes for every tree jansson can
 * serialise (escapes, every control byte, non-ASCII, integers at the int64
 * edges, reals, empty containers, member order, sorted keys, deep nesting
 * handed to jansson, the recorded API objects), the same refusal where
 * jansson refuses (a string that is not UTF-8, a scalar at the top), and
 * the buffer left as it was on every error. */
#include "kube/kjson.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "tests/lib/harness.h"

static int
add_cb(const char *p, size_t n, void *data)
{
    return buf_add(data, p, n) == 0 ? 0 : -1;
}

/* Ours and jansson's text of v, with jansson flags jf and ours kf. */
static void
same_ex(const json_t *v, size_t jf, unsigned kf)
{
    struct buf want = {0}, got = {0};
    struct sc_err e = {0};
    int jr, kr;

    buf_init(&want, 1 << 22);
    buf_init(&got, 1 << 22);
    CHECK_INT(buf_add(&got, "x", 1), 0); /* appends after what is there */
    jr = json_dump_callback(v, add_cb, &want, JSON_COMPACT | jf);
    kr = kjson_dump_ex(v, &got, kf, &e);
    CHECK_INT(kr == 0, jr == 0);
    if (jr == 0 && kr == 0 &&
        (got.len != want.len + 1 || memcmp(buf_str(&got) + 1, buf_str(&want), want.len) != 0)) {
        fprintf(stderr, "  want %.300s\n  got  %.300s\n", buf_str(&want), buf_str(&got) + 1);
        CHECK(!"texts differ");
    }
    if (kr != 0)
        CHECK(got.len == 1 && strcmp(buf_str(&got), "x") == 0 && e.msg[0] != '\0');
    buf_release(&want);
    buf_release(&got);
}

static void
same(const json_t *v)
{
    same_ex(v, 0, 0);
    same_ex(v, JSON_SORT_KEYS, KJSON_SORT_KEYS);
}

static void
same_text(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &je);

    if (v == NULL) {
        fprintf(stderr, "  bad fixture %s: %s\n", text, je.text);
        CHECK(!"fixture parses");
        return;
    }
    same(v);
    same_ex(v, JSON_ENCODE_ANY, KJSON_ENCODE_ANY);
    json_decref(v);
}

static void
test_values(void)
{
    same_text("{}");
    same_text("[]");
    same_text("{\"a\":{},\"b\":[],\"c\":[{}],\"d\":[[]]}");
    same_text("[true,false,null,0,-1,1,9223372036854775807,-9223372036854775808]");
    same_text("[0.5,-0.0,1e300,1.0,100.0,1e-7,3.141592653589793,2.5e20]");
    same_text("{\"z\":1,\"a\":2,\"m\":{\"y\":1,\"b\":2},\"ab\":3,\"a\\u0001\":4,\"\":5}");
    same_text("\"scalar\""); /* refused by both without ENCODE_ANY */
    same_text("42");
    same_text("null");
}

static void
test_strings(void)
{
    char s[2];
    json_t *a = json_array();

    for (int c = 1; c < 0x80; c++) {
        s[0] = (char)c;
        s[1] = '\0';
        json_array_append_new(a, json_string(s));
    }
    json_array_append_new(a, json_stringn("a\0b", 3)); /* an embedded NUL */
    json_array_append_new(a, json_string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 /path\\x"));
    json_array_append_new(a, json_string(""));
    same(a);
    json_decref(a);
    same_text("{\"k\\\"ey\\n\":\"v\\t\\u001f\\u007f\\u2028\"}");
}

/* Strings jansson refuses to serialise: ours refuses too, b untouched.  As
 * a key, jansson 2.14 writes a broken text ("{\":true}") and reports
 * success; ours refuses that too. */
static void
test_bad_utf8(void)
{
    static const char *const bad[] = {
        "\xff", "a\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82", "ok\x80"};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *o = json_object(), *a = json_array();

        json_array_append_new(a, json_stringn_nocheck(bad[i], strlen(bad[i])));
        same(a);
        json_object_set_new_nocheck(o, bad[i], json_true()); /* as a key */
        for (unsigned f = 0; f <= KJSON_SORT_KEYS; f += KJSON_SORT_KEYS) {
            struct sc_err e = {0};
            struct buf b = {0};

            buf_init(&b, 1024);
            CHECK_INT(kjson_dump_ex(o, &b, f, &e), SC_EINVALID);
            CHECK(b.len == 0 && strstr(e.msg, "UTF-8") != NULL);
            buf_release(&b);
        }
        json_decref(o);
        json_decref(a);
    }
}

/* Past KJSON_DUMP_DEPTH the text is jansson's own: still the same. */
static void
test_depth(void)
{
    json_t *v = json_integer(1);

    for (int d = 0; d < 300; d++) {
        json_t *o = d % 2 ? json_array() : json_object();

        if (json_is_array(o))
            json_array_append_new(o, v);
        else
            json_object_set_new(o, "k", v);
        v = o;
        if (d == 120 || d == 129 || d == 299)
            same(v);
    }
    json_decref(v);
}

/* Over the cap: SC_ETOOBIG, the buffer as it was. */
static void
test_cap(void)
{
    json_t *v = json_pack("{s:s,s:[i,i]}", "name", "a-long-enough-value", "n", 1, 2);
    struct sc_err e = {0};
    struct buf b = {0};
    char want[128];
    size_t n = json_dumpb(v, want, sizeof(want), JSON_COMPACT);

    for (size_t cap = 0; cap < n + 2; cap++) {
        buf_init(&b, cap);
        int rc = kjson_dumpb(v, &b, &e);

        CHECK_INT(rc, cap >= n ? 0 : SC_ETOOBIG);
        CHECK(rc == 0 ? b.len == n && memcmp(buf_str(&b), want, n) == 0 : b.len == 0);
        buf_release(&b);
    }
    CHECK_INT(kjson_dumpb(NULL, &b, &e), SC_EINVALID);
    json_decref(v);
}

/* A wide object sorted (more members than the stack's sort holds). */
static void
test_wide_sorted(void)
{
    json_t *o = json_object();
    char k[16];

    for (int i = 0; i < 600; i++) {
        snprintf(k, sizeof(k), "k%d", (i * 7919) % 600);
        json_object_set_new(o, k, json_integer(i));
    }
    same(o);
    json_decref(o);
}

/* Objects the API server sent (tests/data/kube/skim/). */
static void
test_recorded(void)
{
    for (size_t i = 0; i < HARNESS_N_RECORDED; i++) {
        size_t len;
        char *d = harness_recorded(i, &len);

        if (d != NULL)
            same_text(d);
        free(d);
    }
}

TEST_MAIN(TEST(test_values), TEST(test_strings), TEST(test_bad_utf8), TEST(test_depth),
          TEST(test_cap), TEST(test_wide_sorted), TEST(test_recorded))
