/* SPDX-License-Identifier: MIT */
/*
 * test_hostile.c - the attacks of issue "Sealed means sealed", one tiny
 * function each, played by the data-only attacker of attacker.h: it knows
 * every address and writes only bytes that are writable at that moment.
 *
 * Each attack runs in a forked child: it forges what it can, makes the
 * library act on it, then checks the promise itself (the sealed victims
 * unchanged and read-only in /proc/self/maps, a write-rare landing only in
 * a live object of a write-rare owner, a fork child's sealed pages still
 * read-only). The child ends in one of two ways, each a pass: "held" (the
 * promise checked out) or an abort with a "sealloc:" report (the named
 * cases pin which). "BROKEN" (exit 1) and anything else fail.
 *
 * The records are reached the way an attacker who knows the layout would:
 * from the handle through the descriptor (owner.h) to the arena's control
 * pages and slab records (region.h), and to the globals block (meta.h).
 */
#include "attacker.h"
#include "check.h"
#include "magazine.h"
#include "meta.h"
#include "owner.h"
#include "region.h"
#include "registry.h"
#include "sealloc.h"
#include "slab.h"

#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define VICTIM_SIZE 8000
#define VICTIM_FILL 0x5a
#define N_VICTIMS 8

static void *victims[N_VICTIMS];

static void say(const char *what)
{
    ssize_t n = write(STDERR_FILENO, what, strlen(what));
    (void)n;
}

static void __attribute__((noreturn)) broken(const char *what)
{
    say("BROKEN: ");
    say(what);
    say("\n");
    _exit(1);
}

/* The promise: every victim is still filled and read-only (a pkey-sealed
 * page is read-write in the page tables: its protection key stops the
 * store, which store_faults() shows). */
static void __attribute__((noreturn)) check_victims(void)
{
    bool pkey = strcmp(seal_write_rare_mechanism(), "pkey") == 0;
    if (!store_faults(victims[0]))
        broken("a store to a sealed victim landed");
    for (int i = 0; i < N_VICTIMS; i++) {
        const unsigned char *v = victims[i];
        if (page_writable(v) && !pkey)
            broken("a sealed victim's page is writable");
        for (size_t b = 0; b < VICTIM_SIZE; b++)
            if (v[b] != VICTIM_FILL)
                broken("a sealed victim changed");
    }
    say("held\n");
    _exit(0);
}

static void fill_victims(void *(*alloc)(void *), void *h)
{
    for (int i = 0; i < N_VICTIMS; i++)
        memset(victims[i] = alloc(h), VICTIM_FILL, VICTIM_SIZE);
}

static void *cache_alloc(void *c) { return seal_cache_alloc(c); }
static void *pool_alloc(void *p) { return seal_pool_alloc(p, VICTIM_SIZE); }

/* A cache of 8 objects of 8000 bytes (exactly one slab), filled. */
static seal_cache *victim_cache(unsigned flags)
{
    seal_cache *c = seal_cache_create("victim", VICTIM_SIZE, 0, flags);
    fill_victims(cache_alloc, c);
    return c;
}

static const struct sl_region *region0(const void *handle)
{
    return &((const struct sl_owner *)handle)->regions[0];
}

/* The arena and head unit of the span holding p in region r of handle. */
static const struct sl_arena *where(const void *handle, unsigned r, const void *p, uint32_t *idx)
{
    const struct sl_owner *o = handle;
    const struct sl_arena *a = region_arena_of(&o->regions[r], (uintptr_t)p);
    if (a == NULL || arena_span_of(a, (uintptr_t)p, idx) == NULL)
        abort();
    return a;
}

static uint32_t slot_index(const struct sl_arena *a, uint32_t idx, const void *p)
{
    return (uint32_t)(((uintptr_t)p - arena_unit_addr(a, idx)) / a->region->stride);
}

/* Forge bit i of a read-only-or-not bitmap word. */
static bool forge_bit(const uint64_t *bm, uint32_t i, bool set)
{
    uint64_t w = bm[i / 64], bit = 1ull << (i % 64);
    return FORGE(*(uint64_t *)(uintptr_t)&bm[i / 64], set ? w | bit : w & ~bit);
}

/* ---- 1-3: what a seal covers ------------------------------------------------- */

/* 1: the victims' slab taken off the open bitmap before the seal. */
static void open_bit_cleared_before_seal(void *arg)
{
    (void)arg;
    seal_cache *c = victim_cache(0);
    uint32_t idx;
    const struct sl_arena *a = where(c, 0, victims[0], &idx);
    forge_bit(arena_bitmap(a, BM_OPEN), idx, false);
    if (seal_cache_seal(c) != 0 || !seal_is_sealed(victims[0]))
        broken("the seal left the victims out");
    check_victims();
}

/* 2: the arena's bitmap length (and high-water mark) zeroed. */
static void bitmap_length_zeroed_before_seal(void *arg)
{
    (void)arg;
    seal_cache *c = victim_cache(0);
    uint32_t idx;
    struct sl_arena *a = (struct sl_arena *)where(c, 0, victims[0], &idx);
    FORGE(a->words, 0u);
    FORGE(a->ctl->hwm, 0u);
    seal_cache_seal(c);
    seal_cache_seal(c);
    check_victims();
}

/* 3: a large pool allocation's live count zeroed before the seal (and
 * restored after, to leave no trace). */
static void large_live_count_zeroed_before_seal(void *arg)
{
    (void)arg;
    seal_pool *p = seal_pool_create("victim", 0);
    unsigned char *big = seal_pool_alloc(p, 100000);
    memset(big, VICTIM_FILL, 100000);
    fill_victims(pool_alloc, p);
    uint32_t idx;
    const struct sl_arena *a = where(p, 40, big, &idx);
    struct sl_span *s = (struct sl_span *)(uintptr_t)arena_span(a, idx);
    bool forged = FORGE(s->live, 0u);
    if (seal_pool_seal(p) != 0)
        broken("seal failed");
    if (forged)
        FORGE(s->live, 1u);
    if (page_writable(big) || !seal_is_sealed(big))
        broken("the large allocation was left out of the seal");
    check_victims();
}

/* ---- 4-6: what a sealed slab's state can be made to say ------------------------ */

/* 4: before the seal, a live victim's taken bit cleared (state byte too)
 * and the count lowered to match; then a legitimate free of another one
 * would "empty" the slab with the first still in it. */
static void live_bit_and_count_lowered_before_seal(void *arg)
{
    (void)arg;
    seal_cache *c = victim_cache(0);
    seal_cache_free(c, seal_cache_alloc(c)); /* some other slab: the victims' stays full */
    uint32_t idx;
    const struct sl_arena *a = where(c, 0, victims[0], &idx);
    struct sl_unit *u = arena_unit(a, idx);
    uint32_t slot = slot_index(a, idx, victims[0]);
    forge_bit(u->bits, slot, false);
    FORGE(slot_states(a->region, u)[slot], (uint8_t)SLOT_FREE);
    FORGE(u->live, u->live - 1);
    seal_cache_seal(c);
    for (int i = 1; i < N_VICTIMS; i++)
        seal_cache_free(c, victims[i]);
    victims[1] = victims[0]; /* the survivor must be untouched */
    for (int i = 0; i < 64; i++)
        memset(seal_cache_alloc(c), 0xee, VICTIM_SIZE); /* reuse, if the slab went */
    for (int i = 2; i < N_VICTIMS; i++)
        victims[i] = victims[0];
    check_victims();
}

/* 5: after the seal, a freed victim's taken bit and state byte forged
 * back: a double free of it, then the free of one more, must not reclaim
 * the slab under the other live victims. */
static void freed_slot_forged_live_after_seal(void *arg)
{
    (void)arg;
    seal_cache *c = victim_cache(0);
    seal_cache_seal(c);
    seal_cache_free(c, victims[0]);
    uint32_t idx;
    const struct sl_arena *a = where(c, 0, victims[1], &idx);
    struct sl_unit *u = arena_unit(a, idx);
    forge_bit(u->bits, 0, true);
    FORGE(slot_states(a->region, u)[0], (uint8_t)SLOT_LIVE);
    seal_cache_free(c, victims[0]); /* a double free */
    broken("a double free of a sealed object was accepted");
}

/* 6: after the seal, a magazine entry forged to name a live sealed victim,
 * with every byte the fast path checks that the attacker can write. */
static void magazine_entry_forged_after_seal(void *arg)
{
    (void)arg;
    seal_cache *c = victim_cache(0);
    seal_cache_seal(c);
    seal_cache_free(c, seal_cache_alloc(c)); /* this thread's magazine holds an entry */
    uint32_t idx;
    const struct sl_arena *a = where(c, 0, victims[0], &idx);
    forge_bit(arena_bitmap(a, BM_OPEN), idx, true);
    FORGE(slot_states(a->region, arena_unit(a, idx))[0], (uint8_t)SLOT_CACHED);
    struct sl_mag *m = ((struct sl_owner *)c)->st->mags;
    FORGE(m->slot[m->n - 1], (uintptr_t)victims[0]);
    if (seal_cache_alloc(c) == victims[0])
        broken("an allocation handed out a live sealed object");
    check_victims();
}

/* ---- 7, 14: fork --------------------------------------------------------------- */

/* In a fork child after the forgery: the victims' pages still read-only,
 * mapped, unchanged. The parent reports what the child saw. */
static void __attribute__((noreturn)) check_victims_in_fork_child(void)
{
    pid_t pid = fork();
    if (pid == 0)
        check_victims();
    int st;
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        broken("the fork child's sealed pages are not what they were");
    check_victims();
}

/* 7: a sealed write-rare slab's span state forged OPEN before a fork. */
static void span_forged_open_before_fork(void *arg)
{
    (void)arg;
    seal_cache *c = victim_cache(SEAL_WRITE_RARE);
    seal_cache_seal(c);
    uint32_t idx;
    const struct sl_arena *a = where(c, 0, victims[0], &idx);
    FORGE(((struct sl_span *)(uintptr_t)arena_span(a, idx))->state, (uint8_t)UNIT_OPEN);
    forge_bit(arena_bitmap(a, BM_OPEN), idx, true);
    check_victims_in_fork_child();
}

/* 14: the span record's state (FREE) and the high-water mark forged before
 * a fork, so the child would unmap or leave out the sealed pages. */
static void span_and_hwm_forged_before_fork(void *arg)
{
    (void)arg;
    seal_cache *c = victim_cache(SEAL_WRITE_RARE);
    seal_cache_seal(c);
    uint32_t idx;
    struct sl_arena *a = (struct sl_arena *)where(c, 0, victims[0], &idx);
    FORGE(((struct sl_span *)(uintptr_t)arena_span(a, idx))->state, (uint8_t)UNIT_FREE);
    FORGE(a->ctl->hwm, 0u);
    check_victims_in_fork_child();
}

/* ---- 8-12: the library's globals ------------------------------------------------- */

/* Each global the library acts upon, forged: the attack needs the store
 * to land; with the globals read-only it cannot. */
static void globals_forged(void *arg)
{
    static uint64_t chosen_key[2] = {1, 2};
    static struct sl_owner *fake;
    seal_cache *c = victim_cache(SEAL_PERMANENT);
    seal_cache_seal(c);
    const struct sl_globals *g = SL_G;
    bool landed = false;
    switch ((intptr_t)arg) {
    case 8: /* the secret, for forging check values */
        landed = FORGE(*(uint64_t *)(uintptr_t)&g->secret[0], chosen_key[0]);
        break;
    case 9: /* the registry's spare table, aimed at a sealed page */
        landed = FORGE(*(void **)(uintptr_t)&g->registry_tables[0], victims[0]);
        break;
    case 10: /* the registry root, aimed at a forged table */
        landed = FORGE(*(void **)(uintptr_t)&g->registry_active, (void *)chosen_key);
        break;
    case 11: /* a forged descriptor in the destroy quarantine */
        landed = FORGE(*(struct sl_owner **)(uintptr_t)&g->quarantine[g->quarantine_next], fake);
        break;
    case 12: /* the count of live owners lowered */
        landed = FORGE(*(size_t *)(uintptr_t)&g->n_owners, (size_t)0);
        break;
    case 15: /* the handler the fault handler chains to: a code pointer */
        seal_fault_handler_install();
        landed = FORGE(*(void (**)(int))(uintptr_t)&g->fault_previous.sa_handler, (void (*)(int))exit);
        break;
    }
    if (landed || range_writable(&sl_globals_page, sizeof sl_globals_page))
        broken("a global the library acts upon is writable");
    seal_cache_destroy(seal_cache_create("other", 64, 0, 0)); /* registry change, quarantine */
    check_victims_in_fork_child();
}

/* ---- the program's own handle variable, redirected ----------------------------- */

/* The program keeps its handle in writable memory: the attacker points it
 * at a forged descriptor (a copy of the real one, magic and all, whose
 * arena claims a sealed victim), so that an allocation would commit, i.e.
 * mprotect read-write, the victim's page. */
static void handle_redirected_to_forged_descriptor(void *arg)
{
    (void)arg;
    seal_cache *c = victim_cache(0);
    seal_cache_seal(c);
    static unsigned char fake[3 * 4096] __attribute__((aligned(4096)));
    static struct sl_arena fake_arena;
    memcpy(fake, c, sizeof(struct sl_owner) + sizeof(struct sl_region));
    uint32_t idx;
    fake_arena = *where(c, 0, victims[0], &idx);
    fake_arena.base = (uintptr_t)victims[0] & ~(uintptr_t)4095;
    ((struct sl_owner *)fake)->regions[0].arenas[0] = &fake_arena;
    seal_cache *handle = (seal_cache *)fake; /* the program's variable, overwritten */
    for (int i = 0; i < 64; i++)
        seal_cache_alloc(handle);
    check_victims();
}

/* ---- write-rare: a forged size or owner cannot widen where it writes ------------- */

/* Two sealed allocations of a write-rare pool side by side; the first's
 * size is forged larger, and a write-rare starting inside it reaches into
 * the second. arg: large allocations (read-only span record) or slots
 * (writable size, bounded by the stride). */
static void forged_size_widens_write_rare(void *arg)
{
    bool large = arg != NULL;
    seal_pool *p = seal_pool_create("victim", SEAL_WRITE_RARE);
    size_t size = large ? 20000 : 16;
    unsigned char *first = seal_pool_alloc(p, size), *second = seal_pool_alloc(p, size);
    if (seal_pool_seal(p) != 0 || second < first)
        abort();
    size_t gap = (size_t)(second - first);
    uint32_t idx;
    const struct sl_arena *a = where(p, large ? 40 : 0, first, &idx);
    if (large) {
        FORGE(((struct sl_span *)(uintptr_t)arena_span(a, idx))->size, (uint64_t)(gap + 16));
    } else {
        uint32_t slots = a->region->slots;
        uint16_t *sizes = (uint16_t *)(arena_unit(a, idx)->bits + (slots + 63) / 64 + (slots + 7) / 8);
        FORGE(sizes[0], (uint16_t)(gap + 16));
    }
    unsigned char evil[32];
    memset(evil, 0xee, sizeof evil);
    if (seal_write(first + gap - 16, evil, sizeof evil) == 0 && second[0] == 0xee)
        broken("write-rare through a forged size wrote into the neighbour");
    say("held\n");
    _exit(0);
}

/* A SEAL_PERMANENT cache without SEAL_WRITE_RARE: its region's flag is
 * read-only, so write-rare must refuse its objects. */
static void write_rare_flag_forged(void *arg)
{
    (void)arg;
    seal_cache *c = victim_cache(SEAL_PERMANENT);
    seal_cache_seal(c);
    FORGE(((struct sl_region *)(uintptr_t)region0(c))->write_rare, true);
    unsigned char evil[16];
    memset(evil, 0xee, sizeof evil);
    if (seal_write(victims[0], evil, sizeof evil) == 0)
        broken("write-rare wrote into an owner without SEAL_WRITE_RARE");
    check_victims();
}

/* ---- open slabs: the census before a seal ------------------------------------------ */

/* An open slab's bitmap gains a bit its count does not have. */
static void open_bitmap_gains_a_bit_then_seal(void *arg)
{
    (void)arg;
    seal_cache *c = seal_cache_create("victim", 64, 0, 0);
    void *p = seal_cache_alloc(c);
    uint32_t idx;
    const struct sl_arena *a = where(c, 0, p, &idx);
    forge_bit(arena_unit(a, idx)->bits, 500, true);
    seal_cache_seal(c);
    broken("the seal took a forged bitmap");
}

/* A never-used slot forged taken: the next refill must not take it. */
static void unused_slot_forged_taken_then_alloc(void *arg)
{
    (void)arg;
    seal_cache *c = seal_cache_create("victim", 64, 0, 0);
    void *p = seal_cache_alloc(c); /* the first refill took slots 0..15 */
    uint32_t idx;
    const struct sl_arena *a = where(c, 0, p, &idx);
    forge_bit(arena_unit(a, idx)->bits, 20, true);
    for (int i = 0; i < 32; i++)
        seal_cache_alloc(c);
    broken("a refill took a slot the bitmap calls taken");
}

/* ---- every writable word of the metadata, before a seal ------------------------------ */

/* A cache and a pool with objects (slab slots and a large allocation),
 * unsealed: every writable word of their metadata is forged in turn, in a
 * child, then the owners are sealed. A seal that returns 0 must leave
 * every object allocated before it read-only and unchanged; an abort with
 * a report, a failed seal, a hang on a forged lock (the alarm) or a crash
 * inside the library (counted) are the other endings. */
#define SWEEP_OBJECTS 24

static struct {
    seal_cache *c;
    seal_pool *p;
    unsigned char *obj[SWEEP_OBJECTS];
    size_t size[SWEEP_OBJECTS];
} sweep;

struct word {
    uint64_t *at;
    uint64_t value;
};

static void forge_then_seal(void *arg)
{
    const struct word *w = arg;
    alarm(5); /* past lock.h's two rounds: a forged lock ends in its report */
    if (!FORGE(*w->at, w->value))
        _exit(0); /* not writable (any more): nothing to forge */
    if (seal_cache_seal(sweep.c) != 0 || seal_pool_seal(sweep.p) != 0)
        _exit(0);
    for (int i = 0; i < SWEEP_OBJECTS; i++) {
        if (page_writable(sweep.obj[i]) || !store_faults(sweep.obj[i]))
            broken("a seal that returned 0 left an object writable");
        for (size_t b = 0; b < sweep.size[i]; b++)
            if (sweep.obj[i][b] != (unsigned char)(0x40 + i))
                broken("an object changed");
    }
    _exit(0);
}

/* Forge the words of [lo, hi) one by one with each value; counts endings. */
static int hangs;

static void sweep_range(void *lo, void *hi, int *crashes, int *reports, int *words)
{
    static const uint64_t values[] = {0, 1, UINT64_MAX};
    for (uint64_t *at = lo; at < (uint64_t *)hi; at++)
        for (size_t v = 0; v < sizeof values / sizeof values[0]; v++) {
            struct word w = {at, values[v]};
            if (*at == values[v])
                continue;
            struct death d;
            run_in_child(forge_then_seal, &w, &d);
            (*words)++;
            if (d.signal == SIGABRT && strstr(d.err, "sealloc:") != NULL)
                (*reports)++;
            else if (d.signal == SIGALRM)
                hangs++;
            else if (strstr(d.err, "BROKEN") != NULL)
                fprintf(stderr, "  word %p = %#llx: %s", (void *)at,
                        (unsigned long long)values[v], d.err);
            else if (d.signal != 0 || d.status != 0)
                (*crashes)++; /* a signal, or a sanitizer's report */
            CHECK(strstr(d.err, "BROKEN") == NULL);
        }
}

static void each_writable_word_before_seal(void)
{
    if (getenv("SEALLOC_TEST_CHOICE_ONLY") != NULL) /* the protection-key guest */
        SKIP("the sweep is about writable bytes, not the mechanism: it runs on the host "
             "(emulation is slow)");
    sweep.c = seal_cache_create("sweep", 64, 0, 0);
    sweep.p = seal_pool_create("sweep", 0);
    for (int i = 0; i < SWEEP_OBJECTS; i++) {
        sweep.size[i] = i % 3 == 0 ? 64 : i % 3 == 1 ? 100 : 9000;
        sweep.obj[i] = i % 3 == 0 ? seal_cache_alloc(sweep.c) : seal_pool_alloc(sweep.p, sweep.size[i]);
        memset(sweep.obj[i], 0x40 + i, sweep.size[i]);
    }
    int crashes = 0, reports = 0, words = 0;
    const struct sl_owner *owners[2] = {(const void *)sweep.c, (const void *)sweep.p};
    for (int k = 0; k < 2; k++) {
        const struct sl_owner *o = owners[k];
        sweep_range(o->st, (char *)o->st + sizeof *o->st + o->n_regions * sizeof o->st->cur[0],
                    &crashes, &reports, &words);
        for (struct sl_mag *m = o->st->mags; m != NULL; m = m->next)
            sweep_range(m, m + 1, &crashes, &reports, &words);
        for (unsigned r = 0; r < o->n_regions; r++)
            for (unsigned ai = 0; ai < o->regions[r].n_arenas; ai++) {
                const struct sl_arena *a = o->regions[r].arenas[ai];
                sweep_range(a->partial, a->partial + a->words, &crashes, &reports, &words);
                sweep_range(a->recs, a->recs + arena_hwm(a) * a->rec_size, &crashes, &reports,
                            &words);
            }
    }
    printf("sweep: %d forgeries of writable metadata words before a seal: %d reports, "
           "%d crashes, %d hangs (a forged lock), none left an object writable\n", words, reports,
           crashes, hangs);
}

/* ---- the cases ------------------------------------------------------------------ */

/* One attack: it held, or the library stopped it with its own report. */
static bool defended(void (*fn)(void *), void *arg)
{
    struct death d;
    run_in_child(fn, arg, &d);
    bool ok = (d.signal == 0 && d.status == 0 && strstr(d.err, "held") != NULL) ||
              (d.signal == SIGABRT && strstr(d.err, "sealloc:") != NULL);
    if (!ok)
        fprintf(stderr, "  child: signal %d, status %d, stderr: %s\n", d.signal, d.status, d.err);
    return ok;
}

static bool reported(void (*fn)(void *), void *arg, const char *needle)
{
    return expect_death(fn, arg, SIGABRT, needle);
}

static void what_a_seal_covers(void)
{
    CHECK(defended(open_bit_cleared_before_seal, NULL));
    CHECK(defended(bitmap_length_zeroed_before_seal, NULL));
    CHECK(defended(large_live_count_zeroed_before_seal, NULL));
}

static void sealed_slab_state(void)
{
    CHECK(reported(live_bit_and_count_lowered_before_seal, NULL, "corrupted metadata"));
    CHECK(reported(freed_slot_forged_live_after_seal, NULL, "double free"));
    CHECK(reported(magazine_entry_forged_after_seal, NULL, "corrupted metadata"));
}

static void fork_children(void)
{
    if (strcmp(seal_write_rare_mechanism(), "none") == 0)
        SKIP("no write-rare mechanism");
    CHECK(defended(span_forged_open_before_fork, NULL));
    CHECK(defended(span_and_hwm_forged_before_fork, NULL));
}

/* The registry's reader count is writable: one raised so that it never
 * drops (here: a reader that never leaves) must end the next registry
 * change in a report, not a wait forever. */
static void reader_count_never_drops(void *arg)
{
    (void)arg;
    registry_enter();
    seal_cache_alloc(seal_cache_create("after", 64, 0, 0)); /* a new arena: a registry change */
    broken("a registry change went on with a reader inside");
}

/* ---- forged locks ------------------------------------------------------------ */

/* Every lock of the library is writable (lock.h). One forged "held" by
 * a thread that cannot hold it, or of a kind that makes pthread fail,
 * must end the call that takes it in a report, not a wait forever. */
enum forged_lock { HELD_BY_CALLER, HELD_BY_NO_THREAD, BAD_KIND };

static void *note_tid(void *tid)
{
    *(pid_t *)tid = (pid_t)syscall(SYS_gettid);
    return NULL;
}

static void owner_lock_forged(void *arg)
{
    seal_cache *c = seal_cache_create("locked", 64, 0, 0);
    pthread_mutex_t *m = &((struct sl_owner *)c)->st->lock;
    pid_t gone = 0;
    pthread_t t;
    if (pthread_create(&t, NULL, note_tid, &gone) != 0 || pthread_join(t, NULL) != 0)
        abort();
    switch ((enum forged_lock)(intptr_t)arg) {
    case HELD_BY_CALLER:
        CHECK(FORGE(m->__data.__lock, 1) && FORGE(m->__data.__owner, (int)syscall(SYS_gettid)));
        break;
    case HELD_BY_NO_THREAD:
        CHECK(FORGE(m->__data.__lock, 1) && FORGE(m->__data.__owner, (int)gone));
        break;
    case BAD_KIND:
        CHECK(FORGE(m->__data.__kind, 0x7f));
        break;
    }
    seal_cache_seal(c);
    broken("a seal went on under a forged lock");
}

/* This thread's own magazine forged busy: the seal that empties the
 * magazines would wait for a fast path nobody is in. */
static void own_magazine_forged_busy(void *arg)
{
    (void)arg;
    seal_cache *c = seal_cache_create("busy", 64, 0, 0);
    seal_cache_alloc(c); /* binds this thread's magazine to c */
    struct sl_mag *m = ((struct sl_owner *)c)->st->mags;
    CHECK(m != NULL && FORGE(*(uint32_t *)&m->busy, 1));
    seal_cache_seal(c);
    broken("a seal went on with a magazine forged busy");
}

static void forged_locks(void)
{
    CHECK(reported(owner_lock_forged, (void *)HELD_BY_CALLER, "the caller itself"));
    CHECK(reported(owner_lock_forged, (void *)HELD_BY_NO_THREAD, "no thread of this process"));
    CHECK(reported(owner_lock_forged, (void *)BAD_KIND, "locking failed"));
    CHECK(reported(own_magazine_forged_busy, NULL, "a magazine stays inside a fast path"));
}

static void forged_handles(void)
{
    CHECK(reported(handle_redirected_to_forged_descriptor, NULL, "is not a cache handle"));
}

static void library_globals(void)
{
    for (intptr_t k = 8; k <= 12; k++)
        CHECK(defended(globals_forged, (void *)k));
    CHECK(defended(globals_forged, (void *)15));
    CHECK(reported(reader_count_never_drops, NULL, "readers that never leave"));
}

static void write_rare_bounds(void)
{
    if (strcmp(seal_write_rare_mechanism(), "none") == 0)
        SKIP("no write-rare mechanism");
    CHECK(defended(forged_size_widens_write_rare, NULL));      /* pool slot */
    CHECK(defended(forged_size_widens_write_rare, (void *)1)); /* large allocation */
    CHECK(defended(write_rare_flag_forged, NULL));
}

static void open_slab_census(void)
{
    CHECK(reported(open_bitmap_gains_a_bit_then_seal, NULL, "corrupted metadata"));
    CHECK(reported(unused_slot_forged_taken_then_alloc, NULL, "corrupted metadata"));
}

int main(void)
{
    RUN(what_a_seal_covers);
    RUN(sealed_slab_state);
    RUN(fork_children);
    RUN(library_globals);
    RUN(forged_handles);
    RUN(forged_locks);
    RUN(write_rare_bounds);
    RUN(open_slab_census);
    RUN(each_writable_word_before_seal);
    return check_exit();
}
