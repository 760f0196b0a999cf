/* SPDX-License-Identifier: MIT */
/*
 * scope.c - allocation hooks for libraries whose malloc/free replacement is
 * process-global and gets no context pointer (cJSON_InitHooks, jansson's
 * json_set_alloc_funcs, expat's memory suite, libxml2's xmlMemSetup).
 *
 * Each thread has a stack of current pools (seal_scope_push/pop). An
 * allocation goes to the innermost pool, or to libc outside any scope (or
 * in a scope pushed with NULL), so the rest of the program and other
 * threads are unaffected. A free or realloc finds its pool by the pointer
 * (seal_pool_of()), not by the stack: memory a library frees later,
 * outside any scope or in another thread, still goes back to its pool.
 *
 * Invariant: memory that sealloc manages never reaches libc. A pointer
 * that lies in sealloc's memory but is not the start of a live pool
 * allocation (a double free, an interior pointer, a cache's object, memory
 * of a destroyed permanent owner) aborts with one "sealloc:" line; libc
 * sees only pointers outside every arena.
 *
 * The stack is thread-local: scopes take no lock. None of these calls is
 * async-signal-safe (libc's malloc is not).
 */
#include "sealloc.h"

#include "owner.h"
#include "registry.h"
#include "report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local struct {
    int depth;
    seal_pool *pool[SEAL_SCOPE_DEPTH];
} stack;

int seal_scope_push(seal_pool *p)
{
    if (p != NULL)
        owner_validate(p, OWNER_POOL, "seal_scope_push");
    if (stack.depth == SEAL_SCOPE_DEPTH) {
        errno = EOVERFLOW;
        return -1;
    }
    stack.pool[stack.depth++] = p;
    return 0;
}

void seal_scope_pop(void)
{
    if (stack.depth == 0)
        sl_fatal("seal_scope_pop", "scope", "-", "no scope to pop (pops must pair with pushes)");
    stack.depth--;
}

seal_pool *seal_scope_current(void) { return stack.depth ? stack.pool[stack.depth - 1] : NULL; }

/* The pool ptr belongs to, or NULL for memory sealloc does not manage;
 * aborts, naming call, for sealloc memory that is no live pool allocation. */
static seal_pool *pool_of_or_libc(const void *ptr, const char *call)
{
    seal_pool *p = seal_pool_of(ptr);
    if (p != NULL)
        return p;
    bool pinned;
    registry_enter();
    const struct sl_arena *a = registry_find((uintptr_t)ptr, &pinned);
    if (pinned)
        sl_fatal(call, "pool", "?", "%p is sealed memory of a destroyed permanent owner", ptr);
    if (a != NULL)
        sl_fatal(call, a->region->who.kind, a->region->who.name,
                 "%p is not the start of a live pool allocation", ptr);
    registry_exit();
    return NULL;
}

void *seal_scope_malloc(size_t size)
{
    seal_pool *p = seal_scope_current();
    return p != NULL ? seal_pool_alloc(p, size) : malloc(size);
}

char *seal_scope_strdup(const char *s)
{
    if (s == NULL) { /* as seal_pool_strdup(), in and outside a scope */
        errno = EINVAL;
        return NULL;
    }
    seal_pool *p = seal_scope_current();
    return p != NULL ? seal_pool_strdup(p, s) : strdup(s);
}

void *seal_scope_realloc(void *ptr, size_t size)
{
    if (ptr == NULL)
        return seal_scope_malloc(size);
    seal_pool *p = pool_of_or_libc(ptr, "seal_scope_realloc");
    return p != NULL ? seal_pool_realloc(p, ptr, size) : realloc(ptr, size);
}

void seal_scope_free(void *ptr)
{
    if (ptr == NULL)
        return;
    seal_pool *p = pool_of_or_libc(ptr, "seal_scope_free");
    if (p != NULL)
        seal_pool_free(p, ptr);
    else
        free(ptr);
}
