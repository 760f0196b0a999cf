/* SPDX-License-Identifier: MIT */
/*
 * cjson_pool.c - cJSON's hooks on sealloc's scope hooks (see cjson_pool.h).
 */
#include "cjson_pool.h"

void cjson_pool_install(void)
{
    cJSON_Hooks hooks = {seal_scope_malloc, seal_scope_free};
    cJSON_InitHooks(&hooks);
}

cJSON *cjson_pool_parse(seal_pool *pool, const char *text)
{
    if (seal_scope_push(pool) != 0)
        return NULL;
    cJSON *doc = cJSON_Parse(text);
    seal_scope_pop();
    return doc;
}
