/* SPDX-License-Identifier: MIT */
/*
 * object.c - address -> object resolution (see object.h).
 */
#include "object.h"

#include "report.h"
#include "sanitize.h"
#include "slab.h"

SL_RACY_READER static bool large_find(const struct sl_arena *a, uintptr_t addr, struct sl_obj *out)
{
    uint32_t idx;
    const struct sl_span *s = arena_span_of(a, addr, &idx);
    if (s == NULL)
        return false;
    uintptr_t start = arena_unit_addr(a, idx);
    *out = (struct sl_obj){
        .arena = a,
        .span = s,
        .start = start,
        .size = s->size,
        .index = start - a->base,
        .live = s->live != 0,
        .sealed = arena_span_sealed(a, idx, s),
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
    size_t room = a->region->slots != 0 ? a->region->stride : (size_t)obj->span->span * a->unit;
    if (obj->size > room)
        sl_report(&a->region->who, call, "corrupted metadata: allocation size %zu above its room %zu",
                  obj->size, room);
}

bool object_live_at(const struct sl_arena *a, uintptr_t addr, struct sl_obj *out)
{
    return object_find(a, addr, out) && out->live && out->start == addr;
}
