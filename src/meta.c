/* SPDX-License-Identifier: MIT */
/*
 * meta.c - the read-only globals block and the metadata writers (meta.h).
 *
 * The block is in the library's .bss, aligned and padded to 64 KiB so it
 * shares no page with writable data, and read-only from the first change
 * on. The globals lock only orders writers; forging it can make a writer
 * wait, never write.
 */
#include "meta.h"

#include "lock.h"
#include "os.h"
#include "report.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

__attribute__((aligned(SL_GLOBALS_SIZE), visibility("hidden")))
union sl_globals_page sl_globals_page = {.g = {.wr_mechanism = -1, .wr_key = -1}};

static pthread_mutex_t globals_lock = PTHREAD_MUTEX_INITIALIZER;

static void fatal(const char *what)
{
    sl_fatal("meta", "process", "-", "%s: %s", what, strerror(errno));
}

static size_t globals_bytes(void)
{
    size_t pg = sl_os_page_size();
    return SL_GLOBALS_SIZE > pg ? SL_GLOBALS_SIZE : pg;
}

/* Only an injected failure is plausible on pages of our own: retry once. */
void meta_open(void *addr, size_t len)
{
    if (sl_os_commit(addr, len) != 0 && sl_os_commit(addr, len) != 0)
        fatal("cannot make metadata writable");
}

void meta_close(void *addr, size_t len)
{
    if (sl_os_protect_ro(addr, len) != 0 && sl_os_protect_ro(addr, len) != 0)
        fatal("cannot make metadata read-only");
}

struct sl_globals *meta_globals_begin(void)
{
    sl_lock(&globals_lock, NULL, "globals lock");
    meta_open(&sl_globals_page, globals_bytes());
    return &sl_globals_page.g;
}

void meta_globals_end(void)
{
    meta_close(&sl_globals_page, globals_bytes());
    sl_unlock(&globals_lock, NULL, "globals lock");
}

/* The descriptor, opened on first use (under the globals lock). */
static int procmem(void)
{
    int fd = __atomic_load_n(&SL_G->procmem_fd, __ATOMIC_ACQUIRE) - 1;
    if (fd >= 0 || !sl_os_has_procmem())
        return fd;
    struct sl_globals *g = meta_globals_begin();
    if (g->procmem_fd == 0) {
        int opened = sl_os_procmem_open();
        if (opened >= 0)
            __atomic_store_n(&g->procmem_fd, opened + 1, __ATOMIC_RELEASE);
    }
    fd = g->procmem_fd - 1;
    meta_globals_end();
    return fd;
}

int meta_kernel_write(void *dst, const void *src, size_t len)
{
    int fd = procmem();
    if (fd < 0) {
        errno = ENOTSUP;
        return -1;
    }
    return sl_os_procmem_write(fd, dst, src, len);
}

void meta_write(void *dst, const void *src, size_t len)
{
    if (len == 0)
        return;
    if (meta_kernel_write(dst, src, len) == 0)
        return;
    /* No /proc/self/mem (or a failed copy): open the pages for the copy. */
    size_t pg = sl_os_page_size();
    uintptr_t lo = (uintptr_t)dst & ~(uintptr_t)(pg - 1);
    uintptr_t hi = ((uintptr_t)dst + len + pg - 1) & ~(uintptr_t)(pg - 1);
    meta_open((void *)lo, hi - lo);
    __builtin_memcpy(dst, src, len);
    meta_close((void *)lo, hi - lo);
}

void meta_lock_for_fork(void) { sl_lock(&globals_lock, NULL, "globals lock"); }
void meta_unlock_after_fork(void) { sl_unlock(&globals_lock, NULL, "globals lock"); }

void meta_child_after_fork(void)
{
    sl_lock_reset(&globals_lock);
    int inherited = SL_G->procmem_fd - 1;
    if (inherited < 0)
        return;
    struct sl_globals *g = meta_globals_begin();
    g->procmem_fd = 0; /* reopened on first use, as the child's own */
    meta_globals_end();
    sl_os_close(inherited);
}
