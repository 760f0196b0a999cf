#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The unit test programs built with AddressSanitizer + UBSan (VARIANT=asan):
# any ASan, UBSan or LeakSanitizer report ends the program with a non-zero
# status, which fails the suite. SIGSEGV and SIGABRT are left to the tests
# (handle_segv=0, handle_abort=0): faulting stores into sealed memory and
# misuse aborts are what they check, in forked children.
set -u
cd "$(dirname "$0")/../.."
. tests/suites/lib/unit.sh
build_variant asan
export ASAN_OPTIONS=halt_on_error=1:abort_on_error=0:detect_leaks=1:handle_segv=0:handle_abort=0:allow_user_segv_handler=1:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
rc=0
for t in build/asan/tests/test_*; do
    [ -x "$t" ] && { run_unit asan "$t" || rc=1; }
done
exit $rc
