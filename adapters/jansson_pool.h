/* SPDX-License-Identifier: MIT */
/*
 * jansson_pool.h - jansson values in a sealable pool.
 *
 * json_set_alloc_funcs() is process-global and its hooks get no context, so
 * the hooks are sealloc's scope hooks (seal_scope_push(3)): inside
 * seal_scope_push(pool) jansson allocates from pool, elsewhere from libc.
 * A document loaded in a scope can be sealed, then read, queried
 * (json_object_get and friends return borrowed references) and dumped.
 *
 * Caveat: jansson keeps a reference count inside every value. json_incref
 * and json_decref write it, so on a sealed value they fault; take borrowed
 * references only, and drop a sealed document with seal_pool_destroy().
 */
#ifndef SEALLOC_ADAPTERS_JANSSON_POOL_H
#define SEALLOC_ADAPTERS_JANSSON_POOL_H

#include <jansson.h>
#include <sealloc.h>

/* Route jansson's allocations through the scope hooks; call once,
 * before any other jansson call. */
void jansson_pool_install(void);

/* json_loads(text, flags, error) with every value allocated from pool
 * (NULL: libc). */
json_t *jansson_pool_loads(seal_pool *pool, const char *text, size_t flags, json_error_t *error);

#endif
