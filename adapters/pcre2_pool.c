/* SPDX-License-Identifier: MIT */
/*
 * pcre2_pool.c - the PCRE2 memory functions on a pool (see pcre2_pool.h).
 */
#include "pcre2_pool.h"

static void *pool_malloc(PCRE2_SIZE size, void *pool)
{
    return seal_pool_alloc(pool, size ? size : 1);
}

static void pool_free(void *ptr, void *pool)
{
    seal_pool_free(pool, ptr);
}

pcre2_general_context *pcre2_pool_context(seal_pool *pool)
{
    return pcre2_general_context_create(pool_malloc, pool_free, pool);
}
