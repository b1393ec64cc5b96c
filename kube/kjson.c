/* kube/kjson.c -- typed path reads with a sticky error (see kjson.h). */
#include "kube/kjson.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "kube/kparse.h"

#define KJSON_PATH_MAX 256

void
kjson_init(struct kjson *r, const json_t *root, struct sc_err *err)
{
    r->root = root;
    r->err = err;
    r->rc = 0;
    r->cache = false;
    r->c_len = 0;
    r->c_node = NULL;
}

void
kjson_cache_parents(struct kjson *r)
{
    r->cache = true;
    r->c_len = 0;
    r->c_node = NULL;
}

const char *
kjson_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "integer";
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    case JSON_NULL:
        return "null";
    }
    return "unknown";
}

static void
set_msg(struct sc_err *err, const char *fmt, va_list ap)
{
    char *msg = err->msg;
    /* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): analyzer false positive */
    vsnprintf(msg, SC_ERR_MSG_LEN, fmt, ap);
}

int
kjson_fail(struct kjson *r, int code, const char *fmt, ...)
{
    va_list ap;

    if (r->rc != 0)
        return r->rc;
    r->rc = code;
    if (r->err == NULL)
        return code;
    r->err->code = code;
    r->err->http_status = 0;
    r->err->retry_after = 0;
    r->err->reason[0] = '\0';
    va_start(ap, fmt);
    set_msg(r->err, fmt, ap);
    va_end(ap);
    return code;
}

/* Walk n bytes of a dotted path from cur (path is the whole path, for
 * messages); NULL when a step is absent or null. */
static const json_t *
walk(struct kjson *r, const json_t *cur, const char *path, const char *p, size_t n)
{
    const char *end = p + n;

    while (cur != NULL && p < end) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        size_t k = dot ? (size_t)(dot - p) : (size_t)(end - p);

        if (k >= KJSON_PATH_MAX) {
            kjson_fail(r, SC_EINVALID, "%s: path too long", path);
            return NULL;
        }
        if (!json_is_object(cur)) {
            kjson_fail(r, SC_EPROTO, "%.*s: expected object, got %s", (int)(p - path - 1), path,
                       kjson_type_name(cur));
            return NULL;
        }
        cur = json_object_getn(cur, p, k);
        if (cur == NULL || json_is_null(cur))
            return NULL;
        p += k + (dot != NULL);
    }
    return cur;
}

const json_t *
kjson_get(struct kjson *r, const json_t *from, const char *path)
{
    const char *last;
    const json_t *parent;
    size_t n;

    if (r->rc != 0 || from == NULL)
        return NULL;
    n = strlen(path);
    if (!r->cache || from != r->root || (last = memrchr(path, '.', n)) == NULL)
        return walk(r, from, path, path, n);
    n = (size_t)(last - path);
    if (n == r->c_len && memcmp(path, r->c_path, n) == 0) {
        parent = r->c_node;
    } else {
        parent = walk(r, from, path, path, n);
        if (r->rc != 0)
            return NULL;
        if (n < sizeof(r->c_path)) {
            memcpy(r->c_path, path, n);
            r->c_len = n;
            r->c_node = parent;
        }
    }
    return parent == NULL ? NULL : walk(r, parent, path, last + 1, strlen(last + 1));
}

/* The value at path from `from` if its type is want (any boolean for
 * JSON_TRUE; an integer or a real for JSON_INTEGER, kjson_int() only). */
static const json_t *
typed_at(struct kjson *r, const json_t *from, const char *path, json_type want,
         const char *want_name)
{
    const json_t *v = kjson_get(r, from, path);

    if (v == NULL)
        return NULL;
    if (json_typeof(v) != want && !(want == JSON_TRUE && json_is_boolean(v)) &&
        !(want == JSON_INTEGER && json_is_real(v))) {
        kjson_fail(r, SC_EPROTO, "%s: expected %s, got %s", path, want_name, kjson_type_name(v));
        return NULL;
    }
    return v;
}

static const json_t *
typed(struct kjson *r, const char *path, json_type want, const char *want_name)
{
    return typed_at(r, r->root, path, want, want_name);
}

const char *
kjson_str(struct kjson *r, const char *path)
{
    const json_t *v = typed(r, path, JSON_STRING, "string");
    return v ? json_string_value(v) : NULL;
}

bool
kjson_bool(struct kjson *r, const char *path)
{
    const json_t *v = typed(r, path, JSON_TRUE, "boolean");
    return v ? json_is_true(v) : false;
}

int64_t
kjson_int(struct kjson *r, const char *path, int64_t def)
{
    const json_t *v = typed(r, path, JSON_INTEGER, "integer");
    if (v == NULL)
        return def;
    if (json_is_real(v))
        return (int64_t)json_real_value(v);
    return (int64_t)json_integer_value(v);
}

const json_t *
kjson_obj(struct kjson *r, const char *path)
{
    return typed(r, path, JSON_OBJECT, "object");
}

const json_t *
kjson_arr(struct kjson *r, const char *path)
{
    return typed(r, path, JSON_ARRAY, "array");
}

const char *
kjson_str_req(struct kjson *r, const char *path)
{
    const char *s = kjson_str(r, path);
    if (s == NULL && r->rc == 0)
        kjson_fail(r, SC_EPROTO, "%s: missing", path);
    return s;
}

const json_t *
kjson_obj_req(struct kjson *r, const char *path)
{
    const json_t *o = kjson_obj(r, path);
    if (o == NULL && r->rc == 0)
        kjson_fail(r, SC_EPROTO, "%s: missing", path);
    return o;
}

const char *
kjson_key_str(struct kjson *r, const json_t *map, const char *what, const char *key)
{
    const json_t *v;

    if (r->rc != 0 || map == NULL)
        return NULL;
    if (!json_is_object(map)) {
        kjson_fail(r, SC_EPROTO, "%s: expected object, got %s", what, kjson_type_name(map));
        return NULL;
    }
    v = json_object_get(map, key);
    if (v == NULL || json_is_null(v))
        return NULL;
    if (!json_is_string(v)) {
        kjson_fail(r, SC_EPROTO, "%s[%s]: expected string, got %s", what, key, kjson_type_name(v));
        return NULL;
    }
    return json_string_value(v);
}

const char *
kjson_str_at(struct kjson *r, const json_t *from, const char *path)
{
    return json_string_value(typed_at(r, from, path, JSON_STRING, "string"));
}

const json_t *
kjson_obj_at(struct kjson *r, const json_t *from, const char *path)
{
    return typed_at(r, from, path, JSON_OBJECT, "object");
}

const json_t *
kjson_arr_at(struct kjson *r, const json_t *from, const char *path)
{
    return typed_at(r, from, path, JSON_ARRAY, "array");
}

enum kjson_tri
kjson_tri_at(struct kjson *r, const json_t *from, const char *path)
{
    const json_t *v = typed_at(r, from, path, JSON_TRUE, "boolean");

    if (v == NULL)
        return KJSON_UNSET;
    return json_is_true(v) ? KJSON_TRUE : KJSON_FALSE;
}

bool
kjson_integer_at(struct kjson *r, const json_t *from, const char *path, int64_t *out)
{
    const json_t *v = kjson_get(r, from, path);

    if (v == NULL)
        return false;
    if (!json_is_integer(v)) {
        kjson_fail(r, SC_EPROTO, "%s: expected integer, got %s", path, kjson_type_name(v));
        return false;
    }
    *out = (int64_t)json_integer_value(v);
    return true;
}

bool
kjson_time_ns_at(struct kjson *r, const json_t *from, const char *path, int64_t *out)
{
    const json_t *v = kjson_get(r, from, path);
    int64_t ms;

    if (v == NULL)
        return false;
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return true;
    }
    if (!json_is_string(v)) {
        kjson_fail(r, SC_EPROTO, "%s: expected string, got %s", path, kjson_type_name(v));
        return false;
    }
    ms = clock_parse_rfc3339(json_string_value(v));
    if (ms < 0) {
        kjson_fail(r, SC_EPROTO, "%s: not an RFC 3339 time", path);
        return false;
    }
    if (ms > INT64_MAX / 1000000) { /* after 2262: no int64 nanoseconds */
        kjson_fail(r, SC_EPROTO, "%s: time out of range", path);
        return false;
    }
    *out = ms * 1000000;
    return true;
}

/* Bytes of s to keep within cap - 1 without splitting a UTF-8 sequence. */
static size_t
utf8_cut(const char *s, size_t len, size_t cap)
{
    size_t n = cap - 1;

    if (len <= n)
        return len;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) /* s[n] continues a sequence */
        n--;
    return n;
}

bool
kjson_str_copy(struct kjson *r, const json_t *from, const char *path, char *dst, size_t cap,
               bool *truncated)
{
    const char *s = kjson_str_at(r, from, path);
    size_t len, n;

    if (truncated != NULL)
        *truncated = false;
    if (cap == 0)
        return false;
    dst[0] = '\0';
    if (s == NULL)
        return false;
    len = strlen(s);
    n = utf8_cut(s, len, cap);
    memcpy(dst, s, n);
    dst[n] = '\0';
    if (truncated != NULL)
        *truncated = n < len;
    return true;
}

const char *
kjson_map_str_at(struct kjson *r, const json_t *from, const char *map_path, const char *key,
                 bool *present)
{
    const json_t *map = kjson_obj_at(r, from, map_path);

    if (present != NULL)
        *present = map != NULL && json_object_get(map, key) != NULL;
    return kjson_key_str(r, map, map_path, key);
}

const char *
kjson_peek_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static const json_t *
elem(struct kjson *r, const json_t *arr, const char *what, size_t i, json_type want,
     const char *want_name)
{
    const json_t *v;

    if (r->rc != 0 || arr == NULL)
        return NULL;
    v = json_array_get(arr, i);
    if (v == NULL) {
        kjson_fail(r, SC_EPROTO, "%s[%zu]: missing", what, i);
        return NULL;
    }
    if (json_typeof(v) != want) {
        kjson_fail(r, SC_EPROTO, "%s[%zu]: expected %s, got %s", what, i, want_name,
                   kjson_type_name(v));
        return NULL;
    }
    return v;
}

const char *
kjson_elem_str(struct kjson *r, const json_t *arr, const char *what, size_t i)
{
    return json_string_value(elem(r, arr, what, i, JSON_STRING, "string"));
}

const json_t *
kjson_elem_obj(struct kjson *r, const json_t *arr, const char *what, size_t i)
{
    return elem(r, arr, what, i, JSON_OBJECT, "object");
}

bool
kjson_arr_has_str(struct kjson *r, const char *path, const char *s)
{
    const json_t *a = kjson_arr(r, path);
    const json_t *v;
    size_t i;

    if (a == NULL)
        return false;
    json_array_foreach (a, i, v) {
        if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
            return true;
    }
    return false;
}

int
kjson_error(const struct kjson *r)
{
    return r->rc;
}

int
kjson_parse(const char *data, size_t n, size_t max, json_t **out, struct sc_err *err)
{
    json_error_t je;
    json_t *v;

    if (n > max)
        return sc_err_set(err, SC_ETOOBIG, "json body of %zu bytes exceeds the %zu byte limit", n,
                          max);
    if (kparse(data, n, 0, out) == 0)
        return 0;
    v = json_loadb(data, n, JSON_REJECT_DUPLICATES, &je);
    if (v == NULL)
        return sc_err_set(err, SC_EPROTO, "malformed json at line %d column %d: %s", je.line,
                          je.column, je.text);
    *out = v;
    return 0;
}

/* ---- Writing JSON without a tree (added for the webhook's responses) ---- */

/* Length of the UTF-8 sequence starting with lead byte c, 0 when c cannot
 * start one. */
static size_t
utf8_len(unsigned char c)
{
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        return 2;
    if (c >= 0xE0 && c <= 0xEF)
        return 3;
    if (c >= 0xF0 && c <= 0xF4)
        return 4;
    return 0;
}

/* One sequence of n > 1 bytes: continuation bytes, no overlong form, no
 * surrogate, nothing past U+10FFFF. */
static bool
utf8_seq_valid(const unsigned char *p, size_t n)
{
    uint32_t cp = p[0] & (0xFF >> (n + 1));

    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return false;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000))
        return false;
    return !(cp >= 0xD800 && cp <= 0xDFFF) && cp <= 0x10FFFF;
}

bool
kjson_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < n) {
        size_t k = utf8_len(p[i]);

        if (k == 0 || k > n - i || (k > 1 && !utf8_seq_valid(p + i, k)))
            return false;
        i += k;
    }
    return true;
}

/* The escape of control or special byte c into out (NUL-terminated). */
static void
escape_byte(unsigned char c, char out[8])
{
    static const char named[] = {'b', 't', 'n', 0, 'f', 'r'}; /* 0x08 .. 0x0D */

    if (c == '"' || c == '\\') {
        out[0] = '\\';
        out[1] = (char)c;
        out[2] = '\0';
    } else if (c >= 0x08 && c <= 0x0D && named[c - 0x08] != 0) {
        out[0] = '\\';
        out[1] = named[c - 0x08];
        out[2] = '\0';
    } else {
        snprintf(out, 8, "\\u%04X", (unsigned)c);
    }
}

/* Put the buffer back to len `before` after a failed append. */
static void
rewind_to(struct buf *b, size_t before)
{
    b->len = before;
    if (b->data != NULL)
        b->data[before] = '\0';
}

/* s[0..n) quoted and escaped, validated as UTF-8 in the same pass; on
 * failure b is left as it was. */
static int
put_strn(struct buf *b, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t before = b->len, run = 0, i = 0;
    char esc[8];
    int rc = buf_add(b, "\"", 1);

    while (i < n && rc == 0) {
        unsigned char c = p[i];

        if (c >= 0x80) {
            size_t k = utf8_len(c);

            if (k < 2 || k > n - i || !utf8_seq_valid(p + i, k)) {
                rc = SC_EINVALID;
                break;
            }
            i += k;
            continue;
        }
        if (c >= 0x20 && c != '"' && c != '\\') {
            i++;
            continue;
        }
        rc = buf_add(b, s + run, i - run);
        escape_byte(c, esc);
        if (rc == 0)
            rc = buf_adds(b, esc);
        run = ++i;
    }
    if (rc == 0)
        rc = buf_add(b, s + run, n - run);
    if (rc == 0)
        rc = buf_add(b, "\"", 1);
    if (rc != 0)
        rewind_to(b, before);
    return rc;
}

int
kjson_put_str(struct buf *b, const char *s)
{
    return put_strn(b, s, strlen(s));
}

int
kjson_put_parts(struct buf *b, const struct kjson_part *parts, size_t n)
{
    int rc = 0;

    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = buf_adds(b, parts[i].lit);
        if (rc == 0 && parts[i].str != NULL)
            rc = kjson_put_str(b, parts[i].str);
    }
    return rc;
}

/* ---- Serialising a tree ------------------------------------------------- */

/* Nesting past this is handed to jansson's own dump (which has no limit). */
#define KJSON_DUMP_DEPTH 128
/* dump_value()'s "jansson's dump instead" (errors are negative). */
#define DUMP_DEFER 1
/* An object with more members than this is sorted by jansson's dump. */
#define KJSON_SORT_MAX 64

struct keyref {
    const char *key;
    size_t len;
    const json_t *val;
};

/* The order of jansson's JSON_SORT_KEYS: bytes, then length. */
static int
keyref_cmp(const void *a, const void *b)
{
    const struct keyref *x = a, *y = b;
    int c = memcmp(x->key, y->key, x->len < y->len ? x->len : y->len);

    if (c != 0)
        return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

static int dump_value(const json_t *v, struct buf *b, unsigned flags, int depth);

static int
dump_member(const char *key, size_t len, const json_t *val, bool first, struct buf *b,
            unsigned flags, int depth)
{
    int rc = first ? 0 : buf_add(b, ",", 1);

    if (rc == 0)
        rc = put_strn(b, key, len);
    if (rc == 0)
        rc = buf_add(b, ":", 1);
    return rc == 0 ? dump_value(val, b, flags, depth + 1) : rc;
}

static int
dump_object(const json_t *v, struct buf *b, unsigned flags, int depth)
{
    json_t *o = (json_t *)v; /* jansson's iterators take a non-const object */
    size_t n = json_object_size(o), i = 0;
    int rc = buf_add(b, "{", 1);

    if (rc == 0 && (flags & KJSON_SORT_KEYS) && n > 1) {
        struct keyref refs[KJSON_SORT_MAX] = {0};

        if (n > KJSON_SORT_MAX)
            return DUMP_DEFER;
        for (void *it = json_object_iter(o); it != NULL; it = json_object_iter_next(o, it)) {
            refs[i].key = json_object_iter_key(it);
            refs[i].len = json_object_iter_key_len(it);
            refs[i++].val = json_object_iter_value(it);
        }
        qsort(refs, i, sizeof(refs[0]), keyref_cmp);
        for (size_t k = 0; k < i && rc == 0; k++)
            rc = dump_member(refs[k].key, refs[k].len, refs[k].val, k == 0, b, flags, depth);
    } else {
        for (void *it = json_object_iter(o); it != NULL && rc == 0;
             it = json_object_iter_next(o, it), i++)
            rc = dump_member(json_object_iter_key(it), json_object_iter_key_len(it),
                             json_object_iter_value(it), i == 0, b, flags, depth);
    }
    return rc == 0 ? buf_add(b, "}", 1) : rc;
}

static int
dump_int(json_int_t x, struct buf *b)
{
    char tmp[24], *p = tmp + sizeof(tmp);
    unsigned long long u = x < 0 ? 0ull - (unsigned long long)x : (unsigned long long)x;

    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (x < 0)
        *--p = '-';
    return buf_add(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

static int
dump_value(const json_t *v, struct buf *b, unsigned flags, int depth)
{
    char tmp[64];
    int rc = 0, n;

    if (depth > KJSON_DUMP_DEPTH)
        return DUMP_DEFER;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return dump_object(v, b, flags, depth);
    case JSON_ARRAY:
        rc = buf_add(b, "[", 1);
        for (size_t i = 0; i < json_array_size(v) && rc == 0; i++) {
            if (i > 0)
                rc = buf_add(b, ",", 1);
            if (rc == 0)
                rc = dump_value(json_array_get(v, i), b, flags, depth + 1);
        }
        return rc == 0 ? buf_add(b, "]", 1) : rc;
    case JSON_STRING:
        return put_strn(b, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        return dump_int(json_integer_value(v), b);
    case JSON_REAL: /* rare here: jansson's own text (%.17g and its fix-ups) */
        n = (int)json_dumpb(v, tmp, sizeof(tmp), JSON_COMPACT | JSON_ENCODE_ANY);
        return n > 0 && (size_t)n < sizeof(tmp) ? buf_add(b, tmp, (size_t)n) : DUMP_DEFER;
    case JSON_TRUE:
        return buf_add(b, "true", 4);
    case JSON_FALSE:
        return buf_add(b, "false", 5);
    case JSON_NULL:
        return buf_add(b, "null", 4);
    }
    return SC_EINVALID;
}

static int
dump_cb(const char *p, size_t n, void *data)
{
    return buf_add((struct buf *)data, p, n) == 0 ? 0 : -1;
}

int
kjson_dump_ex(const json_t *v, struct buf *b, unsigned flags, struct sc_err *err)
{
    size_t before = b->len;
    int rc = SC_EINVALID;

    if (v != NULL && (json_is_object(v) || json_is_array(v) || (flags & KJSON_ENCODE_ANY)))
        rc = dump_value(v, b, flags, 0);
    if (rc == 0)
        return 0;
    rewind_to(b, before);
    if (rc == DUMP_DEFER) { /* past our limits: jansson's dump, same text */
        size_t jf = JSON_COMPACT | ((flags & KJSON_SORT_KEYS) ? JSON_SORT_KEYS : 0) |
                    ((flags & KJSON_ENCODE_ANY) ? JSON_ENCODE_ANY : 0);

        if (json_dump_callback(v, dump_cb, b, jf) == 0)
            return 0;
        rewind_to(b, before);
        rc = SC_ETOOBIG;
    }
    if (rc == SC_ETOOBIG)
        return sc_err_set(err, SC_ETOOBIG, "serialised json exceeds the %zu byte limit", b->max);
    if (rc == SC_ENOMEM)
        return sc_err_set(err, SC_ENOMEM, "out of memory serialising json");
    return sc_err_set(err, SC_EINVALID,
                      v == NULL || !(json_is_object(v) || json_is_array(v))
                          ? "only an object or an array is serialised"
                          : "a string in the json is not valid UTF-8");
}

int
kjson_dumpb(const json_t *v, struct buf *b, struct sc_err *err)
{
    return kjson_dump_ex(v, b, 0, err);
}

/* One pointer segment [p, end) unescaped into seg (cap bytes): false when it
 * is too long or holds a '~' not followed by '0' or '1'. */
static bool
pointer_segment(const char *p, const char *end, char *seg, size_t cap)
{
    size_t n = 0;

    for (; p < end; p++) {
        char c = *p;
        if (c == '~') {
            if (p + 1 >= end || (p[1] != '0' && p[1] != '1'))
                return false;
            c = p[1] == '0' ? '~' : '/';
            p++;
        }
        if (n + 1 >= cap)
            return false;
        seg[n++] = c;
    }
    seg[n] = '\0';
    return true;
}

/* An array index segment: a plain decimal, no sign, no leading zero
 * (except "0"), no overflow. */
static bool
pointer_index(const char *seg, size_t *out)
{
    size_t i = 0, k;

    if (seg[0] == '\0' || (seg[0] == '0' && seg[1] != '\0'))
        return false;
    for (k = 0; seg[k] != '\0'; k++) {
        if (seg[k] < '0' || seg[k] > '9' || i > (SIZE_MAX - 9) / 10)
            return false;
        i = i * 10 + (size_t)(seg[k] - '0');
    }
    *out = i;
    return true;
}

const json_t *
kjson_pointer(const json_t *root, const char *ptr)
{
    const json_t *cur = root;
    char seg[KJSON_PATH_MAX];

    if (root == NULL || ptr == NULL || (*ptr != '\0' && *ptr != '/'))
        return NULL;
    while (*ptr == '/' && cur != NULL) {
        const char *start = ptr + 1, *end = strchr(start, '/');
        if (end == NULL)
            end = start + strlen(start);
        if (!pointer_segment(start, end, seg, sizeof(seg)))
            return NULL;
        if (json_is_object(cur)) {
            cur = json_object_get(cur, seg);
        } else if (json_is_array(cur)) {
            size_t i;
            if (!pointer_index(seg, &i))
                return NULL;
            cur = json_array_get(cur, i);
        } else {
            return NULL;
        }
        ptr = end;
    }
    return cur;
}
