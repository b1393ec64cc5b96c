/* kube/karena.h -- scoped arenas for jansson's allocations.
 *
 * Every watch event, API response and patch body is a jansson tree of a few
 * hundred nodes, each its own malloc, built and freed within microseconds;
 * malloc and free were a third of a parse (docs/performance.md).  After
 * karena_install() (once, in main, before any thread uses jansson), the
 * jansson allocations a thread makes inside karena_begin()/karena_end() are
 * carved from chunks of KARENA_CHUNK bytes instead, and freeing them only
 * counts.
 *
 * Safety does not rest on scopes being used correctly.  Every block carries
 * a header naming its chunk (NULL for a malloc'd block, made outside a scope
 * or too big for a chunk), and a chunk is freed when its scope has moved on
 * AND its last block has been freed, by whichever thread frees it.  A value
 * kept past its scope (a view's copy, a queued object) therefore stays
 * valid; it only keeps its chunk's memory alive (karena_suspend() lets code
 * that keeps jansson values build them on the heap instead).
 *
 * Consequence: after karena_install() no memory jansson hands out may be
 * given to free() (json_dumps() text included): use kjson_dumpb().
 *
 * The current scope is a thread-local pointer: the one piece of per-thread
 * state outside main, forced by jansson's process-wide allocator hook (as in
 * webhook/wharena.h, which the webhook uses instead).
 * Ownership: a struct karena is the caller's (usually on its stack); chunks
 * are this module's.  Threading: a scope belongs to the thread that began
 * it; blocks may be freed from any thread.
 */
#ifndef SC_KARENA_H
#define SC_KARENA_H

#include <stddef.h>

#define KARENA_CHUNK     (16u << 10) /* bytes carved per chunk */
#define KARENA_MAX_BLOCK (4u << 10)  /* bigger allocations go to malloc */

struct karena_chunk;

struct karena {
    struct karena *prev;        /* the scope this one interrupted (scopes nest) */
    struct karena_chunk *chunk; /* being carved; NULL until the first allocation */
    size_t allocs;              /* blocks carved from chunk (owner thread only) */
};

/* Route jansson's allocations through this module.  Call once, in main,
 * before any thread uses jansson. */
void karena_install(void);

/* Start a scope on this thread; scopes nest. */
void karena_begin(struct karena *a);
/* End the innermost scope (a): later allocations go to the one before. */
void karena_end(struct karena *a);

/* No scope on this thread until karena_resume(): for values kept beyond the
 * scope.  Returns what karena_resume() needs. */
struct karena *karena_suspend(void);
void karena_resume(struct karena *a);

/* The allocator itself (exported for the unit test). */
void *karena_malloc(size_t n);
void karena_free(void *p);

#endif
