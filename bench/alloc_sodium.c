/* SPDX-License-Identifier: MIT */
/*
 * alloc_sodium.c - libsodium's guarded heap, the only user-space peer that
 * protects heap data: sodium_malloc() gives each allocation its own pages
 * between guard pages, sodium_mprotect_readonly() protects it.
 */
#include "alloc.h"

#include "util.h"

#include <sodium.h>

static size_t obj_size;

const char *ba_name(void) { return "libsodium"; }
bool ba_protects(void) { return true; }

void ba_init(size_t size)
{
    if (sodium_init() < 0)
        bu_die("sodium_init");
    obj_size = size;
}

void *ba_alloc(void) { return sodium_malloc(obj_size); }
void ba_free(void *p) { sodium_free(p); }
int ba_protect_one(void *p) { return sodium_mprotect_readonly(p); }
int ba_seal(void) { return 0; }

void ba_fini(void **objs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sodium_free(objs[i]);
}
