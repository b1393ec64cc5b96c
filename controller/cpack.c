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

static const char *
known_value(const char *s)
{
    for (size_t i = 0; i < SC_ARRAY_LEN(known); i++)
        if (strcmp(s, known[i]) == 0)
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

/* The first slot before i holding a string equal to slot i's, or -1. */
static int
same_as_earlier(const struct cpack *p, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (*p->slot[j] != NULL && strcmp(*p->slot[j], *p->slot[i]) == 0)
            return (int)j;
    return -1;
}

int
cpack_commit(struct cpack *p, void **base, size_t size, unsigned *block_len, struct sc_err *err)
{
    size_t off[CPACK_MAX], total = 0, i;
    char *v, *w;

    *block_len = 0;
    if (p->over)
        return sc_err_set(err, SC_ETOOBIG, "a view has more than %d string fields", CPACK_MAX);
    for (i = 0; i < p->n; i++) {
        uintptr_t s = (uintptr_t)p->slot[i], b = (uintptr_t)*base;

        if (s < b || s + sizeof(char *) > b + size)
            return sc_err_set(err, SC_EINVALID, "cpack: field %zu lies outside the view", i);
        off[i] = (size_t)(s - b);
        if (*p->slot[i] != NULL && known_value(*p->slot[i]) == NULL && same_as_earlier(p, i) < 0)
            total += strlen(*p->slot[i]) + 1;
    }
    v = realloc(*base, size + total);
    if (v == NULL)
        return sc_err_set(err, SC_ENOMEM, "out of memory");
    *base = v;
    w = v + size;
    for (i = 0; i < p->n; i++) {
        const char **slot = (const char **)(void *)(v + off[i]);
        const char *k;
        int j;
        size_t len;

        p->slot[i] = slot;
        if (*slot == NULL)
            continue;
        if ((k = known_value(*slot)) != NULL) {
            *slot = k;
        } else if ((j = same_as_earlier(p, i)) >= 0) {
            *slot = *p->slot[j]; /* already the copy: slot j was done first */
        } else {
            len = strlen(*slot) + 1;
            memcpy(w, *slot, len);
            *slot = w;
            w += len;
        }
    }
    *block_len = (unsigned)total;
    return 0;
}
