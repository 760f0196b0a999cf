/* SPDX-License-Identifier: MIT */
/*
 * test_lua.c - a Lua state on a pool (adapters/lua_pool.h) runs a
 * configuration script exactly as a state on libc's malloc; once the pool
 * is sealed, each of the state's own writes faults (in a forked child): the
 * first API call pushing onto the stack, and a garbage-collection step
 * marking objects. This is why a Lua pool is not a sealing use case.
 */
#include "lua_pool.h"
#include "util.h"

#include <lauxlib.h>
#include <lualib.h>

#define SCRIPT "adapters/tests/config.lua"

/* Run the script in L, return "docroot port workers admins" in buf. */
static const char *run_config(lua_State *L, char *buf, size_t cap)
{
    if (!L || luaL_dofile(L, SCRIPT) != LUA_OK)
        return "(script failed)";
    lua_getglobal(L, "config");
    lua_getfield(L, -1, "docroot");
    lua_getfield(L, -2, "listen");
    lua_getfield(L, -1, "port");
    lua_getfield(L, -4, "workers");
    lua_getfield(L, -5, "admins");
    snprintf(buf, cap, "%s %lld %lld %lld", lua_tostring(L, -5), lua_tointeger(L, -3),
             lua_tointeger(L, -2), (long long)luaL_len(L, -1));
    lua_settop(L, 0);
    return buf;
}

static void read_config(void *L)
{
    seal_fault_handler_install();
    lua_getglobal(L, "config");
}

static void collect(void *L)
{
    seal_fault_handler_install();
    lua_gc(L, LUA_GCCOLLECT);
}

static void lua_pool_state_runs_like_a_malloced_one_until_sealed(void)
{
    char want[128], got[128];
    lua_State *plain = luaL_newstate();
    run_config(plain, want, sizeof want);
    lua_close(plain);
    CHECK(strcmp(want, "/srv/www 8443 8 2") == 0);

    seal_pool *pool = seal_pool_create("lua", 0);
    lua_State *L = lua_pool_newstate(pool);
    CHECK(L != NULL);
    CHECK(strcmp(run_config(L, got, sizeof got), want) == 0);
    CHECK(seal_is_sealed(L) == 0);
    CHECK(seal_pool_seal(pool) == 0 && seal_is_sealed(L) == 1);
    CHECK(store_faults(L, "lua")); /* a corrupting store, as for every adapter */
    CHECK(expect_death(read_config, L, SIGSEGV, "sealloc: write to sealed memory: pool \"lua\""));
    CHECK(expect_death(collect, L, SIGSEGV, "sealloc: write to sealed memory: pool \"lua\""));
    seal_pool_destroy(pool); /* not lua_close(): closing writes too */
}

int main(void)
{
    RUN(lua_pool_state_runs_like_a_malloced_one_until_sealed);
    return check_exit();
}
