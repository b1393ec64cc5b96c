/* kube/kparse.c -- a fast reader of JSON into jansson trees (see kparse.h).
 *
 * Recursive descent over the bytes in place.  A string without escapes is
 * handed to jansson straight from the input (json_stringn_nocheck copies it);
 * one with escapes is decoded into a scratch buffer first.  Anything jansson
 * would refuse, or that this reader does not handle itself, makes it decline
 * (false all the way up), and the caller parses with jansson. */
#include "kube/kparse.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kube/kskim.h"

struct rd {
    const unsigned char *base, *p, *end; /* the document, the next byte, its end */
    unsigned flags;
    int depth;     /* containers open around the current value */
    size_t ncut;   /* managedFields members skipped (KPARSE_SKIM) */
    char *scratch; /* decoded strings; NULL until one needs it */
    size_t top;    /* scratch bytes held by the keys of open members */
};
/* The scratch buffer is as long as the document: the decoded keys held at
 * once, plus the string being decoded, each no longer than its own bytes in
 * the document, never overlap there. */

/* Where an object sits, for the members it leaves out. */
enum ctx {
    CTX_PLAIN,
    CTX_ROOT,    /* the top level */
    CTX_META,    /* the value of a "metadata" member (KPARSE_SKIM) */
    CTX_REQUEST, /* the top level's "request" (KPARSE_REVIEW) */
};

/* Members of an AdmissionReview's request left out by KPARSE_REVIEW; bit
 * i + 1 of a read_object()'s seen mask (bit 0: managedFields). */
static const struct {
    const char *name;
    size_t len;
} review_skip[] = {{"userInfo", 8}, {"options", 7}, {"requestKind", 11}, {"requestResource", 15}};

static json_t *read_value(struct rd *r, enum ctx ctx);

/* Byte classes inside a string: 0 plain, 1 stop (quote, backslash, control
 * character or a byte of a multibyte sequence). */
static const unsigned char stop[256] = {
    ['"'] = 1,
    ['\\'] = 1,
    [0x00 ... 0x1f] = 1,
    [0x80 ... 0xff] = 1,
};

static void
skip_ws(struct rd *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t'))
        r->p++;
}

/* One well-formed UTF-8 sequence (RFC 3629: no overlongs, no surrogates,
 * nothing past U+10FFFF) at p: its length, 0 when malformed. */
static size_t
utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t len;
    unsigned lo = 0x80, hi = 0xbf; /* allowed range of the second byte */

    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < len || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return len;
}

/* The code point of a \u escape at p (p[0] == '\\', p[1] == 'u'), a
 * surrogate pair taken whole; *used is how many bytes it took.  -1 where
 * jansson refuses it: a lone or reversed surrogate, or U+0000. */
static long
unicode_escape(const unsigned char *p, const unsigned char *end, size_t *used)
{
    long cp, lo;

    if (end - p < 6 || (cp = kskim_hex4((const char *)p + 2)) < 0)
        return -1;
    *used = 6;
    if (cp >= 0xdc00 && cp <= 0xdfff)
        return -1;
    if (cp >= 0xd800 && cp <= 0xdbff) {
        if (end - p < 12 || p[6] != '\\' || p[7] != 'u' ||
            (lo = kskim_hex4((const char *)p + 8)) < 0 || lo < 0xdc00 || lo > 0xdfff)
            return -1;
        *used = 12;
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
    }
    return cp == 0 ? -1 : cp;
}

static size_t
put_utf8(char *o, long cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* The escape at p (p[0] == '\\') decoded at out: the bytes written, 0
 * when jansson refuses it; *used is how many input bytes it took. */
static size_t
decode_escape(const unsigned char *p, const unsigned char *end, char *out, size_t *used)
{
    static const char simple[256] = {
        ['"'] = '"',  ['\\'] = '\\', ['/'] = '/',  ['b'] = '\b',
        ['f'] = '\f', ['n'] = '\n',  ['r'] = '\r', ['t'] = '\t',
    };
    long cp;

    if (end - p < 2)
        return 0;
    *used = 2;
    if (simple[p[1]] != 0) {
        out[0] = simple[p[1]];
        return 1;
    }
    if (p[1] != 'u' || (cp = unicode_escape(p, end, used)) < 0)
        return 0;
    return put_utf8(out, cp); /* never longer than its escape */
}

/* The rest of a string whose first escape is at r->p, decoded into the
 * scratch buffer after the len plain bytes at start.  r->p ends past the
 * closing quote. */
static bool
decode_string(struct rd *r, const unsigned char *start, const char **s, size_t *len)
{
    char *out;
    size_t o = *len;

    if (r->scratch == NULL && (r->scratch = malloc((size_t)(r->end - r->base))) == NULL)
        return false;
    out = r->scratch + r->top;
    memcpy(out, start, o);
    while (r->p < r->end) {
        unsigned c = *r->p;
        size_t used = 1, wrote = 1;
        if (c == '"') {
            r->p++;
            *s = out;
            *len = o;
            return true;
        }
        if (c < 0x20)
            return false;
        if (c == '\\') {
            wrote = decode_escape(r->p, r->end, out + o, &used);
        } else if (c >= 0x80) {
            wrote = used = utf8_seq(r->p, r->end);
            memcpy(out + o, r->p, used);
        } else {
            out[o] = (char)c;
        }
        if (wrote == 0)
            return false;
        o += wrote;
        r->p += used;
    }
    return false;
}

/* At '"': the string's bytes (in place, or decoded in the scratch buffer,
 * valid until the next string), r->p past the closing quote. */
static bool
read_string(struct rd *r, const char **s, size_t *len)
{
    const unsigned char *start = ++r->p;

    for (;;) {
        while (r->p < r->end && !stop[*r->p])
            r->p++;
        if (r->p >= r->end)
            return false;
        unsigned c = *r->p;
        if (c == '"') {
            *s = (const char *)start;
            *len = (size_t)(r->p - start);
            r->p++;
            return true;
        }
        if (c == '\\') {
            *len = (size_t)(r->p - start);
            return decode_string(r, start, s, len);
        }
        if (c < 0x20)
            return false;
        size_t used = utf8_seq(r->p, r->end);
        if (used == 0)
            return false;
        r->p += used;
    }
}

static bool
is_digit(unsigned c)
{
    return c >= '0' && c <= '9';
}

static const unsigned char *
skip_digits(const unsigned char *q, const unsigned char *end)
{
    while (q < end && is_digit(*q))
        q++;
    return q;
}

/* The end of the fraction and exponent after a number's integer part at q
 * (NULL when malformed: a '.' or an exponent without digits); *real tells
 * whether there was either. */
static const unsigned char *
number_tail(const unsigned char *q, const unsigned char *end, bool *real)
{
    *real = false;
    if (q < end && *q == '.') {
        *real = true;
        if (++q >= end || !is_digit(*q))
            return NULL;
        q = skip_digits(q, end);
    }
    if (q < end && (*q == 'e' || *q == 'E')) {
        *real = true;
        if (++q < end && (*q == '+' || *q == '-'))
            q++;
        if (q >= end || !is_digit(*q))
            return NULL;
        q = skip_digits(q, end);
    }
    return q;
}

/* A real read by strtod, as jansson does (declined when it overflows, which
 * jansson refuses, or when longer than KPARSE_NUMBER_MAX). */
static json_t *
make_real(const unsigned char *start, size_t len)
{
    char tmp[KPARSE_NUMBER_MAX + 1];
    double d;

    if (len > KPARSE_NUMBER_MAX)
        return NULL;
    memcpy(tmp, start, len);
    tmp[len] = '\0';
    d = strtod(tmp, NULL);
    return isinf(d) ? NULL : json_real(d);
}

/* A number as jansson's lexer reads it: an integer when it has neither a
 * fraction nor an exponent (declined outside int64, which jansson refuses),
 * else a real. */
static json_t *
read_number(struct rd *r)
{
    const unsigned char *start = r->p, *q = r->p;
    bool neg = *q == '-', real;
    uint64_t v = 0;

    q += neg;
    if (q >= r->end || !is_digit(*q))
        return NULL;
    if (*q == '0') {
        q++; /* no digit may follow: the caller finds one where it wants a ',' */
    } else {
        for (; q < r->end && is_digit(*q); q++) {
            if (v > (UINT64_MAX - 9) / 10)
                return NULL; /* far outside int64: jansson's error, found by the fallback */
            v = v * 10 + (*q - '0');
        }
    }
    if ((q = number_tail(q, r->end, &real)) == NULL)
        return NULL;
    r->p = q;
    if (real)
        return make_real(start, (size_t)(q - start));
    if (v > (uint64_t)INT64_MAX + neg)
        return NULL;
    return json_integer(neg ? (json_int_t)(0 - v) : (json_int_t)v);
}

static json_t *
read_literal(struct rd *r, const char *word, size_t len, json_t *v)
{
    if ((size_t)(r->end - r->p) < len || memcmp(r->p, word, len) != 0)
        return NULL;
    r->p += len;
    return v;
}

static bool
is_name(const char *s, size_t len, const char *name, size_t name_len)
{
    return len == name_len && memcmp(s, name, len) == 0;
}

/* The bit of seen for a member ctx leaves out, or 0. */
static unsigned
skipped_member(const struct rd *r, enum ctx ctx, const char *key, size_t klen)
{
    if (ctx == CTX_META)
        return is_name(key, klen, "managedFields", 13) ? 1u : 0u;
    if (ctx == CTX_REQUEST && (r->flags & KPARSE_REVIEW) != 0)
        for (size_t i = 0; i < sizeof(review_skip) / sizeof(review_skip[0]); i++)
            if (is_name(key, klen, review_skip[i].name, review_skip[i].len))
                return 2u << i;
    return 0;
}

/* The context of the value of member key in an object in ctx. */
static enum ctx
member_ctx(const struct rd *r, enum ctx ctx, const char *key, size_t klen)
{
    if ((r->flags & KPARSE_SKIM) != 0 && is_name(key, klen, "metadata", 8))
        return CTX_META;
    if (ctx == CTX_ROOT && (r->flags & KPARSE_REVIEW) != 0 && is_name(key, klen, "request", 7))
        return CTX_REQUEST;
    return CTX_PLAIN;
}

/* One member at r->p (its key's quote) into obj, or, when ctx leaves it out,
 * past it: its value is only scanned for structure (kskim_skip).  seen holds
 * the members left out so far: a second one is a duplicate jansson would
 * refuse. */
static bool
read_member(struct rd *r, json_t *obj, enum ctx ctx, unsigned *seen)
{
    const char *key;
    size_t klen, held = 0, before;
    unsigned skip;
    json_t *v;
    int rc;

    if (r->p >= r->end || *r->p != '"' || !read_string(r, &key, &klen))
        return false;
    if (memchr(key, '\0', klen) != NULL)
        return false;
    skip_ws(r);
    if (r->p >= r->end || *r->p != ':')
        return false;
    r->p++;
    skip_ws(r);
    if ((skip = skipped_member(r, ctx, key, klen)) != 0) {
        size_t i = (size_t)(r->p - r->base);
        bool managed = skip == 1u;
        if ((*seen & skip) != 0 || (managed && r->ncut >= KSKIM_CUTS) ||
            !kskim_skip((const char *)r->base, (size_t)(r->end - r->base), &i, r->depth, r->ncut))
            return false;
        *seen |= skip;
        r->ncut += managed;
        r->p = r->base + i;
        return true;
    }
    if (r->scratch != NULL && key == r->scratch + r->top)
        held = klen; /* decoded: keep it while the value is read */
    r->top += held;
    v = read_value(r, member_ctx(r, ctx, key, klen));
    r->top -= held;
    if (v == NULL)
        return false;
    before = json_object_size(obj);
    rc = json_object_setn_new_nocheck(obj, key, klen, v);
    return rc == 0 && json_object_size(obj) > before; /* else a duplicate, which jansson refuses */
}

/* At '{'. */
static json_t *
read_object(struct rd *r, enum ctx ctx)
{
    json_t *obj = json_object();
    unsigned seen = 0;

    if (obj == NULL)
        return NULL;
    r->p++;
    skip_ws(r);
    if (r->p < r->end && *r->p == '}') {
        r->p++;
        return obj;
    }
    for (;;) {
        if (!read_member(r, obj, ctx, &seen))
            break;
        skip_ws(r);
        if (r->p >= r->end)
            break;
        if (*r->p == '}') {
            r->p++;
            return obj;
        }
        if (*r->p != ',')
            break;
        r->p++;
        skip_ws(r);
    }
    json_decref(obj);
    return NULL;
}

/* At '['. */
static json_t *
read_array(struct rd *r)
{
    json_t *arr = json_array(), *v;

    if (arr == NULL)
        return NULL;
    r->p++;
    skip_ws(r);
    if (r->p < r->end && *r->p == ']') {
        r->p++;
        return arr;
    }
    for (;;) {
        if ((v = read_value(r, CTX_PLAIN)) == NULL || json_array_append_new(arr, v) != 0)
            break;
        skip_ws(r);
        if (r->p >= r->end)
            break;
        if (*r->p == ']') {
            r->p++;
            return arr;
        }
        if (*r->p != ',')
            break;
        r->p++;
        skip_ws(r);
    }
    json_decref(arr);
    return NULL;
}

static json_t *
read_value(struct rd *r, enum ctx ctx)
{
    const char *s;
    size_t len;
    json_t *v;

    if (r->p >= r->end)
        return NULL;
    switch (*r->p) {
    case '{':
    case '[':
        if (r->depth == KSKIM_DEPTH)
            return NULL; /* deeper than kskim follows: jansson decides */
        r->depth++;
        v = *r->p == '{' ? read_object(r, ctx) : read_array(r);
        r->depth--;
        return v;
    case '"':
        return read_string(r, &s, &len) ? json_stringn_nocheck(s, len) : NULL;
    case 't':
        return read_literal(r, "true", 4, json_true());
    case 'f':
        return read_literal(r, "false", 5, json_false());
    case 'n':
        return read_literal(r, "null", 4, json_null());
    default:
        return read_number(r);
    }
}

int
kparse(const char *data, size_t n, unsigned flags, json_t **out)
{
    struct rd r = {.flags = flags};
    json_t *v = NULL;

    if (data == NULL || n == 0)
        return -1; /* no document (and no pointer arithmetic on NULL) */
    r.base = r.p = (const unsigned char *)data;
    r.end = r.base + n;
    skip_ws(&r);
    if (r.p < r.end && (*r.p == '{' || (*r.p == '[' && (flags & KPARSE_SKIM) == 0)))
        v = read_value(&r, CTX_ROOT);
    if (v != NULL) {
        skip_ws(&r);
        if (r.p != r.end) {
            json_decref(v);
            v = NULL;
        }
    }
    free(r.scratch);
    if (v == NULL)
        return -1;
    *out = v;
    return 0;
}
