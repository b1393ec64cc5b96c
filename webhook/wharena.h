/* webhook/wharena.h -- a per-request bump allocator for jansson.
 *
 * One review builds a jansson tree of a few hundred small nodes (every
 * object, key and string is its own malloc) and frees it a few microseconds
 * later.  wharena_install() (called once by main, before any thread starts)
 * routes jansson's allocations through this module: on a thread inside
 * wharena_begin()/wharena_end() they are carved from the caller's buffer
 * and "freed" all at once at the end; everywhere else (the informers'
 * threads, tests, tools) they go to malloc as before.
 *
 Blocks from malloc are plain malloc blocks: what jansson hands out outside
 * a scope (json_dumps() text included) is free()d as before.  A block is
 * known to be the arena's by its address.  So every jansson value made
 * inside a scope must be released before the scope ends, on the same thread,
 * and json_dumps() text made inside a scope must not be passed to free()
 * (the webhook serialises with kjson_dumpb() instead).  The server keeps the
 * whole of whroute_handle() inside one scope (whserver.c).  When the buffer
 * is full, allocations fall back to malloc.
 *
 * The current arena is a thread-local pointer: the one piece of per-thread
 * state outside main, forced by jansson's process-wide allocator hook.
 * Threading: a scope belongs to the thread that began it.
 */
#ifndef SC_WHARENA_H
#define SC_WHARENA_H

#include <stdbool.h>
#include <stddef.h>

/* Enough for an AdmissionReview of a few KiB; bigger reviews spill to malloc. */
#define WHARENA_BYTES (48u << 10)

struct wharena {
    char *base; /* the caller's buffer, WHARENA_BYTES long */
    size_t used;
    size_t spilled; /* allocations that went to malloc (buffer full) */
};

/* Route jansson's allocations through this module.  Call once, in main,
 * before any thread uses jansson. */
void wharena_install(void);

/* Start a scope on this thread: jansson allocations are carved from base
 * (WHARENA_BYTES, 16-byte aligned).  Scopes do not nest. */
void wharena_begin(struct wharena *a, void *base);
/* End the scope: later allocations go to malloc again. */
void wharena_end(struct wharena *a);

/* True inside a scope on this thread while jansson allocates through this
 * module (wharena_install) and every allocation so far came from the
 * buffer: a tree made in the scope may then be dropped without
 * json_decref(), whose walk over every node would free nothing.  False
 * outside a scope, without wharena_install(), and once anything spilled to
 * malloc. */
bool wharena_holds_all(void);

/* The allocator itself (exported for the unit test). */
void *wharena_malloc(size_t n);
void wharena_free(void *p);

#endif
