/* SPDX-License-Identifier: MIT */
/*
 * test_fault.c - the SIGSEGV handler: for a store into sealed memory it
 * prints one line naming the cache or pool, the object index (pool: the
 * allocation's start address and requested size) and the offset inside the
 * object, then the process dies of
 * SIGSEGV as it would have; other faults reach the handler installed
 * before it (with or without SA_SIGINFO), or the default action. Each case
 * runs in a forked child.
 */
#include "check.h"
#include "sealloc.h"

#include <stdint.h>
#include <sys/mman.h>

struct entry {
    long key;
    char value[56];
};

static void cache_sealed_write(void *arg)
{
    (void)arg;
    CHECK(seal_fault_handler_install() == 0);
    CHECK(seal_fault_handler_install() == 0); /* idempotent */
    seal_cache *c = seal_cache_create("routes", sizeof(struct entry), 0, 0);
    struct entry *e[5];
    for (int i = 0; i < 5; i++)
        e[i] = seal_cache_alloc(c);
    seal_cache_seal(c);
    ((volatile char *)e[3]->value)[5] = 'x'; /* object 3, offset 8 + 5 */
    _exit(3);
}

static void pool_sealed_write(void *arg)
{
    (void)arg;
    seal_fault_handler_install();
    seal_pool *p = seal_pool_create("settings", 0);
    seal_pool_alloc(p, 64);
    char *s = seal_pool_alloc(p, 60);
    seal_pool_seal(p);
    fprintf(stderr, "%p\n", (void *)s); /* for the parent to compare */
    ((volatile char *)s)[7] = 'x';
    _exit(3);
}

static void pool_large_sealed_write(void *arg)
{
    (void)arg;
    seal_fault_handler_install();
    seal_pool *p = seal_pool_create("blobs", 0);
    char *s = seal_pool_alloc(p, 100000);
    seal_pool_seal(p);
    fprintf(stderr, "%p\n", (void *)s);
    ((volatile char *)s)[70000] = 'x';
    _exit(3);
}

/* err is the child's "<pointer>\n" and then its fault line, which must be
 * fmt filled with that pointer and the pointer plus off. */
static bool pool_line(const char *err, const char *fmt, size_t off)
{
    void *p = NULL;
    char want[256];
    if (sscanf(err, "%p", &p) != 1 || strchr(err, '\n') == NULL)
        return false;
    snprintf(want, sizeof want, fmt, p, (void *)((char *)p + off));
    bool ok = strcmp(strchr(err, '\n') + 1, want) == 0;
    if (!ok)
        fprintf(stderr, "  got: %s  want: %s", strchr(err, '\n') + 1, want);
    return ok;
}

static void attribution_line(void)
{
    struct death d;
    run_in_child(cache_sealed_write, NULL, &d);
    CHECK(d.signal == SIGSEGV);
    CHECK(strncmp(d.err, "sealloc: write to sealed memory: cache \"routes\" object 3 offset 13 at 0x",
                  70) == 0);
    CHECK(strchr(d.err, '\n') == d.err + strlen(d.err) - 1);
    if (d.signal != SIGSEGV || strncmp(d.err, "sealloc: write", 14) != 0)
        fprintf(stderr, "  child: signal %d status %d: %s\n", d.signal, d.status, d.err);

    /* A pool names the allocation by the pointer the program holds. */
    run_in_child(pool_sealed_write, NULL, &d);
    CHECK(d.signal == SIGSEGV);
    CHECK(pool_line(d.err, "sealloc: write to sealed memory: pool \"settings\" allocation %p size 60 "
                           "offset 7 at %p\n", 7));
    run_in_child(pool_large_sealed_write, NULL, &d);
    CHECK(d.signal == SIGSEGV);
    CHECK(pool_line(d.err, "sealloc: write to sealed memory: pool \"blobs\" allocation %p size 100000 "
                           "offset 70000 at %p\n", 70000));
}

/* ---- chaining ------------------------------------------------------------ */

static volatile sig_atomic_t chained;

static void info_handler(int sig, siginfo_t *info, void *ctx)
{
    (void)sig, (void)ctx;
    chained = info->si_addr != NULL;
    _exit(42);
}

static void plain_handler(int sig)
{
    (void)sig;
    _exit(43);
}

static char *unmapped_page(void)
{
    long pg = sysconf(_SC_PAGESIZE);
    char *p = mmap(NULL, (size_t)pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p;
}

static void unrelated_fault_info(void *arg)
{
    (void)arg;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = info_handler;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
    seal_fault_handler_install();
    seal_cache *c = seal_cache_create("bystander", 32, 0, 0);
    seal_cache_alloc(c);
    seal_cache_seal(c);
    *(volatile char *)unmapped_page() = 1;
    _exit(3);
}

static void unrelated_fault_plain(void *arg)
{
    (void)arg;
    signal(SIGSEGV, plain_handler);
    seal_fault_handler_install();
    *(volatile char *)unmapped_page() = 1;
    _exit(3);
}

static void sealed_write_then_previous(void *arg)
{
    (void)arg;
    signal(SIGSEGV, plain_handler);
    seal_fault_handler_install();
    seal_cache *c = seal_cache_create("chained", 32, 0, 0);
    char *o = seal_cache_alloc(c);
    seal_cache_seal(c);
    ((volatile char *)o)[1] = 1;
    _exit(3);
}

static void unrelated_fault_default(void *arg)
{
    (void)arg;
    seal_fault_handler_install();
    *(volatile char *)unmapped_page() = 1;
    _exit(3);
}

static void chaining(void)
{
    struct death d;
    run_in_child(unrelated_fault_info, NULL, &d);
    CHECK(d.signal == 0 && d.status == 42 && strstr(d.err, "sealloc:") == NULL);

    run_in_child(unrelated_fault_plain, NULL, &d);
    CHECK(d.signal == 0 && d.status == 43 && strstr(d.err, "sealloc:") == NULL);

    /* A sealed write is reported, then still reaches the previous handler. */
    run_in_child(sealed_write_then_previous, NULL, &d);
    CHECK(d.signal == 0 && d.status == 43);
    CHECK(strstr(d.err, "sealloc: write to sealed memory: cache \"chained\" object 0 offset 1") != NULL);

    /* No previous handler: the default action, silently. */
    run_in_child(unrelated_fault_default, NULL, &d);
    CHECK(d.signal == SIGSEGV && strstr(d.err, "sealloc:") == NULL);
}

/* ---- stack overflow: the handler runs on its own stack -------------------- */

static volatile int depth_limit = 1 << 30; /* never reached: the stack ends first */

static int recurse(volatile char *prev, int depth)
{
    volatile char frame[1024];
    frame[0] = prev ? prev[0] + 1 : 0;
    if (depth >= depth_limit)
        return frame[0];
    return recurse(frame, depth + 1) + frame[1];
}

static void overflow_stack(void *arg)
{
    (void)arg;
    seal_fault_handler_install();
    recurse(NULL, 0);
    _exit(3);
}

static void stack_overflow_still_dies(void)
{
    CHECK(expect_death(overflow_stack, NULL, SIGSEGV, NULL));
}

int main(void)
{
    RUN(attribution_line);
    RUN(chaining);
    RUN(stack_overflow_still_dies);
    return check_exit();
}
