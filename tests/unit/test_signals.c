/* SPDX-License-Identifier: MIT */
/*
 * test_signals.c - seal_is_sealed() and the fault handler's lookup are
 * async-signal-safe: a timer signal (SIGALRM 20 us after the previous
 * handler returned, so the main thread always makes progress) interrupts the main thread at any point of alloc, seal, free, create and
 * destroy (possibly holding an
 * owner, registry or list lock) and asks seal_is_sealed() about objects
 * whose state the main thread published: the answers must be right and
 * nothing may deadlock. Then a store into sealed memory made from the
 * signal handler must be attributed by the fault handler (one line naming
 * the cache) and die of SIGSEGV, wherever the main thread was.
 *
 * Finding: when the signal interrupts a registry change of the same
 * thread (an arena added or removed), the lock-free lookup waits for a
 * change that cannot finish, gives up after 1000 retries and answers "not
 * sealed" (and the fault goes unattributed).
 *
 * The loops end after a number of signals handled, not after a time; the
 * parent gives each child a generous deadline only to report a deadlock
 * instead of hanging.
 */
#include "check.h"
#include "sealloc.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/time.h>
#include <time.h>

#define TICKS 2000      /* signals the handler must have seen */
#define DEADLINE 60     /* seconds before a child counts as deadlocked */

static void *volatile sealed_probe, *volatile open_probe;
static void *anchor; /* sealed for the whole run, in a cache of its own */
static timer_t tick_timer;

static void arm(long ns)
{
    struct itimerspec next = {{0, 0}, {0, ns}};
    timer_settime(tick_timer, 0, &next, NULL); /* async-signal-safe */
}
static volatile sig_atomic_t ticks, strike_at;
static volatile sig_atomic_t wrong_sealed, wrong_open, wrong_stack, wrong_anchor;

static void on_tick(int sig)
{
    (void)sig;
    int saved = errno;
    void *s = sealed_probe, *o = open_probe;
    char local;
    wrong_sealed += s != NULL && seal_is_sealed(s) != 1;
    wrong_open += o != NULL && seal_is_sealed(o) != 0;
    wrong_stack += seal_is_sealed(&local) != 0;
    wrong_anchor += anchor != NULL && seal_is_sealed(anchor) != 1;
    ticks++;
    if (strike_at != 0 && ticks == strike_at && anchor != NULL)
        *(volatile char *)anchor = 1; /* a store into sealed memory, from the handler */
    arm(20000);
    errno = saved;
}

/* The ticks, and a watchdog: SIGUSR1 (default action: terminate) after
 * DEADLINE seconds, so a deadlocked child is reported, not waited for. */
static void start_timer(void)
{
    timer_t watchdog;
    struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1};
    struct itimerspec deadline = {{0, 0}, {DEADLINE, 0}};
    if (timer_create(CLOCK_MONOTONIC, &ev, &watchdog) != 0 ||
        timer_settime(watchdog, 0, &deadline, NULL) != 0)
        abort();
    seal_cache *a = seal_cache_create("anchor", 32, 0, 0);
    void *obj = seal_cache_alloc(a);
    seal_cache_seal(a);
    anchor = obj;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_tick;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    struct sigevent tick = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGALRM};
    if (timer_create(CLOCK_MONOTONIC, &tick, &tick_timer) != 0)
        abort();
    arm(20000);
}

/* Publish p as the sealed (or open) probe; the handler runs on this thread,
 * so a compiler fence orders the publication against the calls around it. */
static void publish(void *volatile *slot, void *p)
{
    atomic_signal_fence(memory_order_seq_cst);
    *slot = p;
    atomic_signal_fence(memory_order_seq_cst);
}

/* Allocate, seal, free, create and destroy until TICKS signals were handled. */
static void churn(void)
{
    seal_cache *c = NULL;
    seal_pool *p = NULL;
    void *objs[16];
    for (unsigned long round = 0; (ticks < TICKS || round < 100) && !(strike_at && ticks > strike_at);
         round++) {
        if (round % 8 == 0) {
            publish(&sealed_probe, NULL);
            publish(&open_probe, NULL);
            seal_cache_destroy(c);
            seal_pool_destroy(p);
            c = seal_cache_create("victim", 96, 0, SEAL_WRITE_RARE);
            p = seal_pool_create("victim-pool", 0);
        }
        for (int i = 0; i < 16; i++)
            objs[i] = i % 2 ? seal_cache_alloc(c) : seal_pool_alloc(p, 40 + (size_t)i * 300);
        publish(&open_probe, objs[round % 16]);
        publish(&open_probe, NULL);
        seal_cache_seal(c);
        seal_pool_seal(p);
        publish(&sealed_probe, objs[round % 16]);
        void *fresh = seal_cache_alloc(c);
        publish(&open_probe, fresh);
        SEAL_ASSIGN(*(long *)objs[1], (long)round);
        publish(&open_probe, NULL);
        seal_cache_free(c, fresh);
        publish(&sealed_probe, NULL);
        for (int i = 0; i < 16; i++)
            if (i % 2)
                seal_cache_free(c, objs[i]);
            else
                seal_pool_free(p, objs[i]);
    }
}

static void answers_child(void *arg)
{
    (void)arg;
    start_timer();
    churn();
    signal(SIGALRM, SIG_IGN);
    int wrong = wrong_sealed + wrong_open + wrong_stack + wrong_anchor;
    if (wrong != 0)
        fprintf(stderr, "wrong answers in %d signals: %d for sealed objects, %d for open ones, "
                "%d for the stack, %d for an object sealed all along\n", (int)ticks,
                (int)wrong_sealed, (int)wrong_open, (int)wrong_stack, (int)wrong_anchor);
    _exit(wrong == 0 ? 0 : 1);
}

static void strike_child(void *arg)
{
    seal_fault_handler_install();
    strike_at = (sig_atomic_t)(uintptr_t)arg;
    start_timer();
    churn();
    _exit(0); /* unreachable: the strike always lands */
}

/* Run fn in a child; one that dies of SIGUSR1 hit the watchdog. */
static void run_watched(void (*fn)(void *), void *arg, struct death *d)
{
    run_in_child(fn, arg, d);
    if (d->signal == SIGUSR1)
        fprintf(stderr, "  child deadlocked (watchdog after %d s)\n", DEADLINE);
}

static void is_sealed_from_a_signal_handler(void)
{
    struct death d;
    run_watched(answers_child, NULL, &d);
    CHECK(d.signal == 0 && d.status == 0);
    if (d.signal != 0 || d.status != 0)
        fprintf(stderr, "  child: signal %d status %d: %s", d.signal, d.status, d.err);
}

static void fault_attributed_from_a_signal_handler(void)
{
    int landed = 0;
    for (uintptr_t at = 50; at < 50 + 9 * 37; at += 37) {
        struct death d;
        run_watched(strike_child, (void *)at, &d);
        landed += d.signal == SIGSEGV;
        CHECK(d.signal == SIGSEGV && strstr(d.err, "write to sealed memory: cache \"anchor\"") != NULL);
        if (d.signal != SIGSEGV)
            fprintf(stderr, "  strike at tick %lu: signal %d status %d: %s", (unsigned long)at,
                    d.signal, d.status, d.err);
    }
    CHECK(landed == 9);
}

int main(void)
{
    RUN(is_sealed_from_a_signal_handler);
    if (getenv("SIGNALS_ONLY_ANSWERS") == NULL)
        RUN(fault_attributed_from_a_signal_handler);
    return check_exit();
}
