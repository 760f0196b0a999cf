/*
 * cjson_pool.c - cJSON's hooks on the scope allocator (see cjson_pool.h).
 */
#include "cjson_pool.h"

#include "scope.h"

void cjson_pool_install(void)
{
    cJSON_Hooks hooks = {scope_malloc, scope_free};
    cJSON_InitHooks(&hooks);
}

cJSON *cjson_pool_parse(seal_pool *pool, const char *text)
{
    if (scope_push(pool) != 0)
        return NULL;
    cJSON *doc = cJSON_Parse(text);
    scope_pop();
    return doc;
}
