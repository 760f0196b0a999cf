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

static uint32_t bitmap_words(const struct sl_region *r) { return (r->slots + 63) / 64; }

static uint16_t *slot_sizes(const struct sl_region *r, const struct sl_unit *u)
{
    return (uint16_t *)(uintptr_t)(u->bits + bitmap_words(r) + (r->slots + 7) / 8);
}

static uint8_t state_get(const uint8_t *st, uint32_t i)
{
    return __atomic_load_n(&st[i], __ATOMIC_RELAXED);
}

static void state_set(uint8_t *st, uint32_t i, uint8_t v)
{
    __atomic_store_n(&st[i], v, __ATOMIC_RELAXED);
}

int slab_configure(struct sl_region *r, size_t obj_size, size_t stride, bool sizes)
{
    size_t pg = sl_os_page_size();
    stride = round_up(stride, SL_POISON_GRANULE);
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
    /* Whole cache lines: threads allocating from neighbouring slabs
     * update their records without sharing a line. */
    r->rec_size = round_up(sizeof(struct sl_unit) + (slots + 63) / 64 * 8 + round_up(slots, 8) +
                               (sizes ? slots * 2 : 0), 64);
    r->first_arena = unit * 1024 < (64u << 20) ? unit * 1024 : (64u << 20);
    return 0;
}

void slab_drop_cursor(struct sl_region *r, struct sl_cursor *cur)
{
    if (cur->unit != UINT32_MAX && cur->arena < r->n_arenas &&
        cur->unit < r->arenas[cur->arena]->n_units)
        arena_unit(r->arenas[cur->arena], cur->unit)->claimed = 0;
    cur->unit = UINT32_MAX;
}

/* Make u (unit idx of arena ai) the cursor's slab, claimed by it. */
static void cursor_claim(struct sl_region *r, struct sl_cursor *cur, unsigned ai, uint32_t idx,
                         struct sl_unit *u)
{
    slab_drop_cursor(r, cur);
    u->claimed = 1;
    *cur = (struct sl_cursor){ai, idx};
}

/* Make an OPEN slab with a free slot current: a partial one that no other
 * cursor allocates from, or a new one. */
static struct sl_unit *slab_adopt(struct sl_owner *o, struct sl_region *r, struct sl_cursor *cur,
                                  struct sl_arena **out)
{
    for (unsigned ai = 0; ai < r->n_arenas; ai++) {
        struct sl_arena *a = r->arenas[ai];
        const uint64_t *pb = arena_bitmap(a, BM_PARTIAL);
        for (uint32_t w = 0; w < a->st->words; w++) {
            for (uint64_t bits = pb[w]; bits != 0; bits &= bits - 1) {
                uint32_t idx = w * 64 + (uint32_t)__builtin_ctzll(bits);
                struct sl_unit *u = idx < a->n_units ? arena_unit(a, idx) : NULL;
                if (u == NULL || u->state != UNIT_OPEN || u->live >= r->slots)
                    owner_fatal(o, "alloc", "corrupted metadata: partial bitmap of arena %u", a->id);
                if (u->claimed)
                    continue;
                region_check(a, u, "alloc");
                cursor_claim(r, cur, ai, idx, u);
                *out = a;
                return u;
            }
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
            cursor_claim(r, cur, ai, arena_unit_index(a, u), u);
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

/* Take a free slot of u (unit idx of a, the cursor's slab, which has
 * one: slab_current()). */
static uintptr_t take_slot(struct sl_owner *o, struct sl_region *r, struct sl_arena *a,
                           struct sl_unit *u, uint32_t idx, size_t asked, uint8_t state)
{
    uint32_t slot = find_free_slot(r, u);
    if (slot == UINT32_MAX || bit_get(u->bits, slot))
        owner_fatal(o, "alloc", "corrupted metadata: slab %u of arena %u has no free slot",
                    idx, a->id);
    bit_set(u->bits, slot);
    state_set(slot_states(r, u), slot, state);
    if (r->sizes)
        slot_sizes(r, u)[slot] = (uint16_t)asked;
    if (++u->live == r->slots)
        bit_clear(arena_bitmap(a, BM_PARTIAL), idx);
    return arena_unit_addr(a, idx) + (uintptr_t)slot * r->stride;
}

void *slab_alloc(struct sl_owner *o, struct sl_region *r, struct sl_cursor *cur, size_t asked)
{
    struct sl_arena *a;
    struct sl_unit *u = slab_current(o, r, cur, &a);
    if (u == NULL)
        return NULL;
    uintptr_t p = take_slot(o, r, a, u, cur->unit, asked, SLOT_LIVE);
    sl_unpoison(p, asked);
    return (void *)p;
}

/* The slot that starts at p in arena a: its slab's record, the slab's
 * index and the slot's. Aborts when p is not the start of a slot of a
 * slab in use. Lock-free. */
static struct sl_unit *slot_of(struct sl_owner *o, const struct sl_arena *a, uintptr_t p,
                               const char *call, uint32_t *idx, uint32_t *slot)
{
    struct sl_unit *u = arena_span_of(a, p, idx);
    if (u == NULL)
        owner_fatal(o, call, "%p is not a live object (its slab is free)", (void *)p);
    if ((*slot = slab_slot_at(a, *idx, p)) == UINT32_MAX)
        slab_report_interior(o, p, call);
    return u;
}

/* Take up to n never-used slots of the cursor's slab u (unit idx of a)
 * at once, as cached: the run at its bump index, whose bits, states and
 * count change in one pass. Returns how many (0: u has no such slot). */
static uint32_t take_bump_run(struct sl_owner *o, struct sl_region *r, struct sl_arena *a,
                              struct sl_unit *u, uint32_t idx, uintptr_t *out, uint32_t n)
{
    uint32_t first = u->bump, k = first < r->slots ? r->slots - first : 0;
    if (k > n)
        k = n;
    if (k == 0)
        return 0;
    /* Every taken slot lies below the bump index. */
    if (u->live > first)
        owner_fatal(o, "alloc", "corrupted metadata: slab %u of arena %u counts %u live objects",
                    idx, a->id, u->live);
    uint8_t *states = slot_states(r, u);
    for (uint32_t s = first; s < first + k; s++) {
        if (bit_get(u->bits, s) || state_get(states, s) != SLOT_FREE)
            owner_fatal(o, "alloc", "corrupted metadata: slab %u of arena %u has no free slot",
                        idx, a->id);
        bit_set(u->bits, s);
        state_set(states, s, SLOT_CACHED); /* lock-free paths read states */
        if (r->sizes)
            slot_sizes(r, u)[s] = (uint16_t)r->obj_size;
    }
    u->bump = first + k;
    if ((u->live += k) == r->slots)
        bit_clear(arena_bitmap(a, BM_PARTIAL), idx);
    uintptr_t p = arena_unit_addr(a, idx) + (uintptr_t)first * r->stride;
    for (uint32_t i = 0; i < k; i++, p += r->stride)
        out[i] = p;
    return k;
}

uint32_t slab_reserve(struct sl_owner *o, struct sl_region *r, struct sl_cursor *cur,
                      uintptr_t *out, uint32_t n)
{
    uint32_t got = 0;
    while (got < n) {
        if (got > 0 && arena_unit(r->arenas[cur->arena], cur->unit)->live == r->slots)
            break; /* the slab is full: the next refill adopts another */
        struct sl_arena *a;
        struct sl_unit *u = slab_current(o, r, cur, &a);
        if (u == NULL)
            break;
        uint32_t k = take_bump_run(o, r, a, u, cur->unit, out + got, n - got);
        if (k == 0) {
            uintptr_t p = take_slot(o, r, a, u, cur->unit, r->obj_size, SLOT_CACHED);
            out[got++] = p;
        }
        got += k;
    }
    if (got == 0)
        errno = ENOMEM;
    return got;
}

/* Whether slab u (unit idx of a) is OPEN, for the locked free: its state
 * is cross-checked with the arena's open bitmap (which the fast paths go
 * by, slab.h), so forging one of them aborts here. */
static bool slab_is_open(struct sl_owner *o, const struct sl_arena *a, const struct sl_unit *u,
                         uint32_t idx, const char *call)
{
    bool open = __atomic_load_n(&u->state, __ATOMIC_RELAXED) == UNIT_OPEN;
    if (open != arena_open_bit(a, idx))
        owner_fatal(o, call, "corrupted metadata: slab record %u of arena %u", idx, a->id);
    return open;
}

void slab_report_interior(const struct sl_owner *o, uintptr_t p, const char *call)
{
    owner_fatal(o, call, "%p is not the start of an object (interior pointer)", (void *)p);
}

void slab_report_double_free(const struct sl_owner *o, uintptr_t p, uint32_t slot, uint32_t idx,
                             const char *call)
{
    owner_fatal(o, call, "double free of %p (object %u of slab %u)", (void *)p, slot, idx);
}

void slab_report_bad_entry(const struct sl_owner *o, uintptr_t p)
{
    owner_fatal(o, "alloc", "corrupted metadata: magazine holds %p, not a cached slot", (void *)p);
}

/* Slot `slot` of u (unit idx of a), taken, leaves the taken bitmap. */
static void release_slot(struct sl_owner *o, const struct sl_arena *a, struct sl_unit *u,
                         uint32_t idx, uint32_t slot, const char *call)
{
    if (u->live == 0)
        owner_fatal(o, call, "corrupted metadata: slab %u of arena %u counts no live object",
                    idx, a->id);
    bit_clear(u->bits, slot);
    state_set(slot_states(a->region, u), slot, SLOT_FREE);
    u->live--;
}

/* Give the cached slot `slot` of u (unit idx of a, at p) back to it. */
static void unreserve_slot(struct sl_owner *o, struct sl_arena *a, struct sl_unit *u,
                           uint32_t idx, uint32_t slot, uintptr_t p, const char *call)
{
    const struct sl_region *r = a->region;
    region_check(a, u, call);
    if (u->state != UNIT_OPEN || !bit_get(u->bits, slot) ||
        state_get(slot_states(r, u), slot) != SLOT_CACHED)
        owner_fatal(o, call, "corrupted metadata: magazine holds %p, not a cached slot", (void *)p);
    release_slot(o, a, u, idx, slot, call);
    if (r->sizes)
        slot_sizes(r, u)[slot] = 0;
    u->nonfull[slot / 4096] |= 1ull << (slot / 64 % 64);
    bit_set(arena_bitmap(a, BM_PARTIAL), idx);
}

void slab_unreserve(struct sl_owner *o, const struct sl_region *r, uintptr_t p)
{
    static const char call[] = "free";
    struct sl_arena *a = region_arena_of(r, p);
    if (a == NULL)
        owner_fatal(o, call, "corrupted metadata: magazine holds %p", (void *)p);
    uint32_t idx, slot;
    struct sl_unit *u = slot_of(o, a, p, call, &idx, &slot);
    unreserve_slot(o, a, u, idx, slot, p, call);
}

uint32_t slab_cached_count(const struct sl_region *r, const struct sl_unit *u)
{
    const uint8_t *st = slot_states(r, u);
    uint32_t n = 0;
    for (uint32_t i = 0; i < r->slots; i++)
        n += state_get(st, i) == SLOT_CACHED;
    return n;
}

void slab_free(struct sl_owner *o, struct sl_arena *a, uintptr_t p, const char *call)
{
    uint32_t idx, slot;
    struct sl_unit *u = slot_of(o, a, p, call, &idx, &slot);
    /* An OPEN slab: the slot is zeroed and goes back through the cached
     * state, so a free races correctly with lock-free ones. */
    if (slab_is_open(o, a, u, idx, call)) {
        slab_cache_slot(o, a, idx, slot, p, call);
        unreserve_slot(o, a, u, idx, slot, p, call);
        return;
    }
    /* A sealed slab: count the free out of band; give it back when empty.
     * The state and count decide what happens to its pages: verify. */
    region_check(a, u, call);
    if (!bit_get(u->bits, slot) || state_get(slot_states(a->region, u), slot) != SLOT_LIVE)
        owner_fatal(o, call, "double free of %p (object %u of slab %u)", (void *)p, slot, idx);
    release_slot(o, a, u, idx, slot, call);
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
        .live = slot_states(r, u)[slot] == SLOT_LIVE,
        .sealed = arena_span_sealed(a, idx, u),
    };
    return true;
}

void slab_resize(const struct sl_arena *a, uintptr_t p, size_t asked)
{
    const struct sl_region *r = a->region;
    uint32_t idx, slot;
    const struct sl_unit *u = slot_of(a->owner, a, p, "realloc", &idx, &slot);
    slot_sizes(r, u)[slot] = (uint16_t)asked;
    sl_unpoison(p, asked);
    sl_poison(p + asked, r->stride - asked);
}

void slab_after_seal(struct sl_region *r, struct sl_cursor *cur)
{
    if (cur->unit == UINT32_MAX || cur->arena >= r->n_arenas)
        return;
    if (arena_unit(r->arenas[cur->arena], cur->unit)->state != UNIT_OPEN)
        slab_drop_cursor(r, cur);
}
