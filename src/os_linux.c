/* SPDX-License-Identifier: MIT */
/*
 * os_linux.c - the os.h contract on Linux.
 *
 * Thin wrappers over mmap/mprotect/mseal/madvise/fallocate/memfd_create,
 * pwrite, copy_file_range, membarrier and /proc/self/pagemap.
 * Capabilities are probed once on a scratch mapping (and sysfs, for
 * transparent huge pages). Every call but the advisory sl_os_prefault(),
 * sl_os_hint_huge(), the statistics' sl_os_resident() and the barriers
 * passes through os_fail_now(), which in test builds lets a test make the Nth call fail
 * with the errno the real call would give; in release builds it compiles
 * to nothing.
 */
#include "os.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_mseal
#define SYS_mseal 462 /* x86-64; glibc 2.36 has no wrapper */
#endif

#if SEALLOC_TESTING
static _Atomic unsigned long os_countdown; /* 0: off */
static _Atomic unsigned long os_call_count;

void sl_os_inject_failure(unsigned long countdown)
{
    atomic_store(&os_call_count, 0);
    atomic_store(&os_countdown, countdown);
}

unsigned long sl_os_calls(void) { return atomic_load(&os_call_count); }

static bool os_fail_now(int err)
{
    atomic_fetch_add(&os_call_count, 1);
    unsigned long left = atomic_load(&os_countdown);
    while (left != 0) {
        if (atomic_compare_exchange_weak(&os_countdown, &left, left - 1)) {
            if (left == 1) {
                errno = err;
                return true;
            }
            return false;
        }
    }
    return false;
}
#else
#define os_fail_now(err) false
#endif

/* From the C library, which keeps it read-only after start-up: a copy in
 * writable memory would let a forged page size widen every mprotect the
 * library rounds to pages. */
size_t sl_os_page_size(void) { return (size_t)getpagesize(); }

/* "sealloc:<name>" in out (80 bytes, the kernel's limit with the NUL),
 * with the characters the kernel refuses in a mapping's name made '_'. */
static void label(char out[80], const char *name)
{
    size_t n = 0;
    for (const char *s = "sealloc:"; *s; s++)
        out[n++] = *s;
    for (; *name && n < 79; name++)
        out[n++] = *name < ' ' || *name > '~' || strchr("\\`$[]", *name) ? '_' : *name;
    out[n] = 0;
}

void sl_os_name(void *addr, size_t size, const char *name)
{
    int saved = errno;
    char buf[80];
    label(buf, name);
    (void)prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, (unsigned long)addr, (unsigned long)size,
                (unsigned long)buf);
    errno = saved;
}

void *sl_os_reserve(size_t size, int fd)
{
    if (os_fail_now(ENOMEM))
        return NULL;
    int flags = MAP_NORESERVE | (fd >= 0 ? MAP_SHARED : MAP_PRIVATE | MAP_ANONYMOUS);
    void *p = mmap(NULL, size, PROT_NONE, flags, fd, 0);
    if (p == MAP_FAILED)
        return NULL;
    if (fd < 0)
        sl_os_name(p, size, "meta");
    return p;
}

int sl_os_commit(void *addr, size_t size)
{
    if (os_fail_now(ENOMEM))
        return -1;
    return mprotect(addr, size, PROT_READ | PROT_WRITE);
}

void sl_os_prefault(void *addr, size_t size)
{
    int saved = errno;
    (void)madvise(addr, size, MADV_POPULATE_WRITE);
    errno = saved;
}

void sl_os_hint_huge(void *addr, size_t size)
{
    int saved = errno;
    (void)madvise(addr, size, MADV_HUGEPAGE);
    errno = saved;
}

#define PM_PRESENT (1ull << 63)
#define PM_EXCLUSIVE (1ull << 56) /* mapped once: not the zero page, not shared */

size_t sl_os_resident(const void *addr, size_t size)
{
    int saved = errno;
    size_t pg = sl_os_page_size(), resident = 0;
    int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    uint64_t entry[1024]; /* one per page: 4 MiB a read */
    for (size_t first = (uintptr_t)addr / pg, left = size / pg; fd >= 0 && left > 0;) {
        size_t n = left < 1024 ? left : 1024;
        if (pread(fd, entry, n * sizeof *entry, (off_t)(first * sizeof *entry)) !=
            (ssize_t)(n * sizeof *entry))
            break;
        for (size_t i = 0; i < n; i++)
            resident += (entry[i] & (PM_PRESENT | PM_EXCLUSIVE)) == (PM_PRESENT | PM_EXCLUSIVE) ? pg : 0;
        first += n;
        left -= n;
    }
    if (fd >= 0)
        close(fd);
    errno = saved;
    return resident;
}

int sl_os_barrier_register(void)
{
    long cmds = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    if (cmds < 0)
        return -1;
    if (!(cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED)) {
        errno = ENOSYS;
        return -1;
    }
    return (int)syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0);
}

int sl_os_barrier_all(void)
{
    return (int)syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
}

int sl_os_present(void *addr, size_t size, unsigned char *vec)
{
    return mincore(addr, size, vec);
}

int sl_os_protect_ro(void *addr, size_t size)
{
    if (os_fail_now(ENOMEM))
        return -1;
    return mprotect(addr, size, PROT_READ);
}

int sl_os_mseal(void *addr, size_t size)
{
    if (os_fail_now(ENOMEM))
        return -1;
    return (int)syscall(SYS_mseal, addr, size, 0UL);
}

int sl_os_discard(void *addr, size_t size, int fd, off_t off)
{
    if (os_fail_now(fd >= 0 ? EIO : ENOMEM))
        return -1;
    if (fd >= 0) {
        if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, (off_t)size) != 0)
            return -1;
        return mprotect(addr, size, PROT_NONE);
    }
    /* One call both drops the pages and resets the protection. */
    void *p = mmap(addr, size, PROT_NONE,
                   MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? -1 : 0;
}

int sl_os_release(void *addr, size_t size)
{
    /* Unmapping never has to wait for memory, but splitting a mapping can
     * fail transiently; every caller is giving memory back and has no
     * better answer than trying again, so the retry lives here. */
    for (int tries = 0; tries < 2; tries++) {
        if (os_fail_now(ENOMEM))
            continue;
        if (munmap(addr, size) == 0)
            return 0;
    }
    return -1;
}

int sl_os_memfd(const char *name, size_t size)
{
    if (os_fail_now(EMFILE))
        return -1;
    char buf[80];
    label(buf, name);
    int fd = memfd_create(buf, MFD_CLOEXEC);
    if (fd < 0)
        return -1;
    if (ftruncate(fd, (off_t)size) != 0) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

void sl_os_close(int fd)
{
    if (fd >= 0)
        close(fd);
}

/* pwrite(2) all of src, through interruptions and short writes. */
static int pwrite_all(int fd, off_t off, const void *src, size_t len)
{
    const char *p = src;
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO;
            return -1;
        }
        p += n, off += n, len -= (size_t)n;
    }
    return 0;
}

int sl_os_file_write(int fd, off_t off, const void *src, size_t len)
{
    if (os_fail_now(EIO))
        return -1;
    return pwrite_all(fd, off, src, len);
}

int sl_os_file_copy(int dst, int src, off_t off, size_t len)
{
    if (os_fail_now(EIO))
        return -1;
    off_t in = off, out = off;
    while (len > 0) {
        ssize_t n = copy_file_range(src, &in, dst, &out, len, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0) { /* the end of src: not inside an arena */
            errno = EIO;
            return -1;
        }
        len -= (size_t)n;
    }
    return 0;
}

int sl_os_procmem_open(void)
{
    if (os_fail_now(EACCES))
        return -1;
    return open("/proc/self/mem", O_RDWR | O_CLOEXEC);
}

int sl_os_procmem_write(int fd, void *dst, const void *src, size_t len)
{
    if (os_fail_now(EIO))
        return -1;
    return pwrite_all(fd, (off_t)(uintptr_t)dst, src, len);
}

void *sl_os_map_alias_at(void *hint, int fd, off_t off, size_t size)
{
    if (os_fail_now(ENOMEM))
        return NULL;
    void *p = hint == NULL ? MAP_FAILED
                           : mmap(hint, size, PROT_READ | PROT_WRITE,
                                  MAP_SHARED | MAP_FIXED_NOREPLACE, fd, off);
    if (p == MAP_FAILED)
        p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);
    return p == MAP_FAILED ? NULL : p;
}

int sl_os_remap_shared(void *addr, size_t size, int fd, off_t off, int prot)
{
    if (os_fail_now(ENOMEM))
        return -1;
    void *p = mmap(addr, size, prot, MAP_FIXED | MAP_SHARED | MAP_NORESERVE, fd, off);
    return p == MAP_FAILED ? -1 : 0;
}

int sl_os_pkey_alloc(void)
{
    if (os_fail_now(ENOSPC))
        return -1;
    return pkey_alloc(0, PKEY_DISABLE_WRITE);
}

int sl_os_pkey_protect(void *addr, size_t size, int key)
{
    if (os_fail_now(ENOMEM))
        return -1;
    return pkey_mprotect(addr, size, PROT_READ | PROT_WRITE, key);
}

/* ---- capability probes ------------------------------------------------ */

static pthread_once_t probe_once = PTHREAD_ONCE_INIT;
static bool cap_mseal, cap_memfd, cap_procmem;
static size_t cap_huge;

/* The PMD size of transparent huge pages if the kernel gives them to
 * madvise(MADV_HUGEPAGE)d anonymous memory ("always" or "madvise"), else 0. */
static size_t probe_huge(void)
{
    char mode[128] = "", size[32] = "";
    int fd = open("/sys/kernel/mm/transparent_hugepage/enabled", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, mode, sizeof mode - 1);
        mode[n > 0 ? n : 0] = 0;
        close(fd);
    }
    if (strstr(mode, "[always]") == NULL && strstr(mode, "[madvise]") == NULL)
        return 0;
    fd = open("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, size, sizeof size - 1);
    size[n > 0 ? n : 0] = 0;
    close(fd);
    unsigned long bytes = strtoul(size, NULL, 10);
    /* A power of two above the base page, or nothing we can align to. */
    return bytes > sl_os_page_size() && (bytes & (bytes - 1)) == 0 ? (size_t)bytes : 0;
}

static void probe(void)
{
    size_t pg = sl_os_page_size();
    /* An empty range: 0 where the kernel has mseal, ENOSYS where not. */
    cap_mseal = syscall(SYS_mseal, 0UL, 0UL, 0UL) == 0;
    int fd = memfd_create("sealloc-probe", MFD_CLOEXEC);
    if (fd >= 0) {
        cap_memfd = true;
        close(fd);
    }
    char *ro = mmap(NULL, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (ro != MAP_FAILED) {
        int mem = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
        char one = 1;
        cap_procmem = mem >= 0 && pwrite(mem, &one, 1, (off_t)(uintptr_t)ro) == 1 && ro[0] == 1;
        if (mem >= 0)
            close(mem);
        munmap(ro, pg);
    }
    cap_huge = probe_huge();
}

pid_t sl_os_thread_id(void) { return (pid_t)syscall(SYS_gettid); }

bool sl_os_thread_alive(pid_t tid)
{
    return syscall(SYS_tgkill, getpid(), tid, 0) == 0 || errno != ESRCH;
}

bool sl_os_has_mseal(void)
{
    pthread_once(&probe_once, probe);
    return cap_mseal;
}

bool sl_os_has_memfd(void)
{
    pthread_once(&probe_once, probe);
    return cap_memfd;
}

bool sl_os_has_procmem(void)
{
    pthread_once(&probe_once, probe);
    return cap_procmem;
}

size_t sl_os_huge_page_size(void)
{
    pthread_once(&probe_once, probe);
    return cap_huge;
}
