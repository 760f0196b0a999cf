/* SPDX-License-Identifier: MIT */
/*
 * pool.c - the public pool API: variable-size allocations.
 *
 * A pool is an owner with one slab region per size class (16 bytes to
 * 16 KiB, four classes per doubling above 256) and one region of page
 * units for larger allocations, each a span of its own. Every slot records
 * the size asked for (out of band), which bounds write-rare. Pointers are
 * resolved through the registry and must lead back to this pool.
 */
#include "sealloc.h"

#include "lifecycle.h"
#include "object.h"
#include "os.h"
#include "owner.h"
#include "registry.h"
#include "slab.h"

#include <errno.h>
#include <stdalign.h>
#include <stdint.h>
#include <string.h>

static const uint32_t class_size[] = {
    16,   32,   48,   64,   80,   96,   112,  128,  144,  160,  176,  192,  208,  224,
    240,  256,  320,  384,  448,  512,  640,  768,  896,  1024, 1280, 1536, 1792, 2048,
    2560, 3072, 3584, 4096, 5120, 6144, 7168, 8192, 10240, 12288, 14336, 16384,
};
#define N_CLASSES (sizeof class_size / sizeof class_size[0])
#define LARGE N_CLASSES /* the region of large allocations */
#define POOL_MAX_ALLOC (1ull << 40)

/* The smallest class holding size bytes at an alignment of align; LARGE if
 * none (large allocations are page-aligned). */
static unsigned class_of(size_t size, size_t align)
{
    for (unsigned c = 0; c < N_CLASSES; c++)
        if (size <= class_size[c] && class_size[c] % align == 0)
            return c;
    return LARGE;
}

seal_pool *seal_pool_create(const char *name, unsigned flags)
{
    if (name == NULL) {
        errno = EINVAL;
        return NULL;
    }
    if (owner_check_flags(flags) != 0)
        return NULL;
    struct sl_owner *o = owner_create(OWNER_POOL, name, flags, N_CLASSES + 1);
    if (o == NULL)
        return NULL;
    for (unsigned c = 0; c < N_CLASSES; c++) {
        slab_configure(&o->regions[c], class_size[c], class_size[c], true);
        o->regions[c].first_arena = 16u << 20;
    }
    struct sl_region *large = &o->regions[LARGE];
    large->unit = sl_os_page_size();
    large->rec_size = 0; /* large spans have no writable record */
    large->first_arena = 64u << 20;
    if (owner_publish(o) != 0) {
        owner_discard(o);
        return NULL;
    }
    return (seal_pool *)o;
}

static void *large_alloc(struct sl_owner *o, size_t size)
{
    size_t pg = sl_os_page_size();
    size_t pages = (size + pg - 1) / pg;
    if (pages > UINT32_MAX) {
        errno = ENOMEM;
        return NULL;
    }
    uint32_t idx, opened;
    struct sl_arena *a = region_take(&o->regions[LARGE], (uint32_t)pages, size, &idx, &opened);
    return a == NULL ? NULL : (void *)arena_unit_addr(a, idx);
}

static void *pool_alloc_locked(struct sl_owner *o, size_t size, size_t align)
{
    unsigned c = class_of(size, align);
    void *p = c == LARGE ? large_alloc(o, size) : slab_alloc(&o->regions[c], &o->st->cur[c], size);
    if (p == NULL)
        errno = ENOMEM;
    return p;
}

static void *pool_alloc_checked(seal_pool *p, size_t align, size_t size, const char *call)
{
    struct sl_owner *o = owner_validate(p, OWNER_POOL, call);
    /* size 0 is a slot of the smallest class that records 0 bytes asked:
     * unique, freeable, and refused by write-rare (malloc(0) on glibc). */
    if ((align & (align - 1)) != 0 || align == 0 || align > sl_os_page_size()) {
        errno = EINVAL;
        return NULL;
    }
    if (size > POOL_MAX_ALLOC) {
        errno = ENOMEM;
        return NULL;
    }
    owner_lock(o);
    void *r = pool_alloc_locked(o, size, align);
    owner_unlock(o);
    return r;
}

void *seal_pool_alloc(seal_pool *p, size_t size)
{
    return pool_alloc_checked(p, alignof(max_align_t), size, "seal_pool_alloc");
}

void *seal_pool_aligned_alloc(seal_pool *p, size_t align, size_t size)
{
    if (align < alignof(max_align_t) && align != 0 && (align & (align - 1)) == 0)
        align = alignof(max_align_t);
    return pool_alloc_checked(p, align, size, "seal_pool_aligned_alloc");
}

char *seal_pool_strdup(seal_pool *p, const char *s)
{
    if (s == NULL) {
        owner_validate(p, OWNER_POOL, "seal_pool_strdup");
        errno = EINVAL;
        return NULL;
    }
    size_t n = strlen(s) + 1;
    char *d = pool_alloc_checked(p, alignof(max_align_t), n, "seal_pool_strdup");
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

/* Resolve ptr to a live allocation of o, or abort naming call. The
 * caller holds o's lock, so o's arenas cannot go away meanwhile. */
static struct sl_obj pool_resolve(struct sl_owner *o, const void *ptr, const char *call)
{
    bool pinned;
    registry_enter();
    struct sl_arena *a = registry_find((uintptr_t)ptr, &pinned);
    if (a == NULL)
        owner_fatal(o, call, "%p was not allocated by this pool", ptr);
    if (a->owner != o)
        owner_fatal(o, call, "%p belongs to %s \"%s\" (wrong pool)", ptr, a->region->who.kind,
                    a->region->who.name);
    registry_exit();
    struct sl_obj obj;
    if (!object_find(a, (uintptr_t)ptr, &obj))
        owner_fatal(o, call, "%p is not a live allocation (its chunk is free)", ptr);
    if (obj.start != (uintptr_t)ptr)
        owner_fatal(o, call, "%p is not the start of an allocation (interior pointer)", ptr);
    if (!obj.live)
        owner_fatal(o, call, "double free of %p", ptr);
    object_verify(&obj, call);
    return obj;
}

static void pool_free_locked(const struct sl_obj *obj, const char *call)
{
    struct sl_arena *a = (struct sl_arena *)(uintptr_t)obj->arena;
    if (a->region->slots != 0)
        slab_free(a, obj->start, call);
    else
        region_reclaim(a, (uint32_t)((obj->start - a->base) >> a->unit_shift), call);
}

void seal_pool_free(seal_pool *p, void *ptr)
{
    if (ptr == NULL)
        return;
    struct sl_owner *o = owner_validate(p, OWNER_POOL, "seal_pool_free");
    owner_lock(o);
    struct sl_obj obj = pool_resolve(o, ptr, "free");
    pool_free_locked(&obj, "free");
    owner_unlock(o);
}

void *seal_pool_realloc(seal_pool *p, void *ptr, size_t size)
{
    if (ptr == NULL)
        return seal_pool_alloc(p, size);
    if (size == 0) {
        seal_pool_free(p, ptr);
        return NULL;
    }
    struct sl_owner *o = owner_validate(p, OWNER_POOL, "seal_pool_realloc");
    if (size > POOL_MAX_ALLOC) {
        errno = ENOMEM;
        return NULL;
    }
    owner_lock(o);
    struct sl_obj obj = pool_resolve(o, ptr, "realloc");
    struct sl_region *r = obj.arena->region;
    void *out = ptr;
    if (!obj.sealed && r->slots != 0 && class_of(size, alignof(max_align_t)) == r->cls) {
        /* In place: the same class, still writable. */
        if (size < obj.size)
            memset((char *)ptr + size, 0, obj.size - size);
        slab_resize(obj.arena, obj.start, size);
    } else if ((out = pool_alloc_locked(o, size, alignof(max_align_t))) != NULL) {
        memcpy(out, ptr, obj.size < size ? obj.size : size);
        pool_free_locked(&obj, "realloc");
    }
    owner_unlock(o);
    return out;
}

int seal_pool_seal(seal_pool *p)
{
    return lifecycle_seal(owner_validate(p, OWNER_POOL, "seal_pool_seal"));
}

int seal_pool_unseal(seal_pool *p)
{
    if (p == NULL) {
        errno = EINVAL;
        return -1;
    }
    return lifecycle_unseal(owner_validate(p, OWNER_POOL, "seal_pool_unseal"));
}

void seal_pool_destroy(seal_pool *p)
{
    if (p == NULL)
        return;
    lifecycle_destroy(owner_validate(p, OWNER_POOL, "seal_pool_destroy"));
}

static bool pool_lookup(const seal_pool *p, const void *ptr, const char *call, struct sl_obj *out)
{
    struct sl_owner *o = owner_validate(p, OWNER_POOL, call);
    bool pinned, ok = false;
    registry_enter();
    struct sl_arena *a = registry_find((uintptr_t)ptr, &pinned);
    if (a != NULL && a->owner == o)
        ok = object_live_at(a, (uintptr_t)ptr, out);
    registry_exit();
    return ok;
}

int seal_pool_owns(const seal_pool *p, const void *ptr)
{
    struct sl_obj found;
    return pool_lookup(p, ptr, "seal_pool_owns", &found);
}

void seal_pool_require(const seal_pool *p, const void *ptr)
{
    struct sl_obj found;
    if (!pool_lookup(p, ptr, "seal_pool_require", &found))
        owner_fatal((const struct sl_owner *)p, "require", "%p is not a live allocation of this pool", ptr);
    if (!found.sealed)
        owner_fatal((const struct sl_owner *)p, "require", "%p is not sealed", ptr);
}
