/* SPDX-License-Identifier: MIT */
/*
 * registry.c - the process-wide address -> arena table (see registry.h).
 *
 * Two tables, each a sorted array of non-overlapping entries in a mapping
 * of its own. Both mappings and the choice of the active one are recorded
 * in the read-only globals (meta.h), so no writable byte can point a
 * reader at a forged table or a writer at a page that is not a table.
 * Readers use the active one, which nobody changes while it is active. A
 * writer (under `lock`) waits until no reader is inside, makes the other
 * table writable, fills it with the active entries plus or minus its
 * change, makes it read-only again and publishes it. So a reader never
 * retries and never waits for a writer, even a signal handler that
 * interrupted the writer's own thread mid-change: that is what makes
 * registry_find() async-signal-safe.
 */
#include "registry.h"

#include "lock.h"
#include "meta.h"
#include "os.h"
#include "report.h"
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
    size_t count;
    struct entry e[REGISTRY_CAPACITY];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic long readers;
static _Atomic int draining; /* a writer waiting for readers */

/* While a writer waits for the readers to drain, new readers hold back a
 * little, so a steady stream of lookups cannot starve it; the wait is
 * bounded (a signal handler may interrupt the writer's own thread). */
void registry_enter(void)
{
    for (int spins = 0; spins < 64 && atomic_load_explicit(&draining, memory_order_relaxed); spins++)
        sched_yield();
    atomic_fetch_add(&readers, 1);
}

void registry_exit(void) { atomic_fetch_sub(&readers, 1); }

/* A reader stays inside for one lookup (microseconds); the count is
 * writable, so one that never drops is taken for a forged count: abort
 * rather than wait forever (lock.h). */
static void wait_for_readers(void)
{
    atomic_fetch_add(&draining, 1);
    struct sl_spin wait = {0};
    while (atomic_load(&readers) != 0)
        if (sl_spin(&wait))
            sl_fatal("registry", "process", "-", "corrupted metadata: %ld readers that never leave",
                     (long)atomic_load(&readers));
    atomic_fetch_sub(&draining, 1);
}

static size_t table_bytes(void)
{
    size_t pg = sl_os_page_size();
    return (sizeof(struct table) + pg - 1) / pg * pg;
}

static const struct table *active(void)
{
    return __atomic_load_n(&SL_G->registry_active, __ATOMIC_ACQUIRE);
}

/* The inactive table, writable and free of readers; NULL + errno. */
static struct table *begin_change(void)
{
    for (int i = 0; i < 2; i++) {
        if (SL_G->registry_tables[i] != NULL)
            continue;
        void *t = sl_os_reserve(table_bytes(), -1);
        if (t == NULL)
            return NULL;
        meta_globals_begin()->registry_tables[i] = t;
        meta_globals_end();
    }
    struct table *next = SL_G->registry_tables[active() == SL_G->registry_tables[0]];
    wait_for_readers(); /* some may still read `next` from before the last switch */
    if (sl_os_commit(next, table_bytes()) != 0)
        return NULL;
    return next;
}

static void publish(struct table *next)
{
    /* The table is one mapping: making it read-only splits nothing. A
     * failure (only injected ones are plausible) is fatal, since a
     * writable root of trust must not be left behind. */
    meta_close(next, table_bytes());
    struct sl_globals *g = meta_globals_begin();
    __atomic_store_n(&g->registry_active, next, __ATOMIC_RELEASE);
    meta_globals_end();
}

SL_RACY_READER struct sl_arena *registry_find(uintptr_t addr, bool *pinned)
{
    const struct table *t = active();
    *pinned = false;
    if (t == NULL)
        return NULL;
    size_t lo = 0, hi = t->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct entry *e = &t->e[mid];
        if (addr < e->base) {
            hi = mid;
        } else if (addr >= e->end) {
            lo = mid + 1;
        } else {
            *pinned = e->arena == NULL;
            return e->arena;
        }
    }
    return NULL;
}

static size_t active_count(void)
{
    const struct table *t = active();
    return t == NULL ? 0 : t->count;
}

int registry_add(uintptr_t base, size_t size, struct sl_arena *arena)
{
    sl_lock(&lock, NULL, "registry lock");
    int rc = -1;
    struct table *next = NULL;
    if (active_count() == REGISTRY_CAPACITY)
        errno = ENOMEM;
    else if ((next = begin_change()) != NULL) {
        const struct table *cur = active();
        size_t n = active_count(), j = 0;
        bool placed = false;
        for (size_t i = 0; i < n; i++) {
            if (!placed && cur->e[i].base > base) {
                next->e[j++] = (struct entry){base, base + size, arena};
                placed = true;
            }
            next->e[j++] = cur->e[i];
        }
        if (!placed)
            next->e[j++] = (struct entry){base, base + size, arena};
        next->count = j;
        publish(next);
        rc = 0;
    }
    sl_unlock(&lock, NULL, "registry lock");
    return rc;
}

void registry_remove(struct sl_arena *arena)
{
    sl_lock(&lock, NULL, "registry lock");
    struct table *next = begin_change();
    if (next == NULL && (next = begin_change()) == NULL)
        sl_fatal("registry", "process", "-", "cannot make the registry writable");
    const struct table *cur = active();
    size_t n = active_count(), j = 0;
    for (size_t i = 0; i < n; i++)
        if (cur->e[i].arena != arena || arena == NULL)
            next->e[j++] = cur->e[i];
    next->count = j;
    publish(next);
    sl_unlock(&lock, NULL, "registry lock");
    wait_for_readers(); /* nobody may still hold the arena just removed */
}

void registry_lock_for_fork(void) { sl_lock(&lock, NULL, "registry lock"); }
void registry_unlock_after_fork(void) { sl_unlock(&lock, NULL, "registry lock"); }

void registry_child_after_fork(void)
{
    atomic_store(&readers, 0); /* only the forking thread lives on, outside */
    atomic_store(&draining, 0);
    sl_lock_reset(&lock);
}
