/* Unit tests for kskim_parse(): API objects parsed without their
 * metadata.managedFields, checked against kjson_parse() of the same bytes. */
#include "kube/kskim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"
#include "kube/kinternal.h"
#include "kube/kjson.h"
#include "tests/fuzz/fuzz_json.h"
#include "tests/lib/harness.h"

/* kskim_find(doc) finds want_cuts spans, and kskim_parse(doc) equals
 * jansson's parse of doc less managedFields (all of it when no span is cut);
 * so does kskim_parse_jansson(doc), the path without kparse(). */
static void
same_as_jansson(const char *doc, size_t want_cuts)
{
    struct kskim_cut cuts[KSKIM_CUTS] = {0};
    json_t *plain = json_loadb(doc, strlen(doc), JSON_REJECT_DUPLICATES, NULL);
    json_t *skim = NULL, *slow = NULL;
    struct sc_err e = {0};

    CHECK_INT(kskim_find(doc, strlen(doc), cuts), want_cuts);
    CHECK(plain != NULL);
    CHECK_INT(kskim_parse(doc, strlen(doc), LIM_WATCH_LINE, &skim, &e), 0);
    CHECK_INT(kskim_parse_jansson(doc, strlen(doc), LIM_WATCH_LINE, &slow, &e), 0);
    if (plain == NULL || skim == NULL || slow == NULL) {
        json_decref(plain);
        json_decref(skim);
        json_decref(slow);
        return;
    }
    if (want_cuts > 0)
        fuzz_json_drop_managed(plain);
    CHECK(json_equal(slow, skim));
    json_decref(slow);
    if (!json_equal(plain, skim)) {
        char *a = json_dumps(plain, JSON_COMPACT | JSON_SORT_KEYS);
        char *b = json_dumps(skim, JSON_COMPACT | JSON_SORT_KEYS);
        fprintf(stderr, "  input %s\n  want  %s\n  got   %s\n", doc, a, b);
        free(a);
        free(b);
        CHECK(!"trees differ");
    }
    json_decref(plain);
    json_decref(skim);
}

/* Both parsers refuse doc, with the same message. */
static void
same_refusal(const char *doc)
{
    struct sc_err a = {0}, b = {0};
    json_t *v = NULL;

    CHECK_INT(kjson_parse(doc, strlen(doc), LIM_WATCH_LINE, &v, &a), SC_EPROTO);
    CHECK_INT(kskim_parse(doc, strlen(doc), LIM_WATCH_LINE, &v, &b), SC_EPROTO);
    CHECK(v == NULL);
    CHECK_STR(b.msg, a.msg);
}

static void
test_member_positions(void)
{
    same_as_jansson("{\"metadata\":{\"managedFields\":[{\"manager\":\"x\"}]}}", 1);
    same_as_jansson("{\"metadata\":{\"managedFields\":[],\"name\":\"a\"}}", 1);
    same_as_jansson("{\"metadata\":{\"name\":\"a\",\"managedFields\":[]}}", 1);
    same_as_jansson("{\"metadata\":{\"name\":\"a\",\"managedFields\":[],\"uid\":\"u\"}}", 1);
    same_as_jansson(" { \"metadata\" : { \"name\" : \"a\" , \"managedFields\" : [ 1 , 2 ] } } ", 1);
    same_as_jansson("{\"metadata\":{\"managedFields\":null}}", 1);
    same_as_jansson("{\"metadata\":{\"managedFields\":\"a \\\"}\\\" b\",\"n\":1}}", 1);
}

/* Keys written with escapes are decoded before they are compared. */
static void
test_escaped_keys(void)
{
    same_as_jansson("{\"metadata\":{\"managed\\u0046ields\":[1]}}", 1);
    same_as_jansson("{\"m\\u0065tadata\":{\"\\u006danagedFields\":[1],\"a\":1}}", 1);
    same_as_jansson("{\"metadata\":{\"x\\\"\":{\"v:\\\"a\\\"\":{}},\"managedFields\":[1]}}", 1);
    same_refusal("{\"metadata\":{\"managed\\u0046ields\":[1],\"managedFields\":[]}}");
    same_refusal("{\"metadata\":{\"managed\\u004gields\":[1]}}");
}

static void
test_watch_event_and_list(void)
{
    same_as_jansson("{\"type\":\"ADDED\",\"object\":{\"kind\":\"VolumeSnapshot\",\"metadata\":"
                    "{\"name\":\"s\",\"managedFields\":[{\"fieldsV1\":{\"f:metadata\":{\"f:"
                    "finalizers\":{\".\":{},\"v:\\\"a/b\\\"\":{}}}},\"manager\":\"m\"}],"
                    "\"finalizers\":[\"a/b\"]},\"spec\":{\"x\":1.5e3,\"y\":true}}}",
                    1);
    same_as_jansson("{\"items\":[{\"metadata\":{\"managedFields\":[]}},{\"metadata\":"
                    "{\"a\":1,\"managedFields\":[]}}],\"metadata\":{\"managedFields\":0}}",
                    3);
}

static void
test_left_alone(void)
{
    /* not in a metadata object, metadata not an object, an escaped key */
    same_as_jansson("{\"managedFields\":[1],\"spec\":{\"managedFields\":2}}", 0);
    same_as_jansson("{\"metadata\":\"managedFields\",\"x\":{\"metadata\":[{\"managedFields\":1}]}}",
                    0);
    same_as_jansson("[{\"metadata\":{\"managedFields\":[]}}]", 0); /* not an object */
    same_as_jansson("{\"metadata\":{\"managed\\u0046ield\":[1]}}", 0);
    same_as_jansson("{\"metadata\":{\"managedFields\\n\":[1],\"\\\"\":1}}", 0);
    /* a "metadata" inside the skipped value: the outer span covers it */
    same_as_jansson("{\"metadata\":{\"managedFields\":{\"metadata\":{\"managedFields\":1}}}}", 1);
    /* more members to skip than KSKIM_CUTS: the whole document to jansson */
    same_as_jansson(
        "{\"a\":[{\"metadata\":{\"managedFields\":1}},{\"metadata\":{\"managedFields\":1}},"
        "{\"metadata\":{\"managedFields\":1}},{\"metadata\":{\"managedFields\":1}},"
        "{\"metadata\":{\"managedFields\":1}},{\"metadata\":{\"managedFields\":1}},"
        "{\"metadata\":{\"managedFields\":1}},{\"metadata\":{\"managedFields\":1}},"
        "{\"metadata\":{\"managedFields\":1}}]}",
        0);
}

static void
test_deep_nesting_goes_to_jansson(void)
{
    char doc[512];
    size_t n = 0;

    n += (size_t)snprintf(doc + n, sizeof(doc) - n, "{\"metadata\":{\"managedFields\":1},\"d\":");
    for (int i = 0; i < KSKIM_DEPTH + 1; i++)
        doc[n++] = '[';
    for (int i = 0; i < KSKIM_DEPTH + 1; i++)
        doc[n++] = ']';
    doc[n++] = '}';
    doc[n] = '\0';
    same_as_jansson(doc, 0);
}

static void
test_refusals(void)
{
    same_refusal("{\"metadata\":{\"managedFields\":[],\"managedFields\":[]}}"); /* duplicate */
    same_refusal("{\"metadata\":{\"managedFields\":[]},\"metadata\":{}}");
    same_refusal("{\"metadata\":{\"managedFields\":[]},\"x\":tru}");
    same_refusal("{\"metadata\":{\"managedFields\":[]}} trailing");
    same_refusal("{\"metadata\":{\"managedFields\":[]}");
    same_refusal("{\"metadata\":{\"managedFields\":[}}");
    same_refusal("");
}

static void
test_malformed_inside_the_skipped_value(void)
{
    /* nothing reads managedFields: its numbers and escapes are not checked */
    const char *doc = "{\"metadata\":{\"managedFields\":[01,\"\\x\"],\"name\":\"a\"}}";
    json_t *v = NULL;

    CHECK_INT(kjson_parse(doc, strlen(doc), LIM_WATCH_LINE, &v, NULL), SC_EPROTO);
    CHECK_INT(kskim_parse(doc, strlen(doc), LIM_WATCH_LINE, &v, NULL), 0);
    CHECK_STR(json_string_value(json_object_get(json_object_get(v, "metadata"), "name")), "a");
    CHECK(json_object_get(json_object_get(v, "metadata"), "managedFields") == NULL);
    json_decref(v);
}

static void
test_too_big(void)
{
    const char *doc = "{\"metadata\":{\"managedFields\":[]}}";
    struct sc_err e = {0};
    json_t *v = NULL;

    CHECK_INT(kskim_parse(doc, strlen(doc), 8, &v, &e), SC_ETOOBIG);
    CHECK(v == NULL);
    CHECK(strstr(e.msg, "8 byte limit") != NULL);
}

/* An event the API server sent (tests/data/kube/skim/, recorded from the
 * e2e cluster): the skimmed tree is the plain one less managedFields. */
static void
test_recorded_events(void)
{
    for (size_t i = 0; i < HARNESS_N_RECORDED; i++) {
        size_t len;
        char *d = harness_recorded(i, &len);

        if (d == NULL)
            continue;
        CHECK(strstr(d, "\"managedFields\"") != NULL);
        same_as_jansson(d, 1);
        free(d);
    }
}

/* kskim_skip() (fast path) and kskim_skip_slow() agree on doc from offset
 * at depth; want: the answer. */
static void
skip_agrees(const char *doc, size_t at, int depth, bool want)
{
    size_t a = at, b = at, n = strlen(doc);
    bool fa = kskim_skip(doc, n, &a, depth, 0), fb = kskim_skip_slow(doc, n, &b, depth, 0);

    CHECK_INT(fa, want);
    CHECK_INT(fb, want);
    if (fa && fb)
        CHECK_INT(a, b);
}

static void
test_skip_fast_path(void)
{
    /* a recorded managedFields value: escaped quotes in the field keys */
    skip_agrees(
        "[{\"manager\":\"m\",\"fieldsV1\":{\"f:metadata\":{\"f:finalizers\":{\".\":{},"
        "\"v:\\\"snapshot.storage.kubernetes.io/x\\\"\":{}}},\"k:{\\\"type\\\":\\\"R\\\"}\":{}}}] ,",
        0, 0, true);
    skip_agrees("\"a\\\\\" , 1", 0, 0, true); /* "a\\": an escaped backslash, then the end */
    skip_agrees("\"a\\\"b\"", 0, 0, true);    /* "a\"b": the escaped quote is inside */
    skip_agrees("\"unterminated\\\"", 0, 0, false);
    skip_agrees("{ \"a\" : [ 1 , true , null , \"x\" ] , \"b\" : { } }x", 0, 0, true);
    skip_agrees("[1,,2]", 0, 0, false);
    skip_agrees("{\"a\" 1}", 0, 0, false);
    skip_agrees("{\"a\":}", 0, 0, false);
    skip_agrees("[1 2]", 0, 0, false);
    skip_agrees("{\"a\":1,}", 0, 0, false);
    skip_agrees("[", 0, 0, false);
    skip_agrees("", 0, 0, false);
    skip_agrees("[[[[1]]]]", 0, KSKIM_DEPTH - 4, true);
    skip_agrees("[[[[1]]]]", 0, KSKIM_DEPTH - 3, false); /* nesting over the limit */
    /* a key that is, or may decode to, "metadata": the slow scan decides */
    skip_agrees("{\"metadata\":{\"managedFields\":1,\"managedFields\":2}}", 0, 0, false);
    skip_agrees("{\"metadata\":{\"managedFields\":1}}", 0, 0, true);
    skip_agrees("{\"\\u006detadata\":{\"managedFields\":1,\"managedFields\":2}}", 0, 0, false);
    skip_agrees("{\"metadat\":{\"managedFields\":1,\"managedFields\":2}}", 0, 0, true);
    skip_agrees("{\"x\": 1} trailing", 4, 0, false); /* at the ':' */
    skip_agrees("{\"x\": 12} trailing", 6, 0, true);

    /* random documents over JSON's punctuation: the same answer and end */
    static const char *const tok[] = {"{",
                                      "}",
                                      "[",
                                      "]",
                                      ",",
                                      ":",
                                      "\"",
                                      "\\",
                                      " ",
                                      "a",
                                      "1",
                                      "\"metadata\"",
                                      "\"managedFields\"",
                                      "\"k\"",
                                      "\\u006d"};
    unsigned seed = 12345;
    int taken = 0;
    char doc[96];
    for (int round = 0; round < 20000; round++) {
        size_t len = 0;
        int ntok = (int)(seed % 24);
        for (int t = 0; t < ntok; t++) {
            seed = seed * 1103515245u + 12345u;
            const char *w = tok[(seed >> 16) % (sizeof(tok) / sizeof(tok[0]))];
            size_t wl = strlen(w);
            if (len + wl >= sizeof(doc))
                break;
            memcpy(doc + len, w, wl);
            len += wl;
        }
        doc[len] = '\0';
        seed = seed * 1103515245u + 12345u;
        size_t at = len ? (seed >> 16) % len : 0, a = at, b = at;
        int depth = (int)((seed >> 8) % 3) * 31;
        bool fa = kskim_skip(doc, len, &a, depth, 0);
        bool fb = kskim_skip_slow(doc, len, &b, depth, 0);
        taken += fa;
        if (fa != fb || (fa && a != b)) {
            CHECK(false);
            fprintf(stderr, "    differs on [%s] from %zu\n", doc, at);
            break;
        }
    }
    CHECK(taken > 1000); /* the documents reach the accepting paths too */
}

TEST_MAIN(TEST(test_member_positions), TEST(test_skip_fast_path), TEST(test_escaped_keys),
          TEST(test_watch_event_and_list), TEST(test_left_alone),
          TEST(test_deep_nesting_goes_to_jansson), TEST(test_refusals),
          TEST(test_malformed_inside_the_skipped_value), TEST(test_too_big),
          TEST(test_recorded_events))
