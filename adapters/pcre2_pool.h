/* SPDX-License-Identifier: MIT */
/*
 * pcre2_pool.h - PCRE2 compiled patterns in a sealable pool.
 *
 * PCRE2's general context carries a memory_data pointer that it passes to
 * its malloc and free functions, so the pool is that pointer: no global
 * state. Every compile context made from the returned general context, and
 * every pattern compiled with such a compile context (with its JIT
 * bookkeeping), is allocated from the pool. JIT-compile before sealing
 * (pcre2_jit_compile writes into the pattern); after seal_pool_seal(),
 * pcre2_match() works unchanged on the read-only patterns. Give match data
 * its own context (pcre2_match_data_create(n, NULL) uses libc): match data
 * is written by every match. pcre2_code_free() of a sealed pattern is fine
 * (freeing never writes to sealed memory).
 */
#ifndef SEALLOC_ADAPTERS_PCRE2_POOL_H
#define SEALLOC_ADAPTERS_PCRE2_POOL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <sealloc.h>

/* A general context allocating from pool (itself included); NULL + ENOMEM. */
pcre2_general_context *pcre2_pool_context(seal_pool *pool);

#endif
