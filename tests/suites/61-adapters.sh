#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The adapters (adapters/): each test program parses or compiles real input
# from Debian's iso-codes package through a library's allocation hooks into
# a pool, seals it, checks the results equal a run on libc's malloc, and
# checks that a store into the sealed structure faults. `make test` (or
# `make adapters`) installs the libraries first (ADAPT_DEBS in mk/adapters.mk).
set -u
cd "$(dirname "$0")/../.."
# Faults and aborts are what these programs show: under VARIANT=asan|tsan
# the sanitizers leave SIGSEGV and SIGABRT to them.
export ASAN_OPTIONS=${ASAN_OPTIONS:-handle_segv=0:handle_abort=0:allow_user_segv_handler=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-handle_segv=0:handle_abort=0}
B=build/${VARIANT:-plain}/adapters
if ! make --no-print-directory -s VARIANT="${VARIANT:-plain}" adapters-programs >/dev/null; then
    echo "FAIL adapters: the adapter tests do not build (run: make adapters)"
    exit 0
fi
rc=0
for name in pcre2 cjson jansson expat lua; do
    echo "--- test_$name"
    "$B/test_$name" || rc=1
done
exit $rc
