/* SPDX-License-Identifier: MIT */
/*
 * child.c - see child.h. The child's stderr goes into a pipe the parent
 * drains before waiting, so a chatty child can never block.
 */
#include "child.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void child_run(void (*fn)(void *), void *arg, struct child_end *end)
{
    int fd[2];
    memset(end, 0, sizeof *end);
    fflush(NULL);
    if (pipe(fd) != 0) {
        perror("pipe");
        exit(1);
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(1);
    }
    if (pid == 0) {
        close(fd[0]);
        dup2(fd[1], STDERR_FILENO);
        fn(arg);
        _exit(0);
    }
    close(fd[1]);
    size_t len = 0;
    ssize_t n;
    while ((n = read(fd[0], end->err + len, sizeof end->err - 1 - len)) > 0)
        len += (size_t)n;
    close(fd[0]);
    while (len > 0 && end->err[len - 1] == '\n')
        end->err[--len] = 0;
    int st;
    waitpid(pid, &st, 0);
    if (WIFSIGNALED(st))
        end->signal = WTERMSIG(st);
    else
        end->status = WEXITSTATUS(st);
}

const char *child_describe(const struct child_end *end)
{
    static char buf[96];
    if (end->signal)
        snprintf(buf, sizeof buf, "killed by signal %d (%s)", end->signal,
                 strsignal(end->signal));
    else
        snprintf(buf, sizeof buf, "exited with status %d", end->status);
    return buf;
}
