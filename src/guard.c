/*
 * guard.c - the per-process secret, keyed check values and fatal reports.
 *
 * The secret is drawn from getrandom(2) on first use and stored in its own
 * page, which is then made read-only: a stray or malicious store cannot
 * change it, and reading it needs an arbitrary read, which is not enough to
 * forge metadata without also knowing which fields to forge.
 */
#include "guard.h"

#include "os.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

struct secret_page {
    uint64_t k0, k1;
};

static const struct secret_page *secret;
static pthread_once_t secret_once = PTHREAD_ONCE_INIT;

static void secret_init(void)
{
    size_t pg = sl_os_page_size();
    struct secret_page *s = sl_os_reserve(pg, -1);
    if (s == NULL || sl_os_commit(s, pg) != 0)
        sl_fatal("init", "process", "-", "cannot map the secret page");
    if (getrandom(s, sizeof *s, 0) != (ssize_t)sizeof *s) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        s->k0 = (uint64_t)t.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)s;
        s->k1 = (uint64_t)getpid() * 0xc2b2ae3d27d4eb4full ^ (uint64_t)t.tv_sec;
    }
    s->k0 |= 1;
    if (sl_os_protect_ro(s, pg) != 0)
        sl_fatal("init", "process", "-", "cannot protect the secret page");
    secret = s;
}

static inline uint64_t mix(uint64_t x)
{
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ull;
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ull;
    x ^= x >> 32;
    return x;
}

/* Draw the secret at load time, so the hot paths need no once-check. */
__attribute__((constructor)) static void secret_early(void) { pthread_once(&secret_once, secret_init); }

uint64_t sl_mac(uint64_t a, uint64_t b, uint64_t c)
{
    if (__builtin_expect(secret == NULL, 0))
        pthread_once(&secret_once, secret_init);
    uint64_t h = mix(a ^ secret->k0);
    h = mix(h ^ b ^ secret->k1);
    return mix(h ^ c ^ secret->k0);
}

void sl_fatal(const char *call, const char *kind, const char *name, const char *fmt, ...)
{
    char line[512];
    int n = snprintf(line, sizeof line, "sealloc: %s(%s \"%s\"): ", call, kind, name);
    if (n < 0 || (size_t)n >= sizeof line)
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
    abort();
}
