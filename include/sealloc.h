/* SPDX-License-Identifier: MIT */
/*
 * sealloc.h - post-init read-only protection for dynamically allocated data.
 *
 * A program allocates and fills its important data (policy, configuration,
 * compiled rules, tables of function pointers) from a sealable cache or
 * pool, then seals it: the page tables make every object allocated so far
 * read-only. Allocation goes on afterwards on fresh pages. Sealed objects
 * can still be freed and, where the owner allows it, updated through the
 * checked write-rare calls, which never make the object's address writable.
 *
 * Conventions used by every call below:
 *  - Calls returning int give 0 (or a documented positive answer) on success
 *    and -1 with errno set on failure; calls returning a pointer give NULL
 *    with errno set.
 *  - "Aborts" means: one line on stderr starting with "sealloc:", naming the
 *    call and the cache or pool, then abort(). This is reserved for misuse
 *    that proves memory corruption or a program bug (a bad free, a failed
 *    provenance check, corrupted allocator metadata).
 *  - Every call is thread-safe. seal_is_sealed() is also async-signal-safe.
 */
#ifndef SEALLOC_H
#define SEALLOC_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define SEALLOC_API __attribute__((visibility("default")))
#define SEALLOC_MALLOC __attribute__((malloc))
#define SEALLOC_WARN_UNUSED __attribute__((warn_unused_result))
#else
#define SEALLOC_API
#define SEALLOC_MALLOC
#define SEALLOC_WARN_UNUSED
#endif

/* ---------------------------------------------------------------------
 * Flags for seal_cache_create() and seal_pool_create()  [seal_cache_create(3)]
 * ------------------------------------------------------------------- */

/* The seal is irreversible: sealed pages are mseal(2)ed (Linux >= 6.10), so
 * mprotect, munmap, mremap and madvise(MADV_DONTNEED) on them fail with
 * EPERM. Creation fails with ENOTSUP where the kernel cannot do this. Sealed
 * memory of a permanent owner is never returned to the OS (it is "pinned"). */
#define SEAL_PERMANENT 0x1u

/* Sealed objects may be updated through seal_write() and friends. */
#define SEAL_WRITE_RARE 0x2u

/* ---------------------------------------------------------------------
 * Caches: fixed-size objects (the slab allocator)  [seal_cache_create(3)]
 *
 * Every call taking a seal_cache aborts if it is not a live cache (NULL
 * included, except for seal_cache_destroy(NULL), a no-op, and
 * seal_cache_unseal(NULL), EINVAL).
 * ------------------------------------------------------------------- */

typedef struct seal_cache seal_cache;

/* Create a cache of objects of `size` bytes aligned to `align` (0: the
 * default, alignof(max_align_t) or the next power of two above size when
 * that is smaller). `name` is copied (at most 63 bytes are kept).
 * Errors: EINVAL (name NULL, size 0 or too large, align not a power of two
 * or above the page size, unknown flag), ENOTSUP (SEAL_PERMANENT without
 * kernel support, or SEAL_PERMANENT|SEAL_WRITE_RARE with no write-rare
 * mechanism), ENOMEM. */
SEALLOC_API seal_cache *seal_cache_create(const char *name, size_t size,
                                          size_t align, unsigned flags);

/* A zero-filled object, never on a sealed page. Errors: ENOMEM (the cache
 * stays fully usable). Aborts if c is not a live cache. */
SEALLOC_API void *seal_cache_alloc(seal_cache *c) SEALLOC_MALLOC;

/* Free obj (NULL is a no-op). Never writes to a sealed object. Aborts on a
 * pointer that is not the start of a live object of c (foreign, interior,
 * double free, wrong cache). */
SEALLOC_API void seal_cache_free(seal_cache *c, void *obj);

/* Make every live object of c read-only in the page tables: stores fault,
 * system calls writing into them fail with EFAULT. May be called any
 * number of times. Errors: the errno of the failing mprotect/mseal
 * (typically ENOMEM, or EPERM); objects already sealed stay sealed. */
SEALLOC_API int seal_cache_seal(seal_cache *c);

/* Teardown aid [seal_cache_unseal(3)]: make every sealed object of c
 * writable again (its pages read-write, one mprotect per contiguous run),
 * so that code which stores into objects while freeing them can run;
 * frees then take the ordinary path and a later seal works as before.
 * Errors: EINVAL (c NULL), EPERM (c is SEAL_PERMANENT: nothing changes),
 * the errno of the failing mprotect (objects it did not cover stay
 * sealed). Aborts if c is not a live cache. */
SEALLOC_API int seal_cache_unseal(seal_cache *c);

/* Destroy c and every object in it (NULL is a no-op). Sealed pages of a
 * permanent cache stay mapped read-only until exit. No errors. */
SEALLOC_API void seal_cache_destroy(seal_cache *c);

/* 1 if obj is the start of a live object of c, else 0. No errors. */
SEALLOC_API int seal_cache_owns(const seal_cache *c, const void *obj);

/* Provenance check [seal_cache_require(3)]: returns only if obj is the
 * start of a live, sealed object of c; aborts otherwise (a forged, foreign,
 * interior, freed or unsealed pointer). Lock-free. */
SEALLOC_API void seal_cache_require(const seal_cache *c, const void *obj);

/* ---------------------------------------------------------------------
 * Pools: variable-size allocations (arena-like)  [seal_pool_create(3)]
 *
 * Every call taking a seal_pool aborts if it is not a live pool (NULL
 * included, except for seal_pool_destroy(NULL), a no-op, and
 * seal_pool_unseal(NULL), EINVAL).
 * ------------------------------------------------------------------- */

typedef struct seal_pool seal_pool;

/* Create a pool; `name` is copied. Errors: EINVAL (name NULL, unknown
 * flag), ENOTSUP (as for seal_cache_create()), ENOMEM. */
SEALLOC_API seal_pool *seal_pool_create(const char *name, unsigned flags);

/* size bytes, zero-filled, aligned to alignof(max_align_t). size 0 gives a
 * unique allocation of no byte (as glibc's malloc(0)). Errors: ENOMEM. */
SEALLOC_API void *seal_pool_alloc(seal_pool *p, size_t size) SEALLOC_MALLOC;

/* As seal_pool_alloc(), aligned to align (a power of two up to the page
 * size). Errors: EINVAL (align 0, not a power of two or above the page
 * size), ENOMEM. */
SEALLOC_API void *seal_pool_aligned_alloc(seal_pool *p, size_t align,
                                          size_t size) SEALLOC_MALLOC;

/* A copy of s in p. Errors: EINVAL (s NULL), ENOMEM. */
SEALLOC_API char *seal_pool_strdup(seal_pool *p, const char *s) SEALLOC_MALLOC;

/* Resize ptr (NULL: allocate, as seal_pool_alloc(), size 0 included). The
 * result is always writable: a sealed allocation is copied and the old one
 * freed (never written). size 0 with a non-null ptr frees ptr and returns
 * NULL without an error. Errors: ENOMEM (ptr untouched). Aborts as
 * seal_pool_free() for a bad ptr. */
SEALLOC_API void *seal_pool_realloc(seal_pool *p, void *ptr, size_t size);

/* Free ptr (NULL is a no-op). Never writes to a sealed allocation. Aborts
 * on a pointer that is not the start of a live allocation of p (foreign,
 * interior, double free, wrong pool). */
SEALLOC_API void seal_pool_free(seal_pool *p, void *ptr);

/* Seal every live allocation of p. Errors as seal_cache_seal(). */
SEALLOC_API int seal_pool_seal(seal_pool *p);

/* As seal_cache_unseal(), for a pool (large allocations included).
 * Errors: EINVAL (p NULL), EPERM (p is SEAL_PERMANENT), as mprotect. */
SEALLOC_API int seal_pool_unseal(seal_pool *p);

/* Destroy p and all its allocations (NULL is a no-op). Sealed pages of a
 * permanent pool stay mapped read-only until exit. No errors. */
SEALLOC_API void seal_pool_destroy(seal_pool *p);

/* 1 if ptr is the start of a live allocation of p, else 0. No errors. */
SEALLOC_API int seal_pool_owns(const seal_pool *p, const void *ptr);

/* Provenance check [seal_cache_require(3)]: returns only if ptr is the
 * start of a live, sealed allocation of p; aborts otherwise. Lock-free. */
SEALLOC_API void seal_pool_require(const seal_pool *p, const void *ptr);

/* ---------------------------------------------------------------------
 * Which owner holds a pointer; hooks without a context  [seal_scope_push(3)]
 * ------------------------------------------------------------------- */

/* The live cache (pool) of which p is the start of a live object
 * (allocation), or NULL: for any other pointer, freed memory, and memory
 * of destroyed owners. Lock-free and async-signal-safe; no errors. */
SEALLOC_API seal_cache *seal_cache_of(const void *p);
SEALLOC_API seal_pool *seal_pool_of(const void *p);

/* Allocation hooks for libraries whose malloc/free replacement is
 * process-global and takes no context pointer (cJSON, jansson, expat,
 * libxml2). Each thread has a stack of current pools:
 *
 *     seal_scope_push(pool);        // this thread now allocates from pool
 *     doc = cJSON_Parse(text);      // with cJSON_InitHooks on seal_scope_*
 *     seal_scope_pop();
 *     seal_pool_seal(pool);
 *
 * seal_scope_malloc/strdup allocate from the innermost pool, or from libc
 * outside any scope (or in a scope pushed with NULL). seal_scope_free and
 * seal_scope_realloc find the pool by the pointer (seal_pool_of()), so a
 * library may free later, outside any scope or in another thread; libc
 * gets only memory sealloc does not manage, and a pointer into sealloc's
 * memory that is not a live pool allocation aborts. */
#define SEAL_SCOPE_DEPTH 16

/* Push pool (NULL: libc) on this thread's stack. 0, or -1 with EOVERFLOW
 * when SEAL_SCOPE_DEPTH scopes are open. Aborts if pool is not a live
 * pool. */
SEALLOC_API int seal_scope_push(seal_pool *pool);

/* Pop the innermost scope; aborts if there is none. */
SEALLOC_API void seal_scope_pop(void);

/* This thread's innermost pool; NULL outside a scope. */
SEALLOC_API seal_pool *seal_scope_current(void);

/* malloc, realloc, free and strdup as described above. Errors: those of
 * the pool calls, or libc's. strdup(NULL): EINVAL. */
SEALLOC_API void *seal_scope_malloc(size_t size);
SEALLOC_API void *seal_scope_realloc(void *ptr, size_t size);
SEALLOC_API void seal_scope_free(void *ptr);
SEALLOC_API char *seal_scope_strdup(const char *s);

/* ---------------------------------------------------------------------
 * Write-rare: checked updates of sealed objects  [seal_write(3)]
 *
 * A destination these calls refuse is an error (-1 + errno), never an abort.
 * ------------------------------------------------------------------- */

/* Copy len bytes to dst, which must lie entirely inside one live object or
 * pool allocation whose owner has SEAL_WRITE_RARE. The object's own address
 * never becomes writable. Errors: EINVAL (dst, dst+len not inside one live
 * object; len 0; src NULL), EPERM (owner lacks SEAL_WRITE_RARE), ENOTSUP
 * (no write-rare mechanism on this system), or the mechanism's errno. */
SEALLOC_API int seal_write(void *dst, const void *src, size_t len);

/* As seal_write(), filling len bytes with the byte c. Errors as
 * seal_write() (except for src). */
SEALLOC_API int seal_memset(void *dst, int c, size_t len);

/* Store a pointer into the pointer-sized, pointer-aligned slot as one
 * single-copy-atomic store with release ordering (readers pair it with an
 * acquire load). Errors as seal_write(), and EINVAL for a misaligned slot. */
SEALLOC_API int seal_write_ptr(void *slot, const void *value);

/* Typed one-field update: SEAL_ASSIGN(rule->limit, 10). The value is
 * converted as by assignment to the field's type (a mismatch is a compile
 * error or warning, as for `=`); each argument is evaluated once. Yields
 * seal_write()'s result: 0, or -1 with errno (EINVAL, EPERM, ENOTSUP, as
 * for seal_write()). Never aborts. */
#if defined(__cplusplus)
extern "C++" {
/* The C++ branch: a named copy of the converted value (a temporary's
 * address cannot be taken), written with seal_write(). The field may be
 * reached through a const path (sealed data is usually viewed as const). */
template <class F, class V> inline int sealloc_assign_(F &field, const V &value)
{
    F converted = value;
    return seal_write(const_cast<void *>(static_cast<const void *>(&field)), &converted,
                      sizeof converted);
}
}
#define SEAL_ASSIGN(lvalue, value) sealloc_assign_((lvalue), (value))
#else
#define SEAL_ASSIGN(lvalue, value)                                            \
    seal_write(&(lvalue), (const __typeof__(lvalue)[1]){(value)},             \
               sizeof(lvalue))
#endif

/* ---------------------------------------------------------------------
 * Diagnostics  [seal_fault_handler_install(3), seal_stats_print(3)]
 *
 * These calls never abort and, except as stated, set no errno.
 * ------------------------------------------------------------------- */

/* 1 if addr lies in sealed memory managed by sealloc, else 0.
 * Async-signal-safe and lock-free. */
SEALLOC_API int seal_is_sealed(const void *addr);

/* Install a SIGSEGV handler that, for a write to sealed memory, prints one
 * line naming the cache or pool, the object index (pool: the allocation's
 * start address and size) and the offset inside the object, then lets the process die of SIGSEGV.
 * Other faults go to the previously installed handler. Idempotent.
 * Errors: ENOMEM (no memory for the alternate signal stack), or the errno
 * of sigaltstack/sigaction. */
SEALLOC_API int seal_fault_handler_install(void);

/* Counts of one cache or pool  [seal_cache_stats(3)], derived from the
 * allocator's records at the time of the call.
 *
 * Room to grow: the struct's size is fixed (128 bytes). A later version
 * puts new fields in `reserved`, which this version sets to zero, and
 * raises SEAL_STATS_VERSION; the library writes the version it filled in
 * `version`, so a program reads a newer field only when version says it
 * was filled. Nothing needs setting before the call. */
#define SEAL_STATS_VERSION 2

struct seal_stats {
    uint32_t version;         /* the SEAL_STATS_VERSION the library filled */
    uint32_t flags;           /* the owner's SEAL_* flags */
    uint64_t object_size;     /* cache: the object size; pool: 0 */
    uint64_t live;            /* objects or allocations the program holds */
    uint64_t sealed;          /* of those, on sealed pages */
    uint64_t spans;           /* slabs, and page runs of large allocations */
    uint64_t committed_bytes; /* whole slabs and runs in use (open or sealed) */
    uint64_t resident_bytes;  /* pages of the owner's spans in RAM now */
    uint64_t sealed_bytes;    /* committed bytes that are sealed */
    uint64_t pinned_bytes;    /* mseal'd bytes, never given back */
    uint64_t seals;           /* seals that succeeded */
    uint64_t unseals;         /* unseals that succeeded (version 2) */
    uint64_t reserved[5];     /* zero; later versions' fields */
};

/* Fill *out with c's counts. Errors: EINVAL (out NULL). Aborts if c is
 * not a live cache. */
SEALLOC_API int seal_cache_stats(seal_cache *c, struct seal_stats *out);

/* As seal_cache_stats(), for a pool. */
SEALLOC_API int seal_pool_stats(seal_pool *p, struct seal_stats *out);

/* Print one row per live cache and pool (name, object size, and the
 * figures of seal_cache_stats()) and the write-rare mechanism.
 * SEALLOC_STATS=1 in the environment prints it to stderr at exit. out NULL
 * means stderr. */
SEALLOC_API void seal_stats_print(FILE *out);

/* The name of the write-rare mechanism in use: "pkey", "memfd", "procmem"
 * or "none" (a static string; chosen once, at load time: memfd unless
 * SEALLOC_WRITE_RARE=pkey or =procmem asks for another). */
SEALLOC_API const char *seal_write_rare_mechanism(void);

#ifdef __cplusplus
}
#endif

#endif /* SEALLOC_H */
