/* SPDX-License-Identifier: MIT */
/*
 * lua_pool.h - a Lua state whose every allocation comes from a pool, and
 * why such a pool cannot be sealed while the state lives.
 *
 * lua_Alloc carries a user-data pointer, so the pool is that pointer. This
 * is useful for accounting and for dropping a whole interpreter at once
 * (seal_pool_destroy) but NOT for sealing: a Lua state writes into its own
 * heap on every operation, reads included. Pushing a value writes the
 * stack, interning a key string writes the string table, and every
 * allocation may run a garbage-collection step that writes the mark bits
 * in the header of every reachable object. So after seal_pool_seal() the
 * first API call faults (adapters/tests/test_lua.c shows where). To seal
 * configuration written in Lua, run the script in an ordinary state, copy
 * the resulting values into sealable structures (a pool, a cache), seal
 * those, and close the state. Never lua_close() a state whose pool is
 * sealed: closing writes too; destroy the pool instead.
 */
#ifndef SEALLOC_ADAPTERS_LUA_POOL_H
#define SEALLOC_ADAPTERS_LUA_POOL_H

#include <lua.h>
#include <sealloc.h>

/* A new Lua state allocating from pool; NULL + ENOMEM. */
lua_State *lua_pool_newstate(seal_pool *pool);

#endif
