/* SPDX-License-Identifier: MIT */
/*
 * magazine.c - per-thread magazines of cache slots (see magazine.h).
 *
 * Invariants:
 *  - a magazine's slots, count and cursor are touched by its thread inside
 *    a busy section whose epoch check passed, or by anyone holding its
 *    cache's lock while the thread is outside such a section (its epoch is
 *    then stale, so it cannot enter one until it has taken the lock);
 *  - m->owner changes only with the owners-list lock and the cache's lock
 *    held (bind, retire, destroy), or in a fork child;
 *  - a magazine whose epoch is stale holds no slot.
 */
#include "magazine.h"

#include "lock.h"
#include "meta.h"
#include "os.h"
#include "report.h"
#include "slab.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#define MAG_REFILL 16         /* slots taken from the slab at a refill */
#define MAG_WAYS 8            /* caches a thread uses at once without eviction */
#define MAG_MAX_BLOCKS 16384  /* threads with magazines at once */

/* One thread's magazines. Blocks live in one reservation recorded in the
 * read-only globals (meta.h: mag_base, mag_used): a block pointer is used
 * only after block_valid() places it there, and a block is never unmapped
 * (a thread's exit puts it on the free list, committed), so no writable
 * byte can make the library unmap anything through a forged block. */
struct sl_mag_block {
    struct sl_mag mag[MAG_WAYS];
    struct sl_mag_block *next_free; /* free list (owners-list lock) */
    unsigned evict_next;
    bool in_use;
};

static __thread struct sl_mag_block *tl_block __attribute__((tls_model("initial-exec")));
static struct sl_mag_block *free_blocks; /* owners-list lock */
static pthread_once_t mag_once = PTHREAD_ONCE_INIT;
static pthread_key_t exit_key;
static bool have_key;
static bool asymmetric; /* membarrier registered: fast paths need no fence */

static void block_exit(void *arg);

static void mag_init(void)
{
    asymmetric = sl_os_barrier_register() == 0;
    have_key = pthread_key_create(&exit_key, block_exit) == 0;
}

/* Bytes from one block to the next: its pages and a guard page. */
static size_t block_stride(void)
{
    size_t pg = sl_os_page_size();
    return (sizeof(struct sl_mag_block) + pg - 1) / pg * pg + pg;
}

static struct sl_mag_block *block_at(size_t i)
{
    return (struct sl_mag_block *)((unsigned char *)SL_G->mag_base + i * block_stride());
}

/* Blocks handed out so far: block_take() raises the count under the
 * owners-list lock while other threads check magazines against it. */
static size_t blocks_used(void) { return __atomic_load_n(&SL_G->mag_used, __ATOMIC_ACQUIRE); }

/* Whether b is a block of the reservation that has been handed out. */
static bool block_valid(const struct sl_mag_block *b)
{
    uintptr_t off = (uintptr_t)b - (uintptr_t)SL_G->mag_base;
    return SL_G->mag_base != NULL && (uintptr_t)b >= (uintptr_t)SL_G->mag_base &&
           off < blocks_used() * block_stride() && off % block_stride() == 0;
}

/* m itself if it is NULL or one of the magazines of a block of the
 * reservation; aborts otherwise (the caches' magazine lists are writable). */
static struct sl_mag *mag_checked(const struct sl_owner *o, struct sl_mag *m)
{
    if (m == NULL)
        return NULL;
    size_t stride = block_stride(), off = (size_t)((uintptr_t)m - (uintptr_t)SL_G->mag_base);
    size_t inner = off % stride;
    if (SL_G->mag_base == NULL || (uintptr_t)m < (uintptr_t)SL_G->mag_base ||
        off / stride >= blocks_used() || inner % sizeof *m != 0 ||
        inner / sizeof *m >= MAG_WAYS)
        owner_fatal(o, "free", "corrupted metadata: magazine list holds %p", (void *)m);
    return m;
}

static void __attribute__((noreturn)) block_forged(const void *b)
{
    sl_fatal("seal_cache_alloc", "cache", "-", "corrupted metadata: magazine block %p", b);
}

/* With the owners-list lock held: an owner named by a magazine must be a
 * live one (the read-only owners list). */
static struct sl_owner *mag_owner_checked(const struct sl_mag *m)
{
    struct sl_owner *o = atomic_load_explicit(&m->owner, memory_order_relaxed);
    if (o != NULL && !owner_is_listed(o))
        sl_fatal("seal_cache_free", "cache", "-", "corrupted metadata: magazine names %p",
                 (void *)o);
    return o;
}
/* ---- the busy protocol --------------------------------------------------- */

/* Busy flag store, then the epoch load (mag_current): mag_quiesce stores
 * the epoch, then loads the flags. One side must see the other's store:
 * with membarrier the quiescer's barrier orders both sides and the fast
 * path needs none (only the compiler must keep the order); without it both
 * sides use sequentially consistent accesses. */
static inline void mag_enter(struct sl_mag *m)
{
    if (asymmetric) {
        atomic_store_explicit(&m->busy, 1, memory_order_relaxed);
        atomic_signal_fence(memory_order_seq_cst);
    } else {
        atomic_store_explicit(&m->busy, 1, memory_order_seq_cst);
    }
}

static inline void mag_leave(struct sl_mag *m)
{
    atomic_store_explicit(&m->busy, 0, memory_order_release);
}

static inline bool mag_current(const struct sl_mag *m, const struct sl_owner *o)
{
    return m->epoch == __atomic_load_n(&o->st->mag_epoch, __ATOMIC_SEQ_CST);
}

static bool mag_is_mine(const struct sl_mag *m)
{
    const struct sl_mag_block *b = tl_block;
    return b != NULL && m >= b->mag && m < b->mag + MAG_WAYS;
}

/* ---- binding magazines to caches ------------------------------------------ */

static inline struct sl_mag *mag_of(const struct sl_owner *o)
{
    struct sl_mag_block *b = tl_block;
    if (b != NULL)
        for (unsigned i = 0; i < MAG_WAYS; i++)
            if (atomic_load_explicit(&b->mag[i].owner, memory_order_relaxed) == o)
                return &b->mag[i];
    return NULL;
}

/* m's count, verified: it bounds every walk of m's slots. */
static uint32_t mag_count(const struct sl_owner *o, const struct sl_mag *m, const char *call)
{
    if (m->n > MAG_CAP)
        owner_fatal(o, call, "corrupted metadata: magazine count %u", m->n);
    return m->n;
}

/* With o's lock held and m not busy: give m's slots back, drop its slab. */
static void mag_drain(struct sl_owner *o, struct sl_mag *m)
{
    struct sl_region *r = &o->regions[0];
    for (uint32_t i = 0, n = mag_count(o, m, "free"); i < n; i++)
        slab_unreserve(r, m->slot[i]);
    m->n = 0;
    slab_drop_cursor(r, &m->cur);
}

static void mag_unbind(struct sl_owner *o, struct sl_mag *m)
{
    mag_drain(o, m);
    struct sl_mag *prev = mag_checked(o, m->prev), *next = mag_checked(o, m->next);
    if (prev != NULL)
        prev->next = next;
    else
        o->st->mags = next;
    if (next != NULL)
        next->prev = prev;
    m->next = m->prev = NULL;
    atomic_store_explicit(&m->owner, NULL, memory_order_relaxed);
}

/* Called by m's own thread, holding no lock. */
static void mag_retire(struct sl_mag *m)
{
    owner_list_lock();
    struct sl_owner *o = mag_owner_checked(m);
    if (o != NULL) {
        owner_lock(o);
        mag_unbind(o, m);
        owner_unlock(o);
    }
    owner_list_unlock();
}

/* With the owners-list lock held: a block from the free list, or the next
 * one of the reservation (made on first use), committed. NULL + errno. */
static struct sl_mag_block *block_take(void)
{
    struct sl_mag_block *b = free_blocks;
    if (b != NULL) {
        if (!block_valid(b) || b->in_use)
            block_forged(b);
        free_blocks = b->next_free;
        return b;
    }
    if (SL_G->mag_base == NULL) {
        void *base = sl_os_reserve(MAG_MAX_BLOCKS * block_stride(), -1);
        if (base == NULL)
            return NULL;
        meta_globals_begin()->mag_base = base;
        meta_globals_end();
    }
    size_t i = SL_G->mag_used;
    if (i == MAG_MAX_BLOCKS) {
        errno = ENOMEM;
        return NULL;
    }
    b = block_at(i);
    if (sl_os_commit(b, block_stride() - sl_os_page_size()) != 0)
        return NULL;
    __atomic_store_n(&meta_globals_begin()->mag_used, i + 1, __ATOMIC_RELEASE);
    meta_globals_end();
    return b;
}

static struct sl_mag_block *block_new(void)
{
    pthread_once(&mag_once, mag_init);
    owner_list_lock();
    struct sl_mag_block *b = block_take();
    if (b != NULL) {
        memset(b, 0, sizeof *b);
        for (unsigned i = 0; i < MAG_WAYS; i++)
            b->mag[i].cur.unit = UINT32_MAX;
        b->in_use = true;
    }
    owner_list_unlock();
    if (b == NULL)
        return NULL;
    tl_block = b;
    if (have_key)
        pthread_setspecific(exit_key, b);
    return b;
}

/* With the owners-list lock held: b, whose magazines are all unbound,
 * goes on the free list (it stays committed: blocks are never unmapped). */
static void block_free(struct sl_mag_block *b)
{
    b->in_use = false;
    b->next_free = free_blocks;
    free_blocks = b;
}

/* Thread exit: give every slot back, then free the block. */
static void block_exit(void *arg)
{
    struct sl_mag_block *b = arg;
    if (!block_valid(b))
        block_forged(b);
    for (unsigned i = 0; i < MAG_WAYS; i++)
        mag_retire(&b->mag[i]);
    tl_block = NULL;
    owner_list_lock();
    block_free(b);
    owner_list_unlock();
}

/* A magazine of this thread for o, evicting another cache's if every one
 * is bound; NULL when no block can be mapped (the caller uses the lock). */
static struct sl_mag *mag_bind(struct sl_owner *o)
{
    struct sl_mag_block *b = tl_block;
    if (b == NULL && (b = block_new()) == NULL)
        return NULL;
    struct sl_mag *m = NULL;
    for (unsigned i = 0; i < MAG_WAYS && m == NULL; i++)
        if (atomic_load_explicit(&b->mag[i].owner, memory_order_relaxed) == NULL)
            m = &b->mag[i];
    if (m == NULL) {
        m = &b->mag[b->evict_next++ % MAG_WAYS];
        mag_retire(m);
    }
    owner_list_lock();
    owner_lock(o);
    m->epoch = o->st->mag_epoch;
    m->n = 0;
    m->next = o->st->mags;
    m->prev = NULL;
    if (m->next != NULL)
        m->next->prev = m;
    o->st->mags = m;
    atomic_store_explicit(&m->owner, o, memory_order_relaxed);
    owner_unlock(o);
    owner_list_unlock();
    return m;
}

/* ---- allocation and free ------------------------------------------------- */

/* With o's lock held: a magazine just entered the slow path. */
static void mag_refresh(struct sl_owner *o, struct sl_mag *m, const char *call)
{
    mag_count(o, m, call);
    m->epoch = o->st->mag_epoch;
}

/* Fill an empty magazine from the thread's slab, stacked so that slots
 * are handed out in address order. */
static uint32_t mag_refill(struct sl_owner *o, struct sl_mag *m)
{
    uint32_t n = slab_reserve(&o->regions[0], &m->cur, m->slot, MAG_REFILL);
    for (uint32_t i = 0; i < n / 2; i++) {
        uintptr_t low = m->slot[i];
        m->slot[i] = m->slot[n - 1 - i];
        m->slot[n - 1 - i] = low;
    }
    return n;
}

__attribute__((noinline)) static void *mag_alloc_slow(struct sl_owner *o, struct sl_mag *m)
{
    struct sl_region *r = &o->regions[0];
    if (m == NULL)
        m = mag_bind(o);
    void *p = NULL;
    owner_lock(o);
    if (m == NULL) {
        p = slab_alloc(r, &o->st->cur[0], o->obj_size);
    } else {
        mag_refresh(o, m, "alloc");
        if (m->n == 0)
            m->n = mag_refill(o, m);
        if (m->n > 0)
            p = slab_unstash(r, m->slot[--m->n]);
    }
    owner_unlock(o);
    if (p == NULL)
        errno = ENOMEM;
    return p;
}

void *mag_alloc(struct sl_owner *o)
{
    struct sl_mag *m = mag_of(o);
    if (m != NULL) {
        mag_enter(m);
        uint32_t n = mag_current(m, o) ? m->n : 0; /* no read of n before the epoch check */
        if (n - 1 < MAG_CAP) {
            m->n = n - 1;
            void *p = slab_unstash(&o->regions[0], m->slot[n - 1]);
            mag_leave(m);
            return p;
        }
        mag_leave(m);
    }
    return mag_alloc_slow(o, m);
}

__attribute__((noinline)) static void mag_free_slow(struct sl_owner *o, struct sl_arena *a, uintptr_t p, struct sl_mag *m)
{
    if (m == NULL)
        m = mag_bind(o);
    owner_lock(o);
    if (m != NULL) {
        mag_refresh(o, m, "free");
        if (m->n == MAG_CAP) { /* give back the older half */
            for (uint32_t i = 0; i < MAG_CAP / 2; i++)
                slab_unreserve(&o->regions[0], m->slot[i]);
            memmove(m->slot, m->slot + MAG_CAP / 2, MAG_CAP / 2 * sizeof m->slot[0]);
            m->n = MAG_CAP / 2;
        }
    }
    if (m != NULL && slab_stash(a, p, "free"))
        m->slot[m->n++] = p;
    else
        slab_free(a, p, "free");
    owner_unlock(o);
}

void mag_free(struct sl_owner *o, struct sl_arena *a, uintptr_t p)
{
    struct sl_mag *m = mag_of(o);
    if (m != NULL) {
        mag_enter(m);
        if (mag_current(m, o) && m->n < MAG_CAP && slab_stash(a, p, "free")) {
            m->slot[m->n++] = p;
            mag_leave(m);
            return;
        }
        mag_leave(m);
    }
    mag_free_slow(o, a, p, m);
}

/* ---- seal, destroy, fork ---------------------------------------------------- */

void mag_quiesce(struct sl_owner *o, const char *call)
{
    struct sl_owner_state *st = o->st;
    if (st->mags == NULL)
        return;
    __atomic_store_n(&st->mag_epoch, st->mag_epoch + 1, __ATOMIC_SEQ_CST);
    bool others = false;
    for (struct sl_mag *m = mag_checked(o, st->mags); m != NULL; m = mag_checked(o, m->next))
        others |= !mag_is_mine(m);
    /* (This thread is in no fast path.) Without the barrier a fast path
     * could still be about to store into a slab this call changes, and the
     * fast paths cannot switch to fences now: stop. */
    if (others && asymmetric && sl_os_barrier_all() != 0)
        owner_fatal(o, call, "membarrier(2) failed (%s): cannot stop other threads' fast paths",
                    strerror(errno));
    /* A busy flag that stays set is forged (lock.h); this thread's own
     * cannot be set at all. */
    for (struct sl_mag *m = mag_checked(o, st->mags); m != NULL; m = mag_checked(o, m->next)) {
        struct sl_spin wait = {0};
        while (atomic_load_explicit(&m->busy, memory_order_seq_cst))
            if (mag_is_mine(m) || sl_spin(&wait))
                owner_fatal(o, call, "corrupted metadata: a magazine stays inside a fast path");
        mag_drain(o, m);
    }
}

void mag_detach_all(struct sl_owner *o)
{
    mag_quiesce(o, "destroy");
    for (struct sl_mag *m; (m = mag_checked(o, o->st->mags)) != NULL;)
        mag_unbind(o, m);
}

void mag_fork_child(void)
{
    for (size_t i = 0; i < SL_G->mag_used; i++) {
        struct sl_mag_block *b = block_at(i);
        if (b == tl_block || !b->in_use)
            continue;
        for (unsigned k = 0; k < MAG_WAYS; k++) {
            struct sl_owner *o = mag_owner_checked(&b->mag[k]);
            if (o != NULL)
                mag_unbind(o, &b->mag[k]);
        }
        block_free(b);
    }
}
