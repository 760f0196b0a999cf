/* SPDX-License-Identifier: MIT */
/*
 * alloc_sealloc.c - sealloc: one cache per set of objects; protection is
 * one seal of the whole cache. Built twice (mk/bench.mk): against today's
 * library, and as "sealloc@REV" against the library of an earlier
 * revision, for before/after figures from one run.
 */
#include "alloc.h"

#include "sealloc.h"
#include "util.h"

static seal_cache *cache;

#ifndef BENCH_SEALLOC_NAME
#define BENCH_SEALLOC_NAME "sealloc"
#endif

const char *ba_name(void) { return BENCH_SEALLOC_NAME; }
bool ba_protects(void) { return true; }

void ba_init(size_t size)
{
    if ((cache = seal_cache_create("bench", size, 0, 0)) == NULL)
        bu_die("seal_cache_create");
}

void *ba_alloc(void) { return seal_cache_alloc(cache); }
void ba_free(void *p) { seal_cache_free(cache, p); }
int ba_protect_one(void *p) { (void)p; return 0; }
int ba_seal(void) { return seal_cache_seal(cache); }

void ba_fini(void **objs, size_t n)
{
    (void)objs, (void)n;
    seal_cache_destroy(cache);
    cache = NULL;
}
