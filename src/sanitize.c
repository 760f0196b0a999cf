/* SPDX-License-Identifier: MIT */
/*
 * sanitize.c - whether the process runs under Valgrind (sanitize.h).
 *
 * Read once by a constructor, before the program can allocate from a
 * thread of its own. An allocation made earlier (by another library's
 * constructor) is just not poisoned: Valgrind then checks it less, never
 * wrongly.
 */
#include "sanitize.h"

#if SL_VALGRIND
bool sl_on_valgrind;

__attribute__((constructor)) static void valgrind_detect(void)
{
    sl_on_valgrind = RUNNING_ON_VALGRIND != 0;
}
#endif
