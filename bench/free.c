/* SPDX-License-Identifier: MIT */
/*
 * free.c - the free of a sealed object against the system call it costs:
 *
 *   free LABEL N ROUNDS
 *
 * Per round: a fresh cache of N 64-byte objects, filled and sealed, then
 * every second object freed (timed): no slab empties, so nothing is
 * reclaimed and the figure is the free itself, not the teardown. Then as
 * many pwrite(2)s of 8 bytes to /proc/self/mem at a read-only private page
 * of our own: the kernel-mediated write a sealed free makes into its
 * read-only span record (src/region.c, region_sealed_free), its floor.
 * Results: ns per free and per pwrite (medians) and the median of the
 * per-round ratios, keyed "free/LABEL/...".
 *
 * The same object is linked against today's library (LABEL "sealloc") and
 * against the library as it was before span records became read-only
 * (bench-free-base, LABEL its git revision; mk/bench.mk builds it from git),
 * so the old figure is measured in the same run as the new one.
 */
#include "sealloc.h"
#include "util.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define OBJ 64
#define RAW_BYTES (64 * 1024)
#define MAX_ROUNDS 64

static double free_round(void **objs, size_t n)
{
    seal_cache *c = seal_cache_create("bench-free", OBJ, 0, 0);
    if (c == NULL)
        bu_die("seal_cache_create");
    for (size_t i = 0; i < n; i++) {
        if ((objs[i] = seal_cache_alloc(c)) == NULL)
            bu_die("seal_cache_alloc");
        memset(objs[i], 0x5a, OBJ);
    }
    if (seal_cache_seal(c) != 0)
        bu_die("seal_cache_seal");
    uint64_t t0 = bu_now_ns();
    for (size_t i = 0; i < n; i += 2)
        seal_cache_free(c, objs[i]);
    double ns = (double)(bu_now_ns() - t0) / (double)((n + 1) / 2);
    seal_cache_destroy(c);
    return ns;
}

/* As many 8-byte pwrites as the round freed, at successive 64-byte
 * offsets of a touched read-only private mapping; ns per call. */
static double raw_round(int fd, char *ro, size_t n)
{
    size_t calls = (n + 1) / 2;
    uint64_t t0 = bu_now_ns();
    for (size_t k = 0; k < calls; k++) {
        uint64_t v = k;
        off_t at = (off_t)(uintptr_t)(ro + k * OBJ % RAW_BYTES);
        if (pwrite(fd, &v, sizeof v, at) != (ssize_t)sizeof v)
            bu_die("pwrite /proc/self/mem");
    }
    return (double)(bu_now_ns() - t0) / (double)calls;
}

int main(int argc, char **argv)
{
    if (argc != 4)
        bu_die("usage: bench-free LABEL N ROUNDS");
    const char *label = argv[1];
    size_t n = bu_parse_count(argv[2]);
    int rounds = atoi(argv[3]);
    if (n < 2 || rounds < 1 || rounds > MAX_ROUNDS)
        bu_die("N must be at least 2, ROUNDS 1..%d", MAX_ROUNDS);
    void **objs = malloc(n * sizeof *objs);
    int fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
    char *ro = mmap(NULL, RAW_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (objs == NULL || fd < 0 || ro == MAP_FAILED)
        bu_die("set-up");
    memset(ro, 1, RAW_BYTES);
    if (mprotect(ro, RAW_BYTES, PROT_READ) != 0)
        bu_die("mprotect");
    double ours[MAX_ROUNDS], raw[MAX_ROUNDS];
    for (int r = 0; r < rounds; r++) {
        ours[r] = free_round(objs, n);
        raw[r] = raw_round(fd, ro, n);
    }
    bu_result(bu_median_ratio(ours, raw, rounds), "free/%s/ratio", label);
    bu_result(bu_median(ours, rounds), "free/%s/sealloc", label);
    bu_result(bu_median(raw, rounds), "free/%s/pwrite-procmem", label);
    return 0;
}
