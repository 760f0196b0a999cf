/* SPDX-License-Identifier: MIT */
/*
 * test_os.c - the os layer (os.h): capability probes agree with the
 * kernel, each primitive leaves the protection it promises, the write-rare
 * primitives write through a memfd or /proc/self/mem without a writable
 * primary mapping, and the fault-injection switch fails exactly the
 * countdown-th call with the errno the real call gives.
 *
 * Then the switch is swept over every os call a library scenario makes
 * (SQLite-style anomaly testing): with the Nth call failing, each public
 * call either succeeds or fails with an errno of its contract, a retry
 * succeeds, and the data ends up exactly as without the failure.
 */
#include "check.h"
#include "os.h"
#include "probe.h"
#include "sealloc.h"

#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>

/* 1 if the kernel cannot read p (PROT_NONE or unmapped). */
static int unreadable(const void *p)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    errno = 0;
    int r = write(fds[1], p, 1) == -1 && errno == EFAULT;
    close(fds[0]);
    close(fds[1]);
    return r;
}

static void capabilities_match_the_kernel(void)
{
    CHECK(sl_os_has_mseal() == (syscall(462, 0, 0, 0) == 0));
    int fd = memfd_create("probe", MFD_CLOEXEC);
    CHECK(sl_os_has_memfd() == (fd >= 0));
    if (fd >= 0)
        close(fd);
    /* /proc/self/mem counts only if it can write into a read-only page
     * (some kernels refuse that: proc_mem.force_override=never). */
    char *ro = mmap(NULL, sysconf(_SC_PAGESIZE), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int mem = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
    bool writes = mem >= 0 && pwrite(mem, "x", 1, (off_t)(uintptr_t)ro) == 1 && ro[0] == 'x';
    CHECK(sl_os_has_procmem() == writes);
    if (mem >= 0)
        close(mem);
    munmap(ro, sysconf(_SC_PAGESIZE));
    size_t pg = sl_os_page_size();
    CHECK(pg == (size_t)sysconf(_SC_PAGESIZE) && (pg & (pg - 1)) == 0);
    /* Huge pages: sysfs "enabled" decides whether hinted memory gets them. */
    char mode[128] = "";
    unsigned long pmd = 0;
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (f != NULL && fgets(mode, sizeof mode, f) == NULL)
        mode[0] = 0;
    if (f != NULL)
        fclose(f);
    if ((f = fopen("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", "r")) != NULL) {
        if (fscanf(f, "%lu", &pmd) != 1)
            pmd = 0;
        fclose(f);
    }
    bool usable = strstr(mode, "[always]") != NULL || strstr(mode, "[madvise]") != NULL;
    CHECK(sl_os_huge_page_size() == (usable ? pmd : 0));
}

static void primitives_set_protections(void)
{
    size_t pg = sl_os_page_size();
    char *p = sl_os_reserve(4 * pg, -1);
    CHECK(p != NULL && unreadable(p) == 1);
    CHECK(sl_os_commit(p, 2 * pg) == 0);
    CHECK(unreadable(p) == 0 && unreadable(p + 2 * pg) == 1);
    memset(p, 'a', 2 * pg);
    CHECK(sl_os_protect_ro(p, pg) == 0);
    CHECK(page_read_only(p) && !page_read_only(p + pg) && p[0] == 'a');
    CHECK(sl_os_discard(p, 2 * pg, -1, 0) == 0);
    CHECK(unreadable(p) == 1);
    CHECK(sl_os_commit(p, pg) == 0 && p[0] == 0); /* the old bytes are gone */
    CHECK(sl_os_release(p, 4 * pg) == 0 && unreadable(p) == 1);

    if (!sl_os_has_mseal())
        SKIP("kernel without mseal(2)");
    char *s = sl_os_reserve(pg, -1);
    CHECK(sl_os_commit(s, pg) == 0 && sl_os_protect_ro(s, pg) == 0 && sl_os_mseal(s, pg) == 0);
    errno = 0;
    CHECK(mprotect(s, pg, PROT_READ | PROT_WRITE) == -1 && errno == EPERM);
    errno = 0;
    CHECK(sl_os_release(s, pg) == -1 && errno == EPERM);
}

static void memfd_writes_without_a_writable_mapping(void)
{
    size_t pg = sl_os_page_size();
    int fd = sl_os_memfd("os-test", 4 * pg);
    CHECK(fd >= 0);
    char *p = sl_os_reserve(4 * pg, fd);
    CHECK(p != NULL && sl_os_commit(p, 4 * pg) == 0);
    strcpy(p + pg, "before");
    CHECK(sl_os_protect_ro(p, 4 * pg) == 0 && page_read_only(p + pg));
    CHECK(sl_os_file_write(fd, (off_t)pg, "after", 6) == 0);
    CHECK(strcmp(p + pg, "after") == 0 && page_read_only(p + pg));

    char *alias = sl_os_map_alias_at(p + ((size_t)1 << 30), fd, (off_t)pg, pg);
    CHECK(alias != NULL && alias != p + pg);
    strcpy(alias, "alias");
    CHECK(strcmp(p + pg, "alias") == 0 && page_read_only(p + pg));
    CHECK(sl_os_release(alias, pg) == 0 && unreadable(alias) == 1);

    /* A discarded memfd range reads back as zeros once committed again. */
    CHECK(sl_os_discard(p + pg, pg, fd, (off_t)pg) == 0 && unreadable(p + pg) == 1);
    CHECK(sl_os_commit(p + pg, pg) == 0 && p[pg] == 0);

    /* A fork child's private copy: the file copied in the kernel, then the
     * same range mapped from the copy. */
    int copy = sl_os_memfd("os-copy", 4 * pg);
    CHECK(sl_os_file_write(fd, (off_t)(2 * pg), "parent's", 9) == 0);
    CHECK(sl_os_file_copy(copy, fd, 0, 4 * pg) == 0);
    CHECK(sl_os_file_write(copy, 0, "private", 8) == 0);
    CHECK(sl_os_remap_shared(p, 3 * pg, copy, 0, PROT_READ) == 0);
    CHECK(strcmp(p, "private") == 0 && page_read_only(p));
    CHECK(strcmp(p + 2 * pg, "parent's") == 0 && p[pg] == 0);
    CHECK(sl_os_file_write(fd, (off_t)(2 * pg), "changed", 8) == 0);
    CHECK(strcmp(p + 2 * pg, "parent's") == 0); /* a copy, not a share */
    sl_os_release(p, 4 * pg);
    sl_os_close(copy);
    sl_os_close(fd);
}

static void procmem_writes_read_only_pages(void)
{
    if (!sl_os_has_procmem())
        SKIP("no writable /proc/self/mem");
    size_t pg = sl_os_page_size();
    char *p = sl_os_reserve(pg, -1);
    int mem = sl_os_procmem_open();
    CHECK(mem >= 0);
    CHECK(sl_os_commit(p, pg) == 0 && sl_os_protect_ro(p, pg) == 0);
    CHECK(sl_os_procmem_write(mem, p + 10, "kernel", 7) == 0);
    CHECK(strcmp(p + 10, "kernel") == 0 && page_read_only(p));
    if (sl_os_has_mseal()) {
        CHECK(sl_os_mseal(p, pg) == 0);
        CHECK(sl_os_procmem_write(mem, p + 10, "sealed", 7) == 0 && strcmp(p + 10, "sealed") == 0);
    } else {
        sl_os_release(p, pg);
    }
    sl_os_close(mem);
}

/* ---- fault injection ------------------------------------------------------ */

/* The injected errno of each call is the one the real call gives. */
static void injection_gives_the_real_errno(void)
{
    size_t pg = sl_os_page_size();
    char *p = sl_os_reserve(2 * pg, -1);
    CHECK(sl_os_release(p + pg, pg) == 0); /* p + pg is now unmapped */
    int real_commit, real_protect, real_reserve, real_mseal = ENOMEM, real_memfd;
    errno = 0;
    CHECK(sl_os_commit(p + pg, pg) == -1);
    real_commit = errno;
    CHECK(sl_os_protect_ro(p + pg, pg) == -1);
    real_protect = errno;
    CHECK(sl_os_reserve((size_t)1 << 62, -1) == NULL);
    real_reserve = errno;
    if (sl_os_has_mseal()) {
        CHECK(sl_os_mseal(p + pg, pg) == -1);
        real_mseal = errno;
    }
    struct rlimit old, few = {3, 3};
    getrlimit(RLIMIT_NOFILE, &old);
    few.rlim_max = old.rlim_max;
    setrlimit(RLIMIT_NOFILE, &few);
    CHECK(sl_os_memfd("x", pg) == -1);
    real_memfd = errno;
    setrlimit(RLIMIT_NOFILE, &old);

    struct {
        const char *name;
        int real, injected;
    } calls[5];
    int n = 0;
#define INJECT(label, call, real_errno)                                                    \
    do {                                                                                   \
        sl_os_inject_failure(1);                                                           \
        errno = 0;                                                                         \
        call;                                                                              \
        calls[n].name = label;                                                             \
        calls[n].real = real_errno;                                                        \
        calls[n++].injected = errno;                                                       \
    } while (0)
    INJECT("commit", CHECK(sl_os_commit(p, pg) == -1), real_commit);
    INJECT("protect", CHECK(sl_os_protect_ro(p, pg) == -1), real_protect);
    INJECT("reserve", CHECK(sl_os_reserve(pg, -1) == NULL), real_reserve);
    INJECT("mseal", CHECK(sl_os_mseal(p, pg) == -1), real_mseal);
    INJECT("memfd", CHECK(sl_os_memfd("x", pg) == -1), real_memfd);
#undef INJECT
    sl_os_inject_failure(0);
    for (int i = 0; i < n; i++) {
        CHECK(calls[i].injected == calls[i].real);
        if (calls[i].injected != calls[i].real)
            fprintf(stderr, "  %s: injected %s, real %s\n", calls[i].name,
                    strerror(calls[i].injected), strerror(calls[i].real));
    }
    /* Nothing was done by the failed calls: p is still reserved. Release
     * retries by itself, so one injected failure does not fail it. */
    CHECK(unreadable(p) == 1);
    sl_os_inject_failure(1);
    CHECK(sl_os_release(p, pg) == 0 && sl_os_calls() == 2);
    sl_os_inject_failure(0);
}

static void injection_counts_down(void)
{
    size_t pg = sl_os_page_size();
    char *p = sl_os_reserve(pg, -1);
    sl_os_inject_failure(3);
    CHECK(sl_os_commit(p, pg) == 0);
    CHECK(sl_os_protect_ro(p, pg) == 0);
    errno = 0;
    CHECK(sl_os_commit(p, pg) == -1 && errno == ENOMEM); /* the 3rd call */
    CHECK(sl_os_commit(p, pg) == 0);                     /* one-shot */
    CHECK(sl_os_calls() == 4);
    sl_os_inject_failure(0);
    CHECK(sl_os_calls() == 0);
    p[0] = 1;
    CHECK(sl_os_release(p, pg) == 0);
}

/* ---- the sweep ------------------------------------------------------------ */

static bool contract_errno(int e) { return e == ENOMEM || e == EIO || e == EMFILE; }

static int scenario_line; /* first check that failed in the scenario */

/* Evaluate expr until ok holds; one retry is allowed after a failure with
 * an errno of the contract (the injected failure is one-shot). */
#define RETRY(var, expr, ok)                                                               \
    for (int tries_ = 0;; tries_++) {                                                      \
        errno = 0;                                                                         \
        var = (expr);                                                                      \
        if (ok)                                                                            \
            break;                                                                         \
        if (tries_ == 1 || !contract_errno(errno)) {                                       \
            if (!scenario_line)                                                            \
                scenario_line = __LINE__;                                                  \
            break;                                                                         \
        }                                                                                  \
    }
#define EXPECT(cond)                                                                       \
    do {                                                                                   \
        if (!(cond) && !scenario_line)                                                     \
            scenario_line = __LINE__;                                                      \
    } while (0)

struct item {
    long value;
    void *link;
};

/* Every public call that reaches the os layer, once or more. */
static void scenario(void)
{
    seal_cache *c;
    RETRY(c, seal_cache_create("sweep", sizeof(struct item), 0, SEAL_WRITE_RARE), c != NULL);
    struct item *it[40];
    for (int i = 0; i < 40; i++) {
        RETRY(it[i], seal_cache_alloc(c), it[i] != NULL);
        if (it[i] != NULL)
            it[i]->value = i;
    }
    int rc;
    RETRY(rc, seal_cache_seal(c), rc == 0);
    EXPECT(seal_is_sealed(it[0]) && seal_is_sealed(it[39]));
    RETRY(rc, SEAL_ASSIGN(it[1]->value, 100), rc == 0);
    RETRY(rc, seal_write_ptr(&it[2]->link, it[3]), rc == 0);
    for (int i = 0; i < 40; i += 2)
        seal_cache_free(c, it[i]);

    seal_pool *p;
    RETRY(p, seal_pool_create("sweep-pool", SEAL_WRITE_RARE), p != NULL);
    char *s, *l, *r;
    RETRY(s, seal_pool_strdup(p, "text"), s != NULL);
    RETRY(l, seal_pool_alloc(p, 200000), l != NULL);
    RETRY(rc, seal_pool_seal(p), rc == 0);
    RETRY(rc, seal_write(l + 100, "large", 6), rc == 0);
    RETRY(r, seal_pool_realloc(p, s, 5000), r != NULL);
    EXPECT(r == NULL || (strcmp(r, "text") == 0 && !seal_is_sealed(r)));
    seal_pool_free(p, l);

    EXPECT(it[1]->value == 100 && it[2]->link == it[3] && it[39]->value == 39);
    seal_pool_destroy(p);
    seal_cache_destroy(c);
}

struct sweep_point {
    unsigned long fail_at, calls; /* the call made to fail; calls without failure */
};

static void run_with_failure(void *arg)
{
    const struct sweep_point *sp = arg;
    sl_os_inject_failure(sp->fail_at);
    scenario();
    bool fired = sl_os_calls() >= sp->fail_at;
    sl_os_inject_failure(0);
    if (sp->fail_at <= sp->calls && !fired)
        EXPECT(!"the injected failure never happened");
    if (scenario_line)
        fprintf(stderr, "scenario line %d\n", scenario_line);
    _exit(scenario_line ? 1 : 0);
}

static void sweep_every_call(void)
{
    scenario(); /* one-time initialisation out of the way */
    sl_os_inject_failure(0);
    scenario();
    unsigned long calls = sl_os_calls();
    CHECK(scenario_line == 0 && calls > 20);
    int bad = 0;
    for (unsigned long n = 1; n <= calls + 2; n++) {
        struct sweep_point sp = {n, calls};
        struct death d;
        run_in_child(run_with_failure, &sp, &d);
        if (d.signal != 0 || d.status != 0) {
            if (bad++ < 5)
                fprintf(stderr, "  failing call %lu of %lu: signal %d status %d: %s", n, calls,
                        d.signal, d.status, d.err);
        }
    }
    CHECK(bad == 0);
}

int main(void)
{
    RUN(capabilities_match_the_kernel);
    RUN(primitives_set_protections);
    RUN(memfd_writes_without_a_writable_mapping);
    RUN(procmem_writes_read_only_pages);
    RUN(injection_gives_the_real_errno);
    RUN(injection_counts_down);
    RUN(sweep_every_call);
    return check_exit();
}
