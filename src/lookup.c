/* SPDX-License-Identifier: MIT */
/*
 * lookup.c - seal_cache_of(), seal_pool_of(): which owner holds a pointer.
 *
 * For allocation hooks that get no context pointer (a library's global
 * malloc/free replacement): the registry resolves the address to its
 * arena, the arena names its owner, and the object layer says whether a
 * live object starts exactly there. Lock-free and async-signal-safe, like
 * seal_is_sealed(): registry_find() and object_live_at() read only
 * records that stay mapped while the reader is inside the registry.
 *
 * A destroyed owner's arenas leave the registry before its descriptor is
 * marked dead, so its memory resolves to nothing; the magic check also
 * refuses an owner whose destruction is under way.
 */
#include "sealloc.h"

#include "object.h"
#include "owner.h"
#include "registry.h"
#include "sanitize.h"

/* The handle of the live owner of kind magic of the live object starting
 * at p, or NULL. An arena's owner is the handle of its read-only
 * descriptor, which stays mapped while the arena is registered. */
SL_RACY_READER static void *owner_of(const void *p, uint64_t magic)
{
    bool pinned;
    struct sl_obj obj;
    registry_enter();
    struct sl_arena *a = registry_find((uintptr_t)p, &pinned);
    const struct sl_owner *o = a != NULL ? a->owner : NULL;
    if (o != NULL && (__atomic_load_n(&o->magic, __ATOMIC_RELAXED) != magic ||
                      !object_live_at(a, (uintptr_t)p, &obj)))
        o = NULL;
    registry_exit();
    return (void *)(uintptr_t)o;
}

seal_cache *seal_cache_of(const void *p) { return owner_of(p, OWNER_CACHE); }

seal_pool *seal_pool_of(const void *p) { return owner_of(p, OWNER_POOL); }
