/* SPDX-License-Identifier: MIT */
/*
 * verify.c - the checks run after every fuzz step: each live object holds
 * exactly its shadow bytes (sealed or not: nothing else wrote to it), its
 * owner owns it and no other owner does, and seal_is_sealed() says what
 * the model says at its first and last byte; and, on demand, that the
 * stats table has one row per live owner with the model's live and sealed
 * object counts.
 */
#include "driver.h"

#include "sealloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int owns(const struct fz_owner *o, const void *p)
{
    return o->pool ? seal_pool_owns(o->h, p) : seal_cache_owns(o->h, p);
}

void verify_all(const struct fz_model *m)
{
    for (int i = 0; i < m->n_obj; i++) {
        const struct fz_obj *b = &m->ob[i];
        const struct fz_owner *o = &m->o[b->owner];
        if (memcmp(b->p, b->shadow, b->size) != 0) {
            size_t at = 0;
            while (b->p[at] == b->shadow[at])
                at++;
            fz_fail("%s object %p (%zu bytes, %s): byte %zu is %#x, want %#x", o->name,
                    (void *)b->p, b->size, b->sealed ? "sealed" : "open", at, b->p[at],
                    b->shadow[at]);
        }
        for (int k = 0; k < FZ_OWNERS; k++)
            if (m->o[k].used && owns(&m->o[k], b->p) != (k == b->owner))
                fz_fail("%s owns(%p) = %d for an object of %s", m->o[k].name, (void *)b->p,
                        owns(&m->o[k], b->p), o->name);
        if (seal_is_sealed(b->p) != b->sealed || seal_is_sealed(b->p + b->size - 1) != b->sealed)
            fz_fail("seal_is_sealed(%p) = %d (last byte %d), model says %d (%s)", (void *)b->p,
                    seal_is_sealed(b->p), seal_is_sealed(b->p + b->size - 1), b->sealed, o->name);
    }
}

void verify_stats(const struct fz_model *m)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f == NULL)
        abort();
    seal_stats_print(f);
    fclose(f);
    int rows = 0, want_rows = 0;
    for (int k = 0; k < FZ_OWNERS; k++)
        want_rows += m->o[k].used;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        char kind[16], name[32], size[24];
        unsigned long long live, sealed;
        if (sscanf(line, "%15s %31s %23s %llu %llu", kind, name, size, &live, &sealed) != 5)
            continue;
        rows++;
        int k = 0;
        while (k < FZ_OWNERS && !(m->o[k].used && strcmp(m->o[k].name, name) == 0))
            k++;
        if (k == FZ_OWNERS)
            fz_fail("stats row for an owner the model does not know: %s", line);
        uint64_t want_live, want_sealed;
        model_count(m, k, &want_live, &want_sealed);
        if (live != want_live || sealed != want_sealed || strcmp(kind, m->o[k].pool ? "pool" : "cache"))
            fz_fail("stats row \"%s\": want %s, %llu live, %llu sealed", line,
                    m->o[k].pool ? "pool" : "cache", (unsigned long long)want_live,
                    (unsigned long long)want_sealed);
    }
    if (rows != want_rows)
        fz_fail("stats has %d rows for %d live owners", rows, want_rows);
    free(text);
}
