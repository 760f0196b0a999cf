#!/usr/bin/env bash
# The unit test programs built with AddressSanitizer + UBSan (VARIANT=asan):
# any ASan, UBSan or LeakSanitizer report ends the program with a non-zero
# status, which fails the suite. SIGSEGV and SIGABRT are left to the tests
# (handle_segv=0, handle_abort=0): faulting stores into sealed memory and
# misuse aborts are what they check, in forked children.
set -u
cd "$(dirname "$0")/../.."
make --no-print-directory -j2 VARIANT=asan test-programs >build/asan-build.log 2>&1 || {
    cat build/asan-build.log
    echo "FAIL asan-build: make VARIANT=asan test-programs failed"
    exit 1
}
export ASAN_OPTIONS=halt_on_error=1:abort_on_error=0:detect_leaks=1:handle_segv=0:handle_abort=0:allow_user_segv_handler=1:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:exitcode=87

rc=0
for t in build/asan/tests/test_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    echo "--- $name (asan)"
    "$t" | sed -e "s/^\(PASS\|FAIL\|SKIP\) /\1 asan\/$name\//"
    status=${PIPESTATUS[0]}
    if [ "$status" -ne 0 ]; then
        echo "FAIL asan/$name: exited with status $status"
        rc=1
    fi
done
exit $rc
