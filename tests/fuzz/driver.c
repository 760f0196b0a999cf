/* SPDX-License-Identifier: MIT */
/*
 * driver.c - decode a byte string into sealloc calls on up to FZ_OWNERS
 * caches and pools at once and check each answer against the model.
 *
 * Each step is an opcode byte and a few argument bytes (zeros once the
 * input runs out). Operations: create a cache or pool, alloc (plain,
 * aligned, strdup), free, realloc, seal, direct stores into open objects,
 * write-rare (seal_write, seal_memset, seal_write_ptr, SEAL_ASSIGN) at
 * addresses chosen to be valid or not (inside, straddling, past the end,
 * freed, stack, heap, misaligned), require on sealed objects only (an
 * abort there is a finding, not a test of misuse), owns and seal_is_sealed
 * on the same addresses, destroy, stats. After every step verify_all()
 * checks the whole model; the input ends by destroying every owner.
 *
 * Permanent owners leave their sealed pages mapped until exit, one
 * mapping each: a process-wide budget keeps a long run from exhausting
 * vm.max_map_count (owners past it are created without SEAL_PERMANENT).
 */
#include "driver.h"

#include "sealloc.h"

#include <errno.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PERMANENT_BUDGET 300

static unsigned long permanent_left = PERMANENT_BUDGET, generation;

struct input {
    const uint8_t *p;
    size_t left;
};

static unsigned get8(struct input *in)
{
    if (in->left == 0)
        return 0;
    in->left--;
    return *in->p++;
}

static unsigned get16(struct input *in) { return get8(in) | get8(in) << 8; }

/* ---- owners -------------------------------------------------------------- */

static void op_create(struct fz_model *m, struct input *in, bool pool)
{
    int k = 0;
    while (k < FZ_OWNERS && m->o[k].used)
        k++;
    if (k == FZ_OWNERS)
        return;
    static const size_t aligns[8] = {0, 1, 2, 8, 16, 64, 256, 4096};
    unsigned flags = get8(in) & (SEAL_PERMANENT | SEAL_WRITE_RARE);
    unsigned shape = get16(in);
    size_t size = shape % 8 == 7 ? 1 + shape % 40000 : 1 + shape % 700;
    size_t align = aligns[get8(in) % 8];
    if ((flags & SEAL_PERMANENT) && permanent_left == 0)
        flags &= ~SEAL_PERMANENT;
    struct fz_owner *o = &m->o[k];
    snprintf(o->name, sizeof o->name, "fz%lu", generation++);
    errno = 0;
    o->h = pool ? (void *)seal_pool_create(o->name, flags)
                : (void *)seal_cache_create(o->name, size, align, flags);
    if (o->h == NULL) {
        if ((flags & SEAL_PERMANENT) && errno == ENOTSUP)
            return; /* no mseal, or no mechanism for permanent write-rare */
        fz_fail("creating %s (flags %#x, size %zu, align %zu): %s", o->name, flags, size, align,
                strerror(errno));
    }
    permanent_left -= (flags & SEAL_PERMANENT) != 0;
    if (align == 0)
        for (align = 1; align < size && align < alignof(max_align_t);)
            align *= 2;
    o->used = true;
    o->pool = pool;
    o->flags = flags;
    o->size = size;
    o->align = align;
}

static int pick_owner(const struct fz_model *m, struct input *in)
{
    unsigned n = 0;
    for (int k = 0; k < FZ_OWNERS; k++)
        n += m->o[k].used;
    if (n == 0)
        return -1;
    unsigned want = get8(in) % n;
    for (int k = 0;; k++)
        if (m->o[k].used && want-- == 0)
            return k;
}

static void op_destroy(struct fz_model *m, struct input *in)
{
    int k = pick_owner(m, in);
    if (k < 0)
        return;
    if (m->o[k].pool)
        seal_pool_destroy(m->o[k].h);
    else
        seal_cache_destroy(m->o[k].h);
    model_drop_owner(m, k);
}

static void op_seal(struct fz_model *m, struct input *in)
{
    int k = pick_owner(m, in);
    if (k < 0)
        return;
    int rc = m->o[k].pool ? seal_pool_seal(m->o[k].h) : seal_cache_seal(m->o[k].h);
    if (rc != 0)
        fz_fail("sealing %s: %s", m->o[k].name, strerror(errno));
    model_seal(m, k);
}

/* ---- allocation ---------------------------------------------------------- */

static size_t pool_size(struct input *in)
{
    unsigned v = get16(in);
    switch (v % 8) {
    case 0: return 1 + v / 8 % 16384;
    case 1: return 16385 + v % 90000;
    default: return 1 + v / 8 % 300;
    }
}

/* Record p, a new object of owner k, after checking what it holds: zeros,
 * or `content` (strdup). */
static void fresh(struct fz_model *m, int k, void *p, size_t size, size_t align, const char *call,
                  const void *content)
{
    if (p == NULL)
        fz_fail("%s on %s (%zu bytes): %s", call, m->o[k].name, size, strerror(errno));
    int i = model_add(m, k, p, size, align);
    if (content != NULL)
        memcpy(m->ob[i].shadow, content, size);
    if (memcmp(p, m->ob[i].shadow, size) != 0)
        fz_fail("%s on %s: fresh %p does not hold %s", call, m->o[k].name, p,
                content ? "the copied string" : "zeros");
    if (seal_is_sealed(p))
        fz_fail("%s on %s: fresh %p reads as sealed", call, m->o[k].name, p);
}

static void op_alloc(struct fz_model *m, struct input *in)
{
    int k = pick_owner(m, in);
    if (k < 0 || m->n_obj == FZ_OBJS)
        return;
    struct fz_owner *o = &m->o[k];
    if (!o->pool) {
        fresh(m, k, seal_cache_alloc(o->h), o->size, o->align, "seal_cache_alloc", NULL);
        return;
    }
    unsigned how = get8(in);
    size_t size = pool_size(in);
    if (how % 4 == 1) {
        size_t align = (size_t)1 << (get8(in) % 13);
        fresh(m, k, seal_pool_aligned_alloc(o->h, align, size), size,
              align > alignof(max_align_t) ? align : alignof(max_align_t),
              "seal_pool_aligned_alloc", NULL);
    } else if (how % 4 == 2) {
        char text[64];
        size_t n = 1 + size % (sizeof text - 1);
        memset(text, 'a' + (int)(size % 26), n - 1);
        text[n - 1] = 0;
        fresh(m, k, seal_pool_strdup(o->h, text), n, alignof(max_align_t), "seal_pool_strdup", text);
    } else {
        fresh(m, k, seal_pool_alloc(o->h, size), size, alignof(max_align_t), "seal_pool_alloc", NULL);
    }
}

/* The n-th live object (n from the input) matching want; -1 if none. */
static int pick_obj(const struct fz_model *m, struct input *in, bool (*want)(const struct fz_model *, int))
{
    int match[FZ_OBJS], n = 0;
    for (int i = 0; i < m->n_obj; i++)
        if (want == NULL || want(m, i))
            match[n++] = i;
    return n == 0 ? -1 : match[get8(in) % n];
}

static bool is_open(const struct fz_model *m, int i) { return !m->ob[i].sealed; }
static bool is_sealed_obj(const struct fz_model *m, int i) { return m->ob[i].sealed; }
static bool in_pool(const struct fz_model *m, int i) { return m->o[m->ob[i].owner].pool; }

static void op_free(struct fz_model *m, struct input *in)
{
    int i = pick_obj(m, in, NULL);
    if (i < 0)
        return;
    const struct fz_owner *o = &m->o[m->ob[i].owner];
    void *p = m->ob[i].p;
    if (o->pool)
        seal_pool_free(o->h, p);
    else
        seal_cache_free(o->h, p);
    model_remove(m, i);
    if (o->pool ? seal_pool_owns(o->h, p) : seal_cache_owns(o->h, p))
        fz_fail("%s still owns %p after its free", o->name, p);
}

static void op_realloc(struct fz_model *m, struct input *in)
{
    int i = pick_obj(m, in, in_pool);
    if (i < 0)
        return;
    int k = m->ob[i].owner;
    size_t size = get8(in) % 16 == 0 ? 0 : pool_size(in);
    size_t old_size = m->ob[i].size;
    bool was_sealed = m->ob[i].sealed;
    void *old = m->ob[i].p;
    unsigned char *keep = malloc(old_size);
    memcpy(keep, m->ob[i].shadow, old_size);
    errno = 0;
    void *p = seal_pool_realloc(m->o[k].h, old, size);
    model_remove(m, i);
    if (size == 0) {
        if (p != NULL)
            fz_fail("seal_pool_realloc(%p, 0) on %s returned %p", old, m->o[k].name, p);
    } else {
        if (p == NULL)
            fz_fail("seal_pool_realloc(%p, %zu) on %s: %s", old, size, m->o[k].name, strerror(errno));
        if (was_sealed && p == old)
            fz_fail("seal_pool_realloc on %s kept sealed %p in place", m->o[k].name, old);
        i = model_add(m, k, p, size, alignof(max_align_t));
        memcpy(m->ob[i].shadow, keep, size < old_size ? size : old_size);
        if (seal_is_sealed(p))
            fz_fail("seal_pool_realloc on %s returned sealed %p", m->o[k].name, p);
    }
    free(keep);
}

/* Bytes from the input, stretched to len by a pattern. */
static void fill(unsigned char *buf, size_t len, struct input *in)
{
    unsigned seed = get8(in), step = get8(in) | 1;
    for (size_t b = 0; b < len; b++)
        buf[b] = (unsigned char)(seed + step * b);
}

static void op_store(struct fz_model *m, struct input *in)
{
    int i = pick_obj(m, in, is_open);
    if (i < 0)
        return;
    struct fz_obj *b = &m->ob[i];
    size_t off = get16(in) % b->size, len = 1 + get16(in) % (b->size - off);
    fill(b->shadow + off, len, in);
    memcpy(b->p + off, b->shadow + off, len);
}

/* ---- write-rare ------------------------------------------------------------ */

/* Addresses for write-rare, owns and seal_is_sealed: inside or around live
 * objects, freed ones, and memory sealloc never handed out. */
struct places {
    unsigned char stack[64];
    unsigned char *heap;
};

static uintptr_t pick_addr(const struct fz_model *m, struct input *in, const struct places *pl)
{
    unsigned mode = get8(in) % 8;
    unsigned v = get16(in);
    int i = m->n_obj ? (int)(get8(in) % (unsigned)m->n_obj) : -1;
    if (i < 0 && mode < 4)
        mode = 5;
    switch (mode) {
    case 4:
        return m->n_freed ? m->freed[v % (m->n_freed < FZ_FREED ? m->n_freed : FZ_FREED)] : 4096;
    case 5:
        return (uintptr_t)pl->stack + v % 32;
    case 6:
        return (uintptr_t)pl->heap + v % 32;
    case 7:
        return i < 0 ? 4096 + v : (uintptr_t)m->ob[i].p - 1 - v % 16;
    default:
        return (uintptr_t)m->ob[i].p + v % (m->ob[i].size + 24);
    }
}

static size_t pick_len(struct input *in)
{
    unsigned v = get8(in);
    return v < 16 ? 0 : v < 240 ? v % 64 + 1 : get16(in) % 5000 + 1;
}

static void expect_rc(int rc, int want, const char *call, uintptr_t a, size_t len)
{
    if (want == 0 && rc != 0)
        fz_fail("%s(%#lx, %zu) failed: %s", call, (unsigned long)a, len, strerror(errno));
    if (want != 0 && (rc != -1 || errno != want))
        fz_fail("%s(%#lx, %zu) = %d (%s), want -1 with %s", call, (unsigned long)a, len, rc,
                strerror(errno), strerror(want));
}

/* After a successful write-rare of [a, a+len), the shadow takes src. */
static void wrote(struct fz_model *m, uintptr_t a, const void *src, size_t len)
{
    struct fz_obj *b = &m->ob[model_containing(m, a)];
    memcpy(b->shadow + (a - (uintptr_t)b->p), src, len);
}

static void op_write_rare(struct fz_model *m, struct input *in, const struct places *pl, unsigned how)
{
    static unsigned char src[5000];
    uintptr_t a = pick_addr(m, in, pl);
    size_t len = pick_len(in);
    int rc, want;
    errno = 0;
    switch (how % 4) {
    case 0:
        fill(src, len, in);
        want = model_wr_expect(m, a, len, false);
        rc = seal_write((void *)a, src, len);
        expect_rc(rc, want, "seal_write", a, len);
        break;
    case 1:
        memset(src, (int)get8(in), len);
        want = model_wr_expect(m, a, len, false);
        rc = seal_memset((void *)a, src[0], (size_t)len);
        expect_rc(rc, want, "seal_memset", a, len);
        break;
    case 2: {
        if (get8(in) % 4 != 0)
            a &= ~(uintptr_t)7;
        const void *value = m->n_obj ? m->ob[get8(in) % (unsigned)m->n_obj].p : (void *)src;
        len = sizeof value;
        memcpy(src, &value, len);
        want = model_wr_expect(m, a, len, true);
        rc = seal_write_ptr((void *)a, value);
        expect_rc(rc, want, "seal_write_ptr", a, len);
        break;
    }
    default: {
        a &= ~(uintptr_t)3;
        uint32_t value = get16(in) * 65537u;
        len = sizeof value;
        memcpy(src, &value, len);
        want = model_wr_expect(m, a, len, false);
        rc = SEAL_ASSIGN(*(uint32_t *)a, value);
        expect_rc(rc, want, "SEAL_ASSIGN", a, len);
        break;
    }
    }
    if (want == 0)
        wrote(m, a, src, len);
}

/* ---- queries ----------------------------------------------------------------- */

static void op_require(struct fz_model *m, struct input *in)
{
    int i = pick_obj(m, in, is_sealed_obj);
    if (i < 0)
        return;
    const struct fz_owner *o = &m->o[m->ob[i].owner];
    if (o->pool)
        seal_pool_require(o->h, m->ob[i].p);
    else
        seal_cache_require(o->h, m->ob[i].p);
}

static void op_query(struct fz_model *m, struct input *in, const struct places *pl)
{
    uintptr_t a = pick_addr(m, in, pl);
    int i = model_containing(m, a);
    for (int k = 0; k < FZ_OWNERS; k++) {
        const struct fz_owner *o = &m->o[k];
        if (!o->used)
            continue;
        int want = i >= 0 && (uintptr_t)m->ob[i].p == a && m->ob[i].owner == k;
        int got = o->pool ? seal_pool_owns(o->h, (void *)a) : seal_cache_owns(o->h, (void *)a);
        if (got != want)
            fz_fail("%s owns(%#lx) = %d, want %d", o->name, (unsigned long)a, got, want);
    }
    int sealed = seal_is_sealed((void *)a);
    bool foreign = a - (uintptr_t)pl->stack < sizeof pl->stack || a - (uintptr_t)pl->heap < 64;
    if ((i >= 0 && sealed != m->ob[i].sealed) || (foreign && sealed))
        fz_fail("seal_is_sealed(%#lx) = %d", (unsigned long)a, sealed);
}

/* ---- the loop ------------------------------------------------------------------ */

void fuzz_one(const uint8_t *data, size_t len)
{
    static struct fz_model m;
    struct places pl = {{0}, malloc(64)};
    struct input in = {data, len};
    model_reset(&m);
    for (unsigned steps = 0; in.left > 0 && steps < 4000; steps++) {
        unsigned op = get8(&in);
        switch (op % 20) {
        case 0: op_create(&m, &in, false); break;
        case 1: op_create(&m, &in, true); break;
        case 2: case 3: case 4: op_alloc(&m, &in); break;
        case 5: case 6: op_free(&m, &in); break;
        case 7: op_seal(&m, &in); break;
        case 8: op_store(&m, &in); break;
        case 9: case 10: case 11: case 12: op_write_rare(&m, &in, &pl, op / 20); break;
        case 13: op_require(&m, &in); break;
        case 14: case 15: op_query(&m, &in, &pl); break;
        case 16: op_realloc(&m, &in); break;
        case 17: op_destroy(&m, &in); break;
        case 18: verify_stats(&m); break;
        default: op_alloc(&m, &in); break;
        }
        verify_all(&m);
    }
    verify_stats(&m);
    for (int k = 0; k < FZ_OWNERS; k++)
        if (m.o[k].used) {
            if (m.o[k].pool)
                seal_pool_destroy(m.o[k].h);
            else
                seal_cache_destroy(m.o[k].h);
            model_drop_owner(&m, k);
        }
    free(pl.heap);
}
