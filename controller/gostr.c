#include "controller/gostr.h"

#include <string.h>

/* Decode one UTF-8 sequence at s; returns its length and the rune, or 0 if
 * the bytes are not valid UTF-8 (Go then quotes the first byte as \x..). */
static int
utf8_decode(const unsigned char *s, uint32_t *rune)
{
    uint32_t r;
    int n, i;

    if (s[0] < 0x80) {
        *rune = s[0];
        return 1;
    }
    if ((s[0] & 0xE0) == 0xC0) {
        n = 2;
        r = s[0] & 0x1F;
    } else if ((s[0] & 0xF0) == 0xE0) {
        n = 3;
        r = s[0] & 0x0F;
    } else if ((s[0] & 0xF8) == 0xF0) {
        n = 4;
        r = s[0] & 0x07;
    } else {
        return 0;
    }
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        r = (r << 6) | (s[i] & 0x3F);
    }
    if ((n == 2 && r < 0x80) || (n == 3 && r < 0x800) || (n == 4 && r < 0x10000) || r > 0x10FFFF ||
        (r >= 0xD800 && r <= 0xDFFF))
        return 0;
    *rune = r;
    return n;
}

/* A conservative stand-in for Go's unicode.IsPrint on non-ASCII runes: the
 * C1 controls, the line/paragraph separators, the BOM and the private-use
 * and noncharacter ranges are non-printable; the rest prints. */
static int
rune_printable(uint32_t r)
{
    if (r < 0x20 || r == 0x7F)
        return 0;
    if (r >= 0x80 && r < 0xA0)
        return 0;
    if (r == 0xAD || r == 0x2028 || r == 0x2029 || r == 0xFEFF)
        return 0;
    if ((r >= 0x200B && r <= 0x200F) || (r >= 0x202A && r <= 0x202E) ||
        (r >= 0x2060 && r <= 0x206F))
        return 0;
    if ((r >= 0xE000 && r <= 0xF8FF) || r >= 0xF0000 || (r & 0xFFFE) == 0xFFFE)
        return 0;
    return 1;
}

/* One decoded rune r (n bytes at p) as Go's strconv.Quote writes it. */
static int
quote_rune(struct buf *b, const unsigned char *p, int n, uint32_t r)
{
    switch (r) {
    case '"':
        return buf_adds(b, "\\\"");
    case '\\':
        return buf_adds(b, "\\\\");
    case '\a':
        return buf_adds(b, "\\a");
    case '\b':
        return buf_adds(b, "\\b");
    case '\f':
        return buf_adds(b, "\\f");
    case '\n':
        return buf_adds(b, "\\n");
    case '\r':
        return buf_adds(b, "\\r");
    case '\t':
        return buf_adds(b, "\\t");
    case '\v':
        return buf_adds(b, "\\v");
    default:
        if (rune_printable(r))
            return buf_add(b, p, (size_t)n);
        else if (r < 0x20 || r == 0x7F)
            return buf_addf(b, "\\x%02x", (unsigned)r);
        else if (r < 0x10000)
            return buf_addf(b, "\\u%04x", (unsigned)r);
        else
            return buf_addf(b, "\\U%08x", (unsigned)r);
    }
    return 0;
}

int
gostr_quote(struct buf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");
    size_t mark = b->len;
    int rc = buf_adds(b, "\"");

    while (rc == 0 && *p != '\0') {
        uint32_t r;
        int n = utf8_decode(p, &r);

        if (n == 0) {
            rc = buf_addf(b, "\\x%02x", *p);
            p++;
            continue;
        }
        rc = quote_rune(b, p, n, r);
        p += n;
    }
    if (rc == 0)
        rc = buf_adds(b, "\"");
    if (rc != 0) {
        b->len = mark; /* leave the buffer as it was */
        if (b->data != NULL)
            b->data[mark] = '\0';
    }
    return rc;
}

int
gostr_quantity_binsi(struct buf *b, int64_t bytes)
{
    static const char *suffix[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
    int64_t v = bytes;
    size_t i = 0;

    /* Quantity picks the largest power of 1024 that divides the value
     * exactly; values below 1024 (and non-multiples) stay plain. */
    if (v != 0) {
        while (i + 1 < SC_ARRAY_LEN(suffix) && v % 1024 == 0 && (v >= 1024 || v <= -1024)) {
            v /= 1024;
            i++;
        }
    }
    return buf_addf(b, "%lld%s", (long long)v, suffix[i]);
}
