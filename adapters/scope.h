/*
 * scope.h - a per-thread "current pool" for libraries whose allocation hooks
 * are process-global and carry no context pointer (cJSON, jansson, expat).
 *
 *     scope_push(pool);                 // this thread now allocates from pool
 *     doc = cJSON_Parse(text);          // every node and string lands in pool
 *     scope_pop();
 *     seal_pool_seal(pool);             // the document is read-only
 *
 * The hooks are scope_malloc/scope_realloc/scope_free. Inside a scope they
 * allocate from the innermost pool; outside any scope (or in a scope pushed
 * with NULL) they are malloc/realloc/free, so the rest of the program and
 * other threads are unaffected. A free or realloc goes to the pool of the
 * thread's scope stack that owns the pointer, else to libc.
 *
 * Invariant: pool memory must be freed inside a scope of its pool (or by
 * destroying the pool); a free of a sealed allocation that no pool on the
 * stack owns aborts with one "sealloc-adapters:" line instead of handing
 * sealloc memory to libc's free().
 */
#ifndef SEALLOC_ADAPTERS_SCOPE_H
#define SEALLOC_ADAPTERS_SCOPE_H

#include <sealloc.h>
#include <stddef.h>

#define SCOPE_DEPTH 8

/* Make pool (NULL: libc) this thread's current allocator. 0, or -1 with
 * errno EOVERFLOW when SCOPE_DEPTH scopes are open. */
int scope_push(seal_pool *pool);

/* Return to the previous allocator; pops must pair with pushes. */
void scope_pop(void);

/* The current pool of this thread, NULL outside a scope. */
seal_pool *scope_current(void);

void *scope_malloc(size_t size);
void *scope_realloc(void *ptr, size_t size);
void scope_free(void *ptr);

#endif
