/* SPDX-License-Identifier: MIT */
/*
 * test_writerare.c - seal_write, seal_memset, seal_write_ptr and SEAL_ASSIGN:
 * success on sealed cache objects and pool allocations, every refusal with
 * its errno, neighbouring bytes untouched, objects still sealed afterwards,
 * permanent write-rare owners, a racing direct store that must never land,
 * and concurrent pointer publication seen whole by acquire readers.
 *
 * The tests run under every write-rare mechanism (mechanisms.h); one this
 * machine lacks is reported as skipped with the reason.
 */
#include "check.h"
#include "mechanisms.h"
#include "probe.h"
#include "sealloc.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>

struct rule {
    long before;
    long limit;
    void *next;
    char name[24];
    long after;
};

static bool is_mech(const char *name) { return strcmp(seal_write_rare_mechanism(), name) == 0; }

/* seal_write_ptr on sealed memory needs a single-copy-atomic store; the
 * kernel-mediated mechanism refuses it with ENOTSUP. */
static bool has_atomic_store(void) { return !is_mech("procmem") && !is_mech("none"); }

static void store_long(void *p) { *(volatile long *)p = 1; }

static struct rule *sealed_rule(seal_cache *c)
{
    struct rule *r = seal_cache_alloc(c);
    r->before = 111;
    r->limit = 10;
    strcpy(r->name, "ssh");
    r->after = 222;
    return r;
}

/* Every write-rare call on one sealed object; nothing else changes. */
static void update_sealed(struct rule *r, struct rule *neighbour)
{
    struct rule saved_n = *neighbour;
    long v = 42;
    CHECK(seal_write(&r->limit, &v, sizeof v) == 0);
    CHECK(r->limit == 42);
    CHECK(SEAL_ASSIGN(r->limit, 43) == 0);
    CHECK(r->limit == 43);
    CHECK(seal_memset(r->name, 'x', 3) == 0);
    CHECK(memcmp(r->name, "xxx", 4) == 0);
    CHECK(seal_write(r->name, "telnet", 7) == 0 && strcmp(r->name, "telnet") == 0);
    if (has_atomic_store()) {
        CHECK(seal_write_ptr(&r->next, neighbour) == 0);
        CHECK(r->next == neighbour);
    } else {
        errno = 0;
        CHECK(seal_write_ptr(&r->next, neighbour) == -1 && errno == ENOTSUP);
        CHECK(r->next == NULL);
    }
    /* The whole object, first byte to last, is a valid destination. */
    struct rule whole = *r;
    whole.after = 333;
    CHECK(seal_write(r, &whole, sizeof whole) == 0);
    CHECK(r->before == 111 && r->after == 333);
    CHECK(memcmp(neighbour, &saved_n, sizeof saved_n) == 0);
    CHECK(seal_is_sealed(r) && page_read_only(r) && page_read_only(&r->limit));
    CHECK(expect_death(store_long, &r->limit, SIGSEGV, NULL));
}

static void cache_objects(void)
{
    seal_cache *c = seal_cache_create("wr-cache", sizeof(struct rule), 0, SEAL_WRITE_RARE);
    CHECK(c != NULL);
    struct rule *a = sealed_rule(c), *r = sealed_rule(c), *b = sealed_rule(c);
    CHECK(seal_cache_seal(c) == 0);
    struct rule saved_a = *a;
    update_sealed(r, b);
    CHECK(memcmp(a, &saved_a, sizeof saved_a) == 0);
    seal_cache_require(c, r);
    seal_cache_destroy(c);
}

static void pool_allocations(void)
{
    seal_pool *p = seal_pool_create("wr-pool", SEAL_WRITE_RARE);
    CHECK(p != NULL);
    struct rule *a = seal_pool_alloc(p, sizeof *a), *r = seal_pool_alloc(p, sizeof *r);
    struct rule *b = seal_pool_alloc(p, sizeof *b);
    *a = *r = *b = (struct rule){.before = 111, .limit = 10, .name = "ssh", .after = 222};
    char *large = seal_pool_alloc(p, 100000);
    CHECK(seal_pool_seal(p) == 0);
    struct rule saved_a = *a;
    update_sealed(r, b);
    CHECK(memcmp(a, &saved_a, sizeof saved_a) == 0);

    /* A large allocation, across a page boundary and up to its last byte. */
    char msg[64];
    memset(msg, 'L', sizeof msg);
    CHECK(seal_write(large + 4096 - 32, msg, sizeof msg) == 0);
    CHECK(large[4096 - 33] == 0 && large[4096 - 32] == 'L' && large[4096 + 31] == 'L');
    CHECK(large[4096 + 32] == 0);
    CHECK(seal_memset(large + 100000 - 10, 'e', 10) == 0 && large[99999] == 'e');
    CHECK(large[100000 - 11] == 0);
    CHECK(seal_memset(large, 'M', 100000) == 0 && large[0] == 'M' && large[99999] == 'M');
    CHECK(seal_is_sealed(large) && page_read_only(large));
    seal_pool_require(p, r);
    seal_pool_destroy(p);
}

static void unsealed_destinations_written_directly(void)
{
    seal_cache *c = seal_cache_create("wr-open", sizeof(struct rule), 0, SEAL_WRITE_RARE);
    struct rule *r = sealed_rule(c), *b = sealed_rule(c);
    CHECK(seal_is_sealed(r) == 0);
    CHECK(SEAL_ASSIGN(r->limit, 7) == 0 && r->limit == 7);
    CHECK(seal_write_ptr(&r->next, b) == 0 && r->next == b);
    CHECK(seal_memset(r->name, 0, sizeof r->name) == 0 && r->name[0] == 0);
    CHECK(seal_is_sealed(r) == 0);
    r->limit = 8; /* still ordinary memory */
    seal_cache_destroy(c);
}

static void refusals(void)
{
    seal_cache *c = seal_cache_create("wr-refuse", sizeof(struct rule), 0, SEAL_WRITE_RARE);
    seal_cache *plain = seal_cache_create("no-wr", sizeof(struct rule), 0, 0);
    seal_pool *p = seal_pool_create("wr-refuse-pool", SEAL_WRITE_RARE);
    struct rule *r = sealed_rule(c), *freed = sealed_rule(c), *last = sealed_rule(c);
    struct rule *pr = sealed_rule(plain);
    char *s = seal_pool_alloc(p, 10); /* a 16-byte class slot, 10 asked for */
    char *l = seal_pool_alloc(p, 5000);
    seal_cache_seal(c);
    seal_cache_seal(plain);
    seal_pool_seal(p);
    seal_cache_free(c, freed);
    struct rule snapshot = *r;
    long v = 1, stack_var = 5;
    long *heap = calloc(1, sizeof *heap);
    char big[sizeof(struct rule) * 2] = {0};

#define REFUSED(call, err)                                                                 \
    do {                                                                                   \
        errno = 0;                                                                         \
        CHECK((call) == -1 && errno == (err));                                             \
    } while (0)

    REFUSED(seal_write(heap, &v, sizeof v), EINVAL);
    REFUSED(seal_write(&stack_var, &v, sizeof v), EINVAL);
    REFUSED(seal_write(&freed->limit, &v, sizeof v), EINVAL);
    REFUSED(seal_write(&r->after, big, sizeof(long) + 1), EINVAL); /* past the end */
    REFUSED(seal_write(r, big, sizeof big), EINVAL);                 /* straddles two */
    REFUSED(seal_write((char *)last + sizeof(struct rule), &v, 1), EINVAL);
    REFUSED(seal_write(&r->limit, &v, 0), EINVAL);
    REFUSED(seal_write(&r->limit, NULL, sizeof v), EINVAL);
    REFUSED(seal_write(NULL, &v, sizeof v), EINVAL);
    REFUSED(seal_write(&pr->limit, &v, sizeof v), EPERM);
    REFUSED(seal_write(s + 10, "x", 1), EINVAL);  /* inside the slot, past the size asked */
    REFUSED(seal_write(s + 6, "12345", 5), EINVAL);
    REFUSED(seal_write(l + 4999, "ab", 2), EINVAL);
    REFUSED(seal_write(l + 5000, "a", 1), EINVAL);
    CHECK(seal_write(s + 9, "z", 1) == 0 && s[9] == 'z');

    REFUSED(seal_memset(heap, 0, sizeof *heap), EINVAL);
    REFUSED(seal_memset(&stack_var, 0, sizeof stack_var), EINVAL);
    REFUSED(seal_memset(&freed->limit, 0, sizeof(long)), EINVAL);
    REFUSED(seal_memset(r, 0, sizeof(struct rule) + 1), EINVAL);
    REFUSED(seal_memset(&pr->limit, 0, sizeof(long)), EPERM);

    REFUSED(seal_write_ptr(heap, NULL), EINVAL);
    REFUSED(seal_write_ptr(&stack_var, NULL), EINVAL);
    REFUSED(seal_write_ptr(&freed->next, NULL), EINVAL);
    REFUSED(seal_write_ptr((char *)&r->next + 1, NULL), EINVAL); /* misaligned */
    REFUSED(seal_write_ptr(&pr->next, r), EPERM);
    REFUSED(seal_write_ptr(s + 8, r), EINVAL); /* 8..15: past the 10 bytes asked */

    REFUSED(SEAL_ASSIGN(*heap, 3), EINVAL);
    REFUSED(SEAL_ASSIGN(stack_var, 3), EINVAL);
    REFUSED(SEAL_ASSIGN(pr->limit, 3), EPERM);
#undef REFUSED

    CHECK(memcmp(r, &snapshot, sizeof snapshot) == 0);
    CHECK(pr->limit == 10 && *heap != 1 && stack_var == 5);
    free(heap);
    seal_cache_destroy(c);
    seal_cache_destroy(plain);
    seal_pool_destroy(p);
}

/* A pool allocation resized in place: write-rare follows the new size. */
static void bounds_follow_realloc(void)
{
    seal_pool *p = seal_pool_create("wr-resize", SEAL_WRITE_RARE);
    char *grown = seal_pool_alloc(p, 20), *shrunk = seal_pool_alloc(p, 30);
    CHECK(seal_pool_realloc(p, grown, 30) == grown);   /* same class: in place */
    CHECK(seal_pool_realloc(p, shrunk, 17) == shrunk);
    CHECK(seal_pool_seal(p) == 0);
    CHECK(seal_write(grown + 25, "12345", 5) == 0 && memcmp(grown + 25, "12345", 5) == 0);
    errno = 0;
    CHECK(seal_write(grown + 26, "12345", 5) == -1 && errno == EINVAL);
    CHECK(seal_write(shrunk + 16, "x", 1) == 0);
    errno = 0;
    CHECK(seal_write(shrunk + 17, "x", 1) == -1 && errno == EINVAL);
    seal_pool_destroy(p);
}

static void permanent_write_rare(void)
{
    if (syscall(462, 0, 0, 0) != 0)
        SKIP("kernel without mseal(2)");
    seal_cache *c = seal_cache_create("wr-perm", sizeof(struct rule), 0,
                                      SEAL_PERMANENT | SEAL_WRITE_RARE);
    CHECK(c != NULL);
    struct rule *r = sealed_rule(c), *b = sealed_rule(c);
    CHECK(seal_cache_seal(c) == 0);
    long pg = sysconf(_SC_PAGESIZE);
    errno = 0;
    CHECK(mprotect((void *)((uintptr_t)r & ~(uintptr_t)(pg - 1)), (size_t)pg,
                   PROT_READ | PROT_WRITE) == -1 && errno == EPERM);
    update_sealed(r, b);
    seal_pool *p = seal_pool_create("wr-perm-pool", SEAL_PERMANENT | SEAL_WRITE_RARE);
    char *s = seal_pool_strdup(p, "old value");
    CHECK(seal_pool_seal(p) == 0);
    CHECK(seal_write(s, "new", 4) == 0 && strcmp(s, "new") == 0 && page_read_only(s));
    seal_pool_destroy(p);
    seal_cache_destroy(c);
}

/* ---- a direct store racing with write-rare updates ---------------------- */

enum { RACE_UPDATES = 5000 };

struct race {
    long *target;
    atomic_bool done;
    atomic_long attempts;
    long faults, landed, seen_forged;
};

static void *race_attacker(void *arg)
{
    struct race *rc = arg;
    while (!atomic_load(&rc->done)) {
        atomic_fetch_add(&rc->attempts, 1);
        if (probe_store(rc->target, -1))
            rc->landed++;
        else
            rc->faults++;
        if (*(volatile long *)rc->target == -1)
            rc->seen_forged++;
    }
    return NULL;
}

static void racing_store_never_lands(void)
{
    SKIP_UNDER_VALGRIND();
    seal_cache *c = seal_cache_create("wr-race", sizeof(struct rule), 0, SEAL_WRITE_RARE);
    struct rule *r = sealed_rule(c);
    CHECK(seal_cache_seal(c) == 0);
    struct sigaction old;
    probe_catch_segv(&old);
    struct race rc = {.target = &r->limit};
    pthread_t t;
    pthread_create(&t, NULL, race_attacker, &rc);
    long failures = 0, last = 0;
    /* Thousands of updates, and on until the attacker has been at it for a
     * while too. */
    while (last < RACE_UPDATES || atomic_load(&rc.attempts) < 1000) {
        last++;
        failures += SEAL_ASSIGN(r->limit, last) != 0;
    }
    atomic_store(&rc.done, true);
    pthread_join(t, NULL);
    sigaction(SIGSEGV, &old, NULL);
    CHECK(failures == 0);
    CHECK(rc.attempts > 0 && rc.faults == rc.attempts && rc.landed == 0 && rc.seen_forged == 0);
    CHECK(r->limit == last); /* the last write-rare value, read after the join */
    CHECK(r->before == 111 && r->after == 222 && seal_is_sealed(r));
    if (rc.landed != 0)
        fprintf(stderr, "  %ld of %ld direct stores landed\n", rc.landed, atomic_load(&rc.attempts));
    seal_cache_destroy(c);
}

/* ---- pointer publication with acquire readers --------------------------- */

enum { PUBLISHES = 1000, READERS = 2 };

struct version {
    long id, twice, negated;
    char tag[16];
};

struct root {
    _Atomic(struct version *) current;
};

struct publish {
    struct root *root;
    atomic_bool done;
};

static bool version_whole(const struct version *v)
{
    char tag[16];
    snprintf(tag, sizeof tag, "v%ld", v->id);
    return v->id > 0 && v->twice == 2 * v->id && v->negated == -v->id && strcmp(v->tag, tag) == 0;
}

static void *publish_reader(void *arg)
{
    struct publish *pb = arg;
    long bad = 0, last = 0, backwards = 0;
    while (!atomic_load(&pb->done)) {
        struct version *v = atomic_load_explicit(&pb->root->current, memory_order_acquire);
        if (v == NULL)
            continue;
        bad += !version_whole(v) || !seal_is_sealed(v);
        backwards += v->id < last;
        last = v->id;
    }
    return (void *)(intptr_t)(bad + backwards);
}

static void publish_seen_whole(void)
{
    if (!has_atomic_store())
        SKIP("mechanism %s has no single-copy-atomic store", seal_write_rare_mechanism());
    SKIP_UNDER_VALGRIND();
    seal_cache *roots = seal_cache_create("wr-root", sizeof(struct root), 0, SEAL_WRITE_RARE);
    seal_cache *versions = seal_cache_create("wr-versions", sizeof(struct version), 0, 0);
    struct root *root = seal_cache_alloc(roots);
    CHECK(seal_cache_seal(roots) == 0);
    struct publish pb = {.root = root};
    pthread_t t[READERS];
    for (int i = 0; i < READERS; i++)
        pthread_create(&t[i], NULL, publish_reader, &pb);
    long failures = 0;
    for (long id = 1; id <= PUBLISHES; id++) {
        struct version *v = seal_cache_alloc(versions);
        v->id = id;
        v->twice = 2 * id;
        v->negated = -id;
        snprintf(v->tag, sizeof v->tag, "v%ld", id);
        failures += seal_cache_seal(versions) != 0;
        failures += seal_write_ptr(&root->current, v) != 0;
    }
    atomic_store(&pb.done, true);
    long bad = 0;
    for (int i = 0; i < READERS; i++) {
        void *r;
        pthread_join(t[i], &r);
        bad += (intptr_t)r;
    }
    CHECK(failures == 0 && bad == 0);
    struct version *final = atomic_load(&root->current);
    CHECK(final != NULL && final->id == PUBLISHES && seal_is_sealed(root));
    seal_cache_destroy(versions);
    seal_cache_destroy(roots);
}

static void run_all(void)
{
    RUN(cache_objects);
    RUN(pool_allocations);
    RUN(unsealed_destinations_written_directly);
    RUN(refusals);
    RUN(bounds_follow_realloc);
    RUN(permanent_write_rare);
    RUN(racing_store_never_lands);
    RUN(publish_seen_whole);
}

int main(int argc, char **argv) { return each_mechanism(argc, argv, run_all); }
