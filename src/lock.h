/* SPDX-License-Identifier: MIT */
/*
 * lock.h - the library's mutexes, taken so that a forged lock ends in a
 * report instead of a wait forever.
 *
 * A mutex must be writable to be taken, so every lock of the library lives
 * in memory the data-only attacker of README "Security" can write: in .bss
 * (the globals, owners-list, registry and fault-handler locks) or in an
 * owner's state page (its lock). A lock word forged "held" would make
 * pthread_mutex_lock() wait forever, and a forged kind makes pthread
 * return an error that would go unnoticed.
 *
 * sl_lock() takes the lock at once when it is free (the cost of
 * pthread_mutex_lock()). Otherwise it waits in rounds of one second; after
 * each, it reads the holder that glibc records in the mutex. A holder that
 * is the calling thread, or no thread of this process, for two rounds in a
 * row, is forged: nothing in the library holds a lock across a call that
 * could take it again, and a thread that ends holds none. That ends in
 * "sealloc: <what>(...): corrupted metadata". So does any error pthread
 * returns. A forged holder that names another live thread cannot be told
 * from a slow one: the wait goes on (README "What remains possible").
 *
 * what names the lock in the report; who is its owner, or NULL for a lock
 * of the whole process. Nothing here allocates.
 *
 * The library also spins on two kinds of writable state until another
 * thread leaves a short section: the registry's reader count and a
 * magazine's busy flag. Forged, either would hold the spin forever.
 * sl_spin() yields once per call and says when the wait has lasted more
 * than SL_PATIENCE_S seconds, far beyond any such section (they last
 * microseconds); the caller then reports the state as corrupted.
 */
#ifndef SEALLOC_LOCK_H
#define SEALLOC_LOCK_H

#include "report.h"

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#define SL_PATIENCE_S 2

struct sl_spin {
    unsigned spins;
    time_t since;
};

void sl_lock(pthread_mutex_t *m, const struct sl_who *who, const char *what);
void sl_unlock(pthread_mutex_t *m, const struct sl_who *who, const char *what);

/* In a fork child (one thread): m, which the forking thread held, is free
 * again. An unlock, or where a forged recursive or error-checking kind
 * refuses it (the child's thread is not the holder glibc recorded), a
 * fresh mutex. */
void sl_lock_reset(pthread_mutex_t *m);

/* One round of a spin-wait (start from {0}): true once it has lasted more
 * than SL_PATIENCE_S seconds. */
bool sl_spin(struct sl_spin *s);

#endif
