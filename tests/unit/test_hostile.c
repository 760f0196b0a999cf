/*
 * test_hostile.c - an attacker with a write primitive corrupts what is
 * writable in the allocator's metadata; the library must notice on the
 * next call that acts on it (free, seal, alloc, write-rare) and abort with
 * a "sealloc:" line about corrupted metadata, rather than unsealing data,
 * handing out a slot of a sealed page, or writing where it should not.
 *
 * Each corruption is a tiny function named for what it forges, run in a
 * forked child. The records are reached the way an attacker who knows the
 * layout would: from the handle through the descriptor (owner.h) to the
 * arena's writable state and unit records (region.h).
 */
#include "check.h"
#include "owner.h"
#include "region.h"
#include "sealloc.h"

#include <pthread.h>
#include <stdint.h>

/* The record of the span holding p, in the first arena of region r. */
static struct sl_unit *record_of(const void *handle, unsigned r, const void *p, struct sl_arena **out)
{
    const struct sl_owner *o = handle;
    struct sl_arena *a = region_arena_of(&o->regions[r], (uintptr_t)p);
    uint32_t idx;
    struct sl_unit *u = a ? arena_span_of(a, (uintptr_t)p, &idx) : NULL;
    if (u == NULL)
        abort();
    if (out != NULL)
        *out = a;
    return u;
}

#define VICTIM_SIZE 8000
#define VICTIM_FILL 0x5a

/* A sealed cache of 8 objects of 8000 bytes, filled with VICTIM_FILL:
 * exactly one full slab. */
static seal_cache *sealed_slab(void **objs)
{
    seal_cache *c = seal_cache_create("victim", VICTIM_SIZE, 0, 0);
    for (int i = 0; i < 8; i++)
        memset(objs[i] = seal_cache_alloc(c), VICTIM_FILL, VICTIM_SIZE);
    if (seal_cache_seal(c) != 0)
        abort();
    return c;
}

/* ---- sealed slabs: the record decides when pages go back to the OS -------- */

static void sealed_live_count_lowered_then_free(void *arg)
{
    (void)arg;
    void *o[8];
    seal_cache *c = sealed_slab(o);
    record_of(c, 0, o[0], NULL)->live = 1; /* one free would "empty" it */
    seal_cache_free(c, o[0]);
}

static void sealed_span_lengthened_then_free(void *arg)
{
    (void)arg;
    void *o[8];
    seal_cache *c = sealed_slab(o);
    record_of(c, 0, o[0], NULL)->span = 64; /* reclaim would discard 64 slabs */
    seal_cache_free(c, o[0]);
}

static void sealed_state_forged_open_then_free(void *arg)
{
    (void)arg;
    void *o[8];
    seal_cache *c = sealed_slab(o);
    record_of(c, 0, o[0], NULL)->state = UNIT_OPEN;
    seal_cache_free(c, o[0]);
}

/* The fast free reads no slab record (slab.h): with a sealed slab's open
 * bit forged, the free's zeroing store must fault, without the cache's
 * lock (the lock-free path), on the read-only page, and leave the object
 * as it was (its slot's state byte, out of band, says cached by then). The
 * SIGSEGV handler checks all that, says so, and lets the store fault again
 * with the default action. */
static const unsigned char *victim;
static pthread_mutex_t *victim_lock;

static void report_if_intact(int sig, siginfo_t *si, void *ctx)
{
    (void)sig, (void)ctx;
    const unsigned char *at = si->si_addr;
    if (si->si_code != SEGV_ACCERR || at < victim || at >= victim + VICTIM_SIZE)
        _exit(2); /* some other fault */
    if (pthread_mutex_trylock(victim_lock) != 0)
        _exit(3); /* the locked path, not the fast one */
    for (size_t i = 0; i < VICTIM_SIZE; i++)
        if (victim[i] != VICTIM_FILL)
            _exit(1);
    static const char intact[] = "sealed object intact\n";
    ssize_t n = write(STDERR_FILENO, intact, sizeof intact - 1);
    (void)n;
}

static void sealed_open_bit_forged_then_free(void *arg)
{
    (void)arg;
    void *o[8];
    seal_cache *c = sealed_slab(o);
    seal_cache_free(c, seal_cache_alloc(c)); /* this thread's magazine is current again */
    struct sl_arena *a;
    struct sl_unit *u = record_of(c, 0, o[0], &a);
    bit_set(arena_bitmap(a, BM_OPEN), arena_unit_index(a, u));
    victim = o[0];
    victim_lock = &((struct sl_owner *)c)->st->lock;
    struct sigaction sa = {.sa_sigaction = report_if_intact, .sa_flags = SA_SIGINFO | SA_RESETHAND};
    sigaction(SIGSEGV, &sa, NULL);
    seal_cache_free(c, o[0]);
}

/* ---- refills: a run of never-used slots is checked before it is taken ------ */

static void unused_slot_forged_taken_then_alloc(void *arg)
{
    (void)arg;
    seal_cache *c = seal_cache_create("victim", 64, 0, 0);
    void *p = seal_cache_alloc(c); /* the first refill took slots 0..15 */
    bit_set(record_of(c, 0, p, NULL)->bits, 20); /* one the next refill would take */
    for (int i = 0; i < 32; i++)
        seal_cache_alloc(c);
}

static void sealed_slab_put_back_in_partial_bitmap_then_alloc(void *arg)
{
    (void)arg;
    void *o[8];
    seal_cache *c = sealed_slab(o);
    struct sl_arena *a;
    struct sl_unit *u = record_of(c, 0, o[0], &a);
    bit_clear(u->bits, 0); /* slot 0 looks free ... */
    u->nonfull[0] |= 1;
    bit_set(arena_bitmap(a, BM_PARTIAL), arena_unit_index(a, u)); /* ... and its slab open */
    seal_cache_alloc(c);
}

/* ---- open slabs: the bitmap must agree with the count ---------------------- */

static void open_bitmap_gains_a_bit_then_seal(void *arg)
{
    (void)arg;
    seal_cache *c = seal_cache_create("victim", 64, 0, 0);
    void *p = seal_cache_alloc(c);
    bit_set(record_of(c, 0, p, NULL)->bits, 500); /* far from the slots reserved for p's thread */
    seal_cache_seal(c);
}

static void open_bitmap_loses_a_live_bit_then_seal(void *arg)
{
    (void)arg;
    seal_cache *c = seal_cache_create("victim", 64, 0, 0);
    void *p = seal_cache_alloc(c);
    seal_cache_alloc(c);
    bit_clear(record_of(c, 0, p, NULL)->bits, 0); /* p's slot could be handed out again */
    seal_cache_seal(c);
}

/* ---- the arena: high-water mark and free bitmap decide what is reused ------- */

/* arg NULL: the high-water mark is lowered (the sealed slab would be taken
 * as new); else the free bitmap claims the sealed slab. */
static void arena_state_forged_then_alloc(void *arg)
{
    void *o[8];
    seal_cache *c = sealed_slab(o);
    struct sl_arena *a;
    struct sl_unit *u = record_of(c, 0, o[0], &a);
    if (arg == NULL)
        a->st->hwm = 0;
    else
        bit_set(arena_bitmap(a, BM_FREE), arena_unit_index(a, u));
    seal_cache_alloc(c);
}

/* ---- write-rare bounds: the size asked for lives in writable records ----------- */

/* Two sealed allocations of a write-rare pool side by side; the record of
 * the first is forged to be larger, and a write-rare starting inside it
 * reaches into the second. Exits 1 if that write landed. */
static void forged_size_widens_write_rare(void *arg)
{
    bool large = arg != NULL;
    seal_pool *p = seal_pool_create("victim", SEAL_WRITE_RARE);
    size_t size = large ? 20000 : 16;
    unsigned char *first = seal_pool_alloc(p, size), *second = seal_pool_alloc(p, size);
    if (seal_pool_seal(p) != 0 || second < first)
        abort();
    size_t gap = (size_t)(second - first);
    struct sl_unit *u = record_of(p, large ? 40 : 0, first, NULL);
    uint32_t slots = ((struct sl_owner *)p)->regions[0].slots;
    if (large)
        u->size = gap + 16;
    else /* slot 0's size, after the taken bitmap and the slot states */
        ((uint16_t *)(u->bits + (slots + 63) / 64 + (slots + 7) / 8))[0] = (uint16_t)(gap + 16);
    unsigned char evil[32];
    memset(evil, 0xee, sizeof evil);
    int rc = seal_write(first + gap - 16, evil, sizeof evil);
    if (rc == 0 && second[0] == 0xee) {
        fprintf(stderr, "write-rare through a forged size wrote into the neighbour\n");
        _exit(1);
    }
    _exit(0);
}

/* ---- the cases ----------------------------------------------------------------- */

static bool detected(void (*fn)(void *), void *arg)
{
    return expect_death(fn, arg, SIGABRT, "corrupted metadata");
}

static void sealed_slab_records(void)
{
    CHECK(detected(sealed_live_count_lowered_then_free, NULL));
    CHECK(detected(sealed_span_lengthened_then_free, NULL));
    CHECK(detected(sealed_state_forged_open_then_free, NULL));
    CHECK(detected(sealed_slab_put_back_in_partial_bitmap_then_alloc, NULL));
    CHECK(expect_death(sealed_open_bit_forged_then_free, NULL, SIGSEGV, "sealed object intact"));
}

static void refill_runs(void)
{
    CHECK(detected(unused_slot_forged_taken_then_alloc, NULL));
}

static void open_slab_bitmaps(void)
{
    CHECK(detected(open_bitmap_gains_a_bit_then_seal, NULL));
    CHECK(detected(open_bitmap_loses_a_live_bit_then_seal, NULL));
}

static void arena_state(void)
{
    CHECK(detected(arena_state_forged_then_alloc, NULL));      /* high-water mark */
    CHECK(detected(arena_state_forged_then_alloc, (void *)1)); /* free bitmap */
}

static void write_rare_sizes(void)
{
    if (strcmp(seal_write_rare_mechanism(), "none") == 0)
        SKIP("no write-rare mechanism");
    CHECK(detected(forged_size_widens_write_rare, NULL));         /* pool slot */
    CHECK(detected(forged_size_widens_write_rare, (void *)1));    /* large allocation */
}

int main(void)
{
    RUN(sealed_slab_records);
    RUN(open_slab_bitmaps);
    RUN(refill_runs);
    RUN(arena_state);
    RUN(write_rare_sizes);
    return check_exit();
}
