/* SPDX-License-Identifier: MIT */
/*
 * alloc_malloc.c - a malloc peer. The same object is linked once per peer
 * (glibc alone, or with -lmimalloc, -ljemalloc, -ltcmalloc_minimal ahead of
 * libc); the name is taken from the library that really defines malloc in
 * this process, so a link that silently fell back to glibc shows up as
 * "glibc" in the results instead of being credited to the peer.
 */
#include "alloc.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

static size_t obj_size;

const char *ba_name(void)
{
    static const char *const known[] = {"mimalloc", "jemalloc", "tcmalloc"};
    Dl_info info;
    void *(*volatile fn)(size_t) = malloc;
    if (dladdr((void *)fn, &info) != 0 && info.dli_fname != NULL)
        for (size_t i = 0; i < sizeof known / sizeof *known; i++)
            if (strstr(info.dli_fname, known[i]) != NULL)
                return known[i];
    return "glibc";
}

bool ba_protects(void) { return false; }
void ba_init(size_t size) { obj_size = size; }
void *ba_alloc(void) { return malloc(obj_size); }
void ba_free(void *p) { free(p); }
int ba_protect_one(void *p) { (void)p; return 0; }
int ba_seal(void) { return 0; }

void ba_fini(void **objs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(objs[i]);
}
