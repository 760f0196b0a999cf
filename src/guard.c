/* SPDX-License-Identifier: MIT */
/*
 * guard.c - the per-process secret and sl_mac() (see guard.h).
 *
 * The secret is drawn from getrandom(2) by a constructor (or on first use,
 * whichever comes first) and written once into the read-only globals.
 */
#include "guard.h"

#include "meta.h"

#include <pthread.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static pthread_once_t secret_once = PTHREAD_ONCE_INIT;

static void secret_init(void)
{
    uint64_t k[2];
    if (getrandom(k, sizeof k, 0) != (ssize_t)sizeof k) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        k[0] = (uint64_t)t.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)&t;
        k[1] = (uint64_t)getpid() * 0xc2b2ae3d27d4eb4full ^ (uint64_t)t.tv_sec;
    }
    struct sl_globals *g = meta_globals_begin();
    g->secret[0] = k[0] | 1; /* never 0: 0 means "not drawn yet" */
    g->secret[1] = k[1];
    meta_globals_end();
}

__attribute__((constructor)) static void secret_early(void) { pthread_once(&secret_once, secret_init); }

static inline uint64_t mix(uint64_t x)
{
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ull;
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ull;
    x ^= x >> 32;
    return x;
}

uint64_t sl_mac(uint64_t a, uint64_t b, uint64_t c)
{
    if (__builtin_expect(SL_G->secret[0] == 0, 0))
        pthread_once(&secret_once, secret_init);
    uint64_t h = mix(a ^ SL_G->secret[0]);
    h = mix(h ^ b ^ SL_G->secret[1]);
    return mix(h ^ c ^ SL_G->secret[0]);
}
