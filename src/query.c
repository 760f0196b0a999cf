/* SPDX-License-Identifier: MIT */
/*
 * query.c - seal_is_sealed(): is this address in sealed memory?
 *
 * Lock-free and async-signal-safe: a registry lookup and a read of the
 * span record, both read-only to the program. Memory that a destroyed permanent owner left mseal'd still
 * counts as sealed.
 */
#include "sealloc.h"

#include "region.h"
#include "registry.h"
#include "sanitize.h"

SL_RACY_READER int seal_is_sealed(const void *addr)
{
    bool pinned;
    registry_enter();
    struct sl_arena *a = registry_find((uintptr_t)addr, &pinned);
    int sealed = pinned;
    if (a != NULL) {
        uint32_t idx;
        const struct sl_span *s = arena_span_of(a, (uintptr_t)addr, &idx);
        sealed = s != NULL && arena_span_sealed(a, idx, s);
    }
    registry_exit();
    return sealed;
}
