/*
 * registry.c - the process-wide address -> arena table (see registry.h).
 *
 * Invariants: entries are sorted by base and do not overlap; `count` and
 * the entries change only with `seq` odd and the table writable, under
 * `lock`; the table is read-only whenever `seq` is even.
 */
#include "registry.h"

#include "guard.h"
#include "os.h"
#include "sanitize.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#define REGISTRY_CAPACITY 65536 /* above vm.max_map_count: never the limit */

struct entry {
    uintptr_t base, end;
    struct sl_arena *arena; /* NULL: pinned remnant of a destroyed owner */
};

struct table {
    _Atomic size_t count;
    struct entry e[REGISTRY_CAPACITY];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct table *_Atomic table;
static _Atomic unsigned long seq;
static _Atomic long readers;
static _Atomic int draining; /* registry_remove() waiting for readers */

/* While a removal waits for the readers to drain, new readers hold back a
 * little, so a steady stream of lookups cannot starve it; the wait is
 * bounded (a signal handler may interrupt the remover's own thread). */
void registry_enter(void)
{
    for (int spins = 0; spins < 64 && atomic_load_explicit(&draining, memory_order_relaxed); spins++)
        sched_yield();
    atomic_fetch_add(&readers, 1);
}

void registry_exit(void) { atomic_fetch_sub(&readers, 1); }

static size_t table_bytes(void)
{
    size_t pg = sl_os_page_size();
    return (sizeof(struct table) + pg - 1) / pg * pg;
}

/* Make the table writable and the sequence odd; -1 + errno on failure. */
static int begin_change(void)
{
    struct table *t = atomic_load(&table);
    if (t == NULL) {
        t = sl_os_reserve(table_bytes(), -1);
        if (t == NULL)
            return -1;
        atomic_store(&table, t);
    }
    if (sl_os_commit(t, table_bytes()) != 0)
        return -1;
    atomic_fetch_add_explicit(&seq, 1, memory_order_acq_rel);
    return 0;
}

static void end_change(void)
{
    atomic_fetch_add_explicit(&seq, 1, memory_order_acq_rel);
    /* The table is one mapping: making it read-only splits nothing. A
     * failure (only injected ones are plausible) is retried once, then is
     * fatal, since a writable root of trust must not be left behind. */
    struct table *t = atomic_load(&table);
    if (sl_os_protect_ro(t, table_bytes()) != 0 && sl_os_protect_ro(t, table_bytes()) != 0)
        sl_fatal("registry", "process", "-", "cannot make the registry read-only");
}

SL_RACY_READER struct sl_arena *registry_find(uintptr_t addr, bool *pinned)
{
    struct table *t = atomic_load_explicit(&table, memory_order_acquire);
    *pinned = false;
    if (t == NULL)
        return NULL;
    for (int tries = 0; tries < 1000; tries++) {
        unsigned long s1 = atomic_load_explicit(&seq, memory_order_acquire);
        if (s1 & 1) {
            sched_yield();
            continue;
        }
        size_t lo = 0, hi = atomic_load_explicit(&t->count, memory_order_relaxed);
        struct entry found = {0, 0, NULL};
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            struct entry e = t->e[mid];
            if (addr < e.base)
                hi = mid;
            else if (addr >= e.end)
                lo = mid + 1;
            else {
                found = e;
                break;
            }
        }
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&seq, memory_order_relaxed) != s1)
            continue;
        *pinned = found.end != 0 && found.arena == NULL;
        return found.arena;
    }
    return NULL;
}

int registry_add(uintptr_t base, size_t size, struct sl_arena *arena)
{
    pthread_mutex_lock(&lock);
    if (begin_change() != 0) {
        pthread_mutex_unlock(&lock);
        return -1;
    }
    struct table *t = atomic_load(&table);
    size_t n = atomic_load(&t->count);
    int rc = 0;
    if (n == REGISTRY_CAPACITY) {
        errno = ENOMEM;
        rc = -1;
    } else {
        size_t i = n;
        while (i > 0 && t->e[i - 1].base > base) {
            t->e[i] = t->e[i - 1];
            i--;
        }
        t->e[i] = (struct entry){base, base + size, arena};
        atomic_store(&t->count, n + 1);
    }
    end_change();
    pthread_mutex_unlock(&lock);
    return rc;
}

void registry_remove(struct sl_arena *arena)
{
    pthread_mutex_lock(&lock);
    if (begin_change() != 0 && begin_change() != 0)
        sl_fatal("registry", "process", "-", "cannot make the registry writable");
    struct table *t = atomic_load(&table);
    size_t n = atomic_load(&t->count), j = 0;
    for (size_t i = 0; i < n; i++)
        if (t->e[i].arena != arena || arena == NULL)
            t->e[j++] = t->e[i];
    atomic_store(&t->count, j);
    end_change();
    pthread_mutex_unlock(&lock);
    atomic_fetch_add(&draining, 1);
    while (atomic_load(&readers) != 0)
        sched_yield();
    atomic_fetch_sub(&draining, 1);
}

void registry_lock_for_fork(void) { pthread_mutex_lock(&lock); }
void registry_unlock_after_fork(void) { pthread_mutex_unlock(&lock); }

void registry_child_after_fork(void)
{
    atomic_store(&readers, 0); /* only the forking thread lives on, outside */
    atomic_store(&draining, 0);
    pthread_mutex_unlock(&lock);
}
