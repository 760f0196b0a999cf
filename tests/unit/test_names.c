/* SPDX-License-Identifier: MIT */
/*
 * test_names.c - the library's mappings carry names in /proc/self/maps:
 * memfds "sealloc:<owner>" (shown as /memfd:sealloc:<owner>), anonymous
 * data "[anon:sealloc:<owner>]" (also after a reclaim replaced part of an
 * arena), metadata "[anon:sealloc:meta]", with the characters the kernel
 * refuses in a name made '_'. Anonymous names need PR_SET_VMA_ANON_NAME
 * (Linux 5.17+ built with CONFIG_ANON_VMA_NAME): where the kernel refuses
 * it those tests skip, and every other test program shows the library
 * carries on without names.
 */
#include "check.h"
#include "sealloc.h"

#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>

/* The line of /proc/self/maps whose range holds addr (NULL: the whole
 * file) contains needle. */
static bool maps_has(const void *addr, const char *needle)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    bool found = false;
    while (f != NULL && !found && fgets(line, sizeof line, f) != NULL) {
        uintptr_t lo, hi;
        if (sscanf(line, "%lx-%lx", &lo, &hi) != 2)
            continue;
        if (addr == NULL || ((uintptr_t)addr >= lo && (uintptr_t)addr < hi))
            found = strstr(line, needle) != NULL;
    }
    if (f != NULL)
        fclose(f);
    return found;
}

/* Why the kernel will not name anonymous mappings, or NULL if it will. */
static const char *anon_names_refused(void)
{
    static char why[128];
    void *p = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int rc = prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, (unsigned long)p, 4096UL, (unsigned long)"probe");
    snprintf(why, sizeof why, "the kernel refuses PR_SET_VMA_ANON_NAME (%s): no CONFIG_ANON_VMA_NAME",
             strerror(errno));
    munmap(p, 4096);
    return rc == 0 ? NULL : why;
}

static void memfd_names(void)
{
    /* Only the memfd mechanism backs write-rare owners with a memfd; under
     * the others their data is anonymous memory, named as the rest. */
    bool memfd = strcmp(seal_write_rare_mechanism(), "memfd") == 0;
    seal_pool *p = seal_pool_create("wr-names", SEAL_WRITE_RARE);
    seal_cache *c = seal_cache_create("odd[name] $x", 32, 0, SEAL_WRITE_RARE);
    char *s = seal_pool_strdup(p, "named"), *o = seal_cache_alloc(c);
    CHECK(seal_pool_seal(p) == 0);
    CHECK(maps_has(s, "/memfd:sealloc:wr-names") == memfd);
    CHECK(maps_has(o, "/memfd:sealloc:odd_name_ _x") == memfd);
    seal_cache_destroy(c);
    seal_pool_destroy(p);
}

static void anonymous_names(void)
{
    const char *why = anon_names_refused();
    if (why != NULL)
        SKIP("%s", why);
    seal_cache *c = seal_cache_create("anon-names", 4096, 0, 0);
    void *objs[64];
    for (int i = 0; i < 64; i++)
        objs[i] = seal_cache_alloc(c);
    CHECK(maps_has(objs[0], "[anon:sealloc:anon-names]"));
    CHECK(maps_has(NULL, "[anon:sealloc:meta]"));
    CHECK(seal_cache_seal(c) == 0);
    CHECK(maps_has(objs[0], "[anon:sealloc:anon-names]")); /* sealed: split, still named */
    for (int i = 0; i < 64; i++)
        seal_cache_free(c, objs[i]); /* sealed slabs go back: a new mapping there */
    CHECK(maps_has(objs[0], "[anon:sealloc:anon-names]"));
    void *again = seal_cache_alloc(c);
    CHECK(maps_has(again, "[anon:sealloc:anon-names]"));
    seal_cache_destroy(c);
}

int main(void)
{
    RUN(memfd_names);
    RUN(anonymous_names);
    return check_exit();
}
