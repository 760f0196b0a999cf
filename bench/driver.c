/* SPDX-License-Identifier: MIT */
/*
 * driver.c - the allocator workloads, run against whichever allocator
 * alloc.h is linked to (one process per allocator):
 *
 *   churn SIZE LIVE THREADS OPS ROUNDS
 *       each thread keeps its own LIVE objects live and, OPS times per
 *       round, frees a random one and allocates a replacement (touching
 *       it); result: wall ns per alloc+free pair over all threads (median
 *       of the rounds), so 2 threads on 2 cores ideally halve it.
 *   build N SIZE ROUNDS
 *       set up, allocate and fill N objects, protect them (sealloc: one
 *       seal; libsodium: one mprotect each); result: ns per object.
 *   memory N SIZE
 *       as build once, then the RSS and mappings it added (set-up
 *       included) and the bytes committed in all (what was mapped at
 *       start-up is part of it); then the mappings a second set (sealloc:
 *       a second cache) of one object adds.
 *   maxlive SIZE CAP
 *       allocate, fill and protect objects until the allocator fails or CAP
 *       is reached (sealloc seals every 64Ki objects); result: the count.
 */
#include "alloc.h"
#include "util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct churn {
    size_t size, live, ops;
    int threads, rounds;
    pthread_barrier_t start, done;
};

static void *fill_one(size_t size)
{
    void *p = ba_alloc();
    if (p == NULL)
        return NULL;
    memset(p, 0x5a, size);
    return p;
}

static void *churn_thread(void *arg)
{
    struct churn *c = arg;
    size_t n = c->live;
    void **slot = malloc(n * sizeof *slot);
    uint64_t rng = 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)&n;
    for (size_t i = 0; i < n; i++)
        if ((slot[i] = fill_one(c->size)) == NULL)
            bu_die("churn: fill");
    for (int r = 0; r < c->rounds; r++) {
        pthread_barrier_wait(&c->start);
        for (size_t k = 0; k < c->ops; k++) {
            size_t i = (size_t)(bu_rng(&rng) % n);
            ba_free(slot[i]);
            char *p = ba_alloc();
            if (p == NULL)
                bu_die("churn: alloc");
            p[0] = (char)k;
            slot[i] = p;
        }
        pthread_barrier_wait(&c->done);
    }
    return slot; /* never freed: the process ends */
}

static void churn(char **av)
{
    struct churn c = {.size = bu_parse_count(av[0]), .live = bu_parse_count(av[1]),
                      .threads = atoi(av[2]), .ops = bu_parse_count(av[3]), .rounds = atoi(av[4])};
    if (c.threads < 1 || c.threads > 64 || c.rounds < 1 || c.rounds > 100 || c.live == 0)
        bu_die("churn: bad arguments");
    ba_init(c.size);
    pthread_barrier_init(&c.start, NULL, (unsigned)c.threads + 1);
    pthread_barrier_init(&c.done, NULL, (unsigned)c.threads + 1);
    pthread_t tid[64];
    for (int t = 0; t < c.threads; t++)
        pthread_create(&tid[t], NULL, churn_thread, &c);
    double ns[100];
    for (int r = 0; r < c.rounds; r++) {
        pthread_barrier_wait(&c.start);
        uint64_t t0 = bu_now_ns();
        pthread_barrier_wait(&c.done);
        ns[r] = (double)(bu_now_ns() - t0) / (double)(c.ops * (size_t)c.threads);
    }
    for (int t = 0; t < c.threads; t++)
        pthread_join(tid[t], NULL);
    char b[24];
    bu_result(bu_median(ns, c.rounds), "churn/%s/%s/%dT/%s", av[0],
              bu_count_name(c.live, b), c.threads, ba_name());
}

/* Allocate, fill and protect n objects, kept in objs unless it is NULL
 * (memory mode: no array of ours in the figures); the count reached. */
static size_t build(void **objs, size_t n, size_t size, size_t seal_every)
{
    size_t i;
    for (i = 0; i < n; i++) {
        void *p = fill_one(size);
        if (p == NULL)
            break;
        if (objs != NULL)
            objs[i] = p;
        if (ba_protect_one(p) != 0) {
            ba_free(p);
            break;
        }
        if (seal_every && (i + 1) % seal_every == 0 && ba_seal() != 0)
            return i + 1;
    }
    ba_seal();
    return i;
}

static void build_rounds(char **av)
{
    size_t n = bu_parse_count(av[0]), size = bu_parse_count(av[1]);
    int rounds = atoi(av[2]);
    void **objs = malloc(n * sizeof *objs);
    double ns[100];
    if (rounds < 1 || rounds > 100 || objs == NULL)
        bu_die("build: bad arguments");
    for (int r = 0; r < rounds; r++) {
        uint64_t t0 = bu_now_ns();
        ba_init(size);
        if (build(objs, n, size, 0) != n)
            bu_die("build: %s gave up", ba_name());
        ns[r] = (double)(bu_now_ns() - t0) / (double)n;
        ba_fini(objs, n);
    }
    char b[24];
    bu_result(bu_median(ns, rounds), "build/%s/%s", bu_count_name(n, b), ba_name());
}

static void memory(char **av)
{
    size_t n = bu_parse_count(av[0]), size = bu_parse_count(av[1]);
    struct bu_mem before, after;
    const char *who = ba_name();
    bu_mem_read(&before);
    ba_init(size);
    if (build(NULL, n, size, 0) != n)
        bu_die("memory: %s gave up", who);
    bu_mem_read(&after);
    bu_result((double)(n * size), "mem.payload/%s", who);
    bu_result((double)(after.rss - before.rss), "mem.rss/%s", who);
    bu_result((double)after.committed, "mem.committed/%s", who);
    bu_result((double)(after.lines - before.lines), "mem.maps/%s", who);
    bu_mem_read(&before); /* a second set (cache) of one object */
    ba_init(size);
    if (build(NULL, 1, size, 0) != 1)
        bu_die("memory: %s gave up", who);
    bu_mem_read(&after);
    bu_result((double)(after.lines - before.lines), "mem.maps1/%s", who);
}

static void maxlive(char **av)
{
    size_t size = bu_parse_count(av[0]), cap = bu_parse_count(av[1]);
    if (cap == 0 || !ba_protects())
        bu_die("maxlive: bad arguments or an allocator that protects nothing");
    ba_init(size);
    size_t n = build(NULL, cap, size, 64 * 1024);
    struct bu_mem m;
    bu_mem_read(&m);
    bu_result((double)n, "maxlive/%s", ba_name());
    bu_result((double)cap, "maxlive.cap/%s", ba_name());
    bu_result((double)m.lines, "maxlive.maps/%s", ba_name());
}

int main(int argc, char **argv)
{
    static const struct {
        const char *mode;
        int args;
        void (*fn)(char **);
    } modes[] = {{"churn", 5, churn}, {"build", 3, build_rounds}, {"memory", 2, memory},
                 {"maxlive", 2, maxlive}};
    for (size_t i = 0; argc > 1 && i < sizeof modes / sizeof *modes; i++)
        if (strcmp(argv[1], modes[i].mode) == 0 && argc == modes[i].args + 2) {
            modes[i].fn(argv + 2);
            return 0;
        }
    fprintf(stderr, "usage: %s churn SIZE LIVE THREADS OPS ROUNDS | build N SIZE ROUNDS |"
                    " memory N SIZE | maxlive SIZE CAP\n", argv[0]);
    return 2;
}
