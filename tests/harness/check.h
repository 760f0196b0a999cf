/* SPDX-License-Identifier: MIT */
/*
 * check.h - the tiny test harness every test program uses.
 *
 * A test is a void function; RUN(fn) runs it and prints "PASS fn" or
 * "FAIL fn: <first failed check>" (tests/harness/run-suites counts these
 * lines). SKIP(reason) ends a test as skipped, printing why. CHECK() keeps
 * going after a failure so one run shows every broken check of a test.
 *
 * expect_death() runs a function in a forked child with stderr captured and
 * checks how the child died: by the given signal (0: exit status 0), and
 * with `needle` in what it wrote to stderr. This is how faults on sealed
 * memory and misuse aborts are shown without killing the test program.
 */
#ifndef SEALLOC_CHECK_H
#define SEALLOC_CHECK_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int check_failed, check_skipped, check_total_failed;
static char check_first[512];

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            if (!check_failed)                                                             \
                snprintf(check_first, sizeof check_first, "%s:%d: %s", __FILE__, __LINE__, \
                         #cond);                                                           \
            fprintf(stderr, "  %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);     \
            check_failed = 1;                                                              \
        }                                                                                  \
    } while (0)

#define SKIP(...)                                                       \
    do {                                                                \
        check_skipped = 1;                                              \
        snprintf(check_first, sizeof check_first, __VA_ARGS__);         \
        return;                                                         \
    } while (0)

#define RUN(fn) check_run(#fn, fn)

/* Valgrind runs a program's threads one at a time: a test that needs a real
 * race shows nothing under it and spins for as long as it is let. Such tests
 * skip there (the plain, ASan and TSan runs keep them). */
#ifdef __has_include
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define SKIP_UNDER_VALGRIND()                                                   \
    do {                                                                        \
        if (RUNNING_ON_VALGRIND)                                                \
            SKIP("valgrind runs threads one at a time: no race to show");       \
    } while (0)
#endif
#endif
#ifndef SKIP_UNDER_VALGRIND
#define SKIP_UNDER_VALGRIND() ((void)0)
#endif

static inline void check_run(const char *name, void (*fn)(void))
{
    check_failed = check_skipped = 0;
    check_first[0] = 0;
    fn();
    if (check_failed) {
        printf("FAIL %s: %s\n", name, check_first);
        check_total_failed++;
    } else if (check_skipped) {
        printf("SKIP %s: %s\n", name, check_first);
    } else {
        printf("PASS %s\n", name);
    }
    fflush(stdout);
}

static inline int check_exit(void) { return check_total_failed ? 1 : 0; }

struct death {
    int signal;    /* the signal that ended the child, 0 if it exited */
    int status;    /* exit status if it exited */
    char err[4096]; /* what it wrote to stderr */
};

/* Run fn(arg) in a child; fill *d with how it ended. */
static inline void run_in_child(void (*fn)(void *), void *arg, struct death *d)
{
    int pipefd[2];
    memset(d, 0, sizeof *d);
    if (pipe(pipefd) != 0)
        abort();
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(pipefd[0]);
        dup2(pipefd[1], STDERR_FILENO);
        signal(SIGABRT, SIG_DFL);
        fn(arg);
        _exit(0);
    }
    close(pipefd[1]);
    size_t len = 0;
    ssize_t n;
    while ((n = read(pipefd[0], d->err + len, sizeof d->err - 1 - len)) > 0)
        len += (size_t)n;
    close(pipefd[0]);
    int st;
    waitpid(pid, &st, 0);
    if (WIFSIGNALED(st))
        d->signal = WTERMSIG(st);
    else
        d->status = WEXITSTATUS(st);
}

/* True if fn(arg) dies of sig and wrote needle (NULL: anything) to stderr. */
static inline bool expect_death(void (*fn)(void *), void *arg, int sig, const char *needle)
{
    struct death d;
    run_in_child(fn, arg, &d);
    bool ok = d.signal == sig && (needle == NULL || strstr(d.err, needle) != NULL);
    if (!ok)
        fprintf(stderr, "  child: signal %d (want %d), status %d, stderr: %s\n", d.signal, sig,
                d.status, d.err);
    return ok;
}

#endif
