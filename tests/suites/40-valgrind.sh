#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A representative subset of the unit programs (plain build) under valgrind
# memcheck: caches, pools, misuse aborts, write-rare under every mechanism,
# registry and stats, unseal. Any memcheck error (or a definite leak) makes the
# program exit 99, which fails the suite; `timeout` bounds each program.
# Left out: test_os (it hands unmapped pages to the kernel on purpose),
# test_fault (valgrind routes faults through its own signal machinery) and
# the threaded programs (TSan covers them). Valgrind runs threads one at a
# time, so the race tests inside the subset skip under it (SKIP_UNDER_VALGRIND).
# Children are traced, so each write-rare mechanism's re-run is checked too.
# Valgrind does not know mseal(2) and reports it as an unhandled syscall; the
# permanent tests then skip.
set -u
cd "$(dirname "$0")/../.."
. tests/suites/lib/unit.sh
command -v valgrind >/dev/null || { echo "SKIP valgrind: not installed"; exit 0; }
build_variant plain
rc=0
for name in test_cache test_magazine test_pool test_misuse test_writerare test_registry test_unseal; do
    run_unit valgrind "build/plain/tests/$name" timeout 600 valgrind -q --trace-children=yes --error-exitcode=99 \
        --leak-check=full --errors-for-leak-kinds=definite --child-silent-after-fork=yes || rc=1
done
exit $rc
