/*
 * slab.h - fixed-size slots in the spans of one region (a cache, or one
 * size class of a pool).
 *
 * A slab is a one-unit span cut into `slots` slots of `stride` bytes. Its
 * out-of-band record holds a taken bitmap (one bit per slot), a state byte
 * per slot, the live count, a bump index (slots never handed out) and, for
 * pools, the size asked for in each slot. A slot is
 *   free     not taken, state FREE: the slab may hand it out;
 *   live     taken, state LIVE: the program holds it;
 *   cached   taken, state CACHED: free, zero-filled, held in one thread's
 *            magazine (magazine.h) for that thread's next allocation.
 * Invariants, checked where they are relied upon:
 *  - popcount(taken) == live (verified before a seal and a reclaim);
 *  - a slot is handed out only from an OPEN slab, so never from a sealed
 *    page; a freed slot of an OPEN slab is zeroed at once, so every slot
 *    handed out is zero-filled;
 *  - a free on a SEALED slab touches only the record, never the page;
 *    a SEALED slab holds no cached slot (a seal drains the magazines);
 *  - the taken bitmap, the count and the summaries change only under the
 *    owner's lock. A lock-free free moves a slot live -> cached with one
 *    atomic exchange of its state byte, so of two frees of one object, in
 *    any threads, exactly one succeeds and the other aborts; the move
 *    cached -> live is a plain byte store by the one thread whose magazine
 *    holds the slot.
 * Callers hold the owner's lock, except for slab_find(), slab_stash() and
 * slab_unstash(), which are lock-free.
 */
#ifndef SEALLOC_SLAB_H
#define SEALLOC_SLAB_H

#include "owner.h"
#include "region.h"

#include <stdbool.h>
#include <stddef.h>

/* Configure r for objects of obj_size bytes laid out every stride bytes;
 * sizes: remember the size asked for per slot. 0, or -1 + EINVAL. */
int slab_configure(struct sl_region *r, size_t obj_size, size_t stride, bool sizes);

/* A zero-filled slot of r, recording `asked` bytes; NULL + ENOMEM. */
void *slab_alloc(struct sl_owner *o, struct sl_region *r, struct sl_cursor *cur, size_t asked);

/* Free p, which the caller located in arena a of r. Aborts on misuse. */
void slab_free(struct sl_owner *o, struct sl_arena *a, uintptr_t p, const char *call);

/* Reserve up to n free slots of r for a magazine, from the cursor's slab
 * (adopting one only when it is full): they become cached, zero-filled and
 * poisoned. Returns how many (stops early at the end of a slab); 0 +
 * ENOMEM when there is no memory. */
uint32_t slab_reserve(struct sl_owner *o, struct sl_region *r, struct sl_cursor *cur,
                      uintptr_t *out, uint32_t n);

/* Lock-free: a free of p (located in arena a) into a magazine. Verifies p
 * is a live object, makes it cached, zeroes and poisons it. false, with
 * nothing changed, when p's slab is not OPEN (a sealed object: the caller
 * frees it with slab_free() under the lock). Aborts on misuse. The caller
 * keeps a seal out (magazine.c's busy protocol, or the owner's lock). */
bool slab_stash(struct sl_owner *o, struct sl_arena *a, uintptr_t p, const char *call);

/* Lock-free: hand out p, a slot taken from a magazine of r. Aborts unless
 * it is a cached slot of an OPEN slab of r (a forged magazine entry). */
void *slab_unstash(struct sl_owner *o, const struct sl_region *r, uintptr_t p);

/* Give the cached slot p of r back to its slab (a magazine drains). */
void slab_unreserve(struct sl_owner *o, const struct sl_region *r, uintptr_t p);

/* Cached slots of u, for stats. Lock-free. */
uint32_t slab_cached_count(const struct sl_region *r, const struct sl_unit *u);

/* The cursor leaves its slab, which other cursors may then adopt. */
void slab_drop_cursor(struct sl_region *r, struct sl_cursor *cur);

/* Resolve addr (inside arena a of a slab region). Lock-free. */
bool slab_find(const struct sl_arena *a, uintptr_t addr, struct sl_obj *out);

/* Record a new size asked for the live slot at p (pool realloc in place). */
void slab_resize(const struct sl_arena *a, uintptr_t p, size_t asked);

/* Forget the cursor when its slab was sealed (after region_seal). */
void slab_after_seal(struct sl_region *r, struct sl_cursor *cur);

#endif
