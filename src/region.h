/* SPDX-License-Identifier: MIT */
/*
 * region.h - address space of one size class of one owner.
 *
 * A region is a list of arenas; an arena is one large contiguous
 * reservation cut into equal units (a slab each for caches and pool size
 * classes, a page each for large pool allocations). A span is a run of
 * units handed to the layer above; its head unit's span record describes
 * it. Units are committed in address order (a high-water mark, then reuse
 * of reclaimed spans), so a seal is one mprotect per contiguous run of open
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
 *           it SEALED unless it verifiably holds no object.
 *   SEALED  read-only; nothing new is allocated in it; frees clear its
 *           sealed bitmap; when that is empty region_reclaim() makes it
 *           FREE (or PINNED for a permanent owner). region_unseal()
 *           (teardown, never for a permanent owner) makes it OPEN again:
 *           pages writable first, then its slab record rebuilt from the
 *           span record, then the state and the open bit.
 *   PINNED  mseal'd, empty, never reused; counted as pinned memory.
 *
 * Where the state lives (the point of README "Security"): everything that
 * decides what is sealed, made writable, unmapped, remapped at fork or
 * reused is in the arena's control pages, read-only to the program:
 *
 *   [descriptor: RO][control: RO][partial bitmap: RW][slab records: RW][guard]
 *
 *  - descriptor: base, size, unit, the other mappings' addresses;
 *  - control: the high-water and "ahead" marks, the free, open and retry
 *    bitmaps (the last: spans whose mseal a seal must retry), and one span
 *    record per unit (span length, head, state, mseal marks, live count, a
 *    large allocation's size, and for a sealed slab the bitmap of its live
 *    slots). They change only through meta.h's writers (meta_open()/
 *    meta_close() around a take, a large seal, an unseal or a reclaim;
 *    meta_write() for a small seal, whose changes are staged in a private
 *    copy, and for a sealed free), always under the owner's lock. A seal visits the
 *    spans the open and retry bitmaps name, and each must agree with its
 *    span record;
 *  - slab records (slab.h): the bookkeeping of OPEN slabs (taken bitmap,
 *    slot states, count, bump index, requested sizes), writable because
 *    every allocation changes them. They never decide protection: a seal
 *    reads them to learn which slots are live, after checking them against
 *    each other and against the data (a free slot is all zeros), and
 *    copies the answer into the read-only span record; after that only the
 *    span record counts for that slab.
 * So the set of spans a seal covers is every OPEN span below the
 * high-water mark, read from the control pages: no writable byte can
 * leave one out, except that an open slab whose every object is all zeros
 * can be forged to look empty, and then stays open (README "Security").
 *
 * Huge pages: an anonymous arena is aligned to the transparent huge page
 * size and hinted for huge pages (whole reservation, one mapping). Units
 * are committed one span at a time, so a small region stays on base pages;
 * once an arena has used a huge page's worth of units, a span taken at the
 * high-water mark is committed up to the next huge page boundary. At most
 * one huge page per arena is committed ahead of use.
 *
 * Lookups (region_arena_of, arena_span_of) take no lock: arenas are only
 * appended while the owner lives, and the control pages are always mapped.
 */
#ifndef SEALLOC_REGION_H
#define SEALLOC_REGION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "report.h"
#include "sanitize.h"

#define SL_MAX_ARENAS 16

enum sl_unit_state { UNIT_FREE = 0, UNIT_OPEN = 1, UNIT_SEALED = 2, UNIT_PINNED = 3 };

/* Read-only: one per unit, in the arena's control pages. */
struct sl_span {
    uint32_t span;     /* head: units in the span; other units: 0 */
    uint32_t head;     /* index of the span's head unit */
    uint8_t state;     /* enum sl_unit_state (head only) */
    uint8_t msealed;   /* the span was mseal'd (cannot be discarded) */
    uint8_t inherited; /* fork child: mseal'd before the fork, so it still
                        * maps the parent's memfd (write-rare refuses it) */
    uint8_t pad;
    uint32_t live;     /* sealed slab: live slots (popcount of bits);
                        * large span: 1 while allocated */
    uint64_t size;     /* large allocation: bytes requested */
    uint64_t bits[];   /* sealed slab: which slots are live */
};

/* Writable: the bookkeeping of an OPEN slab (slab.h). */
struct sl_unit {
    uint32_t claimed; /* an allocation cursor's current slab (others
                       * adopt it only when it is not) */
    uint32_t live;    /* slots taken, held by the program or cached in a
                       * thread's magazine */
    uint32_t bump;    /* slots never handed out so far */
    uint32_t pad;
    uint64_t nonfull[2]; /* bit w set if bitmap word w (below bump) has a free slot */
    uint64_t bits[];  /* taken bitmap, per-slot states (slab.h), then
                       * optional per-slot sizes */
};

struct sl_region;

/* Read-only: the arena descriptor, written once at creation. */
struct sl_arena {
    uintptr_t base;
    size_t size;
    size_t unit;        /* bytes per unit, a power of two */
    unsigned unit_shift; /* log2(unit) */
    uint32_t n_units;
    uint32_t id;        /* unique in the process, for reports */
    uint32_t words;     /* words of each arena bitmap (a bit per unit) */
    struct sl_arena_ctl *ctl; /* the control pages */
    size_t ctl_bytes;
    unsigned char *spans; /* span records, span_size bytes apart */
    size_t span_size;
    uint64_t *partial;  /* writable: slabs with a free slot */
    unsigned char *recs; /* writable slab records, rec_size bytes apart */
    size_t rec_size;
    int fd;             /* memfd backing the data, or -1 */
    off_t fd_off;       /* offset of base in the memfd */
    const void *owner;  /* the owner's handle, for identity checks only */
    struct sl_region *region;
    void *meta;         /* the metadata mapping, for release */
    size_t meta_size;
    uintptr_t map_lo;   /* the data reservation: guard pages and alignment */
    size_t map_size;    /* slack around [base, base + size) included */
    uint32_t huge_units; /* units per transparent huge page; 0: none */
};

/* Read-only: the arena's control header; bitmaps follow, `words` each. */
struct sl_arena_ctl {
    uint32_t hwm;   /* units below this have been used */
    uint32_t ahead; /* units below this are committed (>= hwm) */
    uint64_t bitmaps[]; /* BM_COUNT bitmaps, in this order: */
};

enum {
    BM_FREE = 0,  /* reclaimed units that can be taken again */
    BM_OPEN = 1,  /* heads of OPEN spans */
    BM_RETRY = 2, /* heads of SEALED spans of a permanent owner whose
                   * mseal failed: the next seal retries it */
    BM_COUNT
};

/* Lives in the owner's read-only descriptor; configured before publish. */
struct sl_region {
    size_t unit;         /* bytes per unit */
    size_t rec_size;     /* bytes per writable slab record; 0 for large spans */
    size_t first_arena;  /* bytes in the first arena */
    uint32_t stride;     /* slab: bytes per slot; 0 for large spans */
    uint64_t stride_inv; /* slab: UINT64_MAX / stride + 1 (0 for 1), for division */
    uint32_t slots;      /* slab: slots per slab */
    uint32_t obj_size;   /* slab: the object size (cache) or class size */
    bool sizes;          /* slab: per-slot requested sizes follow the bitmap */
    unsigned cls;        /* which region of the owner */
    /* What the owner decided at creation: */
    struct sl_who who;   /* for reports */
    const void *owner;   /* the owner's handle (identity only) */
    bool permanent;      /* SEAL_PERMANENT: seals are mseal'd */
    bool write_rare;     /* SEAL_WRITE_RARE */
    bool memfd;          /* data arenas are memfd mappings */
    int pkey;            /* sealed spans are tagged with this key, or -1 */
    void *home;          /* the read-only pages holding this struct */
    size_t home_len;
    unsigned n_arenas;
    struct sl_arena *arenas[SL_MAX_ARENAS];
};

/* What an address inside a span resolves to (filled by the slab and pool
 * layers' lock-free lookups). */
struct sl_obj {
    const struct sl_arena *arena;
    const struct sl_span *span;
    uintptr_t start;  /* first byte of the object or allocation */
    size_t size;      /* bytes a write-rare may touch: the size asked for */
    uint64_t index;   /* cache: object number; pool: offset in its chunk */
    bool live;
    bool sealed;
};

/* n / d for n, d < 2^32, with inv = UINT64_MAX / d + 1 (exact: Lemire,
 * Kaser and Kurz, "Faster remainder by direct computation", 2019). */
static inline uint32_t div_by(uint64_t n, uint64_t inv)
{
    /* inv 0 is 2^64 wrapped around: the divisor 1. */
    return inv == 0 ? (uint32_t)n : (uint32_t)(((unsigned __int128)inv * n) >> 64);
}

static inline const uint64_t *arena_bitmap(const struct sl_arena *a, int which)
{
    return a->ctl->bitmaps + (size_t)which * a->words;
}

static inline const struct sl_span *arena_span(const struct sl_arena *a, uint32_t idx)
{
    return (const struct sl_span *)(a->spans + (size_t)idx * a->span_size);
}

static inline struct sl_unit *arena_unit(const struct sl_arena *a, uint32_t idx)
{
    return (struct sl_unit *)(a->recs + (size_t)idx * a->rec_size);
}

static inline uintptr_t arena_unit_addr(const struct sl_arena *a, uint32_t idx)
{
    return a->base + (uintptr_t)idx * a->unit;
}

static inline uint32_t arena_hwm(const struct sl_arena *a)
{
    return __atomic_load_n(&a->ctl->hwm, __ATOMIC_ACQUIRE);
}

static inline bool bit_get(const uint64_t *bm, uint32_t i) { return (bm[i / 64] >> (i % 64)) & 1; }
static inline void bit_set(uint64_t *bm, uint32_t i) { bm[i / 64] |= 1ull << (i % 64); }
static inline void bit_clear(uint64_t *bm, uint32_t i) { bm[i / 64] &= ~(1ull << (i % 64)); }

/* Take a span of n units, committed and OPEN, its writable records zeroed;
 * large (slots == 0 regions): live 1 and `size` bytes requested. The head
 * unit's index in *idx_out. A slab (n == 1) taken where the arena commits
 * a huge page ahead opens the slabs after it up to that page's end too,
 * each an OPEN span of its own with a zeroed record: *opened counts the
 * units opened from *idx_out on (n, or more). NULL + errno (ENOMEM) when
 * no address space or memory is left. */
struct sl_arena *region_take(struct sl_region *r, uint32_t n, uint64_t size, uint32_t *idx_out,
                             uint32_t *opened);

/* Which slots of OPEN slab idx of a are live, for a seal: fills live_bits
 * ((slots + 63) / 64 words) and returns their count, after verifying the writable
 * record (aborts on corruption). The slab layer's slab_census(), handed
 * down by the caller of region_seal(); NULL for regions of large spans. */
typedef uint32_t (*sl_census_fn)(const struct sl_arena *a, uint32_t idx, uint64_t *live_bits);

/* Seal every OPEN span of r below its arenas' high-water marks; slabs
 * whose census finds no live object stay OPEN. Retries mseal for spans of
 * a permanent owner that an earlier seal left sealed but not mseal'd.
 * 0, or -1 + errno: spans whose mprotect succeeded are SEALED, the rest
 * stay OPEN. */
int region_seal(struct sl_region *r, sl_census_fn census);

/* Rebuild the writable record of SEALED slab idx of a from its span record
 * for an unseal, its pages writable again: the slab layer's slab_reopen(),
 * handed down by the caller of region_unseal(). */
typedef void (*sl_reopen_fn)(struct sl_arena *a, uint32_t idx);

/* Make every SEALED span of r OPEN again, its pages read-write (one system
 * call per contiguous run), slabs' writable records rebuilt by reopen
 * (NULL for regions of large spans). r must not be permanent (its mseal'd
 * spans could not change: the caller refuses it first). 0, or -1 + errno:
 * runs whose pages could not be made writable stay SEALED, the rest are
 * OPEN (region.c: the order of the steps). */
int region_unseal(struct sl_region *r, sl_reopen_fn reopen);

/* A sealed slab's slot `slot` (head idx of a) is freed: clear its bit in
 * the span record. Aborts (naming call) unless that slot is live. Returns
 * the live slots left. */
uint32_t region_sealed_free(struct sl_arena *a, uint32_t idx, uint32_t slot, const char *call);

/* Give back an empty span: a SEALED slab whose span record counts no live
 * slot, or a large span being freed. It becomes FREE, or PINNED if
 * mseal'd. 0, or -1 + errno (the span then stays as it was). */
int region_reclaim(struct sl_arena *a, uint32_t idx, const char *call);

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

/* The head record of the span containing addr in a (its index in *idx),
 * or NULL if addr is in a FREE unit. Lock-free. */
SL_RACY_READER static inline const struct sl_span *arena_span_of(const struct sl_arena *a,
                                                                uintptr_t addr, uint32_t *head_idx)
{
    uint32_t idx = (uint32_t)((addr - a->base) >> a->unit_shift);
    if (idx >= arena_hwm(a))
        return NULL;
    const struct sl_span *s = arena_span(a, idx);
    uint32_t h = s->span != 0 ? idx : s->head;
    s = arena_span(a, h);
    if (s->span == 0 || h > idx || h + s->span <= idx ||
        __atomic_load_n(&s->state, __ATOMIC_RELAXED) == UNIT_FREE)
        return NULL;
    *head_idx = h;
    return s;
}

/* Whether unit idx of a is listed in the arena's open bitmap. Lock-free. */
SL_RACY_READER static inline bool arena_open_bit(const struct sl_arena *a, uint32_t idx)
{
    return (__atomic_load_n(&arena_bitmap(a, BM_OPEN)[idx / 64], __ATOMIC_ACQUIRE) >> (idx % 64)) & 1;
}

/* Whether lookups may call span s (head idx of a) sealed: it says SEALED
 * or PINNED and its open bit is clear. A seal writes the span before its
 * system call and clears the bit after (region.c), so memory is never
 * reported sealed while its pages are still writable. */
SL_RACY_READER static inline bool arena_span_sealed(const struct sl_arena *a, uint32_t idx,
                                                    const struct sl_span *s)
{
    uint8_t state = __atomic_load_n(&s->state, __ATOMIC_RELAXED);
    return (state == UNIT_SEALED || state == UNIT_PINNED) && !arena_open_bit(a, idx);
}

/* Unmap everything of r that may be unmapped; pinned spans stay. Returns
 * the bytes left pinned. */
size_t region_destroy(struct sl_region *r);

/* In a fork child: give the memfd-backed arena a private copy of its pages
 * (mseal'd spans excepted: they stay shared and write-rare refuses them). */
void arena_privatize(struct sl_arena *a);

/* Calls fn(a, idx, span) for every span of r that is not FREE. */
void region_for_each_span(const struct sl_region *r,
                          void (*fn)(const struct sl_arena *, uint32_t, const struct sl_span *, void *),
                          void *ctx);

#endif /* SEALLOC_REGION_H */
