/* SPDX-License-Identifier: MIT */
/*
 * alloc_malloc.c - a malloc peer. The same object is linked once per peer
 * (glibc alone, or with -lmimalloc, -ljemalloc, -ltcmalloc_minimal ahead of
 * libc); the name is taken from the library that really defines malloc in
 * this process, so a link that silently fell back to glibc shows up as
 * "glibc" in the results instead of being credited to the peer.
 *
 * Built with -DBENCH_CALLOC=1 it allocates with calloc instead: zero-filled
 * objects, the contract sealloc keeps, named "<peer>-calloc".
 */
#include "alloc.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#if BENCH_CALLOC
#define SUFFIX "-calloc"
#define ALLOC_FN calloc
#define ALLOC(n) calloc(1, n)
#else
#define SUFFIX ""
#define ALLOC_FN malloc
#define ALLOC(n) malloc(n)
#endif

static size_t obj_size;

const char *ba_name(void)
{
    static const char *const known[][2] = {
        {"mimalloc", "mimalloc" SUFFIX}, {"jemalloc", "jemalloc" SUFFIX}, {"tcmalloc", "tcmalloc" SUFFIX}};
    Dl_info info;
    void *volatile fn = (void *)ALLOC_FN;
    if (dladdr(fn, &info) != 0 && info.dli_fname != NULL)
        for (size_t i = 0; i < sizeof known / sizeof *known; i++)
            if (strstr(info.dli_fname, known[i][0]) != NULL)
                return known[i][1];
    return "glibc" SUFFIX;
}

bool ba_protects(void) { return false; }
void ba_init(size_t size) { obj_size = size; }
void *ba_alloc(void) { return ALLOC(obj_size); }
void ba_free(void *p) { free(p); }
int ba_protect_one(void *p) { (void)p; return 0; }
int ba_seal(void) { return 0; }

void ba_fini(void **objs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(objs[i]);
}
