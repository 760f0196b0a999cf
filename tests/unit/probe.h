/* SPDX-License-Identifier: MIT */
/*
 * probe.h - what the kernel thinks of an address, for the unit tests.
 *
 * page_read_only() asks the kernel to store one byte at p with read(2)
 * from /dev/zero: on a read-only (sealed) page that fails with EFAULT, on a
 * writable one it stores a zero. It shows the page-table state without a
 * faulting store, so it can run in the test process itself, from any
 * thread; use it only where a zero byte may be written.
 *
 * probe_store() is a store that may fault: with probe_catch_segv() in
 * place, a store into read-only memory returns false (through a SIGSEGV
 * handler and siglongjmp) instead of killing the process, so a test can
 * count stores that landed while other threads seal or write-rare.
 *
 * Linux runs a signal handler with its default protection-key rights
 * (PKRU), which deny every key but 0, and siglongjmp() out of the handler
 * does not restore the thread's own; under the opt-in pkey write-rare
 * mechanism that thread could then no longer even read sealed write-rare
 * data (seal_write(3)). probe_store() restores PKRU after the jump, as a
 * program using that mechanism must.
 *
 * probe_read_maps_zero_page() asks whether this kernel answers a read
 * fault on untouched private anonymous memory with its shared zero page
 * (most do) or with a page of the process's own (some configurations
 * do), through the mapping's Rss in /proc/self/smaps, which the library
 * never reads: tests of resident memory expect pages only read to count
 * exactly where the kernel gave them memory.
 */
#ifndef SEALLOC_PROBE_H
#define SEALLOC_PROBE_H

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

static inline int page_read_only(void *p)
{
    int fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
    errno = 0;
    int ro = read(fd, p, 1) == -1 && errno == EFAULT;
    close(fd);
    return ro;
}

/* 1 if reading 16 untouched pages leaves their mapping's Rss at 0, 0 if
 * it does not, -1 if the kernel could not be asked. */
static inline int probe_read_maps_zero_page(void)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE), n = 16 * pg;
    /* PROT_NONE guard pages on both sides keep the mapping a VMA of its own */
    char *guarded = mmap(NULL, n + 2 * pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (guarded == MAP_FAILED)
        return -1;
    char *m = guarded + pg;
    int answer = -1;
    FILE *smaps = NULL;
    if (mprotect(m, n, PROT_READ) != 0 || !(smaps = fopen("/proc/self/smaps", "r")))
        goto out;
    volatile char sum = 0;
    for (size_t off = 0; off < n; off += pg)
        sum += m[off];
    char line[256];
    unsigned long start, end, rss_kb;
    int ours = 0;
    while (answer < 0 && fgets(line, sizeof line, smaps)) {
        if (sscanf(line, "%lx-%lx ", &start, &end) == 2)
            ours = start == (unsigned long)m && end == (unsigned long)(m + n);
        else if (ours && sscanf(line, "Rss: %lu kB", &rss_kb) == 1)
            answer = rss_kb == 0;
    }
out:
    if (smaps)
        fclose(smaps);
    munmap(guarded, n + 2 * pg);
    return answer;
}

static __thread sigjmp_buf probe_jump;
static __thread volatile sig_atomic_t probe_armed;
static __thread unsigned probe_saved_pkru;

static void probe_segv(int sig, siginfo_t *info, void *ctx)
{
    (void)info, (void)ctx;
    if (!probe_armed) { /* not ours: die as usual */
        signal(sig, SIG_DFL);
        return;
    }
    siglongjmp(probe_jump, 1);
}

/* Route SIGSEGV to probe_store(); *old receives the previous action. */
static inline void probe_catch_segv(struct sigaction *old)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = probe_segv;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, old);
}

/* PKRU where the CPU and kernel have protection keys (OSPKE), else 0;
 * probe_pkru_set() is a no-op there. RDPKRU/WRPKRU by opcode. */
#if defined(__x86_64__)
static inline bool probe_has_pkru(void)
{
    unsigned a, b, c, d;
    return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (c & (1u << 4)) != 0;
}
static inline unsigned probe_pkru(void)
{
    unsigned eax = 0, edx;
    if (probe_has_pkru())
        __asm__ volatile(".byte 0x0f, 0x01, 0xee" : "=a"(eax), "=d"(edx) : "c"(0));
    return eax;
}
static inline void probe_pkru_set(unsigned pkru)
{
    if (probe_has_pkru())
        __asm__ volatile(".byte 0x0f, 0x01, 0xef" : : "a"(pkru), "c"(0), "d"(0) : "memory");
}
#else
static inline unsigned probe_pkru(void) { return 0; }
static inline void probe_pkru_set(unsigned pkru) { (void)pkru; }
#endif

/* Store v at p; false if the store faulted (nothing was written). */
static inline bool probe_store(long *p, long v)
{
    probe_saved_pkru = probe_pkru();
    probe_armed = 1;
    if (sigsetjmp(probe_jump, 1) != 0) {
        probe_armed = 0;
        probe_pkru_set(probe_saved_pkru);
        return false;
    }
    *(volatile long *)p = v;
    probe_armed = 0;
    return true;
}

#endif
