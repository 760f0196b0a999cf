/* SPDX-License-Identifier: MIT */
/*
 * lock.c - checked mutexes (lock.h): a wait in rounds, and a look at the
 * holder glibc records (pthread_mutex_t.__data.__owner, its thread id)
 * after each round.
 */
#include "lock.h"

#include "os.h"

#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define ROUND_S 1
#define STRIKES 2 /* rounds in a row with an impossible holder */

__attribute__((noreturn, cold, format(printf, 3, 4)))
static void corrupted(const struct sl_who *who, const char *what, const char *fmt, ...);

static void corrupted(const struct sl_who *who, const char *what, const char *fmt, ...)
{
    char why[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    sl_fatal(what, who != NULL ? who->kind : "process", who != NULL ? who->name : "-",
             "corrupted metadata: %s", why);
}

/* The thread glibc says holds m, or 0 where the C library records none. */
static pid_t holder(pthread_mutex_t *m)
{
#ifdef __GLIBC__
    return __atomic_load_n(&m->__data.__owner, __ATOMIC_RELAXED);
#else
    (void)m;
    return 0;
#endif
}

static bool holder_impossible(pid_t tid)
{
#ifdef __GLIBC__
    return tid <= 0 || tid == sl_os_thread_id() || !sl_os_thread_alive(tid);
#else
    (void)tid;
    return false; /* nothing to go by: wait */
#endif
}

void sl_lock(pthread_mutex_t *m, const struct sl_who *who, const char *what)
{
    int rc = pthread_mutex_trylock(m);
    for (int strikes = 0; rc == EBUSY || rc == ETIMEDOUT;) {
        if (rc == ETIMEDOUT) {
            pid_t tid = holder(m);
            strikes = holder_impossible(tid) ? strikes + 1 : 0;
            if (strikes == STRIKES)
                corrupted(who, what, "lock held by thread %d, %s", (int)tid,
                          tid == sl_os_thread_id() ? "the caller itself"
                                                   : "no thread of this process");
        }
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += ROUND_S;
        rc = pthread_mutex_timedlock(m, &until);
    }
    if (rc != 0)
        corrupted(who, what, "locking failed: %s", strerror(rc));
}

bool sl_spin(struct sl_spin *s)
{
    sched_yield();
    if (s->spins++ % 4096 != 0)
        return false;
    time_t now = time(NULL);
    if (s->since == 0)
        s->since = now;
    return now - s->since > SL_PATIENCE_S;
}

void sl_lock_reset(pthread_mutex_t *m)
{
    if (pthread_mutex_unlock(m) != 0)
        pthread_mutex_init(m, NULL);
}

void sl_unlock(pthread_mutex_t *m, const struct sl_who *who, const char *what)
{
    int rc = pthread_mutex_unlock(m);
    if (rc != 0)
        corrupted(who, what, "unlocking failed: %s", strerror(rc));
}
