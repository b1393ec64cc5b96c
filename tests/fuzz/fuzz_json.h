/* tests/fuzz/fuzz_json.h -- the fuzz input as JSON, for the targets whose
 * outside input is a JSON document (header-only: each target is one .c file
 * built alone by tests/fuzz/run.sh). */
#ifndef SC_FUZZ_JSON_H
#define SC_FUZZ_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Larger inputs are skipped: they explore nothing a smaller one does not. */
#define FUZZ_JSON_MAX (1u << 16)

/* data parsed as one JSON document (new reference), or NULL when it is too
 * large or not JSON (duplicate keys refused, as the API server's are). */
static inline json_t *
fuzz_json(const uint8_t *data, size_t size)
{
    if (size > FUZZ_JSON_MAX)
        return NULL;
    return json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
}

#endif
