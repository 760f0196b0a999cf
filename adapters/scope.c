/*
 * scope.c - the per-thread current pool (see scope.h). The stack is
 * thread-local, so scopes need no lock; the pools themselves are
 * thread-safe.
 */
#include "scope.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

static _Thread_local struct {
    int depth;
    seal_pool *pool[SCOPE_DEPTH];
} stack;

int scope_push(seal_pool *pool)
{
    if (stack.depth == SCOPE_DEPTH) {
        errno = EOVERFLOW;
        return -1;
    }
    stack.pool[stack.depth++] = pool;
    return 0;
}

void scope_pop(void)
{
    if (stack.depth == 0) {
        fprintf(stderr, "sealloc-adapters: scope_pop without scope_push\n");
        abort();
    }
    stack.depth--;
}

seal_pool *scope_current(void)
{
    return stack.depth ? stack.pool[stack.depth - 1] : NULL;
}

/* The pool on this thread's stack that owns ptr, or NULL (libc's). */
static seal_pool *owner_of(const void *ptr)
{
    for (int i = stack.depth - 1; i >= 0; i--)
        if (stack.pool[i] && seal_pool_owns(stack.pool[i], ptr))
            return stack.pool[i];
    if (seal_is_sealed(ptr)) {
        fprintf(stderr, "sealloc-adapters: %p is sealed memory of no pool in scope\n", ptr);
        abort();
    }
    return NULL;
}

void *scope_malloc(size_t size)
{
    seal_pool *p = scope_current();
    return p ? seal_pool_alloc(p, size ? size : 1) : malloc(size);
}

void *scope_realloc(void *ptr, size_t size)
{
    if (!ptr)
        return scope_malloc(size);
    seal_pool *p = owner_of(ptr);
    return p ? seal_pool_realloc(p, ptr, size) : realloc(ptr, size);
}

void scope_free(void *ptr)
{
    if (!ptr)
        return;
    seal_pool *p = owner_of(ptr);
    if (p)
        seal_pool_free(p, ptr);
    else
        free(ptr);
}
