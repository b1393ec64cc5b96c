/* tests/unit/controller/labelsel_test.c -- metav1.LabelSelector semantics. */
#include "controller/labelsel.h"

#include <stdlib.h>
#include <string.h>

#include "tests/lib/harness.h"

static struct labelsel *
sel(const char *json)
{
    json_error_t je;
    json_t *j = json_loads(json, JSON_DECODE_ANY, &je);
    struct labelsel *s = NULL;
    struct sc_err err = {0};
    int rc;

    CHECK(j != NULL);
    rc = labelsel_parse(j, &s, &err);
    if (rc != 0)
        fprintf(stderr, "parse %s: %s\n", json, err.msg);
    CHECK_INT(rc, 0);
    json_decref(j);
    return s;
}

static bool
matches(const struct labelsel *s, const char *labels)
{
    json_error_t je;
    json_t *l = labels != NULL ? json_loads(labels, 0, &je) : NULL;
    bool m = labelsel_match(s, l);

    json_decref(l);
    return m;
}

static int
parse_err(const char *json, struct sc_err *err)
{
    json_error_t je;
    json_t *j = json_loads(json, JSON_DECODE_ANY, &je);
    struct labelsel *s = NULL;
    int rc = labelsel_parse(j, &s, err);

    json_decref(j);
    CHECK(rc != 0 || s != NULL);
    labelsel_free(s);
    return rc;
}

static const char *
query(const struct labelsel *s, struct buf *b)
{
    buf_reset(b);
    CHECK_INT(labelsel_query(s, b), 0);
    return buf_str(b);
}

static void
match_labels_only(void)
{
    struct labelsel *s = sel("{\"matchLabels\":{\"app\":\"db\"}}");

    CHECK(matches(s, "{\"app\":\"db\"}"));
    CHECK(matches(s, "{\"app\":\"db\",\"tier\":\"x\"}"));
    CHECK(!matches(s, "{\"app\":\"web\"}"));
    CHECK(!matches(s, "{}"));
    CHECK(!matches(s, NULL));
    labelsel_free(s);
}

static void
expressions_each_operator(void)
{
    struct labelsel *in = sel("{\"matchExpressions\":[{\"key\":\"app\",\"operator\":\"In\","
                              "\"values\":[\"db\",\"cache\"]}]}");
    struct labelsel *notin = sel("{\"matchExpressions\":[{\"key\":\"app\",\"operator\":"
                                 "\"NotIn\",\"values\":[\"db\"]}]}");
    struct labelsel *ex = sel("{\"matchExpressions\":[{\"key\":\"app\",\"operator\":\"Exists\"}]}");
    struct labelsel *nex = sel("{\"matchExpressions\":[{\"key\":\"app\",\"operator\":"
                               "\"DoesNotExist\"}]}");

    CHECK(matches(in, "{\"app\":\"db\"}"));
    CHECK(matches(in, "{\"app\":\"cache\"}"));
    CHECK(!matches(in, "{\"app\":\"web\"}"));
    CHECK(!matches(in, "{}"));
    CHECK(!matches(notin, "{\"app\":\"db\"}"));
    CHECK(matches(notin, "{\"app\":\"web\"}"));
    CHECK(matches(notin, "{}")); /* NotIn matches an absent label */
    CHECK(matches(ex, "{\"app\":\"\"}"));
    CHECK(!matches(ex, "{\"other\":\"x\"}"));
    CHECK(matches(nex, "{\"other\":\"x\"}"));
    CHECK(!matches(nex, "{\"app\":\"db\"}"));
    labelsel_free(in);
    labelsel_free(notin);
    labelsel_free(ex);
    labelsel_free(nex);
}

static void
labels_and_expressions_are_anded(void)
{
    struct labelsel *s = sel("{\"matchLabels\":{\"app\":\"db\"},\"matchExpressions\":[{\"key\":"
                             "\"tier\",\"operator\":\"NotIn\",\"values\":[\"test\"]}]}");

    CHECK(matches(s, "{\"app\":\"db\"}"));
    CHECK(matches(s, "{\"app\":\"db\",\"tier\":\"prod\"}"));
    CHECK(!matches(s, "{\"app\":\"db\",\"tier\":\"test\"}"));
    CHECK(!matches(s, "{\"tier\":\"prod\"}"));
    labelsel_free(s);
}

static void
empty_selects_all_null_selects_nothing(void)
{
    struct labelsel *all = sel("{}");
    struct labelsel *none = sel("null");
    struct labelsel *empty_lists = sel("{\"matchLabels\":{},\"matchExpressions\":[]}");

    CHECK(matches(all, "{\"a\":\"b\"}"));
    CHECK(matches(all, NULL));
    CHECK(matches(empty_lists, "{}"));
    CHECK(!labelsel_nothing(all));
    CHECK(labelsel_nothing(none));
    CHECK(!matches(none, "{\"a\":\"b\"}"));
    labelsel_free(all);
    labelsel_free(none);
    labelsel_free(empty_lists);
}

static void
query_text_sorted(void)
{
    struct buf b = {0};
    struct labelsel *s = sel("{\"matchLabels\":{\"z\":\"1\",\"app\":\"db\"},\"matchExpressions\":["
                             "{\"key\":\"m\",\"operator\":\"In\",\"values\":[\"y\",\"x\",\"y\"]},"
                             "{\"key\":\"n\",\"operator\":\"NotIn\",\"values\":[\"b\",\"a\"]},"
                             "{\"key\":\"e\",\"operator\":\"Exists\"},"
                             "{\"key\":\"d\",\"operator\":\"DoesNotExist\"}]}");
    struct labelsel *all = sel("{}");
    struct labelsel *none = sel("null");

    buf_init(&b, 4096);
    CHECK_STR(query(s, &b), "app=db,!d,e,m in (x,y),n notin (a,b),z=1");
    CHECK_STR(query(all, &b), "");
    buf_reset(&b);
    CHECK_INT(labelsel_format(all, &b), 0);
    CHECK_STR(buf_str(&b), "<none>");
    buf_reset(&b);
    CHECK_INT(labelsel_format(none, &b), 0);
    CHECK_STR(buf_str(&b), "<none>");
    buf_reset(&b);
    CHECK_INT(labelsel_format(s, &b), 0);
    CHECK_STR(buf_str(&b), "app=db,!d,e,m in (x,y),n notin (a,b),z=1");
    buf_release(&b);
    labelsel_free(s);
    labelsel_free(all);
    labelsel_free(none);
}

static void
bad_selectors_rejected(void)
{
    struct sc_err err = {0};

    CHECK_INT(parse_err("[]", &err), SC_EINVALID);
    CHECK_INT(parse_err("{\"matchLabels\":[]}", &err), SC_EINVALID);
    CHECK_INT(parse_err("{\"matchLabels\":{\"a\":1}}", &err), SC_EINVALID);
    CHECK_INT(parse_err("{\"matchExpressions\":{}}", &err), SC_EINVALID);
    CHECK_INT(parse_err("{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Gt\",\"values\":"
                        "[\"1\"]}]}",
                        &err),
              SC_EINVALID);
    CHECK_STR(err.msg, "\"Gt\" is not a valid label selector operator");
    CHECK_INT(parse_err("{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\"}]}", &err),
              SC_EINVALID);
    CHECK(strstr(err.msg, "values set can't be empty") != NULL);
    CHECK_INT(parse_err("{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Exists\","
                        "\"values\":[\"x\"]}]}",
                        &err),
              SC_EINVALID);
    CHECK_INT(parse_err("{\"matchExpressions\":[{\"operator\":\"Exists\"}]}", &err), SC_EINVALID);
    CHECK_INT(parse_err("{\"matchExpressions\":[7]}", &err), SC_EINVALID);
    CHECK_INT(parse_err("{\"matchLabels\":{\"bad key\":\"v\"}}", &err), SC_EINVALID);
    CHECK_INT(parse_err("{\"matchLabels\":{\"k\":\"bad value!\"}}", &err), SC_EINVALID);
    CHECK_INT(parse_err("{\"matchLabels\":{\"example.com/k\":\"v\"}}", &err), 0);
    CHECK_INT(parse_err("{\"matchLabels\":{\"-x.com/k\":\"v\"}}", &err), SC_EINVALID);
}

static void
too_many_requirements(void)
{
    json_t *ml = json_object(), *s = json_object();
    struct labelsel *out = NULL;
    struct sc_err err = {0};
    char k[32];
    int i;

    for (i = 0; i <= LABELSEL_MAX_REQS; i++) {
        snprintf(k, sizeof(k), "k%d", i);
        json_object_set_new(ml, k, json_string("v"));
    }
    json_object_set_new(s, "matchLabels", ml);
    CHECK_INT(labelsel_parse(s, &out, &err), SC_ETOOBIG);
    CHECK(out == NULL);
    json_decref(s);
}

TEST_MAIN(TEST(match_labels_only), TEST(expressions_each_operator),
          TEST(labels_and_expressions_are_anded), TEST(empty_selects_all_null_selects_nothing),
          TEST(query_text_sorted), TEST(bad_selectors_rejected), TEST(too_many_requirements))
