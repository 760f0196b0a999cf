/* SPDX-License-Identifier: MIT */
/*
 * owner.h - what caches and pools have in common: the owner descriptor,
 * its lock, and the list of live owners.
 *
 * An owner (a cache or a pool) is two pieces of metadata in one mapping of
 * its own, away from every data page and ended by a guard page:
 *
 *   [descriptor: read-only][state: read-write][guard]
 *
 * The descriptor holds what decides which memory belongs to the owner and
 * how it may be protected: name, flags, geometry and the regions with
 * their arena lists. It is writable only between meta_open() and
 * meta_close() (meta.h) around a change (creation, a new arena,
 * destruction), always under the owner's lock. The public handle
 * (seal_cache *, seal_pool *) points at the descriptor, so a handle check
 * is a read of a page nobody can write.
 *
 * The state holds the lock and what changes on every call (cursors,
 * counters, the magazine list). Nothing in it decides protection.
 *
 * The list of live owners, its count and the destroy quarantine are in the
 * read-only globals (meta.h); the list itself is a read-only mapping. So
 * no writable byte can hide an owner from fork handling or stats, or slip
 * a forged descriptor into the quarantine (whose release unmaps it).
 *
 * Lock order: the owners-list lock, then an owner's lock, then the registry
 * lock, then meta's globals lock. Write-rare, require, owns and
 * seal_is_sealed take no owner lock, nor do a cache's alloc and free when
 * the thread's magazine serves them.
 *
 * Destroyed descriptors stay mapped (magic OWNER_DEAD, name kept) in a
 * quarantine of recent ones, so a use after destroy aborts with a message
 * instead of touching freed memory, until the descriptor is reused.
 *
 * Seal, destroy and fork are conducted from above (lifecycle.h): this file
 * only provides the pieces they use.
 */
#ifndef SEALLOC_OWNER_H
#define SEALLOC_OWNER_H

#include "meta.h"
#include "region.h"
#include "report.h"
#include "slab.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define OWNER_CACHE 0x7365616c63616368ull /* "sealcach" */
#define OWNER_POOL 0x7365616c706f6f6cull  /* "sealpool" */
#define OWNER_DEAD 0x6465616464656164ull  /* "deaddead" */

#define SL_NAME_MAX 64
#define OWNER_SLOT (64u << 10) /* bytes per descriptor slot: a power of two */
#define OWNER_SLOTS 16384u     /* live and quarantined owners at once */

struct sl_mag;

struct sl_owner_state {
    pthread_mutex_t lock;
    uint64_t seals;          /* seals that succeeded */
    uint64_t unseals;        /* unseals that succeeded */
    struct sl_mag *mags;     /* the threads' magazines of this cache */
    /* Bumped when a seal, destroy or fork empties the magazines
     * (magazine.h). Every fast path reads it: a line of its own, away from
     * the lock and the cursors that the slow paths write. */
    _Alignas(64) uint32_t mag_epoch;
    _Alignas(64) struct sl_cursor cur[]; /* one per region */
};

struct sl_owner {
    uint64_t magic;
    char name[SL_NAME_MAX];
    struct sl_who who;   /* owner_kind() and name, for reports */
    unsigned flags;
    size_t obj_size;     /* cache: the size asked for; pool: 0 */
    size_t align;        /* cache: the alignment in use */
    struct sl_owner_state *st;
    void *map;           /* the owner's slot (OWNER_SLOT bytes) */
    unsigned n_regions;
    struct sl_region regions[];
};

/* Create an owner with n_regions regions, configured by the caller between
 * owner_create() and owner_publish() (the descriptor is writable until
 * then). NULL + errno. */
struct sl_owner *owner_create(uint64_t magic, const char *name, unsigned flags,
                              unsigned n_regions);

/* Make the descriptor read-only and list the owner for stats and fork.
 * 0, or -1 + ENOMEM when the list cannot grow: the caller then discards
 * the owner with owner_discard(). */
int owner_publish(struct sl_owner *o);

/* Release an owner that was never published. Keeps errno. */
void owner_discard(struct sl_owner *o);

/* The report of a handle that owner_validate() refuses; never returns. */
__attribute__((noreturn, cold))
void owner_invalid(const void *handle, uint64_t magic, const char *call);

/* Abort unless handle is a live owner of the given kind; returns it.
 * Inline: every call of the API begins with it. */
static inline struct sl_owner *owner_validate(const void *handle, uint64_t magic, const char *call)
{
    const struct sl_owner *o = handle;
    uintptr_t off = (uintptr_t)handle -
                    (uintptr_t)__atomic_load_n(&SL_G->owner_base, __ATOMIC_RELAXED);
    if (__builtin_expect(off >= __atomic_load_n(&SL_G->owner_used, __ATOMIC_RELAXED) * OWNER_SLOT ||
                             off % OWNER_SLOT != 0 || o->magic != magic, 0))
        owner_invalid(handle, magic, call);
    return (struct sl_owner *)(uintptr_t)o;
}

/* o's lock and the owners-list lock (the first lock in the order), taken
 * with lock.h's checks. The _reset forms free them in a fork child. */
void owner_lock(struct sl_owner *o);
void owner_unlock(struct sl_owner *o);
void owner_lock_reset(struct sl_owner *o);
void owner_list_lock(void);
void owner_list_unlock(void);
void owner_list_lock_reset(void);

/* With the owners-list lock and o's lock held: take o off the list, mark
 * its descriptor dead (regions forgotten) and put it in the quarantine.
 * `pinned` bytes of its memory stay mapped. Returns the descriptor mapping
 * that left the quarantine, to release once the locks are dropped (NULL:
 * none). */
struct sl_owner *owner_retire(struct sl_owner *o, size_t pinned);

/* Release what owner_retire() returned; the caller holds the owners-list
 * lock. */
void owner_release(struct sl_owner *old);

/* Whether o is a live owner (in the read-only owners list); the caller
 * holds the owners-list lock. */
bool owner_is_listed(const struct sl_owner *o);

/* Call fn for every live owner; the caller holds the owners-list lock. */
void owner_for_each_locked(void (*fn)(struct sl_owner *, void *), void *ctx);

/* Call fn for every live owner with the owners-list lock held. */
void owner_for_each(void (*fn)(struct sl_owner *, void *), void *ctx);

/* Bytes left pinned by destroyed permanent owners. */
size_t owner_pinned_after_destroy(void);

/* Human kind for messages: "cache" or "pool". */
const char *owner_kind(const struct sl_owner *o);

/* Abort with the standard message about o. */
__attribute__((noreturn, cold, format(printf, 3, 4)))
void owner_fatal(const struct sl_owner *o, const char *call, const char *fmt, ...);

/* The flags every owner accepts, and their validation shared by create. */
#define SL_VALID_FLAGS (SEAL_PERMANENT | SEAL_WRITE_RARE)
int owner_check_flags(unsigned flags);

#endif /* SEALLOC_OWNER_H */
