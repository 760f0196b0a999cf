/* SPDX-License-Identifier: MIT */
/*
 * policy.h - the access policy of the demo and the reload example.
 *
 * A policy is read from a rules file (examples/data/policy.rules) into one
 * pool: the header, the rule array and every string. Sealing that pool makes
 * the whole policy read-only. Actions are carried out through a dispatch
 * table of function pointers, which lives in a cache of its own.
 *
 * Invariant: after policy_seal(), nothing reachable from a struct policy is
 * writable except through the write-rare calls (the pool is created with
 * the caller's flags, normally SEAL_WRITE_RARE).
 */
#ifndef EXAMPLES_POLICY_H
#define EXAMPLES_POLICY_H

#include <sealloc.h>
#include <stddef.h>
#include <stdio.h>

enum action { ACT_ALLOW, ACT_DENY, ACT_LOG, ACT_COUNT };

struct rule {
    enum action action;
    int limit;        /* requests per minute */
    const char *user; /* "*" matches every user */
    const char *path; /* a path prefix */
};

struct policy {
    seal_pool *pool;    /* owns this header, the rules and the strings */
    const char *source; /* the file it was read from */
    size_t n;
    struct rule *rule;
};

typedef const char *(*action_fn)(const struct rule *r, const char *user, const char *path);

struct dispatch {
    action_fn fn[ACT_COUNT];
};

/* Read `file` into a new pool named pool_name created with flags; the policy
 * is not sealed yet. NULL after a message on stderr on any error. */
struct policy *policy_load(const char *file, const char *pool_name, unsigned flags);

int policy_seal(struct policy *p);          /* seal_pool_seal() of its pool */
void policy_destroy(struct policy *p);      /* destroys the pool, p included */

/* The first rule matching user and path, or NULL. */
const struct rule *policy_match(const struct policy *p, const char *user, const char *path);

/* The verdict of the matching rule's action through d ("deny" if none). */
const char *policy_decide(const struct policy *p, const struct dispatch *d, const char *user,
                          const char *path);

/* A dispatch table from cache c (whose objects are struct dispatch). */
struct dispatch *dispatch_create(seal_cache *c);

const char *action_name(enum action a);
void policy_print(const struct policy *p, FILE *out);

#endif
