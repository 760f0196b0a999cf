/* SPDX-License-Identifier: MIT */
/*
 * magazine.h - per-thread magazines: the lock-free fast path of caches.
 *
 * A magazine is a small stack of free, zero-filled slots of one cache,
 * private to one thread: a free pushes onto it and an allocation pops from
 * it without the cache's lock; only an empty magazine (refilled from the
 * thread's own current slab) or a full one (half given back) takes the
 * lock. The slots it holds are "cached" in their slab's record (slab.h),
 * so a double free is caught even when another thread's magazine holds the
 * slot, and every popped entry is verified (a cached slot of an open slab
 * of this cache) before it is handed out: a forged entry aborts instead of
 * handing out a sealed, live or foreign slot.
 *
 * Seal, destroy and fork must not let a fast path touch a slab while they
 * change it (a free zeroes the slot; after another thread's mprotect that
 * store would fault). The busy protocol keeps them apart:
 *  - a fast path sets its magazine's busy flag, then reads the cache's
 *    epoch, and proceeds only if it equals the magazine's; it clears busy
 *    (release) when done;
 *  - mag_quiesce() (the owner's lock held) bumps the epoch, makes every
 *    thread execute a full barrier (membarrier(2); a fence on every fast
 *    path where the kernel lacks it), waits until no magazine of the cache
 *    is busy, and gives every cached slot back to its slab.
 * After it, a fast path sees the new epoch, takes the lock (waiting for the
 * seal to finish) and refreshes its epoch there; so no magazine ever holds
 * a slot of a sealed slab.
 *
 * Each thread's magazines live in one block of its own, a slot of one
 * reservation whose address and used length are read-only (meta.h), each
 * block followed by a guard page. A magazine is bound to one cache at a
 * time, and linked in that cache's list under its lock. A thread's exit
 * gives its slots back and puts its block on a free list; a fork child
 * does the same for every thread but the one that forked. Blocks are never
 * unmapped, every block pointer taken from writable memory is checked
 * against the reservation, and every cache a magazine names against the
 * read-only owners list, before the library acts on them.
 *
 * Trade-offs, on purpose: a thread reuses the slot it freed last first
 * (as thread caches do; the locked path handed out never-used slots
 * first); a slab that an idle thread allocates from is not adopted by
 * others (at most one partly used slab per thread and cache); the move
 * cached -> live is a plain store, so a slot forged into two magazines is
 * handed out twice (both copies are unsealed memory the forger could
 * already write).
 */
#ifndef SEALLOC_MAGAZINE_H
#define SEALLOC_MAGAZINE_H

#include "owner.h"

#include <stdint.h>

#define MAG_CAP 32 /* slots per magazine */

struct sl_mag {
    struct sl_owner *_Atomic owner; /* the cache served, or NULL */
    _Atomic uint32_t busy;          /* 1 inside a fast path */
    uint32_t epoch;                 /* the cache's epoch when last refreshed */
    uint32_t n;                     /* slots held: slot[0..n), the last one next */
    struct sl_cursor cur;           /* this thread's slab in the cache */
    struct sl_mag *next, *prev;     /* the cache's magazines (its lock) */
    uintptr_t slot[MAG_CAP];
};

/* A zero-filled object of cache o; NULL + ENOMEM. */
void *mag_alloc(struct sl_owner *o);

/* Free p, which the caller located in arena a of cache o. Aborts on
 * misuse, as slab_free() does. */
void mag_free(struct sl_owner *o, struct sl_arena *a, uintptr_t p);

/* With o's lock held: stop every fast path on o and give back every slot
 * its magazines hold (before a seal, and at fork; call names the caller
 * in the report if membarrier(2) fails, which aborts). */
void mag_quiesce(struct sl_owner *o, const char *call);

/* With the owners-list lock and o's lock held: quiesce, then unbind every
 * magazine of o (destroy). */
void mag_detach_all(struct sl_owner *o);

/* In a fork child, with every lock held: unbind the magazines of the
 * threads that did not fork and unmap their blocks. */
void mag_fork_child(void);

#endif /* SEALLOC_MAGAZINE_H */
