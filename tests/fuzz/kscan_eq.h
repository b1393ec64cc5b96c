/* tests/fuzz/kscan_eq.h -- does a kscan() report (kube/kscan.h) hold what
 * jansson's tree holds at the same place?  For the unit test and the fuzz
 * target of kscan.  A string must match byte for byte and be NUL-terminated
 * in its copy; an object or array span is parsed again with jansson (flags:
 * json_loadb()'s) and compared with json_equal(). */
#ifndef SC_TESTS_KSCAN_EQ_H
#define SC_TESTS_KSCAN_EQ_H

#include <jansson.h>
#include <stdbool.h>
#include <string.h>

#include "kube/kscan.h"

/* j NULL: the path is absent. */
static inline bool
kscan_same_value(const struct kscan_val *v, const json_t *j, size_t load_flags)
{
    json_t *sub = NULL;
    bool same = false;

    if (j == NULL)
        return v->type == KSCAN_ABSENT;
    switch (json_typeof(j)) {
    case JSON_NULL:
        return v->type == KSCAN_NULL;
    case JSON_TRUE:
        return v->type == KSCAN_TRUE;
    case JSON_FALSE:
        return v->type == KSCAN_FALSE;
    case JSON_INTEGER:
        return v->type == KSCAN_INTEGER && v->i == json_integer_value(j);
    case JSON_STRING:
        return v->type == KSCAN_STRING && v->n == json_string_length(j) &&
               memcmp(v->s, json_string_value(j), v->n) == 0 && v->s[v->n] == '\0';
    case JSON_OBJECT:
    case JSON_ARRAY:
        if (v->type != (json_is_object(j) ? KSCAN_OBJECT : KSCAN_ARRAY))
            return false;
        sub = json_loadb(v->s, v->n, load_flags, NULL);
        same = sub != NULL && json_equal(sub, j);
        json_decref(sub);
        return same;
    default:
        return false; /* a real: kscan() declines them */
    }
}

#endif
