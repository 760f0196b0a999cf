/* SPDX-License-Identifier: MIT */
/*
 * meta.h - state the program cannot write: the library's globals and the
 * read-only pages of its metadata, and the writers that change them.
 *
 * Threat model (README "Security"): an attacker may write any byte that is
 * writable at that moment. So every global the library acts upon (the
 * secret, the write-rare mechanism, the registry's tables, the owners list
 * and its count, the destroy quarantine, the /proc/self/mem descriptor)
 * lives in one page-aligned, page-padded block, `sl_globals_page`, which is
 * read-only except inside meta_globals_begin() .. meta_globals_end(). Its
 * address is a link-time constant (no pointer to it is stored anywhere
 * writable), so reads go through SL_G.
 *
 * Metadata mappings (owner descriptors, arena control pages, registry
 * tables, the owners array) are read-only too; their owners change them
 * in one of two ways:
 *  - meta_open() .. meta_close(): the pages are writable for the few
 *    instructions of a change, made under the owner's lock (bulk changes:
 *    take, seal, reclaim, destroy). A second thread of the program could
 *    write them in that window: the residual risk of README "Security".
 *  - meta_write(): a kernel-mediated copy (pwrite(2) on /proc/self/mem)
 *    that never makes the pages writable at all; the pages are opened and
 *    closed around the copy only where /proc/self/mem is unavailable.
 * Every address handed to them comes from read-only state.
 *
 * Lock order: meta's globals lock is the last lock taken (registry.h,
 * owner.h); nothing is called while it is held.
 */
#ifndef SEALLOC_META_H
#define SEALLOC_META_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_QUARANTINE 64     /* destroyed descriptors kept mapped (owner.c) */
#define SL_GLOBALS_SIZE 65536 /* a whole page on every Linux page size */

struct sl_owner;

struct sl_globals {
    uint64_t secret[2];       /* guard.c: the per-process key; 0 until drawn */
    int wr_mechanism;         /* mechanism.c: enum wr_mechanism, -1 until chosen */
    int wr_key;               /* mechanism.c: the write-rare protection key, or -1 */
    int procmem_fd;           /* meta.c: this process's /proc/self/mem + 1, or 0 */
    void *registry_tables[2]; /* registry.c: its two table mappings */
    void *registry_active;    /* registry.c: the table readers use */
    struct sl_owner **owners; /* owner.c: live owners, a read-only mapping */
    size_t n_owners, owners_bytes;
    struct sl_owner *quarantine[SL_QUARANTINE]; /* owner.c: destroyed, still mapped */
    unsigned quarantine_next;
    size_t pinned_after_destroy; /* owner.c: bytes destroyed permanent owners left */
    void *owner_base;         /* owner.c: the reservation of owner descriptors */
    size_t owner_used;        /* owner.c: descriptor slots handed out so far */
    uint32_t owner_free[1024]; /* owner.c: slots given back, to reuse */
    uint32_t n_owner_free;
    struct sigaction fault_previous; /* fault.c: the SIGSEGV handler it chains to */
    bool fault_installed;
    void *mag_base;           /* magazine.c: the reservation of magazine blocks */
    size_t mag_used;          /* magazine.c: blocks of it handed out so far */
};

union sl_globals_page {
    struct sl_globals g;
    unsigned char page[SL_GLOBALS_SIZE];
};

extern union sl_globals_page sl_globals_page;

#define SL_G ((const struct sl_globals *)&sl_globals_page.g)

/* The globals, writable until meta_globals_end(); takes the globals lock. */
struct sl_globals *meta_globals_begin(void);
void meta_globals_end(void);

/* Make the page-aligned range [addr, addr + len) of read-only metadata
 * writable, and read-only again. Failures abort (a root of trust must not
 * stay writable, and nothing can be changed without it). */
void meta_open(void *addr, size_t len);
void meta_close(void *addr, size_t len);

/* Copy len bytes into read-only metadata without making it writable. */
void meta_write(void *dst, const void *src, size_t len);

/* The same for a field of the globals block (SL_G->field). The copy is not
 * single-copy atomic: only for fields read under a lock, never for those
 * read lock-free (use meta_globals_begin() and an atomic store). */
static inline void meta_globals_write(const void *field, const void *src, size_t len)
{
    meta_write((void *)(uintptr_t)field, src, len);
}

/* A kernel-mediated copy into any mapping of this process (read-only,
 * mseal'd): 0, or -1 + errno (no /proc/self/mem). For write-rare. */
int meta_kernel_write(void *dst, const void *src, size_t len);

/* fork(2): hold the globals lock across it; in the child, replace the
 * parent's /proc/self/mem descriptor (writes through it would land in the
 * parent) before anything writes. */
void meta_lock_for_fork(void);
void meta_unlock_after_fork(void);
void meta_child_after_fork(void);

#endif
