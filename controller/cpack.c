#include "controller/cpack.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/compiler.h"

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

void
cpack_add(struct cpack *p, const char **slot)
{
    if (p->n < CPACK_MAX)
        p->slot[p->n++] = slot;
    else
        p->over = true;
}

/* What becomes of one string field: NULL stays NULL, a constant is
 * pointed at, a string equal to an earlier field's shares its copy, any other
 * is copied (len + 1 bytes). */
struct plan {
    const char *known; /* the constant, or NULL */
    int same;          /* the earlier field with the same string, or -1 */
    size_t len;
};

/* The first field before i holding a string equal to field i's, or -1. */
static int
same_as_earlier(const struct cpack *p, const struct plan *pl, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (*p->slot[j] != NULL && pl[j].len == pl[i].len &&
            memcmp(*p->slot[j], *p->slot[i], pl[i].len) == 0)
            return (int)j;
    return -1;
}

int
cpack_commit(struct cpack *p, void **base, size_t size, unsigned *block_len, struct sc_err *err)
{
    size_t off[CPACK_MAX], total = 0, i;
    struct plan pl[CPACK_MAX] = {0};
    char *v, *w;

    *block_len = 0;
    if (p->over)
        return sc_err_set(err, SC_ETOOBIG, "a view has more than %d string fields", CPACK_MAX);
    for (i = 0; i < p->n; i++) {
        uintptr_t s = (uintptr_t)p->slot[i], b = (uintptr_t)*base;

        if (s < b || s + sizeof(char *) > b + size)
            return sc_err_set(err, SC_EINVALID, "cpack: field %zu lies outside the view", i);
        off[i] = (size_t)(s - b);
        pl[i] = (struct plan){.same = -1};
        if (*p->slot[i] == NULL)
            continue;
        pl[i].len = strlen(*p->slot[i]);
        if ((pl[i].known = known_value(*p->slot[i], pl[i].len)) == NULL &&
            (pl[i].same = same_as_earlier(p, pl, i)) < 0)
            total += pl[i].len + 1;
    }
    v = realloc(*base, size + total);
    if (v == NULL)
        return sc_err_set(err, SC_ENOMEM, "out of memory");
    *base = v;
    w = v + size;
    for (i = 0; i < p->n; i++) {
        const char **slot = (const char **)(void *)(v + off[i]);

        p->slot[i] = slot;
        if (*slot == NULL)
            continue;
        if (pl[i].known != NULL) {
            *slot = pl[i].known;
        } else if (pl[i].same >= 0) {
            *slot = *p->slot[pl[i].same]; /* already the copy: that field was done first */
        } else {
            memcpy(w, *slot, pl[i].len + 1);
            *slot = w;
            w += pl[i].len + 1;
        }
    }
    *block_len = (unsigned)total;
    return 0;
}
