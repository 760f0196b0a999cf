/*
 * object.c - address -> object resolution (see object.h).
 */
#include "object.h"

#include "owner.h"
#include "sanitize.h"
#include "slab.h"

SL_RACY_READER static bool large_find(const struct sl_arena *a, uintptr_t addr, struct sl_obj *out)
{
    uint32_t idx;
    const struct sl_unit *u = arena_span_of(a, addr, &idx);
    if (u == NULL)
        return false;
    uintptr_t start = arena_unit_addr(a, idx);
    *out = (struct sl_obj){
        .arena = a,
        .span = u,
        .start = start,
        .size = u->size,
        .index = start - a->base,
        .live = u->live != 0,
        .sealed = arena_span_sealed(a, idx, u),
    };
    return true;
}

bool object_find(const struct sl_arena *a, uintptr_t addr, struct sl_obj *out)
{
    return a->region->slots != 0 ? slab_find(a, addr, out) : large_find(a, addr, out);
}

void object_verify(const struct sl_obj *obj, const char *call)
{
    const struct sl_arena *a = obj->arena;
    if (a->region->slots == 0)
        region_check(a, obj->span, call);
    else if (obj->size > a->region->stride)
        owner_fatal(a->owner, call, "corrupted metadata: slot size %zu above its stride %u",
                    obj->size, a->region->stride);
}

bool object_live_at(const struct sl_arena *a, uintptr_t addr, struct sl_obj *out)
{
    return object_find(a, addr, out) && out->live && out->start == addr;
}
