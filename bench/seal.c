/* SPDX-License-Identifier: MIT */
/*
 * seal.c - the seal alone against the page-table change it makes:
 *
 *   seal N ROUNDS [REV]
 *
 * Per round: build N 64-byte objects in a fresh cache, time
 * seal_cache_seal(); then map as many bytes as the objects span, touch
 * every page (so the kernel has the same page-table entries to change:
 * same alignment, same page sizes) and time one mprotect(PROT_READ) over
 * them. The same again with
 * SEAL_PERMANENT against mprotect + mseal(2) (skipped where the kernel has
 * no mseal). Permanent memory cannot be unmapped, so those rounds leak on
 * purpose until the process ends. Results: ns per seal, medians,
 * and the median of the per-round ratios (key .../ratio). With REV (the
 * program linked against the library of that git revision, mk/bench.mk),
 * every key ends in "@REV".
 *
 * On this project's VM the same mprotect over the same bytes varies
 * several-fold with what ran before it (89 to 530 us for 16 MiB in one
 * test), which blurs that ratio. So the program is linked with --wrap=mprotect, --wrap=pwrite and
 * --wrap=syscall
 * (mk/bench.mk) and also reports the seal's own work: its time outside the
 * system calls it makes (key .../own), which that noise does not reach.
 */
#include "sealloc.h"
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_mseal
#define SYS_mseal 462
#endif

#define OBJ 64
#define MAX_ROUNDS 64

/* Time spent in mprotect(2), pwrite(2) (the library's kernel-mediated
 * metadata writes) and syscall(2) (mseal, membarrier), in this program and
 * the library linked into it. */
static uint64_t in_calls_ns;

int __real_mprotect(void *addr, size_t len, int prot);
int __wrap_mprotect(void *addr, size_t len, int prot);
ssize_t __real_pwrite(int fd, const void *buf, size_t len, off_t off);
ssize_t __wrap_pwrite(int fd, const void *buf, size_t len, off_t off);
long __real_syscall(long nr, ...);
long __wrap_syscall(long nr, ...);

int __wrap_mprotect(void *addr, size_t len, int prot)
{
    uint64_t t0 = bu_now_ns();
    int rc = __real_mprotect(addr, len, prot);
    int err = errno;
    in_calls_ns += bu_now_ns() - t0;
    errno = err;
    return rc;
}

ssize_t __wrap_pwrite(int fd, const void *buf, size_t len, off_t off)
{
    uint64_t t0 = bu_now_ns();
    ssize_t rc = __real_pwrite(fd, buf, len, off);
    int err = errno;
    in_calls_ns += bu_now_ns() - t0;
    errno = err;
    return rc;
}

/* Linux system calls take at most six arguments, passed as longs. */
long __wrap_syscall(long nr, ...)
{
    long arg[6];
    va_list ap;
    va_start(ap, nr);
    for (int i = 0; i < 6; i++)
        arg[i] = va_arg(ap, long);
    va_end(ap);
    uint64_t t0 = bu_now_ns();
    long rc = __real_syscall(nr, arg[0], arg[1], arg[2], arg[3], arg[4], arg[5]);
    int err = errno;
    in_calls_ns += bu_now_ns() - t0;
    errno = err;
    return rc;
}

/* Build n objects in a new cache; [*lo, *hi): the pages they span. */
static seal_cache *build(size_t n, unsigned flags, uintptr_t *lo, uintptr_t *hi)
{
    seal_cache *c = seal_cache_create("bench-seal", OBJ, 0, flags);
    if (c == NULL)
        bu_die("seal_cache_create");
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    *lo = UINTPTR_MAX, *hi = 0;
    for (size_t i = 0; i < n; i++) {
        char *p = seal_cache_alloc(c);
        if (p == NULL)
            bu_die("seal_cache_alloc");
        memset(p, 0x5a, OBJ);
        uintptr_t a = (uintptr_t)p;
        *lo = a < *lo ? a : *lo;
        *hi = a + OBJ > *hi ? a + OBJ : *hi;
    }
    *lo &= ~(uintptr_t)(pg - 1);
    *hi = (*hi + pg - 1) & ~(uintptr_t)(pg - 1);
    return c;
}

/* One mprotect (and mseal) over len fresh, touched bytes; ns. The bytes
 * get the page sizes sealloc gives a cache of that size (src/region.h):
 * they start on a huge page boundary, the first huge page's worth is
 * faulted in base pages, the rest in huge pages where the kernel has them
 * (the last one whole, then split by the mprotect, as sealloc's is). */
static double raw_seal(size_t len, int permanent)
{
    size_t huge = bu_huge_page_size(), pg = (size_t)sysconf(_SC_PAGESIZE);
    size_t span = huge != 0 ? (len + huge - 1) / huge * huge : len;
    size_t map = huge != 0 ? span + huge : len;
    char *m = mmap(NULL, map, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        bu_die("mmap");
    char *s = huge != 0 ? (char *)(((uintptr_t)m + huge - 1) & ~(uintptr_t)(huge - 1)) : m;
    size_t off = 0;
    for (; off < len && off < huge; off += pg)
        s[off] = 1;
    if (huge != 0)
        madvise(m, map, MADV_HUGEPAGE);
    for (; off < len; off += pg)
        s[off] = 1;
    uint64_t t0 = bu_now_ns();
    if (mprotect(s, len, PROT_READ) != 0 || (permanent && syscall(SYS_mseal, s, len, 0UL) != 0))
        bu_die("mprotect/mseal");
    double ns = (double)(bu_now_ns() - t0);
    if (!permanent)
        munmap(m, map);
    return ns;
}

/* "" or "@REV": which library the keys are about. */
static char build_tag[48];

static void run(size_t n, int rounds, int permanent)
{
    double ours[MAX_ROUNDS], own[MAX_ROUNDS], raw[MAX_ROUNDS];
    for (int r = 0; r < rounds; r++) {
        uintptr_t lo, hi;
        /* Each timed call comes right after its own set-up, as in a
         * program. (Not interleaved: on this project's VM the first memory
         * touches after a large mprotect are slow, so a raw mprotect just
         * before the seal made the seal's reads of its metadata pay for
         * it, up to 1.8 ms, while the raw call never touches memory.) */
        seal_cache *c = build(n, permanent ? SEAL_PERMANENT : 0, &lo, &hi);
        in_calls_ns = 0;
        uint64_t t0 = bu_now_ns();
        if (seal_cache_seal(c) != 0)
            bu_die("seal_cache_seal");
        ours[r] = (double)(bu_now_ns() - t0);
        own[r] = ours[r] - (double)in_calls_ns;
        seal_cache_destroy(c);
        raw[r] = raw_seal(hi - lo, permanent);
    }
    char b[24];
    const char *kind = permanent ? "sealp" : "seal";
    const char *t = build_tag;
    bu_result(bu_median_ratio(ours, raw, rounds), "%s/%s/ratio%s", kind, bu_count_name(n, b), t);
    bu_result(bu_median(ours, rounds), "%s/%s/sealloc%s", kind, b, t);
    bu_result(bu_median(own, rounds), "%s/%s/own%s", kind, b, t);
    bu_result(bu_median(raw, rounds), "%s/%s/%s%s", kind, b, permanent ? "mprotect+mseal" : "mprotect", t);
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4 || strcmp(argv[1], "--help") == 0)
        bu_die("usage: bench-seal N ROUNDS [REV]");
    if (argc == 4)
        snprintf(build_tag, sizeof build_tag, "@%s", argv[3]);
    size_t n = bu_parse_count(argv[1]);
    int rounds = atoi(argv[2]);
    if (rounds < 1 || rounds > MAX_ROUNDS)
        bu_die("ROUNDS must be 1..%d", MAX_ROUNDS);
    run(n, rounds, 0);
    errno = 0;
    if (syscall(SYS_mseal, 0UL, 0UL, 0UL) == 0)
        run(n, rounds, 1);
    else
        printf("# no mseal(2) on this kernel: permanent seal not measured\n");
    return 0;
}
