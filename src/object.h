/* SPDX-License-Identifier: MIT */
/*
 * object.h - resolve an address to the object or allocation holding it,
 * for every kind of span (slab slots and large pool allocations). Used by
 * provenance checks, write-rare validation, owns() and fault attribution.
 * Lock-free: it reads records that are always mapped while the owner
 * lives; an answer can be stale if another thread frees concurrently.
 */
#ifndef SEALLOC_OBJECT_H
#define SEALLOC_OBJECT_H

#include "region.h"

#include <stdbool.h>
#include <stdint.h>

/* Fill *out for the object of arena a that contains addr. */
bool object_find(const struct sl_arena *a, uintptr_t addr, struct sl_obj *out);

/* Abort (naming call) if what *obj says about its bounds cannot be: a
 * slot's recorded size (writable) beyond its stride, or a large
 * allocation's beyond its span. For callers about to act on obj's bounds
 * (write-rare, realloc); not for signal handlers. */
void object_verify(const struct sl_obj *obj, const char *call);

/* The live object of arena a that starts exactly at addr. */
bool object_live_at(const struct sl_arena *a, uintptr_t addr, struct sl_obj *out);

#endif
