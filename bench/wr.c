/* SPDX-License-Identifier: MIT */
/*
 * wr.c - write-rare latency against the raw system calls it is built on:
 *
 *   wr OPS ROUNDS
 *
 * A SEAL_WRITE_RARE cache of 1Ki sealed 64-byte objects; each round times
 * up to OPS calls of each of (the round stops after 20 ms per kind),
 * interleaved in short batches so that load hits all alike, each call at
 * the next object (the raw calls at the same offsets of as many bytes of
 * their own):
 *   write/sealloc         seal_write() of 8 bytes
 *   write/pwrite-memfd    pwrite(2) of 8 bytes into a memfd whose shared
 *                         mapping is read-only (the "memfd" mechanism)
 *   write/pwrite-procmem  pwrite(2) of 8 bytes to /proc/self/mem at a
 *                         read-only private page (the "procmem" mechanism)
 *   ptr/sealloc           seal_write_ptr()
 *   ptr/mmap-alias        map a one-page writable alias of the memfd at a
 *                         random hint, one release store, unmap
 *   toggle/mprotect       mprotect RW, store, mprotect RO (reference only:
 *                         the window write-rare must never open)
 * Results: ns per call (medians) and the median of the per-round ratios
 * of sealloc to the raw call of its mechanism (".../ratio"), keyed
 * "wr.<mechanism>.*" for sealloc's calls and "wr.raw.*" for the rest;
 * run it once per mechanism (SEALLOC_WRITE_RARE=memfd|procmem).
 * "I wr.mechanism" names the one in use.
 */
#include "sealloc.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define NOBJ 1024
#define PG 4096
#define BYTES (NOBJ * 64) /* the raw calls write the same offsets in as many bytes */
#define MAX_ROUNDS 64
#define BUDGET_NS 20000000u /* per kind and round on average: slow calls stop early */

enum { W_SEAL, W_MEMFD, W_PROCMEM, P_SEAL, P_ALIAS, T_MPROTECT, N_KINDS };
static const char *const kind_key[N_KINDS] = {
    "%s.write/sealloc", "raw.write/pwrite-memfd", "raw.write/pwrite-procmem",
    "%s.ptr/sealloc", "raw.ptr/mmap-alias", "raw.toggle/mprotect"};

static char *objs[NOBJ];
static off_t file_off[NOBJ]; /* where each object lives in memfd */
static int memfd, procmem;
static char *ro_private;
static uint64_t rng = 88172645463325252ull;

static void one(int kind, size_t k)
{
    uint64_t v = k;
    size_t i = k % NOBJ, off = i * 64 + 8, page = off & ~(size_t)(PG - 1);
    switch (kind) {
    case W_SEAL:
        if (seal_write(objs[i] + 8, &v, 8) != 0)
            bu_die("seal_write");
        break;
    case W_MEMFD:
        if (pwrite(memfd, &v, 8, file_off[i] + 8) != 8)
            bu_die("pwrite memfd");
        break;
    case W_PROCMEM:
        if (pwrite(procmem, &v, 8, (off_t)(uintptr_t)(ro_private + off)) != 8)
            bu_die("pwrite /proc/self/mem");
        break;
    case P_SEAL:
        if (seal_write_ptr(objs[i] + 16, (void *)(uintptr_t)v) != 0)
            bu_die("seal_write_ptr");
        break;
    case P_ALIAS: {
        off_t at = file_off[i] + 16, pg = at & ~(off_t)(PG - 1);
        void *hint = (void *)(uintptr_t)(((1ull << 45) + bu_rng(&rng) % (1ull << 45)) & ~(uint64_t)(PG - 1));
        char *a = mmap(hint, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED_NOREPLACE, memfd, pg);
        if (a == MAP_FAILED)
            a = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, pg);
        if (a == MAP_FAILED)
            bu_die("mmap alias");
        atomic_store_explicit((_Atomic uint64_t *)(a + (at - pg)), v, memory_order_release);
        munmap(a, PG);
        break;
    }
    case T_MPROTECT:
        if (mprotect(ro_private + page, PG, PROT_READ | PROT_WRITE) != 0)
            bu_die("mprotect");
        ((volatile uint64_t *)ro_private)[off / 8] = v;
        mprotect(ro_private + page, PG, PROT_READ);
        break;
    }
}

/* The memfd behind the sealed objects (found through /proc/self/maps and
 * /proc/self/fd) and each object's offset in it, so that the raw calls
 * write the very bytes seal_write() does; -1 if they are not memfd-backed. */
static int backing_memfd(void)
{
    char line[512], path[256] = "", want[300], link[300];
    FILE *f = fopen("/proc/self/maps", "r");
    for (int i = 0; f != NULL && i < NOBJ; i++) {
        rewind(f);
        file_off[i] = -1;
        while (fgets(line, sizeof line, f)) {
            unsigned long lo, hi, off;
            if (sscanf(line, "%lx-%lx %*s %lx %*s %*s %255s", &lo, &hi, &off, path) == 4 &&
                (uintptr_t)objs[i] - lo < hi - lo && strncmp(path, "/memfd:", 7) == 0)
                file_off[i] = (off_t)(off + ((uintptr_t)objs[i] - lo));
        }
        if (file_off[i] < 0) {
            fclose(f);
            return -1;
        }
    }
    if (f != NULL)
        fclose(f);
    snprintf(want, sizeof want, "%s (deleted)", path);
    for (int fd = 3; fd < 1024; fd++) {
        char name[64];
        snprintf(name, sizeof name, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(name, link, sizeof link - 1);
        if (n > 0 && (link[n] = 0, strcmp(link, want) == 0))
            return fd;
    }
    return -1;
}

/* One round: every kind in turn (in a new random order each pass, so that
 * no kind always follows the same one), in batches of about 200 us, until
 * each kind made ops calls or the round's budget is spent, so that all
 * kinds see the same load; ns[kind][r] = ns per call. */
static void round_of(double ns[][MAX_ROUNDS], int r, size_t ops, bool no_ptr)
{
    double t[N_KINDS] = {0};
    size_t done[N_KINDS] = {0}, batch[N_KINDS];
    for (int kind = 0; kind < N_KINDS; kind++)
        batch[kind] = 1;
    uint64_t start = bu_now_ns();
    bool more = true;
    int order[N_KINDS];
    for (int i = 0; i < N_KINDS; i++)
        order[i] = i;
    while (more && bu_now_ns() - start < BUDGET_NS * N_KINDS) {
        more = false;
        for (int i = N_KINDS - 1; i > 0; i--) { /* a new order each pass */
            int j = (int)(bu_rng(&rng) % (uint64_t)(i + 1)), o = order[i];
            order[i] = order[j], order[j] = o;
        }
        for (int i = 0; i < N_KINDS; i++) {
            int kind = order[i];
            if ((kind == P_SEAL && no_ptr) || done[kind] >= ops)
                continue;
            uint64_t t0 = bu_now_ns();
            for (size_t j = 0; j < batch[kind]; j++)
                one(kind, done[kind]++);
            t[kind] += (double)(bu_now_ns() - t0);
            double per = t[kind] / (double)done[kind];
            batch[kind] = per > 200000 ? 1 : per < 800 ? 256 : (size_t)(200000 / per);
            more = true;
        }
    }
    for (int kind = 0; kind < N_KINDS; kind++)
        ns[kind][r] = done[kind] ? t[kind] / (double)done[kind] : 0;
}

static void setup(void)
{
    seal_cache *c = seal_cache_create("bench-wr", 64, 0, SEAL_WRITE_RARE);
    if (c == NULL)
        bu_die("seal_cache_create");
    for (int i = 0; i < NOBJ; i++)
        if ((objs[i] = seal_cache_alloc(c)) == NULL)
            bu_die("seal_cache_alloc");
    if (seal_cache_seal(c) != 0)
        bu_die("seal_cache_seal");
    memfd = backing_memfd();
    if (memfd < 0) { /* not memfd-backed: a memfd of our own, same offsets */
        memfd = memfd_create("bench-wr", MFD_CLOEXEC);
        if (memfd < 0 || ftruncate(memfd, BYTES) != 0 ||
            mmap(NULL, BYTES, PROT_READ, MAP_SHARED, memfd, 0) == MAP_FAILED)
            bu_die("memfd");
        for (int i = 0; i < NOBJ; i++)
            file_off[i] = i * 64;
    }
    procmem = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
    ro_private = mmap(NULL, BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (procmem < 0 || ro_private == MAP_FAILED)
        bu_die("/proc/self/mem");
    memset(ro_private, 1, BYTES);
    mprotect(ro_private, BYTES, PROT_READ);
}

int main(int argc, char **argv)
{
    if (argc != 3)
        bu_die("usage: bench-wr OPS ROUNDS");
    size_t ops = bu_parse_count(argv[1]);
    int rounds = atoi(argv[2]);
    if (ops == 0 || rounds < 1 || rounds > MAX_ROUNDS)
        bu_die("bad arguments");
    setup();
    const char *mech = seal_write_rare_mechanism();
    printf("I wr.mechanism %s\n", mech);
    /* procmem cannot store a pointer atomically: ENOTSUP, by design */
    bool no_ptr = seal_write_ptr(objs[0] + 16, NULL) != 0 && errno == ENOTSUP;
    static double ns[N_KINDS][MAX_ROUNDS];
    for (int r = 0; r < rounds; r++)
        round_of(ns, r, ops, no_ptr);
    int raw = strcmp(mech, "procmem") == 0 ? W_PROCMEM : W_MEMFD;
    bu_result(bu_median_ratio(ns[W_SEAL], ns[raw], rounds), "wr.%s.write/ratio", mech);
    if (!no_ptr)
        bu_result(bu_median_ratio(ns[P_SEAL], ns[P_ALIAS], rounds), "wr.%s.ptr/ratio", mech);
    char key[64];
    for (int kind = 0; kind < N_KINDS; kind++) {
        if (kind == P_SEAL && no_ptr)
            continue;
        snprintf(key, sizeof key, kind_key[kind], mech);
        bu_result(bu_median(ns[kind], rounds), "wr.%s", key);
    }
    return 0;
}
