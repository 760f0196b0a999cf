/* SPDX-License-Identifier: MIT */
/*
 * model.c - the reference model's state changes and expected answers
 * (see model.h). Nothing here calls sealloc except to ask which write-rare
 * mechanism is in use, which decides whether a sealed store can work.
 */
#include "model.h"

#include "sealloc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fz_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("fuzz: library and model disagree: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

void model_reset(struct fz_model *m) { memset(m, 0, sizeof *m); }

int model_add(struct fz_model *m, int owner, void *p, size_t size, size_t align)
{
    uintptr_t a = (uintptr_t)p;
    if (align != 0 && a % align != 0)
        fz_fail("%p from %s is not aligned to %zu", p, m->o[owner].name, align);
    for (int i = 0; i < m->n_obj; i++) {
        uintptr_t b = (uintptr_t)m->ob[i].p;
        if (a < b + m->ob[i].size && b < a + size)
            fz_fail("new object %p (%zu bytes, %s) overlaps live %p (%zu bytes, %s)", p, size,
                    m->o[owner].name, m->ob[i].p, m->ob[i].size, m->o[m->ob[i].owner].name);
    }
    unsigned char *shadow = calloc(1, size);
    if (shadow == NULL)
        abort();
    int i = m->n_obj++;
    m->ob[i] = (struct fz_obj){owner, p, size, false, shadow};
    return i;
}

void model_remove(struct fz_model *m, int i)
{
    m->freed[m->n_freed++ % FZ_FREED] = (uintptr_t)m->ob[i].p;
    free(m->ob[i].shadow);
    m->ob[i] = m->ob[--m->n_obj];
}

void model_seal(struct fz_model *m, int owner)
{
    for (int i = 0; i < m->n_obj; i++)
        if (m->ob[i].owner == owner)
            m->ob[i].sealed = true;
}

void model_drop_owner(struct fz_model *m, int owner)
{
    for (int i = m->n_obj; i-- > 0;)
        if (m->ob[i].owner == owner)
            model_remove(m, i);
    m->o[owner].used = false;
}

int model_containing(const struct fz_model *m, uintptr_t addr)
{
    for (int i = 0; i < m->n_obj; i++)
        if (addr - (uintptr_t)m->ob[i].p < m->ob[i].size)
            return i;
    return -1;
}

int model_wr_expect(const struct fz_model *m, uintptr_t addr, size_t len, bool ptr_store)
{
    if (ptr_store && addr % sizeof(void *) != 0)
        return EINVAL;
    int i = model_containing(m, addr);
    if (len == 0 || i < 0 || addr + len > (uintptr_t)m->ob[i].p + m->ob[i].size)
        return EINVAL;
    if (!(m->o[m->ob[i].owner].flags & SEAL_WRITE_RARE))
        return EPERM;
    if (!m->ob[i].sealed)
        return 0;
    const char *mech = seal_write_rare_mechanism();
    if (strcmp(mech, "none") == 0 || (ptr_store && strcmp(mech, "procmem") == 0))
        return ENOTSUP;
    return 0;
}

void model_count(const struct fz_model *m, int owner, uint64_t *live, uint64_t *sealed)
{
    *live = *sealed = 0;
    for (int i = 0; i < m->n_obj; i++)
        if (m->ob[i].owner == owner) {
            ++*live;
            *sealed += m->ob[i].sealed;
        }
}
