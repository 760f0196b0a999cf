/* SPDX-License-Identifier: MIT */
/*
 * test_threads.c - several threads allocate, write, free and reallocate on
 * one shared cache and one shared pool while another thread seals them over
 * and over, and another creates and destroys caches of its own.
 *
 * Last, a lookup racing a seal never reports memory sealed before the page
 * tables make it read-only.
 *
 * Each worker stamps every new object with one 8-byte store guarded by a
 * SIGSEGV handler (a concurrent seal may have made it read-only first) and
 * records which seals had started before and after the allocation. After
 * the threads are joined, every live object must be:
 *  - handed out once (no two live records share an address; a stamp that
 *    landed is still there, so no other thread wrote the object);
 *  - sealed if a seal started after its allocation returned, writable if no
 *    seal was under way when its allocation began nor started later (asked
 *    of the page tables);
 *  - counted: the stats' live count equals the records'.
 */
#include "check.h"
#include "probe.h"
#include "sealloc.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

enum { WORKERS = 4, OPS = 8000, SEAL_EVERY = 400 };

struct record {
    char *p;
    long stamp;
    unsigned long seals_before, seals_after;
    bool quiet; /* no seal was under way when the allocation began */
    bool wrote, freed;
};

struct shared {
    seal_cache *cache;
    seal_pool *pool;
    atomic_ulong seals_started, seals_done, allocs;
    atomic_int workers_left;
};

struct worker {
    struct shared *sh;
    int id;
    bool use_pool;
    struct record rec[OPS];
    long write_faults;
};

static size_t pool_size(unsigned k)
{
    static const size_t sizes[] = {8, 24, 100, 300, 1000, 4000, 9000, 20000, 70000};
    return sizes[k % (sizeof sizes / sizeof sizes[0])];
}

static void *work(void *arg)
{
    struct worker *w = arg;
    struct shared *sh = w->sh;
    unsigned rnd = (unsigned)w->id * 2654435761u + 1;
    for (int i = 0; i < OPS; i++) {
        struct record *r = &w->rec[i];
        r->stamp = (long)w->id << 32 | i;
        unsigned long done = atomic_load(&sh->seals_done);
        r->seals_before = atomic_load(&sh->seals_started);
        r->quiet = done == r->seals_before;
        r->p = w->use_pool ? seal_pool_alloc(sh->pool, pool_size((unsigned)i)) : seal_cache_alloc(sh->cache);
        r->seals_after = atomic_load(&sh->seals_started);
        atomic_fetch_add(&sh->allocs, 1);
        if (r->p == NULL)
            continue;
        r->wrote = probe_store((long *)r->p, r->stamp);
        w->write_faults += !r->wrote;
        rnd = rnd * 1103515245u + 12345u;
        if (i == 0 || (rnd >> 16) % 3 != 0)
            continue;
        /* Free or resize an earlier object of ours. */
        struct record *old = &w->rec[(rnd >> 8) % (unsigned)i];
        if (old->freed || old->p == NULL)
            continue;
        if (w->use_pool && (rnd >> 4) % 2 == 0) {
            unsigned long done_r = atomic_load(&sh->seals_done);
            unsigned long before = atomic_load(&sh->seals_started);
            char *moved = seal_pool_realloc(sh->pool, old->p, pool_size(rnd >> 20) + 8);
            if (moved != NULL) {
                if (old->wrote && *(volatile long *)moved != old->stamp)
                    old->stamp = -1; /* reported below */
                old->p = moved;
                old->seals_before = before;
                old->quiet = done_r == before;
                old->seals_after = atomic_load(&sh->seals_started);
                if (!old->wrote) /* the copy holds zeros: stamp it now */
                    old->wrote = probe_store((long *)moved, old->stamp);
            }
        } else {
            if (w->use_pool)
                seal_pool_free(sh->pool, old->p);
            else
                seal_cache_free(sh->cache, old->p);
            old->freed = true;
        }
    }
    atomic_fetch_sub(&sh->workers_left, 1);
    return NULL;
}

static void *seal_repeatedly(void *arg)
{
    struct shared *sh = arg;
    unsigned long next = SEAL_EVERY;
    while (atomic_load(&sh->workers_left) > 0) {
        if (atomic_load(&sh->allocs) < next) {
            sched_yield();
            continue;
        }
        next += SEAL_EVERY;
        atomic_fetch_add(&sh->seals_started, 1);
        seal_cache_seal(sh->cache);
        seal_pool_seal(sh->pool);
        atomic_fetch_add(&sh->seals_done, 1);
    }
    return NULL;
}

/* Caches of its own, created, used and destroyed while the others run. */
static void *churn(void *arg)
{
    struct shared *sh = arg;
    long bad = 0;
    for (int round = 0; atomic_load(&sh->workers_left) > 0 || round < 10; round++) {
        seal_cache *c = seal_cache_create("churn", 40, 0, 0);
        char *o = seal_cache_alloc(c);
        bad += seal_is_sealed(o) != 0;
        seal_cache_seal(c);
        bad += seal_is_sealed(o) != 1 || !seal_cache_owns(c, o);
        seal_cache_destroy(c);
    }
    return (void *)(intptr_t)bad;
}

static int by_address(const void *a, const void *b)
{
    const struct record *x = *(struct record *const *)a, *y = *(struct record *const *)b;
    return (x->p > y->p) - (x->p < y->p);
}

/* The live count of the stats row named name. */
static long stats_live(const char *name)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    seal_stats_print(f);
    fclose(f);
    long live = -1;
    for (char *line = strtok(buf, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        char kind[16], row[64], objsize[24];
        long n;
        if (sscanf(line, "%15s %63s %23s %ld", kind, row, objsize, &n) == 4 && strcmp(row, name) == 0)
            live = n;
    }
    free(buf);
    return live;
}

static void check_outcome(struct worker *ws, unsigned long total_seals, const char *name)
{
    size_t n = 0;
    static struct record *live[WORKERS * OPS];
    long lost_stamps = 0, unsealed_old = 0, sealed_new = 0, not_sealed_but_faulted = 0, failed = 0;
    for (int t = 0; t < WORKERS; t++)
        for (int i = 0; i < OPS; i++) {
            struct record *r = &ws[t].rec[i];
            if (r->p == NULL) {
                failed++;
                continue;
            }
            if (r->freed)
                continue;
            live[n++] = r;
            long now = *(volatile long *)r->p;
            if (r->wrote ? now != r->stamp : now != 0) {
                lost_stamps++;
                fprintf(stderr, "  %s: %p holds %lx, stamp %lx (%s)\n", name, (void *)r->p,
                        (unsigned long)now, (unsigned long)r->stamp, r->wrote ? "written" : "faulted");
            }
            int sealed = seal_is_sealed(r->p);
            if (!r->wrote && !sealed)
                not_sealed_but_faulted++;
            if (r->seals_after < total_seals && !(sealed && page_read_only(r->p)))
                unsealed_old++;
            if (r->quiet && r->seals_before == total_seals && (sealed || page_read_only(r->p)))
                sealed_new++;
        }
    qsort(live, n, sizeof live[0], by_address);
    long twice = 0;
    for (size_t i = 1; i < n; i++)
        twice += live[i]->p == live[i - 1]->p;
    CHECK(failed == 0);
    CHECK(twice == 0);
    CHECK(lost_stamps == 0);
    CHECK(not_sealed_but_faulted == 0);
    CHECK(unsealed_old == 0);
    CHECK(sealed_new == 0);
    CHECK(stats_live(name) == (long)n);
    if (failed + twice + lost_stamps + unsealed_old + sealed_new + not_sealed_but_faulted != 0)
        fprintf(stderr, "  failed %ld twice %ld lost %ld faulted-unsealed %ld old-unsealed %ld "
                "new-sealed %ld\n", failed, twice, lost_stamps, not_sealed_but_faulted,
                unsealed_old, sealed_new);
}

static void concurrent_alloc_free_seal(void)
{
    struct sigaction old;
    probe_catch_segv(&old);

    struct shared sh = {.cache = seal_cache_create("threads-cache", 64, 0, 0),
                        .pool = seal_pool_create("threads-pool", 0)};
    atomic_store(&sh.workers_left, 2 * WORKERS);
    static struct worker cw[WORKERS], pw[WORKERS];
    pthread_t t[2 * WORKERS + 2];
    for (int i = 0; i < WORKERS; i++) {
        cw[i] = (struct worker){.sh = &sh, .id = i + 1};
        pw[i] = (struct worker){.sh = &sh, .id = 100 + i, .use_pool = true};
        pthread_create(&t[i], NULL, work, &cw[i]);
        pthread_create(&t[WORKERS + i], NULL, work, &pw[i]);
    }
    pthread_create(&t[2 * WORKERS], NULL, seal_repeatedly, &sh);
    pthread_create(&t[2 * WORKERS + 1], NULL, churn, &sh);
    void *churn_bad = NULL;
    for (int i = 0; i < 2 * WORKERS + 2; i++)
        pthread_join(t[i], i == 2 * WORKERS + 1 ? &churn_bad : NULL);
    sigaction(SIGSEGV, &old, NULL);

    unsigned long total = atomic_load(&sh.seals_started);
    CHECK(total > 2);
    CHECK(churn_bad == NULL);
    check_outcome(cw, total, "threads-cache");
    check_outcome(pw, total, "threads-pool");

    /* Everything can be freed; nothing is left counted. */
    for (int t2 = 0; t2 < WORKERS; t2++)
        for (int i = 0; i < OPS; i++) {
            if (!cw[t2].rec[i].freed)
                seal_cache_free(sh.cache, cw[t2].rec[i].p);
            if (!pw[t2].rec[i].freed)
                seal_pool_free(sh.pool, pw[t2].rec[i].p);
        }
    CHECK(stats_live("threads-cache") == 0 && stats_live("threads-pool") == 0);
    seal_cache_destroy(sh.cache);
    seal_pool_destroy(sh.pool);
}

/* ---- write-rare from many threads on one sealed object -------------------- */

enum { WR_THREADS = 4, WR_UPDATES = 2000 };

struct counters {
    long slot[WR_THREADS];
};

struct wr_arg {
    struct counters *c;
    int id;
    long failures;
};

static void *wr_worker(void *arg)
{
    struct wr_arg *a = arg;
    for (long v = 1; v <= WR_UPDATES; v++)
        a->failures += SEAL_ASSIGN(a->c->slot[a->id], v) != 0;
    return NULL;
}

static void concurrent_write_rare(void)
{
    seal_cache *c = seal_cache_create("wr-threads", sizeof(struct counters), 0, SEAL_WRITE_RARE);
    struct counters *obj = seal_cache_alloc(c);
    CHECK(seal_cache_seal(c) == 0);
    pthread_t t[WR_THREADS];
    struct wr_arg args[WR_THREADS];
    for (int i = 0; i < WR_THREADS; i++) {
        args[i] = (struct wr_arg){.c = obj, .id = i};
        pthread_create(&t[i], NULL, wr_worker, &args[i]);
    }
    long failures = 0;
    for (int i = 0; i < WR_THREADS; i++) {
        pthread_join(t[i], NULL);
        failures += args[i].failures;
    }
    CHECK(failures == 0);
    for (int i = 0; i < WR_THREADS; i++)
        CHECK(obj->slot[i] == WR_UPDATES);
    CHECK(seal_is_sealed(obj) && page_read_only(obj));
    seal_cache_destroy(c);
}

/* A lookup never calls memory sealed while its pages are still writable:
 * one thread seals a large cache while another asks seal_is_sealed() in
 * a loop and, the moment the answer is yes, asks the page tables. */
struct sealed_watch {
    char *obj;
    atomic_int polling, stop;
    atomic_int early; /* sealed said yes, the page was writable */
};

static void *watch_seal(void *arg)
{
    struct sealed_watch *w = arg;
    atomic_store(&w->polling, 1);
    while (!atomic_load(&w->stop)) {
        if (seal_is_sealed(w->obj)) {
            if (!page_read_only(w->obj))
                atomic_store(&w->early, 1);
            break;
        }
    }
    return NULL;
}

static void sealed_only_once_read_only(void)
{
    enum { OBJECTS = 1 << 18, ROUNDS = 8 }; /* 16 MiB: a seal of ~0.3 ms */
    for (int round = 0; round < ROUNDS; round++) {
        seal_cache *c = seal_cache_create("watched", 64, 0, 0);
        char *last = NULL;
        for (int i = 0; i < OBJECTS; i++)
            CHECK((last = seal_cache_alloc(c)) != NULL);
        struct sealed_watch w = {.obj = last};
        pthread_t t;
        CHECK(pthread_create(&t, NULL, watch_seal, &w) == 0);
        while (!atomic_load(&w.polling))
            ;
        CHECK(seal_cache_seal(c) == 0);
        atomic_store(&w.stop, 1);
        pthread_join(t, NULL);
        CHECK(atomic_load(&w.early) == 0);
        seal_cache_destroy(c);
    }
}

int main(void)
{
    RUN(concurrent_alloc_free_seal);
    RUN(concurrent_write_rare);
    RUN(sealed_only_once_read_only);
    return check_exit();
}
