/*
 * alloc_raw.c - the floor of build-then-seal: no allocator at all.
 *
 * Objects are carved one after another from one anonymous mapping laid
 * out as sealloc lays out a growing cache (src/region.h): it starts on a
 * huge page boundary, its first huge page's worth stays on base pages and
 * the rest is hinted for transparent huge pages; one mprotect(PROT_READ)
 * makes everything read-only. What a build costs here is what the kernel
 * charges for fresh pages and one protection change: no allocator that
 * hands out fresh memory builds and seals for less. It never reuses memory,
 * so the driver's build mode is the only one it takes part in.
 */
#include "alloc.h"

#include "util.h"

#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#define RESERVE (512ull << 20) /* above the largest build of bench/run.sh */

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
