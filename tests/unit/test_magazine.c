/* SPDX-License-Identifier: MIT */
/*
 * test_magazine.c - the per-thread fast path of caches (src/magazine.c).
 *
 * What the magazines must not change: a freed object is not live (owns,
 * write-rare), a double free is caught even when the first free went into
 * another thread's magazine, a seal leaves no free slot of a sealed page
 * where an allocation could hand it out, and a thread's exit, a destroy or
 * a fork gives every cached slot back. What they must refuse: a forged
 * magazine entry. Slots are inspected through the slab records (slab.h).
 */
#include "attacker.h"
#include "check.h"
#include "magazine.h"
#include "owner.h"
#include "region.h"
#include "sealloc.h"
#include "slab.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#define N 200

/* Cached slots in the slabs of cache c (every arena, every open slab). */
static uint32_t cached_slots(seal_cache *c)
{
    const struct sl_region *r = &((const struct sl_owner *)c)->regions[0];
    uint32_t n = 0;
    for (unsigned ai = 0; ai < r->n_arenas; ai++) {
        const struct sl_arena *a = r->arenas[ai];
        for (uint32_t i = 0; i < arena_hwm(a); i++) {
            if (arena_span(a, i)->state != UNIT_OPEN)
                continue;
            const uint8_t *st = slot_states(r, arena_unit(a, i));
            for (uint32_t s = 0; s < r->slots; s++)
                n += st[s] == SLOT_CACHED;
        }
    }
    return n;
}

struct job {
    seal_cache *c;
    void *objs[N];
    unsigned n_alloc, n_free; /* allocate n_alloc, then free the first n_free */
};

static void *alloc_then_free(void *arg)
{
    struct job *j = arg;
    for (unsigned i = 0; i < j->n_alloc; i++)
        j->objs[i] = seal_cache_alloc(j->c);
    for (unsigned i = 0; i < j->n_free; i++)
        seal_cache_free(j->c, j->objs[i]);
    return NULL;
}

static void in_thread(struct job *j)
{
    pthread_t t;
    pthread_create(&t, NULL, alloc_then_free, j);
    pthread_join(t, NULL);
}

/* ---- a cached slot is free to everyone but its magazine ---------------------- */

static void freed_objects_are_not_live(void)
{
    seal_cache *c = seal_cache_create("mag", 48, 0, SEAL_WRITE_RARE);
    char *p = seal_cache_alloc(c);
    CHECK(seal_cache_owns(c, p) == 1);
    seal_cache_free(c, p);
    CHECK(cached_slots(c) > 0); /* p now waits in this thread's magazine */
    CHECK(seal_cache_owns(c, p) == 0);
    errno = 0;
    CHECK(seal_write(p, "x", 1) == -1 && errno == EINVAL);
    char *q = seal_cache_alloc(c); /* the magazine hands p back, zeroed */
    CHECK(q == p && seal_cache_owns(c, q) == 1);
    seal_cache_destroy(c);
}

static void double_free_across_threads(void *arg)
{
    (void)arg;
    struct job j = {.c = seal_cache_create("mag", 64, 0, 0), .n_alloc = 1, .n_free = 1};
    in_thread(&j);                 /* freed into that thread's magazine */
    seal_cache_free(j.c, j.objs[0]); /* a second free, from this thread */
}

static void double_free_while_cached_elsewhere(void)
{
    CHECK(expect_death(double_free_across_threads, NULL, SIGABRT, "double free"));
}

/* ---- a refill takes a run of never-used slots -------------------------------- */

/* Refills take the slab's never-used slots a run at a time (slab.c): they
 * come out zeroed, one after the other in address order, across refills,
 * and the records stay consistent (the seal verifies every bitmap against
 * its count). */
static void refills_hand_out_fresh_slots_in_order(void)
{
    seal_cache *c = seal_cache_create("mag", 64, 0, 0);
    unsigned char *prev = NULL;
    for (int i = 0; i < 3 * 16 + 5; i++) {
        unsigned char *p = seal_cache_alloc(c);
        CHECK(p != NULL && (prev == NULL || p == prev + 64));
        for (int b = 0; p != NULL && b < 64; b++)
            CHECK(p[b] == 0);
        if (p != NULL)
            memset(p, 0xa5, 64);
        prev = p;
    }
    CHECK(seal_cache_seal(c) == 0);
    CHECK(seal_is_sealed(prev) == 1);
    seal_cache_destroy(c);
}

/* ---- a seal empties every magazine ----------------------------------------- */

static void seal_empties_magazines(void)
{
    struct job j = {.c = seal_cache_create("mag", 64, 0, 0), .n_alloc = N, .n_free = N / 2};
    in_thread(&j); /* that thread's magazine holds freed slots of an open slab */
    void *mine = seal_cache_alloc(j.c);
    seal_cache_free(j.c, seal_cache_alloc(j.c)); /* and this thread's too */
    CHECK(seal_cache_seal(j.c) == 0);
    CHECK(cached_slots(j.c) == 0);
    CHECK(seal_is_sealed(mine) == 1 && seal_is_sealed(j.objs[N - 1]) == 1);
    /* Nothing handed out after the seal lies on a sealed page. */
    for (int i = 0; i < N; i++) {
        char *p = seal_cache_alloc(j.c);
        CHECK(seal_is_sealed(p) == 0);
        p[0] = 1;
    }
    seal_cache_destroy(j.c);
}

/* ---- neighbours in different threads' magazines ------------------------------ */

/* Objects smaller than ASan's 8-byte granule, passed between threads: a
 * thread frees objects another allocated, so neighbouring slots are freed
 * and allocated by different threads without a lock. They must not poison
 * each other (the ASan run of this test reports a use-after-poison if they
 * do). */
#define TINY_SHARED 256
static char *_Atomic tiny_shared[TINY_SHARED];

static void *churn_tiny(void *arg)
{
    seal_cache *c = arg;
    uint64_t rng = (uintptr_t)&rng;
    for (unsigned k = 0; k < 50000; k++) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        unsigned i = (unsigned)(rng >> 33) % TINY_SHARED;
        char *mine = seal_cache_alloc(c);
        memset(mine, (int)k, 4);
        char *old = atomic_exchange(&tiny_shared[i], mine);
        if (old != NULL) {
            memset(old, 0, 4);
            seal_cache_free(c, old);
        }
    }
    return NULL;
}

static void tiny_objects_across_threads(void)
{
    SKIP_UNDER_VALGRIND();
    seal_cache *c = seal_cache_create("tiny", 4, 0, 0);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, churn_tiny, c);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < TINY_SHARED; i++)
        seal_cache_free(c, atomic_exchange(&tiny_shared[i], NULL));
    /* The exited threads gave their slots back: only this thread's
     * magazine (the frees just above) may hold some. */
    CHECK(cached_slots(c) <= MAG_CAP);
    seal_cache_destroy(c);
}

/* ---- exit, destroy and fork give cached slots back -------------------------- */

static void thread_exit_returns_slots(void)
{
    struct job j = {.c = seal_cache_create("mag", 64, 0, 0), .n_alloc = N, .n_free = N};
    in_thread(&j);
    CHECK(cached_slots(j.c) == 0);
    /* The slab they came from is all free again: a seal finds nothing. */
    CHECK(seal_cache_seal(j.c) == 0);
    CHECK(seal_is_sealed(j.objs[0]) == 0);
    seal_cache_destroy(j.c);
}

/* A thread that binds a magazine to a cache, then waits for the test. */
struct holder {
    seal_cache *c;
    pthread_t thread;
    pthread_barrier_t bound, release;
};

static void holder_start(struct holder *h, void *(*body)(void *))
{
    h->c = seal_cache_create("mag", 64, 0, 0);
    pthread_barrier_init(&h->bound, NULL, 2);
    pthread_barrier_init(&h->release, NULL, 2);
    pthread_create(&h->thread, NULL, body, h);
    pthread_barrier_wait(&h->bound);
}

/* Let the thread go on; what it returned. */
static void *holder_finish(struct holder *h)
{
    void *ret;
    pthread_barrier_wait(&h->release);
    pthread_join(h->thread, &ret);
    pthread_barrier_destroy(&h->bound);
    pthread_barrier_destroy(&h->release);
    return ret;
}

static void holder_bind(struct holder *h)
{
    seal_cache_free(h->c, seal_cache_alloc(h->c));
    pthread_barrier_wait(&h->bound);
    pthread_barrier_wait(&h->release);
}

static void *bind_then_use_another_cache(void *arg)
{
    struct holder *h = arg;
    holder_bind(h); /* released once h->c is destroyed */
    /* The magazine was unbound: a new cache gets a working one. */
    seal_cache *other = seal_cache_create("other", 64, 0, 0);
    void *p = seal_cache_alloc(other);
    seal_cache_free(other, p);
    bool ok = seal_cache_alloc(other) == p;
    seal_cache_destroy(other);
    return ok ? h : NULL;
}

static void destroy_unbinds_other_threads(void)
{
    struct holder h;
    holder_start(&h, bind_then_use_another_cache);
    CHECK(((struct sl_owner *)h.c)->st->mags != NULL);
    seal_cache_destroy(h.c);
    CHECK(holder_finish(&h) == &h);
}

static void *bind_only(void *arg)
{
    holder_bind(arg);
    return NULL;
}

static void fork_child_has_no_foreign_magazines(void)
{
    struct holder h;
    holder_start(&h, bind_only);
    CHECK(cached_slots(h.c) > 0);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        /* Only the forking thread exists: nothing may stay cached for the
         * other, and its magazine is no longer listed. */
        struct sl_owner *o = (struct sl_owner *)h.c;
        bool ok = cached_slots(h.c) == 0 && o->st->mags == NULL;
        void *p = seal_cache_alloc(h.c);
        ok = ok && p != NULL && seal_cache_seal(h.c) == 0 && seal_is_sealed(p);
        _exit(ok ? 0 : 1);
    }
    int st;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    holder_finish(&h);
    seal_cache_destroy(h.c);
}

/* ---- a forged magazine entry is refused ------------------------------------- */

/* arg NULL: the entry points at a sealed object; else at a live one. */
static void forged_entry_then_alloc(void *arg)
{
    seal_cache *c = seal_cache_create("mag", 64, 0, 0);
    void *sealed = seal_cache_alloc(c);
    seal_cache_seal(c);
    void *live = seal_cache_alloc(c);
    seal_cache_free(c, seal_cache_alloc(c)); /* this thread's magazine: one entry or more */
    struct sl_mag *m = ((struct sl_owner *)c)->st->mags;
    m->slot[m->n - 1] = (uintptr_t)(arg == NULL ? sealed : live);
    seal_cache_alloc(c);
}

/* An entry forged together with what else an allocation reads lock-free
 * and the attacker can write (the slot's state byte; the slab's open bit
 * is read-only, so that forgery fails): it is still refused. arg NULL: the entry is an object of a
 * sealed slab; else of a slab reclaimed after its seal (its address range
 * would be handed out twice). */
static void forged_entry_and_bits_then_alloc(void *arg)
{
    seal_cache *c = seal_cache_create("mag", 64, 0, 0);
    unsigned char *victim = seal_cache_alloc(c);
    memset(victim, 0x5a, 64);
    seal_cache_seal(c);
    void *other = seal_cache_alloc(c); /* a refill from a new slab */
    if (arg != NULL)
        seal_cache_free(c, victim); /* the sealed slab's last object: reclaimed */
    seal_cache_free(c, other); /* one magazine entry to forge */
    const struct sl_region *r = &((struct sl_owner *)c)->regions[0];
    const struct sl_arena *a = region_arena_of(r, (uintptr_t)victim);
    uint32_t idx = (uint32_t)(((uintptr_t)victim - a->base) >> a->unit_shift);
    uint64_t open_word = arena_bitmap(a, BM_OPEN)[idx / 64] | 1ull << (idx % 64);
    if (FORGE(*(uint64_t *)&arena_bitmap(a, BM_OPEN)[idx / 64], open_word))
        fprintf(stderr, "the open bitmap is writable\n");
    uint32_t slot = (uint32_t)(((uintptr_t)victim - arena_unit_addr(a, idx)) / r->stride);
    FORGE(slot_states(r, arena_unit(a, idx))[slot], (uint8_t)SLOT_CACHED);
    struct sl_mag *m = ((struct sl_owner *)c)->st->mags;
    m->slot[m->n - 1] = (uintptr_t)victim;
    unsigned char *p = seal_cache_alloc(c);
    fprintf(stderr, "handed out %p (%s)\n", (void *)p, p == victim ? "the forged entry" : "another");
}

static void forged_entries_abort(void)
{
    CHECK(expect_death(forged_entry_then_alloc, NULL, SIGABRT, "corrupted metadata"));
    CHECK(expect_death(forged_entry_then_alloc, (void *)1, SIGABRT, "corrupted metadata"));
    CHECK(expect_death(forged_entry_and_bits_then_alloc, NULL, SIGABRT, "corrupted metadata"));
    CHECK(expect_death(forged_entry_and_bits_then_alloc, (void *)1, SIGABRT, "corrupted metadata"));
}

int main(void)
{
    RUN(freed_objects_are_not_live);
    RUN(double_free_while_cached_elsewhere);
    RUN(refills_hand_out_fresh_slots_in_order);
    RUN(seal_empties_magazines);
    RUN(tiny_objects_across_threads);
    RUN(thread_exit_returns_slots);
    RUN(destroy_unbinds_other_threads);
    RUN(fork_child_has_no_foreign_magazines);
    RUN(forged_entries_abort);
    return check_exit();
}
