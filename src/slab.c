/* SPDX-License-Identifier: MIT */
/*
 * slab.c - slot placement in slabs: allocation, free, lookup, and the
 * census a seal takes of an open slab (see slab.h).
 */
#include "slab.h"

#include "os.h"
#include "report.h"
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

/* Whether slab idx of a is OPEN, as the read-only control pages say (its
 * span record and the open bitmap must agree). */
static bool slab_open(const struct sl_arena *a, uint32_t idx, const char *call)
{
    const struct sl_span *s = arena_span(a, idx);
    bool open = s->span == 1 && s->head == idx && s->state == UNIT_OPEN;
    if (open != arena_open_bit(a, idx))
        sl_report(&a->region->who, call, "corrupted metadata: slab %u of arena %u", idx, a->id);
    return open;
}

/* Make u (unit idx of arena ai) the cursor's slab, claimed by it. */
static void cursor_claim(struct sl_region *r, struct sl_cursor *cur, unsigned ai, uint32_t idx,
                         struct sl_unit *u)
{
    slab_drop_cursor(r, cur);
    u->claimed = 1;
    *cur = (struct sl_cursor){ai, idx};
}

/* An OPEN slab with a free slot that no cursor allocates from: false if
 * none (the partial bitmap is writable: what it names is checked). */
static bool find_partial(struct sl_region *r, unsigned *ai_out, uint32_t *idx_out)
{
    for (unsigned ai = 0; ai < r->n_arenas; ai++) {
        struct sl_arena *a = r->arenas[ai];
        for (uint32_t w = 0; w < a->words; w++) {
            for (uint64_t bits = a->partial[w]; bits != 0; bits &= bits - 1) {
                uint32_t idx = w * 64 + (uint32_t)__builtin_ctzll(bits);
                struct sl_unit *u = idx < a->n_units ? arena_unit(a, idx) : NULL;
                if (u == NULL || !slab_open(a, idx, "alloc") || u->live >= r->slots)
                    sl_report(&r->who, "alloc", "corrupted metadata: partial bitmap of arena %u", a->id);
                if (u->claimed)
                    continue;
                *ai_out = ai;
                *idx_out = idx;
                return true;
            }
        }
    }
    return false;
}

/* Make an OPEN slab with a free slot current: a partial one that no other
 * cursor allocates from, or a new one (with the slabs the region opened
 * beside it, which become partial). */
static struct sl_unit *slab_adopt(struct sl_region *r, struct sl_cursor *cur, struct sl_arena **out)
{
    bool after_full = cur->unit != UINT32_MAX; /* slab_current: the cursor's slab is full */
    unsigned ai;
    uint32_t idx;
    if (!find_partial(r, &ai, &idx)) {
        uint32_t opened;
        struct sl_arena *a = region_take(r, 1, 0, &idx, &opened);
        if (a == NULL)
            return NULL;
        for (uint32_t i = idx; i < idx + opened; i++) {
            sl_poison(arena_unit_addr(a, i), r->unit);
            bit_set(a->partial, i);
        }
        for (ai = 0; r->arenas[ai] != a; ai++)
            continue;
    }
    struct sl_arena *a = r->arenas[ai];
    struct sl_unit *u = arena_unit(a, idx);
    /* A region that has just filled a slab is likely to fill a fresh one
     * too: fault its pages in with one call. After a seal, and for the
     * first slab, pages stay lazy, so a cache or size class holding a few
     * objects commits only the pages they touch. */
    if (after_full && u->bump == 0 && u->live == 0 && r->unit <= SLAB_TARGET)
        sl_os_prefault((void *)arena_unit_addr(a, idx), r->unit);
    cursor_claim(r, cur, ai, idx, u);
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
 * else an adopted one. The cursor is writable: its slab must be OPEN by
 * the control pages. */
static struct sl_unit *slab_current(struct sl_region *r, struct sl_cursor *cur, struct sl_arena **out)
{
    if (cur->unit != UINT32_MAX) {
        if (cur->arena >= r->n_arenas || cur->unit >= arena_hwm(r->arenas[cur->arena]))
            sl_report(&r->who, "alloc", "corrupted metadata: allocation cursor");
        struct sl_arena *a = r->arenas[cur->arena];
        struct sl_unit *u = arena_unit(a, cur->unit);
        if (!slab_open(a, cur->unit, "alloc"))
            sl_report(&r->who, "alloc", "corrupted metadata: allocating from a sealed slab");
        if (u->live < r->slots) {
            *out = a;
            return u;
        }
    }
    return slab_adopt(r, cur, out);
}

/* Take a free slot of u (unit idx of a, the cursor's slab, which has
 * one: slab_current()). */
static uintptr_t take_slot(struct sl_region *r, struct sl_arena *a, struct sl_unit *u, uint32_t idx,
                           size_t asked, uint8_t state)
{
    uint32_t slot = find_free_slot(r, u);
    if (slot == UINT32_MAX || bit_get(u->bits, slot))
        sl_report(&r->who, "alloc", "corrupted metadata: slab %u of arena %u has no free slot",
                  idx, a->id);
    bit_set(u->bits, slot);
    state_set(slot_states(r, u), slot, state);
    if (r->sizes)
        slot_sizes(r, u)[slot] = (uint16_t)asked;
    if (++u->live == r->slots)
        bit_clear(a->partial, idx);
    return arena_unit_addr(a, idx) + (uintptr_t)slot * r->stride;
}

void *slab_alloc(struct sl_region *r, struct sl_cursor *cur, size_t asked)
{
    struct sl_arena *a;
    struct sl_unit *u = slab_current(r, cur, &a);
    if (u == NULL)
        return NULL;
    uintptr_t p = take_slot(r, a, u, cur->unit, asked, SLOT_LIVE);
    sl_unpoison(p, asked);
    return (void *)p;
}

/* The slot that starts at p in arena a: its slab's record, the slab's
 * index and the slot's. Aborts when p is not the start of a slot of a
 * slab in use. Lock-free. */
static struct sl_unit *slot_of(const struct sl_arena *a, uintptr_t p, const char *call,
                               uint32_t *idx, uint32_t *slot)
{
    if (arena_span_of(a, p, idx) == NULL)
        sl_report(&a->region->who, call, "%p is not a live object (its slab is free)", (void *)p);
    if ((*slot = slab_slot_at(a, *idx, p)) == UINT32_MAX)
        slab_report_interior(a->region, p, call);
    return arena_unit(a, *idx);
}

/* Take up to n never-used slots of the cursor's slab u (unit idx of a)
 * at once, as cached: the run at its bump index, whose bits, states and
 * count change in one pass. Returns how many (0: u has no such slot). */
static uint32_t take_bump_run(struct sl_region *r, struct sl_arena *a, struct sl_unit *u,
                              uint32_t idx, uintptr_t *out, uint32_t n)
{
    uint32_t first = u->bump, k = first < r->slots ? r->slots - first : 0;
    if (k > n)
        k = n;
    if (k == 0)
        return 0;
    /* Every taken slot lies below the bump index. */
    if (u->live > first)
        sl_report(&r->who, "alloc", "corrupted metadata: slab %u of arena %u counts %u live objects",
                  idx, a->id, u->live);
    uint8_t *states = slot_states(r, u);
    for (uint32_t s = first; s < first + k; s++) {
        if (bit_get(u->bits, s) || state_get(states, s) != SLOT_FREE)
            sl_report(&r->who, "alloc", "corrupted metadata: slab %u of arena %u has no free slot",
                      idx, a->id);
        bit_set(u->bits, s);
        state_set(states, s, SLOT_CACHED); /* lock-free paths read states */
        if (r->sizes)
            slot_sizes(r, u)[s] = (uint16_t)r->obj_size;
    }
    u->bump = first + k;
    if ((u->live += k) == r->slots)
        bit_clear(a->partial, idx);
    uintptr_t p = arena_unit_addr(a, idx) + (uintptr_t)first * r->stride;
    for (uint32_t i = 0; i < k; i++, p += r->stride)
        out[i] = p;
    return k;
}

uint32_t slab_reserve(struct sl_region *r, struct sl_cursor *cur, uintptr_t *out, uint32_t n)
{
    uint32_t got = 0;
    while (got < n) {
        if (got > 0 && arena_unit(r->arenas[cur->arena], cur->unit)->live == r->slots)
            break; /* the slab is full: the next refill adopts another */
        struct sl_arena *a;
        struct sl_unit *u = slab_current(r, cur, &a);
        if (u == NULL)
            break;
        uint32_t k = take_bump_run(r, a, u, cur->unit, out + got, n - got);
        if (k == 0) {
            uintptr_t p = take_slot(r, a, u, cur->unit, r->obj_size, SLOT_CACHED);
            out[got++] = p;
        }
        got += k;
    }
    if (got == 0)
        errno = ENOMEM;
    return got;
}

void slab_report_interior(const struct sl_region *r, uintptr_t p, const char *call)
{
    sl_report(&r->who, call, "%p is not the start of an object (interior pointer)", (void *)p);
}

void slab_report_double_free(const struct sl_region *r, uintptr_t p, uint32_t slot, uint32_t idx,
                             const char *call)
{
    sl_report(&r->who, call, "double free of %p (object %u of slab %u)", (void *)p, slot, idx);
}

void slab_report_bad_entry(const struct sl_region *r, uintptr_t p)
{
    sl_report(&r->who, "alloc", "corrupted metadata: magazine holds %p, not a cached slot", (void *)p);
}

/* Slot `slot` of u (unit idx of a), taken, leaves the taken bitmap. */
static void release_slot(const struct sl_arena *a, struct sl_unit *u, uint32_t idx, uint32_t slot,
                         const char *call)
{
    if (u->live == 0)
        sl_report(&a->region->who, call, "corrupted metadata: slab %u of arena %u counts no live object",
                  idx, a->id);
    bit_clear(u->bits, slot);
    state_set(slot_states(a->region, u), slot, SLOT_FREE);
    u->live--;
}

/* Give the cached slot `slot` of u (unit idx of a, at p) back to it. */
static void unreserve_slot(struct sl_arena *a, struct sl_unit *u, uint32_t idx, uint32_t slot,
                           uintptr_t p, const char *call)
{
    const struct sl_region *r = a->region;
    if (!slab_open(a, idx, call) || !bit_get(u->bits, slot) ||
        state_get(slot_states(r, u), slot) != SLOT_CACHED)
        sl_report(&r->who, call, "corrupted metadata: magazine holds %p, not a cached slot", (void *)p);
    release_slot(a, u, idx, slot, call);
    if (r->sizes)
        slot_sizes(r, u)[slot] = 0;
    u->nonfull[slot / 4096] |= 1ull << (slot / 64 % 64);
    bit_set(a->partial, idx);
}

void slab_unreserve(const struct sl_region *r, uintptr_t p)
{
    static const char call[] = "free";
    struct sl_arena *a = region_arena_of(r, p);
    if (a == NULL)
        sl_report(&r->who, call, "corrupted metadata: magazine holds %p", (void *)p);
    uint32_t idx, slot;
    struct sl_unit *u = slot_of(a, p, call, &idx, &slot);
    unreserve_slot(a, u, idx, slot, p, call);
}

uint32_t slab_live_count(const struct sl_arena *a, uint32_t idx, const struct sl_span *s)
{
    if (s->state != UNIT_OPEN)
        return s->live;
    const struct sl_region *r = a->region;
    const struct sl_unit *u = arena_unit(a, idx);
    const uint8_t *st = slot_states(r, u);
    uint32_t cached = 0;
    for (uint32_t i = 0; i < r->slots; i++)
        cached += state_get(st, i) == SLOT_CACHED;
    /* Slots cached in a thread's magazine are free to the program. */
    return u->live - cached;
}

void slab_free(struct sl_arena *a, uintptr_t p, const char *call)
{
    uint32_t idx, slot;
    struct sl_unit *u = slot_of(a, p, call, &idx, &slot);
    /* An OPEN slab: the slot is zeroed and goes back through the cached
     * state, so a free races correctly with lock-free ones. */
    if (slab_open(a, idx, call)) {
        slab_cache_slot(a, idx, slot, p, call);
        unreserve_slot(a, u, idx, slot, p, call);
        return;
    }
    /* A sealed slab: only its read-only span record counts. */
    if (region_sealed_free(a, idx, slot, call) == 0)
        region_reclaim(a, idx, call);
}

/* Taken slots of a slab. A seal counts every slab's; where the CPU has a
 * popcount instruction it is used (chosen once at load time), rather than
 * the compiler's out-of-line fallback for the baseline x86-64 target. */
#if defined(__x86_64__) && !defined(__SANITIZE_THREAD__)
__attribute__((target_clones("popcnt", "default")))
#endif
static uint32_t popcount_bits(const uint64_t *bits, uint32_t words)
{
    uint32_t n = 0;
    for (uint32_t w = 0; w < words; w++)
        n += (uint32_t)__builtin_popcountll(bits[w]);
    return n;
}

#define CENSUS_MAX_PAGES 512 /* slabs up to 2 MiB skip the pages without memory */

/* Whether slot p (n bytes), which the record calls free, holds only zeros
 * (every free slot does: never used, or zeroed by its free). present: which
 * pages of the slab at base have memory (NULL: unknown, read them all). */
static bool slot_free_is_zero(uintptr_t p, size_t n, const unsigned char *present, uintptr_t base,
                              size_t pg)
{
    if (present != NULL) {
        bool any = false;
        for (uintptr_t q = (p - base) / pg; q <= (p + n - 1 - base) / pg; q++)
            any |= present[q] & 1;
        if (!any)
            return true;
    }
    sl_unpoison(p, n);
    const unsigned char *b = (const unsigned char *)p;
    bool zero = b[0] == 0 && memcmp(b, b + 1, n - 1) == 0;
    sl_poison(p, n);
    return zero;
}

/* Whether the pages of slab idx of a that have memory are known: present
 * filled (CENSUS_MAX_PAGES entries) by sl_os_present(). */
static bool slab_present(const struct sl_arena *a, uint32_t idx, unsigned char *present)
{
    size_t pages = a->region->unit / sl_os_page_size();
    return pages <= CENSUS_MAX_PAGES &&
           sl_os_present((void *)arena_unit_addr(a, idx), a->region->unit, present) == 0;
}

/* The popcount of a slab's live bitmap, which must equal its count. */
static uint32_t live_counted(const struct sl_arena *a, uint32_t idx, const uint64_t *bits,
                             uint32_t count, const char *call)
{
    uint32_t live = popcount_bits(bits, (a->region->slots + 63) / 64);
    if (live != count)
        sl_report(&a->region->who, call, "corrupted metadata: bitmap of slab %u of arena %u "
                  "disagrees with its count", idx, a->id);
    return live;
}

uint32_t slab_census(const struct sl_arena *a, uint32_t idx, uint64_t *live_bits)
{
    const struct sl_region *r = a->region;
    const struct sl_unit *u = arena_unit(a, idx);
    const uint8_t *st = slot_states(r, u);
    uint32_t words = (r->slots + 63) / 64;
    memcpy(live_bits, u->bits, (size_t)words * 8);
    uint32_t live = live_counted(a, idx, live_bits, u->live, "seal");
    if (live == r->slots)
        return live;
    /* Every free slot: its state says so (the magazines were drained), and
     * its bytes are zeros. Pages with no memory behind them read as zeros:
     * their slots need no reading (which would fault memory in, for memfd
     * slabs). A full slab costs nothing here. */
    uintptr_t base = arena_unit_addr(a, idx);
    size_t pg = sl_os_page_size();
    unsigned char present[CENSUS_MAX_PAGES];
    bool known = slab_present(a, idx, present);
    for (uint32_t w = 0; w < words; w++) {
        uint64_t free = ~live_bits[w];
        if (w == r->slots / 64)
            free &= (1ull << (r->slots % 64)) - 1;
        for (; free != 0; free &= free - 1) {
            uint32_t i = w * 64 + (uint32_t)__builtin_ctzll(free);
            uintptr_t p = base + (uintptr_t)i * r->stride;
            if (state_get(st, i) != SLOT_FREE ||
                !slot_free_is_zero(p, r->stride, known ? present : NULL, base, pg))
                sl_report(&r->who, "seal", "corrupted metadata: slot %u of slab %u of arena %u", i,
                          idx, a->id);
        }
    }
    return live;
}

void slab_reopen(struct sl_arena *a, uint32_t idx)
{
    const struct sl_region *r = a->region;
    const struct sl_span *s = arena_span(a, idx);
    struct sl_unit *u = arena_unit(a, idx);
    uint8_t *st = slot_states(r, u);
    uint32_t words = (r->slots + 63) / 64;
    /* The span record decides; the dead writable record is overwritten. */
    memcpy(u->bits, s->bits, (size_t)words * 8);
    u->live = live_counted(a, idx, s->bits, s->live, "unseal");
    u->claimed = 0;
    u->bump = 0;
    u->nonfull[0] = u->nonfull[1] = 0;
    for (uint32_t i = 0; i < r->slots; i++)
        if (bit_get(s->bits, i))
            u->bump = i + 1;
    /* Free slots: FREE, no size; below bump, listed in the summary. Slots
     * freed while sealed still hold their bytes (a sealed free never
     * writes): every free slot with memory behind it is zeroed unless it
     * reads as zeros already, as a free of an open slab leaves it. */
    uintptr_t base = arena_unit_addr(a, idx);
    size_t pg = sl_os_page_size();
    unsigned char present[CENSUS_MAX_PAGES];
    bool known = slab_present(a, idx, present);
    for (uint32_t i = 0; i < r->slots; i++) {
        if (bit_get(s->bits, i)) {
            state_set(st, i, SLOT_LIVE);
            continue;
        }
        uintptr_t p = base + (uintptr_t)i * r->stride;
        state_set(st, i, SLOT_FREE);
        if (r->sizes)
            slot_sizes(r, u)[i] = 0;
        if (i < u->bump)
            u->nonfull[i / 4096] |= 1ull << (i / 64 % 64);
        if (!slot_free_is_zero(p, r->stride, known ? present : NULL, base, pg)) {
            sl_unpoison(p, r->stride);
            memset((void *)p, 0, r->stride);
        }
        sl_poison(p, r->stride);
    }
    if (u->live < r->slots)
        bit_set(a->partial, idx);
}

SL_RACY_READER bool slab_find(const struct sl_arena *a, uintptr_t addr, struct sl_obj *out)
{
    const struct sl_region *r = a->region;
    uint32_t idx;
    const struct sl_span *s = arena_span_of(a, addr, &idx);
    if (s == NULL)
        return false;
    uint32_t slot = div_by(addr - arena_unit_addr(a, idx), r->stride_inv);
    if (slot >= r->slots)
        return false;
    const struct sl_unit *u = arena_unit(a, idx);
    bool sealed = arena_span_sealed(a, idx, s);
    *out = (struct sl_obj){
        .arena = a,
        .span = s,
        .start = arena_unit_addr(a, idx) + (uintptr_t)slot * r->stride,
        .size = r->sizes ? slot_sizes(r, u)[slot] : r->obj_size,
        .index = (uint64_t)idx * r->slots + slot,
        /* A sealed slab's writable record is dead: its span record says. */
        .live = sealed ? bit_get(s->bits, slot) : slot_states(r, u)[slot] == SLOT_LIVE,
        .sealed = sealed,
    };
    return true;
}

void slab_resize(const struct sl_arena *a, uintptr_t p, size_t asked)
{
    const struct sl_region *r = a->region;
    uint32_t idx, slot;
    const struct sl_unit *u = slot_of(a, p, "realloc", &idx, &slot);
    slot_sizes(r, u)[slot] = (uint16_t)asked;
    sl_unpoison(p, asked);
    sl_poison(p + asked, r->stride - asked);
}

void slab_after_seal(struct sl_region *r, struct sl_cursor *cur)
{
    if (cur->unit == UINT32_MAX || cur->arena >= r->n_arenas ||
        cur->unit >= r->arenas[cur->arena]->n_units)
        return;
    if (!arena_open_bit(r->arenas[cur->arena], cur->unit))
        slab_drop_cursor(r, cur);
}
