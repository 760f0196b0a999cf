/*
 * region.h - address space of one size class of one owner.
 *
 * A region is a list of arenas; an arena is one large contiguous
 * reservation cut into equal units (a slab each for caches and pool size
 * classes, a page each for large pool allocations). A span is a run of
 * units handed to the layer above; its first unit's record describes it.
 * Units are committed in address order (a high-water mark, then reuse of
 * reclaimed spans), so a seal is one mprotect per contiguous run of open
 * spans, usually one per arena, whatever the number of objects.
 *
 * A seal makes a span read-only in the page tables; for write-rare owners
 * under the "pkey" mechanism it instead tags the span with the write-rare
 * protection key, which every thread's PKRU keeps write-disabled.
 *
 * Span states and who may change them (always under the owner's lock):
 *
 *   FREE    never used (above the high-water mark) or reclaimed: PROT_NONE,
 *           no memory; region_take() makes it OPEN. Exception: units
 *           between the high-water mark and the arena's "ahead" mark are
 *           committed ahead, read-write but untouched, so that the kernel
 *           can back a growing arena with transparent huge pages (below).
 *   OPEN    read-write; objects are allocated in it; region_seal() makes
 *           it SEALED if it holds a live object.
 *   SEALED  read-only; nothing new is allocated in it; frees are counted
 *           out of band; when it holds no live object region_reclaim()
 *           makes it FREE (or PINNED for a permanent owner).
 *   PINNED  mseal'd, empty, never reused; counted as pinned memory.
 *
 * Invariants:
 *  - Arena descriptors (base, size, unit, records) live in a page that is
 *    read-only after creation; the arena list lives in the owner's
 *    protected page. Records and the arena's bitmaps are writable but every
 *    field that decides protection (span length, state, live count of a
 *    sealed span, requested size of a large span) is covered by a keyed
 *    check value that is verified before it is acted upon (region_check()),
 *    as is the high-water mark before a span is taken at it. Lock-free
 *    readers (lookups, the caches' fast paths) cannot afford the check
 *    value: they use the high-water mark and the open bitmap only to
 *    refuse, and the fast paths cross-check what they hand out (slab.h).
 *    A slot's recorded size is bounded by its stride (object_verify()).
 *  - A unit record lives outside the data pages, in a mapping ended by a
 *    guard page.
 *  - Huge pages: an anonymous arena is aligned to the transparent huge
 *    page size and hinted for huge pages (whole reservation, one mapping).
 *    Units are committed one span at a time, so a small region stays on
 *    base pages; once an arena has used a huge page's worth of units, a
 *    span taken at the high-water mark is committed up to the next huge
 *    page boundary, and the populate or first touch of that block faults
 *    in one huge page. At most one huge page per arena is committed ahead
 *    of use. A seal or reclaim inside a huge page splits its mapping, not
 *    the memory's contents.
 *  - Lookups (region_arena_of, arena_span_of) take no lock: arenas are
 *    only appended while the owner lives, and records are always mapped.
 *  - A slab emptied while OPEN stays OPEN and is reused; a SEALED slab is
 *    reclaimed when its last object is freed, a large span at its free.
 */
#ifndef SEALLOC_REGION_H
#define SEALLOC_REGION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sanitize.h"

#define SL_MAX_ARENAS 16

enum sl_unit_state { UNIT_FREE = 0, UNIT_OPEN = 1, UNIT_SEALED = 2, UNIT_PINNED = 3 };

struct sl_unit {
    uint32_t span;  /* head: units in the span; other units: 0 */
    uint32_t head;  /* index of the span's head unit */
    uint8_t state;  /* enum sl_unit_state (head only) */
    uint8_t msealed; /* the span was mseal'd (cannot be discarded) */
    uint8_t inherited; /* fork child: mseal'd before the fork, so it still
                        * maps the parent's memfd (write-rare refuses it) */
    uint8_t claimed; /* slab: an allocation cursor's current slab (others
                      * adopt it only when it is not) */
    uint32_t live;  /* live objects in the span (slab: slots taken, held
                     * by the program or cached in a thread's magazine) */
    uint32_t bump;  /* slab: slots never handed out so far */
    uint32_t pad2;
    uint64_t size;  /* large allocation: bytes requested */
    uint64_t nonfull[2]; /* slab: bit w set if bitmap word w (below bump) has a free slot */
    uint64_t check; /* sl_mac over the fields above that matter */
    uint64_t bits[]; /* slab: taken bitmap, per-slot states (slab.h), then
                      * optional per-slot sizes */
};

struct sl_owner;
struct sl_region;

/* Read-only after creation. */
struct sl_arena {
    uintptr_t base;
    size_t size;
    size_t unit;     /* bytes per unit, a power of two */
    unsigned unit_shift; /* log2(unit) */
    uint32_t n_units;
    uint32_t id;     /* unique in the process; part of every check value */
    size_t rec_size; /* bytes per unit record */
    uint64_t rec_inv; /* for div_by(): record offset -> unit index; 0:
                       * records span 4 GiB or more, divide instead */
    unsigned char *recs;
    struct sl_arena_state *st;
    int fd;          /* memfd backing the data, or -1 */
    off_t fd_off;    /* offset of base in the memfd */
    struct sl_owner *owner;
    struct sl_region *region;
    unsigned cls;    /* which region of the owner */
    void *meta;      /* the metadata mapping, for release */
    size_t meta_size;
    uintptr_t map_lo; /* the data reservation: guard pages and alignment */
    size_t map_size;  /* slack around [base, base + size) included */
    uint32_t huge_units; /* units per transparent huge page; 0: none */
};

/* Writable per-arena bookkeeping. */
struct sl_arena_state {
    uint32_t hwm;        /* units below this have been used */
    uint32_t ahead;      /* units below this are committed (>= hwm) */
    uint64_t hwm_check;
    uint64_t words;      /* bitmap words per bitmap below */
    uint64_t bitmaps[];  /* free_bits, open_bits, partial_bits */
};

/* Lives in the owner's protected page. */
struct sl_region {
    size_t unit;         /* bytes per unit */
    size_t rec_size;     /* bytes per record */
    size_t first_arena;  /* bytes in the first arena */
    uint32_t stride;     /* slab: bytes per slot; 0 for large spans */
    uint64_t stride_inv; /* slab: UINT64_MAX / stride + 1 (0 for 1), for division */
    uint32_t slots;      /* slab: slots per slab */
    uint32_t obj_size;   /* slab: the object size (cache) or class size */
    bool sizes;          /* slab: per-slot requested sizes follow the bitmap */
    unsigned n_arenas;
    unsigned cls;
    struct sl_arena *arenas[SL_MAX_ARENAS];
};

/* What an address inside a span resolves to (filled by the slab and pool
 * layers' lock-free lookups). */
struct sl_obj {
    const struct sl_arena *arena;
    const struct sl_unit *span;
    uintptr_t start;  /* first byte of the object or allocation */
    size_t size;      /* bytes a write-rare may touch: the size asked for */
    uint64_t index;   /* cache: object number; pool: offset in its chunk */
    bool live;
    bool sealed;
};

enum { BM_FREE = 0, BM_OPEN = 1, BM_PARTIAL = 2, BM_COUNT = 3 };

/* n / d for n, d < 2^32, with inv = UINT64_MAX / d + 1 (exact: Lemire,
 * Kaser and Kurz, "Faster remainder by direct computation", 2019). */
static inline uint32_t div_by(uint64_t n, uint64_t inv)
{
    /* inv 0 is 2^64 wrapped around: the divisor 1. */
    return inv == 0 ? (uint32_t)n : (uint32_t)(((unsigned __int128)inv * n) >> 64);
}

static inline uint64_t *arena_bitmap(const struct sl_arena *a, int which)
{
    return a->st->bitmaps + (size_t)which * a->st->words;
}

static inline struct sl_unit *arena_unit(const struct sl_arena *a, uint32_t idx)
{
    return (struct sl_unit *)(a->recs + (size_t)idx * a->rec_size);
}

static inline uintptr_t arena_unit_addr(const struct sl_arena *a, uint32_t idx)
{
    return a->base + (uintptr_t)idx * a->unit;
}

static inline uint32_t arena_unit_index(const struct sl_arena *a, const struct sl_unit *u)
{
    uint64_t off = (uint64_t)((const unsigned char *)u - a->recs);
    return a->rec_inv != 0 ? div_by(off, a->rec_inv) : (uint32_t)(off / a->rec_size);
}

static inline bool bit_get(const uint64_t *bm, uint32_t i) { return (bm[i / 64] >> (i % 64)) & 1; }
static inline void bit_set(uint64_t *bm, uint32_t i) { bm[i / 64] |= 1ull << (i % 64); }
static inline void bit_clear(uint64_t *bm, uint32_t i) { bm[i / 64] &= ~(1ull << (i % 64)); }

/* Check value of a head record as it stands. */
uint64_t region_mac(const struct sl_arena *a, uint32_t idx, const struct sl_unit *u);

/* Abort (naming call and owner) unless u's check value matches. */
void region_check(const struct sl_arena *a, const struct sl_unit *u, const char *call);

/* Recompute u's check value after a legitimate change. */
static inline void region_stamp(const struct sl_arena *a, struct sl_unit *u)
{
    u->check = region_mac(a, arena_unit_index(a, u), u);
}

/* Take a span of n units, committed and OPEN, its records zeroed. NULL +
 * errno (ENOMEM) when no address space or memory is left. */
struct sl_unit *region_take(struct sl_owner *o, struct sl_region *r, uint32_t n,
                            struct sl_arena **arena_out);

/* Seal every OPEN span of r that holds a live object. 0, or -1 + errno:
 * spans whose mprotect succeeded are SEALED, the rest stay OPEN. */
int region_seal(struct sl_owner *o, struct sl_region *r);

/* Give back an empty span (OPEN or SEALED): FREE, or PINNED if mseal'd.
 * 0, or -1 + errno (the span then stays as it was). */
int region_reclaim(struct sl_owner *o, struct sl_arena *a, struct sl_unit *u,
                   const char *call);



/* The arena of r containing addr, or NULL. Lock-free (inline: every free
 * and allocation of the fast path resolves its slot through these). */
SL_RACY_READER static inline struct sl_arena *region_arena_of(const struct sl_region *r,
                                                             uintptr_t addr)
{
    unsigned n = __atomic_load_n(&r->n_arenas, __ATOMIC_ACQUIRE);
    for (unsigned i = 0; i < n && i < SL_MAX_ARENAS; i++) {
        struct sl_arena *a = r->arenas[i];
        if (addr - a->base < a->size)
            return a;
    }
    return NULL;
}

/* The head unit of the span that unit idx belongs to (as its record says). */
SL_RACY_READER static inline uint32_t arena_head_index(const struct sl_arena *a, uint32_t idx)
{
    const struct sl_unit *u = arena_unit(a, idx);
    return u->span != 0 ? idx : u->head;
}

/* The head record of the span containing addr in a (its index in *idx),
 * or NULL if addr is in a FREE unit or a corrupted tail. Lock-free. */
SL_RACY_READER static inline struct sl_unit *arena_span_of(const struct sl_arena *a, uintptr_t addr,
                                                          uint32_t *head_idx)
{
    uint32_t idx = (uint32_t)((addr - a->base) >> a->unit_shift);
    uint32_t hwm = __atomic_load_n(&a->st->hwm, __ATOMIC_ACQUIRE);
    if (idx >= hwm || hwm > a->n_units)
        return NULL;
    uint32_t h = arena_head_index(a, idx);
    if (h > idx)
        return NULL;
    struct sl_unit *u = arena_unit(a, h);
    if (u->span == 0 || h + u->span <= idx || u->state == UNIT_FREE)
        return NULL;
    *head_idx = h;
    return u;
}

/* Whether unit idx of a is listed in the arena's open bitmap. Lock-free. */
SL_RACY_READER static inline bool arena_open_bit(const struct sl_arena *a, uint32_t idx)
{
    return (__atomic_load_n(&arena_bitmap(a, BM_OPEN)[idx / 64], __ATOMIC_ACQUIRE) >> (idx % 64)) & 1;
}

/* Whether lookups may call span u (head idx of a) sealed: its record says
 * SEALED or PINNED and its open bit is clear. A seal writes the record
 * before its system call and clears the bit after (region.c), so memory
 * is never reported sealed while its pages are still writable. */
SL_RACY_READER static inline bool arena_span_sealed(const struct sl_arena *a, uint32_t idx,
                                                    const struct sl_unit *u)
{
    uint8_t state = __atomic_load_n(&u->state, __ATOMIC_RELAXED);
    return (state == UNIT_SEALED || state == UNIT_PINNED) && !arena_open_bit(a, idx);
}

/* Unmap everything of r that may be unmapped; pinned spans stay. Returns
 * the bytes left pinned. */
size_t region_destroy(struct sl_owner *o, struct sl_region *r);

/* In a fork child: give the memfd-backed arena a private copy of its pages
 * (mseal'd spans excepted: they stay shared and write-rare refuses them). */
void arena_privatize(struct sl_arena *a);

/* Calls fn(a, head) for every span of r that is not FREE. */
void region_for_each_span(const struct sl_region *r,
                          void (*fn)(const struct sl_arena *, const struct sl_unit *, void *),
                          void *ctx);

#endif /* SEALLOC_REGION_H */
