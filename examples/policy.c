/* SPDX-License-Identifier: MIT */
/*
 * policy.c - read, query and print the access policy (see policy.h).
 *
 * The parser grows the rule array with seal_pool_realloc(), which is plain
 * realloc until the pool is sealed; strings are seal_pool_strdup() copies.
 */
#include "policy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const action_names[ACT_COUNT] = {"allow", "deny", "log"};

const char *action_name(enum action a)
{
    return (unsigned)a < ACT_COUNT ? action_names[a] : "?";
}

static int parse_action(const char *s, enum action *a)
{
    for (int i = 0; i < ACT_COUNT; i++)
        if (strcmp(s, action_names[i]) == 0) {
            *a = (enum action)i;
            return 0;
        }
    return -1;
}

static int add_rule(struct policy *p, const char *line)
{
    char act[16], user[64], path[256];
    struct rule r;
    if (sscanf(line, "%15s %63s %255s %d", act, user, path, &r.limit) != 4 ||
        parse_action(act, &r.action) != 0)
        return -1;
    struct rule *grown = seal_pool_realloc(p->pool, p->rule, (p->n + 1) * sizeof *grown);
    if (!grown)
        return -1;
    p->rule = grown;
    r.user = seal_pool_strdup(p->pool, user);
    r.path = seal_pool_strdup(p->pool, path);
    if (!r.user || !r.path)
        return -1;
    p->rule[p->n++] = r;
    return 0;
}

struct policy *policy_load(const char *file, const char *pool_name, unsigned flags)
{
    FILE *f = fopen(file, "r");
    if (!f) {
        fprintf(stderr, "%s: %s\n", file, strerror(errno));
        return NULL;
    }
    seal_pool *pool = seal_pool_create(pool_name, flags);
    struct policy *p = pool ? seal_pool_alloc(pool, sizeof *p) : NULL;
    if (p) {
        p->pool = pool;
        p->source = seal_pool_strdup(pool, file);
    }
    char *line = NULL;
    size_t cap = 0;
    unsigned lineno = 0;
    while (p && getline(&line, &cap, f) > 0) {
        lineno++;
        size_t skip = strspn(line, " \t");
        if (line[skip] == '#' || line[skip] == '\n' || line[skip] == 0)
            continue;
        if (add_rule(p, line) != 0) {
            fprintf(stderr, "%s:%u: expected: action user path limit\n", file, lineno);
            p = NULL;
        }
    }
    free(line);
    fclose(f);
    if (!p) {
        if (!pool)
            fprintf(stderr, "seal_pool_create: %s\n", strerror(errno));
        seal_pool_destroy(pool);
    }
    return p;
}

int policy_seal(struct policy *p)
{
    return seal_pool_seal(p->pool);
}

void policy_destroy(struct policy *p)
{
    if (p)
        seal_pool_destroy(p->pool);
}

const struct rule *policy_match(const struct policy *p, const char *user, const char *path)
{
    for (size_t i = 0; i < p->n; i++) {
        const struct rule *r = &p->rule[i];
        if ((strcmp(r->user, "*") == 0 || strcmp(r->user, user) == 0) &&
            strncmp(path, r->path, strlen(r->path)) == 0)
            return r;
    }
    return NULL;
}

const char *policy_decide(const struct policy *p, const struct dispatch *d, const char *user,
                          const char *path)
{
    const struct rule *r = policy_match(p, user, path);
    return r ? d->fn[r->action](r, user, path) : "deny (no rule)";
}

static const char *do_allow(const struct rule *r, const char *user, const char *path)
{
    (void)r, (void)user, (void)path;
    return "allow";
}

static const char *do_deny(const struct rule *r, const char *user, const char *path)
{
    (void)r, (void)user, (void)path;
    return "deny";
}

static const char *do_log(const struct rule *r, const char *user, const char *path)
{
    (void)r, (void)user, (void)path;
    return "allow, logged";
}

struct dispatch *dispatch_create(seal_cache *c)
{
    struct dispatch *d = seal_cache_alloc(c);
    if (d) {
        d->fn[ACT_ALLOW] = do_allow;
        d->fn[ACT_DENY] = do_deny;
        d->fn[ACT_LOG] = do_log;
    }
    return d;
}

void policy_print(const struct policy *p, FILE *out)
{
    for (size_t i = 0; i < p->n; i++) {
        const struct rule *r = &p->rule[i];
        fprintf(out, "    rule %zu: %-5s user %-6s path %-13s limit %d/min\n", i,
                action_name(r->action), r->user, r->path, r->limit);
    }
}
