/* controller/labelsel.h -- metav1.LabelSelector with its full semantics:
 * matchLabels AND matchExpressions (In, NotIn, Exists, DoesNotExist), as
 * metav1.LabelSelectorAsSelector builds it.
 *
 *   - a NULL (absent) selector selects nothing; an empty one ({}) selects
 *     everything;
 *   - every requirement must hold (AND);
 *   - In: the label is present and its value is one of values;
 *     NotIn: the label is absent, or present with a value not in values;
 *     Exists: present; DoesNotExist: absent;
 *   - In/NotIn need at least one value, Exists/DoesNotExist none; any other
 *     operator, a missing key or a non-string value is a parse error.
 *
 * Upstream's group snapshot code uses matchLabels only (an expressions-only
 * selector there selects every PVC); docs/groups.md lists the difference.
 *
 * Ownership: labelsel_parse() returns a new selector the caller frees with
 * labelsel_free(); the selector copies what it needs (the JSON is borrowed
 * for the call only).  A selector is immutable and may be shared across
 * threads.  Sizes are capped by LABELSEL_MAX_REQS / LABELSEL_MAX_VALUES /
 * LABELSEL_MAX_TEXT (SC_ETOOBIG beyond).
 */
#ifndef SC_LABELSEL_H
#define SC_LABELSEL_H

#include <jansson.h>
#include <stdbool.h>

#include "common/buf.h"
#include "common/compiler.h"
#include "common/sc_err.h"

#define LABELSEL_MAX_REQS   128  /* matchLabels entries + matchExpressions */
#define LABELSEL_MAX_VALUES 256  /* values of one expression */
#define LABELSEL_MAX_TEXT   4096 /* the rendered selector string */

enum labelsel_op {
    LABELSEL_EQ = 0, /* matchLabels entry */
    LABELSEL_IN,
    LABELSEL_NOTIN,
    LABELSEL_EXISTS,
    LABELSEL_NOTEXISTS,
};

struct labelsel;

/* sel: a LabelSelector object (or JSON null / NULL: selects nothing). */
SC_MUST_CHECK int labelsel_parse(const json_t *sel, struct labelsel **out, struct sc_err *err);
void labelsel_free(struct labelsel *s); /* NULL-safe */

/* Does an object with these labels (a JSON object of strings, or NULL for
 * none) match? */
bool labelsel_match(const struct labelsel *s, const json_t *labels);

/* True when the selector selects nothing (it was null). */
bool labelsel_nothing(const struct labelsel *s);

/* Append the selector in the API's labelSelector syntax, which is also
 * metav1.FormatLabelSelector's text: requirements sorted by key (then
 * operator), values sorted, "k=v", "k in (a,b)", "k notin (a,b)", "k",
 * "!k", joined by ",".  An empty selector is "" here; labelsel_format()
 * renders it "<none>" as FormatLabelSelector does. */
SC_MUST_CHECK int labelsel_query(const struct labelsel *s, struct buf *out);
SC_MUST_CHECK int labelsel_format(const struct labelsel *s, struct buf *out);

#endif
