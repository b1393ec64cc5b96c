/* controller/cintern.h -- one copy of the strings many cached views repeat.
 *
 * Across 100,000 cached snapshots and contents a handful of namespaces,
 * class names and driver names recur in every view; each copy costs its
 * length plus one byte per view.  The controller keeps one table of them
 * (cview.h's *_parse_shared()): a view points at the table's copy instead.
 *
 * The table only grows, up to LIM_INTERN_STRINGS strings of at most
 * LIM_INTERN_LEN bytes; past either, cintern_get() returns NULL and the
 * caller copies the string as before.  Strings live until cintern_free(),
 * which must come after every view pointing into the table is gone.
 *
 * Threading: any thread may call cintern_get() at any time.
 */
#ifndef SC_CINTERN_H
#define SC_CINTERN_H

#include <stddef.h>

#define LIM_INTERN_STRINGS 4096 /* distinct strings kept */
#define LIM_INTERN_LEN     253  /* longest string kept (a DNS subdomain name) */

struct cintern;

struct cintern *cintern_new(void);    /* NULL on ENOMEM */
void cintern_free(struct cintern *t); /* NULL-safe */

/* The table's copy of s (len bytes, NUL-terminated there), added if new;
 * NULL when t is NULL, s is too long, the table is full or memory ran out. */
const char *cintern_get(struct cintern *t, const char *s, size_t len);

/* The index of the table's copy of s, or -1 when the table has none (a
 * lookup; adds nothing).  Indexes are below LIM_INTERN_STRINGS and never
 * change. */
int cintern_index(struct cintern *t, const char *s);
/* The string of index idx, or NULL.  Lock-free. */
const char *cintern_at(const struct cintern *t, unsigned idx);

/* Strings kept, and the bytes the table holds. */
size_t cintern_len(struct cintern *t);
size_t cintern_bytes(struct cintern *t);

#endif
