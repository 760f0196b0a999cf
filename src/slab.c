/*
 * slab.c - slot placement in slabs: allocation, free, lookup (see slab.h).
 */
#include "slab.h"

#include "guard.h"
#include "os.h"
#include "sanitize.h"

#include <errno.h>
#include <string.h>

#define SLAB_TARGET (64u << 10) /* bytes per slab for small objects */
#define SLAB_MAX_SLOTS 8192u    /* bounds the bitmap of tiny objects: 128 words,
                                   summarised by the two nonfull words */
#define SLAB_MIN_SLOTS 8u       /* large objects: at least this many per slab */

static size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

/* Slabs are a power of two long, so an address finds its slab by a shift. */
static size_t pow2_at_least(size_t n)
{
    size_t p = 1;
    while (p < n)
        p *= 2;
    return p;
}

static uint16_t *slot_sizes(const struct sl_region *r, const struct sl_unit *u)
{
    return (uint16_t *)(uintptr_t)(u->bits + (r->slots + 63) / 64);
}

int slab_configure(struct sl_region *r, size_t obj_size, size_t stride, bool sizes)
{
    size_t pg = sl_os_page_size();
    /* Tiny objects: the largest power of two holding at most
     * SLAB_MAX_SLOTS of them; small ones: SLAB_TARGET; large ones: room for
     * SLAB_MIN_SLOTS. */
    size_t unit;
    if (stride * SLAB_MAX_SLOTS <= SLAB_TARGET)
        unit = pow2_at_least(stride * SLAB_MAX_SLOTS + 1) / 2;
    else if (stride * SLAB_MIN_SLOTS <= SLAB_TARGET)
        unit = SLAB_TARGET;
    else
        unit = pow2_at_least(stride * SLAB_MIN_SLOTS);
    if (unit < pg)
        unit = pg;
    size_t slots = unit / stride;
    if (slots > SLAB_MAX_SLOTS || unit > UINT32_MAX || obj_size > UINT32_MAX || (sizes && obj_size > UINT16_MAX)) {
        errno = EINVAL;
        return -1;
    }
    r->unit = unit;
    r->stride = (uint32_t)stride;
    r->stride_inv = UINT64_MAX / stride + 1;
    r->slots = (uint32_t)slots;
    r->obj_size = (uint32_t)obj_size;
    r->sizes = sizes;
    r->rec_size = round_up(sizeof(struct sl_unit) + (slots + 63) / 64 * 8 + (sizes ? slots * 2 : 0), 8);
    r->first_arena = unit * 1024 < (64u << 20) ? unit * 1024 : (64u << 20);
    return 0;
}

/* Make an OPEN slab with a free slot current: a partial one, or a new one. */
static struct sl_unit *slab_adopt(struct sl_owner *o, struct sl_region *r, struct sl_cursor *cur,
                                  struct sl_arena **out)
{
    for (unsigned ai = 0; ai < r->n_arenas; ai++) {
        struct sl_arena *a = r->arenas[ai];
        const uint64_t *pb = arena_bitmap(a, BM_PARTIAL);
        for (uint32_t w = 0; w < a->st->words; w++) {
            if (pb[w] == 0)
                continue;
            uint32_t idx = w * 64 + (uint32_t)__builtin_ctzll(pb[w]);
            struct sl_unit *u = idx < a->n_units ? arena_unit(a, idx) : NULL;
            if (u == NULL || u->state != UNIT_OPEN || u->live >= r->slots)
                owner_fatal(o, "alloc", "corrupted metadata: partial bitmap of arena %u", a->id);
            region_check(a, u, "alloc");
            *cur = (struct sl_cursor){ai, idx};
            *out = a;
            return u;
        }
    }
    bool after_full = cur->unit != UINT32_MAX; /* slab_current: the cursor's slab is full */
    struct sl_arena *a;
    struct sl_unit *u = region_take(o, r, 1, &a);
    if (u == NULL)
        return NULL;
    uintptr_t base = arena_unit_addr(a, arena_unit_index(a, u));
    /* A region that has just filled a slab is likely to fill this one too:
     * fault its pages in with one call. After a seal, and for the first
     * slab, pages stay lazy, so a cache or size class holding a few objects
     * commits only the pages they touch. */
    if (after_full && r->unit <= SLAB_TARGET)
        sl_os_prefault((void *)base, r->unit);
    sl_poison(base, r->unit);
    bit_set(arena_bitmap(a, BM_PARTIAL), arena_unit_index(a, u));
    for (unsigned ai = 0; ai < r->n_arenas; ai++)
        if (r->arenas[ai] == a)
            *cur = (struct sl_cursor){ai, arena_unit_index(a, u)};
    *out = a;
    return u;
}

/* Free slots of bitmap word w (slots past the end of the slab excluded). */
static uint64_t free_bits(const struct sl_region *r, const struct sl_unit *u, uint32_t w)
{
    uint64_t bits = ~u->bits[w];
    if (w == r->slots / 64)
        bits &= (1ull << (r->slots % 64)) - 1;
    return bits;
}

/* A free slot: never-used ones first, then the lowest freed one, found
 * through the nonfull summary in O(1). UINT32_MAX if the slab is full. */
static uint32_t find_free_slot(const struct sl_region *r, struct sl_unit *u)
{
    if (u->bump < r->slots)
        return u->bump++;
    for (uint32_t s = 0; s < 2; s++) {
        if (u->nonfull[s] == 0)
            continue;
        uint32_t w = s * 64 + (uint32_t)__builtin_ctzll(u->nonfull[s]);
        uint64_t bits = free_bits(r, u, w);
        if (bits == 0)
            return UINT32_MAX; /* summary and bitmap disagree: caller aborts */
        if ((bits & (bits - 1)) == 0)
            u->nonfull[s] &= ~(1ull << (w % 64)); /* its last free slot */
        return w * 64 + (uint32_t)__builtin_ctzll(bits);
    }
    return UINT32_MAX;
}

/* The slab to allocate from: the cursor's while it has room (it stays
 * current when full, so a free on it makes room without a new adoption),
 * else an adopted one. Adoption verifies the check value; the cursor's slab
 * had it verified then, and the cursor is dropped when its slab is sealed,
 * so only its state is checked here. */
static struct sl_unit *slab_current(struct sl_owner *o, struct sl_region *r, struct sl_cursor *cur,
                                    struct sl_arena **out)
{
    if (cur->unit != UINT32_MAX) {
        if (cur->arena >= r->n_arenas || cur->unit >= r->arenas[cur->arena]->n_units)
            owner_fatal(o, "alloc", "corrupted metadata: allocation cursor");
        struct sl_arena *a = r->arenas[cur->arena];
        struct sl_unit *u = arena_unit(a, cur->unit);
        if (u->state != UNIT_OPEN)
            owner_fatal(o, "alloc", "corrupted metadata: allocating from a sealed slab");
        if (u->live < r->slots) {
            *out = a;
            return u;
        }
    }
    return slab_adopt(o, r, cur, out);
}

void *slab_alloc(struct sl_owner *o, struct sl_region *r, struct sl_cursor *cur, size_t asked)
{
    struct sl_arena *a;
    struct sl_unit *u = slab_current(o, r, cur, &a);
    if (u == NULL)
        return NULL;
    uint32_t slot = find_free_slot(r, u);
    if (slot == UINT32_MAX || bit_get(u->bits, slot))
        owner_fatal(o, "alloc", "corrupted metadata: slab %u of arena %u has no free slot",
                    cur->unit, a->id);
    bit_set(u->bits, slot);
    if (r->sizes)
        slot_sizes(r, u)[slot] = (uint16_t)asked;
    uint32_t idx = cur->unit;
    if (++u->live == r->slots)
        bit_clear(arena_bitmap(a, BM_PARTIAL), idx);
    uintptr_t p = arena_unit_addr(a, idx) + (uintptr_t)slot * r->stride;
    sl_unpoison(p, asked);
    return (void *)p;
}

void slab_free(struct sl_owner *o, struct sl_arena *a, uintptr_t p, const char *call)
{
    const struct sl_region *r = a->region;
    uint32_t idx;
    struct sl_unit *u = arena_span_of(a, p, &idx);
    if (u == NULL)
        owner_fatal(o, call, "%p is not a live object (its slab is free)", (void *)p);
    /* The state decides whether the slot is zeroed (open) or only counted
     * (sealed), and a sealed slab's count when its pages go back: verify. */
    region_check(a, u, call);
    uintptr_t off = p - arena_unit_addr(a, idx);
    uint32_t slot = div_by(off, r->stride_inv);
    if (off != (uintptr_t)slot * r->stride || slot >= r->slots)
        owner_fatal(o, call, "%p is not the start of an object (interior pointer)", (void *)p);
    if (!bit_get(u->bits, slot))
        owner_fatal(o, call, "double free of %p (object %u of slab %u)", (void *)p, slot, idx);
    if (u->live == 0)
        owner_fatal(o, call, "corrupted metadata: slab %u of arena %u counts no live object",
                    idx, a->id);
    bit_clear(u->bits, slot);
    u->live--;
    if (u->state == UNIT_OPEN) {
        sl_unpoison(p, r->stride);
        memset((void *)p, 0, r->stride);
        sl_poison(p, r->stride);
        if (r->sizes)
            slot_sizes(r, u)[slot] = 0;
        u->nonfull[slot / 4096] |= 1ull << (slot / 64 % 64);
        bit_set(arena_bitmap(a, BM_PARTIAL), idx);
        return;
    }
    /* A sealed slab: count the free out of band; give it back when empty. */
    region_stamp(a, u);
    if (u->live == 0)
        region_reclaim(o, a, u, call);
}

SL_RACY_READER bool slab_find(const struct sl_arena *a, uintptr_t addr, struct sl_obj *out)
{
    const struct sl_region *r = a->region;
    uint32_t idx;
    const struct sl_unit *u = arena_span_of(a, addr, &idx);
    if (u == NULL)
        return false;
    uint32_t slot = div_by(addr - arena_unit_addr(a, idx), r->stride_inv);
    if (slot >= r->slots)
        return false;
    *out = (struct sl_obj){
        .arena = a,
        .span = u,
        .start = arena_unit_addr(a, idx) + (uintptr_t)slot * r->stride,
        .size = r->sizes ? slot_sizes(r, u)[slot] : r->obj_size,
        .index = (uint64_t)idx * r->slots + slot,
        .live = bit_get(u->bits, slot),
        .sealed = u->state == UNIT_SEALED || u->state == UNIT_PINNED,
    };
    return true;
}

void slab_resize(const struct sl_arena *a, uintptr_t p, size_t asked)
{
    const struct sl_region *r = a->region;
    uint32_t idx;
    const struct sl_unit *u = arena_span_of(a, p, &idx);
    uint32_t slot = div_by(p - arena_unit_addr(a, idx), r->stride_inv);
    slot_sizes(r, u)[slot] = (uint16_t)asked;
    sl_unpoison(p, asked);
    sl_poison(p + asked, r->stride - asked);
}

void slab_after_seal(struct sl_region *r, struct sl_cursor *cur)
{
    if (cur->unit == UINT32_MAX || cur->arena >= r->n_arenas)
        return;
    if (arena_unit(r->arenas[cur->arena], cur->unit)->state != UNIT_OPEN)
        cur->unit = UINT32_MAX;
}
