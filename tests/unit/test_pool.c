/* SPDX-License-Identifier: MIT */
/*
 * test_pool.c - the pool API: sizes from 1 byte to 64 MiB, alignment,
 * aligned_alloc up to the page size, strdup, realloc (in place, across
 * classes, of a sealed allocation, NULL and 0), free, seal, owns and
 * require, reclaim of sealed chunks, and ENOMEM leaving the pool usable.
 */
#include "check.h"
#include "os.h"
#include "probe.h"
#include "sealloc.h"

#include <errno.h>
#include <stdalign.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>

static bool all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return false;
    return true;
}

static void store_byte(void *p) { *(volatile char *)p = 1; }

static void sizes_one_byte_to_64_mib(void)
{
    seal_pool *p = seal_pool_create("sizes", 0);
    CHECK(p != NULL);
    size_t sizes[] = {1,    2,     15,    16,     17,      100,     255,      256,      257,
                      1000, 4095,  4096,  4097,   16383,   16384,   16385,    65536,    100000,
                      1 << 20, (1 << 20) + 1, 8u << 20, 64u << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        unsigned char *a = seal_pool_alloc(p, sizes[i]);
        CHECK(a != NULL);
        if (a == NULL)
            continue;
        CHECK((uintptr_t)a % alignof(max_align_t) == 0);
        CHECK(all_zero(a, sizes[i]));
        memset(a, 0x5a, sizes[i]);
        CHECK(a[sizes[i] - 1] == 0x5a);
        CHECK(seal_pool_owns(p, a) == 1);
        CHECK(sizes[i] < 2 || seal_pool_owns(p, a + 1) == 0);
        seal_pool_free(p, a);
        CHECK(seal_pool_owns(p, a) == 0);
    }
    /* A freed slot comes back zero-filled. */
    for (int k = 0; k < 100; k++) {
        unsigned char *a = seal_pool_alloc(p, 40);
        CHECK(all_zero(a, 40));
        memset(a, 0xff, 40);
        seal_pool_free(p, a);
    }
    seal_pool_destroy(p);
}

static void aligned_alloc_up_to_page(void)
{
    seal_pool *p = seal_pool_create("aligned", 0);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t sizes[] = {1, 24, 100, 3000, 5000, 70000};
    for (size_t align = 1; align <= page; align *= 2)
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            unsigned char *a = seal_pool_aligned_alloc(p, align, sizes[i]);
            CHECK(a != NULL && (uintptr_t)a % align == 0);
            CHECK(a != NULL && all_zero(a, sizes[i]));
            CHECK(seal_pool_owns(p, a));
            if (a != NULL)
                memset(a, 1, sizes[i]);
        }
    errno = 0;
    CHECK(seal_pool_aligned_alloc(p, 3, 8) == NULL && errno == EINVAL);
    errno = 0;
    CHECK(seal_pool_aligned_alloc(p, 0, 8) == NULL && errno == EINVAL);
    errno = 0;
    CHECK(seal_pool_aligned_alloc(p, page * 2, 8) == NULL && errno == EINVAL);
    seal_pool_destroy(p);
}

/* Size 0, as malloc(0) and realloc(NULL, 0) on glibc: a unique allocation
 * that holds no byte (write-rare refuses it), freeable and resizable. */
static void size_zero_is_unique(void)
{
    seal_pool *p = seal_pool_create("zero", SEAL_WRITE_RARE);
    errno = 0;
    char *a = seal_pool_alloc(p, 0), *b = seal_pool_alloc(p, 0);
    char *c = seal_pool_realloc(p, NULL, 0);
    char *d = seal_pool_aligned_alloc(p, 4096, 0);
    CHECK(errno == 0 && a != NULL && b != NULL && c != NULL && d != NULL);
    CHECK(a != b && a != c && b != c && ((uintptr_t)d & 4095) == 0);
    CHECK(seal_pool_owns(p, a) && seal_pool_owns(p, b) && seal_pool_owns(p, c) &&
          seal_pool_owns(p, d));
    CHECK(seal_pool_of(a) == p && seal_pool_of(d) == p);
    errno = 0;
    CHECK(seal_write(a, "x", 1) == -1 && errno == EINVAL);
    char *grown = seal_pool_realloc(p, b, 20);
    CHECK(grown != NULL && all_zero((unsigned char *)grown, 20) && seal_pool_owns(p, grown));
    char *same = seal_pool_alloc(p, 0), *in_place = seal_pool_realloc(p, same, 8);
    CHECK(in_place == same); /* the same class: resized where it is */
    memset(in_place, 7, 8);
    CHECK(seal_write(in_place + 7, "x", 1) == 0 && in_place[7] == 'x');
    CHECK(seal_pool_seal(p) == 0);
    seal_pool_require(p, a);
    struct seal_stats st;
    CHECK(seal_pool_stats(p, &st) == 0 && st.live == 5 && st.sealed == 5);
    seal_pool_free(p, a);
    seal_pool_free(p, c);
    seal_pool_free(p, d);
    CHECK(seal_pool_stats(p, &st) == 0 && st.live == 2);
    seal_pool_destroy(p);
}

static void bad_arguments(void)
{
    errno = 0;
    CHECK(seal_pool_create(NULL, 0) == NULL && errno == EINVAL);
    errno = 0;
    CHECK(seal_pool_create("x", 0x80) == NULL && errno == EINVAL);
    seal_pool *p = seal_pool_create("args", 0);
    errno = 0;
    CHECK(seal_pool_alloc(p, SIZE_MAX) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(seal_pool_alloc(p, (size_t)1 << 46) == NULL && errno == ENOMEM);
    /* Still fully usable. */
    char *s = seal_pool_alloc(p, 10);
    CHECK(s != NULL && seal_pool_owns(p, s));
    seal_pool_free(p, NULL);
    seal_pool_destroy(p);
    seal_pool_destroy(NULL);
}

static void strdup_copies(void)
{
    seal_pool *p = seal_pool_create("strings", 0);
    char *a = seal_pool_strdup(p, "allow tcp/443");
    CHECK(a != NULL && strcmp(a, "allow tcp/443") == 0);
    char *e = seal_pool_strdup(p, "");
    CHECK(e != NULL && e[0] == 0 && e != a);
    char big[20000];
    memset(big, 'q', sizeof big - 1);
    big[sizeof big - 1] = 0;
    char *b = seal_pool_strdup(p, big);
    CHECK(b != NULL && strcmp(b, big) == 0);
    errno = 0;
    CHECK(seal_pool_strdup(p, NULL) == NULL && errno == EINVAL);
    CHECK(seal_pool_seal(p) == 0);
    CHECK(strcmp(a, "allow tcp/443") == 0 && seal_is_sealed(a) && seal_is_sealed(b));
    seal_pool_destroy(p);
}

static void realloc_null_zero_and_in_place(void)
{
    seal_pool *p = seal_pool_create("realloc", 0);
    char *a = seal_pool_realloc(p, NULL, 20);
    CHECK(a != NULL && seal_pool_owns(p, a) && all_zero((unsigned char *)a, 20));
    memcpy(a, "0123456789abcdefghi", 20);
    /* Same size class: in place, the content kept. */
    char *b = seal_pool_realloc(p, a, 30);
    CHECK(b == a && memcmp(b, "0123456789abcdefghi", 20) == 0);
    CHECK(all_zero((unsigned char *)b + 20, 10));
    /* Shrink in place: bytes past the new size are cleared, so growing again
     * shows zeros, never stale data. */
    b = seal_pool_realloc(p, b, 17);
    CHECK(b == a && memcmp(b, "0123456789abcdefg", 17) == 0);
    b = seal_pool_realloc(p, b, 32);
    CHECK(b == a && memcmp(b, "0123456789abcdefg", 17) == 0);
    CHECK(all_zero((unsigned char *)b + 17, 15));
    /* A smaller class may move it; the prefix is kept either way. */
    b = seal_pool_realloc(p, b, 5);
    CHECK(b != NULL && memcmp(b, "01234", 5) == 0 && seal_pool_owns(p, b));
    /* Across classes and into a large allocation: a copy, the old freed. */
    char *c = seal_pool_realloc(p, b, 1000);
    CHECK(c != NULL && memcmp(c, "01234", 5) == 0 && all_zero((unsigned char *)c + 5, 995));
    CHECK(c == b || seal_pool_owns(p, b) == 0);
    char *d = seal_pool_realloc(p, c, 100000);
    CHECK(d != NULL && memcmp(d, "01234", 5) == 0 && all_zero((unsigned char *)d + 5, 99995));
    CHECK(seal_pool_owns(p, c) == 0 && seal_pool_owns(p, d) == 1);
    d[99999] = 'z';
    char *e = seal_pool_realloc(p, d, 10);
    CHECK(e != NULL && memcmp(e, "01234", 5) == 0 && seal_pool_owns(p, e));
    /* Size 0 frees and returns NULL. */
    errno = 0;
    CHECK(seal_pool_realloc(p, e, 0) == NULL);
    CHECK(seal_pool_owns(p, e) == 0);
    errno = 0;
    char *f = seal_pool_alloc(p, 8);
    CHECK(seal_pool_realloc(p, f, SIZE_MAX) == NULL && errno == ENOMEM);
    CHECK(seal_pool_owns(p, f) == 1); /* untouched by the failure */
    seal_pool_destroy(p);
}

static void realloc_of_sealed_copies(void)
{
    seal_pool *p = seal_pool_create("sealed-realloc", 0);
    char *keep = seal_pool_alloc(p, 64); /* keeps the slab mapped */
    char *old = seal_pool_alloc(p, 64);
    strcpy(keep, "neighbour");
    strcpy(old, "sealed value");
    char *big = seal_pool_alloc(p, 50000);
    strcpy(big, "large sealed");
    char *big_keep = seal_pool_alloc(p, 50000);
    CHECK(seal_pool_seal(p) == 0);

    /* Same size: still a new, writable copy. */
    char *fresh = seal_pool_realloc(p, old, 64);
    CHECK(fresh != NULL && fresh != old);
    CHECK(strcmp(fresh, "sealed value") == 0);
    CHECK(seal_is_sealed(fresh) == 0 && !page_read_only(fresh));
    strcpy(fresh, "updated");
    CHECK(seal_pool_owns(p, old) == 0);
    CHECK(strcmp(old, "sealed value") == 0 && seal_is_sealed(old));
    CHECK(strcmp(keep, "neighbour") == 0);

    char *bigger = seal_pool_realloc(p, big, 80000);
    CHECK(bigger != NULL && strcmp(bigger, "large sealed") == 0 && seal_is_sealed(bigger) == 0);
    CHECK(seal_pool_owns(p, big) == 0);
    bigger[79999] = 1;
    seal_pool_free(p, big_keep);
    seal_pool_destroy(p);
}

struct sealed_case {
    char *obj;
};

static void write_sealed(void *arg) { store_byte(((struct sealed_case *)arg)->obj); }

static void seal_small_and_large(void)
{
    seal_pool *p = seal_pool_create("seal", 0);
    char *small = seal_pool_alloc(p, 33);
    char *large = seal_pool_alloc(p, 3 << 20);
    strcpy(small, "small");
    strcpy(large + (2 << 20), "large");
    CHECK(seal_pool_seal(p) == 0);
    CHECK(seal_is_sealed(small) && seal_is_sealed(large) && seal_is_sealed(large + (3 << 20) - 1));
    CHECK(page_read_only(small) && page_read_only(large + (2 << 20)));
    struct sealed_case s = {small}, l = {large + (3 << 20) - 1};
    CHECK(expect_death(write_sealed, &s, SIGSEGV, NULL));
    CHECK(expect_death(write_sealed, &l, SIGSEGV, NULL));
    CHECK(strcmp(small, "small") == 0 && strcmp(large + (2 << 20), "large") == 0);
    seal_pool_require(p, small);
    seal_pool_require(p, large);

    /* Allocations after the seal are writable until the next one. */
    char *after = seal_pool_alloc(p, 33);
    CHECK(after != NULL && seal_is_sealed(after) == 0 && !page_read_only(after));
    strcpy(after, "after");
    CHECK(seal_pool_seal(p) == 0 && seal_is_sealed(after));
    CHECK(seal_pool_seal(p) == 0);
    seal_pool_destroy(p);
}

static void owns_is_exact(void)
{
    seal_pool *p = seal_pool_create("owns-a", 0), *q = seal_pool_create("owns-b", 0);
    char *a = seal_pool_alloc(p, 100), *b = seal_pool_alloc(q, 100);
    char *la = seal_pool_alloc(p, 20000);
    int stack;
    char *heap = malloc(16);
    CHECK(seal_pool_owns(p, a) == 1 && seal_pool_owns(q, b) == 1);
    CHECK(seal_pool_owns(p, b) == 0 && seal_pool_owns(q, a) == 0);
    CHECK(seal_pool_owns(p, a + 8) == 0 && seal_pool_owns(p, la + 4096) == 0);
    CHECK(seal_pool_owns(p, la) == 1);
    CHECK(seal_pool_owns(p, &stack) == 0 && seal_pool_owns(p, heap) == 0);
    CHECK(seal_pool_owns(p, NULL) == 0);
    seal_pool_free(p, a);
    seal_pool_free(p, la);
    CHECK(seal_pool_owns(p, a) == 0 && seal_pool_owns(p, la) == 0);
    free(heap);
    seal_pool_destroy(p);
    seal_pool_destroy(q);
}

static void sealed_chunks_come_back(void)
{
    seal_pool *p = seal_pool_create("reclaim", 0);
    enum { N = 256 };
    char *objs[N];
    for (int i = 0; i < N; i++) {
        objs[i] = seal_pool_alloc(p, 1000 + (size_t)i * 300);
        memset(objs[i], 7, 1000 + (size_t)i * 300);
    }
    char *large = seal_pool_alloc(p, 4 << 20);
    memset(large, 7, 4 << 20);
    CHECK(seal_pool_seal(p) == 0);
    for (int i = 0; i < N; i++)
        seal_pool_free(p, objs[i]);
    seal_pool_free(p, large);
    /* Every chunk was empty: its memory went back, nothing is sealed. */
    for (int i = 0; i < N; i++)
        CHECK(seal_is_sealed(objs[i]) == 0);
    CHECK(seal_is_sealed(large) == 0);
    char *again = seal_pool_alloc(p, 4 << 20);
    CHECK(again != NULL && seal_is_sealed(again) == 0 && all_zero((unsigned char *)again, 4 << 20));
    seal_pool_destroy(p);
}

static void injected_enomem_leaves_pool_usable(void)
{
    seal_pool *p = seal_pool_create("enomem", 0);
    char *first = seal_pool_alloc(p, 100);
    strcpy(first, "kept");
    /* The next system call fails: a fresh large allocation must commit. */
    sl_os_inject_failure(1);
    errno = 0;
    CHECK(seal_pool_alloc(p, 1 << 20) == NULL && errno == ENOMEM);
    sl_os_inject_failure(0);
    char *big = seal_pool_alloc(p, 1 << 20);
    CHECK(big != NULL && all_zero((unsigned char *)big, 1 << 20));
    CHECK(strcmp(first, "kept") == 0 && seal_pool_owns(p, first));
    CHECK(seal_pool_seal(p) == 0 && seal_is_sealed(big) && seal_is_sealed(first));
    seal_pool_destroy(p);
}

static void permanent_pool(void)
{
    if (syscall(462, 0, 0, 0) != 0)
        SKIP("kernel without mseal(2)");
    seal_pool *p = seal_pool_create("perm-pool", SEAL_PERMANENT);
    CHECK(p != NULL);
    char *s = seal_pool_strdup(p, "forever");
    char *l = seal_pool_alloc(p, 100000);
    CHECK(seal_pool_seal(p) == 0);
    long pg = sysconf(_SC_PAGESIZE);
    void *page = (void *)((uintptr_t)s & ~(uintptr_t)(pg - 1));
    errno = 0;
    CHECK(mprotect(page, (size_t)pg, PROT_READ | PROT_WRITE) == -1 && errno == EPERM);
    errno = 0;
    CHECK(munmap(l, 4096) == -1 && errno == EPERM);
    seal_pool_free(p, l);
    CHECK(seal_is_sealed(l) == 1);
    seal_pool_destroy(p);
    CHECK(strcmp(s, "forever") == 0 && seal_is_sealed(s) == 1);
}

int main(void)
{
    RUN(sizes_one_byte_to_64_mib);
    RUN(aligned_alloc_up_to_page);
    RUN(size_zero_is_unique);
    RUN(bad_arguments);
    RUN(strdup_copies);
    RUN(realloc_null_zero_and_in_place);
    RUN(realloc_of_sealed_copies);
    RUN(seal_small_and_large);
    RUN(owns_is_exact);
    RUN(sealed_chunks_come_back);
    RUN(injected_enomem_leaves_pool_usable);
    RUN(permanent_pool);
    return check_exit();
}
