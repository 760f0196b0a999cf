-- SPDX-License-Identifier: MIT
-- A configuration script for adapters/tests/test_lua.c.
config = {
  listen = { address = "0.0.0.0", port = 8443 },
  workers = 4 * 2,
  docroot = "/srv/" .. "www",
  admins = { "alice", "bob" },
}
