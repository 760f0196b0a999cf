/* SPDX-License-Identifier: MIT */
/*
 * sanitize.h - tell memory and thread checkers what the library does on
 * purpose.
 *
 * In ASan builds (SEALLOC_ASAN) free slots and slab tails are poisoned, so
 * an overflow from one object into its neighbour's free slot, or a use of a
 * freed (unsealed) object, is reported. Under Valgrind the same ranges are
 * marked inaccessible through its client requests, when its header is
 * available at build time and the process runs under Valgrind. Elsewhere
 * these compile to nothing.
 *
 * SL_RACY_READER marks the lock-free readers of records that the owner's
 * lock holder updates (lookups for owns, require, write-rare, is_sealed and
 * fault attribution). Their reads are racy by design: a stale answer stays
 * bounded to one slot of the same owner (see object.h). The attribute keeps
 * ThreadSanitizer from reporting them while every writer stays checked.
 */
#ifndef SEALLOC_SANITIZE_H
#define SEALLOC_SANITIZE_H

#include <stddef.h>
#include <stdint.h>

#if SEALLOC_ASAN
#include <sanitizer/asan_interface.h>
#define sl_poison(p, n) ASAN_POISON_MEMORY_REGION((void *)(p), (n))
#define sl_unpoison(p, n) ASAN_UNPOISON_MEMORY_REGION((void *)(p), (n))
#elif defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#include <stdbool.h>
/* Whether the process runs under Valgrind, read once at load (sanitize.c):
 * outside it the fast paths pay a load and a branch, not the client
 * request's dozen instructions. */
extern bool sl_on_valgrind;
#define SL_VALGRIND 1
#define sl_poison(p, n)                                                                      \
    (__builtin_expect(sl_on_valgrind, 0) ? (void)VALGRIND_MAKE_MEM_NOACCESS((void *)(p), (n)) \
                                         : (void)0)
#define sl_unpoison(p, n)                                                                    \
    (__builtin_expect(sl_on_valgrind, 0) ? (void)VALGRIND_MAKE_MEM_DEFINED((void *)(p), (n))  \
                                         : (void)0)
#endif
#endif

/* ASan keeps one shadow byte per 8 bytes and updates it with a plain
 * read-modify-write: slots that shared a granule would race when two
 * threads' lock-free paths (magazine.h) poison neighbours. */
#if SEALLOC_ASAN
#define SL_POISON_GRANULE 8
#else
#define SL_POISON_GRANULE 1
#endif

#ifndef sl_poison
#define sl_poison(p, n) ((void)(p), (void)(n))
#define sl_unpoison(p, n) ((void)(p), (void)(n))
#endif

#define SL_RACY_READER __attribute__((no_sanitize("thread")))

/* A pointer published through a write-rare alias is stored at the alias's
 * address, which ThreadSanitizer cannot connect to the object: tell it the
 * store releases the object. Its shadow memory also covers only the usual
 * mmap ranges, so aliases go where the kernel puts them under TSan. */
#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#define sl_tsan_release(p) __tsan_release((void *)(p))
#define SL_ALIAS_AT_RANDOM 0
#else
#define sl_tsan_release(p) ((void)(p))
#define SL_ALIAS_AT_RANDOM 1
#endif

#endif
