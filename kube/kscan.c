/* kube/kscan.c -- chosen members of a JSON object, read from its bytes
 * without building a tree (see kscan.h).
 *
 * One pass over the bytes in place.  The walk follows the compiled trie: at
 * each object on it, a member's key is looked up among the node's children
 * (a handful: a length compare, then memcmp); a member on no path is
 * skipped with kskim_skip(), structure only.  Recursion goes no deeper than
 * the trie.  Whatever jansson would read otherwise than the bytes say (an
 * escape), or refuse where it matters, makes the scan decline (false all the
 * way up) and the caller parses the usual way. */
#include "kube/kscan.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "kube/kjson.h"
#include "kube/kskim.h"

_Static_assert(KSCAN_MAX_NODES <= 65, "a 64-bit mask holds the children of one node seen");
_Static_assert(KSCAN_MAX_NODES <= UCHAR_MAX, "first and count fit an unsigned char");
_Static_assert(KSCAN_MAX_PATHS <= SHRT_MAX, "a slot fits a short");

/* ---- compiling the paths ------------------------------------------------ */

/* The trie as kscan_compile() grows it: each node's parent, in the order
 * made (0: the root).  The layout in nodes[] comes after. */
struct draft {
    const char *key[KSCAN_MAX_NODES];
    unsigned short klen[KSCAN_MAX_NODES];
    short slot[KSCAN_MAX_NODES];
    unsigned char parent[KSCAN_MAX_NODES];
    size_t n;
};

/* The child of node parent keyed seg[0..len), made if there is none yet:
 * its index, or -1 past KSCAN_MAX_NODES. */
static int
draft_child(struct draft *d, size_t parent, const char *seg, size_t len)
{
    for (size_t j = 1; j < d->n; j++)
        if (d->parent[j] == parent && d->klen[j] == len && memcmp(d->key[j], seg, len) == 0)
            return (int)j;
    if (d->n == KSCAN_MAX_NODES)
        return -1;
    d->key[d->n] = seg;
    d->klen[d->n] = (unsigned short)len;
    d->slot[d->n] = -1;
    d->parent[d->n] = (unsigned char)parent;
    return (int)d->n++;
}

/* One path into the draft, reporting into slot. */
static bool
draft_path(struct draft *d, const char *path, short slot)
{
    size_t node = 0;
    const char *seg = path;

    if (path == NULL)
        return false;
    for (;;) {
        const char *dot = strchr(seg, '.');
        size_t len = dot != NULL ? (size_t)(dot - seg) : strlen(seg);
        int c = 0;

        if (len == 0 || len > USHRT_MAX || (c = draft_child(d, node, seg, len)) < 0)
            return false;
        node = (size_t)c;
        if (dot == NULL)
            break;
        seg = dot + 1;
    }
    if (d->slot[node] >= 0)
        return false; /* the same path twice */
    d->slot[node] = slot;
    return true;
}

/* The draft into spec->nodes[] breadth first, so that the children of each
 * node come together, shortest key first (find_child() stops past the
 * length it looks for). */
static void
draft_layout(const struct draft *d, struct kscan_spec *spec)
{
    unsigned char order[KSCAN_MAX_NODES] = {0}; /* draft index of each place */
    size_t placed = 1;

    for (size_t h = 0; h < d->n; h++) {
        struct kscan_node *node = &spec->nodes[h];
        size_t at = order[h];

        node->key = d->key[at];
        node->klen = d->klen[at];
        node->slot = d->slot[at];
        node->first = (unsigned char)placed;
        for (size_t j = 1; j < d->n; j++) {
            size_t k = placed;

            if (d->parent[j] != at)
                continue;
            for (; k > node->first && d->klen[order[k - 1]] > d->klen[j]; k--)
                order[k] = order[k - 1];
            order[k] = (unsigned char)j;
            placed++;
        }
        node->count = (unsigned char)(placed - node->first);
    }
    spec->n_nodes = d->n;
}

int
kscan_compile(struct kscan_spec *spec, const char *const *paths, size_t n)
{
    struct draft d = {.n = 1, .slot = {-1}};

    memset(spec, 0, sizeof(*spec));
    spec->nodes[0].slot = -1;
    spec->n_nodes = 1;
    if (n > KSCAN_MAX_PATHS || (n > 0 && paths == NULL))
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!draft_path(&d, paths[i], (short)i))
            return -1;
    draft_layout(&d, spec);
    spec->n_paths = n;
    return 0;
}

/* ---- scanning ------------------------------------------------------------ */

struct scan {
    const char *p;
    size_t n, i;                    /* the bytes, their count, the next one */
    const struct kscan_node *nodes; /* the trie */
    struct kscan_val *out;          /* by slot */
    struct kscan_buf *sb;           /* strings' copies; may be NULL */
};

/* Bytes that stop a key's scan: its closing quote, an escape, a control
 * character.  A string's scan also stops at the bytes of a multibyte
 * sequence (SB_HIGH), to check them once the string ends. */
enum { SB_PLAIN, SB_BAD, SB_QUOTE, SB_HIGH };
static const unsigned char str_class[256] = {
    [0x00 ... 0x1f] = SB_BAD,
    ['\\'] = SB_BAD,
    ['"'] = SB_QUOTE,
    [0x80 ... 0xff] = SB_HIGH,
};

#define ONES  UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

/* The bytes of the word w (8 bytes of a string) at which its scan stops:
 * a '"', a '\\', a control character, and with high a byte >= 0x80.  The
 * high bit of each such byte is set, and maybe of more significant bytes
 * after the least significant one (a borrow runs toward them): that one is
 * exact. */
static uint64_t
stops(uint64_t w, bool high)
{
    uint64_t q = w ^ (ONES * '"'), b = w ^ (ONES * '\\');
    uint64_t t = ((q - ONES) & ~q) | ((b - ONES) & ~b) | ((w - ONES * 0x20) & ~w);

    return (t | (high ? w : 0)) & HIGHS;
}

/* The 8 bytes at p as a word whose least significant byte is p[0] (where
 * stops() is exact). */
static uint64_t
load_word(const unsigned char *p)
{
    uint64_t w = 0;

    memcpy(&w, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    w = __builtin_bswap64(w);
#endif
    return w;
}

/* From p[j], the first byte at which a string's scan stops (stops()), or
 * n: eight bytes at a time, then the tail one by one. */
static size_t
find_stop_tail(const unsigned char *p, size_t n, size_t j, bool high)
{
    for (; n - j >= 8; j += 8) {
        uint64_t t = stops(load_word(p + j), high);

        if (t != 0)
            return j + (size_t)__builtin_ctzll(t) / 8;
    }
    while (j < n && (str_class[p[j]] == SB_PLAIN || (!high && str_class[p[j]] == SB_HIGH)))
        j++;
    return j;
}

#if defined(__SSE2__) && !defined(KSCAN_SWAR)
/* From p[j], the first byte at which a string's scan stops (stops()), or
 * n: sixteen bytes at a time (SSE2, in every x86-64), then eight, then one
 * by one.  The loads stop at n, not at the string's end: most strings are
 * a load or two. */
static size_t
find_stop(const unsigned char *p, size_t n, size_t j, bool high)
{
    const __m128i quote = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\');
    const __m128i ctl = _mm_set1_epi8(0x1f);

    for (; n - j >= 16; j += 16) {
        __m128i w = _mm_loadu_si128((const __m128i *)(const void *)(p + j));
        __m128i m = _mm_or_si128(_mm_cmpeq_epi8(w, quote), _mm_cmpeq_epi8(w, bs));
        unsigned bits = 0;

        m = _mm_or_si128(m, _mm_cmpeq_epi8(_mm_min_epu8(w, ctl), w)); /* <= 0x1f */
        bits = (unsigned)_mm_movemask_epi8(m) | (high ? (unsigned)_mm_movemask_epi8(w) : 0u);
        if (bits != 0)
            return j + (size_t)__builtin_ctz(bits);
    }
    return find_stop_tail(p, n, j, high);
}
#else
static size_t
find_stop(const unsigned char *p, size_t n, size_t j, bool high)
{
    return find_stop_tail(p, n, j, high);
}
#endif

static size_t
skip_ws(const char *p, size_t n, size_t i)
{
    while (i < n && (unsigned char)p[i] <= ' ' &&
           (p[i] == ' ' || p[i] == '\n' || p[i] == '\r' || p[i] == '\t'))
        i++;
    return i;
}

static bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* The member key at s->i (its quote) and the ':' after it: the key's bytes,
 * s->i at the value.  False on an escape or a control character in the key
 * (the key might spell another, or jansson refuses it). */
static bool
read_key(struct scan *s, const char **k, size_t *kl)
{
    const unsigned char *p = (const unsigned char *)s->p;
    size_t j = s->i + 1;

    if (s->i >= s->n || p[s->i] != '"')
        return false;
    j = find_stop(p, s->n, j, false);
    if (j >= s->n || p[j] != '"')
        return false;
    *k = s->p + s->i + 1;
    *kl = j - s->i - 1;
    j = skip_ws(s->p, s->n, j + 1);
    if (j >= s->n || p[j] != ':')
        return false;
    s->i = skip_ws(s->p, s->n, j + 1);
    return true;
}

/* The string at s->i (its quote), copied with a NUL into the scratch: no
 * escape, no control character, valid UTF-8, or false. */
static bool
read_string(struct scan *s, struct kscan_val *v)
{
    const unsigned char *p = (const unsigned char *)s->p;
    size_t start = s->i + 1, j = start, len = 0;
    bool high = false;
    struct kscan_buf *sb = s->sb;
    char *d = NULL;

    for (;;) {
        j = find_stop(p, s->n, j, !high);
        if (j >= s->n || str_class[p[j]] == SB_BAD)
            return false;
        if (str_class[p[j]] == SB_QUOTE)
            break;
        high = true; /* checked once the string ends */
        j++;
    }
    len = j - start;
    if ((high && !kjson_utf8_valid(s->p + start, len)) || sb == NULL || sb->len >= sb->cap ||
        len >= sb->cap - sb->len)
        return false;
    d = sb->p + sb->len;
    memcpy(d, s->p + start, len);
    d[len] = '\0';
    sb->len += len + 1;
    v->type = KSCAN_STRING;
    v->s = d;
    v->n = len;
    s->i = j + 1;
    return true;
}

/* An integer as jansson reads one: an optional '-', digits without a
 * leading zero (but "0" and "-0"), no fraction or exponent, in int64. */
static bool
read_int(struct scan *s, struct kscan_val *v)
{
    const char *p = s->p;
    size_t i = s->i, from = 0; /* where the digits start */
    bool neg = p[i] == '-';
    uint64_t u = 0;

    i += neg;
    if (i >= s->n || !is_digit(p[i]))
        return false;
    if (p[i] == '0') {
        i++;
    } else {
        for (from = i; i < s->n && is_digit(p[i]); i++)
            u = u * 10 + (uint64_t)(p[i] - '0'); /* wraps past 19 digits: refused below */
        if (i - from > 19 || u > (uint64_t)INT64_MAX + neg)
            return false; /* 20 digits are past 10^19, past int64 */
    }
    if (i < s->n && (is_digit(p[i]) || p[i] == '.' || p[i] == 'e' || p[i] == 'E'))
        return false; /* a leading zero, a real */
    v->type = KSCAN_INTEGER;
    v->i = neg ? -(int64_t)(u - 1) - 1 : (int64_t)u;
    s->i = i;
    return true;
}

/* null, true or false at s->i: its type, or KSCAN_ABSENT. */
static enum kscan_type
read_literal(struct scan *s)
{
    const char *q = s->p + s->i;
    size_t left = s->n - s->i;

    if (left >= 4 && memcmp(q, "null", 4) == 0) {
        s->i += 4;
        return KSCAN_NULL;
    }
    if (left >= 4 && memcmp(q, "true", 4) == 0) {
        s->i += 4;
        return KSCAN_TRUE;
    }
    if (left >= 5 && memcmp(q, "false", 5) == 0) {
        s->i += 5;
        return KSCAN_FALSE;
    }
    return KSCAN_ABSENT;
}

/* The value at s->i, nested in depth containers, into *v: a scalar read,
 * an object or an array as its span (structure checked by kskim_skip()). */
static bool
read_value(struct scan *s, struct kscan_val *v, int depth)
{
    size_t start = s->i;

    if (s->i >= s->n)
        return false;
    switch (s->p[s->i]) {
    case '"':
        return read_string(s, v);
    case '{':
    case '[':
        if (!kskim_skip(s->p, s->n, &s->i, depth, 0))
            return false;
        v->type = s->p[start] == '{' ? KSCAN_OBJECT : KSCAN_ARRAY;
        v->s = s->p + start;
        v->n = s->i - start;
        return true;
    case 'n':
    case 't':
    case 'f':
        return (v->type = read_literal(s)) != KSCAN_ABSENT;
    default:
        return read_int(s, v);
    }
}

static bool scan_object(struct scan *s, const struct kscan_node *node, int depth);

/* The value at s->i of a node on other paths' way, nested in depth
 * containers: an object walked (its span reported too when the node has a
 * slot), or null (its descendants stay absent). */
static bool
descend(struct scan *s, const struct kscan_node *node, int depth)
{
    struct kscan_val *v = node->slot >= 0 ? &s->out[node->slot] : NULL;
    size_t start = s->i;

    if (s->i < s->n && s->p[s->i] == '{') {
        if (!scan_object(s, node, depth))
            return false;
        if (v != NULL) {
            v->type = KSCAN_OBJECT;
            v->s = s->p + start;
            v->n = s->i - start;
        }
        return true;
    }
    if (read_literal(s) != KSCAN_NULL)
        return false; /* jansson's walk: a type error */
    if (v != NULL)
        v->type = KSCAN_NULL;
    return true;
}

/* node's child keyed k[0..kl): its place among the children, or -1. */
static int
find_child(const struct kscan_node *nodes, const struct kscan_node *node, const char *k, size_t kl)
{
    const struct kscan_node *c = nodes + node->first;

    for (int j = 0; j < node->count; j++) {
        if (c[j].klen < kl)
            continue;
        if (c[j].klen > kl)
            break;
        if ((kl == 0 || c[j].key[0] == k[0]) && memcmp(c[j].key, k, kl) == 0)
            return j;
    }
    return -1;
}

/* One member at s->i (its key) of the object at node, its value nested in
 * depth containers; seen: node's children met so far in this object. */
static bool
scan_member(struct scan *s, const struct kscan_node *node, int depth, uint64_t *seen)
{
    const char *k = NULL;
    size_t kl = 0;
    const struct kscan_node *c = NULL;
    int j = 0;

    if (!read_key(s, &k, &kl))
        return false;
    if ((j = find_child(s->nodes, node, k, kl)) < 0)
        return kskim_skip(s->p, s->n, &s->i, depth, 0);
    if ((*seen & UINT64_C(1) << j) != 0)
        return false; /* present twice: jansson refuses it */
    *seen |= UINT64_C(1) << j;
    c = &s->nodes[node->first + j];
    if (c->count > 0)
        return descend(s, c, depth);
    return read_value(s, &s->out[c->slot], depth);
}

/* The object at s->i (its '{'), nested in depth containers, walked at
 * node: s->i past its '}'. */
static bool
scan_object(struct scan *s, const struct kscan_node *node, int depth)
{
    uint64_t seen = 0;

    if (depth >= KSKIM_DEPTH)
        return false;
    s->i = skip_ws(s->p, s->n, s->i + 1);
    if (s->i < s->n && s->p[s->i] == '}') {
        s->i++;
        return true;
    }
    for (;;) {
        if (!scan_member(s, node, depth + 1, &seen))
            return false;
        s->i = skip_ws(s->p, s->n, s->i);
        if (s->i >= s->n)
            return false;
        if (s->p[s->i] == '}') {
            s->i++;
            return true;
        }
        if (s->p[s->i] != ',')
            return false;
        s->i = skip_ws(s->p, s->n, s->i + 1);
    }
}

int
kscan(const char *data, size_t n, const struct kscan_spec *spec, struct kscan_val *out,
      struct kscan_buf *sb)
{
    struct scan s = {.p = data, .n = n, .nodes = spec->nodes, .out = out, .sb = sb};

    if (spec->n_paths > 0)
        memset(out, 0, spec->n_paths * sizeof(*out));
    s.i = skip_ws(data, n, 0);
    if (s.i >= n || data[s.i] != '{' || !scan_object(&s, &spec->nodes[0], 0))
        return KSCAN_DECLINE;
    return skip_ws(data, n, s.i) == n ? 0 : KSCAN_DECLINE;
}

int
kscan_member(const struct kscan_val *obj, const char *key, struct kscan_val *out,
             struct kscan_buf *sb)
{
    struct kscan_node nodes[2] = {{.slot = -1, .first = 1, .count = 1}, {.key = key, .slot = 0}};
    struct scan s = {.p = obj->s, .n = obj->n, .nodes = nodes, .out = out, .sb = sb};
    size_t kl = strlen(key);

    memset(out, 0, sizeof(*out));
    if (obj->type != KSCAN_OBJECT || obj->n < 2 || obj->s[0] != '{' || kl > USHRT_MAX)
        return KSCAN_DECLINE;
    nodes[1].klen = (unsigned short)kl;
    if (!scan_object(&s, &nodes[0], 0) || s.i != s.n)
        return KSCAN_DECLINE;
    return 0;
}

void
kscan_iter_init(struct kscan_iter *it, const struct kscan_val *arr)
{
    memset(it, 0, sizeof(*it));
    if (arr->type != KSCAN_ARRAY || arr->n < 2 || arr->s[0] != '[')
        return; /* p NULL: kscan_next() gives -1 */
    it->p = arr->s;
    it->end = arr->s + arr->n;
    it->i = skip_ws(arr->s, arr->n, 1);
    it->first = true;
}

int
kscan_next(struct kscan_iter *it, struct kscan_val *out, struct kscan_buf *sb)
{
    struct scan s = {.p = it->p, .sb = sb};

    if (it->p == NULL)
        return -1;
    s.n = (size_t)(it->end - it->p);
    s.i = it->i;
    if (s.i < s.n && s.p[s.i] == ']')
        return s.i + 1 == s.n ? 0 : -1;
    if (!it->first) {
        if (s.i >= s.n || s.p[s.i] != ',') {
            it->p = NULL;
            return -1;
        }
        s.i = skip_ws(s.p, s.n, s.i + 1);
    }
    memset(out, 0, sizeof(*out));
    if (!read_value(&s, out, 1)) {
        it->p = NULL; /* broken: every later call gives -1 too */
        return -1;
    }
    it->i = skip_ws(s.p, s.n, s.i);
    it->first = false;
    return 1;
}
