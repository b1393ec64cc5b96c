#include "controller/cpack.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/compiler.h"
#include "controller/cintern.h"

/* Values many views share: pointed at, never copied. */
static const char *const known[] = {
    "",
    "Delete",
    "Retain",
    "Filesystem",
    "Block",
    "VolumeSnapshot",
    "snapshot.storage.k8s.io/v1",
    "Bound",
    "Pending",
    "Lost",
};

_Static_assert(SC_ARRAY_LEN(known) <= CPACK_KNOWN_MAX, "crec.c encodes an index below it");

/* The constant equal to s (len bytes), or NULL: lengths and first bytes
 * are compared before the rest, so most strings cost a few compares. */
static const char *
known_value(const char *s, size_t len)
{
    for (size_t i = 0; i < SC_ARRAY_LEN(known); i++)
        if (known[i][0] == s[0] && strlen(known[i]) == len && memcmp(s, known[i], len) == 0)
            return known[i];
    return NULL;
}

int
cpack_known_index(const char *s)
{
    for (size_t i = 0; i < SC_ARRAY_LEN(known); i++)
        if (s == known[i])
            return (int)i;
    return -1;
}

const char *
cpack_known_at(unsigned idx)
{
    return idx < SC_ARRAY_LEN(known) ? known[idx] : NULL;
}

void
cpack_add(struct cpack *p, const char **slot)
{
    if (p->n < CPACK_MAX)
        p->slot[p->n++] = slot;
    else
        p->over = true;
}

_Static_assert(CPACK_MAX <= 32, "shared_bits has a bit per field");

void
cpack_add_shared(struct cpack *p, const char **slot)
{
    if (p->n < CPACK_MAX)
        p->shared_bits |= 1u << p->n;
    cpack_add(p, slot);
}

/* What becomes of one string field: NULL stays NULL, a constant is
 * pointed at, a string that ends another field's string (or equals it) points
 * into that field's copy, any other is copied (len + 1 bytes). */
struct plan {
    const char *src;   /* the borrowed string */
    const char *known; /* the constant or the shared table's copy, or NULL */
    int in;            /* the field whose copy holds this string at its end, or -1 */
    size_t len;
};

/* The field whose string has field i's as its end (a content's
 * "snapcontent-<uid>" name and its referent's uid, a snapshot's bound content
 * name and its own uid) and is the longest such, the first of equals: field
 * i itself when no other is longer or comes first.  The field chosen holds
 * its own copy: any string ending with its string ends with field i's too, so
 * none is longer, and an equal one would have been chosen first. */
static int
host_of(const struct plan *pl, size_t n, size_t i)
{
    size_t best = i;

    for (size_t j = 0; j < n; j++) {
        if (pl[j].src == NULL || pl[j].known != NULL || pl[j].len < pl[i].len)
            continue;
        if (pl[j].len < pl[best].len || (pl[j].len == pl[best].len && j >= best))
            continue;
        if (memcmp(pl[j].src + pl[j].len - pl[i].len, pl[i].src, pl[i].len) == 0)
            best = j;
    }
    return (int)best;
}

/* Fill pl[] and off[] from p's fields; the bytes to copy, or (size_t)-1
 * with err set when a field lies outside the view. */
static size_t
plan_fields(const struct cpack *p, const void *base, size_t size, struct plan *pl, size_t *off,
            struct sc_err *err)
{
    size_t total = 0, i;

    for (i = 0; i < p->n; i++) {
        uintptr_t s = (uintptr_t)p->slot[i], b = (uintptr_t)base;

        if (s < b || s + sizeof(char *) > b + size) {
            sc_err_set(err, SC_EINVALID, "cpack: field %zu lies outside the view", i);
            return (size_t)-1;
        }
        off[i] = (size_t)(s - b);
        pl[i] = (struct plan){.src = *p->slot[i], .in = -1};
        if (pl[i].src != NULL) {
            pl[i].len = strlen(pl[i].src);
            pl[i].known = known_value(pl[i].src, pl[i].len);
            if (pl[i].known == NULL && (p->shared_bits & (1u << i)) != 0)
                pl[i].known = cintern_get(p->shared, pl[i].src, pl[i].len);
        }
    }
    for (i = 0; i < p->n; i++) {
        if (pl[i].src == NULL || pl[i].known != NULL)
            continue;
        pl[i].in = host_of(pl, p->n, i);
        if (pl[i].in == (int)i)
            total += pl[i].len + 1;
    }
    return total;
}

/* Point p's slots into the view v (moved or not) and the fields at their
 * strings: the hosts' copies, written at w, first, then the strings inside
 * them. */
static void
copy_fields(struct cpack *p, char *v, const struct plan *pl, const size_t *off)
{
    char *w;
    size_t i;

    for (i = 0; i < p->n; i++)
        p->slot[i] = (const char **)(void *)(v + off[i]);
    w = v + off[p->n]; /* the view's size, after the struct */
    for (i = 0; i < p->n; i++) {
        if (pl[i].known != NULL) {
            *p->slot[i] = pl[i].known;
        } else if (pl[i].in == (int)i) {
            memcpy(w, pl[i].src, pl[i].len + 1);
            *p->slot[i] = w;
            w += pl[i].len + 1;
        }
    }
    for (i = 0; i < p->n; i++)
        if (pl[i].in >= 0 && pl[i].in != (int)i)
            *p->slot[i] = *p->slot[pl[i].in] + (pl[pl[i].in].len - pl[i].len);
}

int
cpack_commit(struct cpack *p, void **base, size_t size, unsigned *block_len, struct sc_err *err)
{
    size_t off[CPACK_MAX + 1], total;
    struct plan pl[CPACK_MAX] = {0};
    char *v;

    *block_len = 0;
    if (p->over)
        return sc_err_set(err, SC_ETOOBIG, "a view has more than %d string fields", CPACK_MAX);
    total = plan_fields(p, *base, size, pl, off, err);
    if (total == (size_t)-1)
        return SC_EINVALID;
    v = realloc(*base, size + total);
    if (v == NULL)
        return sc_err_set(err, SC_ENOMEM, "out of memory");
    *base = v;
    off[p->n] = size;
    copy_fields(p, v, pl, off);
    *block_len = (unsigned)total;
    return 0;
}
