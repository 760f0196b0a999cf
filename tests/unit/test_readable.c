/* SPDX-License-Identifier: MIT */
/*
 * test_readable.c - sealed write-rare data stays readable, and updatable,
 * where the library set up nothing first: in a signal handler (Linux
 * starts handlers with its default protection-key rights) and in a thread
 * that existed before the library was loaded.
 *
 * Nothing of the library is linked in: each case runs in a child that
 * starts a thread, then dlopen()s libsealloc.so from ../lib next to this
 * program (SEALLOC_WRITE_RARE, read by the library's constructor, chooses
 * the mechanism), seals a write-rare object, and reads and seal_write()s it
 * from the thread or from a SIGUSR1 handler. Under the default mechanism
 * both must work. Opting in to pkey shows why it is not the default: there
 * the same reads fault. Those two cases need a CPU with protection keys
 * and are skipped elsewhere (never in tests/suites/91-pkey-guest.sh).
 */
#include "check.h"
#include "sealloc.h" /* types and flags only: the calls come from dlsym() */

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sys/mman.h>

static struct {
    __typeof__(seal_cache_create) *create;
    __typeof__(seal_cache_alloc) *alloc;
    __typeof__(seal_cache_seal) *seal;
    __typeof__(seal_write) *write;
    __typeof__(seal_write_rare_mechanism) *mechanism;
} lib;
static volatile long *sealed;    /* the sealed object's value */
static volatile long seen_in_handler;
static int go[2];                /* main -> early thread: the object is sealed */

/* In the child: load the library under mechanism mech (NULL: default),
 * print the mechanism chosen, seal one write-rare object holding 41. */
static void load(const char *mech)
{
    char path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 32);
    if (n <= 0)
        _exit(10);
    path[n] = 0;
    strcpy(strrchr(path, '/'), "/../lib/libsealloc.so");
    if (mech != NULL)
        setenv("SEALLOC_WRITE_RARE", mech, 1);
    else
        unsetenv("SEALLOC_WRITE_RARE");
    void *h = dlopen(path, RTLD_NOW);
    if (h == NULL) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        _exit(11);
    }
    *(void **)&lib.create = dlsym(h, "seal_cache_create");
    *(void **)&lib.alloc = dlsym(h, "seal_cache_alloc");
    *(void **)&lib.seal = dlsym(h, "seal_cache_seal");
    *(void **)&lib.write = dlsym(h, "seal_write");
    *(void **)&lib.mechanism = dlsym(h, "seal_write_rare_mechanism");
    fprintf(stderr, "mechanism %s\n", lib.mechanism());
    seal_cache *c = lib.create("readable", sizeof(long), 0, SEAL_WRITE_RARE);
    long *v = lib.alloc(c);
    *v = 41;
    if (lib.seal(c) != 0)
        _exit(12);
    sealed = v;
}

/* Read the sealed value, write-rare 42 into it, read it back. */
static int read_write_read(void)
{
    long want = 42;
    return *sealed == 41 && lib.write((void *)sealed, &want, sizeof want) == 0 && *sealed == 42;
}

static void *early_thread(void *arg)
{
    (void)arg;
    char c;
    if (read(go[0], &c, 1) != 1)
        return (void *)1;
    return read_write_read() ? NULL : (void *)1;
}

static void early_thread_case(void *mech)
{
    pthread_t t;
    if (pipe(go) != 0 || pthread_create(&t, NULL, early_thread, NULL) != 0)
        _exit(13);
    load(mech);
    void *bad;
    if (write(go[1], "x", 1) != 1 || pthread_join(t, &bad) != 0)
        _exit(14);
    _exit(bad == NULL ? 0 : 1);
}

static void on_usr1(int sig)
{
    (void)sig;
    seen_in_handler = read_write_read() ? 1 : -1;
}

static void signal_handler_case(void *mech)
{
    load(mech);
    signal(SIGUSR1, on_usr1);
    raise(SIGUSR1);
    _exit(seen_in_handler == 1 && *sealed == 42 ? 0 : 1);
}

static void works(void (*fn)(void *))
{
    struct death d;
    run_in_child(fn, NULL, &d);
    CHECK(strstr(d.err, "mechanism memfd\n") != NULL);
    CHECK(d.signal == 0 && d.status == 0);
    if (d.signal != 0 || d.status != 0)
        fprintf(stderr, "  child: signal %d, status %d, stderr: %s\n", d.signal, d.status, d.err);
}

static void early_thread_reads_and_writes(void) { works(early_thread_case); }
static void signal_handler_reads_and_writes(void) { works(signal_handler_case); }

/* 0 where the CPU and kernel have protection keys, else pkey_alloc's errno.
 * The key is allocated access-disabled, as the kernel's default rights have
 * it: pkey_free() leaves the rights as they are, and the library gets the
 * same key next, so rights of 0 here would open it to every thread forked
 * from this one. */
static int no_pkeys(void)
{
    int key = pkey_alloc(0, PKEY_DISABLE_ACCESS);
    if (key < 0)
        return errno;
    pkey_free(key);
    return 0;
}

static void pkey_early_thread_faults(void)
{
    int err = no_pkeys();
    if (err != 0)
        SKIP("no protection keys here (pkey_alloc: %s)", strerror(err));
    CHECK(expect_death(early_thread_case, "pkey", SIGSEGV, "mechanism pkey\n"));
}

static void pkey_signal_handler_faults(void)
{
    int err = no_pkeys();
    if (err != 0)
        SKIP("no protection keys here (pkey_alloc: %s)", strerror(err));
    CHECK(expect_death(signal_handler_case, "pkey", SIGSEGV, "mechanism pkey\n"));
}

int main(void)
{
    RUN(early_thread_reads_and_writes);
    RUN(signal_handler_reads_and_writes);
    RUN(pkey_early_thread_faults);
    RUN(pkey_signal_handler_faults);
    return check_exit();
}
