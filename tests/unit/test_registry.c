/* SPDX-License-Identifier: MIT */
/*
 * test_registry.c - the address -> arena registry and the diagnostics that
 * read it: seal_is_sealed() is 0 for heap, stack, static, guard, unused
 * and reclaimed memory and 1 only inside sealed spans (and in what a
 * destroyed permanent owner left pinned); lookups find the right owner
 * among hundreds and stay right while other threads create and destroy
 * owners; seal_stats_print() rows carry the names and counts, and
 * SEALLOC_STATS=1 prints the table at exit.
 */
#include "check.h"
#include "owner.h"
#include "registry.h"
#include "sealloc.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>

static int static_data;

/* The arena holding p (NULL if none), looked up as the library does. */
static struct sl_arena *arena_at(const void *p)
{
    bool pinned;
    registry_enter();
    struct sl_arena *a = registry_find((uintptr_t)p, &pinned);
    registry_exit();
    return a;
}

static void is_sealed_only_in_sealed_spans(void)
{
    int stack_var = 0;
    char *heap = calloc(1, 64);
    CHECK(seal_is_sealed(heap) == 0 && seal_is_sealed(&stack_var) == 0);
    CHECK(seal_is_sealed(&static_data) == 0 && seal_is_sealed(NULL) == 0);
    CHECK(seal_is_sealed((void *)seal_is_sealed) == 0); /* code is read-only, not ours */
    CHECK(seal_is_sealed((void *)UINTPTR_MAX) == 0);
    free(heap);

    long pg = sysconf(_SC_PAGESIZE);
    seal_cache *c = seal_cache_create("guarded", (size_t)pg, (size_t)pg, 0);
    char *first = seal_cache_alloc(c), *second = seal_cache_alloc(c);
    CHECK(seal_cache_seal(c) == 0);
    struct sl_arena *a = arena_at(first);
    CHECK(a != NULL && a == arena_at(second) && strcmp(a->region->who.name, "guarded") == 0);
    CHECK(seal_is_sealed(first) && seal_is_sealed(first + pg - 1) && seal_is_sealed(second));
    if (a != NULL) {
        char *base = (char *)a->base, *end = base + a->size;
        CHECK(first == base);                   /* the first slab starts the arena */
        CHECK(arena_at(base - 1) == NULL && seal_is_sealed(base - 1) == 0); /* guard */
        CHECK(arena_at(end) == NULL && seal_is_sealed(end) == 0);           /* guard */
        CHECK(arena_at(end - 1) == a && seal_is_sealed(end - 1) == 0);      /* unused */
    }
    /* A freed object on a still-sealed slab is still sealed memory. */
    seal_cache_free(c, first);
    CHECK(seal_is_sealed(first) == 1);
    /* Once the slab is empty it goes back to the OS: free memory. */
    seal_cache_free(c, second);
    CHECK(seal_is_sealed(first) == 0 && seal_is_sealed(second) == 0);
    seal_cache_destroy(c);
    CHECK(arena_at(first) == NULL && seal_is_sealed(first) == 0);
}

static void pinned_after_permanent_destroy(void)
{
    if (syscall(462, 0, 0, 0) != 0)
        SKIP("kernel without mseal(2)");
    seal_cache *c = seal_cache_create("pinned", 64, 0, SEAL_PERMANENT);
    char *o = seal_cache_alloc(c);
    CHECK(seal_cache_seal(c) == 0);
    char *after = seal_cache_alloc(c); /* unsealed: released at destroy */
    seal_cache_destroy(c);
    bool pinned = false;
    registry_enter();
    CHECK(registry_find((uintptr_t)o, &pinned) == NULL && pinned);
    registry_exit();
    CHECK(seal_is_sealed(o) == 1 && seal_is_sealed(after) == 0);
}

static void many_owners(void)
{
    enum { N = 300 };
    static seal_cache *caches[N];
    static char *objs[N];
    char name[32];
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "owner-%d", i);
        caches[i] = seal_cache_create(name, 16 + (size_t)i % 100, 0, 0);
        objs[i] = seal_cache_alloc(caches[i]);
        if (i % 2 == 0)
            seal_cache_seal(caches[i]);
    }
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "owner-%d", i);
        struct sl_arena *a = arena_at(objs[i]);
        CHECK(a != NULL && strcmp(a->region->who.name, name) == 0);
        CHECK(seal_is_sealed(objs[i]) == (i % 2 == 0));
    }
    /* Destroy in an order unrelated to creation; the rest stay found. */
    for (int i = 0; i < N; i += 3)
        seal_cache_destroy(caches[i]);
    for (int i = 0; i < N; i++) {
        bool gone = i % 3 == 0;
        CHECK((arena_at(objs[i]) == NULL) == gone);
        CHECK(seal_is_sealed(objs[i]) == (!gone && i % 2 == 0));
        if (!gone)
            seal_cache_destroy(caches[i]);
    }
}

/* ---- lookups while other threads change the table ------------------------- */

struct lookups {
    char *sealed_obj;
    atomic_bool stop;
};

static void *look_up(void *arg)
{
    struct lookups *l = arg;
    int local = 0;
    long wrong = 0;
    while (!atomic_load(&l->stop))
        wrong += seal_is_sealed(l->sealed_obj) != 1 || seal_is_sealed(&local) != 0;
    return (void *)(intptr_t)wrong;
}

static void lookups_during_changes(void)
{
    seal_cache *stable = seal_cache_create("stable", 32, 0, 0);
    struct lookups l = {.sealed_obj = seal_cache_alloc(stable)};
    seal_cache_seal(stable);
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, look_up, &l);
    long bad = 0;
    for (int round = 0; round < 200; round++) {
        seal_pool *p = seal_pool_create("transient", 0);
        char *s = seal_pool_alloc(p, 100 + (size_t)round * 50);
        seal_pool_seal(p);
        bad += seal_is_sealed(s) != 1;
        seal_pool_destroy(p);
        bad += seal_is_sealed(s) != 0;
    }
    atomic_store(&l.stop, true);
    for (int i = 0; i < 2; i++) {
        void *wrong;
        pthread_join(t[i], &wrong);
        bad += (intptr_t)wrong;
    }
    CHECK(bad == 0);
    seal_cache_destroy(stable);
}

/* ---- stats ---------------------------------------------------------------- */

struct row {
    char kind[16], name[64], objsize[24];
    unsigned long long live, sealed, spans, committed, resident, sealed_b, pinned_b, seals;
};

static bool find_row(const char *table, const char *name, struct row *r)
{
    char *copy = strdup(table);
    bool found = false;
    for (char *line = strtok(copy, "\n"); line != NULL && !found; line = strtok(NULL, "\n"))
        found = sscanf(line, "%15s %63s %23s %llu %llu %llu %llu %llu %llu %llu %llu", r->kind,
                       r->name, r->objsize, &r->live, &r->sealed, &r->spans, &r->committed,
                       &r->resident, &r->sealed_b, &r->pinned_b, &r->seals) == 11 &&
                strcmp(r->name, name) == 0;
    free(copy);
    return found;
}

static char *stats_table(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    seal_stats_print(f);
    fclose(f);
    return buf;
}

static void stats_rows(void)
{
    seal_cache *c = seal_cache_create("stat-cache", 24, 0, 0);
    seal_pool *p = seal_pool_create("stat-pool", SEAL_WRITE_RARE);
    void *objs[10];
    for (int i = 0; i < 10; i++)
        objs[i] = seal_cache_alloc(c);
    seal_pool_alloc(p, 100);
    seal_pool_alloc(p, 100000);
    seal_cache_seal(c);
    seal_cache_seal(c);
    seal_pool_seal(p);
    seal_cache_free(c, objs[0]);
    seal_cache_alloc(c); /* live, not sealed */

    char *t = stats_table();
    struct row r;
    CHECK(strstr(t, "sealloc stats (write-rare: ") != NULL);
    CHECK(strstr(t, seal_write_rare_mechanism()) != NULL);
    CHECK(find_row(t, "stat-cache", &r));
    CHECK(strcmp(r.kind, "cache") == 0 && strcmp(r.objsize, "24") == 0);
    CHECK(r.live == 10 && r.sealed == 9 && r.seals == 2 && r.spans >= 2);
    CHECK(r.committed > 0 && r.sealed_b > 0 && r.sealed_b <= r.committed && r.pinned_b == 0);
    CHECK(find_row(t, "stat-pool", &r));
    CHECK(strcmp(r.kind, "pool") == 0 && r.live == 2 && r.sealed == 2 && r.seals == 1);
    CHECK(r.sealed_b >= 100000);
    free(t);

    seal_pool_destroy(p);
    seal_cache_destroy(c);
    t = stats_table();
    CHECK(!find_row(t, "stat-cache", &r) && !find_row(t, "stat-pool", &r));
    free(t);
}

static const char *self;

static void exit_with_stats(void *arg)
{
    (void)arg;
    setenv("SEALLOC_STATS", "1", 1);
    char *argv[] = {(char *)self, "stats-at-exit", NULL};
    execv(self, argv);
    _exit(127);
}

static void stats_at_exit(void)
{
    struct death d;
    run_in_child(exit_with_stats, NULL, &d);
    struct row r;
    CHECK(d.signal == 0 && d.status == 0);
    CHECK(strstr(d.err, "sealloc stats (write-rare: ") != NULL);
    CHECK(find_row(d.err, "atexit-cache", &r) && r.live == 3 && r.sealed == 3 && r.seals == 1);
    if (d.status != 0 || strstr(d.err, "atexit-cache") == NULL)
        fprintf(stderr, "  child: status %d, stderr: %s\n", d.status, d.err);
}

int main(int argc, char **argv)
{
    self = argv[0];
    if (argc > 1 && strcmp(argv[1], "stats-at-exit") == 0) {
        seal_cache *c = seal_cache_create("atexit-cache", 8, 0, 0);
        for (int i = 0; i < 3; i++)
            seal_cache_alloc(c);
        seal_cache_seal(c);
        return 0; /* the table is printed by the library at exit */
    }
    RUN(is_sealed_only_in_sealed_spans);
    RUN(pinned_after_permanent_destroy);
    RUN(many_owners);
    RUN(lookups_during_changes);
    RUN(stats_rows);
    RUN(stats_at_exit);
    return check_exit();
}
