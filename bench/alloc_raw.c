/* SPDX-License-Identifier: MIT */
/*
 * alloc_raw.c - the floor of build-then-seal: no allocator at all.
 *
 * Objects are carved one after another from one anonymous mapping laid
 * out as sealloc lays out a growing cache (src/region.h): it starts on a
 * huge page boundary, its first huge page's worth stays on base pages and
 * the rest is hinted for transparent huge pages. Pages are faulted in the
 * cheapest way this project found, one MADV_POPULATE_WRITE per 64 KiB as
 * the objects reach it (a first touch per page costs about 2.5 times
 * more here), and one mprotect(PROT_READ) makes everything read-only.
 * What a build costs here is what the kernel charges for the pages and
 * the protection change, with no allocator at all. It never reuses
 * memory, so the driver's build mode is the only one it takes part in.
 */
#include "alloc.h"

#include "util.h"

#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#define RESERVE (512ull << 20) /* above the largest build of bench/run.sh */
#define CHUNK (64u << 10)        /* bytes faulted in at a time */

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static size_t obj_size, used, map_size;
static unsigned char *map, *base;

const char *ba_name(void) { return "raw"; }
bool ba_protects(void) { return true; }

void ba_init(size_t size)
{
    size_t huge = bu_huge_page_size();
    map_size = RESERVE + huge;
    map = mmap(NULL, map_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
               -1, 0);
    if (map == MAP_FAILED)
        bu_die("mmap");
    base = map;
    if (huge != 0) {
        base = (unsigned char *)(((uintptr_t)map + huge - 1) & ~(uintptr_t)(huge - 1));
        madvise(base + huge, RESERVE - huge, MADV_HUGEPAGE);
    }
    obj_size = size;
    used = 0;
}

void *ba_alloc(void)
{
    if (used + obj_size > RESERVE)
        return NULL;
    /* Advisory, as in sealloc: without it the first touch faults. */
    for (size_t c = (used + CHUNK - 1) / CHUNK * CHUNK; c < used + obj_size; c += CHUNK)
        madvise(base + c, CHUNK, MADV_POPULATE_WRITE);
    void *p = base + used;
    used += obj_size;
    return p;
}

void ba_free(void *p) { (void)p; bu_die("raw: no free"); }
int ba_protect_one(void *p) { (void)p; return 0; }

int ba_seal(void)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    return mprotect(base, (used + pg - 1) / pg * pg, PROT_READ);
}

void ba_fini(void **objs, size_t n)
{
    (void)objs, (void)n;
    munmap(map, map_size);
}
