/* Unit tests for kparse(): the same tree as jansson's json_loadb() (and, with
 * KPARSE_SKIM, as kskim_parse_jansson()), member order included, or a
 * refusal that leaves the document to jansson. */
#include "kube/kparse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"
#include "kube/kinternal.h"
#include "kube/kjson.h"
#include "kube/kskim.h"
#include "tests/lib/harness.h"

enum want { DECLINED, TAKEN };

/* Both trees equal, and serialised alike (member order, number forms). */
static void
check_same(const char *doc, json_t *want, json_t *got)
{
    char *a = json_dumps(want, JSON_COMPACT);
    char *b = json_dumps(got, JSON_COMPACT);

    if (!json_equal(want, got) || a == NULL || b == NULL || strcmp(a, b) != 0) {
        fprintf(stderr, "  input %s\n  want  %s\n  got   %s\n", doc, a ? a : "-", b ? b : "-");
        CHECK(!"trees differ");
    }
    free(a);
    free(b);
}

/* kparse(doc, 0) against json_loadb(doc, JSON_REJECT_DUPLICATES) on n bytes:
 * taken (want TAKEN) with jansson's tree, or declined (want DECLINED); a
 * document jansson refuses is always declined. */
static void
plain_n(const char *doc, size_t n, enum want want)
{
    json_t *ref = json_loadb(doc, n, JSON_REJECT_DUPLICATES, NULL), *got = NULL;
    int rc = kparse(doc, n, 0, &got);

    CHECK_INT(rc, want == TAKEN ? 0 : -1);
    if (ref == NULL && rc == 0)
        fprintf(stderr, "  jansson refuses, kparse took: %s\n", doc);
    CHECK(ref != NULL || rc != 0);
    if (ref != NULL && rc == 0)
        check_same(doc, ref, got);
    if (rc != 0)
        CHECK(got == NULL);
    json_decref(ref);
    json_decref(got);
}

static void
plain(const char *doc, enum want want)
{
    plain_n(doc, strlen(doc), want);
}

/* kparse(doc, KPARSE_SKIM) against kskim_parse_jansson(doc). */
static void
skim(const char *doc, enum want want)
{
    json_t *ref = NULL, *got = NULL;
    int ref_rc = kskim_parse_jansson(doc, strlen(doc), LIM_WATCH_LINE, &ref, NULL);
    int rc = kparse(doc, strlen(doc), KPARSE_SKIM, &got);

    CHECK_INT(rc, want == TAKEN ? 0 : -1);
    CHECK(ref_rc == 0 || rc != 0);
    if (ref_rc == 0 && rc == 0)
        check_same(doc, ref, got);
    json_decref(ref);
    json_decref(got);
}

static void
test_values(void)
{
    plain("{}", TAKEN);
    plain("[]", TAKEN);
    plain(" \t\r\n{ \"a\" : [ 1 , -2 , true , false , null , \"s\" , { } , [ ] ] } \n", TAKEN);
    plain("{\"b\":1,\"a\":2,\"c\":{\"z\":1,\"y\":2}}", TAKEN); /* order kept */
    plain("{\"\":\"\"}", TAKEN);
    plain("[[[[[[{\"a\":[{}]}]]]]]]", TAKEN);
}

static void
test_numbers(void)
{
    plain("[0,-0,1,-1,9223372036854775807,-9223372036854775808]", TAKEN);
    plain("[0.5,-0.0,1e3,1E+3,1e-3,-2.5e-300,123456789.123456789]", TAKEN);
    plain("[1e-400]", TAKEN);                   /* underflow to zero: jansson takes it too */
    plain("[9223372036854775808]", DECLINED);   /* jansson: too big integer */
    plain("[-9223372036854775809]", DECLINED);  /* too big negative integer */
    plain("[184467440737095516160]", DECLINED); /* past uint64 while read */
    plain("[1e400]", DECLINED);                 /* real overflow */
    plain("[01]", DECLINED);
    plain("[-01]", DECLINED);
    plain("[1.]", DECLINED);
    plain("[.5]", DECLINED);
    plain("[-]", DECLINED);
    plain("[1e]", DECLINED);
    plain("[1e+]", DECLINED);
    plain("[+1]", DECLINED);
    plain("[1x]", DECLINED);
    plain("[0x10]", DECLINED);
    plain("[1.5.3]", DECLINED);
    /* longer than KPARSE_NUMBER_MAX: jansson reads it; kparse leaves it */
    plain("[0.100000000000000000000000000000000000000000000000000000000000000001]", DECLINED);
}

static void
test_literals(void)
{
    plain("[true,false,null]", TAKEN);
    plain("[tru]", DECLINED);
    plain("[truex]", DECLINED);
    plain("[true1]", DECLINED);
    plain("[nul]", DECLINED);
    plain("[True]", DECLINED);
    plain("true", DECLINED); /* not an object or array at the top */
    plain("1", DECLINED);
    plain("\"s\"", DECLINED);
}

static void
test_strings(void)
{
    plain("[\"a\\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti\"]", TAKEN);
    plain("[\"\\u0041\\u00e9\\u20ac\\ud83d\\ude00\"]", TAKEN);
    plain("[\"h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbf \xf4\x8f\xbf\xbf\"]", TAKEN);
    plain("[\"\x7f\"]", TAKEN);
    plain("[\"\\u0000\"]", DECLINED); /* jansson: needs JSON_ALLOW_NUL */
    plain("[\"\\ud83d\"]", DECLINED); /* lone high surrogate */
    plain("[\"\\ud83dx\"]", DECLINED);
    plain("[\"\\ud83d\\u0041\"]", DECLINED); /* high then not a low one */
    plain("[\"\\ude00\"]", DECLINED);        /* lone low surrogate */
    plain("[\"\\u00g0\"]", DECLINED);
    plain("[\"\\u00\"]", DECLINED);
    plain("[\"\\x\"]", DECLINED);
    plain("[\"\\\"]", DECLINED);   /* unterminated */
    plain("[\"a\nb\"]", DECLINED); /* control character */
    plain("[\"a\tb\"]", DECLINED);
    plain("[\"\xc0\xaf\"]", DECLINED);         /* overlong */
    plain("[\"\xe0\x80\xaf\"]", DECLINED);     /* overlong */
    plain("[\"\xed\xa0\x80\"]", DECLINED);     /* a surrogate in UTF-8 */
    plain("[\"\xf4\x90\x80\x80\"]", DECLINED); /* past U+10FFFF */
    plain("[\"\xf5\x80\x80\x80\"]", DECLINED);
    plain("[\"\x80\"]", DECLINED); /* a lone continuation byte */
    plain("[\"\xc3\"]", DECLINED); /* cut short */
    plain("[\"\xe2\x82\"]", DECLINED);
    plain_n("[\"a\0b\"]", 7, DECLINED); /* a NUL byte */
    plain_n("{\"a\":1}\0", 8, DECLINED);
}

/* Keys decoded into the scratch buffer stay while their values (with
 * escaped strings and keys of their own) are read. */
static void
test_escaped_keys_hold(void)
{
    plain("{\"k\\u00e9y\":{\"inn\\ner\":\"v\\u00e0l\\\"ue\",\"x\\ty\":[\"\\u20ac\",\"\\n\"]},"
          "\"n\\u0065xt\":\"\\u0041\"}",
          TAKEN);
    plain("{\"a\\\"\":{\"b\\\"\":{\"c\\\"\":{\"d\\\"\":\"\\\"\"}}},\"e\\\"\":1}", TAKEN);
    plain("{\"\\u0000\":1}", DECLINED); /* jansson refuses NUL in a key */
}

static void
test_refusals(void)
{
    plain("", DECLINED);
    json_t *v = NULL;
    CHECK_INT(kparse(NULL, 0, 0, &v), -1); /* an empty body: no pointer is read */
    CHECK(v == NULL);
    plain("   ", DECLINED);
    plain("{", DECLINED);
    plain("[1,]", DECLINED);
    plain("[,1]", DECLINED);
    plain("{\"a\":1,}", DECLINED);
    plain("{\"a\" 1}", DECLINED);
    plain("{\"a\":}", DECLINED);
    plain("{a:1}", DECLINED);
    plain("{\"a\":1}{}", DECLINED);
    plain("{\"a\":1} x", DECLINED);
    plain("{\"a\":1,\"a\":2}", DECLINED);       /* duplicate keys */
    plain("{\"a\":1,\"\\u0061\":2}", DECLINED); /* the same key, escaped */
    plain("\xef\xbb\xbf{}", DECLINED);          /* a byte order mark */
}

static void
test_depth(void)
{
    char doc[2 * (KSKIM_DEPTH + 1) + 1];

    for (int extra = 0; extra <= 1; extra++) {
        int d = KSKIM_DEPTH + extra;
        for (int i = 0; i < d; i++) {
            doc[i] = '[';
            doc[(size_t)d + (size_t)i] = ']';
        }
        doc[(size_t)2 * (size_t)d] = '\0';
        plain(doc, extra == 0 ? TAKEN : DECLINED); /* deeper: jansson decides */
    }
}

static void
test_skim(void)
{
    skim("{\"metadata\":{\"name\":\"a\",\"managedFields\":[{\"m\":1}],\"uid\":\"u\"}}", TAKEN);
    skim("{\"metadata\":{\"managed\\u0046ields\":[1],\"n\":1}}", TAKEN);
    skim("{\"metadata\":{\"managedFields\":[01,\"\\x\"],\"name\":\"a\"}}", TAKEN);
    skim("{\"items\":[{\"metadata\":{\"managedFields\":[]}}],\"metadata\":{\"managedFields\":0}}",
         TAKEN);
    skim("{\"spec\":{\"managedFields\":1},\"metadata\":\"managedFields\"}", TAKEN); /* kept */
    skim("{\"metadata\":{\"managedFields\":{\"metadata\":{\"managedFields\":1}}}}", TAKEN);
    skim("[{\"metadata\":{\"managedFields\":[]}}]", DECLINED); /* kskim keeps it whole */
    skim("{\"metadata\":{\"managedFields\":[],\"managedFields\":[]}}", DECLINED);
    skim("{\"metadata\":{\"managedFields\":[}}", DECLINED);
    skim("{\"a\":[{\"metadata\":{\"managedFields\":1}},{\"metadata\":{\"managedFields\":1}},"
         "{\"metadata\":{\"managedFields\":1}},{\"metadata\":{\"managedFields\":1}},"
         "{\"metadata\":{\"managedFields\":1}},{\"metadata\":{\"managedFields\":1}},"
         "{\"metadata\":{\"managedFields\":1}},{\"metadata\":{\"managedFields\":1}},"
         "{\"metadata\":{\"managedFields\":1}}]}",
         DECLINED); /* more than KSKIM_CUTS */
}

/* Objects the API server sent (tests/data/kube/skim/): taken both ways. */
static void
test_recorded(void)
{
    for (size_t i = 0; i < HARNESS_N_RECORDED; i++) {
        size_t len;
        char *d = harness_recorded(i, &len);

        if (d == NULL)
            continue;
        plain(d, TAKEN);
        skim(d, TAKEN);
        free(d);
    }
}

/* kparse(doc, KPARSE_SKIM | KPARSE_REVIEW) gives want_doc's tree (jansson's
 * parse of want_doc), or declines (want_doc NULL). */
static void
review(const char *doc, const char *want_doc)
{
    json_t *ref = want_doc ? json_loads(want_doc, JSON_REJECT_DUPLICATES, NULL) : NULL, *got = NULL;
    int rc = kparse(doc, strlen(doc), KPARSE_SKIM | KPARSE_REVIEW, &got);

    CHECK_INT(rc, want_doc ? 0 : -1);
    if (want_doc != NULL && rc == 0) {
        CHECK(ref != NULL);
        check_same(doc, ref, got);
    }
    json_decref(ref);
    json_decref(got);
}

static void
test_review(void)
{
    /* the four members go, wherever they sit in the request; the rest stays */
    review("{\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"u\",\"userInfo\":{\"username\":"
           "\"a\",\"groups\":[\"x\",\"y\"]},\"requestKind\":{\"kind\":\"K\"},\"operation\":"
           "\"CREATE\",\"requestResource\":{\"resource\":\"r\"},\"object\":{\"metadata\":{"
           "\"name\":\"n\",\"managedFields\":[{\"manager\":\"m\"}]}},\"options\":{\"kind\":"
           "\"CreateOptions\"}}}",
           "{\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"u\",\"operation\":\"CREATE\","
           "\"object\":{\"metadata\":{\"name\":\"n\"}}}}");
    /* only in the top level's request: an object's own "options" stays */
    review("{\"request\":{\"object\":{\"options\":1,\"request\":{\"options\":2}}}}",
           "{\"request\":{\"object\":{\"options\":1,\"request\":{\"options\":2}}}}");
    review("{\"userInfo\":1,\"request\":{\"options\":null}}", "{\"userInfo\":1,\"request\":{}}");
    /* a request that is not an object is kept as it is */
    review("{\"request\":[{\"options\":1}]}", "{\"request\":[{\"options\":1}]}");
    /* a duplicate of a skipped member is one jansson refuses: declined */
    review("{\"request\":{\"options\":1,\"options\":2}}", NULL);
    /* bad structure inside a skipped member: declined; a bad number there is
     * not looked at (as in a skipped managedFields) */
    review("{\"request\":{\"userInfo\":{\"a\" 1}}}", NULL);
    review("{\"request\":{\"userInfo\":{\"a\":01x}}}", "{\"request\":{}}");
    /* without the flag nothing of it is left out */
    json_t *got = NULL;
    const char *doc = "{\"request\":{\"options\":1}}";
    CHECK_INT(kparse(doc, strlen(doc), KPARSE_SKIM, &got), 0);
    CHECK(json_object_get(json_object_get(got, "request"), "options") != NULL);
    json_decref(got);
}

TEST_MAIN(TEST(test_values), TEST(test_review), TEST(test_numbers), TEST(test_literals),
          TEST(test_strings), TEST(test_escaped_keys_hold), TEST(test_refusals), TEST(test_depth),
          TEST(test_skim), TEST(test_recorded))
