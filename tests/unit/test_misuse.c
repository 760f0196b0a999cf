/* SPDX-License-Identifier: MIT */
/*
 * test_misuse.c - every kind of misuse aborts with one stderr line that
 * starts with "sealloc:" and names the call and the cache or pool.
 *
 * Each misuse is a tiny function named for what it does, run in a forked
 * child; the test pins the signal (SIGABRT), the one-line shape and the
 * words that identify the call, the owner and the kind of misuse.
 */
#include "check.h"
#include "sealloc.h"

#include <stdint.h>

/* fn must die of SIGABRT after printing exactly one line that starts with
 * "sealloc: " and contains each of the needles. */
static bool aborts_with(void (*fn)(void *), const char *call_and_owner, const char *what)
{
    struct death d;
    run_in_child(fn, NULL, &d);
    size_t len = strlen(d.err);
    bool ok = d.signal == SIGABRT && strncmp(d.err, "sealloc: ", 9) == 0 && len > 0 &&
              d.err[len - 1] == '\n' && strchr(d.err, '\n') == d.err + len - 1 &&
              strstr(d.err, call_and_owner) != NULL && strstr(d.err, what) != NULL;
    if (!ok)
        fprintf(stderr, "  child: signal %d, status %d, stderr: %s  wanted: %s ... %s\n",
                d.signal, d.status, d.err, call_and_owner, what);
    return ok;
}

static seal_cache *cache_with(const char *name, void **objs, int n)
{
    seal_cache *c = seal_cache_create(name, 48, 0, 0);
    for (int i = 0; i < n; i++)
        objs[i] = seal_cache_alloc(c);
    return c;
}

/* ---- caches ------------------------------------------------------------- */

static void cache_free_heap_pointer(void *arg)
{
    (void)arg;
    void *o[1];
    seal_cache *c = cache_with("victims", o, 1);
    seal_cache_free(c, malloc(48));
}

static void cache_free_stack_pointer(void *arg)
{
    (void)arg;
    void *o[1];
    seal_cache *c = cache_with("victims", o, 1);
    char local[48];
    seal_cache_free(c, local);
}

static void cache_free_interior_pointer(void *arg)
{
    (void)arg;
    void *o[2];
    seal_cache *c = cache_with("victims", o, 2);
    seal_cache_free(c, (char *)o[1] + 8);
}

static void cache_double_free(void *arg)
{
    (void)arg;
    void *o[2];
    seal_cache *c = cache_with("victims", o, 2);
    seal_cache_free(c, o[0]);
    seal_cache_free(c, o[0]);
}

static void cache_double_free_sealed(void *arg)
{
    (void)arg;
    void *o[2];
    seal_cache *c = cache_with("victims", o, 2);
    seal_cache_seal(c);
    seal_cache_free(c, o[0]);
    seal_cache_free(c, o[0]);
}

static void cache_free_into_wrong_cache(void *arg)
{
    (void)arg;
    void *a[1], *b[1];
    seal_cache *ca = cache_with("victims", a, 1);
    cache_with("other", b, 1);
    seal_cache_free(ca, b[0]);
}

static void cache_free_pool_pointer(void *arg)
{
    (void)arg;
    void *a[1];
    seal_cache *c = cache_with("victims", a, 1);
    seal_pool *p = seal_pool_create("a-pool", 0);
    seal_cache_free(c, seal_pool_alloc(p, 48));
}

static void cache_alloc_after_destroy(void *arg)
{
    (void)arg;
    void *a[1];
    seal_cache *c = cache_with("victims", a, 1);
    seal_cache_destroy(c);
    seal_cache_alloc(c);
}

static void cache_free_after_destroy(void *arg)
{
    (void)arg;
    void *a[1];
    seal_cache *c = cache_with("victims", a, 1);
    seal_cache_destroy(c);
    seal_cache_free(c, a[0]);
}

static void cache_seal_after_destroy(void *arg)
{
    (void)arg;
    void *a[1];
    seal_cache *c = cache_with("victims", a, 1);
    seal_cache_destroy(c);
    seal_cache_seal(c);
}

static void cache_alloc_with_pool_handle(void *arg)
{
    (void)arg;
    seal_cache_alloc((seal_cache *)seal_pool_create("a-pool", 0));
}

static void cache_alloc_null_handle(void *arg)
{
    (void)arg;
    seal_cache_alloc(NULL);
}

static void cache_misuse_aborts(void)
{
    const char *fn = "seal_cache_free(cache \"victims\")";
    CHECK(aborts_with(cache_free_heap_pointer, fn, "not allocated by this cache"));
    CHECK(aborts_with(cache_free_stack_pointer, fn, "not allocated by this cache"));
    CHECK(aborts_with(cache_free_interior_pointer, fn, "interior pointer"));
    CHECK(aborts_with(cache_double_free, fn, "double free"));
    CHECK(aborts_with(cache_double_free_sealed, fn, "double free"));
    CHECK(aborts_with(cache_free_into_wrong_cache, fn, "cache \"other\" (wrong cache)"));
    CHECK(aborts_with(cache_free_pool_pointer, fn, "pool \"a-pool\""));
    CHECK(aborts_with(cache_alloc_after_destroy, "seal_cache_alloc(cache \"victims\")",
                      "destroyed cache"));
    CHECK(aborts_with(cache_free_after_destroy, fn, "destroyed cache"));
    CHECK(aborts_with(cache_seal_after_destroy, "seal_cache_seal(cache \"victims\")",
                      "destroyed cache"));
    CHECK(aborts_with(cache_alloc_with_pool_handle, "seal_cache_alloc(cache", "not a cache handle"));
    CHECK(aborts_with(cache_alloc_null_handle, "seal_cache_alloc(cache", "NULL handle"));
}

/* ---- pools -------------------------------------------------------------- */

static seal_pool *pool_with(const char *name, void **ptrs, int n, size_t size)
{
    seal_pool *p = seal_pool_create(name, 0);
    for (int i = 0; i < n; i++)
        ptrs[i] = seal_pool_alloc(p, size);
    return p;
}

static void pool_free_heap_pointer(void *arg)
{
    (void)arg;
    void *o[1];
    seal_pool *p = pool_with("config", o, 1, 100);
    seal_pool_free(p, malloc(100));
}

static void pool_free_interior_pointer(void *arg)
{
    (void)arg;
    void *o[2];
    seal_pool *p = pool_with("config", o, 2, 100);
    seal_pool_free(p, (char *)o[1] + 16);
}

static void pool_free_interior_of_large(void *arg)
{
    (void)arg;
    void *o[1];
    seal_pool *p = pool_with("config", o, 1, 100000);
    seal_pool_free(p, (char *)o[0] + 8192);
}

static void pool_double_free(void *arg)
{
    (void)arg;
    void *o[2];
    seal_pool *p = pool_with("config", o, 2, 100);
    seal_pool_free(p, o[0]);
    seal_pool_free(p, o[0]);
}

static void pool_double_free_sealed(void *arg)
{
    (void)arg;
    void *o[2];
    seal_pool *p = pool_with("config", o, 2, 100);
    seal_pool_seal(p);
    seal_pool_free(p, o[1]);
    seal_pool_free(p, o[1]);
}

static void pool_double_free_large(void *arg)
{
    (void)arg;
    void *o[2];
    seal_pool *p = pool_with("config", o, 2, 100000);
    seal_pool_free(p, o[0]);
    seal_pool_free(p, o[0]);
}

static void pool_free_into_wrong_pool(void *arg)
{
    (void)arg;
    void *a[1], *b[1];
    seal_pool *p = pool_with("config", a, 1, 100);
    pool_with("other", b, 1, 100);
    seal_pool_free(p, b[0]);
}

static void pool_free_cache_pointer(void *arg)
{
    (void)arg;
    void *a[1], *b[1];
    seal_pool *p = pool_with("config", a, 1, 100);
    cache_with("a-cache", b, 1);
    seal_pool_free(p, b[0]);
}

static void pool_realloc_foreign(void *arg)
{
    (void)arg;
    void *a[1];
    seal_pool *p = pool_with("config", a, 1, 100);
    seal_pool_realloc(p, malloc(10), 200);
}

static void pool_realloc_freed(void *arg)
{
    (void)arg;
    void *a[2];
    seal_pool *p = pool_with("config", a, 2, 100);
    seal_pool_free(p, a[0]);
    seal_pool_realloc(p, a[0], 200);
}

static void pool_alloc_after_destroy(void *arg)
{
    (void)arg;
    void *a[1];
    seal_pool *p = pool_with("config", a, 1, 100);
    seal_pool_destroy(p);
    seal_pool_alloc(p, 10);
}

static void pool_strdup_with_cache_handle(void *arg)
{
    (void)arg;
    seal_pool_strdup((seal_pool *)seal_cache_create("a-cache", 8, 0, 0), "x");
}

static void pool_misuse_aborts(void)
{
    const char *fn = "seal_pool_free(pool \"config\")";
    CHECK(aborts_with(pool_free_heap_pointer, fn, "not allocated by this pool"));
    CHECK(aborts_with(pool_free_interior_pointer, fn, "interior pointer"));
    CHECK(aborts_with(pool_free_interior_of_large, fn, "interior pointer"));
    CHECK(aborts_with(pool_double_free, fn, "double free"));
    CHECK(aborts_with(pool_double_free_sealed, fn, "double free"));
    CHECK(aborts_with(pool_double_free_large, fn, "config"));
    CHECK(aborts_with(pool_free_into_wrong_pool, fn, "pool \"other\" (wrong pool)"));
    CHECK(aborts_with(pool_free_cache_pointer, fn, "cache \"a-cache\""));
    CHECK(aborts_with(pool_realloc_foreign, "seal_pool_realloc(pool \"config\")", "not allocated"));
    CHECK(aborts_with(pool_realloc_freed, "seal_pool_realloc(pool \"config\")", "double free"));
    CHECK(aborts_with(pool_alloc_after_destroy, "seal_pool_alloc(pool \"config\")", "destroyed pool"));
    CHECK(aborts_with(pool_strdup_with_cache_handle, "seal_pool_strdup(pool", "not a pool handle"));
}

/* ---- provenance: require ------------------------------------------------ */

struct rules {
    long limit;
    char name[40];
};

static seal_cache *sealed_rules(struct rules **r, int n)
{
    seal_cache *c = seal_cache_create("rules", sizeof(struct rules), 0, 0);
    for (int i = 0; i < n; i++) {
        r[i] = seal_cache_alloc(c);
        r[i]->limit = 10 + i;
    }
    seal_cache_seal(c);
    return c;
}

static void require_forged_heap_copy(void *arg)
{
    (void)arg;
    struct rules *r[1];
    seal_cache *c = sealed_rules(r, 1);
    struct rules *forged = malloc(sizeof *forged);
    memcpy(forged, r[0], sizeof *forged);
    forged->limit = 1000000;
    seal_cache_require(c, forged);
}

static void require_unsealed(void *arg)
{
    (void)arg;
    struct rules *r[1];
    seal_cache *c = sealed_rules(r, 1);
    seal_cache_require(c, seal_cache_alloc(c));
}

static void require_interior(void *arg)
{
    (void)arg;
    struct rules *r[1];
    seal_cache *c = sealed_rules(r, 1);
    seal_cache_require(c, r[0]->name);
}

static void require_other_cache(void *arg)
{
    (void)arg;
    struct rules *r[1];
    seal_cache *c = sealed_rules(r, 1);
    seal_cache *other = seal_cache_create("other", sizeof(struct rules), 0, 0);
    void *o = seal_cache_alloc(other);
    seal_cache_seal(other);
    seal_cache_require(c, o);
}

static void require_freed(void *arg)
{
    (void)arg;
    struct rules *r[2];
    seal_cache *c = sealed_rules(r, 2);
    seal_cache_free(c, r[0]);
    seal_cache_require(c, r[0]);
}

static void pool_require_forged(void *arg)
{
    (void)arg;
    void *a[1];
    seal_pool *p = pool_with("config", a, 1, 64);
    seal_pool_seal(p);
    void *forged = malloc(64);
    memcpy(forged, a[0], 64);
    seal_pool_require(p, forged);
}

static void pool_require_unsealed(void *arg)
{
    (void)arg;
    void *a[1];
    seal_pool *p = pool_with("config", a, 1, 64);
    seal_pool_require(p, a[0]);
}

static void pool_require_interior(void *arg)
{
    (void)arg;
    void *a[1];
    seal_pool *p = pool_with("config", a, 1, 64);
    seal_pool_seal(p);
    seal_pool_require(p, (char *)a[0] + 1);
}

static void pool_require_other_pool(void *arg)
{
    (void)arg;
    void *a[1], *b[1];
    seal_pool *p = pool_with("config", a, 1, 64);
    seal_pool *q = pool_with("other", b, 1, 64);
    seal_pool_seal(p);
    seal_pool_seal(q);
    seal_pool_require(p, b[0]);
}

static void require_aborts(void)
{
    const char *fn = "seal_cache_require(cache \"rules\")";
    CHECK(aborts_with(require_forged_heap_copy, fn, "not a live object"));
    CHECK(aborts_with(require_unsealed, fn, "not sealed"));
    CHECK(aborts_with(require_interior, fn, "not a live object"));
    CHECK(aborts_with(require_other_cache, fn, "not a live object"));
    CHECK(aborts_with(require_freed, fn, "not a live object"));
    const char *pfn = "seal_pool_require(pool \"config\")";
    CHECK(aborts_with(pool_require_forged, pfn, "not a live allocation"));
    CHECK(aborts_with(pool_require_unsealed, pfn, "not sealed"));
    CHECK(aborts_with(pool_require_interior, pfn, "not a live allocation"));
    CHECK(aborts_with(pool_require_other_pool, pfn, "not a live allocation"));
}

/* The right uses of the same calls return normally. */
static void require_accepts_sealed_objects(void)
{
    struct rules *r[3];
    seal_cache *c = sealed_rules(r, 3);
    for (int i = 0; i < 3; i++)
        seal_cache_require(c, r[i]);
    seal_pool *p = seal_pool_create("config", 0);
    char *s = seal_pool_strdup(p, "x"), *l = seal_pool_alloc(p, 50000);
    seal_pool_seal(p);
    seal_pool_require(p, s);
    seal_pool_require(p, l);
    seal_pool_destroy(p);
    seal_cache_destroy(c);
    CHECK(1);
}

int main(void)
{
    RUN(cache_misuse_aborts);
    RUN(pool_misuse_aborts);
    RUN(require_aborts);
    RUN(require_accepts_sealed_objects);
    return check_exit();
}
