/* kube/kskim.c -- parse an API object without its managedFields (see kskim.h). */
#include "kube/kskim.h"

#include <stdbool.h>
#include <string.h>

#include "kube/kjson.h"
#include "kube/kparse.h"

struct scan {
    const char *p;
    size_t n, i;
    int depth;
    size_t ncut;
    struct kskim_cut *cuts;
};

static bool scan_value(struct scan *s, bool is_meta);

static void
skip_ws(struct scan *s)
{
    while (s->i < s->n) {
        char c = s->p[s->i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            return;
        s->i++;
    }
}

/* At '"': past the closing quote.  *escaped tells whether it held a '\'.
 * memchr finds the quote; only a string with a backslash before it is
 * walked byte by byte. */
static bool
scan_string(struct scan *s, bool *escaped)
{
    const char *q = memchr(s->p + s->i + 1, '"', s->n - s->i - 1);

    *escaped = false;
    if (q != NULL && memchr(s->p + s->i + 1, '\\', (size_t)(q - s->p) - s->i - 1) == NULL) {
        s->i = (size_t)(q - s->p) + 1;
        return true;
    }
    for (s->i++; s->i < s->n; s->i++) {
        char c = s->p[s->i];
        if (c == '"') {
            s->i++;
            return true;
        }
        if (c == '\\') {
            *escaped = true;
            s->i++;
        }
    }
    return false;
}

static bool
is_delim(char c)
{
    switch (c) {
    case ',':
    case ':':
    case ']':
    case '}':
    case '[':
    case '{':
    case '"':
    case ' ':
    case '\t':
    case '\r':
    case '\n':
        return true;
    default:
        return false;
    }
}

/* A number or a literal: the bytes up to the next delimiter (jansson checks
 * them where they are kept). */
static bool
scan_scalar(struct scan *s)
{
    size_t start = s->i;

    while (s->i < s->n && !is_delim(s->p[s->i]))
        s->i++;
    return s->i > start;
}

/* Record [start, end).  Cuts are recorded as their members end, so a cut
 * inside this one (a "metadata" nested in a skipped value) came earlier and
 * is dropped: the spans stay disjoint and in order. */
static bool
add_cut(struct scan *s, size_t start, size_t end)
{
    while (s->ncut > 0 && s->cuts[s->ncut - 1].start >= start)
        s->ncut--;
    if (s->ncut == KSKIM_CUTS)
        return false;
    s->cuts[s->ncut].start = start;
    s->cuts[s->ncut].end = end;
    s->ncut++;
    return true;
}

int
kskim_hex4(const char *p)
{
    int v = 0;

    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* Does the key written as p[0..len) (without its quotes) decode to name?
 * The names are ASCII letters, so only a \u escape can spell one of their
 * characters; any other escape, or a malformed one, does not match (jansson
 * refuses a malformed one where it counts). */
static bool
escaped_key_is(const char *p, size_t len, const char *name)
{
    size_t i = 0;

    for (; *name != '\0'; name++) {
        int c;
        if (i >= len)
            return false;
        if (p[i] != '\\') {
            c = (unsigned char)p[i++];
        } else if (i + 6 <= len && p[i + 1] == 'u' && (c = kskim_hex4(p + i + 2)) >= 0) {
            i += 6;
        } else {
            return false;
        }
        if (c != (unsigned char)*name)
            return false;
    }
    return i == len;
}

/* Is the key just scanned (from the quote at start to s->i) the name? */
static bool
key_is(const struct scan *s, size_t start, bool escaped, const char *name)
{
    size_t len = s->i - start - 2;

    if (!escaped)
        return len == strlen(name) && memcmp(s->p + start + 1, name, len) == 0;
    return escaped_key_is(s->p + start + 1, len, name);
}

/* One member's span, once its value ended at vend and s->i is at the ',' or
 * '}' after it: with the comma before it when there is one (prev_end is where
 * the previous value ended), else with the comma after it. */
static bool
cut_member(struct scan *s, size_t prev_end, size_t kstart, size_t vend)
{
    if (prev_end != 0)
        return add_cut(s, prev_end, vend);
    if (s->p[s->i] == ',')
        return add_cut(s, kstart, s->i + 1);
    return add_cut(s, kstart, vend);
}

/* One member of an object, s->i at its key: past the value, to the ',' or
 * '}' after it; *vend is where the value ended.  In a metadata object
 * (is_meta) the managedFields member is cut; *seen tells a second one. */
static bool
scan_member(struct scan *s, bool is_meta, bool *seen, size_t prev_end, size_t *vend)
{
    size_t kstart = s->i;
    bool escaped;

    if (s->i >= s->n || s->p[s->i] != '"' || !scan_string(s, &escaped))
        return false;
    bool managed = is_meta && key_is(s, kstart, escaped, "managedFields");
    bool meta = key_is(s, kstart, escaped, "metadata");
    if (managed && *seen)
        return false; /* a duplicate: jansson refuses the document, keep it whole */
    *seen = *seen || managed;
    skip_ws(s);
    if (s->i >= s->n || s->p[s->i] != ':')
        return false;
    s->i++;
    skip_ws(s);
    if (!scan_value(s, meta))
        return false;
    *vend = s->i;
    skip_ws(s);
    if (s->i >= s->n)
        return false;
    return !managed || cut_member(s, prev_end, kstart, *vend);
}

/* At '{'. */
static bool
scan_object(struct scan *s, bool is_meta)
{
    size_t prev_end = 0; /* 0: no member yet (a member never ends at offset 0) */
    size_t vend = 0;
    bool seen = false;

    s->i++;
    skip_ws(s);
    if (s->i < s->n && s->p[s->i] == '}') {
        s->i++;
        return true;
    }
    for (;;) {
        skip_ws(s);
        if (!scan_member(s, is_meta, &seen, prev_end, &vend))
            return false;
        if (s->p[s->i] == '}') {
            s->i++;
            return true;
        }
        if (s->p[s->i] != ',')
            return false;
        s->i++;
        prev_end = vend;
    }
}

static bool
scan_array(struct scan *s)
{
    s->i++;
    skip_ws(s);
    if (s->i < s->n && s->p[s->i] == ']') {
        s->i++;
        return true;
    }
    for (;;) {
        skip_ws(s);
        if (!scan_value(s, false))
            return false;
        skip_ws(s);
        if (s->i >= s->n)
            return false;
        if (s->p[s->i] == ']') {
            s->i++;
            return true;
        }
        if (s->p[s->i] != ',')
            return false;
        s->i++;
    }
}

static bool
scan_value(struct scan *s, bool is_meta)
{
    bool escaped, ok;

    if (s->i >= s->n)
        return false;
    switch (s->p[s->i]) {
    case '{':
    case '[':
        if (s->depth == KSKIM_DEPTH)
            return false;
        s->depth++;
        ok = s->p[s->i] == '{' ? scan_object(s, is_meta) : scan_array(s);
        s->depth--;
        return ok;
    case '"':
        return scan_string(s, &escaped);
    default:
        return scan_scalar(s);
    }
}

/* Most documents have no member to skip: say so without the scan.  A key
 * can spell the name only plainly or with \u escapes; memchr (vectorised)
 * finds the rare 'F' and '\\' faster than memmem finds the name. */
static bool
may_name_managed(const char *d, size_t n)
{
    const char *end = d + n, *p;

    for (p = d; (p = memchr(p, 'F', (size_t)(end - p))) != NULL; p++)
        if (p - d >= 7 && end - p >= 6 && memcmp(p - 7, "managed", 7) == 0 &&
            memcmp(p + 1, "ields", 5) == 0)
            return true;
    for (p = d; (p = memchr(p, '\\', (size_t)(end - p))) != NULL && end - p >= 2; p += 2)
        if (p[1] == 'u')
            return true;
    return false;
}

size_t
kskim_find(const char *data, size_t n, struct kskim_cut cuts[KSKIM_CUTS])
{
    struct scan s = {.p = data, .n = n, .cuts = cuts};

    if (!may_name_managed(data, n))
        return 0;
    skip_ws(&s);
    if (s.i >= n || data[s.i] != '{' || !scan_value(&s, false))
        return 0;
    skip_ws(&s);
    return s.i == n ? s.ncut : 0;
}

/* json_load_callback's source: the document's bytes between the cuts. */
struct feed {
    const char *p;
    size_t n, pos;
    const struct kskim_cut *cuts;
    size_t ncut, next;
};

static size_t
feed_cb(void *buffer, size_t buflen, void *data)
{
    struct feed *f = data;
    size_t out = 0;

    while (out < buflen && f->pos < f->n) {
        if (f->next < f->ncut && f->pos == f->cuts[f->next].start) {
            f->pos = f->cuts[f->next].end;
            f->next++;
            continue;
        }
        size_t stop = f->next < f->ncut ? f->cuts[f->next].start : f->n;
        size_t take = stop - f->pos;
        if (take > buflen - out)
            take = buflen - out;
        memcpy((char *)buffer + out, f->p + f->pos, take);
        out += take;
        f->pos += take;
    }
    return out;
}

static size_t
ws_at(const char *p, size_t n, size_t i)
{
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
        i++;
    return i;
}

/* At '"': past the closing quote, or 0 when there is none.  A quote ends
 * the string when an even run of backslashes precedes it: what
 * scan_string()'s walk, where a backslash takes the next byte, comes to. */
static size_t
string_end(const char *p, size_t n, size_t i)
{
    size_t j = i + 1;

    for (;;) {
        const char *q = memchr(p + j, '"', n - j);
        size_t k, b = 0;
        if (q == NULL)
            return 0;
        k = (size_t)(q - p);
        while (k - b > i + 1 && p[k - b - 1] == '\\')
            b++;
        if (b % 2 == 0)
            return k + 1;
        j = k + 1;
    }
}

/* Could the key p[0..len) (no quotes) decode to "metadata"?  Only plainly,
 * or through a backslash escape. */
static bool
may_be_metadata(const char *p, size_t len)
{
    if (len == 0 || (p[0] != 'm' && p[0] != '\\'))
        return false;
    return (len == 8 && memcmp(p, "metadata", 8) == 0) || memchr(p, '\\', len) != NULL;
}

/* skip_fast()'s state: the position and the containers entered ('{' or
 * '['), and what comes next. */
struct fskip {
    const char *p;
    size_t n, i;
    int depth, sp;
    char open[KSKIM_DEPTH];
};

enum fs_next { FS_ERR, FS_DONE, FS_VALUE, FS_MEMBER, FS_AFTER };

static char
fs_close(char open)
{
    return open == '{' ? '}' : ']';
}

/* At a value: past a string or scalar (FS_AFTER), into a container
 * (FS_MEMBER or FS_VALUE for its first one; FS_AFTER past an empty one). */
static enum fs_next
fs_value(struct fskip *s)
{
    size_t start = s->i;
    char c;

    if (s->i >= s->n)
        return FS_ERR;
    c = s->p[s->i];
    if (c == '{' || c == '[') {
        if (s->depth + s->sp >= KSKIM_DEPTH)
            return FS_ERR;
        s->open[s->sp++] = c;
        s->i = ws_at(s->p, s->n, s->i + 1);
        if (s->i < s->n && s->p[s->i] == fs_close(c)) {
            s->i++;
            s->sp--;
            return FS_AFTER;
        }
        return c == '{' ? FS_MEMBER : FS_VALUE;
    }
    if (c == '"')
        return (s->i = string_end(s->p, s->n, s->i)) == 0 ? FS_ERR : FS_AFTER;
    while (s->i < s->n && !is_delim(s->p[s->i]))
        s->i++;
    return s->i > start ? FS_AFTER : FS_ERR;
}

/* After a value: the containers it closes, then the ',' before the next
 * element or member, or FS_DONE at the outermost end. */
static enum fs_next
fs_after(struct fskip *s)
{
    for (;;) {
        if (s->sp == 0)
            return FS_DONE;
        s->i = ws_at(s->p, s->n, s->i);
        if (s->i >= s->n)
            return FS_ERR;
        if (s->p[s->i] != fs_close(s->open[s->sp - 1]))
            break;
        s->i++;
        s->sp--;
    }
    if (s->p[s->i] != ',')
        return FS_ERR;
    s->i = ws_at(s->p, s->n, s->i + 1);
    return s->open[s->sp - 1] == '[' ? FS_VALUE : FS_MEMBER;
}

/* At a member's key: past its ':' (1), bad (0), or a key that may be
 * "metadata" (-1). */
static int
fs_key(struct fskip *s)
{
    size_t k;

    if (s->i >= s->n || s->p[s->i] != '"' || (k = string_end(s->p, s->n, s->i)) == 0)
        return 0;
    if (may_be_metadata(s->p + s->i + 1, k - s->i - 2))
        return -1;
    s->i = ws_at(s->p, s->n, k);
    if (s->i >= s->n || s->p[s->i] != ':')
        return 0;
    s->i = ws_at(s->p, s->n, s->i + 1);
    return 1;
}

/* scan_value(s, false) for a value with no "metadata" member anywhere in
 * it, without recursion or the per-key comparisons: 1 past the value (*pi
 * moved), 0 where scan_value() gives up (the same checks: strings,
 * brackets, colons, commas, non-empty scalars, depth), -1 at a key that may
 * be "metadata" (a cut could start inside: the caller scans it the slow
 * way).  This is the cost of every managedFields kparse() skips. */
static int
skip_fast(const char *p, size_t n, size_t *pi, int depth)
{
    struct fskip s = {.p = p, .n = n, .i = *pi, .depth = depth};
    enum fs_next next = FS_VALUE;

    for (;;) {
        if (next == FS_MEMBER) {
            int k = fs_key(&s);
            if (k <= 0)
                return k;
        }
        next = fs_value(&s);
        if (next == FS_AFTER)
            next = fs_after(&s);
        if (next == FS_ERR)
            return 0;
        if (next == FS_DONE) {
            *pi = s.i;
            return 1;
        }
    }
}

bool
kskim_skip(const char *data, size_t n, size_t *i, int depth, size_t ncut)
{
    int fast;

    if (ncut > KSKIM_CUTS || depth < 0 || depth > KSKIM_DEPTH)
        return false;
    if ((fast = skip_fast(data, n, i, depth)) >= 0)
        return fast == 1;
    return kskim_skip_slow(data, n, i, depth, ncut);
}

bool
kskim_skip_slow(const char *data, size_t n, size_t *i, int depth, size_t ncut)
{
    struct kskim_cut cuts[KSKIM_CUTS] = {0};
    struct scan s = {.p = data, .n = n, .i = *i, .depth = depth, .ncut = ncut, .cuts = cuts};

    if (ncut > KSKIM_CUTS || !scan_value(&s, false))
        return false;
    *i = s.i;
    return true;
}

int
kskim_parse(const char *data, size_t n, size_t max, json_t **out, struct sc_err *err)
{
    if (n <= max && kparse(data, n, KPARSE_SKIM, out) == 0)
        return 0;
    return kskim_parse_jansson(data, n, max, out, err);
}

int
kskim_parse_jansson(const char *data, size_t n, size_t max, json_t **out, struct sc_err *err)
{
    struct kskim_cut cuts[KSKIM_CUTS] = {0};
    size_t ncut;

    if (n > max)
        return kjson_parse(data, n, max, out, err); /* its SC_ETOOBIG message */
    ncut = kskim_find(data, n, cuts);
    if (ncut > 0) {
        struct feed f = {.p = data, .n = n, .cuts = cuts, .ncut = ncut};
        json_t *v = json_load_callback(feed_cb, &f, JSON_REJECT_DUPLICATES, NULL);
        if (v != NULL) {
            *out = v;
            return 0;
        }
    }
    return kjson_parse(data, n, max, out, err);
}
