/* SPDX-License-Identifier: MIT */
/*
 * region.c - arenas, units and spans: the states FREE, OPEN, SEALED and
 * PINNED of region.h, and the only place that commits, seals, discards or
 * unmaps data pages (through the os layer).
 *
 * Every decision here reads the arena's descriptor and control pages,
 * which the program cannot write (region.h); they change only between
 * ctl_open() and ctl_close(), or through meta_write(), under the owner's
 * lock. What comes from writable slab records reaches a decision only
 * through the census a seal is handed (slab_census()), which verifies it.
 */
#include "region.h"

#include "meta.h"
#include "os.h"
#include "registry.h"
#include "sanitize.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

#define MAX_ARENA_BYTES (64ull << 30)

static _Atomic uint32_t next_arena_id = 1;

static size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

/* ---- the control pages: writable only between open and close ----------- */

static void ctl_open(struct sl_arena *a) { meta_open(a->ctl, a->ctl_bytes); }
static void ctl_close(struct sl_arena *a) { meta_close(a->ctl, a->ctl_bytes); }

/* A span record to change (between ctl_open() and ctl_close()). */
static struct sl_span *span_w(struct sl_arena *a, uint32_t idx)
{
    return (struct sl_span *)(uintptr_t)arena_span(a, idx);
}

static uint64_t *bitmap_w(struct sl_arena *a, int which)
{
    return (uint64_t *)(uintptr_t)arena_bitmap(a, which);
}

/* Lock-free paths read the open bitmap (arena_open_bit()): whole-word
 * atomic stores. */
static void open_mark(struct sl_arena *a, uint32_t idx, bool open)
{
    uint64_t *w = &bitmap_w(a, BM_OPEN)[idx / 64], bit = 1ull << (idx % 64);
    __atomic_store_n(w, open ? *w | bit : *w & ~bit, __ATOMIC_RELEASE);
}

static uint32_t slot_words(const struct sl_region *r) { return (r->slots + 63) / 64; }

/* ---- arenas ------------------------------------------------------------ */

static struct sl_arena *arena_new(struct sl_region *r, uint32_t min_units)
{
    if (r->n_arenas == SL_MAX_ARENAS) {
        errno = ENOMEM;
        return NULL;
    }
    size_t pg = sl_os_page_size();
    size_t size = r->first_arena;
    for (unsigned i = 0; i < r->n_arenas && size < MAX_ARENA_BYTES; i++)
        size *= 2;
    if (size < (size_t)min_units * r->unit * 2)
        size = (size_t)min_units * r->unit * 2;
    size = round_up(size, r->unit);
    uint32_t n_units = (uint32_t)(size / r->unit);

    uint32_t words = (n_units + 63) / 64;
    size_t span_size = sizeof(struct sl_span) + (size_t)slot_words(r) * 8;
    size_t ctl_bytes = round_up(sizeof(struct sl_arena_ctl) + BM_COUNT * (size_t)words * 8 +
                                    (size_t)n_units * span_size, pg);
    size_t part_bytes = round_up((size_t)words * 8, pg);
    size_t rec_bytes = round_up((size_t)n_units * r->rec_size, pg);
    /* [descriptor][control][partial][records][guard] (region.h) */
    size_t meta_size = pg + ctl_bytes + part_bytes + rec_bytes + pg;
    unsigned char *meta = sl_os_reserve(meta_size, -1);
    if (meta == NULL)
        return NULL;
    struct sl_arena *a = (struct sl_arena *)meta;
    unsigned char *ctl = meta + pg, *part = ctl + ctl_bytes;
    if (sl_os_commit(meta, pg + ctl_bytes + part_bytes + rec_bytes) != 0)
        goto fail_meta;

    int fd = -1;
    if (r->memfd && (fd = sl_os_memfd(r->who.name, size + 2 * pg)) < 0)
        goto fail_meta;
    /* One guard page on each side of the data; anonymous data starts on a
     * huge page boundary (the slack before and after it stays reserved). */
    size_t huge = fd < 0 ? sl_os_huge_page_size() : 0;
    size_t map_size = size + 2 * pg + huge;
    unsigned char *data = sl_os_reserve(map_size, fd);
    if (data == NULL)
        goto fail_fd;
    sl_os_name(data, map_size, r->who.name);
    uintptr_t base = (uintptr_t)data + pg;
    if (huge != 0) {
        base = round_up(base, huge);
        sl_os_hint_huge(data, map_size);
    }

    *a = (struct sl_arena){
        .base = base,
        .size = size,
        .unit = r->unit,
        .unit_shift = (unsigned)__builtin_ctzll(r->unit),
        .n_units = n_units,
        .id = atomic_fetch_add(&next_arena_id, 1),
        .words = words,
        .ctl = (struct sl_arena_ctl *)ctl,
        .ctl_bytes = ctl_bytes,
        .spans = ctl + sizeof(struct sl_arena_ctl) + BM_COUNT * (size_t)words * 8,
        .span_size = span_size,
        .partial = (uint64_t *)part,
        .recs = part + part_bytes,
        .rec_size = r->rec_size,
        .fd = fd,
        .fd_off = (off_t)(base - (uintptr_t)data),
        .owner = r->owner,
        .region = r,
        .meta = meta,
        .meta_size = meta_size,
        .map_lo = (uintptr_t)data,
        .map_size = map_size,
        .huge_units = huge == 0 ? 0 : r->unit < huge ? (uint32_t)(huge / r->unit) : 1,
    };
    /* The mapping is fresh: hwm, ahead, bitmaps and span records are 0
     * (FREE, nothing used). */
    if (sl_os_protect_ro(meta, pg + ctl_bytes) != 0)
        goto fail_data;
    if (registry_add(a->base, a->size, a) != 0)
        goto fail_data;
    meta_open(r->home, r->home_len);
    r->arenas[r->n_arenas] = a;
    /* Lock-free readers (region_arena_of) load the count with acquire. */
    __atomic_store_n(&r->n_arenas, r->n_arenas + 1, __ATOMIC_RELEASE);
    meta_close(r->home, r->home_len);
    return a;

fail_data:;
    int err = errno;
    sl_os_release(data, map_size);
    errno = err;
fail_fd:
    err = errno;
    sl_os_close(fd);
    errno = err;
fail_meta:
    err = errno;
    sl_os_release(meta, meta_size);
    errno = err;
    return NULL;
}

/* Find n consecutive reclaimed units; UINT32_MAX if none. */
static uint32_t find_free_run(const struct sl_arena *a, uint32_t n)
{
    const uint64_t *fb = arena_bitmap(a, BM_FREE);
    uint32_t run = 0, hwm = arena_hwm(a);
    for (uint32_t w = 0; w < a->words; w++) {
        if (fb[w] == 0) {
            run = 0;
            continue;
        }
        for (uint32_t b = 0; b < 64; b++) {
            uint32_t i = w * 64 + b;
            if (i >= hwm)
                return UINT32_MAX;
            run = bit_get(fb, i) ? run + 1 : 0;
            if (run == n)
                return i + 1 - n;
        }
    }
    return UINT32_MAX;
}

/* Where the commit of a span [idx, idx + n) taken at the high-water mark
 * ends: at the span's end, or, once the arena has used a huge page's worth
 * of units, at the next huge page boundary (region.h). */
static uint32_t commit_end(const struct sl_arena *a, uint32_t idx, uint32_t n)
{
    uint32_t per = a->huge_units, end = idx + n;
    if (per <= 1 || idx < per)
        return end;
    end = (end + per - 1) / per * per;
    return end < a->n_units ? end : a->n_units;
}

/* Make [idx, idx + n) one span in the given state (control open). */
static void write_span(struct sl_arena *a, uint32_t idx, uint32_t n, uint8_t state)
{
    for (uint32_t i = idx; i < idx + n; i++) {
        struct sl_span *s = span_w(a, i);
        memset(s, 0, a->span_size);
        s->head = idx;
    }
    span_w(a, idx)->span = n;
    span_w(a, idx)->state = state;
}

struct sl_arena *region_take(struct sl_region *r, uint32_t n, uint64_t size, uint32_t *idx_out,
                             uint32_t *opened)
{
    for (unsigned ai = 0;; ai++) {
        struct sl_arena *a;
        if (ai < r->n_arenas)
            a = r->arenas[ai];
        else if ((a = arena_new(r, n)) == NULL)
            return NULL;
        uint32_t idx = find_free_run(a, n), hwm = arena_hwm(a);
        bool bump = idx == UINT32_MAX;
        if (bump) {
            if (a->n_units - hwm < n)
                continue;
            idx = hwm;
        }
        /* Units at the high-water mark may be committed ahead already. */
        uint32_t from = bump && a->ctl->ahead > idx ? a->ctl->ahead : idx;
        uint32_t end = bump ? commit_end(a, idx, n) : idx + n;
        if (end > from && sl_os_commit((void *)arena_unit_addr(a, from),
                                       (size_t)(end - from) * a->unit) != 0)
            return NULL;
        /* Slabs committed ahead are opened now, each a span of its own, in
         * the same change of the control pages: the next takes of this
         * huge page cost no system call. */
        uint32_t open_end = bump && r->slots != 0 && n == 1 ? end : idx + n;
        /* Poison left by an earlier use of these addresses (a slab) is stale. */
        sl_unpoison(arena_unit_addr(a, idx), (size_t)(open_end - idx) * a->unit);
        if (r->rec_size != 0)
            memset(arena_unit(a, idx), 0, (size_t)(open_end - idx) * a->rec_size);
        ctl_open(a);
        write_span(a, idx, n, UNIT_OPEN);
        for (uint32_t i = idx + n; i < open_end; i++)
            write_span(a, i, 1, UNIT_OPEN);
        if (r->slots == 0) {
            span_w(a, idx)->live = 1;
            span_w(a, idx)->size = size;
        }
        for (uint32_t i = idx; i < idx + n; i++)
            bit_clear(bitmap_w(a, BM_FREE), i);
        for (uint32_t i = idx; i < open_end; i += n)
            open_mark(a, i, true);
        if (bump) {
            /* Lock-free paths read it (arena_span_of()). */
            __atomic_store_n(&a->ctl->hwm, open_end, __ATOMIC_RELEASE);
            a->ctl->ahead = end > a->ctl->ahead ? end : a->ctl->ahead;
        }
        ctl_close(a);
        *idx_out = idx;
        *opened = open_end - idx;
        return a;
    }
}

/* ---- seal ---------------------------------------------------------------- */

/* A seal changes the control pages in one of two ways. Small changes (the
 * usual seal of a few slabs) are staged in a private copy of the bytes
 * they touch and written with one meta_write() at the end: no protection
 * change of the control pages, and no moment in which they are writable.
 * Larger ones, where the copy would cost more than two mprotect calls, are
 * made in place between ctl_open() and ctl_close(). The staged bytes are
 * [ctl + lo, ctl + hi): the words of the open and retry bitmaps and the
 * span records of the units the seal may change (seal_bounds()). */
#define SEAL_STAGE_BYTES 16384

struct seal_tx {
    struct sl_arena *a;
    unsigned char *stage; /* NULL: in place */
    size_t lo, hi;
};

/* The writable alias of control byte p for this seal. */
static void *tx_ptr(const struct seal_tx *tx, const void *p)
{
    if (tx->stage == NULL)
        return (void *)(uintptr_t)p;
    return tx->stage + ((const unsigned char *)p - (const unsigned char *)tx->a->ctl - tx->lo);
}

static struct sl_span *tx_span(const struct seal_tx *tx, uint32_t idx)
{
    return tx_ptr(tx, arena_span(tx->a, idx));
}

static void tx_begin(struct seal_tx *tx, unsigned char *stage)
{
    const unsigned char *ctl = (const unsigned char *)tx->a->ctl;
    if (tx->hi - tx->lo <= SEAL_STAGE_BYTES) {
        memcpy(stage, ctl + tx->lo, tx->hi - tx->lo);
        tx->stage = stage;
    } else {
        tx->stage = NULL;
        ctl_open(tx->a);
    }
}

static void tx_bit(const struct seal_tx *tx, int which, uint32_t idx, bool on)
{
    uint64_t *w = tx_ptr(tx, &arena_bitmap(tx->a, which)[idx / 64]), bit = 1ull << (idx % 64);
    *w = on ? *w | bit : *w & ~bit;
}

static void tx_end(struct seal_tx *tx)
{
    unsigned char *ctl = (unsigned char *)tx->a->ctl;
    if (tx->stage != NULL)
        meta_write(ctl + tx->lo, tx->stage, tx->hi - tx->lo);
    else
        ctl_close(tx->a);
}

/* Give the spans of [first, end) the state and mseal mark; the open
 * bitmap is left as it is. */
static void mark_run(const struct seal_tx *tx, uint32_t first, uint32_t end, uint8_t state,
                     bool msealed)
{
    for (uint32_t i = first; i < end; i += arena_span(tx->a, i)->span) {
        tx_span(tx, i)->state = state;
        tx_span(tx, i)->msealed = msealed;
    }
}

/* After the page tables of units [first, end) changed: they leave the
 * open bitmap, a word at a time (and the writable partial bitmap). */
static void clear_run_bits(const struct seal_tx *tx, uint32_t first, uint32_t end)
{
    struct sl_arena *a = tx->a;
    for (uint32_t i = first; i < end;) {
        uint32_t w = i / 64, n = end - i < 64 - i % 64 ? end - i : 64 - i % 64;
        uint64_t mask = (n == 64 ? ~0ull : (1ull << n) - 1) << (i % 64);
        uint64_t *open = tx_ptr(tx, &arena_bitmap(a, BM_OPEN)[w]);
        __atomic_store_n(open, *open & ~mask, __ATOMIC_RELEASE); /* as open_mark() */
        a->partial[w] &= ~mask;
        i += n;
    }
}

static int protect_run(const struct sl_arena *a, void *addr, size_t len)
{
    int key = a->region->pkey;
    return key >= 0 ? sl_os_pkey_protect(addr, len, key) : sl_os_protect_ro(addr, len);
}

/* Seal the run of spans [first, end), all OPEN with their census already
 * in their span records. In place, the records say SEALED before the pages
 * change (and go back if the pages cannot change); staged, they change
 * after, with the rest of the seal. Lookups call a span sealed only once
 * its open bit is clear too (arena_span_sealed()), which happens after the
 * page tables changed: nothing is ever reported sealed while it is still
 * writable. The fast paths, which go by the open bit (slab.h), cannot run
 * meanwhile: the seal holds the lock and has stopped them (magazine.h). */
static int seal_run(const struct seal_tx *tx, uint32_t first, uint32_t end)
{
    struct sl_arena *a = tx->a;
    void *addr = (void *)arena_unit_addr(a, first);
    size_t len = (size_t)(end - first) * a->unit;
    bool permanent = a->region->permanent;
    mark_run(tx, first, end, UNIT_SEALED, false);
    if (protect_run(a, addr, len) != 0) {
        int err = errno;
        mark_run(tx, first, end, UNIT_OPEN, false);
        errno = err;
        return -1;
    }
    clear_run_bits(tx, first, end);
    if (!permanent)
        return 0;
    if (sl_os_mseal(addr, len) != 0) {
        /* Sealed, not yet permanent: the next seal retries. */
        for (uint32_t i = first; i < end; i += arena_span(a, i)->span)
            tx_bit(tx, BM_RETRY, i, true);
        return -1;
    }
    mark_run(tx, first, end, UNIT_SEALED, true);
    return 0;
}

/* A run of spans to seal, grown one span at a time. */
struct run {
    uint32_t first, end;
};

static int run_flush(const struct seal_tx *tx, struct run *run)
{
    int rc = run->end != run->first ? seal_run(tx, run->first, run->end) : 0;
    run->first = run->end = 0;
    return rc;
}

static int run_add(const struct seal_tx *tx, struct run *run, uint32_t idx, uint32_t n)
{
    int rc = 0;
    if (run->end != idx) {
        rc = run_flush(tx, run);
        run->first = idx;
    }
    run->end = idx + n;
    return rc;
}

/* A permanent owner's span left SEALED without mseal (its mseal failed):
 * try again. */
static int retry_mseal(const struct seal_tx *tx, uint32_t idx, uint32_t n)
{
    if (sl_os_mseal((void *)arena_unit_addr(tx->a, idx), (size_t)n * tx->a->unit) != 0)
        return -1;
    tx_span(tx, idx)->msealed = 1;
    tx_bit(tx, BM_RETRY, idx, false);
    return 0;
}

/* The units a seal may change: the heads of OPEN spans and of spans whose
 * mseal is to be retried, word w of the union of those bitmaps. */
static uint64_t seal_candidates(const struct sl_arena *a, uint32_t w)
{
    return arena_bitmap(a, BM_OPEN)[w] | arena_bitmap(a, BM_RETRY)[w];
}

/* Which control bytes a seal of a may change (tx->lo, tx->hi); false if
 * none. */
static bool seal_bounds(struct seal_tx *tx)
{
    const struct sl_arena *a = tx->a;
    uint32_t first = UINT32_MAX, last = 0;
    for (uint32_t w = 0; w < a->words; w++) {
        uint64_t bits = seal_candidates(a, w);
        if (bits == 0)
            continue;
        if (first == UINT32_MAX)
            first = w * 64 + (uint32_t)__builtin_ctzll(bits);
        last = w * 64 + 63 - (uint32_t)__builtin_clzll(bits);
    }
    if (first == UINT32_MAX)
        return false;
    const unsigned char *ctl = (const unsigned char *)a->ctl;
    tx->lo = (size_t)((const unsigned char *)&arena_bitmap(a, BM_OPEN)[first / 64] - ctl);
    tx->hi = (size_t)((const unsigned char *)arena_span(a, last) - ctl) + a->span_size;
    return true;
}

/* The head record of span idx below the high-water mark, which must also
 * satisfy what the caller asks (ok); a report naming call otherwise. */
static const struct sl_span *span_checked(const struct sl_arena *a, uint32_t idx, bool (*ok)(
                                          const struct sl_arena *, const struct sl_span *, bool),
                                          bool arg, const char *call)
{
    const struct sl_span *s = arena_span(a, idx);
    uint32_t hwm = arena_hwm(a);
    if (idx >= hwm || s->span == 0 || s->head != idx || s->span > hwm - idx || !ok(a, s, arg))
        sl_report(&a->region->who, call, "corrupted metadata: span %u of arena %u", idx, a->id);
    return s;
}

/* A seal's candidate agrees with the bitmap that named it (retry or open). */
static bool agrees(const struct sl_arena *a, const struct sl_span *s, bool retry)
{
    return retry ? s->state == UNIT_SEALED && a->region->permanent && !s->msealed
                 : s->state == UNIT_OPEN;
}

static int arena_seal(const struct seal_tx *tx, sl_census_fn census)
{
    const struct sl_arena *a = tx->a;
    int rc = 0, err = 0;
    struct run run = {0, 0};
    for (uint32_t w = 0; w < a->words; w++) {
        /* The bitmaps themselves change only in the stage, or (in place)
         * for runs behind this word: this word's candidates are read once. */
        uint64_t retry = arena_bitmap(a, BM_RETRY)[w];
        for (uint64_t bits = seal_candidates(a, w); bits != 0; bits &= bits - 1) {
            uint32_t i = w * 64 + (uint32_t)__builtin_ctzll(bits);
            const struct sl_span *s = span_checked(a, i, agrees, (retry >> (i % 64)) & 1, "seal");
            if (s->state == UNIT_SEALED) {
                if (retry_mseal(tx, i, s->span) != 0)
                    rc = -1, err = errno;
                continue;
            }
            if (census != NULL) {
                struct sl_span *ws = tx_span(tx, i);
                ws->live = census(a, i, ws->bits);
                if (ws->live == 0)
                    continue; /* verifiably empty: stays OPEN */
            }
            if (run_add(tx, &run, i, s->span) != 0)
                rc = -1, err = errno;
        }
    }
    if (run_flush(tx, &run) != 0)
        rc = -1, err = errno;
    if (rc != 0)
        errno = err;
    return rc;
}

int region_seal(struct sl_region *r, sl_census_fn census)
{
    int rc = 0, err = 0;
    _Alignas(64) unsigned char stage[SEAL_STAGE_BYTES];
    for (unsigned ai = 0; ai < r->n_arenas; ai++) {
        struct seal_tx tx = {.a = r->arenas[ai]};
        if (!seal_bounds(&tx))
            continue;
        tx_begin(&tx, stage);
        if (arena_seal(&tx, census) != 0)
            rc = -1, err = errno;
        tx_end(&tx);
    }
    if (rc != 0)
        errno = err;
    return rc;
}

/* ---- unseal -------------------------------------------------------------- */

/* Make the run of SEALED spans [first, end) of a writable again (control
 * open, in place). The order keeps every state truthful (region.h): the
 * pages become writable first (under pkey, tagged with the default key
 * again, as an OPEN span's are); if that fails nothing else changes and
 * the spans stay SEALED. Then each slab's writable record is rebuilt from
 * its span record (reopen), the records say OPEN, and last the open bits
 * are set, which lets the fast paths in (release: they see whole records).
 * In between, lookups still call the spans sealed while they are
 * writable: the unseal's caller asked for exactly that. */
static int unseal_run(const struct seal_tx *tx, uint32_t first, uint32_t end, sl_reopen_fn reopen)
{
    struct sl_arena *a = tx->a;
    void *addr = (void *)arena_unit_addr(a, first);
    size_t len = (size_t)(end - first) * a->unit;
    int rc = a->region->pkey >= 0 ? sl_os_pkey_protect(addr, len, 0) : sl_os_commit(addr, len);
    if (rc != 0)
        return -1;
    for (uint32_t i = first; i < end; i += arena_span(a, i)->span)
        if (reopen != NULL)
            reopen(a, i);
    mark_run(tx, first, end, UNIT_OPEN, false);
    for (uint32_t i = first; i < end; i += arena_span(a, i)->span)
        open_mark(a, i, true);
    return 0;
}

/* No span an unseal meets is mseal'd: only a permanent owner's are, and
 * it is refused before. */
static bool not_msealed(const struct sl_arena *a, const struct sl_span *s, bool unused)
{
    (void)a, (void)unused;
    return !s->msealed;
}

/* Every SEALED span of a, in runs of adjacent spans (as run_add()). */
static int arena_unseal(const struct seal_tx *tx, sl_reopen_fn reopen)
{
    const struct sl_arena *a = tx->a;
    int rc = 0, err = 0;
    uint32_t hwm = arena_hwm(a), first = 0, end = 0;
    for (uint32_t i = 0; i < hwm; i += arena_span(a, i)->span) {
        const struct sl_span *s = span_checked(a, i, not_msealed, false, "unseal");
        if (s->state != UNIT_SEALED)
            continue;
        if (end != i) {
            if (end != first && unseal_run(tx, first, end, reopen) != 0)
                rc = -1, err = errno;
            first = i;
        }
        end = i + s->span;
    }
    if (end != first && unseal_run(tx, first, end, reopen) != 0)
        rc = -1, err = errno;
    if (rc != 0)
        errno = err;
    return rc;
}

int region_unseal(struct sl_region *r, sl_reopen_fn reopen)
{
    int rc = 0, err = 0;
    for (unsigned ai = 0; ai < r->n_arenas; ai++) {
        struct seal_tx tx = {.a = r->arenas[ai]}; /* in place */
        ctl_open(tx.a);
        if (arena_unseal(&tx, reopen) != 0)
            rc = -1, err = errno;
        ctl_close(tx.a);
    }
    if (rc != 0)
        errno = err;
    return rc;
}

/* ---- sealed frees and reclaim ---------------------------------------------- */

uint32_t region_sealed_free(struct sl_arena *a, uint32_t idx, uint32_t slot, const char *call)
{
    const struct sl_span *s = arena_span(a, idx);
    if (s->live == 0 || !bit_get(s->bits, slot))
        sl_report(&a->region->who, call, "double free of %p (object %u of slab %u)",
                  (void *)(arena_unit_addr(a, idx) + (uintptr_t)slot * a->region->stride), slot, idx);
    /* One kernel-mediated copy of [live .. the slot's bitmap word]. */
    unsigned char buf[sizeof(struct sl_span) + 8 * 128];
    size_t from = offsetof(struct sl_span, live);
    size_t to = offsetof(struct sl_span, bits) + (slot / 64 + 1) * 8;
    struct sl_span *copy = (struct sl_span *)buf;
    memcpy(buf + from, (const unsigned char *)s + from, to - from);
    copy->live--;
    bit_clear(copy->bits, slot);
    meta_write((unsigned char *)(uintptr_t)s + from, buf + from, to - from);
    return copy->live;
}

int region_reclaim(struct sl_arena *a, uint32_t idx, const char *call)
{
    const struct sl_span *s = arena_span(a, idx);
    bool slab = a->region->slots != 0;
    if (s->span == 0 || s->head != idx || (slab ? s->state != UNIT_SEALED || s->live != 0
                                                : s->state == UNIT_FREE || s->live != 1))
        sl_report(&a->region->who, call, "corrupted metadata: reclaiming span %u of arena %u",
                  idx, a->id);
    uint32_t n = s->span;
    if (s->msealed) {
        ctl_open(a);
        span_w(a, idx)->state = UNIT_PINNED;
        span_w(a, idx)->live = 0;
        ctl_close(a);
        return 0;
    }
    void *addr = (void *)arena_unit_addr(a, idx);
    off_t off = a->fd_off + (off_t)((uintptr_t)addr - a->base);
    if (sl_os_discard(addr, (size_t)n * a->unit, a->fd, off) != 0)
        return -1;
    sl_os_name(addr, (size_t)n * a->unit, a->region->who.name);
    /* The discard's new mapping lacks the hint: restoring it keeps the
     * arena one mapping (and its units eligible for huge pages again). */
    if (a->huge_units != 0)
        sl_os_hint_huge(addr, (size_t)n * a->unit);
    bit_clear(a->partial, idx);
    ctl_open(a);
    open_mark(a, idx, false);
    bit_clear(bitmap_w(a, BM_RETRY), idx);
    /* Reclaimed units become FREE spans of one unit each, so any run of
     * them can be taken again later. */
    for (uint32_t i = idx; i < idx + n; i++) {
        write_span(a, i, 1, UNIT_FREE);
        bit_set(bitmap_w(a, BM_FREE), i);
    }
    ctl_close(a);
    return 0;
}

/* ---- lookups ------------------------------------------------------------- */

void region_for_each_span(const struct sl_region *r,
                          void (*fn)(const struct sl_arena *, uint32_t, const struct sl_span *, void *),
                          void *ctx)
{
    for (unsigned ai = 0; ai < r->n_arenas; ai++) {
        const struct sl_arena *a = r->arenas[ai];
        uint32_t hwm = arena_hwm(a);
        for (uint32_t i = 0; i < hwm;) {
            const struct sl_span *s = arena_span(a, i);
            if (s->span == 0)
                break; /* a tail: cannot happen below hwm */
            if (s->state != UNIT_FREE)
                fn(a, i, s, ctx);
            i += s->span;
        }
    }
}

/* ---- fork ---------------------------------------------------------------- */

static int prot_of(const struct sl_span *s)
{
    if (s->state == UNIT_OPEN)
        return PROT_READ | PROT_WRITE;
    return s->state == UNIT_FREE ? PROT_NONE : PROT_READ;
}

static void __attribute__((noreturn)) privatize_failed(const struct sl_arena *a)
{
    sl_report(&a->region->who, "fork", "cannot give the child its own pages: %s", strerror(errno));
}

void arena_privatize(struct sl_arena *a)
{
    size_t pg = sl_os_page_size();
    int fd = sl_os_memfd(a->region->who.name, a->size + 2 * pg);
    if (fd < 0)
        privatize_failed(a);
    uint32_t hwm = arena_hwm(a);
    ctl_open(a);
    for (uint32_t i = 0; i < hwm;) {
        const struct sl_span *s = arena_span(a, i);
        if (s->span == 0)
            sl_report(&a->region->who, "fork", "corrupted metadata: span %u of arena %u", i, a->id);
        uintptr_t addr = arena_unit_addr(a, i);
        size_t len = (size_t)s->span * a->unit;
        off_t off = a->fd_off + (off_t)(addr - a->base);
        if (s->msealed) {
            span_w(a, i)->inherited = 1;
        } else if (s->state != UNIT_FREE) {
            if (sl_os_file_copy(fd, a->fd, off, len) != 0 ||
                sl_os_remap_shared((void *)addr, len, fd, off, prot_of(s)) != 0)
                privatize_failed(a);
        } else if (sl_os_remap_shared((void *)addr, len, fd, off, PROT_NONE) != 0) {
            privatize_failed(a);
        }
        i += s->span;
    }
    ctl_close(a);
    uintptr_t tail = arena_unit_addr(a, hwm);
    if (tail < a->base + a->size &&
        sl_os_remap_shared((void *)tail, a->base + a->size - tail, fd,
                           a->fd_off + (off_t)(tail - a->base), PROT_NONE) != 0)
        privatize_failed(a);
    int old = a->fd;
    meta_write(&a->fd, &fd, sizeof fd);
    sl_os_close(old);
}

/* ---- destroy ------------------------------------------------------------- */

/* Unmap [first, end) of an arena's data. */
static void release_range(uintptr_t first, uintptr_t end)
{
    if (end <= first)
        return;
    /* Whatever maps these addresses next is not ours: no stale poison. */
    sl_unpoison(first, end - first);
    sl_os_release((void *)first, end - first);
}

size_t region_destroy(struct sl_region *r)
{
    size_t pinned = 0;
    for (unsigned ai = 0; ai < r->n_arenas; ai++) {
        struct sl_arena *a = r->arenas[ai];
        registry_remove(a);
        /* Unmap everything but the mseal'd spans, which cannot be. */
        uintptr_t from = a->map_lo;
        uint32_t hwm = arena_hwm(a);
        for (uint32_t i = 0; i < hwm;) {
            const struct sl_span *s = arena_span(a, i);
            if (s->span == 0)
                sl_report(&r->who, "destroy", "corrupted metadata: span %u of arena %u", i, a->id);
            if (s->msealed) {
                uintptr_t start = arena_unit_addr(a, i), stop = start + (uintptr_t)s->span * a->unit;
                release_range(from, start);
                registry_add(start, stop - start, NULL);
                pinned += stop - start;
                from = stop;
            }
            i += s->span;
        }
        release_range(from, a->map_lo + a->map_size);
        sl_os_close(a->fd);
        release_range((uintptr_t)a->meta, (uintptr_t)a->meta + a->meta_size);
    }
    return pinned;
}
