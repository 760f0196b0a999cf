/* SPDX-License-Identifier: MIT */
/*
 * writerare.c - seal_write(), seal_memset(), seal_write_ptr(): checked
 * updates of sealed objects that never make the object's address writable.
 *
 * Validation comes first and is the same for every call: the destination
 * range must lie inside one live object (cache: its object size) or one
 * live allocation (pool: the size asked for), found through the registry,
 * whose owner has SEAL_WRITE_RARE. Everything that resolution reads to
 * decide is read-only to the program: the registry's tables and root, the
 * arena descriptor, its span records (state, a large allocation's size, a
 * sealed slab's live bitmap) and the region's write_rare flag; only a pool
 * slot's requested size is writable, and it is bounded by the slot's
 * stride (object_verify()). Unsealed destinations are written directly.
 * Sealed ones go through the mechanism chosen once per process
 * (mechanism.c):
 *
 *   pkey     only with SEALLOC_WRITE_RARE=pkey, on a CPU with protection
 *            keys: sealed write-rare pages are tagged with one key whose
 *            rights are write-disabled in every thread (the key is
 *            allocated by a constructor, so threads created later inherit
 *            that); a write opens write access in the calling thread's PKRU
 *            for the copy only, with no system call. Not the default:
 *            Linux starts signal handlers with its default PKRU, which
 *            denies reads and writes through every key but 0, and so does
 *            a thread that did not inherit the library's rights (one that
 *            existed before the library was dlopen'ed) and a thread that
 *            left a signal handler with siglongjmp; all of them fault on a
 *            plain read of sealed write-rare data.
 *   memfd    write-rare owners' pages are shared mappings of a memfd:
 *            bytes go in with pwrite(2) on the memfd (the kernel copies;
 *            no mapping is ever writable), and a pointer store goes through
 *            a one-page writable alias mapped at a random address for the
 *            duration of one atomic release store, then unmapped;
 *   procmem  pwrite(2) on /proc/self/mem (private pages, mseal'd or not);
 *            it cannot promise a single-copy-atomic store, so
 *            seal_write_ptr() fails with ENOTSUP;
 *   none     every sealed write fails with ENOTSUP.
 */
#include "sealloc.h"

#include "guard.h"
#include "mechanism.h"
#include "meta.h"
#include "object.h"
#include "os.h"
#include "registry.h"
#include "sanitize.h"

#include <errno.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

/* The calling thread's write window on pkey-sealed pages. pkey_set() and
 * pkey_get() are the RDPKRU/WRPKRU instructions: no system call. */
static unsigned window_open(void)
{
    unsigned saved = (unsigned)pkey_get(SL_G->wr_key);
    pkey_set(SL_G->wr_key, 0);
    return saved;
}

static void window_close(unsigned saved) { pkey_set(SL_G->wr_key, saved); }

/* The validated target of a write: the arena and whether it is sealed. */
struct target {
    const struct sl_arena *arena;
    bool sealed;
};

/* 0 with *t filled and the registry entered, or -1 + errno (registry
 * left). */
SL_RACY_READER static int validate(const void *dst, size_t len, struct target *t)
{
    uintptr_t p = (uintptr_t)dst;
    if (len == 0 || p + len < p) {
        errno = EINVAL;
        return -1;
    }
    bool pinned;
    registry_enter();
    struct sl_arena *a = registry_find(p, &pinned);
    struct sl_obj obj;
    int err = 0;
    if (a == NULL || !object_find(a, p, &obj) || !obj.live)
        err = EINVAL;
    else if (object_verify(&obj, "write"), p + len > obj.start + obj.size)
        err = EINVAL;
    else if (!a->region->write_rare)
        err = EPERM;
    else if (obj.sealed && obj.span->inherited)
        err = EPERM; /* fork child: these pages are still the parent's */
    if (err != 0) {
        registry_exit();
        errno = err;
        return -1;
    }
    *t = (struct target){a, obj.sealed};
    return 0;
}

static int sealed_copy(const struct target *t, void *dst, const void *src, size_t len)
{
    switch (wr_mechanism()) {
    case WR_PKEY: {
        unsigned saved = window_open();
        memmove(dst, src, len);
        window_close(saved);
        return 0;
    }
    case WR_MEMFD:
        if (t->arena->fd >= 0)
            return sl_os_file_write(t->arena->fd,
                                    t->arena->fd_off + (off_t)((uintptr_t)dst - t->arena->base),
                                    src, len);
        /* A write-rare owner created before memfd was chosen cannot exist;
         * fall through defensively to the kernel-mediated path. */
        /* fall through */
    case WR_PROCMEM:
        return meta_kernel_write(dst, src, len);
    default:
        errno = ENOTSUP;
        return -1;
    }
}

int seal_write(void *dst, const void *src, size_t len)
{
    struct target t;
    if (src == NULL) {
        errno = EINVAL;
        return -1;
    }
    if (validate(dst, len, &t) != 0)
        return -1;
    int rc = 0;
    if (!t.sealed)
        memmove(dst, src, len);
    else
        rc = sealed_copy(&t, dst, src, len);
    registry_exit();
    return rc;
}

int seal_memset(void *dst, int c, size_t len)
{
    struct target t;
    if (validate(dst, len, &t) != 0)
        return -1;
    int rc = 0;
    if (!t.sealed) {
        memset(dst, c, len);
    } else {
        unsigned char chunk[512];
        memset(chunk, c, sizeof chunk);
        for (size_t done = 0; rc == 0 && done < len; done += sizeof chunk) {
            size_t n = len - done < sizeof chunk ? len - done : sizeof chunk;
            rc = sealed_copy(&t, (char *)dst + done, chunk, n);
        }
    }
    registry_exit();
    return rc;
}

/* A random page-aligned hint in the upper half of the user address space,
 * so the alias is not placed next to the previous mapping. */
static void *random_hint(void)
{
    static _Atomic uint64_t counter;
    uint64_t r = sl_mac(atomic_fetch_add(&counter, 1), (uint64_t)(uintptr_t)&counter, 0x616c696173);
    uint64_t lo = 1ull << 45, span = 1ull << 45;
    return (void *)(uintptr_t)((lo + r % span) & ~(uint64_t)(sl_os_page_size() - 1));
}

static int alias_store(const struct target *t, void *slot, const void *value)
{
    size_t pg = sl_os_page_size();
    const struct sl_arena *a = t->arena;
    off_t off = a->fd_off + (off_t)((uintptr_t)slot - a->base);
    off_t page_off = off & ~(off_t)(pg - 1);
    void *hint = SL_ALIAS_AT_RANDOM ? random_hint() : NULL;
    unsigned char *alias = sl_os_map_alias_at(hint, a->fd, page_off, pg);
    if (alias == NULL)
        return -1;
    _Atomic(const void *) *target = (_Atomic(const void *) *)(alias + (off - page_off));
    sl_tsan_release(slot); /* before the store a reader may see */
    atomic_store_explicit(target, value, memory_order_release);
    /* A writable alias left behind would be a standing write window. */
    if (sl_os_release(alias, pg) != 0)
        sl_fatal("seal_write_ptr", a->region->who.kind, a->region->who.name,
                 "cannot unmap the write-rare alias");
    return 0;
}

int seal_write_ptr(void *slot, const void *value)
{
    struct target t;
    if ((uintptr_t)slot % alignof(void *) != 0) {
        errno = EINVAL;
        return -1;
    }
    if (validate(slot, sizeof(void *), &t) != 0)
        return -1;
    int rc = 0;
    if (!t.sealed) {
        atomic_store_explicit((_Atomic(const void *) *)slot, value, memory_order_release);
    } else if (wr_mechanism() == WR_PKEY) {
        unsigned saved = window_open();
        atomic_store_explicit((_Atomic(const void *) *)slot, value, memory_order_release);
        window_close(saved);
    } else if (wr_mechanism() == WR_MEMFD && t.arena->fd >= 0) {
        rc = alias_store(&t, slot, value);
    } else {
        errno = ENOTSUP;
        rc = -1;
    }
    registry_exit();
    return rc;
}
