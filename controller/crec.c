#include "controller/crec.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "controller/cintern.h"
#include "controller/cpack.h"

/* A record: a header, one slot per string field, the kind's integers and
 * flags (packed: see "scalars" below), then the strings.
 *
 * A slot holds 0 for NULL, 1 + i for the well-known constant i, SHARED_BIT
 * | i for the shared string i, or BLOCK_BASE + the string's offset among the
 * record's strings (a suffix of another string is an offset into it). */
struct hdr {
    uint32_t block_len; /* bytes of strings */
    uint8_t kind;       /* enum crec_kind */
    uint8_t wide;       /* 4-byte slots */
    uint8_t keyed;      /* the strings start with "ns/name" (crec_key) */
    uint8_t scal_len;   /* bytes of packed integers and flags */
};

#define HDR_BYTES  8
#define BLOCK_BASE (CPACK_KNOWN_MAX + 1)
#define NARROW_MAX 0x7fffu
#define MAX_STR    20

_Static_assert(sizeof(struct hdr) <= HDR_BYTES, "header");

/* A scalar field: a signed or unsigned integer of 1, 4 or 8 bytes, written
 * as a LEB128 varint (signed ones zigzagged), or a bool, one bit of the byte
 * that ends the scalars. */
enum stype { S_INT, S_UINT, S_BOOL };

struct sfield {
    uint16_t off;
    uint8_t size, type;
};

#define MAX_SCALARS 20
#define MAX_BOOLS   8

struct desc {
    uint16_t size; /* sizeof the view's struct */
    uint8_t n_str, n_sc;
    uint16_t str[MAX_STR];
    struct sfield sc[MAX_SCALARS];
};

#define M(f)   offsetof(struct cmeta, f)
#define VS(f)  offsetof(struct cvs, f)
#define VSC(f) offsetof(struct cvsc, f)
#define SF(t, f, type)                                          \
    {                                                           \
        offsetof(struct t, f), sizeof(((struct t *)0)->f), type \
    }
#define FIN(i)                     \
    {                              \
        M(fin_idx) + (i), 1, S_INT \
    }
/* The metadata's integers and flags (refs, block_len and size are the
 * view's own; extra is NULL in these kinds). */
#define META_SCALARS                                                                      \
    SF(cmeta, created_ms, S_INT), SF(cmeta, deleting_ms, S_INT), SF(cmeta, fins, S_UINT), \
        SF(cmeta, n_fins, S_UINT), FIN(0), FIN(1), FIN(2), FIN(3), FIN(4),                \
        SF(cmeta, deleting, S_BOOL)
#define N_META_SCALARS 10

/* A field added to a view must be added here too: these sizes say so. */
_Static_assert(sizeof(struct cmeta) == 88, "struct cmeta changed: update crec.c");
_Static_assert(sizeof(struct cvs) == 176, "struct cvs changed: update crec.c");
_Static_assert(sizeof(struct cvsc) == 232, "struct cvsc changed: update crec.c");
_Static_assert(sizeof(((struct cmeta *)0)->fin_idx) == 5, "fin_idx: update META_SCALARS");
_Static_assert(sizeof(enum tri) == 4 && sizeof(enum cpolicy) == 4, "enums as 4-byte ints");
_Static_assert(sizeof(struct cvsc) <= CREC_PEEK_BYTES && sizeof(struct cvs) <= CREC_PEEK_BYTES,
               "CREC_PEEK_BYTES");

static const struct desc descs[CREC_N_KINDS] =
    {
        [CREC_VS] =
            {
                .size = sizeof(struct cvs),
                .n_str = 13,
                .n_sc = N_META_SCALARS + 7,
                .str = {M(ns), M(name), M(uid), M(rv), VS(vgs_owner), VS(pvc), VS(content),
                        VS(class_name), VS(bound), VS(restore_size), VS(error_msg), VS(error_time),
                        VS(vgs_name)},
                .sc = {META_SCALARS, SF(cvs, ready, S_INT), SF(cvs, has_pvc, S_BOOL),
                       SF(cvs, has_content, S_BOOL), SF(cvs, has_status, S_BOOL),
                       SF(cvs, restore_zero, S_BOOL), SF(cvs, has_error, S_BOOL),
                       SF(cvs, has_creation_time, S_BOOL)},
            },
        [CREC_VSC] =
            {
                .size = sizeof(struct cvsc),
                .n_str = 18,
                .n_sc = N_META_SCALARS + 9,
                .str = {M(ns), M(name), M(uid), M(rv), VSC(ref_name), VSC(ref_ns), VSC(ref_uid),
                        VSC(ref_kind), VSC(ref_api), VSC(class_name), VSC(driver),
                        VSC(volume_handle), VSC(snapshot_handle), VSC(source_volume_mode),
                        VSC(error_msg), VSC(error_time), VSC(status_snapshot_handle),
                        VSC(vgs_handle)},
                .sc = {META_SCALARS, SF(cvsc, creation_time_ns, S_INT),
                       SF(cvsc, restore_size, S_INT), SF(cvsc, policy, S_INT),
                       SF(cvsc, ready, S_INT), SF(cvsc, being_deleted_ann, S_BOOL),
                       SF(cvsc, has_status, S_BOOL), SF(cvsc, has_creation_time, S_BOOL),
                       SF(cvsc, has_restore_size, S_BOOL), SF(cvsc, has_error, S_BOOL)},
            },
};

/* ---- scalars ---- */

#define SCALARS_MAX (MAX_SCALARS * 10 + 1) /* every varint at its longest, the bools */

static uint64_t
zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t
unzigzag(uint64_t u)
{
    return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

/* The field's value, widened (signed fields sign-extended). */
static uint64_t
field_get(const char *v, const struct sfield *f)
{
    int64_t s8 = 0;
    int32_t s4 = 0;
    uint32_t u4 = 0;
    signed char s1 = 0;
    unsigned char u1 = 0;

    if (f->size == 8) {
        memcpy(&s8, v + f->off, 8);
        return f->type == S_INT ? zigzag(s8) : (uint64_t)s8;
    }
    if (f->size == 4 && f->type == S_INT) {
        memcpy(&s4, v + f->off, 4);
        return zigzag(s4);
    }
    if (f->size == 4) {
        memcpy(&u4, v + f->off, 4);
        return u4;
    }
    if (f->type == S_INT) {
        memcpy(&s1, v + f->off, 1);
        return zigzag(s1);
    }
    memcpy(&u1, v + f->off, 1);
    return u1;
}

static void
field_set(char *v, const struct sfield *f, uint64_t u)
{
    int64_t s = f->type == S_INT ? unzigzag(u) : (int64_t)u;
    int32_t s4 = (int32_t)s;
    signed char s1 = (signed char)s;

    if (f->size == 8)
        memcpy(v + f->off, &s, 8);
    else if (f->size == 4)
        memcpy(v + f->off, &s4, 4);
    else
        memcpy(v + f->off, &s1, 1);
}

_Static_assert(SCALARS_MAX <= 255, "scal_len is a byte");

/* Pack v's scalars into out (SCALARS_MAX bytes); returns their length. */
static size_t
scalars_pack(const char *v, const struct desc *d, unsigned char *out)
{
    unsigned bools = 0, nb = 0;
    size_t n = 0;

    for (size_t i = 0; i < d->n_sc; i++) {
        uint64_t u = field_get(v, &d->sc[i]);

        if (d->sc[i].type == S_BOOL) {
            bools |= (u != 0 ? 1u : 0u) << nb++;
            continue;
        }
        do {
            out[n++] = (unsigned char)((u & 0x7f) | (u > 0x7f ? 0x80 : 0));
            u >>= 7;
        } while (u != 0);
    }
    out[n++] = (unsigned char)bools;
    return n;
}

static void
scalars_unpack(const unsigned char *p, const struct desc *d, char *v)
{
    unsigned nb = 0, bools = 0;
    size_t n = 0, i;

    for (i = 0; i < d->n_sc; i++) { /* the bools' byte comes after every varint */
        uint64_t u = 0;

        if (d->sc[i].type == S_BOOL)
            continue;
        for (unsigned shift = 0; shift < 64; shift += 7) {
            u |= (uint64_t)(p[n] & 0x7f) << shift;
            if ((p[n++] & 0x80) == 0)
                break;
        }
        field_set(v, &d->sc[i], u);
    }
    bools = p[n];
    for (i = 0; i < d->n_sc; i++)
        if (d->sc[i].type == S_BOOL)
            v[d->sc[i].off] = (char)((bools >> nb++) & 1u);
}

static const struct desc *
desc_of(const void *rec, struct hdr *h)
{
    memcpy(h, rec, sizeof(*h));
    return h->kind < CREC_N_KINDS ? &descs[h->kind] : NULL;
}

static size_t
slot_width(const struct hdr *h)
{
    return h->wide ? 4 : 2;
}

static uint32_t
slot_get(const unsigned char *slots, size_t i, bool wide)
{
    uint32_t v32;
    uint16_t v16;

    if (wide) {
        memcpy(&v32, slots + 4 * i, 4);
        return v32;
    }
    memcpy(&v16, slots + 2 * i, 2);
    return v16;
}

static void
slot_set(unsigned char *slots, size_t i, bool wide, uint32_t v)
{
    uint16_t v16 = (uint16_t)v;

    if (wide)
        memcpy(slots + 4 * i, &v, 4);
    else
        memcpy(slots + 2 * i, &v16, 2);
}

static const char *
slot_str(uint32_t v, bool wide, const char *block, const struct cintern *t)
{
    uint32_t shared = wide ? 0x80000000u : 0x8000u;
    const char *s;

    if (v == 0)
        return NULL;
    if (v < BLOCK_BASE)
        s = cpack_known_at(v - 1);
    else if ((v & shared) != 0)
        s = cintern_at(t, v & ~shared);
    else
        return block + (v - BLOCK_BASE);
    return s != NULL ? s : ""; /* not reached: the record was made with t */
}

/* ---- making a record ---- */

/* What one string field becomes. */
struct field {
    const char *s;
    uint32_t slot; /* for all but the strings copied from outside the view */
    bool outside;  /* copied after the view's block */
};

/* Classify every string field of m; returns the bytes of the strings that
 * lie outside m's block and must be copied. */
static size_t
plan(const struct cmeta *m, const struct desc *d, struct cintern *t, size_t pre, struct field *f)
{
    uintptr_t block = (uintptr_t)m + m->size;
    size_t extra = 0;

    for (size_t i = 0; i < d->n_str; i++) {
        const char *s;
        int idx;

        memcpy(&s, (const char *)m + d->str[i], sizeof(s));
        f[i] = (struct field){.s = s};
        if (s == NULL)
            continue;
        if ((uintptr_t)s >= block && (uintptr_t)s < block + m->block_len)
            f[i].slot = BLOCK_BASE + (uint32_t)(pre + ((uintptr_t)s - block));
        else if ((idx = cpack_known_index(s)) >= 0)
            f[i].slot = 1 + (uint32_t)idx;
        else if ((idx = cintern_index(t, s)) >= 0)
            f[i].slot = (uint32_t)idx | 0x80000000u; /* narrowed below */
        else {
            f[i].outside = true;
            extra += strlen(s) + 1;
        }
    }
    return extra;
}

int
crec_make(const struct cmeta *m, enum crec_kind kind, struct cintern *t, void **out,
          struct sc_err *err)
{
    const struct desc *d = kind < CREC_N_KINDS ? &descs[kind] : NULL;
    struct field f[MAX_STR] = {0};
    unsigned char scal[SCALARS_MAX];
    struct hdr h = {0};
    unsigned char *rec, *p, *slots;
    size_t extra, block_len, at, pre, n_scal;

    *out = NULL;
    if (d == NULL || m->size != d->size || m->extra != NULL)
        return sc_err_set(err, SC_EINVALID, "crec: not a view of kind %d", (int)kind);
    /* The item's key "ns/name" is the record's first string when the name
     * is the view's first: "ns/" goes before it (crec_key). */
    pre = m->ns != NULL && m->block_len > 0 && m->name == (const char *)m + m->size
              ? strlen(m->ns) + 1
              : 0;
    extra = plan(m, d, t, pre, f);
    block_len = pre + m->block_len + extra;
    if (block_len > UINT32_MAX - BLOCK_BASE - 1 || block_len > (size_t)64 << 20)
        return sc_err_set(err, SC_ETOOBIG, "crec: %zu bytes of strings", block_len);
    h.block_len = (uint32_t)block_len;
    h.kind = (uint8_t)kind;
    h.wide = block_len + BLOCK_BASE > NARROW_MAX;
    h.keyed = m->ns == NULL || pre > 0;
    n_scal = scalars_pack((const char *)m, d, scal);
    h.scal_len = (uint8_t)n_scal;
    rec = malloc(HDR_BYTES + d->n_str * slot_width(&h) + n_scal + block_len);
    if (rec == NULL)
        return sc_err_set(err, SC_ENOMEM, "out of memory");
    memset(rec, 0, HDR_BYTES);
    memcpy(rec, &h, sizeof(h));
    slots = rec + HDR_BYTES;
    p = slots + d->n_str * slot_width(&h);
    memcpy(p, scal, n_scal);
    p += n_scal;
    if (pre > 0) {
        memcpy(p, m->ns, pre - 1);
        p[pre - 1] = '/';
    }
    memcpy(p + pre, (const char *)m + m->size, m->block_len);
    at = pre + m->block_len;
    for (size_t i = 0; i < d->n_str; i++) {
        uint32_t v = f[i].slot;

        if (f[i].outside) {
            size_t n = strlen(f[i].s) + 1;

            memcpy(p + at, f[i].s, n);
            v = BLOCK_BASE + (uint32_t)at;
            at += n;
        } else if ((v & 0x80000000u) != 0 && !h.wide) {
            v = (v & ~0x80000000u) | 0x8000u;
        }
        slot_set(slots, i, h.wide, v);
    }
    *out = rec;
    return 0;
}

/* ---- reading one back ---- */

/* Write the view of rec into v (d->size bytes), its strings in block. */
static void
fill(const unsigned char *rec, const struct desc *d, const struct hdr *h, char *v,
     const char *block, const struct cintern *t)
{
    const unsigned char *p = rec + HDR_BYTES;
    struct cmeta *m = (struct cmeta *)(void *)v;

    memset(v, 0, d->size);
    scalars_unpack(p + d->n_str * slot_width(h), d, v);
    for (size_t i = 0; i < d->n_str; i++) {
        const char *s = slot_str(slot_get(p, i, h->wide), h->wide, block, t);

        memcpy(v + d->str[i], &s, sizeof(s));
    }
    m->size = d->size;
    m->block_len = h->block_len;
}

static const char *
block_of(const unsigned char *rec, const struct desc *d, const struct hdr *h)
{
    return (const char *)rec + HDR_BYTES + d->n_str * slot_width(h) + h->scal_len;
}

struct cmeta *
crec_view(const void *rec, const struct cintern *t)
{
    struct hdr h = {0};
    const struct desc *d = desc_of(rec, &h);
    struct cmeta *m = NULL;
    char *v = NULL;

    if (d == NULL)
        return NULL;
    v = malloc((size_t)d->size + h.block_len);
    if (v == NULL)
        return NULL;
    memcpy(v + d->size, block_of(rec, d, &h), h.block_len);
    fill(rec, d, &h, v, v + d->size, t);
    m = (struct cmeta *)(void *)v;
    m->refs = 1;
    return m;
}

struct cmeta *
crec_peek(const void *rec, const struct cintern *t, void *buf)
{
    struct hdr h = {0};
    const struct desc *d = desc_of(rec, &h);
    struct cmeta *m = NULL;

    if (d == NULL)
        return NULL;
    fill(rec, d, &h, buf, block_of(rec, d, &h), t);
    m = buf;
    m->refs = 1 << 30; /* borrowed: an unref by mistake never frees it */
    return m;
}

const char *
crec_str(const void *rec, const struct cintern *t, unsigned field)
{
    struct hdr h = {0};
    const struct desc *d = desc_of(rec, &h);
    const unsigned char *slots;

    if (d == NULL || field >= d->n_str)
        return NULL;
    slots = (const unsigned char *)rec + HDR_BYTES;
    return slot_str(slot_get(slots, field, h.wide), h.wide, block_of(rec, d, &h), t);
}

const char *
crec_key(const void *rec, const struct cintern *t, const char **rv)
{
    struct hdr h = {0};
    const struct desc *d = desc_of(rec, &h);
    const char *ns = crec_str(rec, t, CREC_NS);

    *rv = crec_str(rec, t, CREC_RV);
    if (d == NULL || !h.keyed)
        return NULL;
    return ns == NULL ? crec_str(rec, t, CREC_NAME) : block_of(rec, d, &h);
}

size_t
crec_bytes(const void *rec)
{
    struct hdr h = {0};
    const struct desc *d = desc_of(rec, &h);

    return d == NULL ? 0 : HDR_BYTES + d->n_str * slot_width(&h) + h.scal_len + h.block_len;
}
