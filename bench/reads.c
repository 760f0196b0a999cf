/* SPDX-License-Identifier: MIT */
/*
 * reads.c - reading sealed objects against the same objects in malloc
 * memory (glibc, in this process):
 *
 *   reads N ROUNDS
 *
 * N 64-byte nodes are allocated in each place, in the same order, and
 * linked into the same random cycle; the sealloc ones are then sealed.
 * Each round times, for each place, interleaved:
 *   chase  following the cycle for 256Ki steps (latency-bound: caches, TLB)
 *   scan   summing one field of every node in allocation order (through an
 *          array of their addresses, the same for both), 256Ki nodes or one
 *          pass at least
 *   require  the sealed chase with seal_cache_require() in front of every
 *          node, as a program that checks provenance before each use would
 * Results: ns per node (medians) and the median of the per-round ratios.
 */
#include "sealloc.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>

#define MAX_ROUNDS 64
#define WORK (256u << 10) /* nodes visited per timing: about a millisecond */

struct node {
    struct node *next;
    uint64_t val;
    char pad[48];
};

static volatile uint64_t sink;

static double chase(struct node *start)
{
    size_t n = WORK;
    uint64_t t0 = bu_now_ns();
    struct node *p = start;
    for (size_t i = 0; i < n; i++)
        p = p->next;
    double ns = (double)(bu_now_ns() - t0) / (double)n;
    sink = (uint64_t)(uintptr_t)p;
    return ns;
}

static double chase_required(const seal_cache *c, struct node *start)
{
    size_t n = WORK;
    uint64_t t0 = bu_now_ns();
    struct node *p = start;
    for (size_t i = 0; i < n; i++) {
        seal_cache_require(c, p);
        p = p->next;
    }
    double ns = (double)(bu_now_ns() - t0) / (double)n;
    sink = (uint64_t)(uintptr_t)p;
    return ns;
}

static double scan(struct node **nodes, size_t n)
{
    size_t passes = n >= WORK ? 1 : WORK / n;
    uint64_t t0 = bu_now_ns(), sum = 0;
    for (size_t k = 0; k < passes; k++)
        for (size_t i = 0; i < n; i++)
            sum += nodes[i]->val;
    double ns = (double)(bu_now_ns() - t0) / (double)(passes * n);
    sink = sum;
    return ns;
}

/* Link nodes into the cycle given by perm. */
static void link_cycle(struct node **nodes, const size_t *perm, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        nodes[perm[i]]->next = nodes[perm[(i + 1) % n]];
        nodes[perm[i]]->val = i;
    }
}

int main(int argc, char **argv)
{
    if (argc != 3)
        bu_die("usage: bench-reads N ROUNDS");
    size_t n = bu_parse_count(argv[1]);
    int rounds = atoi(argv[2]);
    if (n < 2 || rounds < 1 || rounds > MAX_ROUNDS)
        bu_die("bad arguments");
    seal_cache *c = seal_cache_create("bench-reads", sizeof(struct node), 0, 0);
    struct node **sealed = malloc(n * sizeof *sealed), **heap = malloc(n * sizeof *heap);
    size_t *perm = malloc(n * sizeof *perm);
    if (c == NULL || sealed == NULL || heap == NULL || perm == NULL)
        bu_die("setup");
    uint64_t rng = 0x1234567887654321ull;
    for (size_t i = 0; i < n; i++) {
        perm[i] = i;
        sealed[i] = seal_cache_alloc(c);
        heap[i] = malloc(sizeof(struct node));
        if (sealed[i] == NULL || heap[i] == NULL)
            bu_die("alloc");
    }
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)(bu_rng(&rng) % (i + 1)), t = perm[i];
        perm[i] = perm[j], perm[j] = t;
    }
    link_cycle(sealed, perm, n);
    link_cycle(heap, perm, n);
    if (seal_cache_seal(c) != 0)
        bu_die("seal_cache_seal");
    double ns[5][MAX_ROUNDS];
    for (int r = 0; r < rounds; r++) {
        ns[0][r] = chase(sealed[0]);
        ns[1][r] = chase(heap[0]);
        ns[2][r] = scan(sealed, n);
        ns[3][r] = scan(heap, n);
        ns[4][r] = chase_required(c, sealed[0]);
    }
    char b[24];
    bu_count_name(n, b);
    bu_result(bu_median_ratio(ns[0], ns[1], rounds), "read.chase/%s/ratio", b);
    bu_result(bu_median_ratio(ns[2], ns[3], rounds), "read.scan/%s/ratio", b);
    bu_result(bu_median(ns[0], rounds), "read.chase/%s/sealed", b);
    bu_result(bu_median(ns[1], rounds), "read.chase/%s/malloc", b);
    bu_result(bu_median(ns[2], rounds), "read.scan/%s/sealed", b);
    bu_result(bu_median(ns[3], rounds), "read.scan/%s/malloc", b);
    bu_result(bu_median_ratio(ns[4], ns[0], rounds), "read.require/%s/ratio", b);
    bu_result(bu_median(ns[4], rounds), "read.require/%s/checked", b);
    return 0;
}
