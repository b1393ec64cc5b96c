/* wharena: jansson's allocations inside a scope come from the caller's
 * buffer, spill to malloc when it is full, and outside a scope are plain
 * malloc blocks; a review parsed and answered in a scope gives the same
 * bytes as one on malloc.  Also the response writer's escaping against
 * jansson's own dump. */
#include "webhook/wharena.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/limits.h"
#include "kube/kjson.h"
#include "tests/unit/webhook/fixtures.h"
#include "webhook/review.h"

static _Alignas(16) char mem[WHARENA_BYTES];

static int
in_arena(const void *p)
{
    return (const char *)p >= mem && (const char *)p < mem + sizeof(mem);
}

static void
test_scope_and_spill(void)
{
    struct wharena a = {0};
    void *outside = wharena_malloc(32), *p, *q, *big;

    CHECK(outside != NULL && !in_arena(outside));
    CHECK(!wharena_holds_all()); /* no scope */
    wharena_begin(&a, mem);
    CHECK(!wharena_holds_all()); /* jansson does not allocate here yet */
    wharena_install();
    CHECK(wharena_holds_all());
    p = wharena_malloc(24);
    q = wharena_malloc(1);
    CHECK(in_arena(p) && in_arena(q));
    CHECK(wharena_holds_all());
    CHECK((((uintptr_t)p) & 15u) == 0 && (((uintptr_t)q) & 15u) == 0);
    CHECK((char *)q - (char *)p == 32);  /* 24 rounded up to 16 */
    big = wharena_malloc(WHARENA_BYTES); /* does not fit after p and q: malloc */
    CHECK(big != NULL && !in_arena(big));
    CHECK_INT((int)a.spilled, 1);
    CHECK(!wharena_holds_all());
    wharena_free(p); /* no-op */
    wharena_free(big);
    wharena_free(outside); /* a malloc block freed inside a scope */
    wharena_end(&a);
    CHECK(!wharena_holds_all());
    p = wharena_malloc(8);
    CHECK(p != NULL && !in_arena(p));
    CHECK_INT((int)a.spilled, 1);
    free(p); /* outside a scope a block is a plain malloc block */
}

/* Parse and answer the recorded review; the response text. */
static char *
answer(const char *body, size_t len)
{
    struct review_admission r = {0};
    struct wh_decision d = {.allowed = false, .code = 403, .rule = "x", .msg = "no \"x\"\n/é"};
    char *out = NULL;
    size_t n = 0;

    CHECK_INT(review_admission_parse(body, len, &r, NULL), SC_OK);
    CHECK_INT(review_admission_respond(&r, &d, &out, &n, NULL), SC_OK);
    CHECK_INT((int)n, (int)strlen(out));
    review_admission_release(&r);
    return out;
}

/* The recorded review answered on malloc and in a scope whose buffer has
 * taken `taken` bytes already: both answers, and the scope's spill count. */
static size_t
answer_both(size_t taken, char **plain, char **scoped)
{
    struct wharena a = {0};
    size_t len = 0;
    char *body = fx_text("admission/vsclass-create.json", &len);

    *plain = answer(body, len);
    wharena_install();
    wharena_begin(&a, mem);
    if (taken > 0)
        CHECK(in_arena(wharena_malloc(taken)));
    *scoped = answer(body, len);
    CHECK(a.used > taken);
    wharena_end(&a);
    CHECK(!in_arena(*scoped)); /* the response is the caller's to free() */
    CHECK_STR(*scoped, *plain);
    free(body);
    return a.spilled;
}

static void
test_review_in_scope(void)
{
    char *plain, *scoped;

    CHECK_INT((int)answer_both(0, &plain, &scoped), 0);
    free(plain);
    free(scoped);
}

/* A review parsed in a scope whose buffer is nearly full spills part of its
 * tree to malloc: released, that tree is freed node by node (the ASan run
 * reports a leak otherwise), and the answer is the same. */
static void
test_review_spilled(void)
{
    char *plain, *scoped;

    CHECK(answer_both(WHARENA_BYTES - 512, &plain, &scoped) > 0);
    free(plain);
    free(scoped);
}

/* kjson_put_str writes what json_dumps() writes for the same string. */
static void
test_put_str_matches_jansson(void)
{
    static const char *const cases[] = {
        "", "plain", "q\"b\\s/", "\b\f\n\r\t\x0b\x01\x1f", "é ü 日本 😀", "\x7f",
    };
    struct buf b = {0};

    for (size_t i = 0; i < SC_ARRAY_LEN(cases); i++) {
        json_t *s = json_string(cases[i]);
        char *want = json_dumps(s, JSON_COMPACT | JSON_ENCODE_ANY);

        buf_init(&b, 256);
        CHECK_INT(kjson_put_str(&b, cases[i]), 0);
        CHECK_STR(buf_str(&b), want);
        buf_release(&b);
        free(want);
        json_decref(s);
    }
    buf_init(&b, 256);
    CHECK_INT(kjson_put_str(&b, "cut \xc3"), SC_EINVALID); /* not UTF-8: jansson refuses it too */
    CHECK(json_string("cut \xc3") == NULL);
    CHECK_INT(kjson_put_str(&b, "\xed\xa0\x80"), SC_EINVALID); /* a surrogate */
    CHECK_INT((int)b.len, 0);
    buf_release(&b); /* a refused string leaves the length, not the capacity */
    buf_init(&b, 4);
    CHECK_INT(kjson_put_str(&b, "too long"), SC_ETOOBIG);
    CHECK_INT((int)b.len, 0);
    buf_release(&b);
}

TEST_MAIN(TEST(test_scope_and_spill), TEST(test_review_in_scope), TEST(test_review_spilled),
          TEST(test_put_str_matches_jansson))
