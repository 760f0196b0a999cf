/*
 * jansson_pool.c - jansson's hooks on the scope allocator (see
 * jansson_pool.h).
 */
#include "jansson_pool.h"

#include "scope.h"

void jansson_pool_install(void)
{
    json_set_alloc_funcs(scope_malloc, scope_free);
}

json_t *jansson_pool_loads(seal_pool *pool, const char *text, size_t flags, json_error_t *error)
{
    if (scope_push(pool) != 0)
        return NULL;
    json_t *doc = json_loads(text, flags, error);
    scope_pop();
    return doc;
}
