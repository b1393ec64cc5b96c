/* tests/fuzz/fuzz_json.h -- the fuzz input as JSON, for the targets whose
 * outside input is a JSON document (header-only: each target is one .c file
 * built alone by tests/fuzz/run.sh). */
#ifndef SC_FUZZ_JSON_H
#define SC_FUZZ_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

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

/* What kskim_parse() promises to leave out: delete every "managedFields"
 * member of an object that is the value of a "metadata" member, at any
 * depth, in place (shared by the fuzz target and the unit test). */
static inline void
fuzz_json_drop_managed(json_t *v)
{
    const char *k;
    json_t *m;
    size_t i;

    if (json_is_array(v)) {
        json_array_foreach (v, i, m)
            fuzz_json_drop_managed(m);
        return;
    }
    if (!json_is_object(v))
        return;
    json_object_foreach (v, k, m) {
        if (strcmp(k, "metadata") == 0 && json_is_object(m)) {
            json_object_del(m, "managedFields");
        }
        fuzz_json_drop_managed(m);
    }
}

#endif
