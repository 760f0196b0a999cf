/* SPDX-License-Identifier: MIT */
/*
 * cjson_pool.h - cJSON documents in a sealable pool.
 *
 * cJSON_InitHooks() is process-global and its hooks get no context, so the
 * hooks are sealloc's scope hooks (seal_scope_push(3)): inside
 * seal_scope_push(pool) cJSON allocates from pool, elsewhere from libc. A
 * document parsed in a scope can be sealed, then read, queried and printed
 * (printing allocates its output from the current scope, libc outside one:
 * free it with cJSON_free()). Drop a sealed document with cJSON_Delete(),
 * in or outside any scope (cJSON_Delete stores nothing into the nodes it
 * frees), or with seal_pool_destroy().
 */
#ifndef SEALLOC_ADAPTERS_CJSON_POOL_H
#define SEALLOC_ADAPTERS_CJSON_POOL_H

#include <cJSON.h>
#include <sealloc.h>

/* Route cJSON's allocations through the scope hooks; call once, before
 * any other cJSON call. */
void cjson_pool_install(void);

/* cJSON_Parse(text) with every node and string allocated from pool
 * (NULL: libc). NULL on a parse error or ENOMEM. */
cJSON *cjson_pool_parse(seal_pool *pool, const char *text);

#endif
