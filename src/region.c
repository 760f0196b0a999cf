/*
 * region.c - arenas, units and spans: the states FREE, OPEN, SEALED and
 * PINNED of region.h, and the only place that commits, seals, discards or
 * unmaps data pages (through the os layer).
 *
 * Every record or high-water mark that leads to a system call making memory
 * writable or giving it back is verified against its check value first; a
 * mismatch means the metadata was corrupted and is fatal.
 */
#include "region.h"

#include "guard.h"
#include "os.h"
#include "owner.h"
#include "registry.h"
#include "sanitize.h"
#include "sealloc.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

#define MAX_ARENA_BYTES (64ull << 30)

static _Atomic uint32_t next_arena_id = 1;

uint64_t region_mac(const struct sl_arena *a, uint32_t idx, const struct sl_unit *u)
{
    uint64_t shape = (uint64_t)u->span | (uint64_t)u->state << 32 | (uint64_t)u->head << 40;
    uint64_t counted = u->state == UNIT_OPEN ? 0 : u->live;
    return sl_mac((uint64_t)a->id << 32 | idx, shape, counted ^ u->size << 24);
}

void region_check(const struct sl_arena *a, const struct sl_unit *u, const char *call)
{
    if (u->check != region_mac(a, arena_unit_index(a, u), u))
        owner_fatal(a->owner, call, "corrupted metadata: slab record %u of arena %u",
                    arena_unit_index(a, u), a->id);
}

/* The open bitmap changes under the owner's lock only, but lock-free
 * paths read it (arena_open_bit()): whole-word atomic stores. */
static void open_mark(const struct sl_arena *a, uint32_t idx, bool open)
{
    uint64_t *w = &arena_bitmap(a, BM_OPEN)[idx / 64], bit = 1ull << (idx % 64);
    __atomic_store_n(w, open ? *w | bit : *w & ~bit, __ATOMIC_RELEASE);
}

static uint64_t hwm_mac(const struct sl_arena *a)
{
    return sl_mac(a->id, (uint64_t)a->st->ahead << 32 | a->st->hwm, 0x68776d);
}

static size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

/* ---- arenas ------------------------------------------------------------ */

static struct sl_arena *arena_new(struct sl_owner *o, struct sl_region *r, uint32_t min_units)
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

    size_t words = (n_units + 63) / 64;
    size_t st_bytes = round_up(sizeof(struct sl_arena_state) + BM_COUNT * words * 8, pg);
    size_t rec_bytes = round_up((size_t)n_units * r->rec_size, pg);
    /* [descriptor: read-only][state][records][guard], as for owners */
    size_t meta_size = pg + st_bytes + rec_bytes + pg;
    unsigned char *meta = sl_os_reserve(meta_size, -1);
    if (meta == NULL)
        return NULL;
    struct sl_arena *a = (struct sl_arena *)meta;
    unsigned char *st = meta + pg;
    if (sl_os_commit(a, pg) != 0 || sl_os_commit(st, st_bytes + rec_bytes) != 0)
        goto fail_meta;

    int fd = -1;
    if (o->memfd_backed && (fd = sl_os_memfd(o->name, size + 2 * pg)) < 0)
        goto fail_meta;
    /* One guard page on each side of the data; anonymous data starts on a
     * huge page boundary (the slack before and after it stays reserved). */
    size_t huge = fd < 0 ? sl_os_huge_page_size() : 0;
    size_t map_size = size + 2 * pg + huge;
    unsigned char *data = sl_os_reserve(map_size, fd);
    if (data == NULL)
        goto fail_fd;
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
        .rec_size = r->rec_size,
        /* div_by() needs offsets below 2^32; larger record arrays divide. */
        .rec_inv = rec_bytes <= UINT32_MAX ? UINT64_MAX / r->rec_size + 1 : 0,
        .recs = st + st_bytes,
        .st = (struct sl_arena_state *)st,
        .fd = fd,
        .fd_off = (off_t)(base - (uintptr_t)data),
        .owner = o,
        .region = r,
        .cls = r->cls,
        .meta = meta,
        .meta_size = meta_size,
        .map_lo = (uintptr_t)data,
        .map_size = map_size,
        .huge_units = huge == 0 ? 0 : r->unit < huge ? (uint32_t)(huge / r->unit) : 1,
    };
    a->st->words = words;
    a->st->hwm = 0;
    a->st->ahead = 0;
    a->st->hwm_check = hwm_mac(a);
    if (sl_os_protect_ro(a, pg) != 0)
        goto fail_data;
    if (registry_add(a->base, a->size, a) != 0)
        goto fail_data;
    owner_unprotect(o);
    r->arenas[r->n_arenas] = a;
    /* Lock-free readers (region_arena_of) load the count with acquire. */
    __atomic_store_n(&r->n_arenas, r->n_arenas + 1, __ATOMIC_RELEASE);
    owner_protect(o);
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

/* True if unit idx (below the high-water mark) is verifiably FREE. */
static bool unit_is_free(const struct sl_arena *a, uint32_t idx, const char *call)
{
    uint32_t h = arena_head_index(a, idx);
    if (h > idx)
        owner_fatal(a->owner, call, "corrupted metadata: unit %u of arena %u", idx, a->id);
    const struct sl_unit *u = arena_unit(a, h);
    region_check(a, u, call);
    return u->state == UNIT_FREE && h + u->span > idx;
}

/* Find n consecutive reclaimed units; UINT32_MAX if none. */
static uint32_t find_free_run(const struct sl_arena *a, uint32_t n)
{
    const uint64_t *fb = arena_bitmap(a, BM_FREE);
    uint32_t run = 0;
    for (uint32_t w = 0; w < a->st->words; w++) {
        if (fb[w] == 0) {
            run = 0;
            continue;
        }
        for (uint32_t b = 0; b < 64; b++) {
            uint32_t i = w * 64 + b;
            if (i >= a->st->hwm)
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

static void write_span(struct sl_arena *a, uint32_t idx, uint32_t n, uint8_t state)
{
    for (uint32_t i = idx; i < idx + n; i++) {
        struct sl_unit *u = arena_unit(a, i);
        memset(u, 0, a->rec_size);
        u->head = idx;
    }
    struct sl_unit *h = arena_unit(a, idx);
    h->span = n;
    h->state = state;
    region_stamp(a, h);
}

struct sl_unit *region_take(struct sl_owner *o, struct sl_region *r, uint32_t n,
                            struct sl_arena **arena_out)
{
    static const char call[] = "alloc";
    for (unsigned ai = 0;; ai++) {
        struct sl_arena *a;
        if (ai < r->n_arenas)
            a = r->arenas[ai];
        else if ((a = arena_new(o, r, n)) == NULL)
            return NULL;
        if (a->st->hwm_check != hwm_mac(a))
            owner_fatal(o, call, "corrupted metadata: high-water mark of arena %u", a->id);
        uint32_t idx = find_free_run(a, n);
        bool bump = idx == UINT32_MAX;
        if (bump) {
            if (a->st->hwm > a->n_units || a->n_units - a->st->hwm < n)
                continue;
            idx = a->st->hwm;
        } else {
            for (uint32_t i = idx; i < idx + n; i++)
                if (!unit_is_free(a, i, call))
                    owner_fatal(o, call, "corrupted metadata: free bitmap of arena %u", a->id);
        }
        /* Units at the high-water mark may be committed ahead already. */
        uint32_t from = bump && a->st->ahead > idx ? a->st->ahead : idx;
        uint32_t end = bump ? commit_end(a, idx, n) : idx + n;
        if (end > from && sl_os_commit((void *)arena_unit_addr(a, from),
                                       (size_t)(end - from) * a->unit) != 0)
            return NULL;
        /* Poison left by an earlier use of these addresses (a slab) is stale. */
        sl_unpoison(arena_unit_addr(a, idx), (size_t)n * a->unit);
        write_span(a, idx, n, UNIT_OPEN);
        for (uint32_t i = idx; i < idx + n; i++)
            bit_clear(arena_bitmap(a, BM_FREE), i);
        open_mark(a, idx, true);
        if (bump) {
            /* Lock-free paths read it (slab.h, arena_span_of()). */
            __atomic_store_n(&a->st->hwm, idx + n, __ATOMIC_RELEASE);
            a->st->ahead = end > a->st->ahead ? end : a->st->ahead;
            a->st->hwm_check = hwm_mac(a);
        }
        *arena_out = a;
        return arena_unit(a, idx);
    }
}

/* ---- seal ---------------------------------------------------------------- */

/* Taken slots of a slab. A seal counts every slab's; where the CPU has a
 * popcount instruction it is used (chosen once at load time), rather than
 * the compiler's out-of-line fallback for the baseline x86-64 target. */
#if defined(__x86_64__) && !defined(__SANITIZE_THREAD__)
__attribute__((target_clones("popcnt", "default")))
#endif
static uint32_t popcount_bits(const struct sl_unit *u, uint32_t slots)
{
    uint32_t n = 0;
    for (uint32_t w = 0; w < (slots + 63) / 64; w++)
        n += (uint32_t)__builtin_popcountll(u->bits[w]);
    return n;
}

/* Give the records of the spans of [first, end) of a the state (and
 * mseal mark); the open bitmap is left as it is. */
static void mark_run(struct sl_arena *a, uint32_t first, uint32_t end, uint8_t state, bool msealed)
{
    for (uint32_t i = first; i < end;) {
        struct sl_unit *u = arena_unit(a, i);
        u->state = state;
        u->msealed = msealed;
        region_stamp(a, u);
        i += u->span;
    }
}

/* After the page tables of units [first, end) of a changed: they leave
 * the open and partial bitmaps, a word at a time. Only these two bitmaps
 * are written after a seal's system call: on a virtual machine the first
 * touch of each page after a large protection change is slow. */
static void clear_run_bits(struct sl_arena *a, uint32_t first, uint32_t end)
{
    uint64_t *open = arena_bitmap(a, BM_OPEN), *partial = arena_bitmap(a, BM_PARTIAL);
    for (uint32_t i = first; i < end;) {
        uint32_t w = i / 64, n = end - i < 64 - i % 64 ? end - i : 64 - i % 64;
        uint64_t mask = (n == 64 ? ~0ull : (1ull << n) - 1) << (i % 64);
        __atomic_store_n(&open[w], open[w] & ~mask, __ATOMIC_RELEASE); /* as open_mark() */
        partial[w] &= ~mask;
        i += n;
    }
}

/* Seal the run of spans [first, end) of a, all OPEN with live objects.
 * The records change before the pages do (and back if the pages cannot
 * change), so that a seal reads no record after its system calls: on a
 * virtual machine with shadow page tables the first touches after a large
 * protection change are slow (1.5 ms for 1024 records on this project's
 * VM), and they would count as the seal's. Lookups call a span sealed only
 * once its open bit is clear too (arena_span_sealed()), and those bits,
 * two cache lines for 1024 slabs, are cleared after the page tables
 * changed: nothing is ever reported sealed while it is still writable.
 * The fast paths, which go by the open bit (slab.h), cannot run
 * meanwhile: the seal holds the lock and has stopped them (magazine.h). */
static int seal_run(struct sl_arena *a, uint32_t first, uint32_t end)
{
    void *addr = (void *)arena_unit_addr(a, first);
    size_t len = (size_t)(end - first) * a->unit;
    bool permanent = a->owner->flags & SEAL_PERMANENT;
    int key = a->owner->pkey;
    mark_run(a, first, end, UNIT_SEALED, permanent);
    if ((key >= 0 ? sl_os_pkey_protect(addr, len, key) : sl_os_protect_ro(addr, len)) != 0) {
        int err = errno;
        mark_run(a, first, end, UNIT_OPEN, false);
        errno = err;
        return -1;
    }
    int rc = permanent ? sl_os_mseal(addr, len) : 0;
    /* A seal that could not be made permanent is undone, so the spans stay
     * OPEN and the next seal tries again; only if the undo fails too do they
     * stay sealed without mseal (stats then show them unpinned). */
    if (rc != 0) {
        int err = errno;
        bool undone = (key >= 0 ? sl_os_pkey_protect(addr, len, 0) : sl_os_commit(addr, len)) == 0;
        mark_run(a, first, end, undone ? UNIT_OPEN : UNIT_SEALED, false);
        if (!undone)
            clear_run_bits(a, first, end);
        errno = err;
        return -1;
    }
    clear_run_bits(a, first, end);
    return 0;
}

#define SEAL_PREFETCH 16 /* records ahead */

/* Start loading every line of record idx that a seal reads: from the
 * header to the end of a slab's taken bitmap (records are not aligned to
 * lines of their own in pools, so the lines are counted by address). */
static void prefetch_record(const struct sl_arena *a, uint32_t idx, uint32_t slots)
{
    const struct sl_unit *u = arena_unit(a, idx);
    uintptr_t line = (uintptr_t)u & ~(uintptr_t)63, end = (uintptr_t)&u->bits[(slots + 63) / 64];
    for (__builtin_prefetch(u, 1); (line += 64) < end;)
        __builtin_prefetch((const void *)line, 0);
}

int region_seal(struct sl_owner *o, struct sl_region *r)
{
    static const char call[] = "seal";
    int rc = 0, err = 0;
    for (unsigned ai = 0; ai < r->n_arenas; ai++) {
        struct sl_arena *a = r->arenas[ai];
        const uint64_t *ob = arena_bitmap(a, BM_OPEN);
        uint32_t run_first = 0, run_end = 0; /* empty run */
        for (uint32_t w = 0; w < a->st->words; w++) {
            uint64_t bits = ob[w];
            while (bits != 0) {
                uint32_t i = w * 64 + (uint32_t)__builtin_ctzll(bits);
                bits &= bits - 1;
                if (i >= a->n_units)
                    owner_fatal(o, call, "corrupted metadata: open bitmap of arena %u", a->id);
                /* Records are cold by now (the data pages were filled
                 * since): overlap the misses of the next few. */
                if (i + SEAL_PREFETCH < a->n_units)
                    prefetch_record(a, i + SEAL_PREFETCH, r->slots);
                struct sl_unit *u = arena_unit(a, i);
                region_check(a, u, call);
                if (u->state != UNIT_OPEN || u->span == 0)
                    owner_fatal(o, call, "corrupted metadata: open bitmap of arena %u", a->id);
                if (r->slots != 0 && popcount_bits(u, r->slots) != u->live)
                    owner_fatal(o, call, "corrupted metadata: bitmap of slab %u of arena %u "
                                "disagrees with its count", i, a->id);
                if (u->live == 0)
                    continue;
                if (run_end != i) {
                    if (run_end != run_first && seal_run(a, run_first, run_end) != 0)
                        rc = -1, err = errno;
                    run_first = i;
                }
                run_end = i + u->span;
            }
        }
        if (run_end != run_first && seal_run(a, run_first, run_end) != 0)
            rc = -1, err = errno;
    }
    if (rc != 0)
        errno = err;
    return rc;
}

/* ---- reclaim ------------------------------------------------------------- */

int region_reclaim(struct sl_owner *o, struct sl_arena *a, struct sl_unit *u, const char *call)
{
    uint32_t idx = arena_unit_index(a, u);
    region_check(a, u, call);
    if (u->live != 0 || u->span == 0)
        owner_fatal(o, call, "corrupted metadata: reclaiming a busy span %u of arena %u", idx, a->id);
    if (a->region->slots != 0 && popcount_bits(u, a->region->slots) != 0)
        owner_fatal(o, call, "corrupted metadata: bitmap of slab %u of arena %u "
                    "disagrees with its count", idx, a->id);
    if (u->msealed) {
        u->state = UNIT_PINNED;
        region_stamp(a, u);
        return 0;
    }
    uint32_t n = u->span;
    void *addr = (void *)arena_unit_addr(a, idx);
    off_t off = a->fd_off + (off_t)((uintptr_t)addr - a->base);
    if (sl_os_discard(addr, (size_t)n * a->unit, a->fd, off) != 0)
        return -1;
    /* The discard's new mapping lacks the hint: restoring it keeps the
     * arena one mapping (and its units eligible for huge pages again). */
    if (a->huge_units != 0)
        sl_os_hint_huge(addr, (size_t)n * a->unit);
    open_mark(a, idx, false);
    bit_clear(arena_bitmap(a, BM_PARTIAL), idx);
    /* Reclaimed units become FREE spans of one unit each, so any run of
     * them can be taken again later. */
    for (uint32_t i = idx; i < idx + n; i++) {
        write_span(a, i, 1, UNIT_FREE);
        bit_set(arena_bitmap(a, BM_FREE), i);
    }
    return 0;
}

/* ---- lookups ------------------------------------------------------------- */

void region_for_each_span(const struct sl_region *r,
                          void (*fn)(const struct sl_arena *, const struct sl_unit *, void *),
                          void *ctx)
{
    for (unsigned ai = 0; ai < r->n_arenas; ai++) {
        const struct sl_arena *a = r->arenas[ai];
        for (uint32_t i = 0; i < a->st->hwm && i < a->n_units;) {
            const struct sl_unit *u = arena_unit(a, i);
            uint32_t span = u->span ? u->span : 1;
            if (u->span != 0 && u->state != UNIT_FREE)
                fn(a, u, ctx);
            i += span;
        }
    }
}

/* ---- fork ---------------------------------------------------------------- */

static int prot_of(const struct sl_unit *u)
{
    if (u->state == UNIT_OPEN)
        return PROT_READ | PROT_WRITE;
    return u->state == UNIT_FREE ? PROT_NONE : PROT_READ;
}

void arena_privatize(struct sl_arena *a)
{
    size_t pg = sl_os_page_size();
    int fd = sl_os_memfd(a->owner->name, a->size + 2 * pg);
    if (fd < 0)
        owner_fatal(a->owner, "fork", "cannot give the child its own pages: %s", strerror(errno));
    uint32_t hwm = a->st->hwm;
    for (uint32_t i = 0; i < hwm;) {
        struct sl_unit *u = arena_unit(a, i);
        uint32_t span = u->span ? u->span : 1;
        uintptr_t addr = arena_unit_addr(a, i);
        size_t len = (size_t)span * a->unit;
        off_t off = a->fd_off + (off_t)(addr - a->base);
        if (u->span != 0 && u->msealed) {
            u->inherited = 1;
        } else if (u->span != 0 && u->state != UNIT_FREE) {
            if (sl_os_file_copy(fd, a->fd, off, len) != 0 ||
                sl_os_remap_shared((void *)addr, len, fd, off, prot_of(u)) != 0)
                owner_fatal(a->owner, "fork", "cannot give the child its own pages: %s",
                            strerror(errno));
        } else if (sl_os_remap_shared((void *)addr, len, fd, off, PROT_NONE) != 0) {
            owner_fatal(a->owner, "fork", "cannot give the child its own pages: %s", strerror(errno));
        }
        i += span;
    }
    uintptr_t tail = arena_unit_addr(a, hwm);
    if (tail < a->base + a->size &&
        sl_os_remap_shared((void *)tail, a->base + a->size - tail, fd,
                           a->fd_off + (off_t)(tail - a->base), PROT_NONE) != 0)
        owner_fatal(a->owner, "fork", "cannot give the child its own pages: %s", strerror(errno));
    if (sl_os_commit(a, pg) != 0)
        owner_fatal(a->owner, "fork", "cannot update the arena descriptor");
    sl_os_close(a->fd);
    a->fd = fd;
    if (sl_os_protect_ro(a, pg) != 0)
        owner_fatal(a->owner, "fork", "cannot update the arena descriptor");
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

size_t region_destroy(struct sl_owner *o, struct sl_region *r)
{
    (void)o;
    size_t pinned = 0;
    for (unsigned ai = 0; ai < r->n_arenas; ai++) {
        struct sl_arena *a = r->arenas[ai];
        registry_remove(a);
        /* Unmap everything but the mseal'd spans, which cannot be. */
        uintptr_t from = a->map_lo;
        for (uint32_t i = 0; i < a->st->hwm && i < a->n_units;) {
            const struct sl_unit *u = arena_unit(a, i);
            uint32_t span = u->span ? u->span : 1;
            if (u->span != 0 && u->msealed) {
                uintptr_t start = arena_unit_addr(a, i), stop = start + (uintptr_t)span * a->unit;
                release_range(from, start);
                registry_add(start, stop - start, NULL);
                pinned += stop - start;
                from = stop;
            }
            i += span;
        }
        release_range(from, a->map_lo + a->map_size);
        sl_os_close(a->fd);
        release_range((uintptr_t)a->meta, (uintptr_t)a->meta + a->meta_size);
    }
    return pinned;
}
