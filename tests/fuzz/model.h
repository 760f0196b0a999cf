/* SPDX-License-Identifier: MIT */
/*
 * model.h - the reference model the fuzzer checks sealloc against.
 *
 * Plain C, no cleverness: which owners (caches and pools) exist and with
 * which flags, which objects are live, where, how big (the size asked
 * for), what bytes they should hold (a shadow copy) and whether a seal has
 * covered them. The library is right when every answer it gives can be
 * derived from this state; model.c derives the expected answers.
 */
#ifndef SEALLOC_FUZZ_MODEL_H
#define SEALLOC_FUZZ_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FZ_OWNERS 6
#define FZ_OBJS 128
#define FZ_FREED 32 /* recently freed addresses, for queries on dead memory */

struct fz_owner {
    bool used;
    bool pool;
    void *h;          /* seal_cache * or seal_pool * */
    unsigned flags;
    size_t size;      /* cache: object size */
    size_t align;     /* cache: the alignment every object has */
    char name[24];
};

struct fz_obj {
    int owner;
    unsigned char *p;
    size_t size;      /* bytes asked for: what write-rare may touch */
    bool sealed;
    unsigned char *shadow; /* what the object must hold */
};

struct fz_model {
    struct fz_owner o[FZ_OWNERS];
    struct fz_obj ob[FZ_OBJS];
    int n_obj;
    uintptr_t freed[FZ_FREED];
    unsigned n_freed;
};

/* Abort with a message: the library and the model disagree. */
__attribute__((noreturn, format(printf, 1, 2))) void fz_fail(const char *fmt, ...);

void model_reset(struct fz_model *m);

/* Record a fresh object (shadow: zeros), after checking it is aligned to
 * align and overlaps no live object. Returns its index. */
int model_add(struct fz_model *m, int owner, void *p, size_t size, size_t align);

/* Forget object i (freed); its address joins the freed ring. */
void model_remove(struct fz_model *m, int i);

/* Every live object of owner becomes sealed. */
void model_seal(struct fz_model *m, int owner);

/* Forget owner and all its objects (destroyed). */
void model_drop_owner(struct fz_model *m, int owner);

/* The live object containing addr, or -1. */
int model_containing(const struct fz_model *m, uintptr_t addr);

/* What a write-rare call on [addr, addr+len) must return: 0, or the errno
 * (EINVAL, EPERM, ENOTSUP). ptr_store: seal_write_ptr(). */
int model_wr_expect(const struct fz_model *m, uintptr_t addr, size_t len, bool ptr_store);

/* Number of live and of sealed objects of owner. */
void model_count(const struct fz_model *m, int owner, uint64_t *live, uint64_t *sealed);

#endif
