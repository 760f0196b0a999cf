/*
 * stats.c - seal_stats_print() and SEALLOC_STATS=1 at exit.
 *
 * Every figure is derived from the span records at the time of the call
 * (under each owner's lock), so the table can never drift from the state
 * it describes: live and sealed objects, spans (slabs or chunks), bytes
 * committed (OPEN and SEALED spans), sealed, and pinned (mseal'd spans,
 * which cannot be given back).
 */
#include "sealloc.h"

#include "owner.h"
#include "slab.h"

#include <stdlib.h>
#include <string.h>

struct tally {
    uint64_t live, sealed_live, spans, committed, sealed, pinned;
};

static void count_span(const struct sl_arena *a, uint32_t idx, const struct sl_span *s, void *ctx)
{
    struct tally *t = ctx;
    size_t bytes = (size_t)s->span * a->unit;
    uint32_t live = a->region->slots != 0 ? slab_live_count(a, idx, s) : s->live;
    t->spans++;
    t->live += live;
    if (s->state == UNIT_OPEN || s->state == UNIT_SEALED)
        t->committed += bytes;
    if (s->state == UNIT_SEALED) {
        t->sealed += bytes;
        t->sealed_live += live;
    }
    if (s->msealed)
        t->pinned += bytes;
}

static void print_owner(struct sl_owner *o, void *ctx)
{
    FILE *out = ctx;
    struct tally t = {0};
    owner_lock(o);
    for (unsigned i = 0; i < o->n_regions; i++)
        region_for_each_span(&o->regions[i], count_span, &t);
    uint64_t seals = o->st->seals;
    owner_unlock(o);
    char size[24];
    if (o->magic == OWNER_CACHE)
        snprintf(size, sizeof size, "%zu", o->obj_size);
    else
        snprintf(size, sizeof size, "-");
    fprintf(out, "%-6s %-20.20s %8s %10llu %10llu %7llu %12llu %12llu %12llu %6llu\n",
            owner_kind(o), o->name, size, (unsigned long long)t.live,
            (unsigned long long)t.sealed_live, (unsigned long long)t.spans,
            (unsigned long long)t.committed, (unsigned long long)t.sealed,
            (unsigned long long)t.pinned, (unsigned long long)seals);
}

void seal_stats_print(FILE *out)
{
    if (out == NULL)
        out = stderr;
    fprintf(out, "sealloc stats (write-rare: %s)\n", seal_write_rare_mechanism());
    fprintf(out, "%-6s %-20s %8s %10s %10s %7s %12s %12s %12s %6s\n", "kind", "name", "objsize",
            "live", "sealed", "slabs", "committed", "sealed_b", "pinned_b", "seals");
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
