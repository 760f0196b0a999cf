/* SPDX-License-Identifier: MIT */
/*
 * slab.h - fixed-size slots in the spans of one region (a cache, or one
 * size class of a pool).
 *
 * A slab is a one-unit span cut into `slots` slots of `stride` bytes.
 * While it is OPEN, its writable record (struct sl_unit, region.h) holds a
 * taken bitmap (one bit per slot), a state byte per slot, the live count, a
 * bump index (slots never handed out) and, for pools, the size asked for in
 * each slot. A slot of an OPEN slab is
 *   free     not taken, state FREE, all zeros: the slab may hand it out;
 *   live     taken, state LIVE: the program holds it;
 *   cached   taken, state CACHED: free, zero-filled, held in one thread's
 *            magazine (magazine.h) for that thread's next allocation.
 * When a seal covers the slab, slab_census() verifies the record (the
 * bitmap against the count; every free slot against its state byte and
 * its bytes: a free slot is all zeros) and the seal copies the live set
 * into the slab's read-only span record (region.h). From then on the
 * writable record is dead: a free of a sealed object clears its bit in the
 * span record through the kernel-mediated writer, and the slab is
 * reclaimed when that bitmap is empty. An unseal (teardown) brings the
 * record back to life from the span record: slab_reopen() makes the live
 * set the taken set, zeroes the slots freed while sealed, and the slab is
 * OPEN again, for the ordinary free path.
 * Invariants, checked where they are relied upon:
 *  - popcount(taken) == live in an OPEN slab (verified at a seal);
 *  - a slot is handed out only from a slab that the read-only open bitmap
 *    lists, so never from a sealed page; a freed slot of an OPEN slab is
 *    zeroed at once, so every slot handed out is zero-filled;
 *  - a free on a SEALED slab touches only its span record, never the page;
 *    a SEALED slab holds no cached slot (a seal drains the magazines);
 *  - the taken bitmap, the count and the summaries change only under the
 *    owner's lock. A lock-free free moves a slot live -> cached with one
 *    atomic exchange of its state byte, so of two frees of one object, in
 *    any threads, exactly one succeeds and the other aborts; the move
 *    cached -> live is a plain byte store by the one thread whose magazine
 *    holds the slot.
 * Callers hold the owner's lock, except for slab_find() and the inline
 * fast-path operations at the end, which are lock-free.
 */
#ifndef SEALLOC_SLAB_H
#define SEALLOC_SLAB_H

#include "region.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* The slab a region allocates from next (in the owner's state, or in a
 * thread's magazine). */
struct sl_cursor {
    uint32_t arena; /* index in the region's arena list */
    uint32_t unit;  /* UINT32_MAX: none */
};

/* Configure r for objects of obj_size bytes laid out every stride bytes;
 * sizes: remember the size asked for per slot. 0, or -1 + EINVAL. */
int slab_configure(struct sl_region *r, size_t obj_size, size_t stride, bool sizes);

/* A zero-filled slot of r, recording `asked` bytes; NULL + ENOMEM. */
void *slab_alloc(struct sl_region *r, struct sl_cursor *cur, size_t asked);

/* Free p, which the caller located in arena a. Aborts on misuse. */
void slab_free(struct sl_arena *a, uintptr_t p, const char *call);

/* Reserve up to n free slots of r for a magazine, from the cursor's slab
 * (adopting one only when it is full): they become cached, zero-filled and
 * poisoned. Returns how many (stops early at the end of a slab); 0 +
 * ENOMEM when there is no memory. */
uint32_t slab_reserve(struct sl_region *r, struct sl_cursor *cur, uintptr_t *out, uint32_t n);

/* Give the cached slot p of r back to its slab (a magazine drains). */
void slab_unreserve(const struct sl_region *r, uintptr_t p);

/* Live objects of slab idx of a, for stats: the span record's count if it
 * is sealed, else the writable count less the cached slots. */
uint32_t slab_live_count(const struct sl_arena *a, uint32_t idx, const struct sl_span *s);

/* The census of OPEN slab idx of a for a seal (sl_census_fn, region.h). */
uint32_t slab_census(const struct sl_arena *a, uint32_t idx, uint64_t *live_bits);

/* The reopen of SEALED slab idx of a for an unseal (sl_reopen_fn,
 * region.h), its pages already writable: the writable record is rebuilt
 * from the span record (taken bits, slot states, count, bump index, the
 * summaries; sizes of free slots cleared), every free slot is zeroed and
 * poisoned, and the slab is partial if it has room. Aborts if the span
 * record's count disagrees with its bitmap. */
void slab_reopen(struct sl_arena *a, uint32_t idx);

/* The cursor leaves its slab, which other cursors may then adopt. */
void slab_drop_cursor(struct sl_region *r, struct sl_cursor *cur);

/* Resolve addr (inside arena a of a slab region). Lock-free. */
bool slab_find(const struct sl_arena *a, uintptr_t addr, struct sl_obj *out);

/* Record a new size asked for the live slot at p (pool realloc in place). */
void slab_resize(const struct sl_arena *a, uintptr_t p, size_t asked);

/* Forget the cursor when its slab was sealed (after region_seal). */
void slab_after_seal(struct sl_region *r, struct sl_cursor *cur);

/* ---- the lock-free slot operations of the fast path (inline) ------------
 *
 * A slab is OPEN for them when its unit is below the arena's high-water
 * mark and set in the arena's open bitmap, both in the read-only control
 * pages (region.h); the slot's state byte says whether the slot is live or
 * cached. A forged magazine entry therefore cannot name a slot of a sealed
 * or reclaimed slab: the allocation checks the open bit before it hands
 * the slot out, and aborts. */

enum { SLOT_FREE = 0, SLOT_LIVE = 1, SLOT_CACHED = 2 };

static inline uint8_t *slot_states(const struct sl_region *r, const struct sl_unit *u)
{
    return (uint8_t *)(uintptr_t)(u->bits + (r->slots + 63) / 64);
}

/* Whether p (inside arena a) lies in a slab the fast paths may use: its
 * unit (*idx) is below the high-water mark and listed open. */
static inline bool slab_fast_open(const struct sl_arena *a, uintptr_t p, uint32_t *idx)
{
    *idx = (uint32_t)((p - a->base) >> a->unit_shift);
    return *idx < arena_hwm(a) && arena_open_bit(a, *idx);
}

/* The slot of slab idx of a that starts at p, or UINT32_MAX when p is not
 * the start of a slot. */
static inline uint32_t slab_slot_at(const struct sl_arena *a, uint32_t idx, uintptr_t p)
{
    const struct sl_region *r = a->region;
    uintptr_t off = p - arena_unit_addr(a, idx);
    uint32_t slot = div_by(off, r->stride_inv);
    return off == (uintptr_t)slot * r->stride && slot < r->slots ? slot : UINT32_MAX;
}

/* Misuse and corruption reports of the fast path (slab.c; never return). */
__attribute__((noreturn, cold)) void slab_report_interior(const struct sl_region *r, uintptr_t p,
                                                         const char *call);
__attribute__((noreturn, cold)) void slab_report_double_free(const struct sl_region *r, uintptr_t p,
                                                            uint32_t slot, uint32_t idx,
                                                            const char *call);
__attribute__((noreturn, cold)) void slab_report_bad_entry(const struct sl_region *r, uintptr_t p);

/* Make slot `slot` of slab idx of a (at p) cached, from live: one atomic
 * exchange, so of two frees of one object, in any threads, exactly one
 * succeeds and the other aborts. Then zero and poison it. */
static inline void slab_cache_slot(const struct sl_arena *a, uint32_t idx, uint32_t slot,
                                   uintptr_t p, const char *call)
{
    const struct sl_region *r = a->region;
    if (__atomic_exchange_n(&slot_states(r, arena_unit(a, idx))[slot], SLOT_CACHED,
                            __ATOMIC_RELAXED) != SLOT_LIVE)
        slab_report_double_free(r, p, slot, idx, call);
    sl_unpoison(p, r->stride);
    memset((void *)p, 0, r->stride);
    sl_poison(p, r->stride);
}

/* Lock-free: a free of p (located in arena a) into a magazine. Verifies p
 * is a live object, makes it cached, zeroes and poisons it. false, with
 * nothing changed, when p's slab is not OPEN (a sealed object: the caller
 * frees it with slab_free() under the lock, which checks everything).
 * Aborts on misuse. The caller keeps a seal out (magazine.c's busy
 * protocol, or the owner's lock). */
__attribute__((always_inline)) static inline bool slab_stash(const struct sl_arena *a, uintptr_t p,
                                                             const char *call)
{
    uint32_t idx;
    if (!slab_fast_open(a, p, &idx))
        return false;
    uint32_t slot = slab_slot_at(a, idx, p);
    if (slot == UINT32_MAX)
        slab_report_interior(a->region, p, call);
    slab_cache_slot(a, idx, slot, p, call);
    return true;
}

/* Lock-free: hand out p, a slot taken from a magazine of r. Aborts unless
 * it is a cached slot of a slab of r that the read-only open bitmap lists
 * (a forged magazine entry). Only the thread whose magazine holds a cached
 * slot moves it (a free racing for it finds it cached and aborts): a plain
 * store makes it live. */
__attribute__((always_inline)) static inline void *slab_unstash(const struct sl_region *r, uintptr_t p)
{
    const struct sl_arena *a = region_arena_of(r, p);
    uint32_t idx, slot;
    if (a == NULL || !slab_fast_open(a, p, &idx) || (slot = slab_slot_at(a, idx, p)) == UINT32_MAX)
        slab_report_bad_entry(r, p);
    uint8_t *st = &slot_states(r, arena_unit(a, idx))[slot];
    if (__atomic_load_n(st, __ATOMIC_RELAXED) != SLOT_CACHED)
        slab_report_bad_entry(r, p);
    __atomic_store_n(st, SLOT_LIVE, __ATOMIC_RELAXED);
    sl_unpoison(p, r->obj_size);
    return (void *)p;
}

#endif
