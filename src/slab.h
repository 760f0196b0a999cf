/*
 * slab.h - fixed-size slots in the spans of one region (a cache, or one
 * size class of a pool).
 *
 * A slab is a one-unit span cut into `slots` slots of `stride` bytes. Its
 * out-of-band record holds a live bitmap (one bit per slot), the live
 * count, a bump index (slots never handed out) and, for pools, the size
 * asked for in each slot. Invariants, checked where they are relied upon:
 *  - popcount(bitmap) == live (verified before a seal and a reclaim);
 *  - a slot is handed out only from an OPEN slab, so never from a sealed
 *    page; a freed slot of an OPEN slab is zeroed at once, so every slot
 *    handed out is zero-filled;
 *  - a free on a SEALED slab touches only the record, never the page.
 * Callers hold the owner's lock, except for slab_find(), which is lock-free.
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

/* Resolve addr (inside arena a of a slab region). Lock-free. */
bool slab_find(const struct sl_arena *a, uintptr_t addr, struct sl_obj *out);

/* Record a new size asked for the live slot at p (pool realloc in place). */
void slab_resize(const struct sl_arena *a, uintptr_t p, size_t asked);

/* Forget the cursor when its slab was sealed (after region_seal). */
void slab_after_seal(struct sl_region *r, struct sl_cursor *cur);

#endif
