/* SPDX-License-Identifier: MIT */
/*
 * reload.c - policy reload: build a new policy in a new write-rare pool,
 * seal it, publish it into a sealed root with seal_write_ptr(), and destroy
 * the old pool once no reader uses it.
 *
 * Usage: reload POLICY-A POLICY-B   (reloads alternate between the two)
 *
 * How readers are tracked: hazard pointers. Each reader thread owns one slot
 * (ordinary writable memory, outside the sealed data); before using a policy
 * it stores the policy's address there (seq_cst), then re-reads the root:
 * if the root still points there, the policy stays alive until the slot is
 * cleared. The writer publishes the new policy with seal_write_ptr(), then
 * reads every slot with an atomic read-modify-write, which always returns
 * the latest value: either it sees the reader's slot, or the reader's
 * re-read comes after it and returns the new policy (the locked RMW orders
 * the earlier publication before it). It waits until no slot holds the old
 * policy, and only then destroys the old pool: a slow reader never sees
 * freed memory, a late one sees the new policy. Readers also run
 * seal_pool_require() on every policy they use: it aborts unless the
 * policy is live and sealed.
 */
#include "policy.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#define READERS 2
#define RELOADS 4
#define MAIN_SLOT READERS /* main() reads the policy too */

struct root {
    _Atomic(struct policy *) current; /* written only by seal_write_ptr() */
};

static struct root *root;
static const struct dispatch *table;
static atomic_uintptr_t hazard[READERS + 1]; /* a struct policy *, or 0 */
static atomic_ulong lookups[READERS];
static atomic_bool stop;

static struct policy *reader_enter(int id)
{
    struct policy *p;
    do {
        p = atomic_load_explicit(&root->current, memory_order_acquire);
        atomic_store(&hazard[id], (uintptr_t)p);
    } while (p != atomic_load(&root->current));
    seal_pool_require(p->pool, p);
    return p;
}

static void reader_exit(int id)
{
    atomic_store_explicit(&hazard[id], 0, memory_order_release);
}

static void *reader(void *arg)
{
    int id = (int)(intptr_t)arg;
    while (!atomic_load(&stop)) {
        const struct policy *p = reader_enter(id);
        policy_decide(p, table, "alice", "/srv/www/index.html");
        reader_exit(id);
        atomic_fetch_add(&lookups[id], 1);
    }
    return NULL;
}

/* Publish next, wait for every reader to let go of the old policy, free it.
 * The readers' counters must move on, so each has run on the new root. */
static void publish(struct policy *next)
{
    struct policy *old = atomic_load(&root->current);
    unsigned long before[READERS];
    for (int i = 0; i < READERS; i++)
        before[i] = atomic_load(&lookups[i]);
    if (seal_write_ptr(&root->current, next) != 0)
        perror("seal_write_ptr"), exit(1);
    for (int i = 0; i <= MAIN_SLOT; i++)
        while (atomic_fetch_or(&hazard[i], 0) == (uintptr_t)old ||
               (i < READERS && atomic_load(&lookups[i]) <= before[i] + 1))
            sched_yield();
    printf("  hazard slots: no reader holds %s any more; destroying its pool\n", old->source);
    policy_destroy(old);
    printf("  the old policy's memory is gone: seal_is_sealed(old) = %d\n", seal_is_sealed(old));
}

int main(int argc, char **argv)
{
    if (argc != 3)
        return fprintf(stderr, "usage: %s POLICY-A POLICY-B\n", argv[0]), 2;
    seal_cache *rc = seal_cache_create("policy_root", sizeof *root, 0, SEAL_WRITE_RARE);
    seal_cache *dc = seal_cache_create("dispatch", sizeof *table, 0, 0);
    struct policy *first = policy_load(argv[1], "policy-v1", SEAL_WRITE_RARE);
    if (!rc || !dc || !first || !(root = seal_cache_alloc(rc)) || !(table = dispatch_create(dc)))
        return perror("setup"), 1;
    atomic_init(&root->current, first);
    if (policy_seal(first) || seal_cache_seal(rc) || seal_cache_seal(dc))
        return perror("seal"), 1;
    printf("reload: v1 = %s (%zu rules), sealed; root sealed: %d; %d reader threads\n",
           first->source, first->n, seal_is_sealed(root), READERS);
    pthread_t t[READERS];
    for (int i = 0; i < READERS; i++)
        pthread_create(&t[i], NULL, reader, (void *)(intptr_t)i);

    for (int v = 2; v <= RELOADS + 1; v++) {
        char name[32];
        snprintf(name, sizeof name, "policy-v%d", v);
        struct policy *next = policy_load(argv[v % 2 ? 1 : 2], name, SEAL_WRITE_RARE);
        if (!next || policy_seal(next) != 0)
            return perror("reload"), 1;
        printf("reload %d: %s (%zu rules) in pool \"%s\", sealed, published\n", v - 1,
               next->source, next->n, name);
        publish(next);
        struct policy *now = reader_enter(MAIN_SLOT);
        printf("  alice /srv/www/index.html -> %s\n",
               policy_decide(now, table, "alice", "/srv/www/index.html"));
        reader_exit(MAIN_SLOT);
    }
    atomic_store(&stop, true);
    unsigned long total = 0;
    for (int i = 0; i < READERS; i++) {
        pthread_join(t[i], NULL);
        total += atomic_load(&lookups[i]);
    }
    printf("readers: %lu lookups, every one on a live, sealed policy\n", total);
    policy_destroy(atomic_load(&root->current));
    seal_cache_destroy(rc);
    seal_cache_destroy(dc);
    return 0;
}
