/* SPDX-License-Identifier: MIT */
/*
 * cache.c - the public cache API: fixed-size objects in one slab region.
 *
 * Argument checks and misuse reports live here; the per-thread fast path
 * is magazine.c's job, placement slab.c's and address space region.c's.
 * Every entry that takes a handle validates it first (owner_validate);
 * every entry that takes an object pointer resolves it through the
 * cache's own arenas, so a pointer of another cache or of the heap is
 * reported, never acted upon.
 */
#include "sealloc.h"

#include "lifecycle.h"
#include "magazine.h"
#include "object.h"
#include "os.h"
#include "owner.h"
#include "registry.h"
#include "slab.h"

#include <errno.h>
#include <stdalign.h>
#include <stdint.h>

#define CACHE_MAX_OBJECT (256ull << 20) /* slabs of 8 fit 2^31 bytes */

static size_t default_align(size_t size)
{
    size_t a = 1;
    while (a < size && a < alignof(max_align_t))
        a *= 2;
    return a;
}

seal_cache *seal_cache_create(const char *name, size_t size, size_t align, unsigned flags)
{
    if (name == NULL || size == 0 || size > CACHE_MAX_OBJECT ||
        (align & (align - 1)) != 0 || align > sl_os_page_size()) {
        errno = EINVAL;
        return NULL;
    }
    if (owner_check_flags(flags) != 0)
        return NULL;
    if (align == 0)
        align = default_align(size);
    size_t stride = (size + align - 1) / align * align;
    struct sl_owner *o = owner_create(OWNER_CACHE, name, flags, 1);
    if (o == NULL)
        return NULL;
    o->obj_size = size;
    o->align = align;
    if (slab_configure(&o->regions[0], size, stride, false) != 0 || owner_publish(o) != 0) {
        owner_discard(o);
        return NULL;
    }
    return (seal_cache *)o;
}

void *seal_cache_alloc(seal_cache *c)
{
    return mag_alloc(owner_validate(c, OWNER_CACHE, "seal_cache_alloc"));
}

/* Abort for a pointer that is not in o's arenas, naming its real owner. */
static void __attribute__((noreturn)) report_foreign(struct sl_owner *o, const char *call, const void *p)
{
    bool pinned;
    registry_enter();
    struct sl_arena *a = registry_find((uintptr_t)p, &pinned);
    if (a != NULL)
        owner_fatal(o, call, "%p belongs to %s \"%s\" (wrong %s)", p, a->region->who.kind,
                    a->region->who.name, owner_kind(o));
    owner_fatal(o, call, "%p was not allocated by this %s", p, owner_kind(o));
}

void seal_cache_free(seal_cache *c, void *obj)
{
    if (obj == NULL)
        return;
    struct sl_owner *o = owner_validate(c, OWNER_CACHE, "seal_cache_free");
    struct sl_arena *a = region_arena_of(&o->regions[0], (uintptr_t)obj);
    if (a == NULL)
        report_foreign(o, "free", obj);
    mag_free(o, a, (uintptr_t)obj);
}

int seal_cache_seal(seal_cache *c)
{
    return lifecycle_seal(owner_validate(c, OWNER_CACHE, "seal_cache_seal"));
}

int seal_cache_unseal(seal_cache *c)
{
    if (c == NULL) {
        errno = EINVAL;
        return -1;
    }
    return lifecycle_unseal(owner_validate(c, OWNER_CACHE, "seal_cache_unseal"));
}

void seal_cache_destroy(seal_cache *c)
{
    if (c == NULL)
        return;
    lifecycle_destroy(owner_validate(c, OWNER_CACHE, "seal_cache_destroy"));
}

static bool cache_lookup(const seal_cache *c, const void *obj, const char *call, struct sl_obj *out)
{
    struct sl_owner *o = owner_validate(c, OWNER_CACHE, call);
    struct sl_arena *a = region_arena_of(&o->regions[0], (uintptr_t)obj);
    return a != NULL && object_live_at(a, (uintptr_t)obj, out);
}

int seal_cache_owns(const seal_cache *c, const void *obj)
{
    struct sl_obj found;
    return cache_lookup(c, obj, "seal_cache_owns", &found);
}

void seal_cache_require(const seal_cache *c, const void *obj)
{
    struct sl_obj found;
    if (!cache_lookup(c, obj, "seal_cache_require", &found))
        owner_fatal((const struct sl_owner *)c, "require", "%p is not a live object of this cache", obj);
    if (!found.sealed)
        owner_fatal((const struct sl_owner *)c, "require", "%p is not sealed", obj);
}
