/* SPDX-License-Identifier: MIT */
/*
 * test_lookup.c - seal_cache_of(), seal_pool_of() and the scope hooks
 * built on them (seal_scope_*): the owner of exactly the live objects of
 * live owners and NULL for everything else (destroyed owners included,
 * without aborting), from a signal handler too; scopes that route
 * allocations, frees that find their pool outside any scope and in other
 * threads, and the misuse that must never reach libc's free.
 */
#include "check.h"
#include "sealloc.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>

static void owners_of_live_objects(void)
{
    seal_cache *c = seal_cache_create("of-cache", 48, 0, 0);
    seal_pool *p = seal_pool_create("of-pool", 0);
    char *o = seal_cache_alloc(c), *a = seal_pool_alloc(p, 30), *big = seal_pool_alloc(p, 100000);
    int on_stack;
    void *heap = malloc(16);
    CHECK(seal_cache_of(o) == c && seal_pool_of(o) == NULL);
    CHECK(seal_pool_of(a) == p && seal_cache_of(a) == NULL && seal_pool_of(big) == p);
    CHECK(seal_cache_of(o + 1) == NULL && seal_pool_of(a + 8) == NULL && seal_pool_of(big + 4096) == NULL);
    CHECK(seal_pool_of(NULL) == NULL && seal_cache_of(NULL) == NULL);
    CHECK(seal_pool_of(&on_stack) == NULL && seal_pool_of(heap) == NULL && seal_cache_of(heap) == NULL);
    CHECK(seal_cache_seal(c) == 0 && seal_pool_seal(p) == 0);
    CHECK(seal_cache_of(o) == c && seal_pool_of(a) == p && seal_pool_of(big) == p);
    seal_cache_free(c, o);
    seal_pool_free(p, a);
    seal_pool_free(p, big);
    CHECK(seal_cache_of(o) == NULL && seal_pool_of(a) == NULL && seal_pool_of(big) == NULL);
    /* A freed object held in this thread's magazine is not live. */
    char *m = seal_cache_alloc(c);
    seal_cache_free(c, m);
    CHECK(seal_cache_of(m) == NULL);
    free(heap);
    seal_pool_destroy(p);
    seal_cache_destroy(c);
}

static void destroyed_owners_give_null(void)
{
    seal_cache *c = seal_cache_create("of-gone", 8, 0, 0);
    seal_pool *p = seal_pool_create("of-gone-pool", 0);
    void *o = seal_cache_alloc(c), *a = seal_pool_alloc(p, 8);
    seal_cache_destroy(c);
    seal_pool_destroy(p);
    CHECK(seal_cache_of(o) == NULL && seal_pool_of(a) == NULL);
    if (syscall(462, 0, 0, 0) != 0)
        return; /* no mseal(2): no pinned remnant to show */
    seal_pool *perm = seal_pool_create("of-perm", SEAL_PERMANENT);
    void *s = seal_pool_strdup(perm, "pinned");
    CHECK(seal_pool_seal(perm) == 0);
    seal_pool_destroy(perm);
    CHECK(seal_is_sealed(s) && seal_pool_of(s) == NULL);
}

static volatile sig_atomic_t handler_ok;
static void *handler_ptr;
static seal_pool *handler_pool;

static void on_usr1(int sig)
{
    (void)sig;
    handler_ok = seal_pool_of(handler_ptr) == handler_pool && seal_cache_of(handler_ptr) == NULL;
}

static void from_a_signal_handler(void)
{
    handler_pool = seal_pool_create("of-signal", 0);
    handler_ptr = seal_pool_alloc(handler_pool, 64);
    signal(SIGUSR1, on_usr1);
    raise(SIGUSR1);
    signal(SIGUSR1, SIG_DFL);
    CHECK(handler_ok);
    seal_pool_destroy(handler_pool);
}

/* Lookups racing with pools that are filled, freed and destroyed: every
 * answer is NULL or a pool that existed, never a crash or a dead handle.
 * Not in the TSan suite: registry_find() is not instrumented, so TSan
 * misses the release/acquire that publishes a new arena and reports the
 * first read of one created at a reused address as a race. */
#define ROUNDS 200
#define PTRS 64
static seal_pool *_Atomic made[ROUNDS];
static void *_Atomic shared_ptr[PTRS];
static _Atomic int churn_done;

static void *churn(void *arg)
{
    (void)arg;
    for (int r = 0; r < ROUNDS; r++) {
        seal_pool *p = seal_pool_create("of-race", 0);
        atomic_store(&made[r], p);
        for (int i = 0; i < PTRS; i++)
            atomic_store(&shared_ptr[i], seal_pool_alloc(p, 16 + (size_t)i * 300));
        if (r % 2)
            seal_pool_seal(p);
        for (int i = 0; i < PTRS; i += 3)
            seal_pool_free(p, atomic_load(&shared_ptr[i]));
        seal_pool_destroy(p);
    }
    atomic_store(&churn_done, 1);
    return NULL;
}

static void lookups_race_with_destroy(void)
{
    SKIP_UNDER_VALGRIND();
    pthread_t t;
    pthread_create(&t, NULL, churn, NULL);
    long answers = 0, wrong = 0;
    while (!atomic_load(&churn_done)) {
        for (int i = 0; i < PTRS; i++) {
            seal_pool *got = seal_pool_of(atomic_load(&shared_ptr[i]));
            if (got == NULL)
                continue;
            answers++;
            bool known = false;
            for (int r = 0; r < ROUNDS && !known; r++)
                known = atomic_load(&made[r]) == got;
            wrong += !known;
        }
    }
    pthread_join(t, NULL);
    CHECK(wrong == 0);
    CHECK(answers > 0); /* the race was run, not only its edges */
}

/* ---- scopes ---------------------------------------------------------------- */

static uint64_t live(seal_pool *p)
{
    struct seal_stats s;
    return seal_pool_stats(p, &s) == 0 ? s.live : UINT64_MAX;
}

static void scopes_route_allocations(void)
{
    seal_pool *p = seal_pool_create("scope-a", 0), *q = seal_pool_create("scope-b", 0);
    CHECK(seal_scope_current() == NULL);
    char *libc = seal_scope_malloc(10);
    CHECK(libc != NULL && seal_pool_of(libc) == NULL);
    CHECK(seal_scope_push(p) == 0 && seal_scope_current() == p);
    char *in_p = seal_scope_malloc(0), *s = seal_scope_strdup("text");
    CHECK(seal_scope_push(q) == 0 && seal_scope_current() == q);
    char *in_q = seal_scope_malloc(100);
    CHECK(seal_scope_push(NULL) == 0 && seal_scope_current() == NULL);
    char *libc2 = seal_scope_strdup("libc");
    seal_scope_pop();
    /* A realloc stays in the pointer's own pool, whatever the scope. */
    char *moved = seal_scope_realloc(s, 5000);
    seal_scope_pop();
    CHECK(seal_scope_current() == p);
    seal_scope_pop();
    CHECK(seal_scope_current() == NULL);
    CHECK(in_p != NULL && seal_pool_of(in_p) == p && seal_pool_of(in_q) == q);
    CHECK(moved != NULL && seal_pool_of(moved) == p && strcmp(moved, "text") == 0);
    CHECK(libc2 != NULL && seal_pool_of(libc2) == NULL && strcmp(libc2, "libc") == 0);
    errno = 0;
    CHECK(seal_scope_strdup(NULL) == NULL && errno == EINVAL);
    CHECK(live(p) == 2 && live(q) == 1);
    /* Frees outside any scope find their pool; libc memory goes to libc. */
    seal_scope_free(in_p);
    seal_scope_free(moved);
    seal_scope_free(in_q);
    seal_scope_free(libc);
    seal_scope_free(libc2);
    seal_scope_free(NULL);
    CHECK(live(p) == 0 && live(q) == 0);
    libc = seal_scope_realloc(NULL, 3);
    CHECK(libc != NULL && seal_pool_of(libc) == NULL);
    libc = seal_scope_realloc(libc, 300);
    CHECK(libc != NULL && seal_pool_of(libc) == NULL);
    seal_scope_free(libc);
    seal_pool_destroy(q);
    seal_pool_destroy(p);
}

static void depth_is_bounded(void)
{
    seal_pool *p = seal_pool_create("scope-deep", 0);
    int pushed = 0;
    while (pushed < SEAL_SCOPE_DEPTH && seal_scope_push(p) == 0)
        pushed++;
    errno = 0;
    CHECK(pushed == SEAL_SCOPE_DEPTH && seal_scope_push(p) == -1 && errno == EOVERFLOW);
    while (pushed-- > 0)
        seal_scope_pop();
    CHECK(seal_scope_current() == NULL);
    seal_pool_destroy(p);
}

static void *free_in_thread(void *arg)
{
    seal_scope_free(arg); /* no scope in this thread */
    return NULL;
}

/* A library that frees later: sealed data, freed outside the scope that
 * built it and from another thread. */
static void frees_later_and_elsewhere(void)
{
    seal_pool *p = seal_pool_create("scope-later", 0);
    seal_scope_push(p);
    char *x = seal_scope_strdup("built in scope"), *y = seal_scope_malloc(64);
    seal_scope_pop();
    CHECK(seal_pool_seal(p) == 0 && seal_is_sealed(x) && live(p) == 2);
    seal_scope_free(x);
    pthread_t t;
    pthread_create(&t, NULL, free_in_thread, y);
    pthread_join(t, NULL);
    CHECK(live(p) == 0);
    seal_pool_destroy(p);
}

/* ---- misuse: exact messages ------------------------------------------------ */

static void pop_without_push(void *arg)
{
    (void)arg;
    seal_scope_pop();
}

static void double_free_through_scope(void *arg)
{
    seal_pool *p = arg;
    void *a = seal_pool_alloc(p, 24);
    seal_scope_free(a);
    seal_scope_free(a);
}

static void cache_object_through_scope(void *arg)
{
    seal_scope_free(arg);
}

static void push_destroyed(void *arg)
{
    (void)arg;
    seal_pool *p = seal_pool_create("scope-gone", 0);
    seal_pool_destroy(p);
    seal_scope_push(p);
}

static void misuse(void)
{
    struct death d;
    run_in_child(pop_without_push, NULL, &d);
    CHECK(d.signal == SIGABRT &&
          strcmp(d.err, "sealloc: seal_scope_pop(scope \"-\"): no scope to pop (pops must pair with "
                        "pushes)\n") == 0);
    seal_pool *p = seal_pool_create("scope-df", 0);
    run_in_child(double_free_through_scope, p, &d);
    char want[160];
    CHECK(d.signal == SIGABRT &&
          strncmp(d.err, "sealloc: seal_scope_free(pool \"scope-df\"): 0x", 45) == 0 &&
          strstr(d.err, " is not the start of a live pool allocation\n") != NULL);
    seal_cache *c = seal_cache_create("scope-cache", 32, 0, 0);
    void *o = seal_cache_alloc(c);
    snprintf(want, sizeof want,
             "sealloc: seal_scope_free(cache \"scope-cache\"): %p is not the start of a live pool "
             "allocation\n", o);
    run_in_child(cache_object_through_scope, o, &d);
    CHECK(d.signal == SIGABRT && strcmp(d.err, want) == 0);
    run_in_child(push_destroyed, NULL, &d);
    CHECK(d.signal == SIGABRT &&
          strcmp(d.err, "sealloc: seal_scope_push(pool \"scope-gone\"): use of a destroyed pool\n") == 0);
    seal_cache_destroy(c);
    seal_pool_destroy(p);
}

int main(void)
{
    RUN(owners_of_live_objects);
    RUN(destroyed_owners_give_null);
    RUN(from_a_signal_handler);
    RUN(lookups_race_with_destroy);
    RUN(scopes_route_allocations);
    RUN(depth_is_bounded);
    RUN(frees_later_and_elsewhere);
    RUN(misuse);
    return check_exit();
}
