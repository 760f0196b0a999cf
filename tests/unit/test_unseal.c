/* SPDX-License-Identifier: MIT */
/*
 * test_unseal.c - seal_cache_unseal() and seal_pool_unseal(), the teardown
 * aid: a library-style free that stores into the objects it frees (as
 * protobuf-c's free_unpacked clears message->descriptor) faults on sealed
 * data and works after an unseal; seal -> unseal -> seal cycles with
 * objects allocated in between, each seal really read-only (a store in a
 * forked child faults, read(2) into it fails with EFAULT) and each unseal
 * really writable (a plain store here); frees after an unseal take the
 * open-slab path (the slot is reused, the slab stays); slots freed while
 * sealed come back zeroed; provenance checks follow the state; pools with
 * large allocations; write-rare owners through the cycle (under every
 * mechanism, the pkey one in the protection-key guest); a permanent owner
 * refused with EPERM and its pages still read-only; a failed mprotect
 * leaves nothing unsealed on a read-only page; the stats count unseals;
 * threads allocating and freeing through their magazines while another
 * seals and unseals (TSan runs this program).
 */
#include "check.h"
#include "os.h"
#include "probe.h"
#include "sealloc.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/syscall.h>

static void store_byte(void *p) { *(volatile char *)p = 1; }

/* A store into p faults (in a forked child), and the kernel refuses to
 * write there too. */
static bool sealed_hard(void *p)
{
    return expect_death(store_byte, p, SIGSEGV, NULL) && page_read_only(p) && seal_is_sealed(p) == 1;
}

/* A plain store here lands (read back), and nothing calls p sealed. */
static bool writable_now(void *p)
{
    volatile unsigned char *b = p;
    unsigned char old = b[0];
    b[0] = (unsigned char)(old ^ 0xff);
    bool ok = b[0] == (unsigned char)(old ^ 0xff);
    b[0] = old;
    return ok && seal_is_sealed(p) == 0;
}

/* ---- a library-style free that writes ------------------------------------ */

/* An unpacked message as protobuf-c lays it out: its free clears the
 * descriptor before it frees the fields and the message. */
struct message {
    const void *descriptor;
    char *name;
    size_t n_items;
    long *items;
};

static const int message_descriptor = 1;

static struct message *unpack(seal_pool *p, const char *name, size_t n)
{
    struct message *m = seal_pool_alloc(p, sizeof *m);
    m->descriptor = &message_descriptor;
    m->name = seal_pool_strdup(p, name);
    m->n_items = n;
    m->items = seal_pool_alloc(p, n * sizeof *m->items);
    for (size_t i = 0; i < n; i++)
        m->items[i] = (long)i;
    return m;
}

static void free_unpacked(seal_pool *p, struct message *m)
{
    m->descriptor = NULL; /* the store that needs writable memory */
    seal_pool_free(p, m->items);
    seal_pool_free(p, m->name);
    seal_pool_free(p, m);
}

struct teardown {
    seal_pool *p;
    struct message *m;
};

static void free_sealed_message(void *arg)
{
    struct teardown *t = arg;
    free_unpacked(t->p, t->m);
}

static void library_free_that_writes(void)
{
    seal_pool *p = seal_pool_create("unpacked", 0);
    struct message *m = unpack(p, "policy", 5000); /* items: a large allocation */
    CHECK(seal_pool_seal(p) == 0);
    struct teardown t = {p, m};
    CHECK(expect_death(free_sealed_message, &t, SIGSEGV, NULL));
    CHECK(seal_pool_unseal(p) == 0);
    free_unpacked(p, m);
    struct seal_stats s;
    CHECK(seal_pool_stats(p, &s) == 0 && s.live == 0 && s.sealed == 0 && s.sealed_bytes == 0);
    seal_pool_destroy(p);
}

/* ---- cycles -------------------------------------------------------------- */

static void require_cache(void *arg)
{
    void **a = arg;
    seal_cache_require(a[0], a[1]);
}

#define PER_ROUND 300 /* 256-byte objects: more than a slab of them */

static void cache_cycles(void)
{
    seal_cache *c = seal_cache_create("cycles", 256, 0, 0);
    char *objs[3 * PER_ROUND];
    int n = 0;
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < PER_ROUND; i++) {
            objs[n] = seal_cache_alloc(c);
            snprintf(objs[n], 64, "object %d", n);
            n++;
        }
        CHECK(seal_cache_seal(c) == 0);
        for (int i = 0; i < n; i += 97) {
            CHECK(sealed_hard(objs[i]));
            seal_cache_require(c, objs[i]);
        }
        /* Freed while sealed: its bytes stay (a sealed free never writes). */
        char *gone = objs[--n];
        seal_cache_free(c, gone);
        CHECK(seal_cache_unseal(c) == 0);
        for (int i = 0; i < n; i++) {
            char want[64];
            snprintf(want, sizeof want, "object %d", i);
            CHECK(strcmp(objs[i], want) == 0);
        }
        for (int i = 0; i < n; i += 97) {
            CHECK(writable_now(objs[i]));
            void *args[2] = {c, objs[i]};
            CHECK(expect_death(require_cache, args, SIGABRT, "not sealed"));
        }
        /* The slot freed while sealed is free and zeroed again: the ordinary
         * path hands out zero-filled slots (and the next seal's census finds
         * every free slot zeroed). */
        CHECK(seal_cache_owns(c, gone) == 0);
    }
    for (int i = 0; i < n; i++) {
        char want[64];
        snprintf(want, sizeof want, "object %d", i);
        CHECK(strcmp(objs[i], want) == 0);
    }
    for (int i = 0; i < n; i++)
        seal_cache_free(c, objs[i]);
    struct seal_stats s;
    CHECK(seal_cache_stats(c, &s) == 0 && s.live == 0 && s.seals == 3 && s.unseals == 3);
    seal_cache_destroy(c);
}

/* After an unseal a free takes the open-slab path: the slab stays and the
 * slot is handed out again (a sealed free would have reclaimed the slab);
 * a slot freed while sealed comes back zero-filled. */
static void frees_after_unseal_take_the_open_path(void)
{
    seal_cache *c = seal_cache_create("open-path", 512, 0, 0);
    char *a = seal_cache_alloc(c), *b = seal_cache_alloc(c);
    memset(a, 0xa5, 512);
    memset(b, 0x5a, 512);
    CHECK(seal_cache_seal(c) == 0);
    seal_cache_free(c, b); /* sealed: b keeps its bytes */
    CHECK(seal_cache_unseal(c) == 0);
    struct seal_stats before, after;
    CHECK(seal_cache_stats(c, &before) == 0 && before.spans == 1 && before.live == 1);
    seal_cache_free(c, a);
    CHECK(seal_cache_stats(c, &after) == 0 && after.spans == 1 && after.live == 0 &&
          after.committed_bytes == before.committed_bytes);
    bool saw_a = false, saw_b = false;
    for (int i = 0; i < 4; i++) {
        unsigned char *p = seal_cache_alloc(c);
        bool zero = p[0] == 0 && memcmp(p, p + 1, 511) == 0;
        CHECK(zero);
        saw_a |= (char *)p == a;
        saw_b |= (char *)p == b;
    }
    CHECK(saw_a && saw_b);
    CHECK(seal_cache_seal(c) == 0); /* the census finds every free slot zeroed */
    seal_cache_destroy(c);
}

static void require_pool(void *arg)
{
    void **a = arg;
    seal_pool_require(a[0], a[1]);
}

static void pool_cycles_with_large_allocations(void)
{
    seal_pool *p = seal_pool_create("pool-cycles", 0);
    const size_t sizes[] = {1, 24, 300, 4000, 20000, 1 << 20};
    enum { N = sizeof sizes / sizeof sizes[0] };
    unsigned char *objs[3 * N];
    size_t size[3 * N];
    int n = 0;
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < N; i++, n++) {
            objs[n] = seal_pool_alloc(p, size[n] = sizes[i]);
            memset(objs[n], n + 1, size[n]);
        }
        CHECK(seal_pool_seal(p) == 0);
        for (int i = 0; i < n; i++) {
            CHECK(sealed_hard(objs[i]));
            seal_pool_require(p, objs[i]);
        }
        CHECK(seal_pool_unseal(p) == 0);
        for (int i = 0; i < n; i++) {
            CHECK(objs[i][0] == i + 1 && objs[i][size[i] - 1] == i + 1);
            CHECK(writable_now(objs[i]) && writable_now(objs[i] + size[i] - 1));
            void *args[2] = {p, objs[i]};
            if (i % N == 0 || i % N == N - 1)
                CHECK(expect_death(require_pool, args, SIGABRT, "not sealed"));
        }
        /* realloc in place again, as for any unsealed allocation */
        CHECK(seal_pool_realloc(p, objs[n - N + 1], size[n - N + 1] = 20) == objs[n - N + 1]);
    }
    struct seal_stats s;
    CHECK(seal_pool_stats(p, &s) == 0 && s.sealed == 0 && s.sealed_bytes == 0 && s.seals == 3 &&
          s.unseals == 3 && s.live == (uint64_t)n);
    for (int i = 0; i < n; i++)
        seal_pool_free(p, objs[i]);
    CHECK(seal_pool_stats(p, &s) == 0 && s.live == 0);
    seal_pool_destroy(p);
}

/* ---- write-rare owners -------------------------------------------------- */

static void write_rare_through_the_cycle(void)
{
    if (strcmp(seal_write_rare_mechanism(), "none") == 0)
        SKIP("no write-rare mechanism here");
    seal_cache *c = seal_cache_create("wr-cycle", 32, 0, SEAL_WRITE_RARE);
    seal_pool *p = seal_pool_create("wr-cycle", SEAL_WRITE_RARE);
    long *o = seal_cache_alloc(c), *q = seal_pool_alloc(p, 64), *big = seal_pool_alloc(p, 100000);
    for (int round = 0; round < 2; round++) {
        CHECK(seal_cache_seal(c) == 0 && seal_pool_seal(p) == 0);
        CHECK(sealed_hard(o) && sealed_hard(q) && sealed_hard(big));
        CHECK(SEAL_ASSIGN(o[1], 10L + round) == 0 && o[1] == 10 + round);
        CHECK(seal_write(&q[2], &(long){20L + round}, sizeof(long)) == 0 && q[2] == 20 + round);
        CHECK(seal_memset(big, round + 1, 100000) == 0 && ((unsigned char *)big)[99999] == round + 1);
        CHECK(seal_cache_unseal(c) == 0 && seal_pool_unseal(p) == 0);
        /* Plain stores land in this thread: under the pkey mechanism the
         * pages carry the default key again. */
        CHECK(writable_now(o) && writable_now(q) && writable_now(big));
        CHECK(writable_now((char *)big + 99999));
        o[0] = q[0] = big[0] = 7;
        CHECK(SEAL_ASSIGN(o[2], 3L) == 0 && o[2] == 3); /* unsealed: written directly */
        o = seal_cache_alloc(c); /* a new one each round */
    }
    CHECK(seal_cache_seal(c) == 0 && seal_pool_seal(p) == 0);
    CHECK(sealed_hard(o) && sealed_hard(q) && q[0] == 7 && q[2] == 21);
    seal_cache_destroy(c);
    seal_pool_destroy(p);
}

/* ---- threads ------------------------------------------------------------ */

struct churn {
    seal_cache *c;
    int bad; /* allocations that were not zero-filled */
};

/* Allocate, check the zero fill (reads only: a seal may cover the object
 * at any moment), free; in batches, so that frees meet sealed, unsealed
 * and open slabs. */
static void *churn(void *arg)
{
    struct churn *w = arg;
    unsigned char *held[64];
    for (int round = 0; round < 200; round++) {
        for (int i = 0; i < 64; i++) {
            held[i] = seal_cache_alloc(w->c);
            w->bad += held[i][0] != 0 || memcmp(held[i], held[i] + 1, 95) != 0;
        }
        for (int i = 0; i < 64; i++)
            seal_cache_free(w->c, held[i]);
    }
    return NULL;
}

static void unseal_while_threads_allocate_and_free(void)
{
    SKIP_UNDER_VALGRIND();
    seal_cache *c = seal_cache_create("unseal-threads", 96, 0, 0);
    char *mine = seal_cache_alloc(c);
    strcpy(mine, "kept");
    struct churn w[2] = {{c, 0}, {c, 0}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, churn, &w[i]);
    for (int i = 0; i < 100; i++) {
        CHECK(seal_cache_seal(c) == 0 && seal_is_sealed(mine) == 1);
        CHECK(seal_cache_unseal(c) == 0 && seal_is_sealed(mine) == 0);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    CHECK(w[0].bad == 0 && w[1].bad == 0);
    CHECK(strcmp(mine, "kept") == 0 && writable_now(mine));
    seal_cache_free(c, mine);
    struct seal_stats s;
    CHECK(seal_cache_stats(c, &s) == 0 && s.live == 0 && s.seals == 100 && s.unseals == 100);
    seal_cache_destroy(c);
}

/* ---- refusals, failures, stats ------------------------------------------ */

static void permanent_owners_refuse(void)
{
    if (syscall(462, 0, 0, 0) != 0)
        SKIP("kernel without mseal(2)");
    seal_cache *c = seal_cache_create("perm-unseal", 128, 0, SEAL_PERMANENT);
    seal_pool *p = seal_pool_create("perm-unseal", SEAL_PERMANENT);
    char *o = seal_cache_alloc(c), *q = seal_pool_alloc(p, 100), *big = seal_pool_alloc(p, 50000);
    CHECK(seal_cache_seal(c) == 0 && seal_pool_seal(p) == 0);
    errno = 0;
    CHECK(seal_cache_unseal(c) == -1 && errno == EPERM);
    errno = 0;
    CHECK(seal_pool_unseal(p) == -1 && errno == EPERM);
    CHECK(sealed_hard(o) && sealed_hard(q) && sealed_hard(big));
    seal_cache_require(c, o);
    seal_pool_require(p, big);
    struct seal_stats s;
    CHECK(seal_cache_stats(c, &s) == 0 && s.unseals == 0 && s.sealed == 1);
    seal_cache_destroy(c);
    seal_pool_destroy(p);
}

static void null_is_einval(void)
{
    errno = 0;
    CHECK(seal_cache_unseal(NULL) == -1 && errno == EINVAL);
    errno = 0;
    CHECK(seal_pool_unseal(NULL) == -1 && errno == EINVAL);
}

/* An unseal whose mprotect fails: the spans stay sealed and read-only
 * (never OPEN on read-only pages), and a retry unseals them. */
static void failed_mprotect_leaves_spans_sealed(void)
{
    seal_cache *c = seal_cache_create("unseal-fails", 256, 0, 0);
    char *o = seal_cache_alloc(c);
    strcpy(o, "kept");
    CHECK(seal_cache_seal(c) == 0);
    /* The unseal's os calls: the control pages' open (retried once inside,
     * so an injected failure there is absorbed), the data's mprotect, the
     * close. The second one fails. */
    sl_os_inject_failure(2);
    errno = 0;
    int rc = seal_cache_unseal(c);
    sl_os_inject_failure(0);
    CHECK(rc == -1 && errno == ENOMEM);
    CHECK(sealed_hard(o) && strcmp(o, "kept") == 0);
    seal_cache_require(c, o);
    struct seal_stats s;
    CHECK(seal_cache_stats(c, &s) == 0 && s.sealed == 1 && s.unseals == 0);
    CHECK(seal_cache_unseal(c) == 0 && writable_now(o));
    CHECK(seal_cache_stats(c, &s) == 0 && s.sealed == 0 && s.unseals == 1);
    seal_cache_destroy(c);
}

static void unseal_without_seal_is_harmless(void)
{
    seal_cache *c = seal_cache_create("never-sealed", 16, 0, 0);
    char *o = seal_cache_alloc(c);
    CHECK(seal_cache_unseal(c) == 0 && writable_now(o));
    struct seal_stats s;
    CHECK(seal_cache_stats(c, &s) == 0 && s.version == SEAL_STATS_VERSION && s.version >= 2 &&
          s.unseals == 1 && s.seals == 0 && s.live == 1);
    seal_cache_destroy(c);
}

int main(void)
{
    RUN(library_free_that_writes);
    RUN(cache_cycles);
    RUN(frees_after_unseal_take_the_open_path);
    RUN(pool_cycles_with_large_allocations);
    RUN(write_rare_through_the_cycle);
    RUN(unseal_while_threads_allocate_and_free);
    RUN(permanent_owners_refuse);
    RUN(null_is_einval);
    RUN(failed_mprotect_leaves_spans_sealed);
    RUN(unseal_without_seal_is_harmless);
    return check_exit();
}
