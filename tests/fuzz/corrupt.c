/* SPDX-License-Identifier: MIT */
/*
 * corrupt.c - randomized corruption: the data-only attacker of README
 * "Security" as a campaign of single random writes.
 *
 * The parent builds sealed state once: a cache, a pool (slots and large
 * allocations), a write-rare cache and a permanent cache, every object
 * filled with a pattern and sealed, plus open objects after the seal. Each
 * run forks a child that makes one corruption into a byte the library
 * keeps writable (owner state pages, arena partial bitmaps and slab
 * records, magazines, open slab data, and the library's own .data/.bss
 * objects, found in this program's symbol table) and never into a sealed
 * object: a random byte, a bit flip, a random word, a small integer, a
 * pointer to something that matters (a sealed object, an arena, another
 * target), or a swap of two words. It then makes legitimate calls (alloc,
 * free of open and sealed objects, realloc, write-rare, seal, a fork,
 * create and destroy) and checks the promise: every sealed object that
 * was not freed is unchanged and read-only in /proc/self/maps and in a
 * fork child, a store to one faults, and no two live objects overlap.
 *
 * A run ends as "held" (the promise checked out), "sealloc" (the library
 * aborted with its own report), "hung" (a corrupted lock: the run's alarm
 * ends it), "crash" (another signal: a store the corruption led to
 * faulted, or the library crashed without a report) or "broken" (exit 1:
 * the promise did not hold). The program fails only on
 * "broken", and prints the share of each.
 *
 *   corrupt [-s SEED] [-n RUNS]
 */
#include "attacker.h"
#include "meta.h"
#include "owner.h"
#include "magazine.h"
#include "region.h"
#include "sealloc.h"
#include "xorshift.h"

#include <elf.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_TARGETS 4096
#define MAX_VICTIMS 4096
#define MAX_LIVE 8192

struct range {
    uintptr_t lo, hi;
};

int main(int argc, char **argv);

static struct range targets[MAX_TARGETS];
static int n_targets;

struct victim {
    unsigned char *p;
    size_t size;
    unsigned char fill;
    int kind; /* 0: cache, 1: pool, 2: write-rare cache, 3: permanent cache */
};

static struct victim victims[MAX_VICTIMS];
static int n_victims;
static struct range live[MAX_LIVE];
static int n_live;

static seal_cache *cache, *wr_cache, *perm_cache;
static seal_pool *pool;

static uint64_t rng;

static uint64_t next(void) { return xorshift(&rng); }

static void add_target(uintptr_t lo, uintptr_t hi)
{
    if (hi > lo && n_targets < MAX_TARGETS)
        targets[n_targets++] = (struct range){lo, hi};
}

/* ---- the library's writable state ------------------------------------------ */

static void arena_targets(const struct sl_arena *a)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    add_target((uintptr_t)a->partial, (uintptr_t)a->meta + a->meta_size - pg);
    for (uint32_t i = 0; i < arena_hwm(a); i++)
        if (arena_span(a, i)->state == UNIT_OPEN)
            add_target(arena_unit_addr(a, i), arena_unit_addr(a, i) + a->unit);
}

static void owner_targets(struct sl_owner *o, void *ctx)
{
    (void)ctx;
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    size_t st_bytes = sizeof *o->st + o->n_regions * sizeof o->st->cur[0];
    add_target((uintptr_t)o->st, (uintptr_t)o->st + (st_bytes + pg - 1) / pg * pg);
    for (struct sl_mag *m = o->st->mags; m != NULL; m = m->next)
        add_target((uintptr_t)m, (uintptr_t)(m + 1));
    for (unsigned r = 0; r < o->n_regions; r++)
        for (unsigned ai = 0; ai < o->regions[r].n_arenas; ai++)
            arena_targets(o->regions[r].arenas[ai]);
}

/* The library's objects in .data and .bss: this program's local symbols
 * after an STT_FILE symbol that names a file of src/, and its sl_ globals. */
static void library_data_targets(void)
{
    static const char *const files[] = {"cache.c", "fault.c", "guard.c", "lifecycle.c", "magazine.c",
                                        "mechanism.c", "meta.c", "object.c", "os_linux.c", "owner.c",
                                        "pool.c", "query.c", "region.c", "registry.c", "report.c",
                                        "sanitize.c", "slab.c", "stats.c", "writerare.c", "lookup.c", "scope.c"};
    int fd = open("/proc/self/exe", O_RDONLY);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0)
        abort();
    const unsigned char *img = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img;
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(img + eh->e_shoff);
    const char *shstr = (const char *)img + sh[eh->e_shstrndx].sh_offset;
    uintptr_t load = 0; /* a PIE's load bias: where main really is vs. its symbol */
    for (int i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type != SHT_SYMTAB)
            continue;
        const Elf64_Sym *sym = (const Elf64_Sym *)(img + sh[i].sh_offset);
        size_t n = sh[i].sh_size / sizeof *sym;
        const char *str = (const char *)img + sh[sh[i].sh_link].sh_offset;
        for (size_t k = 0; k < n; k++)
            if (strcmp(str + sym[k].st_name, "main") == 0)
                load = (uintptr_t)main - sym[k].st_value;
        bool ours = false;
        for (size_t k = 0; k < n; k++) {
            const char *name = str + sym[k].st_name;
            if (ELF64_ST_TYPE(sym[k].st_info) == STT_FILE) {
                ours = false;
                for (size_t f = 0; f < sizeof files / sizeof files[0]; f++)
                    ours |= strcmp(name, files[f]) == 0;
                continue;
            }
            if (ELF64_ST_TYPE(sym[k].st_info) != STT_OBJECT || sym[k].st_size == 0 ||
                sym[k].st_shndx == SHN_UNDEF || sym[k].st_shndx >= eh->e_shnum)
                continue;
            const char *sec = shstr + sh[sym[k].st_shndx].sh_name;
            bool local = ELF64_ST_BIND(sym[k].st_info) == STB_LOCAL;
            if ((strcmp(sec, ".data") == 0 || strcmp(sec, ".bss") == 0) &&
                ((local && ours) || strncmp(name, "sl_", 3) == 0))
                add_target(load + sym[k].st_value, load + sym[k].st_value + sym[k].st_size);
        }
    }
}

/* ---- the state every run starts from ----------------------------------------- */

static void add_victim(void *p, size_t size, int kind)
{
    unsigned char fill = (unsigned char)(0x10 + n_victims % 200);
    memset(p, fill, size);
    victims[n_victims++] = (struct victim){p, size, fill, kind};
}

static void build(void)
{
    cache = seal_cache_create("corrupt-cache", 64, 0, 0);
    pool = seal_pool_create("corrupt-pool", 0);
    wr_cache = seal_cache_create("corrupt-wr", 128, 0, SEAL_WRITE_RARE);
    perm_cache = seal_cache_create("corrupt-perm", 256, 0, SEAL_PERMANENT);
    if (cache == NULL || pool == NULL)
        abort();
    for (int i = 0; i < 2000; i++)
        add_victim(seal_cache_alloc(cache), 64, 0);
    static const size_t sizes[] = {16, 100, 700, 3000, 20000, 100000};
    for (int i = 0; i < 300; i++) {
        size_t s = sizes[i % 6];
        add_victim(seal_pool_alloc(pool, s), s, 1);
    }
    if (wr_cache != NULL)
        for (int i = 0; i < 50; i++)
            add_victim(seal_cache_alloc(wr_cache), 128, 2);
    if (perm_cache != NULL)
        for (int i = 0; i < 50; i++)
            add_victim(seal_cache_alloc(perm_cache), 256, 3);
    if (seal_cache_seal(cache) || seal_pool_seal(pool) || (wr_cache && seal_cache_seal(wr_cache)) ||
        (perm_cache && seal_cache_seal(perm_cache)))
        abort();
    /* Open objects after the seal: writable data and fresh records. */
    for (int i = 0; i < 100; i++)
        memset(seal_cache_alloc(cache), 0x33, 64);
    for (int i = 0; i < 30; i++)
        memset(seal_pool_alloc(pool, 40), 0x33, 40);
    owner_for_each(owner_targets, NULL);
    library_data_targets();
}

/* ---- one run -------------------------------------------------------------------- */

static uintptr_t random_target_address(size_t align)
{
    for (int tries = 0; tries < 64; tries++) {
        const struct range *t = &targets[next() % (uint64_t)n_targets];
        if (t->hi - t->lo < align)
            continue;
        uintptr_t p = t->lo + next() % (t->hi - t->lo - align + 1);
        p &= ~(uintptr_t)(align - 1);
        if (p >= t->lo && range_writable((void *)p, align))
            return p;
    }
    return 0;
}

static uint64_t interesting_pointer(void)
{
    switch (next() % 4) {
    case 0:
        return (uint64_t)(uintptr_t)victims[next() % (uint64_t)n_victims].p;
    case 1:
        return (uint64_t)random_target_address(8);
    case 2:
        return (uint64_t)(uintptr_t)&sl_globals_page;
    default: {
        const struct range *t = &targets[next() % (uint64_t)n_targets];
        return (uint64_t)t->lo;
    }
    }
}

/* One corruption; returns what it did, for the log. */
static uintptr_t corrupted_at;

static const char *corrupt_once(void)
{
    static const uint64_t small[] = {0, 1, 2, 3, 7, 8, 64, 255, 4096, UINT32_MAX, UINT64_MAX};
    unsigned kind = (unsigned)(next() % 6);
    uintptr_t p = random_target_address(kind <= 1 ? 1 : 8);
    if (p == 0)
        return "nothing (no writable target)";
    corrupted_at = p;
    switch (kind) {
    case 0:
        *(unsigned char *)p = (unsigned char)next();
        return "random byte";
    case 1:
        *(unsigned char *)p ^= (unsigned char)(1u << (next() % 8));
        return "bit flip";
    case 2:
        *(uint64_t *)p = next();
        return "random word";
    case 3:
        *(uint64_t *)p = small[next() % (sizeof small / sizeof small[0])];
        return "small integer";
    case 4:
        *(uint64_t *)p = interesting_pointer();
        return "pointer";
    default: {
        uintptr_t q = random_target_address(8);
        if (q != 0) {
            uint64_t t = *(uint64_t *)p;
            *(uint64_t *)p = *(uint64_t *)q;
            *(uint64_t *)q = t;
        }
        return "swap";
    }
    }
}

static void __attribute__((noreturn)) broken(const char *what)
{
    fprintf(stderr, "BROKEN: %s\n", what);
    _exit(1);
}

static void remember_live(void *p, size_t size)
{
    if (p != NULL && n_live < MAX_LIVE)
        live[n_live++] = (struct range){(uintptr_t)p, (uintptr_t)p + size};
}

static void drop_victim(int i) { victims[i] = victims[--n_victims]; }

/* Legitimate calls after the corruption. */
static void use_the_library(void)
{
    for (int i = 0; i < 60; i++) {
        void *p = seal_cache_alloc(cache);
        if (p != NULL)
            memset(p, 0x77, 64);
        remember_live(p, 64);
    }
    for (int i = 0; i < 20; i++) {
        size_t s = 1 + next() % 30000;
        void *p = seal_pool_alloc(pool, s);
        if (p != NULL)
            memset(p, 0x77, s);
        remember_live(p, s);
    }
    for (int k = 0; k < 40 && n_victims > 0; k++) { /* free sealed objects */
        int i = (int)(next() % (uint64_t)n_victims);
        if (victims[i].kind == 0)
            seal_cache_free(cache, victims[i].p);
        else if (victims[i].kind == 1)
            seal_pool_free(pool, victims[i].p);
        else
            continue;
        drop_victim(i);
    }
    for (int k = 0; k < 3 && n_victims > 0; k++) { /* realloc of a sealed allocation */
        int i = (int)(next() % (uint64_t)n_victims);
        if (victims[i].kind != 1)
            continue;
        struct victim v = victims[i];
        unsigned char *copy = seal_pool_realloc(pool, v.p, v.size + 10);
        drop_victim(i);
        if (copy != NULL) {
            for (size_t b = 0; b < v.size; b++)
                if (copy[b] != v.fill)
                    broken("a realloc copy of a sealed allocation differs");
            remember_live(copy, v.size + 10);
        }
    }
    for (int k = 0; k < n_victims; k++) /* write-rare one object */
        if (victims[k].kind == 2) {
            unsigned char fresh[128];
            memset(fresh, 0xa5, sizeof fresh);
            if (seal_write(victims[k].p, fresh, sizeof fresh) == 0)
                victims[k].fill = 0xa5;
            break;
        }
    seal_cache_seal(cache);
    seal_pool_seal(pool);
    seal_cache_destroy(seal_cache_create("corrupt-other", 32, 0, 0));
}

/* The mappings and their permissions, read once for a whole check. */
static struct map {
    uintptr_t lo, hi;
    char perms[5];
} maps[8192];
static int n_maps;

static void load_maps(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    n_maps = 0;
    while (f != NULL && fgets(line, sizeof line, f) != NULL && n_maps < 8192) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx %4s", &lo, &hi, maps[n_maps].perms) == 3) {
            maps[n_maps].lo = lo;
            maps[n_maps++].hi = hi;
        }
    }
    if (f != NULL)
        fclose(f);
}

/* The permissions of the mapping holding p, or NULL if it is unmapped. */
static const char *perms_of(const void *p)
{
    for (int i = 0; i < n_maps; i++)
        if ((uintptr_t)p >= maps[i].lo && (uintptr_t)p < maps[i].hi)
            return maps[i].perms;
    return NULL;
}

/* The sealed victims: unchanged, and read-only (a pkey-sealed page is
 * read-write in the page tables; its stores fault all the same). */
static void check_victims(const char *where)
{
    bool pkey = strcmp(seal_write_rare_mechanism(), "pkey") == 0;
    load_maps();
    for (int i = 0; i < n_victims; i++) {
        const struct victim *v = &victims[i];
        const char *perms = perms_of(v->p);
        if (perms == NULL || perms[0] != 'r') {
            fprintf(stderr, "BROKEN: %s: sealed object %p is unmapped\n", where, (void *)v->p);
            _exit(1);
        }
        for (size_t b = 0; b < v->size; b++)
            if (v->p[b] != v->fill) {
                fprintf(stderr, "BROKEN: %s: sealed object %p changed at +%zu\n", where,
                        (void *)v->p, b);
                _exit(1);
            }
        if (perms[1] == 'w' && !(pkey && v->kind == 2)) {
            fprintf(stderr, "BROKEN: %s: sealed object %p is on a writable page\n", where,
                    (void *)v->p);
            _exit(1);
        }
    }
    for (int k = 0; k < 4 && n_victims > 0; k++)
        if (!store_faults(victims[next() % (uint64_t)n_victims].p))
            broken("a store to a sealed object landed");
}

static int by_lo(const void *a, const void *b)
{
    const struct range *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static void check_no_overlap(void)
{
    for (int i = 0; i < n_victims; i++)
        remember_live(victims[i].p, victims[i].size);
    qsort(live, (size_t)n_live, sizeof live[0], by_lo);
    for (int i = 1; i < n_live; i++)
        if (live[i].lo < live[i - 1].hi)
            broken("two live objects overlap");
}

static void run(void)
{
    const char *what = corrupt_once();
    fprintf(stderr, "corruption: %s at %p\n", what, (void *)corrupted_at);
    fflush(stderr);
    use_the_library();
    pid_t pid = fork();
    if (pid == 0) {
        check_victims("fork child");
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    if (WIFSIGNALED(st)) /* the fork handler stopped (its report, if any, is on our stderr) */
        raise(WTERMSIG(st) == SIGABRT ? SIGABRT : SIGSEGV);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        broken("the fork child's sealed objects are not what they were");
    check_victims("after the calls");
    check_no_overlap();
    _exit(0);
}

int main(int argc, char **argv)
{
    uint64_t seed = 1;
    long runs = 200;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "-s") == 0)
            seed = strtoull(argv[i + 1], NULL, 0);
        else if (strcmp(argv[i], "-n") == 0)
            runs = strtol(argv[i + 1], NULL, 0);
    }
    build();
    long held = 0, reported = 0, hung = 0, crashed = 0, broke = 0;
    for (long r = 0; r < runs; r++) {
        rng = (seed * 0x9e3779b97f4a7c15ull) ^ (uint64_t)(r + 1) * 0xbf58476d1ce4e5b9ull;
        next();
        int pipefd[2];
        if (pipe(pipefd) != 0)
            abort();
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            setpgid(0, 0); /* the run and its fork children, killed as one */
            dup2(pipefd[1], STDERR_FILENO);
            close(pipefd[0]);
            signal(SIGABRT, SIG_DFL);
            alarm(6); /* past lock.h's patience: a hang that outlasts it ends the run */
            run();
        }
        close(pipefd[1]);
        /* Read until the run has ended, then end its fork children too (one
         * stuck in a forged lock would keep the pipe open forever). */
        char err[4096];
        size_t len = 0;
        int st;
        bool ended = false;
        for (;;) {
            struct pollfd pfd = {pipefd[0], POLLIN, 0};
            if (poll(&pfd, 1, 50) > 0) {
                ssize_t n = read(pipefd[0], err + len, sizeof err - 1 - len);
                if (n > 0) {
                    len += (size_t)n;
                    continue;
                }
                if (n == 0 && ended)
                    break;
            }
            if (!ended && waitpid(pid, &st, WNOHANG) == pid) {
                ended = true;
                kill(-pid, SIGKILL);
            } else if (ended) {
                break;
            }
        }
        err[len] = 0;
        close(pipefd[0]);
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
            held++;
        } else if (WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT && strstr(err, "sealloc:") != NULL) {
            reported++;
        } else if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM) {
            hung++;
            printf("corrupt: run %ld hung after %s", r, err);
        } else if (WIFSIGNALED(st)) {
            crashed++;
        } else {
            broke++;
            printf("FAIL corrupt/seed-%llu-run-%ld: %s", (unsigned long long)seed, r, err);
        }
    }
    printf("corrupt: seed %llu, %ld runs over %d targets: %ld held, %ld sealloc reports, "
           "%ld hung (a corrupted lock), %ld other signals, %ld broken\n",
           (unsigned long long)seed, runs, n_targets, held, reported, hung, crashed, broke);
    printf("%s corrupt/seed-%llu\n", broke == 0 ? "PASS" : "FAIL", (unsigned long long)seed);
    return broke == 0 ? 0 : 1;
}
