/* SPDX-License-Identifier: MIT */
/*
 * os.h - the platform contract: the only layer that makes memory system calls.
 *
 * Every function here takes page-aligned addresses and non-zero,
 * page-multiple sizes, and returns 0 (or a pointer) on success and -1 (or
 * NULL) with errno set on failure; nothing here allocates, locks or prints,
 * so the functions marked "async-signal-safe" may run in a signal handler.
 *
 * Memory comes in two backings:
 *  - private anonymous (fd < 0): the default;
 *  - shared mappings of a memfd (fd >= 0), used for write-rare owners so
 *    that a sealed page can be written through the file (pwrite) or a
 *    short-lived alias mapping without ever changing the primary mapping.
 *
 * Test builds (SEALLOC_TESTING) can make the Nth call of this layer fail
 * with that call's real errno (see sl_os_inject_failure()).
 */
#ifndef SEALLOC_OS_H
#define SEALLOC_OS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

size_t sl_os_page_size(void);

/* Reserve size bytes of address space, PROT_NONE (no memory is committed).
 * fd >= 0 maps the memfd fd, shared, from offset 0. An anonymous
 * reservation is named "sealloc:meta" (see sl_os_name()). */
void *sl_os_reserve(size_t size, int fd);

/* Advisory: name the anonymous mapping [addr, addr+size) "sealloc:<name>"
 * for /proc/PID/maps, smaps and pmap (PR_SET_VMA_ANON_NAME, Linux 5.17+
 * with CONFIG_ANON_VMA_NAME); characters the kernel refuses become '_'.
 * Errors are ignored (where the kernel refuses, or for a memfd mapping,
 * which shows its file's name): not part of failure injection. The name
 * is lost where a fixed mapping replaces part of the range
 * (sl_os_discard): name it again there. */
void sl_os_name(void *addr, size_t size, const char *name);

/* Make [addr, addr+size) readable and writable. */
int sl_os_commit(void *addr, size_t size);

/* Advisory: fault in the pages of a committed range now, in one call, rather
 * than one page fault per page on first touch (MADV_POPULATE_WRITE, Linux
 * 5.14+). Errors are ignored (the pages then fault in as usual), so it is
 * not part of failure injection. */
void sl_os_prefault(void *addr, size_t size);

/* Advisory: let the kernel back [addr, addr+size) with transparent huge
 * pages (MADV_HUGEPAGE) wherever a whole, aligned huge page of it is
 * readable and writable when it faults. Errors are ignored, as for
 * sl_os_prefault(). A fixed mapping placed over part of the range later
 * (sl_os_discard) drops the hint there. */
void sl_os_hint_huge(void *addr, size_t size);

/* Bytes of [addr, addr+size) backed by memory of this process's own now:
 * pages present and mapped only here (/proc/self/pagemap). Pages that were
 * only read map the kernel's shared zero page and do not count (mincore(2)
 * would count them) where the kernel answers read faults with it, as most
 * do; where it gives the process a page of its own, that page counts. Nor
 * do pages shared with a fork child until one side writes them. Advisory,
 * for statistics: 0 where /proc is not mounted. Not part of failure
 * injection: it changes no memory. */
size_t sl_os_resident(const void *addr, size_t size);

/* Process-wide memory barrier, for lock-free fast paths that order their
 * loads and stores with compiler barriers only: after sl_os_barrier_all()
 * returns, every other thread of the process has executed a full memory
 * barrier (membarrier(2), private expedited). sl_os_barrier_register() must
 * have returned 0 first; it returns -1 + errno where the kernel has no
 * membarrier (callers then fence on their fast paths instead). Once
 * registered, sl_os_barrier_all() fails only if something (a seccomp
 * filter installed later) denies the call: -1 + errno. Neither is part of
 * failure injection: they change no memory. */
int sl_os_barrier_register(void);
int sl_os_barrier_all(void);

/* Which pages of [addr, addr+size) have memory behind them: vec[i] bit 0
 * for page i (mincore(2)). A page without memory reads as zeros. Not part
 * of failure injection: it changes nothing. */
int sl_os_present(void *addr, size_t size, unsigned char *vec);

/* Make [addr, addr+size) read-only. */
int sl_os_protect_ro(void *addr, size_t size);

/* Seal [addr, addr+size) permanently with mseal(2). */
int sl_os_mseal(void *addr, size_t size);

/* Give the memory of [addr, addr+size) back to the OS and make the range
 * PROT_NONE. fd/off: the memfd backing the range and its offset, or -1. */
int sl_os_discard(void *addr, size_t size, int fd, off_t off);

/* Unmap [addr, addr+size); a failure is retried once before -1. */
int sl_os_release(void *addr, size_t size);

/* A new close-on-exec memfd of size bytes (sparse: no memory committed),
 * named "sealloc:<name>" (its mappings show as /memfd:sealloc:<name>). */
int sl_os_memfd(const char *name, size_t size);

/* Close fd. */
void sl_os_close(int fd);

/* A protection key whose rights start write-disabled in the calling thread
 * (threads it creates later inherit them); -1 + errno where the CPU or
 * kernel has none. */
int sl_os_pkey_alloc(void);

/* Make [addr, addr+size) readable and writable in the page tables, tagged
 * with key: only threads whose PKRU allows the key can store. */
int sl_os_pkey_protect(void *addr, size_t size, int key);

/* The calling thread's id (gettid(2)), and whether tid is a thread of this
 * process now (tgkill(2) with signal 0). Async-signal-safe; not part of
 * failure injection. */
pid_t sl_os_thread_id(void);
bool sl_os_thread_alive(pid_t tid);

/* Capabilities, probed once (thread-safe, idempotent). */
bool sl_os_has_mseal(void);
bool sl_os_has_memfd(void);
bool sl_os_has_procmem(void);
/* Bytes per transparent huge page when the kernel hands them to hinted
 * anonymous memory (sysfs "enabled" is always or madvise), else 0. */
size_t sl_os_huge_page_size(void);

/* Kernel-mediated copy of len bytes from src into the memfd at off. */
int sl_os_file_write(int fd, off_t off, const void *src, size_t len);

/* Copy len bytes at off from the memfd src to the memfd dst, inside the
 * kernel: no mapping of either is read or written. */
int sl_os_file_copy(int dst, int src, off_t off, size_t len);

/* A close-on-exec descriptor for /proc/self/mem, or -1 + errno. It keeps
 * referring to the process that opened it: a fork child opens its own. */
int sl_os_procmem_open(void);

/* Kernel-mediated copy of len bytes into this process's memory at dst
 * through fd, from sl_os_procmem_open() (works on read-only and mseal'd
 * private pages). */
int sl_os_procmem_write(int fd, void *dst, const void *src, size_t len);

/* A writable alias of one page-aligned range of the memfd, placed at hint
 * when that range is free (else where the kernel chooses); sl_os_release()
 * removes it. */
void *sl_os_map_alias_at(void *hint, int fd, off_t off, size_t size);

/* Replace [addr, addr+size) with a shared mapping of fd at off with the
 * given protection (used to give a fork child private copies). */
int sl_os_remap_shared(void *addr, size_t size, int fd, off_t off, int prot);

/* Fault injection for tests: the countdown-th call of this layer from now
 * (1: the next one) fails with its own errno, once; 0 disables.
 * sl_os_calls() counts the calls made since the last arming. */
#if SEALLOC_TESTING
void sl_os_inject_failure(unsigned long countdown);
unsigned long sl_os_calls(void);
#endif

#endif /* SEALLOC_OS_H */
