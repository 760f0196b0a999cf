#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The threaded unit tests built with ThreadSanitizer (VARIANT=tsan): every
# program whose tests run threads against the library (concurrent alloc,
# free and seal; magazines across threads, destroy and fork; racing
# write-rare and direct stores; pointer publication; lookups during
# create/destroy; fork while busy; seal and unseal while threads allocate
# and free). Any TSan report fails
# the program (halt_on_error), hence the suite: TSan must be clean.
set -u
cd "$(dirname "$0")/../.."
. tests/suites/lib/unit.sh
build_variant tsan
# die_after_fork=0: the fork tests fork while another thread is running;
# handle_segv=0: faulting stores into sealed memory are what tests check.
export TSAN_OPTIONS=halt_on_error=1:exitcode=66:second_deadlock_stack=1:die_after_fork=0:handle_segv=0:allow_user_segv_handler=1
rc=0
for name in test_threads test_magazine test_writerare test_registry test_fork test_unseal; do
    run_unit tsan "build/tsan/tests/$name" || rc=1
done
exit $rc
