/* SPDX-License-Identifier: MIT */
/*
 * test_stats.c - seal_cache_stats() and seal_pool_stats(): every field
 * against what the test did, the struct's growth convention (fixed size,
 * version out, reserved words zeroed), resident bytes that follow the
 * pages touched rather than the slabs committed, and seal_stats_print()
 * rows equal to what the calls return.
 */
#include "check.h"
#include "probe.h"
#include "sealloc.h"

#include <errno.h>
#include <stdint.h>
#include <sys/syscall.h>

static size_t page(void) { return (size_t)sysconf(_SC_PAGESIZE); }

/* A struct whose every byte is 0xa5, so a field left unfilled shows. */
static struct seal_stats dirty(void)
{
    struct seal_stats s;
    memset(&s, 0xa5, sizeof s);
    return s;
}

static void convention(void)
{
    CHECK(sizeof(struct seal_stats) == 128);
    CHECK(SEAL_STATS_VERSION == 2);
    seal_cache *c = seal_cache_create("conv", 40, 0, SEAL_WRITE_RARE);
    struct seal_stats s = dirty();
    CHECK(seal_cache_stats(c, &s) == 0);
    CHECK(s.version == SEAL_STATS_VERSION);
    CHECK(s.flags == SEAL_WRITE_RARE && s.object_size == 40);
    for (size_t i = 0; i < sizeof s.reserved / sizeof s.reserved[0]; i++)
        CHECK(s.reserved[i] == 0);
    CHECK(s.live == 0 && s.sealed == 0 && s.spans == 0 && s.committed_bytes == 0 &&
          s.resident_bytes == 0 && s.sealed_bytes == 0 && s.pinned_bytes == 0 && s.seals == 0 &&
          s.unseals == 0);
    errno = 0;
    CHECK(seal_cache_stats(c, NULL) == -1 && errno == EINVAL);
    seal_pool *p = seal_pool_create("conv-pool", 0);
    s = dirty();
    CHECK(seal_pool_stats(p, &s) == 0 && s.version == SEAL_STATS_VERSION && s.object_size == 0);
    errno = 0;
    CHECK(seal_pool_stats(p, NULL) == -1 && errno == EINVAL);
    seal_pool_destroy(p);
    seal_cache_destroy(c);
}

static void cache_counts(void)
{
    seal_cache *c = seal_cache_create("counts", 24, 0, 0);
    void *objs[10];
    for (int i = 0; i < 10; i++)
        objs[i] = seal_cache_alloc(c);
    CHECK(seal_cache_seal(c) == 0 && seal_cache_seal(c) == 0);
    seal_cache_free(c, objs[0]);
    void *fresh = seal_cache_alloc(c); /* live, not sealed */
    struct seal_stats s = dirty();
    CHECK(seal_cache_stats(c, &s) == 0);
    CHECK(s.live == 10 && s.sealed == 9 && s.seals == 2 && s.spans == 2);
    CHECK(s.sealed_bytes > 0 && s.sealed_bytes < s.committed_bytes && s.pinned_bytes == 0);
    seal_cache_free(c, fresh);
    for (int i = 1; i < 10; i++)
        seal_cache_free(c, objs[i]); /* the sealed slab goes back to the OS */
    CHECK(seal_cache_stats(c, &s) == 0);
    CHECK(s.live == 0 && s.sealed == 0 && s.sealed_bytes == 0 && s.spans == 1);
    seal_cache_destroy(c);
}

/* One 16-byte allocation commits a whole slab but touches one page. */
static void resident_follows_touches(void)
{
    seal_pool *p = seal_pool_create("resident", 0);
    char *x = seal_pool_alloc(p, 16);
    x[0] = 1;
    struct seal_stats s = dirty();
    CHECK(seal_pool_stats(p, &s) == 0);
    CHECK(s.live == 1 && s.committed_bytes >= 16 * page());
    CHECK(s.resident_bytes == page());
    /* A large allocation is committed whole; only written pages count. */
    size_t n = 64 * page();
    char *big = seal_pool_alloc(p, n);
    for (size_t off = 0; off < n; off += 4 * page())
        big[off] = 1;
    CHECK(seal_pool_stats(p, &s) == 0);
    CHECK(s.live == 2 && s.committed_bytes >= 16 * page() + n);
    CHECK(s.resident_bytes == page() + 16 * page());
    /* Pages only read map the shared zero page, no memory of the pool's,
     * where the kernel answers a read fault with it; where it gives the
     * process a page of its own, each counts. */
    int zero_page = probe_read_maps_zero_page();
    CHECK(zero_page >= 0);
    printf("  resident_follows_touches: this kernel answers a read fault with %s\n",
           zero_page ? "its shared zero page" : "a page of the process's own");
    size_t read_pages = 0;
    volatile char sum = 0;
    for (size_t off = page(); off < n; off += 4 * page(), read_pages++)
        sum += big[off];
    size_t expected = page() + 16 * page() + (zero_page ? 0 : read_pages * page());
    CHECK(seal_pool_stats(p, &s) == 0 && s.resident_bytes == expected);
    /* The seal's check of the slab's free slots adds nothing either: in a
     * slab of up to 2 MiB it reads only the pages that have memory. */
    CHECK(seal_pool_seal(p) == 0 && seal_pool_stats(p, &s) == 0);
    CHECK(s.sealed == 2 && s.sealed_bytes == s.committed_bytes);
    CHECK(s.resident_bytes == expected);
    seal_pool_destroy(p);
}

/* Many adjacent slabs, every object written: every touched page counts
 * once, whichever runs the pages are asked about in. */
static void resident_over_many_slabs(void)
{
    seal_cache *c = seal_cache_create("many-slabs", 1024, 0, 0);
    for (int i = 0; i < 1000; i++)
        memset(seal_cache_alloc(c), 1, 1024);
    struct seal_stats s;
    CHECK(seal_cache_stats(c, &s) == 0 && s.live == 1000 && s.spans >= 4);
    CHECK(s.resident_bytes >= 1000 * 1024 && s.resident_bytes <= s.committed_bytes);
    CHECK(s.resident_bytes % page() == 0);
    seal_cache_destroy(c);
}

/* Write-rare owners' pages are shared mappings of a memfd: they count
 * too, once written. (A seal's check of the free slots reads them, and a
 * memfd page read is a page of memory: after the seal the figure may hold
 * the whole slab.) */
static void resident_write_rare(void)
{
    seal_pool *p = seal_pool_create("resident-wr", SEAL_WRITE_RARE);
    char *a = seal_pool_alloc(p, 100);
    struct seal_stats s;
    CHECK(seal_pool_stats(p, &s) == 0 && s.resident_bytes == 0);
    a[0] = 1;
    CHECK(seal_pool_stats(p, &s) == 0 && s.resident_bytes == page());
    CHECK(seal_pool_seal(p) == 0 && seal_write(a + 1, "x", 1) == 0 && a[1] == 'x');
    CHECK(seal_pool_stats(p, &s) == 0 && s.resident_bytes >= page() &&
          s.resident_bytes <= s.committed_bytes);
    seal_pool_destroy(p);
}

static void permanent_pinned(void)
{
    if (syscall(462, 0, 0, 0) != 0)
        SKIP("kernel without mseal(2)");
    seal_pool *p = seal_pool_create("pinned", SEAL_PERMANENT);
    char *a = seal_pool_strdup(p, "forever");
    CHECK(seal_pool_seal(p) == 0);
    seal_pool_free(p, a);
    struct seal_stats s = dirty();
    CHECK(seal_pool_stats(p, &s) == 0);
    CHECK(s.flags == SEAL_PERMANENT && s.live == 0 && s.pinned_bytes > 0 && s.seals == 1);
    seal_pool_destroy(p);
}

/* The printer's row for name, parsed: the same figures as the calls. */
static bool row_of(const char *name, unsigned long long v[9])
{
    char *text = NULL, kind[16], row[64], size[24];
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    seal_stats_print(f);
    fclose(f);
    bool found = false;
    for (char *l = strtok(text, "\n"); l != NULL && !found; l = strtok(NULL, "\n"))
        found = sscanf(l, "%15s %63s %23s %llu %llu %llu %llu %llu %llu %llu %llu %llu", kind, row,
                       size, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8]) == 12 &&
                strcmp(row, name) == 0;
    free(text);
    return found;
}

static void printer_uses_the_calls(void)
{
    seal_pool *p = seal_pool_create("printed", 0);
    for (int i = 0; i < 5; i++)
        memset(seal_pool_alloc(p, 100 + (size_t)i * 5000), 1, 100);
    CHECK(seal_pool_seal(p) == 0 && seal_pool_unseal(p) == 0 && seal_pool_seal(p) == 0);
    seal_pool_alloc(p, 7);
    unsigned long long v[9];
    struct seal_stats s;
    CHECK(row_of("printed", v) && seal_pool_stats(p, &s) == 0);
    CHECK(v[0] == s.live && v[1] == s.sealed && v[2] == s.spans && v[3] == s.committed_bytes &&
          v[4] == s.resident_bytes && v[5] == s.sealed_bytes && v[6] == s.pinned_bytes &&
          v[7] == s.seals && v[8] == s.unseals);
    CHECK(s.live == 6 && s.sealed == 5 && s.seals == 2 && s.unseals == 1);
    seal_pool_destroy(p);
}

/* Misuse: a handle of the wrong kind, a destroyed one. */
static void stats_of_destroyed_cache(void *arg)
{
    (void)arg;
    seal_cache *c = seal_cache_create("gone", 8, 0, 0);
    seal_cache_destroy(c);
    struct seal_stats s;
    seal_cache_stats(c, &s);
}

static void pool_stats_of_cache(void *arg)
{
    struct seal_stats s;
    seal_pool_stats(arg, &s);
}

static void misuse(void)
{
    struct death d;
    run_in_child(stats_of_destroyed_cache, NULL, &d);
    CHECK(d.signal == SIGABRT);
    CHECK(strcmp(d.err, "sealloc: seal_cache_stats(cache \"gone\"): use of a destroyed cache\n") == 0);
    seal_cache *c = seal_cache_create("kind", 8, 0, 0);
    char want[128];
    snprintf(want, sizeof want, "sealloc: seal_pool_stats(pool \"?\"): %p is not a pool handle\n",
             (void *)c);
    run_in_child(pool_stats_of_cache, c, &d);
    CHECK(d.signal == SIGABRT && strcmp(d.err, want) == 0);
    seal_cache_destroy(c);
}

int main(void)
{
    RUN(convention);
    RUN(cache_counts);
    RUN(resident_follows_touches);
    RUN(resident_over_many_slabs);
    RUN(resident_write_rare);
    RUN(permanent_pinned);
    RUN(printer_uses_the_calls);
    RUN(misuse);
    return check_exit();
}
