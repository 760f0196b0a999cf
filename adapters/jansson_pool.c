/* SPDX-License-Identifier: MIT */
/*
 * jansson_pool.c - jansson's hooks on sealloc's scope hooks (see
 * jansson_pool.h).
 */
#include "jansson_pool.h"

void jansson_pool_install(void)
{
    json_set_alloc_funcs(seal_scope_malloc, seal_scope_free);
}

json_t *jansson_pool_loads(seal_pool *pool, const char *text, size_t flags, json_error_t *error)
{
    if (seal_scope_push(pool) != 0)
        return NULL;
    json_t *doc = json_loads(text, flags, error);
    seal_scope_pop();
    return doc;
}
