/* SPDX-License-Identifier: MIT */
/*
 * lua_pool.c - lua_Alloc on a pool (see lua_pool.h). Lua's contract: nsize
 * 0 frees and returns NULL; otherwise behave as realloc (ptr NULL
 * allocates) and return NULL only when the request cannot be met, leaving
 * ptr untouched - which is what seal_pool_realloc() does.
 */
#include "lua_pool.h"

static void *pool_alloc(void *pool, void *ptr, size_t osize, size_t nsize)
{
    (void)osize;
    if (nsize == 0) {
        seal_pool_free(pool, ptr);
        return NULL;
    }
    return seal_pool_realloc(pool, ptr, nsize);
}

lua_State *lua_pool_newstate(seal_pool *pool)
{
    return lua_newstate(pool_alloc, pool);
}
