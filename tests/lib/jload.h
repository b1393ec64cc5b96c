/* tests/lib/jload.h -- a recorded JSON file of tests/data.  Header-only
 * (jansson is linked by the binaries that include it, not by the harness). */
#ifndef SC_TESTS_JLOAD_H
#define SC_TESTS_JLOAD_H

#include <jansson.h>
#include <stdio.h>

#include "tests/lib/harness.h"

/* harness_data_dir()/rel parsed (new reference; the caller decrefs), or
 * NULL with the reason on stderr. */
static inline json_t *
jload(const char *rel)
{
    char path[1024];
    json_error_t jerr;
    json_t *j;

    snprintf(path, sizeof(path), "%s/%s", harness_data_dir(), rel);
    j = json_load_file(path, 0, &jerr);
    if (j == NULL)
        fprintf(stderr, "cannot load %s: %s\n", path, jerr.text);
    return j;
}

#endif
