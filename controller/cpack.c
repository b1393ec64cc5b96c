#include "controller/cpack.h"

#include <stdlib.h>
#include <string.h>

void
cpack_add(struct cpack *p, const char **slot)
{
    if (p->n < CPACK_MAX)
        p->slot[p->n++] = slot;
    else
        p->over = true;
}

int
cpack_commit(struct cpack *p, char **block, unsigned *block_len, struct sc_err *err)
{
    size_t total = 0, i;
    char *w;

    *block = NULL;
    *block_len = 0;
    if (p->over)
        return sc_err_set(err, SC_ETOOBIG, "a view has more than %d string fields", CPACK_MAX);
    for (i = 0; i < p->n; i++)
        if (*p->slot[i] != NULL)
            total += strlen(*p->slot[i]) + 1;
    w = malloc(total > 0 ? total : 1);
    if (w == NULL)
        return sc_err_set(err, SC_ENOMEM, "out of memory");
    *block = w;
    *block_len = (unsigned)total;
    for (i = 0; i < p->n; i++) {
        size_t len;

        if (*p->slot[i] == NULL)
            continue;
        len = strlen(*p->slot[i]) + 1;
        memcpy(w, *p->slot[i], len);
        *p->slot[i] = w;
        w += len;
    }
    return 0;
}
