/* SPDX-License-Identifier: MIT */
/*
 * report.c - fatal reports (see report.h): format one line, write(2) it,
 * abort(). Only stack buffers and write(2), so a report works from any
 * state the library can be in, including a corrupted one.
 */
#include "report.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void __attribute__((noreturn)) vfatal(const char *call, const char *kind, const char *name,
                                             const char *fmt, va_list ap)
{
    char line[512];
    int n = snprintf(line, sizeof line, "sealloc: %s(%s \"%s\"): ", call, kind, name);
    if (n < 0 || (size_t)n >= sizeof line)
        n = 0;
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
    abort();
}

void sl_fatal(const char *call, const char *kind, const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfatal(call, kind, name, fmt, ap);
}

void sl_report(const struct sl_who *w, const char *call, const char *fmt, ...)
{
    char fn[48];
    snprintf(fn, sizeof fn, "seal_%s_%s", w->kind, call);
    va_list ap;
    va_start(ap, fmt);
    vfatal(fn, w->kind, w->name, fmt, ap);
}
