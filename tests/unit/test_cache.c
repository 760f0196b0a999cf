/* SPDX-License-Identifier: MIT */
/*
 * test_cache.c - the slab layer through the cache API: allocation, zero
 * fill, alignment, seal semantics (faulting stores, EFAULT from read(2)),
 * slots on sealed pages never reused, reclaim of empty sealed slabs, which
 * slabs are faulted in at once, which are committed ahead for huge pages
 * (read from /proc/self/smaps), the mapping count, permanent seals, and
 * argument errors.
 */
#include "check.h"
#include "os.h"
#include "sealloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, res = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &size, &res) != 2)
            res = 0;
        fclose(f);
    }
    return res * (sysconf(_SC_PAGESIZE) / 1024);
}

static int map_lines(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    int n = 0, c;
    while (f && (c = fgetc(f)) != EOF)
        n += c == '\n';
    if (f)
        fclose(f);
    return n;
}

static void store_byte(void *p) { *(volatile char *)p = 1; }

static void alloc_zeroed_and_aligned(void)
{
    size_t sizes[] = {1, 3, 8, 24, 100, 4096, 5000, 65536, 70000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        seal_cache *c = seal_cache_create("sizes", sizes[i], 0, 0);
        CHECK(c != NULL);
        for (int k = 0; k < 50; k++) {
            unsigned char *p = seal_cache_alloc(c);
            CHECK(p != NULL);
            size_t want = sizes[i] >= 16 ? 16 : 1;
            CHECK((uintptr_t)p % want == 0);
            for (size_t b = 0; b < sizes[i]; b++)
                if (p[b] != 0) {
                    CHECK(!"not zero-filled");
                    break;
                }
            memset(p, 0xab, sizes[i]);
            CHECK(seal_cache_owns(c, p));
            if (k % 3 == 0)
                seal_cache_free(c, p);
        }
        seal_cache_destroy(c);
    }
}

static void explicit_alignment(void)
{
    size_t aligns[] = {1, 2, 64, 256, 4096};
    for (size_t i = 0; i < 5; i++) {
        seal_cache *c = seal_cache_create("align", 40, aligns[i], 0);
        CHECK(c != NULL);
        for (int k = 0; k < 20; k++)
            CHECK((uintptr_t)seal_cache_alloc(c) % aligns[i] == 0);
        seal_cache_destroy(c);
    }
}

static void bad_arguments(void)
{
    errno = 0;
    CHECK(seal_cache_create(NULL, 8, 0, 0) == NULL && errno == EINVAL);
    errno = 0;
    CHECK(seal_cache_create("x", 0, 0, 0) == NULL && errno == EINVAL);
    errno = 0;
    CHECK(seal_cache_create("x", 8, 3, 0) == NULL && errno == EINVAL);
    errno = 0;
    CHECK(seal_cache_create("x", 8, 8192, 0) == NULL && errno == EINVAL);
    errno = 0;
    CHECK(seal_cache_create("x", 8, 0, 0x100) == NULL && errno == EINVAL);
}

struct sealed_case {
    seal_cache *c;
    char *obj;
};

static void write_sealed(void *arg) { store_byte(((struct sealed_case *)arg)->obj); }

static void seal_makes_read_only(void)
{
    seal_cache *c = seal_cache_create("ro", 64, 0, 0);
    char *before = seal_cache_alloc(c);
    strcpy(before, "policy");
    CHECK(seal_is_sealed(before) == 0);
    CHECK(seal_cache_seal(c) == 0);
    CHECK(seal_is_sealed(before) == 1);
    CHECK(strcmp(before, "policy") == 0);
    struct sealed_case sc = {c, before};
    CHECK(expect_death(write_sealed, &sc, SIGSEGV, NULL));

    /* The kernel refuses to write into it too. */
    int fd = open("/dev/zero", O_RDONLY);
    errno = 0;
    CHECK(read(fd, before, 8) == -1 && errno == EFAULT);
    close(fd);

    char *after = seal_cache_alloc(c);
    CHECK(after != NULL && seal_is_sealed(after) == 0);
    strcpy(after, "writable");
    CHECK(seal_cache_seal(c) == 0);
    CHECK(seal_is_sealed(after) == 1);
    CHECK(seal_cache_seal(c) == 0); /* again: harmless */
    seal_cache_destroy(c);
}

/* Whether the kernel refuses to store into p (read(2) says EFAULT). */
static bool kernel_cannot_write(void *p)
{
    int fd = open("/dev/zero", O_RDONLY);
    errno = 0;
    bool refused = read(fd, p, 1) == -1 && errno == EFAULT;
    close(fd);
    return refused;
}

/* A seal changes the arena's control pages either staged, with one
 * kernel-mediated copy (a small change), or in place (region.c): a seal
 * of few slabs, then one of 400 slabs (400 span records of more than 40
 * bytes each: more than the stage holds), then a few again must each leave
 * every object allocated so far sealed and read-only. */
static void small_and_large_seals_cover_everything(void)
{
    enum { SMALL = 3, LARGE = 400 * 1024, STEP = 251 };
    seal_cache *c = seal_cache_create("stages", 64, 0, 0);
    static char *objs[SMALL + LARGE + SMALL];
    size_t counts[] = {SMALL, LARGE, SMALL}, n = 0;
    for (size_t round = 0; round < 3; round++) {
        size_t from = n;
        for (size_t i = 0; i < counts[round]; i++) {
            CHECK((objs[n] = seal_cache_alloc(c)) != NULL);
            objs[n++][1] = 'x';
        }
        CHECK(seal_cache_seal(c) == 0);
        for (size_t i = 0; i < n; i += i < from ? STEP : 1 + (n - from) / 64)
            CHECK(seal_is_sealed(objs[i]) == 1 && objs[i][1] == 'x' && kernel_cannot_write(objs[i]));
        CHECK(seal_is_sealed(objs[n - 1]) == 1 && kernel_cannot_write(objs[n - 1]));
    }
    seal_cache_destroy(c);
}

static void sealed_slots_not_reused(void)
{
    seal_cache *c = seal_cache_create("reuse", 32, 0, 0);
    enum { N = 100 };
    char *objs[N];
    for (int i = 0; i < N; i++)
        objs[i] = seal_cache_alloc(c);
    CHECK(seal_cache_seal(c) == 0);
    for (int i = 0; i < N; i += 2)
        seal_cache_free(c, objs[i]);
    for (int i = 0; i < 1000; i++) {
        char *p = seal_cache_alloc(c);
        CHECK(seal_is_sealed(p) == 0);
        for (int k = 0; k < N; k++)
            if (p == objs[k])
                CHECK(!"a slot on a sealed slab was handed out");
    }
    /* Odd objects are still intact and sealed. */
    for (int i = 1; i < N; i += 2)
        CHECK(seal_cache_owns(c, objs[i]) && seal_is_sealed(objs[i]));
    seal_cache_destroy(c);
}

static void free_of_sealed_never_writes(void)
{
    seal_cache *c = seal_cache_create("nowrite", 48, 0, 0);
    char *a = seal_cache_alloc(c), *b = seal_cache_alloc(c);
    memset(a, 'A', 48);
    memset(b, 'B', 48);
    seal_cache_seal(c);
    seal_cache_free(c, a); /* would fault if it wrote */
    CHECK(a[0] == 'A' && a[47] == 'A');
    CHECK(seal_cache_owns(c, a) == 0 && seal_cache_owns(c, b) == 1);
    seal_cache_destroy(c);
}

static void reclaim_returns_memory(void)
{
    seal_cache *c = seal_cache_create("reclaim", 256, 0, 0);
    enum { N = 64 * 1024 }; /* 16 MiB */
    void **objs = malloc(N * sizeof *objs);
    for (int i = 0; i < N; i++) {
        objs[i] = seal_cache_alloc(c);
        memset(objs[i], 1, 256);
    }
    seal_cache_seal(c);
    long full = rss_kib();
    for (int i = 0; i < N; i++)
        seal_cache_free(c, objs[i]);
    long after = rss_kib();
    CHECK(full - after > 12 * 1024); /* most of the 16 MiB came back */
    /* The reclaimed address space is usable again, writable. */
    char *p = seal_cache_alloc(c);
    CHECK(p != NULL && seal_is_sealed(p) == 0);
    p[0] = 1;
    free(objs);
    seal_cache_destroy(c);
}

/* Resident pages of the 64 KiB slab that starts at p (a slab's first
 * object), or -1. */
static int slab_resident_pages(const void *p)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE), slab = 64u << 10;
    unsigned char vec[64];
    if (p == NULL || (uintptr_t)p % pg != 0 || mincore((void *)p, slab, vec) != 0)
        return -1;
    int n = 0;
    for (size_t i = 0; i < slab / pg; i++)
        n += vec[i] & 1;
    return n;
}

static bool kernel_populates(void)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    void *m = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    bool ok = m != MAP_FAILED && madvise(m, pg, MADV_POPULATE_WRITE) == 0;
    if (m != MAP_FAILED)
        munmap(m, pg);
    return ok;
}

/* The first slab, and the first after a seal, commit only the pages their
 * objects touch; a slab that follows a full one is faulted in whole.
 * 64-byte objects: 1024 per 64 KiB slab, handed out in address order. */
static void slabs_after_a_full_one_are_prefaulted(void)
{
    if (!kernel_populates())
        SKIP("kernel without MADV_POPULATE_WRITE");
    int slab_pages = (int)((64u << 10) / (size_t)sysconf(_SC_PAGESIZE));
    seal_cache *c = seal_cache_create("prefault", 64, 64, 0);
    char *first = seal_cache_alloc(c);
    CHECK(slab_resident_pages(first) == 0);
    store_byte(first);
    CHECK(slab_resident_pages(first) == 1);
    for (int i = 1; i < 1024; i++)
        CHECK(seal_cache_alloc(c) != NULL);
    char *second = seal_cache_alloc(c); /* the first slab is full */
    CHECK(second == first + (64u << 10) && slab_resident_pages(second) == slab_pages);
    CHECK(seal_cache_seal(c) == 0);
    char *after_seal = seal_cache_alloc(c); /* on a fresh slab, lazy again */
    store_byte(after_seal);
    CHECK(slab_resident_pages(after_seal) == 1);
    seal_cache_destroy(c);
}

/* The kernel's transparent huge page size if madvise'd memory gets huge
 * pages, else 0 (read independently of the library's own probe). */
static size_t thp_size(void)
{
    char mode[128] = "";
    unsigned long bytes = 0;
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (f != NULL) {
        if (fgets(mode, sizeof mode, f) == NULL)
            mode[0] = 0;
        fclose(f);
    }
    if (strstr(mode, "[always]") == NULL && strstr(mode, "[madvise]") == NULL)
        return 0;
    if ((f = fopen("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", "r")) != NULL) {
        if (fscanf(f, "%lu", &bytes) != 1)
            bytes = 0;
        fclose(f);
    }
    return bytes;
}

/* The mapping that holds p, as /proc/self/smaps describes it. */
struct vma {
    uintptr_t lo, hi;
    char perms[5];
    bool huge_hint; /* VmFlags hg: madvise(MADV_HUGEPAGE) */
};

static bool vma_of(const void *p, struct vma *out)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    char line[512];
    bool found = false;
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        uintptr_t lo, hi;
        char perms[5];
        if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) == 3) {
            if (found)
                break; /* the next mapping: ours had no VmFlags line */
            if ((uintptr_t)p >= lo && (uintptr_t)p < hi) {
                *out = (struct vma){.lo = lo, .hi = hi};
                memcpy(out->perms, perms, sizeof perms);
                found = true;
            }
        } else if (found && strncmp(line, "VmFlags:", 8) == 0) {
            out->huge_hint = strstr(line, " hg") != NULL;
            break;
        }
    }
    if (f != NULL)
        fclose(f);
    return found;
}

/* A cache's slabs are committed one at a time until it has filled a huge
 * page's worth; from then on a new slab is committed up to the next huge
 * page boundary, hinted, so that the kernel can fault in one huge page.
 * A reclaimed slab keeps the hint (its mapping merges with its FREE
 * neighbours instead of adding a line). */
static void growing_caches_are_committed_in_huge_pages(void)
{
    size_t huge = thp_size(), slab = 64u << 10, per_slab = slab / 64;
    if (huge == 0)
        SKIP("no transparent huge pages for madvise'd memory on this kernel");
    seal_cache *c = seal_cache_create("huge", 64, 64, 0);
    size_t n = (huge / slab) * per_slab + 1; /* one object into the second huge page */
    char **objs = malloc(n * sizeof *objs);
    CHECK(c != NULL && objs != NULL);
    for (size_t i = 0; i < n; i++)
        CHECK((objs[i] = seal_cache_alloc(c)) != NULL);
    char *base = objs[0];
    CHECK((uintptr_t)base % huge == 0);
    for (size_t i = 1; i < n; i++)
        CHECK(objs[i] == base + i * 64); /* one arena, in address order */
    struct vma v;
    CHECK(vma_of(objs[n - 1], &v) && strcmp(v.perms, "rw-p") == 0);
    CHECK(v.hi == (uintptr_t)base + 2 * huge && v.huge_hint); /* committed ahead */
    CHECK(seal_cache_seal(c) == 0);
    /* Empty the last slab of the first huge page: it is reclaimed. */
    size_t last_slab = huge / slab - 1;
    for (size_t i = last_slab * per_slab; i < (last_slab + 1) * per_slab; i++)
        seal_cache_free(c, objs[i]);
    char *hole = base + last_slab * slab;
    CHECK(vma_of(hole, &v) && strcmp(v.perms, "---p") == 0 && v.huge_hint);
    CHECK(v.lo == (uintptr_t)hole && v.hi == (uintptr_t)hole + slab);
    free(objs);
    seal_cache_destroy(c);
}

/* The commit ahead is one os call like any other: when it fails, the
 * allocation fails with ENOMEM and nothing moves; the retry commits. */
static void failed_commit_ahead_changes_nothing(void)
{
    size_t huge = thp_size();
    if (huge == 0)
        SKIP("no transparent huge pages for madvise'd memory on this kernel");
    seal_cache *c = seal_cache_create("ahead", 64, 64, 0);
    char *base = seal_cache_alloc(c);
    for (size_t i = 1; i < huge / 64; i++) /* exactly one huge page's worth */
        CHECK(seal_cache_alloc(c) == base + i * 64);
    sl_os_inject_failure(1);
    errno = 0;
    CHECK(seal_cache_alloc(c) == NULL && errno == ENOMEM);
    sl_os_inject_failure(0);
    struct vma v;
    CHECK(vma_of(base + huge, &v) && strcmp(v.perms, "---p") == 0);
    CHECK(seal_cache_alloc(c) == base + huge);
    CHECK(vma_of(base + huge, &v) && strcmp(v.perms, "rw-p") == 0 && v.hi == (uintptr_t)base + 2 * huge);
    seal_cache_destroy(c);
}

static void small_caches_commit_only_their_slabs(void)
{
    size_t slab = 64u << 10;
    seal_cache *c = seal_cache_create("small", 64, 64, 0);
    char *first = seal_cache_alloc(c), *last = first;
    for (size_t i = 1; i < 3 * slab / 64; i++)
        CHECK((last = seal_cache_alloc(c)) != NULL);
    struct vma v;
    CHECK(last == first + 3 * slab - 64);
    CHECK(vma_of(last, &v) && strcmp(v.perms, "rw-p") == 0 && v.hi == (uintptr_t)first + 3 * slab);
    CHECK(vma_of(first + 3 * slab, &v) && strcmp(v.perms, "---p") == 0);
    /* Sealed, then emptied: the last slab's memory goes back, and its
     * mapping joins the reserved rest of the arena. */
    CHECK(seal_cache_seal(c) == 0);
    for (char *p = first + 2 * slab; p <= last; p += 64)
        seal_cache_free(c, p);
    CHECK(vma_of(first + 2 * slab, &v) && strcmp(v.perms, "---p") == 0);
    CHECK(v.lo == (uintptr_t)first + 2 * slab && v.hi > (uintptr_t)first + 3 * slab);
    seal_cache_destroy(c);
}

static void few_mappings_for_many_objects(void)
{
    int base = map_lines();
    seal_cache *c = seal_cache_create("million", 64, 0, 0);
    for (int round = 0; round < 10; round++) {
        for (int i = 0; i < 100000; i++)
            CHECK(seal_cache_alloc(c) != NULL);
        CHECK(seal_cache_seal(c) == 0);
    }
    int grown = map_lines() - base;
    CHECK(grown <= 12);
    if (grown > 12)
        fprintf(stderr, "  maps grew by %d lines\n", grown);
    seal_cache_destroy(c);
}

static void permanent_seal_is_irreversible(void)
{
    if (syscall(462, 0, 0, 0) != 0)
        SKIP("kernel without mseal(2)");
    seal_cache *c = seal_cache_create("perm", 4096, 4096, SEAL_PERMANENT);
    CHECK(c != NULL);
    char *p = seal_cache_alloc(c);
    p[0] = 'x';
    CHECK(seal_cache_seal(c) == 0);
    errno = 0;
    CHECK(mprotect(p, 4096, PROT_READ | PROT_WRITE) == -1 && errno == EPERM);
    errno = 0;
    CHECK(munmap(p, 4096) == -1 && errno == EPERM);
    errno = 0;
    CHECK(madvise(p, 4096, MADV_DONTNEED) == -1 && errno == EPERM);
    errno = 0;
    CHECK(mremap(p, 4096, 8192, MREMAP_MAYMOVE) == MAP_FAILED && errno == EPERM);
    CHECK(p[0] == 'x');
    /* Freed, it stays mapped and sealed (pinned). */
    seal_cache_free(c, p);
    CHECK(seal_is_sealed(p) == 1 && p[0] == 'x');
    seal_cache_destroy(c);
    CHECK(seal_is_sealed(p) == 1 && p[0] == 'x');
}

static void null_free_and_destroy(void)
{
    seal_cache *c = seal_cache_create("null", 8, 0, 0);
    seal_cache_free(c, NULL);
    seal_cache_destroy(NULL);
    seal_cache_destroy(c);
    CHECK(1);
}

int main(void)
{
    RUN(alloc_zeroed_and_aligned);
    RUN(explicit_alignment);
    RUN(bad_arguments);
    RUN(seal_makes_read_only);
    RUN(small_and_large_seals_cover_everything);
    RUN(sealed_slots_not_reused);
    RUN(free_of_sealed_never_writes);
    RUN(reclaim_returns_memory);
    RUN(slabs_after_a_full_one_are_prefaulted);
    RUN(growing_caches_are_committed_in_huge_pages);
    RUN(failed_commit_ahead_changes_nothing);
    RUN(small_caches_commit_only_their_slabs);
    RUN(few_mappings_for_many_objects);
    RUN(permanent_seal_is_irreversible);
    RUN(null_free_and_destroy);
    return check_exit();
}
