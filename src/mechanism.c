/* SPDX-License-Identifier: MIT */
/*
 * mechanism.c - the choice of the write-rare mechanism (mechanism.h).
 */
#include "mechanism.h"

#include "meta.h"
#include "os.h"
#include "sealloc.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t choose_once = PTHREAD_ONCE_INIT;
static const char *const mechanism_names[] = {"none", "pkey", "memfd", "procmem"};

/* memfd by default; pkey only when asked for (writerare.c's top comment:
 * under the kernel's default key rights, which signal handlers and threads
 * that did not inherit ours start with, pkey-tagged data cannot even be
 * read). */
static void choose(void)
{
    const char *want = getenv("SEALLOC_WRITE_RARE");
    int key = -1;
    enum wr_mechanism chosen;
    if (want != NULL && strcmp(want, "pkey") == 0 && (key = sl_os_pkey_alloc()) >= 0)
        chosen = WR_PKEY;
    else if ((want == NULL || strcmp(want, "procmem") != 0) && sl_os_has_memfd())
        chosen = WR_MEMFD;
    else if (sl_os_has_procmem())
        chosen = WR_PROCMEM;
    else if (sl_os_has_memfd())
        chosen = WR_MEMFD;
    else
        chosen = WR_NONE;
    struct sl_globals *g = meta_globals_begin();
    g->wr_mechanism = (int)chosen;
    g->wr_key = key;
    meta_globals_end();
}

/* Choose at load time: a protection key must exist before the program
 * creates threads, so that they inherit its write-disabled rights. */
__attribute__((constructor)) static void choose_early(void) { pthread_once(&choose_once, choose); }

enum wr_mechanism wr_mechanism(void)
{
    if (__builtin_expect(SL_G->wr_mechanism < 0, 0))
        pthread_once(&choose_once, choose);
    return (enum wr_mechanism)SL_G->wr_mechanism;
}

int wr_pkey(void) { return wr_mechanism() == WR_PKEY ? SL_G->wr_key : -1; }

bool wr_wants_memfd(void) { return wr_mechanism() == WR_MEMFD; }

bool wr_supports_permanent(void) { return wr_mechanism() != WR_NONE; }

const char *seal_write_rare_mechanism(void) { return mechanism_names[wr_mechanism()]; }
