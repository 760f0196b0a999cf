/* SPDX-License-Identifier: MIT */
/*
 * stats.c - seal_cache_stats(), seal_pool_stats(), seal_stats_print() and
 * SEALLOC_STATS=1 at exit.
 *
 * Every figure is derived from the span records at the time of the call
 * (under the owner's lock), so the figures can never drift from the state
 * they describe: live and sealed objects, spans (slabs or page runs),
 * bytes committed (OPEN and SEALED spans, whole), sealed and pinned
 * (mseal'd spans, which cannot be given back), and resident: the pages of
 * every span that is not FREE that the process's own memory backs, asked
 * of the kernel (sl_os_resident(), once per run of adjacent spans), since
 * a span is committed whole but written page by page. Seals and unseals
 * are counted by lifecycle.c, in the owner's state.
 * The printer reads each owner through the public calls, so the table
 * shows exactly what a program gets.
 */
#include "sealloc.h"

#include "os.h"
#include "owner.h"
#include "slab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(struct seal_stats) == 128, "struct seal_stats keeps its size: "
                                                 "new fields take reserved words");

/* The tally, and the run of address-adjacent spans whose residency is
 * asked for in one call (spans come in address order within an arena). */
struct tally {
    struct seal_stats *t;
    uintptr_t run, run_end;
};

static void flush_run(struct tally *y)
{
    if (y->run_end != y->run)
        y->t->resident_bytes += sl_os_resident((const void *)y->run, y->run_end - y->run);
    y->run = y->run_end = 0;
}

static void count_span(const struct sl_arena *a, uint32_t idx, const struct sl_span *s, void *ctx)
{
    struct tally *y = ctx;
    struct seal_stats *t = y->t;
    size_t bytes = (size_t)s->span * a->unit;
    uint32_t live = a->region->slots != 0 ? slab_live_count(a, idx, s) : s->live;
    uintptr_t start = arena_unit_addr(a, idx);
    if (start != y->run_end)
        flush_run(y);
    if (y->run_end == 0)
        y->run = start;
    y->run_end = start + bytes;
    t->spans++;
    t->live += live;
    if (s->state == UNIT_OPEN || s->state == UNIT_SEALED)
        t->committed_bytes += bytes;
    if (s->state == UNIT_SEALED) {
        t->sealed_bytes += bytes;
        t->sealed += live;
    }
    if (s->msealed)
        t->pinned_bytes += bytes;
}

static int owner_stats(struct sl_owner *o, struct seal_stats *out)
{
    if (out == NULL) {
        errno = EINVAL;
        return -1;
    }
    struct seal_stats t = {
        .version = SEAL_STATS_VERSION,
        .flags = o->flags,
        .object_size = o->magic == OWNER_CACHE ? o->obj_size : 0,
    };
    struct tally y = {.t = &t};
    owner_lock(o);
    for (unsigned i = 0; i < o->n_regions; i++)
        region_for_each_span(&o->regions[i], count_span, &y);
    flush_run(&y);
    t.seals = o->st->seals;
    t.unseals = o->st->unseals;
    owner_unlock(o);
    *out = t;
    return 0;
}

int seal_cache_stats(seal_cache *c, struct seal_stats *out)
{
    return owner_stats(owner_validate(c, OWNER_CACHE, "seal_cache_stats"), out);
}

int seal_pool_stats(seal_pool *p, struct seal_stats *out)
{
    return owner_stats(owner_validate(p, OWNER_POOL, "seal_pool_stats"), out);
}

static void print_owner(struct sl_owner *o, void *ctx)
{
    FILE *out = ctx;
    struct seal_stats s;
    char size[24] = "-";
    if (o->magic == OWNER_CACHE)
        seal_cache_stats((seal_cache *)o, &s);
    else
        seal_pool_stats((seal_pool *)o, &s);
    if (s.object_size != 0)
        snprintf(size, sizeof size, "%llu", (unsigned long long)s.object_size);
    fprintf(out, "%-6s %-20.20s %8s %10llu %10llu %7llu %12llu %12llu %12llu %12llu %6llu %7llu\n",
            owner_kind(o), o->name, size, (unsigned long long)s.live,
            (unsigned long long)s.sealed, (unsigned long long)s.spans,
            (unsigned long long)s.committed_bytes, (unsigned long long)s.resident_bytes,
            (unsigned long long)s.sealed_bytes, (unsigned long long)s.pinned_bytes,
            (unsigned long long)s.seals, (unsigned long long)s.unseals);
}

void seal_stats_print(FILE *out)
{
    if (out == NULL)
        out = stderr;
    fprintf(out, "sealloc stats (write-rare: %s)\n", seal_write_rare_mechanism());
    fprintf(out, "%-6s %-20s %8s %10s %10s %7s %12s %12s %12s %12s %6s %7s\n", "kind", "name",
            "objsize", "live", "sealed", "spans", "committed", "resident", "sealed_b",
            "pinned_b", "seals", "unseals");
    owner_for_each(print_owner, out);
    size_t orphan = owner_pinned_after_destroy();
    if (orphan != 0)
        fprintf(out, "pinned by destroyed permanent owners: %zu bytes\n", orphan);
    fflush(out);
}

static void stats_at_exit(void) { seal_stats_print(stderr); }

__attribute__((constructor)) static void stats_env(void)
{
    const char *v = getenv("SEALLOC_STATS");
    if (v != NULL && strcmp(v, "1") == 0)
        atexit(stats_at_exit);
}
